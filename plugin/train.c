/* train.c -- plug-in-loom-train-segmentation: train a segmentation model
 * from labels painted on a layer, save it in the user's models folder, and
 * optionally segment the layer with it. */

#include <string.h>

#include <glib/gstdio.h>

#include "loom-plugin.h"
#include <loom/loom-image.h>
#include <loom/loom-unet.h>

static GimpValueArray *train_run (GimpProcedure        *procedure,
                                  GimpRunMode           run_mode,
                                  GimpImage            *image,
                                  GimpDrawable        **drawables,
                                  GimpProcedureConfig  *config,
                                  gpointer              run_data);

GimpProcedure *
loom_train_segmentation_procedure_new (GimpPlugIn  *plug_in,
                                       const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        train_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Train Segmentation...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "Train a segmentation model from painted labels",
                                    "Paint a few strokes per class on a transparent layer "
                                    "of the image's size (one opaque colour per class, no "
                                    "antialiasing), choose it as the label layer and run "
                                    "this on the image layer (or on several selected "
                                    "layers of the same size that the labels fit, such as "
                                    "exposures or frames of one scene; the segmentation "
                                    "is made of the first).  The model is saved as "
                                    "<GIMP folder>/loom/models/NAME.safetensors; with "
                                    "'segment after' the layer is segmented with it.  "
                                    "LOOM_DEVICE picks the device (default: the best GPU, "
                                    "else the CPU).",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_layer_argument (procedure, "label-layer",
                                     "La_bel layer",
                                     "The painted labels: each opaque colour a class, "
                                     "transparent pixels unlabelled; the image layer's size",
                                     TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model-name",
                                      "Model _name",
                                      "Saved as <GIMP folder>/loom/models/NAME.safetensors",
                                      "segmentation", G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "init-model",
                                    "_Fine-tune model",
                                    "Go on training this model (its classes and shape; the "
                                    "labels' colours must be among its classes); none: a "
                                    "new model",
                                    GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL,
                                    G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "steps",
                                   "S_teps",
                                   "Training steps (0: only the time limit)",
                                   0, 1000000, 300, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "seconds",
                                      "Time li_mit (s)",
                                      "Stop after this many seconds (0: only the steps)",
                                      0.0, 86400.0, 0.0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed",
                                   "S_eed", "Random seed (crops, augmentation, weights)",
                                   0, G_MAXINT, 1, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "augment",
                                      "A_ugmentation",
                                      "Strength of the random flips, turns, rotations, "
                                      "scaling, shear, elastic warps and colour jitter of "
                                      "the training crops: 0 none, 1 the default, 2 strong",
                                      0.0, 2.0, 1.0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "depth",
                                   "U-Net _depth",
                                   "Poolings (0: the default, 3, from the shipped "
                                   "starting point when there is one)",
                                   0, 6, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "base",
                                   "U-Net ch_annels",
                                   "Channels at full size (0: the default, 16)",
                                   0, 256, 0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "segment-after",
                                       "Se_gment after training",
                                       "Add the layer's segmentation when done",
                                       TRUE, G_PARAM_READWRITE);

  gimp_procedure_add_file_return_value (procedure, "model-file",
                                        "Model file", "The model saved",
                                        G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "segmentation",
                                         "Segmentation",
                                         "The label layer made (with segment-after)",
                                         TRUE, G_PARAM_READWRITE);

  return procedure;
}

/* One training run, shown in Loom's window (interactive) or on GIMP's
 * progress bar.  With the window it runs in a worker thread: nothing here
 * calls libgimp. */
typedef struct
{
  LoomTrainRun             run;       /* window or progress bar, result, error */
  LoomDevice              *device;
  const LoomSegmentConfig *config;
  const LoomSegmentImage  *images;
  guint                    n_images;
  LoomWeights             *start;

  /* The preview: the layer scaled down to SW × SH, segmented at each
   * checkpoint (on run.preview_device). */
  float                   *small_planes, *small_alpha;
  guint8                  *small_rgba;
  gint                     small_stride;
  guint                    sw, sh;
} Training;

/* The checkpoint just written, segmented on the small image, its label
 * colours over the picture. */
static void
update_preview (gpointer data,
                gpointer unused)
{
  Training    *t = data;
  LoomWeights *weights;
  GArray      *colors  = NULL;
  float       *classes = g_new (float, (gsize) t->sw * t->sh);
  guint8      *labels  = g_new (guint8, 4 * (gsize) t->sw * t->sh);
  guint8      *out     = NULL;
  GError      *error   = NULL;

  weights = loom_weights_load (t->config->checkpoint, &error);
  if (weights == NULL ||
      (colors = loom_segment_get_classes (weights, NULL, &error)) == NULL ||
      ! loom_segment_predict (t->run.preview_device, weights,
                              &(LoomSegmentImage) { t->small_planes, NULL, t->sw, t->sh,
                                                    t->small_alpha },
                              0, classes, NULL, NULL, NULL, NULL, &error))
    {
      gchar *text = g_strdup_printf ("No preview: %s", error->message);

      loom_train_window_set_status (t->run.window, text);
      g_free (text);
      goto out;
    }

  loom_labels_to_rgba8 (classes, t->sw, t->sh, colors, labels, 4 * (gsize) t->sw);
  out = g_new (guint8, 4 * (gsize) t->sw * t->sh);
  for (guint y = 0; y < t->sh; y++)
    for (guint x = 0; x < t->sw; x++)
      {
        const guint8 *src = t->small_rgba + (gsize) y * t->small_stride + 4 * x;
        const guint8 *lab = labels + 4 * ((gsize) y * t->sw + x);
        guint8       *dst = out + 4 * ((gsize) y * t->sw + x);

        /* two thirds label colour, one third picture: both still read */
        for (gint c = 0; c < 3; c++)
          dst[c] = lab[3] != 0 ? (guint8) ((2 * lab[c] + src[c] + 1) / 3) : src[c];
        dst[3] = src[3];
      }
  loom_train_window_set_preview_rgba8 (t->run.window, out, t->sw, t->sh);

out:
  g_clear_error (&error);
  if (colors != NULL)
    g_array_unref (colors);
  if (weights != NULL)
    loom_weights_free (weights);
  g_free (classes);
  g_free (labels);
  g_free (out);
}

static gpointer
train_thread (gpointer data)
{
  Training *t = data;

  t->run.result = loom_segment_train (t->device, t->config, t->images, t->n_images, t->start,
                                      loom_train_run_step, &t->run, NULL,
                                      &t->run.error);

  return NULL;
}

/* DRAWABLE scaled down to at most 256 pixels a side, for the preview. */
static void
preview_image (Training     *t,
               GimpDrawable *drawable,
               const guint8 *rgba)
{
  guint      w = gimp_drawable_get_width (drawable);
  guint      h = gimp_drawable_get_height (drawable);
  double     scale = MIN (1.0, 256.0 / MAX (w, h));
  GdkPixbuf *full, *small;
  gsize      n;

  t->sw = MAX (1, (guint) (w * scale + 0.5));
  t->sh = MAX (1, (guint) (h * scale + 0.5));
  full  = gdk_pixbuf_new_from_data (rgba, GDK_COLORSPACE_RGB, TRUE, 8, w, h, 4 * w,
                                    NULL, NULL);
  small = gdk_pixbuf_scale_simple (full, t->sw, t->sh, GDK_INTERP_BILINEAR);
  n     = (gsize) t->sw * t->sh;
  t->small_stride = gdk_pixbuf_get_rowstride (small);
  t->small_rgba   = g_memdup2 (gdk_pixbuf_get_pixels (small),
                               (gsize) t->small_stride * (t->sh - 1) + 4 * t->sw);
  t->small_planes = g_new (float, 3 * n);
  t->small_alpha  = g_new (float, n);
  loom_image_from_rgba8 (t->small_rgba, t->sw, t->sh, t->small_stride,
                         t->small_planes, t->small_alpha);
  if (! loom_plugin_has_holes (t->small_alpha, n))
    g_clear_pointer (&t->small_alpha, g_free);
  g_object_unref (small);
  g_object_unref (full);
}

static GimpValueArray *
train_run (GimpProcedure        *procedure,
           GimpRunMode           run_mode,
           GimpImage            *image,
           GimpDrawable        **drawables,
           GimpProcedureConfig  *config,
           gpointer              run_data)
{
  GimpDrawable      *drawable;
  guint              n_layers;
  GimpLayer         *label_src  = NULL;
  GimpLayer         *seg_layer  = NULL;
  gchar             *model_name = NULL;
  gchar             *label_name = NULL;
  gchar             *path = NULL, *start_path = NULL;
  gchar             *ckpt_path = NULL;
  gint               steps, seed, depth, base;
  gdouble            seconds, augment;
  gboolean           segment_after;
  guint              w, h, known = 0;
  gsize              n;
  float             *planes[LOOM_PLUGIN_MAX_TRAIN_LAYERS] = { 0 };
  float             *alpha[LOOM_PLUGIN_MAX_TRAIN_LAYERS]  = { 0 };
  float             *labels = NULL;
  LoomSegmentImage   images[LOOM_PLUGIN_MAX_TRAIN_LAYERS];
  guint8            *label_rgba = NULL;
  GArray            *colors = NULL;
  GFile             *init_file = NULL;
  gchar             *init_path = NULL;
  LoomWeights       *start = NULL, *result = NULL;
  LoomDevice        *device = NULL;
  LoomSegmentConfig  sc;
  Training           t = { 0 };
  gboolean           cancelled = FALSE;
  gboolean           any = FALSE;
  GimpValueArray    *ret;
  GError            *error = NULL;

  gegl_init (NULL, NULL);

  n_layers = loom_plugin_check_layers (procedure, image, drawables,
                                       LOOM_PLUGIN_MAX_TRAIN_LAYERS, &error);
  if (n_layers == 0)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
  drawable = drawables[0];

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      loom_plugin_default_label_layer (config, image, drawable);
      if (! loom_plugin_dialog_run (procedure, config, "Loom: Train Segmentation"))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  g_object_get (config,
                "label-layer",   &label_src,
                "model-name",    &model_name,
                "init-model",    &init_file,
                "augment",       &augment,
                "steps",         &steps,
                "seconds",       &seconds,
                "seed",          &seed,
                "depth",         &depth,
                "base",          &base,
                "segment-after", &segment_after,
                NULL);

  /* ---- checks, before anything is read or made ---- */
  if (label_src == NULL)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "No label layer: paint labels on a transparent layer and choose it");
      goto fail;
    }
  label_name = gimp_item_get_name (GIMP_ITEM (label_src));
  for (guint i = 0; i < n_layers; i++)
    if (GIMP_DRAWABLE (label_src) == drawables[i])
      {
        g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                     "The label layer '%s' is a layer to train on: paint the labels "
                     "on a layer of their own", label_name);
        goto fail;
      }
  if (! loom_plugin_check_model_name (model_name, &error))
    goto fail;
  if (! loom_train_check_budget (steps, seconds, NULL))
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Steps 0 needs a time limit: give steps, seconds or both");
      goto fail;
    }
  w = gimp_drawable_get_width (drawable);
  h = gimp_drawable_get_height (drawable);
  n = (gsize) w * h;
  for (guint i = 0; i <= n_layers; i++)
    {
      GimpDrawable *d = i < n_layers ? drawables[i] : GIMP_DRAWABLE (label_src);

      if (gimp_drawable_get_width (d) != (gint) w || gimp_drawable_get_height (d) != (gint) h)
        {
          gchar *other = gimp_item_get_name (GIMP_ITEM (d));

          g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                       "The %s '%s' is %d×%d, the image layer %u×%u: they must be "
                       "the same size (Layer > Layer to Image Size on both)",
                       i < n_layers ? "image layer" : "label layer", other,
                       gimp_drawable_get_width (d), gimp_drawable_get_height (d), w, h);
          g_free (other);
          goto fail;
        }
    }

  /* ---- a model to fine-tune: its classes come first, in its order ---- */
  colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  if (init_file != NULL && (init_path = g_file_get_path (init_file)) != NULL)
    {
      LoomUNetConfig shape;

      g_array_unref (colors);
      colors = NULL;
      if ((start = loom_weights_load (init_path, &error)) == NULL ||
          ! loom_unet_config_from_weights (start, &shape, &error) ||
          (colors = loom_segment_get_classes (start, NULL, &error)) == NULL)
        {
          g_prefix_error (&error, "Model to fine-tune %s: ", init_path);
          goto fail;
        }
      known = colors->len;
    }

  /* ---- pixels and labels ---- */
  for (guint i = 0; i < n_layers; i++)
    planes[i] = loom_plugin_read_planes (drawables[i], &alpha[i]);
  label_rgba = loom_plugin_read_rgba8 (GIMP_DRAWABLE (label_src));
  labels     = g_new (float, n);
  if (! loom_labels_from_rgba8 (label_rgba, w, h, 4 * (gsize) w, colors,
                                known > 0 ? 256 : LOOM_PLUGIN_MAX_CLASSES, labels, &error))
    {
      g_prefix_error (&error, "Label layer '%s': ", label_name);
      goto fail;
    }
  if (known > 0 && colors->len > known)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, known);

      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s': the colour #%02x%02x%02x is not one of the %u "
                   "classes of the model to fine-tune %s", label_name, c->r, c->g, c->b,
                   known, init_path);
      goto fail;
    }
  for (guint i = 0; i < n_layers; i++)
    for (gsize k = 0; k < n && ! any; k++)
      any = labels[k] >= 0 && alpha[i][k] >= 0.5f;
  if (! any)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s' has no labelled pixels over the image layer: paint "
                   "opaque strokes, one colour per class, on a transparent layer",
                   label_name);
      goto fail;
    }
  if (known == 0 && colors->len < 2)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s' has one colour, one class: paint at least two",
                   label_name);
      goto fail;
    }

  /* ---- the starting point: the shipped one for the default shape ---- */
  if (start == NULL && depth == 0 && base == 0)
    {
      start_path = loom_data_path ("weights/segment-start.safetensors");
      if (g_file_test (start_path, G_FILE_TEST_EXISTS))
        {
          LoomUNetConfig shape;

          start = loom_weights_load (start_path, &error);
          if (start == NULL || ! loom_unet_config_from_weights (start, &shape, &error))
            {
              g_prefix_error (&error, "Starting point %s: ", start_path);
              goto fail;
            }
        }
    }

  loom_segment_config_init (&sc, colors->len);
  sc.start_features = start != NULL && known == 0;
  sc.steps   = (guint) steps;
  sc.seconds = seconds;
  sc.seed    = (guint32) seed;
  if (depth > 0)
    sc.unet.depth = (guint) depth;
  if (base > 0)
    sc.unet.base = (guint) base;
  sc.colors  = colors;
  loom_segment_config_set_augment_strength (&sc, augment);

  /* GIMP may kill the plug-in (Cancel on its progress bar): a checkpoint
   * off to the side keeps the work so far, and the models folder only
   * ever gets a finished model. */
  if (! loom_plugin_model_paths (model_name, &path, &ckpt_path, &error))
    goto fail;
  sc.checkpoint = ckpt_path;
  sc.checkpoint_every = 50;

  device = loom_plugin_open_device (&error);
  if (device == NULL)
    goto fail;

  t.device = device;
  t.config = &sc;
  for (guint i = 0; i < n_layers; i++)
    images[i] = (LoomSegmentImage) { planes[i], labels, w, h,
                                     loom_plugin_has_holes (alpha[i], n) ? alpha[i] : NULL };
  t.images   = images;
  t.n_images = n_layers;
  t.start  = start;
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      guint8 *rgba = loom_plugin_read_rgba8 (drawable);

      preview_image (&t, drawable, rgba);
      g_free (rgba);
    }
  result = loom_train_run (&t.run, run_mode, LOOM_PROC_TRAIN_SEG "-window", model_name, device,
                           (const gchar *const[]) { "loss", NULL }, sc.checkpoint_every,
                           update_preview, train_thread, &t, &cancelled, &error);
  if (cancelled)
    {
      g_clear_error (&error);
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      goto out;
    }
  if (result == NULL)
    goto fail;
  if (! loom_weights_save (result, path, &error))
    goto fail;
  g_remove (ckpt_path);   /* the model has it all now */

  if (segment_after)
    {
      LoomPluginOutputs outputs = { .label_layer = TRUE };

      if (! loom_plugin_segment (image, drawable, device, result, model_name, &outputs,
                                 &seg_layer, NULL, &error))
        goto fail;
    }

  gimp_progress_end ();
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  {
    GFile *file = g_file_new_for_path (path);

    GIMP_VALUES_SET_FILE (ret, 1, file);
    g_object_unref (file);
  }
  GIMP_VALUES_SET_LAYER (ret, 2, seg_layer);
  goto out;

fail:
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
out:
  /* Only a killed plug-in leaves its checkpoint behind. */
  if (ckpt_path != NULL)
    g_remove (ckpt_path);
  g_free (t.small_planes);
  g_free (t.small_alpha);
  g_free (t.small_rgba);
  if (device != NULL)
    loom_device_free (device);
  if (result != NULL)
    loom_weights_free (result);
  if (start != NULL)
    loom_weights_free (start);
  if (colors != NULL)
    g_array_unref (colors);
  g_clear_object (&label_src);
  g_free (model_name);
  g_free (label_name);
  g_free (path);
  g_free (ckpt_path);
  g_free (start_path);
  g_clear_object (&init_file);
  g_free (init_path);
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    {
      g_free (planes[i]);
      g_free (alpha[i]);
    }
  g_free (labels);
  g_free (label_rgba);

  return ret;
}
