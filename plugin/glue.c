/* glue.c -- layers <-> tensors, the device, the models folder, progress,
 * and the layers a segmentation makes. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libgimp/gimpui.h>

#include "loom-plugin.h"
#include <loom/loom-image.h>

guint
loom_plugin_check_layers (GimpProcedure  *procedure,
                          GimpImage      *image,
                          GimpDrawable  **drawables,
                          guint           most,
                          GError        **error)
{
  const gchar *name = gimp_procedure_get_name (procedure);
  gsize        n    = drawables != NULL
                      ? gimp_core_object_array_get_length ((GObject **) drawables) : 0;

  if (n == 0 || n > most)
    {
      if (most == 1)
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on exactly one layer: select one in the Layers dock",
                     name);
      else
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on one to %u layers: select them in the Layers dock",
                     name, most);
      return 0;
    }
  for (gsize i = 0; i < n; i++)
    if (! gimp_item_is_layer (GIMP_ITEM (drawables[i])))
      {
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "%s works on layers, not on channels or layer masks",
                     name);
        return 0;
      }
  if (gimp_image_get_base_type (image) != GIMP_RGB)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "%s works on RGB images; this one is %s. "
                   "Convert it with Image > Mode > RGB first",
                   name,
                   gimp_image_get_base_type (image) == GIMP_GRAY ? "grayscale"
                                                                : "indexed");
      return 0;
    }

  return (guint) n;
}

GimpDrawable *
loom_plugin_check_drawable (GimpProcedure  *procedure,
                            GimpImage      *image,
                            GimpDrawable  **drawables,
                            GError        **error)
{
  return loom_plugin_check_layers (procedure, image, drawables, 1, error) == 1
         ? drawables[0] : NULL;
}

static void
read_pixels (GimpDrawable *drawable,
             const gchar  *format,
             gpointer      pixels)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);

  gegl_buffer_get (buffer,
                   GEGL_RECTANGLE (0, 0,
                                   gimp_drawable_get_width (drawable),
                                   gimp_drawable_get_height (drawable)),
                   1.0, babl_format (format), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
}

float *
loom_plugin_read_planes (GimpDrawable  *drawable,
                         float        **alpha)
{
  guint  w = gimp_drawable_get_width (drawable);
  guint  h = gimp_drawable_get_height (drawable);
  gsize  n = (gsize) w * h;
  float *rgba   = g_new (float, 4 * n);
  float *planes = g_new (float, 3 * n);

  read_pixels (drawable, "R'G'B'A float", rgba);
  *alpha = g_new (float, n);
  loom_image_from_rgbaf (rgba, w, h, 4 * sizeof (float) * w, planes, *alpha);
  g_free (rgba);

  return planes;
}

guint8 *
loom_plugin_read_rgba8 (GimpDrawable *drawable)
{
  gsize   n    = (gsize) gimp_drawable_get_width (drawable) *
                 gimp_drawable_get_height (drawable);
  guint8 *rgba = g_new (guint8, 4 * n);

  read_pixels (drawable, "R'G'B'A u8", rgba);

  return rgba;
}

gboolean
loom_plugin_has_holes (const float *alpha,
                       gsize        n)
{
  for (gsize i = 0; i < n; i++)
    if (alpha[i] < 0.5f)
      return TRUE;

  return FALSE;
}

LoomDevice *
loom_plugin_open_device (GError **error)
{
  const gchar *env       = loom_device_env_spec ();
  gchar       *preferred = loom_plugin_preferred_device ();
  LoomDevice  *device;

  if (env != NULL)
    {
      device = loom_device_open (env, error);
      if (device == NULL)
        g_prefix_error (error, "LOOM_DEVICE=%s: ", env);
    }
  else if (preferred != NULL && preferred[0] != '\0')
    {
      device = loom_device_open (preferred, error);
      if (device == NULL)
        g_prefix_error (error, "The device '%s' of Filters > Loom > Preferences: ", preferred);
    }
  else
    device = loom_device_open ("auto", error);
  g_free (preferred);

  return device;
}

gchar *
loom_plugin_models_dir (void)
{
  return g_build_filename (gimp_directory (), "loom", "models", NULL);
}

gchar *
loom_plugin_checkpoints_dir (void)
{
  return g_build_filename (gimp_directory (), "loom", "checkpoints", NULL);
}

gboolean
loom_plugin_model_paths (const gchar  *model_name,
                         gchar       **path,
                         gchar       **checkpoint,
                         GError      **error)
{
  gchar *dir       = loom_plugin_models_dir ();
  gchar *ckpt_dir  = loom_plugin_checkpoints_dir ();
  gchar *file_name = g_strconcat (model_name, ".safetensors", NULL);
  gboolean ok      = TRUE;

  *path = *checkpoint = NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0 || g_mkdir_with_parents (ckpt_dir, 0755) != 0)
    {
      gint saved = errno;

      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Cannot make the folder %s: %s",
                   g_file_test (dir, G_FILE_TEST_IS_DIR) ? ckpt_dir : dir,
                   g_strerror (saved));
      ok = FALSE;
    }
  else
    {
      *path       = g_build_filename (dir, file_name, NULL);
      *checkpoint = g_build_filename (ckpt_dir, file_name, NULL);
    }
  g_free (dir);
  g_free (ckpt_dir);
  g_free (file_name);

  return ok;
}

GFile *
loom_plugin_newest_model (GError **error)
{
  gchar       *dir_path = loom_plugin_models_dir ();
  GDir        *dir      = g_dir_open (dir_path, 0, NULL);
  gchar       *best     = NULL;
  gint64       best_time = G_MININT64;
  const gchar *entry;
  GFile       *file     = NULL;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      gchar     *path;
      GStatBuf   st;

      if (! g_str_has_suffix (entry, ".safetensors"))
        continue;
      path = g_build_filename (dir_path, entry, NULL);
      if (g_stat (path, &st) == 0 && (gint64) st.st_mtime >= best_time)
        {
          best_time = st.st_mtime;
          g_free (best);
          best = g_steal_pointer (&path);
        }
      g_free (path);
    }
  if (dir != NULL)
    g_dir_close (dir);

  if (best != NULL)
    file = g_file_new_for_path (best);
  else
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                 "No model file given and none in %s: train one with "
                 "Filters > Loom > Train Segmentation", dir_path);
  g_free (best);
  g_free (dir_path);

  return file;
}

gchar *
loom_plugin_clock_text (double seconds)
{
  guint s = seconds > 0 ? (guint) (seconds + 0.5) : 0;

  return s >= 3600 ? g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60)
                   : g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

/* ---- progress ------------------------------------------------------------ */

void
loom_plugin_progress_init (LoomPluginProgress *p,
                           const gchar        *what,
                           LoomDevice         *device)
{
  p->what   = what;
  p->device = loom_device_get_info (device)->name;
  p->start  = g_get_monotonic_time ();
  p->last   = 0;
  gimp_progress_init_printf ("%s on %s", what, p->device);
}

void
loom_plugin_progress_show (LoomPluginProgress *p,
                           guint               step,
                           guint               total,
                           const gchar        *detail,
                           double              eta)
{
  gint64  now  = g_get_monotonic_time ();
  gdouble done;
  gchar  *left;

  /* Each call is a round trip to GIMP: five a second are plenty. */
  if (p->last != 0 && now - p->last < G_USEC_PER_SEC / 5 && ! (total > 0 && step >= total))
    return;
  p->last = now;

  if (total > 0)
    done = (gdouble) step / total;
  else
    {
      gdouble spent = (now - p->start) / 1e6;

      done = spent + eta > 0 ? spent / (spent + eta) : 0;
    }

  left = loom_plugin_clock_text (eta);
  if (total > 0)
    gimp_progress_set_text_printf ("%s on %s: %u/%u%s%s, %s left", p->what, p->device,
                                   step, total, detail ? ", " : "", detail ? detail : "",
                                   left);
  else
    gimp_progress_set_text_printf ("%s on %s: step %u%s%s, %s left", p->what, p->device,
                                   step, detail ? ", " : "", detail ? detail : "", left);
  gimp_progress_update (CLAMP (done, 0.0, 1.0));
  g_free (left);
}

/* ---- segmentation outputs ---------------------------------------------- */

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
  guint               w = gimp_drawable_get_width (drawable);
  guint               h = gimp_drawable_get_height (drawable);
  gsize               n = (gsize) w * h;
  gint                ox, oy, position;
  GArray             *colors;
  float              *planes = NULL, *alpha = NULL, *selection = NULL;
  float              *classes = NULL, *confidence = NULL;
  guint8             *labels_rgba = NULL, *conf_rgba = NULL, *class_masks = NULL;
  char              **class_names = NULL;
  GimpLayer          *parent;
  GimpLayer          *seg_layer = NULL, *conf_layer = NULL, *group = NULL;
  GimpChannel        *channel = NULL;
  LoomPluginProgress  progress;
  gboolean            ok = FALSE;

  if (label_layer != NULL)
    *label_layer = NULL;
  if (class_group != NULL)
    *class_group = NULL;

  colors = loom_segment_get_classes (weights, &class_names, error);
  if (colors == NULL)
    return FALSE;
  if (colors->len < 32 && outputs->select_classes >> colors->len != 0)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Classes to select: the model '%s' has classes 0 to %u",
                   model_name, colors->len - 1);
      goto out;
    }

  gimp_drawable_get_offsets (drawable, &ox, &oy);
  planes    = loom_plugin_read_planes (drawable, &alpha);
  selection = read_selection (image, ox, oy, w, h);
  classes    = g_new (float, n);
  confidence = g_new (float, n);

  loom_plugin_progress_init (&progress, "Segmenting", device);
  if (! loom_segment_predict (device, weights,
                              &(LoomSegmentImage) { planes, NULL, w, h,
                                                    loom_plugin_has_holes (alpha, n) ? alpha : NULL },
                              0, classes, confidence, on_tile, &progress, NULL, error))
    goto out;

  /* Everything is computed here, before the image is touched: the
   * layers' pixels, their alpha (the source's, times the selection). */
  labels_rgba = g_new (guint8, 4 * n);
  loom_labels_to_rgba8 (classes, w, h, colors, labels_rgba, 4 * (gsize) w);
  if (outputs->confidence)
    conf_rgba = g_new (guint8, 4 * n);
  if (outputs->class_layers != LOOM_CLASS_LAYERS_NONE)
    class_masks = g_new0 (guint8, n * colors->len);
  for (gsize i = 0; i < n; i++)
    {
      guint8 *p = labels_rgba + 4 * i;
      float   a = p[3] != 0 ? alpha[i] : 0.0f;

      if (selection != NULL)
        a *= selection[i];
      p[3] = (guint8) lrintf (CLAMP (a, 0.0f, 1.0f) * 255.0f);
      if (p[3] == 0)
        p[0] = p[1] = p[2] = 0;
      if (conf_rgba != NULL)
        {
          guint8 *c = conf_rgba + 4 * i;

          c[0] = c[1] = c[2] = (guint8) lrintf (CLAMP (confidence[i], 0.0f, 1.0f) * 255.0f);
          c[3] = p[3];
          if (c[3] == 0)
            c[0] = c[1] = c[2] = 0;
        }
      /* a class layer's mask: the class, inside the selection */
      if (class_masks != NULL && classes[i] >= 0 && classes[i] < colors->len)
        class_masks[(gsize) classes[i] * n + i] =
          (guint8) lrintf (CLAMP (selection != NULL ? selection[i] : 1.0f, 0.0f, 1.0f) * 255.0f);
    }

  /* The image changes from here on, in one undo step. */
  gimp_image_undo_group_start (image);

  parent   = GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (drawable)));
  position = gimp_image_get_item_position (image, GIMP_ITEM (drawable));

  if (conf_rgba != NULL)
    {
      conf_layer = new_layer (image, "Confidence", w, h, ox, oy, conf_rgba);
      gimp_image_insert_layer (image, conf_layer, parent, position);
    }
  if (outputs->label_layer)
    {
      gchar *name = g_strdup_printf ("Segmentation (%s)", model_name);

      seg_layer = new_layer (image, name, w, h, ox, oy, labels_rgba);
      gimp_image_insert_layer (image, seg_layer, parent, position);
      g_free (name);
    }
  if (class_masks != NULL)
    {
      gchar *name = g_strdup_printf ("Classes (%s)", model_name);

      group = insert_class_layers (image, GIMP_LAYER (drawable), parent, position, name,
                                   class_names, colors->len, class_masks, w, h,
                                   outputs->class_layers);
      g_free (name);
    }
  if (outputs->select_classes != 0)
    {
      channel = class_channel (image, classes, outputs->select_classes, w, h, ox, oy);
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
  ok = TRUE;

out:
  g_array_unref (colors);
  g_strfreev (class_names);
  g_free (class_masks);
  g_free (planes);
  g_free (alpha);
  g_free (selection);
  g_free (classes);
  g_free (confidence);
  g_free (labels_rgba);
  g_free (conf_rgba);

  return ok;
}

gchar *
loom_plugin_model_name (GFile *file)
{
  gchar *base = g_file_get_basename (file);

  if (g_str_has_suffix (base, ".safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';

  return base;
}

void
loom_plugin_default_label_layer (GimpProcedureConfig *config,
                                 GimpImage           *image,
                                 GimpDrawable        *drawable)
{
  GimpLayer  *label = NULL;
  GimpLayer **layers;

  g_object_get (config, "label-layer", &label, NULL);
  if (label != NULL)
    {
      g_object_unref (label);   /* g_object_get's reference */
      return;
    }
  /* the image's layers are libgimp's: not ours to unref */
  layers = gimp_image_get_layers (image);
  for (gint i = 0; layers != NULL && layers[i] != NULL; i++)
    if (GIMP_DRAWABLE (layers[i]) != drawable)
      {
        g_object_set (config, "label-layer", layers[i], NULL);
        break;
      }
  g_free (layers);
}

gboolean
loom_plugin_check_model_name (gchar   *name,
                              GError **error)
{
  if (name == NULL || name[0] == '\0' || name[0] == '.' ||
      strpbrk (name, "/\\") != NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Model name '%s': give a plain name (no folders, not empty, "
                   "not starting with a dot)", name != NULL ? name : "");
      return FALSE;
    }
  if (g_str_has_suffix (name, ".safetensors"))
    name[strlen (name) - strlen (".safetensors")] = '\0';

  return TRUE;
}

/* ---- the test suite's screenshots ---------------------------------------- */

typedef struct
{
  GtkDialog *dialog;
  gchar     *name;
  gint       response;
  gulong     handler;
} Shot;

static void
shot_free (Shot *shot)
{
  g_object_unref (shot->dialog);
  g_free (shot->name);
  g_free (shot);
}

static gboolean
shot_take (gpointer data)
{
  Shot      *shot   = data;
  GdkWindow *window = gtk_widget_get_window (GTK_WIDGET (shot->dialog));
  GtkWidget *button;

  /* gone meanwhile (the training ended first): nothing to take */
  if (window == NULL || ! gtk_widget_get_mapped (GTK_WIDGET (shot->dialog)))
    return G_SOURCE_REMOVE;

  {
    GdkPixbuf *pixbuf = gdk_pixbuf_get_from_window (window, 0, 0,
                                                    gdk_window_get_width (window),
                                                    gdk_window_get_height (window));
    gchar     *file   = g_strconcat (shot->name, ".png", NULL);
    gchar     *path   = g_build_filename (g_getenv ("LOOM_PLUGIN_SCREENSHOTS"), file, NULL);
    GError    *error  = NULL;

    if (pixbuf == NULL || ! gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
      g_printerr ("loom: screenshot %s not saved: %s\n", path,
                  error != NULL ? error->message : "no pixels");
    g_clear_error (&error);
    g_clear_object (&pixbuf);
    g_free (path);
    g_free (file);
  }

  /* the real button, as a click would */
  button = gtk_dialog_get_widget_for_response (shot->dialog, shot->response);
  if (button != NULL)
    gtk_button_clicked (GTK_BUTTON (button));
  else
    gtk_dialog_response (shot->dialog, shot->response);

  return G_SOURCE_REMOVE;
}

static gboolean
shot_drawn (GtkWidget *widget,
            cairo_t   *cr,
            gpointer   data)
{
  Shot *shot = data;

  /* Once drawn; a little later, so that what draws lazily has drawn. */
  g_signal_handler_disconnect (widget, shot->handler);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, shot_take, shot, (GDestroyNotify) shot_free);

  return FALSE;
}

void
loom_plugin_screenshot_then_press (GtkDialog   *dialog,
                                   const gchar *name,
                                   gint         response)
{
  const gchar *dir = g_getenv ("LOOM_PLUGIN_SCREENSHOTS");
  Shot        *shot;

  if (dir == NULL || dir[0] == '\0')
    return;

  shot = g_new0 (Shot, 1);
  shot->dialog   = g_object_ref (dialog);
  shot->name     = g_strdup (name);
  shot->response = response;
  if (gtk_widget_is_drawable (GTK_WIDGET (dialog)))
    {
      /* already on screen (the training window, at its first preview) */
      gtk_widget_queue_draw (GTK_WIDGET (dialog));
      g_timeout_add_full (G_PRIORITY_DEFAULT, 1000, shot_take, shot, (GDestroyNotify) shot_free);
    }
  else
    shot->handler = g_signal_connect_after (dialog, "draw", G_CALLBACK (shot_drawn), shot);
}

/* GIMP 3.0's drawable chooser fetches its thumbnail when its drawable is
 * set, before it has a size: a blank square.  Set it again once sized. */
static void
chooser_allocated (GtkWidget     *chooser,
                   GtkAllocation *allocation,
                   gpointer       data)
{
  GimpDrawableChooser *c = GIMP_DRAWABLE_CHOOSER (chooser);

  g_signal_handlers_disconnect_by_func (chooser, chooser_allocated, data);
  gimp_drawable_chooser_set_drawable (c, gimp_drawable_chooser_get_drawable (c));
}

gboolean
loom_plugin_dialog_run (GimpProcedure       *procedure,
                        GimpProcedureConfig *config,
                        const gchar         *title)
{
  return loom_plugin_dialog_run_full (procedure, config, title, NULL);
}

GtkWidget *
loom_plugin_dialog_new (GimpProcedure       *procedure,
                        GimpProcedureConfig *config,
                        const gchar         *title,
                        const gchar         *note)
{
  GtkWidget *dialog;

  gimp_ui_init (LOOM_PLUGIN_BINARY);
  dialog = gimp_procedure_dialog_new (procedure, config, title);
  if (GIMP_IS_IMAGE_PROCEDURE (procedure))
    gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), NULL);
  else
    {
      /* A plain procedure's run mode is one of its arguments, which the
       * dialog would show as a choice: every argument but that one. */
      gint         n;
      GParamSpec **args  = gimp_procedure_get_arguments (procedure, &n);
      GList       *names = NULL;

      for (gint i = n - 1; i >= 0; i--)
        if (g_strcmp0 (args[i]->name, "run-mode") != 0)
          names = g_list_prepend (names, (gpointer) args[i]->name);
      gimp_procedure_dialog_fill_list (GIMP_PROCEDURE_DIALOG (dialog), names);
      g_list_free (names);
    }
  if (note != NULL)
    {
      GtkWidget *label = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog),
                                                          "loom-note", note, FALSE, FALSE);

      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), "loom-note", NULL);
    }
  {
    gint         n;
    GParamSpec **args = gimp_procedure_get_arguments (procedure, &n);

    for (gint i = 0; i < n; i++)
      {
        GtkWidget *widget;

        if (! g_type_is_a (G_PARAM_SPEC_VALUE_TYPE (args[i]), GIMP_TYPE_DRAWABLE))
          continue;
        widget = gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                   args[i]->name, G_TYPE_NONE);
        if (GIMP_IS_DRAWABLE_CHOOSER (widget))
          g_signal_connect_after (widget, "size-allocate", G_CALLBACK (chooser_allocated), NULL);
      }
  }

  return dialog;
}

gboolean
loom_plugin_dialog_wait (GimpProcedure *procedure,
                         GtkWidget     *dialog)
{
  gboolean run;

  loom_plugin_screenshot_then_press (GTK_DIALOG (dialog), gimp_procedure_get_name (procedure),
                                     GTK_RESPONSE_OK);
  run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);

  return run;
}

gboolean
loom_plugin_dialog_run_full (GimpProcedure       *procedure,
                             GimpProcedureConfig *config,
                             const gchar         *title,
                             const gchar         *note)
{
  return loom_plugin_dialog_wait (procedure,
                                  loom_plugin_dialog_new (procedure, config, title, note));
}
