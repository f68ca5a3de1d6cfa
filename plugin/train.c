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

/* ---- the procedure: check -> collect -> run -> output ----------------------- */

/* One run of the procedure: its arguments, then what each step adds.  Its
 * steps fill it in order; job_clear frees what any of them made. */
typedef struct
{
  /* the arguments, as the dialog or the caller left them; the layers */
  GimpDrawable     **drawables;
  guint              n_layers;
  GimpDrawable      *drawable;     /* the first: where the segmentation goes */
  GimpLayer         *label_src;
  gchar             *model_name;
  GFile             *init_file;
  gdouble            seconds, augment;
  gint               steps, seed, depth, base;
  gboolean           segment_after;

  /* check: the layers' size */
  gchar             *label_name;
  guint              w, h;
  gsize              n;

  /* collect: the model to fine-tune or the starting point, the classes,
   * the layers' pixels and the labels */
  gchar             *init_path, *start_path;
  LoomWeights       *start;
  guint              known;        /* the fine-tuned model's classes, else 0 */
  GArray            *colors;
  float             *planes[LOOM_PLUGIN_MAX_TRAIN_LAYERS];
  float             *alpha[LOOM_PLUGIN_MAX_TRAIN_LAYERS];
  guint8            *label_rgba;
  float             *labels;

  /* run: the settings, where the model goes, the device, the training */
  LoomSegmentConfig  sc;
  LoomSegmentImage   images[LOOM_PLUGIN_MAX_TRAIN_LAYERS];
  gchar             *path, *ckpt_path;
  LoomDevice        *device;
  Training           t;
  LoomWeights       *result;

  /* output: the label layer, with segment-after */
  GimpLayer         *seg_layer;
} Job;

static void
job_get_arguments (Job                 *job,
                   GimpProcedureConfig *config)
{
  g_object_get (config,
                "label-layer",   &job->label_src,
                "model-name",    &job->model_name,
                "init-model",    &job->init_file,
                "augment",       &job->augment,
                "steps",         &job->steps,
                "seconds",       &job->seconds,
                "seed",          &job->seed,
                "depth",         &job->depth,
                "base",          &job->base,
                "segment-after", &job->segment_after,
                NULL);
}

/* The checks, before anything is read or made: a label layer of its own,
 * a model name, a time limit, every layer of one size. */
static gboolean
job_check (Job     *job,
           GError **error)
{
  if (job->label_src == NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "No label layer: paint labels on a transparent layer and choose it");
      return FALSE;
    }
  job->label_name = gimp_item_get_name (GIMP_ITEM (job->label_src));
  for (guint i = 0; i < job->n_layers; i++)
    if (GIMP_DRAWABLE (job->label_src) == job->drawables[i])
      {
        g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                     "The label layer '%s' is a layer to train on: paint the labels "
                     "on a layer of their own", job->label_name);
        return FALSE;
      }
  if (! loom_plugin_check_model_name (job->model_name, error))
    return FALSE;
  if (! loom_train_check_budget (job->steps, job->seconds, NULL))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Steps 0 needs a time limit: give steps, seconds or both");
      return FALSE;
    }
  job->w = gimp_drawable_get_width (job->drawable);
  job->h = gimp_drawable_get_height (job->drawable);
  job->n = (gsize) job->w * job->h;
  for (guint i = 0; i <= job->n_layers; i++)
    {
      GimpDrawable *d = i < job->n_layers ? job->drawables[i] : GIMP_DRAWABLE (job->label_src);

      if (gimp_drawable_get_width (d) != (gint) job->w
          || gimp_drawable_get_height (d) != (gint) job->h)
        {
          gchar *other = gimp_item_get_name (GIMP_ITEM (d));

          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "The %s '%s' is %d×%d, the image layer %u×%u: they must be "
                       "the same size (Layer > Layer to Image Size on both)",
                       i < job->n_layers ? "image layer" : "label layer", other,
                       gimp_drawable_get_width (d), gimp_drawable_get_height (d),
                       job->w, job->h);
          g_free (other);
          return FALSE;
        }
    }

  return TRUE;
}

/* A model to fine-tune: its classes come first, in its order. */
static gboolean
job_collect_init_model (Job     *job,
                        GError **error)
{
  LoomUNetConfig shape;

  job->colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  if (job->init_file == NULL || (job->init_path = g_file_get_path (job->init_file)) == NULL)
    return TRUE;
  g_array_unref (job->colors);
  job->colors = NULL;
  if ((job->start = loom_weights_load (job->init_path, error)) == NULL)
    {
      g_prefix_error (error, "Model to fine-tune ");  /* the error names it */
      return FALSE;
    }
  if (! loom_unet_config_from_weights (job->start, &shape, error) ||
      (job->colors = loom_segment_get_classes (job->start, NULL, error)) == NULL)
    {
      g_prefix_error (error, "Model to fine-tune %s: ", job->init_path);
      return FALSE;
    }
  job->known = job->colors->len;

  return TRUE;
}

/* The layers' pixels and the label layer's classes: labelled pixels over
 * the layers, two classes for a new model, none a fine-tuned one lacks. */
static gboolean
job_collect_labels (Job     *job,
                    GError **error)
{
  gboolean any = FALSE;

  for (guint i = 0; i < job->n_layers; i++)
    job->planes[i] = loom_plugin_read_planes (job->drawables[i], &job->alpha[i]);
  job->label_rgba = loom_plugin_read_rgba8 (GIMP_DRAWABLE (job->label_src));
  job->labels     = g_new (float, job->n);
  if (! loom_labels_from_rgba8 (job->label_rgba, job->w, job->h, 4 * (gsize) job->w,
                                job->colors, job->known > 0 ? 256 : LOOM_PLUGIN_MAX_CLASSES,
                                job->labels, error))
    {
      g_prefix_error (error, "Label layer '%s': ", job->label_name);
      return FALSE;
    }
  if (job->known > 0 && job->colors->len > job->known)
    {
      const LoomColor *c = &g_array_index (job->colors, LoomColor, job->known);

      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s': the colour #%02x%02x%02x is not one of the %u "
                   "classes of the model to fine-tune %s", job->label_name, c->r, c->g, c->b,
                   job->known, job->init_path);
      return FALSE;
    }
  for (guint i = 0; i < job->n_layers; i++)
    for (gsize k = 0; k < job->n && ! any; k++)
      any = job->labels[k] >= 0 && job->alpha[i][k] >= 0.5f;
  if (! any)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s' has no labelled pixels over the image layer: paint "
                   "opaque strokes, one colour per class, on a transparent layer",
                   job->label_name);
      return FALSE;
    }
  if (job->known == 0 && job->colors->len < 2)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s' has one colour, one class: paint at least two",
                   job->label_name);
      return FALSE;
    }

  return TRUE;
}

/* The starting point: the shipped one for the default shape. */
static gboolean
job_collect_start (Job     *job,
                   GError **error)
{
  LoomUNetConfig shape;

  if (job->start != NULL || job->depth != 0 || job->base != 0)
    return TRUE;
  job->start_path = loom_data_path ("weights/segment-start.safetensors");
  if (! g_file_test (job->start_path, G_FILE_TEST_EXISTS))
    return TRUE;
  job->start = loom_weights_load (job->start_path, error);
  if (job->start == NULL)
    {
      g_prefix_error (error, "Starting point ");      /* the error names it */
      return FALSE;
    }
  if (! loom_unet_config_from_weights (job->start, &shape, error))
    {
      g_prefix_error (error, "Starting point %s: ", job->start_path);
      return FALSE;
    }

  return TRUE;
}

/* What the training learns from and starts with. */
static gboolean
job_collect (Job     *job,
             GError **error)
{
  return job_collect_init_model (job, error)
      && job_collect_labels (job, error)
      && job_collect_start (job, error);
}

/* The training, in Loom's window or under GIMP's progress bar, and the
 * model saved; FALSE with *CANCELLED set after Cancel. */
static gboolean
job_run (Job          *job,
         GimpRunMode   run_mode,
         gboolean     *cancelled,
         GError      **error)
{
  LoomSegmentConfig *sc = &job->sc;

  loom_segment_config_init (sc, job->colors->len);
  sc->start_features = job->start != NULL && job->known == 0;
  sc->steps   = (guint) job->steps;
  sc->seconds = job->seconds;
  sc->seed    = (guint32) job->seed;
  if (job->depth > 0)
    sc->unet.depth = (guint) job->depth;
  if (job->base > 0)
    sc->unet.base = (guint) job->base;
  sc->colors  = job->colors;
  loom_segment_config_set_augment_strength (sc, job->augment);

  /* GIMP may kill the plug-in (Cancel on its progress bar): a checkpoint
   * off to the side keeps the work so far, and the models folder only
   * ever gets a finished model. */
  if (! loom_plugin_model_paths (job->model_name, &job->path, &job->ckpt_path, error))
    return FALSE;
  sc->checkpoint = job->ckpt_path;
  sc->checkpoint_every = 50;

  job->device = loom_plugin_open_device (error);
  if (job->device == NULL)
    return FALSE;

  job->t.device = job->device;
  job->t.config = sc;
  for (guint i = 0; i < job->n_layers; i++)
    job->images[i] = (LoomSegmentImage) { job->planes[i], job->labels, job->w, job->h,
                                          loom_plugin_has_holes (job->alpha[i], job->n)
                                          ? job->alpha[i] : NULL };
  job->t.images   = job->images;
  job->t.n_images = job->n_layers;
  job->t.start  = job->start;
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      guint8 *rgba = loom_plugin_read_rgba8 (job->drawable);

      preview_image (&job->t, job->drawable, rgba);
      g_free (rgba);
    }
  job->t.run.preview_first = sc->pixel_head && sc->checkpoint != NULL;
  job->result = loom_train_run (&job->t.run, run_mode, LOOM_PROC_TRAIN_SEG "-window",
                                job->model_name, job->device,
                                (const gchar *const[]) { "loss", NULL }, sc->checkpoint_every,
                                update_preview, train_thread, &job->t, cancelled, error);
  if (*cancelled || job->result == NULL)
    return FALSE;

  return loom_train_save (job->result, job->path, job->ckpt_path, error);
}

/* With "segment-after", the layer segmented with the new model. */
static gboolean
job_output (Job        *job,
            GimpImage  *image,
            GError    **error)
{
  LoomPluginOutputs outputs = { .label_layer = TRUE };

  if (! job->segment_after)
    return TRUE;

  return loom_plugin_segment (image, job->drawable, job->device, job->result, job->model_name,
                              &outputs, &job->seg_layer, NULL, error);
}

static void
job_clear (Job *job)
{
  /* Only a killed plug-in leaves its checkpoint behind. */
  if (job->ckpt_path != NULL)
    g_remove (job->ckpt_path);
  g_free (job->t.small_planes);
  g_free (job->t.small_alpha);
  g_free (job->t.small_rgba);
  if (job->device != NULL)
    loom_device_free (job->device);
  if (job->result != NULL)
    loom_weights_free (job->result);
  if (job->start != NULL)
    loom_weights_free (job->start);
  if (job->colors != NULL)
    g_array_unref (job->colors);
  g_clear_object (&job->label_src);
  g_free (job->model_name);
  g_free (job->label_name);
  g_free (job->path);
  g_free (job->ckpt_path);
  g_free (job->start_path);
  g_clear_object (&job->init_file);
  g_free (job->init_path);
  for (guint i = 0; i < G_N_ELEMENTS (job->planes); i++)
    {
      g_free (job->planes[i]);
      g_free (job->alpha[i]);
    }
  g_free (job->labels);
  g_free (job->label_rgba);
}

static GimpValueArray *
train_run (GimpProcedure        *procedure,
           GimpRunMode           run_mode,
           GimpImage            *image,
           GimpDrawable        **drawables,
           GimpProcedureConfig  *config,
           gpointer              run_data)
{
  Job             job = { 0 };
  gboolean        ok, cancelled = FALSE;
  GimpValueArray *ret;
  GError         *error = NULL;

  gegl_init (NULL, NULL);

  job.n_layers = loom_plugin_check_layers (procedure, image, drawables,
                                           LOOM_PLUGIN_MAX_TRAIN_LAYERS, &error);
  if (job.n_layers == 0)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
  job.drawables = drawables;
  job.drawable  = drawables[0];

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      loom_plugin_default_label_layer (config, image, job.drawable);
      if (! loom_plugin_dialog_run (procedure, config, "Loom: Train Segmentation"))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  job_get_arguments (&job, config);
  ok = job_check (&job, &error)
       && job_collect (&job, &error)
       && job_run (&job, run_mode, &cancelled, &error)
       && job_output (&job, image, &error);
  ret = loom_train_return_values (procedure, ok, cancelled, error, job.path, job.seg_layer);
  job_clear (&job);

  return ret;
}
