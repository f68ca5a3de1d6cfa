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

static GimpValueArray *
augment_run (GimpProcedure        *procedure,
             GimpRunMode           run_mode,
             GimpImage            *image,
             GimpDrawable        **drawables,
             GimpProcedureConfig  *config,
             gpointer              run_data)
{
  GimpDrawable       *drawable;
  GimpLayer          *label_src   = NULL;
  GimpImage          *new_image   = NULL;
  GFile              *folder      = NULL;
  gchar              *folder_path = NULL;
  gchar              *name        = NULL;
  gchar              *stem = NULL, *label_stem = NULL;
  gint                count, seed, size, output;
  gdouble             rotate, scale, shear, elastic, color, noise, blur, cutout;
  gboolean            flips, holes;
  guint               w, h;
  gsize               n, per;
  float              *planes = NULL, *alpha = NULL, *labels = NULL;
  float              *out_planes = NULL, *out_labels = NULL;
  guint8             *label_rgba = NULL, *rgba = NULL;
  guint8            **copies = NULL, **copy_labels = NULL;
  GArray             *colors = NULL;
  LoomDevice         *device = NULL;
  LoomSegmentConfig   sc;
  LoomPluginProgress  progress;
  GimpValueArray     *ret;
  GError             *error = NULL;

  gegl_init (NULL, NULL);

  drawable = loom_plugin_check_drawable (procedure, image, drawables, &error);
  if (drawable == NULL)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE
      && ! loom_plugin_dialog_run (procedure, config, "Loom: Augment"))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  output = gimp_procedure_config_get_choice_id (config, "output");
  g_object_get (config,
                "count",         &count,
                "seed",          &seed,
                "size",          &size,
                "label-layer",   &label_src,
                "rotate",        &rotate,
                "scale",         &scale,
                "flips",         &flips,
                "shear",         &shear,
                "elastic",       &elastic,
                "color",         &color,
                "noise",         &noise,
                "blur",          &blur,
                "cutout",        &cutout,
                "export-folder", &folder,
                NULL);
  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (folder != NULL && (folder_path = g_file_get_path (folder)) == NULL)
    g_clear_object (&folder);

  /* ---- checks, before anything is read or made ---- */
  w = gimp_drawable_get_width (drawable);
  h = gimp_drawable_get_height (drawable);
  n = (gsize) w * h;
  if (count < 1)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0, "Count %d: ask for at least one copy", count);
      goto fail;
    }
  if (output != OUTPUT_FILES && count > MAX_LAYERS)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Count %d: at most %d copies as layers or an image; for more, export "
                   "them to a folder with output 'files'", count, MAX_LAYERS);
      goto fail;
    }
  if (output == OUTPUT_FILES && folder == NULL)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "Output 'files' needs an export folder: choose one");
      goto fail;
    }
  if (size == 0)
    size = (gint) MIN (1024, MIN (w, h) / 8 * 8);
  if (size < 8 || (guint) size > MIN (w, h))
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "The layer '%s' is %u×%u, too small for copies of %d×%d: give a size "
                   "from 8 to its shorter side", gimp_item_get_name (GIMP_ITEM (drawable)),
                   w, h, MAX (size, 8), MAX (size, 8));
      goto fail;
    }
  colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  if (label_src != NULL)
    {
      const gchar *label_name = gimp_item_get_name (GIMP_ITEM (label_src));
      guint        lw = gimp_drawable_get_width (GIMP_DRAWABLE (label_src));
      guint        lh = gimp_drawable_get_height (GIMP_DRAWABLE (label_src));

      if (GIMP_DRAWABLE (label_src) == drawable)
        {
          g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is the layer to copy: choose the layer its "
                       "labels are painted on", label_name);
          goto fail;
        }
      if (lw != w || lh != h)
        {
          g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is %u×%u, the layer %u×%u: they must be the "
                       "same size (Layer > Layer to Image Size on both)", label_name, lw, lh,
                       w, h);
          goto fail;
        }
      label_rgba = loom_plugin_read_rgba8 (GIMP_DRAWABLE (label_src));
      labels     = g_new (float, n);
      if (! loom_labels_from_rgba8 (label_rgba, w, h, 4 * (gsize) w, colors,
                                    LOOM_PLUGIN_MAX_CLASSES, labels, &error))
        {
          g_prefix_error (&error, "Label layer '%s': ", label_name);
          goto fail;
        }
    }
  if (folder != NULL)
    {
      name = copy_name (image, drawable);
      if (! loom_image_file_copy_stems (folder_path, name, labels != NULL, &stem, &label_stem,
                                        &error))
        {
          g_prefix_error (&error, "Export folder: ");
          goto fail;
        }
    }

  /* The CLI's settings (loom augment). */
  loom_segment_config_init (&sc, MAX (colors->len, 1));
  sc.augment = flips;
  sc.rotate  = rotate;
  sc.scale   = scale;
  sc.shear   = shear;
  sc.elastic = elastic;
  sc.color   = color;
  sc.noise   = noise;
  sc.blur    = blur;
  sc.cutout  = cutout;

  device = loom_plugin_open_device (&error);
  if (device == NULL)
    goto fail;

  /* ---- the copies, written to files as they come, kept for layers ---- */
  planes     = loom_plugin_read_planes (drawable, &alpha);
  holes      = loom_plugin_has_holes (alpha, n);
  per        = (gsize) size * size;
  out_planes = g_new (float, (gsize) CHUNK * 3 * per);
  out_labels = g_new (float, (gsize) CHUNK * per);
  rgba       = g_new (guint8, 4 * per);
  if (output != OUTPUT_FILES)
    {
      copies = g_new0 (guint8 *, count);
      if (labels != NULL)
        copy_labels = g_new0 (guint8 *, count);
    }
  loom_plugin_progress_init (&progress, "Augmenting", device);
  for (gint done = 0; done < count; done += CHUNK)
    {
      guint k = (guint) MIN (CHUNK, count - done);

      /* Each chunk its own stream, as `loom augment`: the same copies. */
      sc.seed = (guint32) seed + (guint32) done * 7919u;
      if (! loom_segment_augment (device, &sc,
                                  &(LoomSegmentImage) { planes, labels, w, h,
                                                        holes ? alpha : NULL },
                                  k, (guint) size, out_planes, out_labels, &error))
        goto fail;
      for (guint i = 0; i < k; i++)
        {
          guint c = (guint) done + i;

          loom_image_to_rgba8 (out_planes + i * 3 * per, 3, size, size, rgba, 4 * (gsize) size);
          if (stem != NULL)
            {
              gchar *path = loom_image_file_copy_path (stem, c);
              gboolean ok = loom_image_file_save_rgba8 (path, rgba, size, size, FALSE, &error);

              g_free (path);
              if (! ok)
                goto fail;
            }
          if (copies != NULL)
            copies[c] = g_memdup2 (rgba, 4 * per);
          if (labels == NULL)
            continue;
          loom_labels_to_rgba8 (out_labels + i * per, size, size, colors, rgba,
                                4 * (gsize) size);
          if (label_stem != NULL)
            {
              gchar *path = loom_image_file_copy_path (label_stem, c);
              gboolean ok = loom_image_file_save_rgba8 (path, rgba, size, size, TRUE, &error);

              g_free (path);
              if (! ok)
                goto fail;
            }
          if (copy_labels != NULL)
            copy_labels[c] = g_memdup2 (rgba, 4 * per);
        }
      loom_plugin_progress_show (&progress, done + k, count, "copies", 0);
    }

  /* ---- the image changes from here on, in one undo step ---- */
  if (output == OUTPUT_LAYERS)
    {
      gchar          *group_name = g_strdup_printf ("Augmented (seed %d)", seed);
      GimpGroupLayer *group;
      gint            ox, oy;

      gimp_drawable_get_offsets (drawable, &ox, &oy);
      gimp_image_undo_group_start (image);
      group = gimp_group_layer_new (image, group_name);
      gimp_image_insert_layer (image, GIMP_LAYER (group),
                               GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (drawable))),
                               gimp_image_get_item_position (image, GIMP_ITEM (drawable)));
      insert_copies (image, GIMP_LAYER (group), 0, copies, copy_labels, count, size, ox, oy);
      gimp_image_undo_group_end (image);
      g_free (group_name);
    }
  else if (output == OUTPUT_IMAGE)
    {
      new_image = gimp_image_new (size, size, GIMP_RGB);
      gimp_image_undo_disable (new_image);
      insert_copies (new_image, NULL, 0, copies, copy_labels, count, size, 0, 0);
      gimp_image_undo_enable (new_image);
      if (run_mode == GIMP_RUN_INTERACTIVE)
        gimp_display_new (new_image);
    }

  gimp_progress_end ();
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_IMAGE (ret, 1, new_image);
  GIMP_VALUES_SET_INT (ret, 2, count);
  goto out;

fail:
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
out:
  if (device != NULL)
    loom_device_free (device);
  if (colors != NULL)
    g_array_unref (colors);
  for (gint i = 0; copies != NULL && i < count; i++)
    g_free (copies[i]);
  for (gint i = 0; copy_labels != NULL && i < count; i++)
    g_free (copy_labels[i]);
  g_free (copies);
  g_free (copy_labels);
  g_clear_object (&label_src);
  g_clear_object (&folder);
  g_free (folder_path);
  g_free (name);
  g_free (stem);
  g_free (label_stem);
  g_free (planes);
  g_free (alpha);
  g_free (labels);
  g_free (label_rgba);
  g_free (out_planes);
  g_free (out_labels);
  g_free (rgba);

  return ret;
}
