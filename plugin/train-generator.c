/* train-generator.c -- plug-in-loom-train-generator: train a texture GAN
 * (from the layer, or the selection's part of it), a DCGAN (from all the
 * image's layers or a folder of image files) or a label → image model
 * (pix2pix: the layer and a label layer), with the CLI's `loom train-gan`
 * choices; save it in the user's models folder and optionally add one
 * sample made with it. */

#include <string.h>

#include <glib/gstdio.h>
#include <libgimp/gimpui.h>

#include "loom-plugin.h"
#include <loom/loom-gan.h>
#include <loom/loom-generative.h>
#include <loom/loom-image.h>
#include "loom-image-file.h"

/* The kinds, as the choice argument's ids. */
enum
{
  KIND_TEXTURE,
  KIND_IMAGES,
  KIND_LABELS
};

#define SAMPLE_SIDE_MAX 1024    /* a texture sample: the source's size, up to this */

static GimpValueArray *train_generator_run (GimpProcedure        *procedure,
                                            GimpRunMode           run_mode,
                                            GimpImage            *image,
                                            GimpDrawable        **drawables,
                                            GimpProcedureConfig  *config,
                                            gpointer              run_data);

GimpProcedure *
loom_train_generator_procedure_new (GimpPlugIn  *plug_in,
                                    const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        train_generator_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*");
  gimp_procedure_set_sensitivity_mask (procedure,
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                       GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                       GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, "Train Texture / Image _Generator...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "Train a texture, image or label → image generator",
                                    "Texture: a texture GAN learns the layer (only the "
                                    "selection's bounding box when there is a selection) "
                                    "and makes textures of any size.  Images: a DCGAN "
                                    "learns a set of pictures, every layer of the image "
                                    "(or the image files of FOLDER), each its centred "
                                    "square scaled to SIZE.  Label → image: a pix2pix "
                                    "model learns to paint the layer from the label "
                                    "layer (one opaque colour per class), so Generate can "
                                    "render new label layers.  Training stops after STEPS "
                                    "or SECONDS, whichever comes first (0: not that "
                                    "limit).  The model is saved as <GIMP folder>/loom/"
                                    "models/NAME.safetensors; with 'generate after' one "
                                    "sample is added above the layer.  LOOM_DEVICE picks "
                                    "the device.",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_choice_argument (procedure, "kind",
                                      "_Kind", "What the model learns to make",
                                      gimp_choice_new_with_values (
                                        "texture", KIND_TEXTURE,
                                        "Texture (from the layer or selection)", NULL,
                                        "images", KIND_IMAGES,
                                        "Images (DCGAN: all layers, or a folder)", NULL,
                                        "label-to-image", KIND_LABELS,
                                        "Label → image (pix2pix: layer and label layer)", NULL,
                                        NULL),
                                      "texture", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "model-name",
                                      "Model _name",
                                      "Saved as <GIMP folder>/loom/models/NAME.safetensors",
                                      "generator", G_PARAM_READWRITE);
  gimp_procedure_add_layer_argument (procedure, "label-layer",
                                     "La_bel layer",
                                     "Label → image only: the labels of the layer, each "
                                     "opaque colour a class (at most 32), the layer's size",
                                     TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "folder",
                                    "_Folder",
                                    "Images only: learn the image files of this folder "
                                    "instead of the image's layers",
                                    GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER, TRUE, NULL,
                                    G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "tileable",
                                       "_Tileable",
                                       "Texture: a model whose textures wrap seamlessly",
                                       TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "size",
                                   "Si_ze",
                                   "Texture, label → image: side of the training crops (a "
                                   "multiple of 16; 0: 64, 128); images: their side (32, "
                                   "64, 128 or 256; 0: 64)",
                                   0, 1024, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "steps",
                                   "Ste_ps",
                                   "Training steps (0: only the time limit)",
                                   0, 1000000, 1000, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "seconds",
                                      "Time li_mit (s)",
                                      "Stop after this many seconds (0: only the steps)",
                                      0.0, 86400.0, 300.0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed",
                                   "S_eed", "Random seed (weights, noise, crops)",
                                   0, G_MAXINT, 1, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "width",
                                   "Net_work width",
                                   "Channels of the generator's last and the "
                                   "discriminator's first layer (0: the default, 64 for "
                                   "images, else 16)",
                                   0, 512, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "batch",
                                   "B_atch", "Crops or images a step (0: the default, "
                                   "64 for images, 16 textures, 4 label → image)",
                                   0, 256, 0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "generate-after",
                                       "_Generate after training",
                                       "Add one sample made by the model above the layer",
                                       TRUE, G_PARAM_READWRITE);

  gimp_procedure_add_file_return_value (procedure, "model-file",
                                        "Model file", "The model saved",
                                        G_PARAM_READWRITE);
  gimp_procedure_add_layer_return_value (procedure, "sample",
                                         "Sample",
                                         "The layer generated (with generate-after)",
                                         TRUE, G_PARAM_READWRITE);

  return procedure;
}

/* ---- training, shown in Loom's window or on GIMP's progress bar -------- */

#define PREVIEW_TEXTURE 128   /* a texture sample's side in the preview */
#define PREVIEW_LABELS  128   /* a label → image sample's longest side, at most */

/* One training run.  With the window it runs in a worker thread: nothing
 * here calls libgimp. */
typedef struct
{
  LoomTrainRun                run;       /* window or progress bar, result, error */
  LoomDevice                 *device;
  const LoomGenerativeConfig *config;
  const LoomGenerativeImage  *images;
  guint                       n_images;

  /* The preview: a grid of samples of each checkpoint from fixed seeds (on
   * run.preview_device): textures of PREVIEW_TEXTURE, the DCGAN's images,
   * or the label layer scaled down (SW × SH, nearest: class numbers)
   * rendered. */
  float                      *small_labels;
  guint                       sw, sh;
} Training;

/* The checkpoint's samples from the training's seed on, as a grid of
 * CHANNELS planes (*GW × *GH): a DCGAN's 3 × 3 images, a texture's or a
 * label → image model's 2 × 2 (the labels rendered with four seeds);
 * NULL and an error. */
static float *
preview_grid (Training            *t,
              LoomWeights         *weights,
              const LoomGanConfig *gan,
              guint               *gw,
              guint               *gh,
              GError             **error)
{
  guint    count   = gan->kind == LOOM_GAN_DCGAN ? 9 : 4;
  guint    columns = gan->kind == LOOM_GAN_DCGAN ? 3 : 2;
  gsize    n       = (gsize) gan->channels * t->sw * t->sh;
  float   *samples = g_new (float, count * n), *grid = NULL;
  gboolean ok      = TRUE;

  if (gan->kind == LOOM_GAN_PIX2PIX)
    for (guint i = 0; ok && i < count; i++)
      ok = loom_generative_render (t->run.preview_device, weights, t->small_labels, t->sw,
                                   t->sh, t->config->seed + i, 0, samples + i * n, error);
  else
    ok = loom_generative_generate (t->run.preview_device, weights, count, t->config->seed,
                                   t->sw, t->sh, 0, samples, NULL, error);
  if (ok)
    grid = loom_generative_grid (samples, count, gan->channels, t->sw, t->sh, columns, 2, gw,
                                 gh, error);
  g_free (samples);

  return grid;
}

/* The checkpoint just written, as a grid of samples (the same seeds each
 * time, so only the training changes them). */
static void
update_preview (gpointer data,
                gpointer unused)
{
  Training      *t = data;
  LoomWeights   *weights;
  LoomGanConfig  gan;
  float         *planes = NULL;
  guint          w = 0, h = 0;
  GError        *error = NULL;

  weights = loom_weights_load (t->config->checkpoint, &error);
  if (weights != NULL && loom_gan_config_from_weights (weights, &gan, &error))
    planes = preview_grid (t, weights, &gan, &w, &h, &error);
  if (planes != NULL)
    {
      guint8 *rgba = g_new (guint8, 4 * (gsize) w * h);

      loom_image_to_rgba8 (planes, gan.channels, w, h, rgba, 4 * (gsize) w);
      loom_train_window_set_preview_rgba8 (t->run.window, rgba, w, h);
      g_free (rgba);
      g_free (planes);
    }
  else
    {
      gchar *text = g_strdup_printf ("No preview: %s", error->message);

      loom_train_window_set_status (t->run.window, text);
      g_free (text);
    }
  g_clear_error (&error);
  if (weights != NULL)
    loom_weights_free (weights);
}

static gpointer
train_thread (gpointer data)
{
  Training *t = data;

  t->run.result = loom_generative_train (t->device, t->config, t->images, t->n_images, NULL,
                                         loom_train_run_step, &t->run, NULL,
                                         &t->run.error);

  return NULL;
}

/* The W × H class numbers LABELS scaled down to at most PREVIEW_LABELS a
 * side, nearest (a class is no average), for the preview. */
static void
preview_labels (Training    *t,
                const float *labels,
                guint        w,
                guint        h)
{
  double scale = MIN (1.0, (double) PREVIEW_LABELS / MAX (w, h));

  t->sw = MAX (1, (guint) (w * scale + 0.5));
  t->sh = MAX (1, (guint) (h * scale + 0.5));
  t->small_labels = g_new (float, (gsize) t->sw * t->sh);
  for (guint y = 0; y < t->sh; y++)
    for (guint x = 0; x < t->sw; x++)
      t->small_labels[(gsize) y * t->sw + x] =
        labels[(gsize) MIN (h - 1, (guint) (y / scale)) * w + MIN (w - 1, (guint) (x / scale))];
}

/* ---- the examples --------------------------------------------------------- */

/* The R, G, B planes of DRAWABLE's W × H pixels at (X, Y) (its coordinates). */
static float *
read_region (GimpDrawable *drawable,
             gint          x,
             gint          y,
             guint         w,
             guint         h)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  float      *rgba   = g_new (float, 4 * (gsize) w * h);
  float      *planes = g_new (float, 3 * (gsize) w * h);

  gegl_buffer_get (buffer, GEGL_RECTANGLE (x, y, w, h), 1.0, babl_format ("R'G'B'A float"),
                   rgba, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  loom_image_from_rgbaf (rgba, w, h, 4 * sizeof (float) * w, planes, NULL);
  g_free (rgba);

  return planes;
}

/* The part of DRAWABLE a texture learns: the selection's bounds within
 * it, else all of it (drawable coordinates). */
static gboolean
texture_region (GimpImage     *image,
                GimpDrawable  *drawable,
                GeglRectangle *region,
                gboolean      *selected,
                GError       **error)
{
  gboolean non_empty = FALSE;
  gint     ox, oy, x1, y1, x2, y2;

  gimp_drawable_get_offsets (drawable, &ox, &oy);
  *region = (GeglRectangle) { 0, 0, gimp_drawable_get_width (drawable),
                              gimp_drawable_get_height (drawable) };
  *selected = FALSE;
  if (! gimp_selection_bounds (image, &non_empty, &x1, &y1, &x2, &y2) || ! non_empty)
    return TRUE;

  *selected = TRUE;
  if (! gegl_rectangle_intersect (region, region,
                                  GEGL_RECTANGLE (x1 - ox, y1 - oy, x2 - x1, y2 - y1)))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "The selection is outside the layer '%s': select a part of it, or "
                   "nothing (Select > None) to learn all of it",
                   gimp_item_get_name (GIMP_ITEM (drawable)));
      return FALSE;
    }

  return TRUE;
}

/* The layers of IMAGE that hold pixels (groups' children, not groups), top
 * first. */
static void
collect_layers (GimpLayer **layers,
                GPtrArray  *out)
{
  for (gint i = 0; layers != NULL && layers[i] != NULL; i++)
    {
      if (gimp_item_is_group (GIMP_ITEM (layers[i])))
        {
          GimpItem **children = gimp_item_get_children (GIMP_ITEM (layers[i]));

          collect_layers ((GimpLayer **) children, out);
          g_free (children);
        }
      else
        g_ptr_array_add (out, layers[i]);
    }
}

/* Every example of a DCGAN: the image files of FOLDER, else IMAGE's
 * layers, each its centred square scaled to SIDE (as `loom train-gan`),
 * into PLANES (one buffer each).  *DESCRIPTION says what for errors. */
static gboolean
dcgan_examples (GimpImage    *image,
                GFile        *folder,
                guint         side,
                GPtrArray    *planes,
                gchar       **description,
                GError      **error)
{
  if (folder != NULL)
    {
      gchar     *dir   = g_file_get_path (folder);
      GPtrArray *paths = loom_image_file_list_folder (dir, error);
      gboolean   ok    = paths != NULL;

      *description = g_strdup_printf ("the folder %s", dir);
      for (guint i = 0; ok && i < paths->len; i++)
        {
          LoomImageFile file;

          ok = loom_image_file_load (&file, paths->pdata[i], error);
          if (ok)
            {
              g_ptr_array_add (planes, loom_image_file_square_planes (&file, side));
              loom_image_file_clear (&file);
            }
        }
      if (paths != NULL)
        g_ptr_array_unref (paths);
      g_free (dir);

      return ok;
    }
  else
    {
      GimpLayer **top    = gimp_image_get_layers (image);
      GPtrArray  *layers = g_ptr_array_new ();

      *description = g_strdup ("the image's layers");
      collect_layers (top, layers);
      for (guint i = 0; i < layers->len; i++)
        {
          /* A layer's buffer seen as a file: the CLI's square and scale. */
          LoomImageFile file = { NULL, gimp_drawable_get_buffer (layers->pdata[i]),
                                 gimp_drawable_get_width (layers->pdata[i]),
                                 gimp_drawable_get_height (layers->pdata[i]), FALSE, TRUE };

          g_ptr_array_add (planes, loom_image_file_square_planes (&file, side));
          g_object_unref (file.buffer);
        }
      g_ptr_array_unref (layers);
      g_free (top);

      return TRUE;
    }
}

/* ---- the sample ------------------------------------------------------------ */

/* One sample of WEIGHTS as CHANNELS × H × W planes (free with g_free): a
 * W × H texture, the DCGAN's side, or LABELS (W × H) rendered; NULL and an
 * error. */
static float *
sample_planes (LoomDevice          *device,
               LoomWeights         *weights,
               const LoomGanConfig *gan,
               const float         *labels,
               guint                w,
               guint                h,
               guint32              seed,
               GError             **error)
{
  float    *planes = g_new (float, (gsize) gan->channels * w * h);
  gboolean  ok;

  ok = gan->kind == LOOM_GAN_PIX2PIX
     ? loom_generative_render (device, weights, labels, w, h, seed, 0, planes, error)
     : loom_generative_generate (device, weights, 1, seed, w, h, 0, planes, NULL, error);
  if (! ok)
    g_clear_pointer (&planes, g_free);

  return planes;
}

/* The same as an RGB layer of IMAGE (not inserted); NULL and an error. */
static GimpLayer *
make_sample (GimpImage           *image,
             LoomDevice          *device,
             LoomWeights         *weights,
             const LoomGanConfig *gan,
             const float         *labels,
             guint                w,
             guint                h,
             guint32              seed,
             const gchar         *model_name,
             GError             **error)
{
  float      *planes = sample_planes (device, weights, gan, labels, w, h, seed, error);
  guint8     *rgba;
  gchar      *name;
  GimpLayer  *layer;
  GeglBuffer *buffer;

  if (planes == NULL)
    return NULL;

  rgba = g_new (guint8, 4 * (gsize) w * h);
  name = g_strdup_printf ("Generated (%s, seed %u)", model_name, seed);
  loom_image_to_rgba8 (planes, gan->channels, w, h, rgba, 4 * (gsize) w);
  layer  = gimp_layer_new (image, name, w, h, GIMP_RGB_IMAGE, 100.0,
                           GIMP_LAYER_MODE_NORMAL);
  buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, w, h), 0, babl_format ("R'G'B'A u8"),
                   rgba, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer);   /* flushes the pixels to GIMP */
  g_free (name);
  g_free (planes);
  g_free (rgba);

  return layer;
}

/* ---- the dialog ---------------------------------------------------------------- */

/* PROPERTY of DIALOG usable only while "kind" is KIND (a choice's id). */
static void
sensitive_for_kind (GtkWidget   *dialog,
                    const gchar *property,
                    const gchar *kind)
{
  GimpValueArray *values = gimp_value_array_new (1);
  GValue          value  = G_VALUE_INIT;

  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, kind);
  gimp_value_array_append (values, &value);
  g_value_unset (&value);
  /* the dialog takes VALUES */
  gimp_procedure_dialog_set_sensitive_if_in (GIMP_PROCEDURE_DIALOG (dialog), property, NULL,
                                             "kind", values, TRUE);
}

/* The arguments of one kind greyed out for the others: a label layer
 * chosen by default must not look like part of a texture's training. */
static GtkWidget *
generator_dialog (GimpProcedure       *procedure,
                  GimpProcedureConfig *config)
{
  GtkWidget *dialog = loom_plugin_dialog_new (procedure, config, "Loom: Train Generator",
                                              NULL);

  sensitive_for_kind (dialog, "label-layer", "label-to-image");
  sensitive_for_kind (dialog, "folder", "images");
  sensitive_for_kind (dialog, "tileable", "texture");

  return dialog;
}

/* ---- the procedure: check -> collect -> run -> output ----------------------- */

/* One run of the procedure: its arguments, then what each step adds.  Its
 * steps fill it in order; job_clear frees what any of them made. */
typedef struct
{
  /* the arguments, as the dialog or the caller left them */
  gint                  kind, size, steps, seed, width, batch;
  gdouble               seconds;
  gboolean              tileable, generate_after;
  gchar                *model_name;
  GimpLayer            *label_src;
  GFile                *folder;
  gchar                *folder_path;

  /* check: the layer learnt (KIND_IMAGES: where the sample goes, may be
   * NULL), the side of the crops or images, the settings so far */
  GimpDrawable         *drawable;
  guint                 side;
  LoomGenerativeConfig  gc;

  /* collect: the examples (their planes in BUFFERS); a texture's or
   * pix2pix's part of the layer and the label layer's classes */
  GPtrArray            *buffers;
  LoomGenerativeImage  *images;
  gchar                *what;
  GeglRectangle         region;
  gboolean              selected;
  float                *labels;
  guint8               *label_rgba;
  GArray               *colors;

  /* run: where the model goes, the device, the training */
  gchar                *path, *ckpt_path;
  LoomDevice           *device;
  Training              t;
  LoomWeights          *result;

  /* output: the sample layer, if one was asked for */
  GimpLayer            *sample;
} Job;

static void
job_get_arguments (Job                 *job,
                   GimpProcedureConfig *config)
{
  job->kind = gimp_procedure_config_get_choice_id (config, "kind");
  g_object_get (config,
                "model-name",     &job->model_name,
                "label-layer",    &job->label_src,
                "folder",         &job->folder,
                "tileable",       &job->tileable,
                "size",           &job->size,
                "steps",          &job->steps,
                "seconds",        &job->seconds,
                "seed",           &job->seed,
                "width",          &job->width,
                "batch",          &job->batch,
                "generate-after", &job->generate_after,
                NULL);
  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (job->folder != NULL && (job->folder_path = g_file_get_path (job->folder)) == NULL)
    g_clear_object (&job->folder);
}

/* The checks, before anything is read or made; the model's kind and side. */
static gboolean
job_check (Job            *job,
           GimpProcedure  *procedure,
           GimpImage      *image,
           GimpDrawable  **drawables,
           GError        **error)
{
  gint kind = job->kind;

  if (kind != KIND_IMAGES)
    {
      job->drawable = loom_plugin_check_drawable (procedure, image, drawables, error);
      if (job->drawable == NULL)
        return FALSE;
    }
  else if (drawables != NULL && drawables[0] != NULL && gimp_item_is_layer (GIMP_ITEM (drawables[0])))
    job->drawable = drawables[0];    /* where the sample goes */
  if (! loom_plugin_check_model_name (job->model_name, error))
    return FALSE;
  if (! loom_train_check_budget (job->steps, job->seconds, NULL))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Steps 0 needs a time limit: give steps, seconds or both");
      return FALSE;
    }
  if (kind == KIND_LABELS && job->label_src == NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Label → image needs a label layer: paint the layer's classes, one "
                   "opaque colour each, on a layer of its size and choose it");
      return FALSE;
    }
  /* GIMP remembers every argument across runs: a label layer or folder
   * chosen for another kind is left out, not refused. */
  if (kind != KIND_LABELS)
    g_clear_object (&job->label_src);
  if (kind != KIND_IMAGES)
    g_clear_object (&job->folder);
  if (job->folder != NULL && ! g_file_test (job->folder_path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Folder %s: no such folder", job->folder_path);
      return FALSE;
    }

  loom_generative_config_init (&job->gc, kind == KIND_IMAGES ? LOOM_GAN_DCGAN
                                         : kind == KIND_LABELS ? LOOM_GAN_PIX2PIX
                                         : LOOM_GAN_TEXTURE, 3);
  if (! loom_generative_config_set_size (&job->gc, (guint) job->size, error))
    {
      g_prefix_error (error, "Size ");
      return FALSE;
    }
  job->side = kind == KIND_IMAGES ? loom_gan_image_side (&job->gc.gan) : job->gc.crop;

  return TRUE;
}

/* A DCGAN's examples: the folder's files or the image's layers, two at least. */
static gboolean
job_collect_dcgan (Job        *job,
                   GimpImage  *image,
                   GError    **error)
{
  if (! dcgan_examples (image, job->folder, job->side, job->buffers, &job->what, error))
    return FALSE;
  if (job->buffers->len < 2)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "A DCGAN learns a set of pictures; %s hold%s %u: add layers (one "
                   "picture each) or choose a folder of images, or train a texture "
                   "from one picture", job->what, job->folder != NULL ? "s" : "",
                   job->buffers->len);
      return FALSE;
    }
  job->images = g_new0 (LoomGenerativeImage, job->buffers->len);
  for (guint i = 0; i < job->buffers->len; i++)
    job->images[i] = (LoomGenerativeImage) { job->buffers->pdata[i], job->side, job->side,
                                             NULL };

  return TRUE;
}

/* Label → image's classes: the label layer (another layer of IMAGE, the
 * size of the layer NAME) as class numbers, two classes at least. */
static gboolean
job_collect_labels (Job          *job,
                    GimpImage    *image,
                    const gchar  *name,
                    GError      **error)
{
  GimpDrawable *label_src  = GIMP_DRAWABLE (job->label_src);
  const gchar  *label_name = gimp_item_get_name (GIMP_ITEM (label_src));
  guint         lw = gimp_drawable_get_width (label_src);
  guint         lh = gimp_drawable_get_height (label_src);

  if (label_src == job->drawable)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "The label layer '%s' is the layer to learn: paint the labels "
                   "on a layer of their own", label_name);
      return FALSE;
    }
  if (gimp_item_get_image (GIMP_ITEM (label_src)) != image)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "The label layer '%s' is in another image: copy it into this one",
                   label_name);
      return FALSE;
    }
  if (lw != (guint) job->region.width || lh != (guint) job->region.height)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "The label layer '%s' is %u×%u, the layer '%s' %d×%d: they must "
                   "be the same size (Layer > Layer to Image Size on both)",
                   label_name, lw, lh, name, job->region.width, job->region.height);
      return FALSE;
    }
  job->label_rgba = loom_plugin_read_rgba8 (label_src);
  job->labels     = g_new (float, (gsize) lw * lh);
  job->colors     = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  if (! loom_labels_from_rgba8 (job->label_rgba, lw, lh, 4 * (gsize) lw, job->colors,
                                LOOM_PLUGIN_MAX_CLASSES, job->labels, error))
    {
      g_prefix_error (error, "Label layer '%s': ", label_name);
      return FALSE;
    }
  if (job->colors->len < 2)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Label layer '%s' has %s: paint at least two classes, one "
                   "opaque colour each", label_name,
                   job->colors->len == 0 ? "no opaque pixels" : "one colour, one class");
      return FALSE;
    }
  job->gc.gan.classes = job->colors->len;
  job->gc.colors      = job->colors;

  return TRUE;
}

/* The examples: a DCGAN's pictures, else the part of the layer learnt (a
 * texture: the selection's; label → image: all of it, with its labels). */
static gboolean
job_collect (Job        *job,
             GimpImage  *image,
             GError    **error)
{
  const gchar *name;

  job->buffers = g_ptr_array_new_with_free_func (g_free);
  if (job->kind == KIND_IMAGES)
    return job_collect_dcgan (job, image, error);

  name = gimp_item_get_name (GIMP_ITEM (job->drawable));
  if (job->kind == KIND_TEXTURE
      && ! texture_region (image, job->drawable, &job->region, &job->selected, error))
    return FALSE;
  if (job->kind == KIND_LABELS)
    job->region = (GeglRectangle) { 0, 0, gimp_drawable_get_width (job->drawable),
                                    gimp_drawable_get_height (job->drawable) };
  if ((guint) job->region.width < job->side || (guint) job->region.height < job->side)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "%s '%s' is %d×%d, smaller than the training crops (%u×%u): %s or "
                   "lower the size",
                   job->selected ? "The selection on the layer" : "The layer", name,
                   job->region.width, job->region.height, job->side, job->side,
                   job->selected ? "select a larger area" : "use a larger layer");
      return FALSE;
    }
  if (job->kind == KIND_LABELS && ! job_collect_labels (job, image, name, error))
    return FALSE;
  g_ptr_array_add (job->buffers, read_region (job->drawable, job->region.x, job->region.y,
                                              job->region.width, job->region.height));
  job->images = g_new0 (LoomGenerativeImage, 1);
  job->images[0] = (LoomGenerativeImage) { job->buffers->pdata[0], job->region.width,
                                           job->region.height, job->labels };

  return TRUE;
}

/* The training, in Loom's window or under GIMP's progress bar, and the
 * model saved; FALSE with *CANCELLED set after Cancel. */
static gboolean
job_run (Job          *job,
         GimpRunMode   run_mode,
         gboolean     *cancelled,
         GError      **error)
{
  LoomGenerativeConfig *gc = &job->gc;

  /* The CLI's settings (loom train-gan): steps 0 with a time budget. */
  gc->steps   = (guint) job->steps;
  gc->seconds = job->seconds;
  gc->seed    = (guint32) job->seed;
  if (job->kind == KIND_TEXTURE)
    gc->gan.tileable = job->tileable;
  if (job->width > 0)
    gc->gan.g_width = gc->gan.d_width = (guint) job->width;
  if (job->batch > 0)
    gc->batch = (guint) job->batch;

  /* GIMP may kill the plug-in (Cancel on its progress bar): a checkpoint
   * off to the side keeps the work so far, and the models folder only
   * ever gets a finished model. */
  if (! loom_plugin_model_paths (job->model_name, &job->path, &job->ckpt_path, error))
    return FALSE;
  gc->checkpoint = job->ckpt_path;
  gc->checkpoint_every = 50;

  job->device = loom_plugin_open_device (error);
  if (job->device == NULL)
    return FALSE;

  job->t.device   = job->device;
  job->t.config   = gc;
  job->t.images   = job->images;
  job->t.n_images = job->buffers->len;
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      if (job->kind == KIND_LABELS)
        preview_labels (&job->t, job->labels, job->region.width, job->region.height);
      else
        job->t.sw = job->t.sh = job->kind == KIND_IMAGES ? job->side : PREVIEW_TEXTURE;
    }
  job->result = loom_train_run (&job->t.run, run_mode, LOOM_PROC_TRAIN_GEN "-window",
                                job->model_name, job->device,
                                (const gchar *const[]) { "D", "G", NULL }, gc->checkpoint_every,
                                update_preview, train_thread, &job->t, cancelled, error);

  if (*cancelled || job->result == NULL)
    return FALSE;

  return loom_train_save (job->result, job->path, job->ckpt_path, error);
}

/* With "generate-after", a sample of the new model as a layer above the
 * one learnt (and over the part learnt), in one undo step. */
static gboolean
job_output (Job        *job,
            GimpImage  *image,
            GError    **error)
{
  LoomGanConfig gan;
  guint         w = job->side, h = job->side;
  gint          ox = 0, oy = 0;

  if (! job->generate_after)
    return TRUE;
  if (! loom_gan_config_from_weights (job->result, &gan, error))
    return FALSE;
  if (job->drawable != NULL)
    gimp_drawable_get_offsets (job->drawable, &ox, &oy);
  if (job->kind != KIND_IMAGES)
    {
      /* over the part learnt: a texture of its size (bounded), the
       * label layer rendered */
      w   = job->kind == KIND_LABELS ? (guint) job->region.width
                                     : MIN (job->region.width, SAMPLE_SIDE_MAX);
      h   = job->kind == KIND_LABELS ? (guint) job->region.height
                                     : MIN (job->region.height, SAMPLE_SIDE_MAX);
      ox += job->region.x;
      oy += job->region.y;
    }
  gimp_progress_set_text_printf ("Generating a sample with %s", job->model_name);
  job->sample = make_sample (image, job->device, job->result, &gan, job->labels, w, h,
                             (guint32) job->seed, job->model_name, error);
  if (job->sample == NULL)
    return FALSE;

  /* The image changes here only, in one undo step. */
  gimp_image_undo_group_start (image);
  gimp_layer_set_offsets (job->sample, ox, oy);
  if (job->drawable != NULL)
    gimp_image_insert_layer (image, job->sample,
                             GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (job->drawable))),
                             gimp_image_get_item_position (image, GIMP_ITEM (job->drawable)));
  else
    gimp_image_insert_layer (image, job->sample, NULL, 0);
  gimp_image_undo_group_end (image);

  return TRUE;
}

static void
job_clear (Job *job)
{
  /* Only a killed plug-in leaves its checkpoint behind. */
  if (job->ckpt_path != NULL)
    g_remove (job->ckpt_path);
  g_free (job->t.small_labels);
  if (job->device != NULL)
    loom_device_free (job->device);
  if (job->result != NULL)
    loom_weights_free (job->result);
  if (job->colors != NULL)
    g_array_unref (job->colors);
  if (job->buffers != NULL)
    g_ptr_array_unref (job->buffers);
  g_clear_object (&job->label_src);
  g_clear_object (&job->folder);
  g_free (job->folder_path);
  g_free (job->model_name);
  g_free (job->what);
  g_free (job->path);
  g_free (job->ckpt_path);
  g_free (job->images);
  g_free (job->labels);
  g_free (job->label_rgba);
}

static GimpValueArray *
train_generator_run (GimpProcedure        *procedure,
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

  if (! loom_plugin_check_rgb (procedure, image, &error))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      /* label → image: another layer as the label layer to begin with */
      if (drawables != NULL && drawables[0] != NULL)
        loom_plugin_default_label_layer (config, image, drawables[0]);
      if (! loom_plugin_dialog_wait (procedure, generator_dialog (procedure, config)))
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }

  job_get_arguments (&job, config);
  ok = job_check (&job, procedure, image, drawables, &error)
       && job_collect (&job, image, &error)
       && job_run (&job, run_mode, &cancelled, &error)
       && job_output (&job, image, &error);
  ret = loom_train_return_values (procedure, ok, cancelled, error, job.path, job.sample);
  job_clear (&job);

  return ret;
}
