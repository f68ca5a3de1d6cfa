/* augment.c -- plug-in-loom-augment: randomly transformed copies of a
 * layer and its label layer (the same geometry), with the transforms of
 * loom_segment_augment and the CLI's `loom augment` meanings, as layers,
 * a new image and/or image / label file pairs in a folder. */

#include <string.h>

#include <libgimp/gimpui.h>

#include "loom-plugin.h"
#include <loom/loom-image.h>
#include "loom-image-file.h"

#define MAX_LAYERS 100          /* copies as layers; more go to files only */
#define MAX_FILES  99999        /* as `loom augment --count` */
#define CHUNK      16           /* copies a call, as `loom augment` (the same seeds) */

enum
{
  OUTPUT_LAYERS,
  OUTPUT_IMAGE,
  OUTPUT_FILES
};

static GimpValueArray *augment_run (GimpProcedure        *procedure,
                                    GimpRunMode           run_mode,
                                    GimpImage            *image,
                                    GimpDrawable        **drawables,
                                    GimpProcedureConfig  *config,
                                    gpointer              run_data);

GimpProcedure *
loom_augment_procedure_new (GimpPlugIn  *plug_in,
                            const gchar *name)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                        augment_run, NULL, NULL);

  gimp_procedure_set_image_types (procedure, "RGB*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, "_Augment...");
  gimp_procedure_add_menu_path (procedure, LOOM_PLUGIN_MENU);
  gimp_procedure_set_documentation (procedure,
                                    "Augmented copies of a layer and its labels",
                                    "Makes COUNT square copies of the layer, each a random "
                                    "crop through a random rotation, scale, shear, flip, "
                                    "quarter turn and elastic warp, with colour jitter, "
                                    "noise, blur and cutout at the strengths chosen; the "
                                    "label layer (same size, one opaque colour per class) "
                                    "goes through the same geometry with its colours kept "
                                    "exactly (nearest pixel; unlabelled is transparent).  "
                                    "The same seed gives the same copies, the ones `loom "
                                    "augment` writes.  Output: a layer group above the "
                                    "layer, a new image, or files only; with an export "
                                    "folder, FOLDER/images/NAME-0001.png and FOLDER/labels/"
                                    "NAME-0001.png (without labels FOLDER/NAME-0001.png), "
                                    "NAME the image file's name (else the layer's).  "
                                    "LOOM_DEVICE picks the device.",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_int_argument (procedure, "count",
                                   "Cou_nt",
                                   "How many copies (at most 100 as layers or an image, "
                                   "99999 as files)",
                                   0, MAX_FILES, 8, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed",
                                   "See_d", "Random seed: the same seed, the same copies",
                                   0, G_MAXINT, 1, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "size",
                                   "Si_ze",
                                   "Side of the square copies, up to 1024 (0: the layer's "
                                   "shorter side down to a multiple of 8, at most 1024)",
                                   0, 1024, 0, G_PARAM_READWRITE);
  gimp_procedure_add_layer_argument (procedure, "label-layer",
                                     "Label la_yer",
                                     "Its labels (optional): the layer's size, each opaque "
                                     "colour a class (at most 32)",
                                     TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "rotate",
                                      "Ro_tation (°)", "Rotation within ± this many degrees",
                                      0.0, 180.0, 20.0, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "scale",
                                      "Sc_ale", "Scale within [1 / this, this] (1: none)",
                                      1.0, 4.0, 1.25, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "flips",
                                       "_Flips and quarter turns",
                                       "Random mirror images and 90° turns",
                                       TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "shear",
                                      "Sh_ear", "Shear within ± this factor",
                                      0.0, 1.0, 0.1, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "elastic",
                                      "_Warp (elastic, px)",
                                      "Elastic deformation of up to this many pixels",
                                      0.0, 32.0, 2.0, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "color",
                                      "Colour _jitter",
                                      "Brightness, contrast, saturation, hue and gamma "
                                      "jitter, 0 to 1",
                                      0.0, 1.0, 0.5, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "noise",
                                      "No_ise", "Largest deviation of added Gaussian noise",
                                      0.0, 1.0, 0.02, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "blur",
                                      "_Blur chance",
                                      "Chance of a Gaussian blur (0.3 to 1.5 pixels)",
                                      0.0, 1.0, 0.2, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "cutout",
                                      "C_utout chance",
                                      "Chance of a grey square over a quarter of the copy",
                                      0.0, 1.0, 0.0, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "output",
                                      "Out_put", "Where the copies go",
                                      gimp_choice_new_with_values (
                                        "layers", OUTPUT_LAYERS,
                                        "Layers in this image (a group above the layer)", NULL,
                                        "image", OUTPUT_IMAGE, "A new image", NULL,
                                        "files", OUTPUT_FILES,
                                        "Files only (the export folder)", NULL,
                                        NULL),
                                      "layers", G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "export-folder",
                                    "E_xport folder",
                                    "Also write the copies here as PNG files: images/ and "
                                    "labels/ (optional)",
                                    GIMP_FILE_CHOOSER_ACTION_CREATE_FOLDER, TRUE, NULL,
                                    G_PARAM_READWRITE);

  gimp_procedure_add_image_return_value (procedure, "new-image",
                                         "New image", "The image made (output 'image')",
                                         TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "count",
                                       "Count", "Copies made",
                                       0, MAX_FILES, 0, G_PARAM_READWRITE);

  return procedure;
}

/* The copies' file name: the image file's name without its extension,
 * else the layer's, with no folder separators. */
static gchar *
copy_name (GimpImage    *image,
           GimpDrawable *drawable)
{
  GFile *file = gimp_image_get_file (image);
  gchar *name;

  if (file != NULL)
    {
      gchar *base = g_file_get_basename (file);

      name = loom_image_file_base_name (base);
      g_free (base);
      g_object_unref (file);
    }
  else
    name = gimp_item_get_name (GIMP_ITEM (drawable));
  g_strdelimit (name, "/\\", '_');
  if (name[0] == '\0' || name[0] == '.')
    {
      gchar *safe = g_strconcat ("copy", name, NULL);

      g_free (name);
      name = safe;
    }

  return name;
}

static GimpLayer *
new_layer (GimpImage    *image,
           const gchar  *name,
           gboolean      alpha,
           guint         size,
           const guint8 *rgba)
{
  GimpLayer  *layer  = gimp_layer_new (image, name, size, size,
                                       alpha ? GIMP_RGBA_IMAGE : GIMP_RGB_IMAGE, 100.0,
                                       GIMP_LAYER_MODE_NORMAL);
  GeglBuffer *buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));

  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, size, size), 0, babl_format ("R'G'B'A u8"),
                   rgba, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer);   /* flushes the pixels to GIMP */

  return layer;
}

/* The copies (and their labels, LABELS may be NULL) as layers of IMAGE
 * under PARENT at POSITION, copy 1 (its labels above it) on top, at
 * (OX, OY). */
static void
insert_copies (GimpImage  *image,
               GimpLayer  *parent,
               gint        position,
               guint8    **copies,
               guint8    **labels,
               guint       count,
               guint       size,
               gint        ox,
               gint        oy)
{
  for (gint i = (gint) count - 1; i >= 0; i--)
    {
      gchar     *name  = g_strdup_printf ("Augmented %d", i + 1);
      GimpLayer *layer = new_layer (image, name, FALSE, size, copies[i]);

      gimp_layer_set_offsets (layer, ox, oy);
      gimp_image_insert_layer (image, layer, parent, position);
      if (labels != NULL)
        {
          gchar *label_name = g_strdup_printf ("Augmented %d labels", i + 1);

          layer = new_layer (image, label_name, TRUE, size, labels[i]);
          gimp_layer_set_offsets (layer, ox, oy);
          gimp_image_insert_layer (image, layer, parent, position);
          g_free (label_name);
        }
      g_free (name);
    }
}

/* A copy's RGBA pixels as file C (from 0) of STEM, "STEM-0001.png". */
static gboolean
save_copy (const gchar   *stem,
           guint          c,
           const guint8  *rgba,
           guint          size,
           gboolean       alpha,
           GError       **error)
{
  gchar    *path = loom_image_file_copy_path (stem, c);
  gboolean  ok   = loom_image_file_save_rgba8 (path, rgba, size, size, alpha, error);

  g_free (path);

  return ok;
}

/* ---- the procedure: check -> collect -> run -> output ----------------------- */

/* One run of the procedure: its arguments, then what each step adds.  Its
 * steps fill it in order; job_clear frees what any of them made. */
typedef struct
{
  /* the arguments, as the dialog or the caller left them */
  GimpDrawable       *drawable;
  gint                count, seed, size, output;
  gdouble             rotate, scale, shear, elastic, color, noise, blur, cutout;
  gboolean            flips;
  GimpLayer          *label_src;
  GFile              *folder;
  gchar              *folder_path;

  /* check: the layer's size */
  guint               w, h;
  gsize               n;

  /* collect: the label layer's classes, the layer's pixels */
  GArray             *colors;
  guint8             *label_rgba;
  float              *labels;
  float              *planes, *alpha;
  gboolean            holes;

  /* run: the files' names, the device, the copies (kept for layers) */
  gchar              *name;
  gchar              *stem, *label_stem;
  LoomDevice         *device;
  float              *out_planes, *out_labels;
  guint8             *rgba;
  guint8            **copies, **copy_labels;

  /* output: the new image, with output 'image' */
  GimpImage          *new_image;
} Job;

static void
job_get_arguments (Job                 *job,
                   GimpProcedureConfig *config)
{
  job->output = gimp_procedure_config_get_choice_id (config, "output");
  g_object_get (config,
                "count",         &job->count,
                "seed",          &job->seed,
                "size",          &job->size,
                "label-layer",   &job->label_src,
                "rotate",        &job->rotate,
                "scale",         &job->scale,
                "flips",         &job->flips,
                "shear",         &job->shear,
                "elastic",       &job->elastic,
                "color",         &job->color,
                "noise",         &job->noise,
                "blur",          &job->blur,
                "cutout",        &job->cutout,
                "export-folder", &job->folder,
                NULL);
  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (job->folder != NULL && (job->folder_path = g_file_get_path (job->folder)) == NULL)
    g_clear_object (&job->folder);
}

/* The checks, before anything is read or made; the copies' size. */
static gboolean
job_check (Job     *job,
           GError **error)
{
  guint w, h;

  w = job->w = gimp_drawable_get_width (job->drawable);
  h = job->h = gimp_drawable_get_height (job->drawable);
  job->n = (gsize) w * h;
  if (job->count < 1)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "Count %d: ask for at least one copy",
                   job->count);
      return FALSE;
    }
  if (job->output != OUTPUT_FILES && job->count > MAX_LAYERS)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Count %d: at most %d copies as layers or an image; for more, export "
                   "them to a folder with output 'files'", job->count, MAX_LAYERS);
      return FALSE;
    }
  if (job->output == OUTPUT_FILES && job->folder == NULL)
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "Output 'files' needs an export folder: choose one");
      return FALSE;
    }
  if (job->size == 0)
    job->size = (gint) MIN (1024, MIN (w, h) / 8 * 8);
  if (job->size < 8 || (guint) job->size > MIN (w, h))
    {
      g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                   "The layer '%s' is %u×%u, too small for copies of %d×%d: give a size "
                   "from 8 to its shorter side", gimp_item_get_name (GIMP_ITEM (job->drawable)),
                   w, h, MAX (job->size, 8), MAX (job->size, 8));
      return FALSE;
    }
  if (job->label_src != NULL)
    {
      const gchar *label_name = gimp_item_get_name (GIMP_ITEM (job->label_src));
      guint        lw = gimp_drawable_get_width (GIMP_DRAWABLE (job->label_src));
      guint        lh = gimp_drawable_get_height (GIMP_DRAWABLE (job->label_src));

      if (GIMP_DRAWABLE (job->label_src) == job->drawable)
        {
          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is the layer to copy: choose the layer its "
                       "labels are painted on", label_name);
          return FALSE;
        }
      if (lw != w || lh != h)
        {
          g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is %u×%u, the layer %u×%u: they must be the "
                       "same size (Layer > Layer to Image Size on both)", label_name, lw, lh,
                       w, h);
          return FALSE;
        }
    }

  return TRUE;
}

/* The label layer's classes (with one), and the layer's pixels. */
static gboolean
job_collect (Job     *job,
             GError **error)
{
  job->colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  if (job->label_src != NULL)
    {
      job->label_rgba = loom_plugin_read_rgba8 (GIMP_DRAWABLE (job->label_src));
      job->labels     = g_new (float, job->n);
      if (! loom_labels_from_rgba8 (job->label_rgba, job->w, job->h, 4 * (gsize) job->w,
                                    job->colors, LOOM_PLUGIN_MAX_CLASSES, job->labels, error))
        {
          gchar *label_name = gimp_item_get_name (GIMP_ITEM (job->label_src));

          g_prefix_error (error, "Label layer '%s': ", label_name);
          g_free (label_name);
          return FALSE;
        }
    }
  job->planes = loom_plugin_read_planes (job->drawable, &job->alpha);
  job->holes  = loom_plugin_has_holes (job->alpha, job->n);

  return TRUE;
}

/* The copies, written to files as they come (with an export folder) and
 * kept for layers or an image. */
static gboolean
job_run (Job        *job,
         GimpImage  *image,
         GError    **error)
{
  LoomSegmentConfig  sc;
  LoomPluginProgress progress;
  guint              size = (guint) job->size;
  gsize              per  = (gsize) size * size;

  if (job->folder != NULL)
    {
      job->name = copy_name (image, job->drawable);
      if (! loom_image_file_copy_stems (job->folder_path, job->name, job->labels != NULL,
                                        &job->stem, &job->label_stem, error))
        {
          g_prefix_error (error, "Export folder: ");
          return FALSE;
        }
    }

  /* The CLI's settings (loom augment). */
  loom_segment_config_init (&sc, MAX (job->colors->len, 1));
  sc.augment = job->flips;
  sc.rotate  = job->rotate;
  sc.scale   = job->scale;
  sc.shear   = job->shear;
  sc.elastic = job->elastic;
  sc.color   = job->color;
  sc.noise   = job->noise;
  sc.blur    = job->blur;
  sc.cutout  = job->cutout;

  job->device = loom_plugin_open_device (error);
  if (job->device == NULL)
    return FALSE;

  job->out_planes = g_new (float, (gsize) CHUNK * 3 * per);
  job->out_labels = g_new (float, (gsize) CHUNK * per);
  job->rgba       = g_new (guint8, 4 * per);
  if (job->output != OUTPUT_FILES)
    {
      job->copies = g_new0 (guint8 *, job->count);
      if (job->labels != NULL)
        job->copy_labels = g_new0 (guint8 *, job->count);
    }
  loom_plugin_progress_init (&progress, "Augmenting", job->device);
  for (gint done = 0; done < job->count; done += CHUNK)
    {
      guint k = (guint) MIN (CHUNK, job->count - done);

      /* Each chunk its own stream, as `loom augment`: the same copies. */
      sc.seed = (guint32) job->seed + (guint32) done * 7919u;
      if (! loom_segment_augment (job->device, &sc,
                                  &(LoomSegmentImage) { job->planes, job->labels, job->w,
                                                        job->h,
                                                        job->holes ? job->alpha : NULL },
                                  k, size, job->out_planes, job->out_labels, error))
        return FALSE;
      for (guint i = 0; i < k; i++)
        {
          guint c = (guint) done + i;

          loom_image_to_rgba8 (job->out_planes + i * 3 * per, 3, size, size, job->rgba,
                               4 * (gsize) size);
          if (job->stem != NULL && ! save_copy (job->stem, c, job->rgba, size, FALSE, error))
            return FALSE;
          if (job->copies != NULL)
            job->copies[c] = g_memdup2 (job->rgba, 4 * per);
          if (job->labels == NULL)
            continue;
          loom_labels_to_rgba8 (job->out_labels + i * per, size, size, job->colors, job->rgba,
                                4 * (gsize) size);
          if (job->label_stem != NULL
              && ! save_copy (job->label_stem, c, job->rgba, size, TRUE, error))
            return FALSE;
          if (job->copy_labels != NULL)
            job->copy_labels[c] = g_memdup2 (job->rgba, 4 * per);
        }
      loom_plugin_progress_show (&progress, done + k, job->count, "copies", 0);
    }

  return TRUE;
}

/* The copies as a layer group above the layer (in one undo step) or as a
 * new image. */
static void
job_output (Job         *job,
            GimpImage   *image,
            GimpRunMode  run_mode)
{
  GimpDrawable *drawable = job->drawable;
  guint         size     = (guint) job->size;
  guint         count    = (guint) job->count;

  /* ---- the image changes from here on, in one undo step ---- */
  if (job->output == OUTPUT_LAYERS)
    {
      gchar          *group_name = g_strdup_printf ("Augmented (seed %d)", job->seed);
      GimpGroupLayer *group;
      gint            ox, oy;

      gimp_drawable_get_offsets (drawable, &ox, &oy);
      gimp_image_undo_group_start (image);
      group = gimp_group_layer_new (image, group_name);
      gimp_image_insert_layer (image, GIMP_LAYER (group),
                               GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (drawable))),
                               gimp_image_get_item_position (image, GIMP_ITEM (drawable)));
      insert_copies (image, GIMP_LAYER (group), 0, job->copies, job->copy_labels, count, size,
                     ox, oy);
      gimp_image_undo_group_end (image);
      g_free (group_name);
    }
  else if (job->output == OUTPUT_IMAGE)
    {
      job->new_image = gimp_image_new (size, size, GIMP_RGB);
      gimp_image_undo_disable (job->new_image);
      insert_copies (job->new_image, NULL, 0, job->copies, job->copy_labels, count, size, 0, 0);
      gimp_image_undo_enable (job->new_image);
      if (run_mode == GIMP_RUN_INTERACTIVE)
        gimp_display_new (job->new_image);
    }
}

static void
job_clear (Job *job)
{
  if (job->device != NULL)
    loom_device_free (job->device);
  if (job->colors != NULL)
    g_array_unref (job->colors);
  for (gint i = 0; job->copies != NULL && i < job->count; i++)
    g_free (job->copies[i]);
  for (gint i = 0; job->copy_labels != NULL && i < job->count; i++)
    g_free (job->copy_labels[i]);
  g_free (job->copies);
  g_free (job->copy_labels);
  g_clear_object (&job->label_src);
  g_clear_object (&job->folder);
  g_free (job->folder_path);
  g_free (job->name);
  g_free (job->stem);
  g_free (job->label_stem);
  g_free (job->planes);
  g_free (job->alpha);
  g_free (job->labels);
  g_free (job->label_rgba);
  g_free (job->out_planes);
  g_free (job->out_labels);
  g_free (job->rgba);
}

static GimpValueArray *
augment_run (GimpProcedure        *procedure,
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

  job.drawable = loom_plugin_check_drawable (procedure, image, drawables, &error);
  if (job.drawable == NULL)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE
      && ! loom_plugin_dialog_run (procedure, config, "Loom: Augment"))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  job_get_arguments (&job, config);
  if (job_check (&job, &error) && job_collect (&job, &error) && job_run (&job, image, &error))
    {
      job_output (&job, image, run_mode);
      gimp_progress_end ();
      ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
      GIMP_VALUES_SET_IMAGE (ret, 1, job.new_image);
      GIMP_VALUES_SET_INT (ret, 2, job.count);
    }
  else
    ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  job_clear (&job);

  return ret;
}
