/* segment-output.c -- the layers a segmentation makes (label layer,
 * confidence, class layers, the selection, probability masks,
 * uncertainty, squares to paint next), built off to the side and inserted
 * in one undo group. */

#include <math.h>
#include <string.h>

#include <libgimp/gimp.h>

#include "loom-plugin.h"
#include <loom/loom-image.h>

static gboolean
on_tile (const LoomTrainProgress *progress,
         gpointer                 data)
{
  loom_plugin_progress_show (data, progress->step, progress->total, "tiles", progress->eta);

  return TRUE;
}

/* The active selection over DRAWABLE's W × H pixels at (OX, OY): values in
 * [0, 1], or NULL when nothing is selected (everything counts). */
static float *
read_selection (GimpImage *image,
                gint       ox,
                gint       oy,
                guint      w,
                guint      h)
{
  GimpSelection *selection;
  GeglBuffer    *buffer;
  float         *values;

  if (gimp_selection_is_empty (image))
    return NULL;

  selection = gimp_image_get_selection (image);
  buffer    = gimp_drawable_get_buffer (GIMP_DRAWABLE (selection));
  values    = g_new (float, (gsize) w * h);
  /* outside the image: the abyss, nothing selected */
  gegl_buffer_get (buffer, GEGL_RECTANGLE (ox, oy, w, h), 1.0, babl_format ("Y float"),
                   values, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);

  return values;
}

static GimpLayer *
new_layer (GimpImage    *image,
           const gchar  *name,
           guint         w,
           guint         h,
           gint          ox,
           gint          oy,
           const guint8 *rgba)
{
  GimpLayer  *layer  = gimp_layer_new (image, name, w, h, GIMP_RGBA_IMAGE, 100.0,
                                       GIMP_LAYER_MODE_NORMAL);
  GeglBuffer *buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));

  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, w, h), 0, babl_format ("R'G'B'A u8"),
                   rgba, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer);   /* flushes the pixels to GIMP */
  gimp_layer_set_offsets (layer, ox, oy);

  return layer;
}

static gboolean
in_classes (float   klass,
            guint32 mask)
{
  return klass >= 0 && klass < 32 && (mask >> (guint) klass & 1) != 0;
}

/* The pixels of the classes in MASK as an image-sized channel, in image
 * coordinates. */
static GimpChannel *
class_channel (GimpImage   *image,
               const float *classes,
               guint32      klasses,
               guint        w,
               guint        h,
               gint         ox,
               gint         oy)
{
  gint         iw    = gimp_image_get_width (image);
  gint         ih    = gimp_image_get_height (image);
  guint8      *mask  = g_new0 (guint8, (gsize) iw * ih);
  GeglColor   *color = gegl_color_new ("red");
  gchar       *name  = g_strdup ("Loom classes");
  GimpChannel *channel;
  GeglBuffer  *buffer;

  for (gint y = MAX (0, oy); y < MIN (ih, oy + (gint) h); y++)
    for (gint x = MAX (0, ox); x < MIN (iw, ox + (gint) w); x++)
      if (in_classes (classes[(gsize) (y - oy) * w + (x - ox)], klasses))
        mask[(gsize) y * iw + x] = 255;

  channel = gimp_channel_new (image, name, iw, ih, 50.0, color);
  buffer  = gimp_drawable_get_buffer (GIMP_DRAWABLE (channel));
  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, iw, ih), 0, babl_format ("Y u8"), mask,
                   GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer);

  g_free (name);
  g_object_unref (color);
  g_free (mask);

  return channel;
}

gboolean
loom_plugin_parse_classes (const gchar   *spec,
                           const GArray  *colors,
                           char         **names,
                           const gchar   *model_name,
                           guint32       *mask,
                           GError       **error)
{
  gchar  **parts = g_strsplit (spec != NULL ? spec : "", ",", -1);
  gboolean ok    = TRUE;

  *mask = 0;
  for (guint i = 0; parts[i] != NULL && ok; i++)
    {
      gchar   *word  = g_strstrip (parts[i]);
      gint     found = -1;
      guint64  number;
      guint    r, g, b;
      gchar    end;

      if (word[0] == '\0')
        continue;
      if (g_ascii_string_to_unsigned (word, 10, 0, G_MAXINT, &number, NULL))
        found = number < colors->len ? (gint) number : -1;
      else if (sscanf (word, "#%2x%2x%2x%c", &r, &g, &b, &end) == 3 && strlen (word) == 7)
        {
          for (guint k = 0; k < colors->len && found < 0; k++)
            {
              const LoomColor *c = &g_array_index (colors, LoomColor, k);

              if (c->r == r && c->g == g && c->b == b)
                found = (gint) k;
            }
        }
      else
        for (guint k = 0; names != NULL && names[k] != NULL && found < 0; k++)
          if (g_ascii_strcasecmp (names[k], word) == 0)
            found = (gint) k;

      if (found < 0)
        {
          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "Class '%s' to select: the model '%s' has classes 0 to %u "
                       "(numbers, names or #rrggbb colours, separated by commas)",
                       word, model_name, colors->len - 1);
          ok = FALSE;
        }
      else
        *mask |= 1u << found;
    }
  g_strfreev (parts);

  return ok;
}

/* A layer group NAME of one layer per class (named by the class) made from
 * SOURCE: copies whose mask is the class (MASKS), or copies cut out by it.
 * MASKS_U8 holds each class's mask, W × H bytes apiece.  Called inside the
 * caller's undo group. */
static GimpLayer *
insert_class_layers (GimpImage             *image,
                     GimpLayer             *source,
                     GimpLayer             *parent,
                     gint                   position,
                     const gchar           *name,
                     char                 **class_names,
                     guint                  n_classes,
                     const guint8          *masks_u8,
                     guint                  w,
                     guint                  h,
                     LoomPluginClassLayers  kind)
{
  GimpGroupLayer *group = gimp_group_layer_new (image, name);

  gimp_image_insert_layer (image, GIMP_LAYER (group), parent, position);
  for (guint k = 0; k < n_classes; k++)
    {
      GimpLayer     *layer = gimp_layer_copy (source);
      GimpLayerMask *mask;
      GeglBuffer    *buffer;

      gimp_item_set_name (GIMP_ITEM (layer), class_names[k]);
      gimp_item_set_visible (GIMP_ITEM (layer), TRUE);
      /* last class at the bottom: the group reads top-down as the table */
      gimp_image_insert_layer (image, layer, GIMP_LAYER (group), (gint) k);
      if (gimp_layer_get_mask (layer) != NULL)
        gimp_layer_remove_mask (layer, GIMP_MASK_APPLY);
      if (kind == LOOM_CLASS_LAYERS_CUTOUTS)
        gimp_layer_add_alpha (layer);
      mask   = gimp_layer_create_mask (layer, GIMP_ADD_MASK_BLACK);
      buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (mask));
      gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, w, h), 0, babl_format ("Y u8"),
                       masks_u8 + (gsize) k * w * h, GEGL_AUTO_ROWSTRIDE);
      g_object_unref (buffer);
      gimp_layer_add_mask (layer, mask);
      if (kind == LOOM_CLASS_LAYERS_CUTOUTS)
        gimp_layer_remove_mask (layer, GIMP_MASK_APPLY);
    }

  return GIMP_LAYER (group);
}

/* One segmentation and what it makes: the model's classes, the layer's
 * pixels and the selection, the results, then the outputs' pixels.  Every
 * step fills it in order; segmentation_clear frees what any of them made. */
typedef struct
{
  guint               w, h;
  gsize               n;
  gint                ox, oy;
  GArray             *colors;
  char              **class_names;
  float              *planes, *alpha, *selection;
  float              *classes, *confidence;
  guint8             *labels_rgba, *conf_rgba, *class_masks;
  guint               n_classes;        /* the network's (the table's may differ) */
  float              *probs;            /* n_classes × n, for the explanations */
  guint8             *prob_masks, *unc_rgba, *next_rgba, *evidence_rgba;
  gint                evidence_class;
} Segmentation;

/* The model's classes, checked against the classes to select. */
static gboolean
segmentation_check (Segmentation             *s,
                    LoomWeights              *weights,
                    const gchar              *model_name,
                    const LoomPluginOutputs  *outputs,
                    GError                  **error)
{
  LoomUNetConfig unet;

  s->colors = loom_segment_get_classes (weights, &s->class_names, error);
  if (s->colors == NULL || ! loom_unet_config_from_weights (weights, &unet, error))
    return FALSE;
  s->n_classes = unet.classes;
  if (s->colors->len < 32 && outputs->select_classes >> s->colors->len != 0)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Classes to select: the model '%s' has classes 0 to %u",
                   model_name, s->colors->len - 1);
      return FALSE;
    }

  return TRUE;
}

/* DRAWABLE's pixels and the selection over it, segmented: a class and a
 * confidence per pixel. */
static gboolean
segmentation_run (Segmentation             *s,
                  GimpImage                *image,
                  GimpDrawable             *drawable,
                  LoomDevice               *device,
                  LoomWeights              *weights,
                  const LoomPluginOutputs  *outputs,
                  GError                  **error)
{
  LoomPluginProgress progress;

  gimp_drawable_get_offsets (drawable, &s->ox, &s->oy);
  s->planes    = loom_plugin_read_planes (drawable, &s->alpha);
  s->selection = read_selection (image, s->ox, s->oy, s->w, s->h);
  s->classes    = g_new (float, s->n);
  s->confidence = g_new (float, s->n);
  if (outputs->probabilities || outputs->uncertainty || outputs->paint_next > 0)
    s->probs = g_new (float, (gsize) s->n_classes * s->n);

  loom_plugin_progress_init (&progress, "Segmenting", device);

  return loom_segment_predict_probabilities (device, weights,
                                             &(LoomSegmentImage) { s->planes, NULL, s->w, s->h,
                                                                   loom_plugin_has_holes (s->alpha,
                                                                                          s->n)
                                                                   ? s->alpha : NULL },
                                             0, s->classes, s->confidence, s->probs, on_tile,
                                             &progress, NULL, error);
}

static gboolean
on_patch (const LoomTrainProgress *progress,
          gpointer                 data)
{
  loom_plugin_progress_show (data, progress->step, progress->total, "patches", progress->eta);

  return TRUE;
}

/* The evidence for the selection's most predicted class (occlusion, in
 * loom_segment_evidence) as an opaque grey layer's pixels, white at the
 * strongest; the source's alpha. */
static gboolean
evidence_run (Segmentation  *s,
              LoomDevice    *device,
              LoomWeights   *weights,
              GError       **error)
{
  LoomPluginProgress progress;
  float             *values;
  float              top = 0.0f;
  gboolean           ok;

  if (s->selection == NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Evidence for the selection: select the pixels to explain first");
      return FALSE;
    }
  s->evidence_class = loom_segment_region_class (s->classes, s->selection, s->n,
                                                 MIN (s->n_classes, s->colors->len));
  if (s->evidence_class < 0)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Evidence for the selection: it holds no pixel of the layer");
      return FALSE;
    }
  values = g_new (float, s->n);
  loom_plugin_progress_init (&progress, "Occluding", device);
  ok = loom_segment_evidence (device, weights,
                              &(LoomSegmentImage) { s->planes, NULL, s->w, s->h,
                                                    loom_plugin_has_holes (s->alpha, s->n)
                                                    ? s->alpha : NULL },
                              s->selection, (guint) s->evidence_class, 0, values, on_patch,
                              &progress, NULL, error);
  if (ok)
    {
      s->evidence_rgba = g_new (guint8, 4 * s->n);
      for (gsize i = 0; i < s->n; i++)
        top = MAX (top, values[i]);
      for (gsize i = 0; i < s->n; i++)
        {
          guint8 *c = s->evidence_rgba + 4 * i;

          c[0] = c[1] = c[2] = (guint8) lrintf (top > 0 ? CLAMP (values[i] / top, 0.0f, 1.0f)
                                                            * 255.0f : 0.0f);
          c[3] = (guint8) lrintf (CLAMP (s->alpha[i], 0.0f, 1.0f) * 255.0f);
        }
    }
  g_free (values);

  return ok;
}

/* The explanations' pixels: each class's probability as a mask (inside
 * the selection), the uncertainty in grey (alpha: the label layer's), the
 * squares to paint next (inside the selection) on a transparent layer. */
static void
explanation_pixels (Segmentation            *s,
                    const LoomPluginOutputs *outputs)
{
  gsize  n = s->n;
  float *u;

  if (s->probs == NULL)
    return;
  if (outputs->probabilities)
    {
      guint classes = MIN (s->n_classes, s->colors->len);

      s->prob_masks = g_new (guint8, (gsize) classes * n);
      for (guint k = 0; k < classes; k++)
        for (gsize i = 0; i < n; i++)
          s->prob_masks[k * n + i] =
            (guint8) lrintf (CLAMP (s->probs[k * n + i]
                                    * (s->selection != NULL ? s->selection[i] : 1.0f),
                                    0.0f, 1.0f) * 255.0f);
    }
  u = g_new (float, n);
  loom_segment_entropy (s->probs, s->n_classes, n, u);
  if (outputs->uncertainty)
    {
      s->unc_rgba = g_new (guint8, 4 * n);
      for (gsize i = 0; i < n; i++)
        {
          guint8 *c = s->unc_rgba + 4 * i;

          c[0] = c[1] = c[2] = (guint8) lrintf (u[i] * 255.0f);
          c[3] = s->labels_rgba[4 * i + 3];
          if (c[3] == 0)
            c[0] = c[1] = c[2] = 0;
        }
    }
  if (outputs->paint_next > 0)
    {
      GArray *squares;

      for (gsize i = 0; s->selection != NULL && i < n; i++)
        u[i] *= s->selection[i];
      squares = loom_segment_paint_next (u, s->w, s->h, outputs->paint_next, 0);
      s->next_rgba = g_new0 (guint8, 4 * n);
      loom_segment_mark_regions (squares, s->next_rgba, s->w, s->h, 4 * (gsize) s->w);
      g_array_unref (squares);
    }
  g_free (u);
}

/* Everything is computed here, before the image is touched: the layers'
 * pixels, their alpha (the source's, times the selection). */
static void
segmentation_pixels (Segmentation            *s,
                     const LoomPluginOutputs *outputs)
{
  gsize        n         = s->n;
  const float *alpha     = s->alpha;
  const float *selection = s->selection;
  const float *classes   = s->classes;

  s->labels_rgba = g_new (guint8, 4 * n);
  loom_labels_to_rgba8 (classes, s->w, s->h, s->colors, s->labels_rgba, 4 * (gsize) s->w);
  if (outputs->confidence)
    s->conf_rgba = g_new (guint8, 4 * n);
  if (outputs->class_layers != LOOM_CLASS_LAYERS_NONE)
    s->class_masks = g_new0 (guint8, n * s->colors->len);
  for (gsize i = 0; i < n; i++)
    {
      guint8 *p = s->labels_rgba + 4 * i;
      float   a = p[3] != 0 ? alpha[i] : 0.0f;

      if (selection != NULL)
        a *= selection[i];
      p[3] = (guint8) lrintf (CLAMP (a, 0.0f, 1.0f) * 255.0f);
      if (p[3] == 0)
        p[0] = p[1] = p[2] = 0;
      if (s->conf_rgba != NULL)
        {
          guint8 *c = s->conf_rgba + 4 * i;

          c[0] = c[1] = c[2] = (guint8) lrintf (CLAMP (s->confidence[i], 0.0f, 1.0f) * 255.0f);
          c[3] = p[3];
          if (c[3] == 0)
            c[0] = c[1] = c[2] = 0;
        }
      /* a class layer's mask: the class, inside the selection */
      if (s->class_masks != NULL && classes[i] >= 0 && classes[i] < s->colors->len)
        s->class_masks[(gsize) classes[i] * n + i] =
          (guint8) lrintf (CLAMP (selection != NULL ? selection[i] : 1.0f, 0.0f, 1.0f) * 255.0f);
    }
}

/* The outputs into IMAGE above DRAWABLE, in one undo step. */
static void
segmentation_output (Segmentation             *s,
                     GimpImage                *image,
                     GimpDrawable             *drawable,
                     const gchar              *model_name,
                     const LoomPluginOutputs  *outputs,
                     GimpLayer               **label_layer,
                     GimpLayer               **class_group)
{
  GimpLayer   *parent;
  GimpLayer   *seg_layer = NULL, *conf_layer = NULL, *group = NULL;
  GimpChannel *channel = NULL;
  gint         position;

  /* The image changes from here on, in one undo step. */
  gimp_image_undo_group_start (image);

  parent   = GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (drawable)));
  position = gimp_image_get_item_position (image, GIMP_ITEM (drawable));

  if (s->conf_rgba != NULL)
    {
      conf_layer = new_layer (image, "Confidence", s->w, s->h, s->ox, s->oy, s->conf_rgba);
      gimp_image_insert_layer (image, conf_layer, parent, position);
    }
  if (outputs->label_layer)
    {
      gchar *name = g_strdup_printf ("Segmentation (%s)", model_name);

      seg_layer = new_layer (image, name, s->w, s->h, s->ox, s->oy, s->labels_rgba);
      gimp_image_insert_layer (image, seg_layer, parent, position);
      g_free (name);
    }
  if (s->class_masks != NULL)
    {
      gchar *name = g_strdup_printf ("Classes (%s)", model_name);

      group = insert_class_layers (image, GIMP_LAYER (drawable), parent, position, name,
                                   s->class_names, s->colors->len, s->class_masks, s->w, s->h,
                                   outputs->class_layers);
      g_free (name);
    }
  if (s->unc_rgba != NULL)
    {
      GimpLayer *layer = new_layer (image, "Uncertainty", s->w, s->h, s->ox, s->oy, s->unc_rgba);

      gimp_image_insert_layer (image, layer, parent, position);
    }
  if (s->prob_masks != NULL)
    {
      gchar *name = g_strdup_printf ("Probabilities (%s)", model_name);

      insert_class_layers (image, GIMP_LAYER (drawable), parent, position, name, s->class_names,
                           MIN (s->n_classes, s->colors->len), s->prob_masks, s->w, s->h,
                           LOOM_CLASS_LAYERS_MASKS);
      g_free (name);
    }
  if (s->evidence_rgba != NULL)
    {
      gchar     *name  = g_strdup_printf ("Evidence (%s)", s->class_names[s->evidence_class]);
      GimpLayer *layer = new_layer (image, name, s->w, s->h, s->ox, s->oy, s->evidence_rgba);

      gimp_image_insert_layer (image, layer, parent, position);
      g_free (name);
    }
  if (s->next_rgba != NULL)
    {
      GimpLayer *layer = new_layer (image, "Paint here next", s->w, s->h, s->ox, s->oy,
                                    s->next_rgba);

      gimp_image_insert_layer (image, layer, parent, position);
    }
  if (outputs->select_classes != 0)
    {
      channel = class_channel (image, s->classes, outputs->select_classes, s->w, s->h, s->ox,
                               s->oy);
      gimp_image_insert_channel (image, channel, NULL, 0);
      gimp_context_push ();
      gimp_context_set_feather (FALSE);
      gimp_image_select_item (image, outputs->channel_op, GIMP_ITEM (channel));
      gimp_context_pop ();
      gimp_image_remove_channel (image, channel);
    }

  gimp_image_undo_group_end (image);

  if (label_layer != NULL)
    *label_layer = seg_layer;
  if (class_group != NULL)
    *class_group = group;
}

static void
segmentation_clear (Segmentation *s)
{
  if (s->colors != NULL)
    g_array_unref (s->colors);
  g_strfreev (s->class_names);
  g_free (s->class_masks);
  g_free (s->planes);
  g_free (s->alpha);
  g_free (s->selection);
  g_free (s->classes);
  g_free (s->confidence);
  g_free (s->labels_rgba);
  g_free (s->conf_rgba);
  g_free (s->probs);
  g_free (s->prob_masks);
  g_free (s->unc_rgba);
  g_free (s->next_rgba);
  g_free (s->evidence_rgba);
}

gboolean
loom_plugin_segment (GimpImage                *image,
                     GimpDrawable             *drawable,
                     LoomDevice               *device,
                     LoomWeights              *weights,
                     const gchar              *model_name,
                     const LoomPluginOutputs  *outputs,
                     GimpLayer               **label_layer,
                     GimpLayer               **class_group,
                     GError                  **error)
{
  Segmentation s = { 0 };
  gboolean     ok;

  if (label_layer != NULL)
    *label_layer = NULL;
  if (class_group != NULL)
    *class_group = NULL;

  s.w = gimp_drawable_get_width (drawable);
  s.h = gimp_drawable_get_height (drawable);
  s.n = (gsize) s.w * s.h;
  ok = segmentation_check (&s, weights, model_name, outputs, error)
       && segmentation_run (&s, image, drawable, device, weights, outputs, error)
       && (! outputs->evidence || evidence_run (&s, device, weights, error));
  if (ok)
    {
      segmentation_pixels (&s, outputs);
      explanation_pixels (&s, outputs);
      segmentation_output (&s, image, drawable, model_name, outputs, label_layer, class_group);
    }
  segmentation_clear (&s);

  return ok;
}
