/* generate.c -- plug-in-loom-generate: new layers from a generator model
 * (a texture GAN, a DCGAN, or a pix2pix label → image model rendering a
 * label layer), with the core's checks of a request
 * (loom_generative_check_request), as the CLI's `loom generate`. */

#include <string.h>

#include "loom-plugin.h"
#include <loom/loom-gan.h>
#include <loom/loom-generative.h>
#include <loom/loom-image.h>

#define MAX_SIDE  65536
#define MAX_COUNT 100          /* layers, not files: more is a mistake */

static GimpValueArray *generate_run (GimpProcedure        *procedure,
                                     GimpRunMode           run_mode,
                                     GimpImage            *image,
                                     GimpDrawable        **drawables,
                                     GimpProcedureConfig  *config,
                                     gpointer              run_data);

GimpProcedure *
loom_generate_procedure_new (GimpPlugIn  *plug_in,
                             const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        generate_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*");
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                       GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "_Generate...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "New layers from a Loom generator model",
                                    "Makes COUNT new RGB layers with a generator model "
                                    "trained by `loom train-gan`: a texture model (any "
                                    "size, seamless with TILEABLE), a DCGAN (its own "
                                    "size), or a label → image (pix2pix) model, which "
                                    "renders the label layer (its opaque colours the "
                                    "model's classes) at that layer's size and offsets.  "
                                    "Image i comes from SEED + i: the same seed, the "
                                    "same pixels.  With INTERPOLATE the COUNT layers are a "
                                    "latent walk from SEED's image to SEED-B's (their "
                                    "noise interpolated on the sphere; the first and last "
                                    "layers are those seeds' own images).  MODEL-NAME "
                                    "picks a model shipped with Loom by name; a model "
                                    "file, when given, wins.  The layers go above the active layer "
                                    "(or at the top), in one undo step; on an error the "
                                    "image is as it was.  LOOM_DEVICE picks the device.",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_file_argument (procedure, "model-file",
                                    "_Model",
                                    "A Loom generator model (.safetensors): texture, "
                                    "dcgan or pix2pix; none: the shipped model chosen "
                                    "below, else the shipped gravel texture",
                                    GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL,
                                    G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "model-name",
                                      "Shi_pped model",
                                      "A generator model shipped with Loom, by name "
                                      "(used when no model file is given)",
                                      loom_plugin_shipped_generator_choice (
                                        "None (the model file)"),
                                      LOOM_PLUGIN_NO_SHIPPED_MODEL, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "width",
                                   "_Width",
                                   "Width of the layers; 0: the model's (512 for a "
                                   "texture, its side for a DCGAN); none for pix2pix",
                                   0, MAX_SIDE, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "height",
                                   "_Height",
                                   "Height of the layers; 0: the model's (512 for a "
                                   "texture, its side for a DCGAN); none for pix2pix",
                                   0, MAX_SIDE, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "count",
                                   "Cou_nt", "How many layers",
                                   1, MAX_COUNT, 1, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed",
                                   "S_eed", "Seed of the first layer (the next get seed + 1, ...)",
                                   0, G_MAXINT, 1, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "interpolate",
                                       "_Interpolate",
                                       "The layers a latent walk from the seed's image to "
                                       "seed B's, both ends included (count 2 or more; "
                                       "pix2pix: over the label layer)",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed-b",
                                   "See_d B", "Interpolate: the seed the walk ends at",
                                   0, G_MAXINT, 2, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "tileable",
                                       "_Tileable",
                                       "Textures that wrap seamlessly (a tileable texture "
                                       "model, sizes multiples of its tile)",
                                       FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_layer_argument (procedure, "label-layer",
                                     "La_bel layer",
                                     "pix2pix models: the labels to render, its opaque "
                                     "colours the model's classes",
                                     TRUE, G_PARAM_READWRITE);

  gimp_procedure_add_core_object_array_return_value (procedure, "layers",
                                                     "Layers", "The layers made, the first on top",
                                                     GIMP_TYPE_LAYER, G_PARAM_READWRITE);

  return procedure;
}

/* The classes of LABEL_LAYER's pixels (W × H, −1 where not opaque), the
 * colours those of the model (COLORS, its first KNOWN), or NULL and an
 * error naming the first colour that is not one of them. */
static float *
read_labels (GimpDrawable  *label_layer,
             GArray        *colors,
             guint          known,
             const gchar   *model,
             GError       **error)
{
  guint   w    = gimp_drawable_get_width (label_layer);
  guint   h    = gimp_drawable_get_height (label_layer);
  guint8 *rgba = loom_plugin_read_rgba8 (label_layer);
  float  *labels = g_new (float, (gsize) w * h);

  if (! loom_labels_from_rgba8 (rgba, w, h, 4 * (gsize) w, colors, 256, labels, error))
    {
      g_prefix_error (error, "The label layer '%s': ",
                      gimp_item_get_name (GIMP_ITEM (label_layer)));
      g_clear_pointer (&labels, g_free);
    }
  else if (colors->len > known)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, known);

      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "The label layer '%s': the colour #%02x%02x%02x is not one of the "
                   "%u classes of the model '%s'",
                   gimp_item_get_name (GIMP_ITEM (label_layer)), c->r, c->g, c->b, known,
                   model);
      g_clear_pointer (&labels, g_free);
    }
  g_free (rgba);

  return labels;
}

/* ---- the procedure: check -> collect -> run -> output ----------------------- */

/* One run of the procedure: its arguments, then what each step adds.  Its
 * steps fill it in order; job_clear frees what any of them made. */
typedef struct
{
  /* the arguments, as the dialog or the caller left them */
  GFile          *file;
  gchar          *model_name;       /* a shipped model, or LOOM_PLUGIN_NO_SHIPPED_MODEL */
  GimpLayer      *label_layer;
  gint            width, height, count, seed, seed_b;
  gboolean        tileable, interpolate;

  /* collect: the model, its name (for the layers) and shape */
  gchar          *path;
  gchar          *name;
  LoomWeights    *weights;
  LoomGanConfig   gan;

  /* check: the images' size and place; label → image's classes */
  GArray         *colors;
  float          *labels;
  gint            ox, oy;

  /* run: the device, every image's pixels */
  LoomDevice     *device;
  float          *planes;
  guint8        **rgba;

  /* output: the new layers, first on top */
  GimpLayer     **layers;
} Job;

static void
job_get_arguments (Job                 *job,
                   GimpProcedureConfig *config)
{
  g_object_get (config,
                "model-file",  &job->file,
                "model-name",  &job->model_name,
                "width",       &job->width,
                "height",      &job->height,
                "count",       &job->count,
                "seed",        &job->seed,
                "interpolate", &job->interpolate,
                "seed-b",      &job->seed_b,
                "tileable",    &job->tileable,
                "label-layer", &job->label_layer,
                NULL);
}

/* The model: the file given, else the shipped model named, else the
 * shipped texture. */
static gboolean
job_collect_model (Job     *job,
                   GError **error)
{
  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (job->file != NULL && (job->path = g_file_get_path (job->file)) == NULL)
    g_clear_object (&job->file);
  if (job->file == NULL && job->model_name != NULL
      && g_strcmp0 (job->model_name, LOOM_PLUGIN_NO_SHIPPED_MODEL) != 0)
    {
      g_free (job->path);
      job->path = loom_plugin_shipped_model_path (job->model_name);
      job->file = g_file_new_for_path (job->path);
    }
  if (job->file == NULL)
    {
      /* none: the shipped texture, which is there where Loom is installed */
      g_free (job->path);
      job->path = loom_data_path (LOOM_PLUGIN_DEFAULT_TEXTURE);
      if (! g_file_test (job->path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "No model file given and no shipped texture model at %s: choose a "
                       "generator model (Train Texture / Image Generator, or `loom "
                       "train-gan`)", job->path);
          return FALSE;
        }
      job->file = g_file_new_for_path (job->path);
    }
  job->name = loom_plugin_model_name (job->file);
  if (! g_file_test (job->path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Model file %s: no such file", job->path);
      return FALSE;
    }
  job->weights = loom_weights_load (job->path, error);
  if (job->weights == NULL)
    {
      g_prefix_error (error, "Model file ");         /* the error names it */
      return FALSE;
    }
  if (! loom_gan_config_from_weights (job->weights, &job->gan, error))
    {
      g_prefix_error (error, "Model file %s: ", job->path);
      return FALSE;
    }

  return TRUE;
}

/* The model's kind against the arguments: the images' size and place (a
 * label layer's for label → image, its classes read). */
static gboolean
job_check (Job        *job,
           GimpImage  *image,
           GError    **error)
{
  guint   width  = (guint) job->width, height = (guint) job->height;
  GError *rule   = NULL;

  if (job->interpolate && job->count < 2)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "Interpolate needs a count of 2 or more (the walk's layers, both ends "
                   "included), not %d", job->count);
      return FALSE;
    }

  /* The core's rules for a request, in the plug-in's words. */
  if (! loom_generative_check_request (&job->gan, job->label_layer != NULL, job->tileable,
                                       &width, &height, &rule))
    {
      switch (rule->code)
        {
        case LOOM_GENERATE_ERROR_NEEDS_LABELS:
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "The model '%s' is a label → image (pix2pix) model: choose a label "
                       "layer (its size is the new layers'), and leave width and height 0",
                       job->name);
          break;
        case LOOM_GENERATE_ERROR_NO_LABELS:
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "A label layer needs a label → image (pix2pix) model; '%s' is a %s "
                       "model: choose no label layer", job->name,
                       loom_gan_kind_name (job->gan.kind));
          break;
        case LOOM_GENERATE_ERROR_FIXED_SIZE:
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "The model '%s' %s: set width and height to %u (or 0)", job->name,
                       rule->message, loom_gan_image_side (&job->gan));
          break;
        case LOOM_GENERATE_ERROR_NOT_TILEABLE:
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "Tileable needs a texture model trained tileable; '%s' is not",
                       job->name);
          break;
        default:
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "Tileable: the model '%s' %s", job->name, rule->message);
        }
      g_clear_error (&rule);
      return FALSE;
    }
  job->width  = (gint) width;
  job->height = (gint) height;
  if (job->gan.kind == LOOM_GAN_PIX2PIX)
    {
      if (gimp_item_get_image (GIMP_ITEM (job->label_layer)) != image)
        {
          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is in another image",
                       gimp_item_get_name (GIMP_ITEM (job->label_layer)));
          return FALSE;
        }
      job->colors = loom_segment_get_classes (job->weights, NULL, error);
      if (job->colors == NULL)
        {
          g_prefix_error (error, "Model file %s: ", job->path);
          return FALSE;
        }
      job->labels = read_labels (GIMP_DRAWABLE (job->label_layer), job->colors, job->gan.classes,
                                 job->name, error);
      if (job->labels == NULL)
        return FALSE;
      job->width  = gimp_drawable_get_width (GIMP_DRAWABLE (job->label_layer));
      job->height = gimp_drawable_get_height (GIMP_DRAWABLE (job->label_layer));
      gimp_drawable_get_offsets (GIMP_DRAWABLE (job->label_layer), &job->ox, &job->oy);
    }

  return TRUE;
}

/* The images, made on the device: every layer's pixels, before the image
 * is touched. */
static gboolean
job_run (Job     *job,
         GError **error)
{
  LoomPluginProgress progress;
  guint              done = 0;
  gsize              n;

  job->device = loom_plugin_open_device (error);
  if (job->device == NULL)
    return FALSE;

  /* Every layer's pixels, before the image is touched.  A DCGAN's images
   * go up to 64 a call (batched); textures and label → image one at a
   * time (each may be large, tiled inside). */
  n           = (gsize) job->width * job->height;
  job->planes = g_new (float, (gsize) (job->gan.kind == LOOM_GAN_DCGAN ? MIN (job->count, 64) : 1)
                              * job->gan.channels * n);
  job->rgba   = g_new0 (guint8 *, job->count);
  loom_plugin_progress_init (&progress, "Generating", job->device);
  while (done < (guint) job->count)
    {
      guint    k  = job->gan.kind == LOOM_GAN_DCGAN ? MIN ((guint) job->count - done, 64) : 1;
      gboolean ok = job->gan.kind == LOOM_GAN_PIX2PIX && job->interpolate
                  ? loom_generative_render_interpolate (job->device, job->weights, job->labels,
                                                        job->width, job->height,
                                                        (guint32) job->seed,
                                                        (guint32) job->seed_b,
                                                        (guint) job->count, done, 0,
                                                        job->planes, error)
                  : job->gan.kind == LOOM_GAN_PIX2PIX
                  ? loom_generative_render (job->device, job->weights, job->labels, job->width,
                                            job->height, (guint32) job->seed + done, 0,
                                            job->planes, error)
                  : job->interpolate
                  ? loom_generative_interpolate (job->device, job->weights, (guint32) job->seed,
                                                 (guint32) job->seed_b, (guint) job->count, done,
                                                 k, job->width, job->height, 0, job->planes,
                                                 NULL, error)
                  : loom_generative_generate (job->device, job->weights, k,
                                              (guint32) job->seed + done, job->width,
                                              job->height, 0, job->planes, NULL, error);

      if (! ok)
        return FALSE;
      for (guint i = 0; i < k; i++)
        {
          job->rgba[done + i] = g_new (guint8, 4 * n);
          /* grey models: the grey value in R, G and B */
          loom_image_to_rgba8 (job->planes + (gsize) i * job->gan.channels * n,
                               job->gan.channels, job->width, job->height, job->rgba[done + i],
                               4 * (gsize) job->width);
        }
      done += k;
      loom_plugin_progress_show (&progress, done, job->count, "images", 0);
    }

  return TRUE;
}

/* The images as layers: the image changes from here on, in one undo
 * step: the first layer on top, above the active layer (the first layer
 * the procedure was given, else the image's first selected layer), or at
 * the top of the image when there is none. */
static void
job_output (Job           *job,
            GimpImage     *image,
            GimpDrawable **drawables)
{
  GimpLayer  *parent   = NULL;
  gint        position = 0;
  GimpLayer **selected = gimp_image_get_selected_layers (image);
  GimpItem   *active   = NULL;

  if (drawables != NULL && drawables[0] != NULL && gimp_item_is_layer (GIMP_ITEM (drawables[0])))
    active = GIMP_ITEM (drawables[0]);
  else if (selected != NULL && selected[0] != NULL)
    active = GIMP_ITEM (selected[0]);
  if (active != NULL)
    {
      parent   = GIMP_LAYER (gimp_item_get_parent (active));
      position = gimp_image_get_item_position (image, active);
    }
  g_free (selected);

  job->layers = g_new0 (GimpLayer *, job->count + 1);
  gimp_image_undo_group_start (image);
  for (gint i = job->count - 1; i >= 0; i--)
    {
      gchar      *layer_name = job->interpolate
                             ? g_strdup_printf ("Walk (%s, seed %u → %u, step %d of %d)",
                                                job->name, (guint32) job->seed,
                                                (guint32) job->seed_b, i + 1, job->count)
                             : g_strdup_printf ("Generated (%s, seed %u)", job->name,
                                                (guint32) job->seed + (guint) i);
      GimpLayer  *layer      = gimp_layer_new (image, layer_name, job->width, job->height,
                                               GIMP_RGB_IMAGE, 100.0,
                                               GIMP_LAYER_MODE_NORMAL);
      GeglBuffer *buffer     = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));

      gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, job->width, job->height), 0,
                       babl_format ("R'G'B'A u8"), job->rgba[i], GEGL_AUTO_ROWSTRIDE);
      g_object_unref (buffer);   /* flushes the pixels to GIMP */
      gimp_layer_set_offsets (layer, job->ox, job->oy);
      gimp_image_insert_layer (image, layer, parent, position);
      job->layers[i] = layer;
      g_free (layer_name);
    }
  gimp_image_undo_group_end (image);
}

static void
job_clear (Job *job)
{
  if (job->device != NULL)
    loom_device_free (job->device);
  if (job->weights != NULL)
    loom_weights_free (job->weights);
  if (job->colors != NULL)
    g_array_unref (job->colors);
  for (gint i = 0; job->rgba != NULL && i < job->count; i++)
    g_free (job->rgba[i]);
  g_free (job->rgba);
  g_free (job->layers);
  g_free (job->labels);
  g_free (job->planes);
  g_clear_object (&job->label_layer);
  g_clear_object (&job->file);
  g_free (job->model_name);
  g_free (job->path);
  g_free (job->name);
}

static GimpValueArray *
generate_run (GimpProcedure        *procedure,
              GimpRunMode           run_mode,
              GimpImage            *image,
              GimpDrawable        **drawables,
              GimpProcedureConfig  *config,
              gpointer              run_data)
{
  Job             job = { 0 };
  GimpValueArray *ret;
  GError         *error = NULL;

  gegl_init (NULL, NULL);

  if (! loom_plugin_check_rgb (procedure, image, &error))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE
      && ! loom_plugin_dialog_run (procedure, config, "Loom: Generate"))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  job_get_arguments (&job, config);
  if (job_collect_model (&job, &error) && job_check (&job, image, &error)
      && job_run (&job, &error))
    {
      job_output (&job, image, drawables);
      gimp_progress_end ();
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
      GIMP_VALUES_SET_CORE_OBJECT_ARRAY (ret, 1, job.layers);
    }
  else
    ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  job_clear (&job);

  return ret;
}
