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
                                    "same pixels.  The layers go above the active layer "
                                    "(or at the top), in one undo step; on an error the "
                                    "image is as it was.  LOOM_DEVICE picks the device.",
                                    name);
  gimp_procedure_set_attribution (procedure, "Loom", "Loom authors", "2026");

  gimp_procedure_add_file_argument (procedure, "model-file",
                                    "_Model",
                                    "A Loom generator model (.safetensors): texture, "
                                    "dcgan or pix2pix; none: the shipped gravel texture",
                                    GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL,
                                    G_PARAM_READWRITE);
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

static GimpValueArray *
generate_run (GimpProcedure        *procedure,
              GimpRunMode           run_mode,
              GimpImage            *image,
              GimpDrawable        **drawables,
              GimpProcedureConfig  *config,
              gpointer              run_data)
{
  GFile              *file        = NULL;
  GimpLayer          *label_layer = NULL;
  gchar              *path        = NULL;
  gchar              *name        = NULL;
  LoomWeights        *weights     = NULL;
  LoomDevice         *device      = NULL;
  GArray             *colors      = NULL;
  float              *labels      = NULL;
  float              *planes      = NULL;
  guint8            **rgba        = NULL;
  GimpLayer         **layers      = NULL;
  gint                width, height, count, seed;
  gboolean            tileable;
  gint                ox = 0, oy = 0;
  guint               done = 0;
  gsize               n;
  LoomGanConfig       gan;
  LoomPluginProgress  progress;
  GimpValueArray     *ret;
  GError             *error = NULL;

  gegl_init (NULL, NULL);

  if (gimp_image_get_base_type (image) != GIMP_RGB)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                   "%s works on RGB images; this one is %s. "
                   "Convert it with Image > Mode > RGB first",
                   gimp_procedure_get_name (procedure),
                   gimp_image_get_base_type (image) == GIMP_GRAY ? "grayscale" : "indexed");
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
    }

  if (run_mode == GIMP_RUN_INTERACTIVE
      && ! loom_plugin_dialog_run (procedure, config, "Loom: Generate"))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  g_object_get (config,
                "model-file",  &file,
                "width",       &width,
                "height",      &height,
                "count",       &count,
                "seed",        &seed,
                "tileable",    &tileable,
                "label-layer", &label_layer,
                NULL);

  /* Script-Fu hands "" over as a file with an empty path: none. */
  if (file != NULL && (path = g_file_get_path (file)) == NULL)
    g_clear_object (&file);
  if (file == NULL)
    {
      /* none: the shipped texture, which is there where Loom is installed */
      g_free (path);
      path = loom_data_path (LOOM_PLUGIN_DEFAULT_TEXTURE);
      if (! g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                       "No model file given and no shipped texture model at %s: choose a "
                       "generator model (Train Texture / Image Generator, or `loom "
                       "train-gan`)", path);
          goto fail;
        }
      file = g_file_new_for_path (path);
    }
  name = loom_plugin_model_name (file);
  if (! g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0, "Model file %s: no such file", path);
      goto fail;
    }
  weights = loom_weights_load (path, &error);
  if (weights == NULL || ! loom_gan_config_from_weights (weights, &gan, &error))
    {
      g_prefix_error (&error, "Model file %s: ", path);
      goto fail;
    }

  /* The core's rules for a request, in the plug-in's words. */
  {
    guint   w = width, h = height;
    GError *rule = NULL;

    if (! loom_generative_check_request (&gan, label_layer != NULL, tileable, &w, &h, &rule))
      {
        switch (rule->code)
          {
          case LOOM_GENERATE_ERROR_NEEDS_LABELS:
            g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "The model '%s' is a label → image (pix2pix) model: choose a label "
                         "layer (its size is the new layers'), and leave width and height 0",
                         name);
            break;
          case LOOM_GENERATE_ERROR_NO_LABELS:
            g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "A label layer needs a label → image (pix2pix) model; '%s' is a %s "
                         "model: choose no label layer", name, loom_gan_kind_name (gan.kind));
            break;
          case LOOM_GENERATE_ERROR_FIXED_SIZE:
            g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "The model '%s' %s: set width and height to %u (or 0)", name,
                         rule->message, loom_gan_image_side (&gan));
            break;
          case LOOM_GENERATE_ERROR_NOT_TILEABLE:
            g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "Tileable needs a texture model trained tileable; '%s' is not", name);
            break;
          default:
            g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                         "Tileable: the model '%s' %s", name, rule->message);
          }
        g_clear_error (&rule);
        goto fail;
      }
    width  = w;
    height = h;
  }
  if (gan.kind == LOOM_GAN_PIX2PIX)
    {
      if (gimp_item_get_image (GIMP_ITEM (label_layer)) != image)
        {
          g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                       "The label layer '%s' is in another image",
                       gimp_item_get_name (GIMP_ITEM (label_layer)));
          goto fail;
        }
      colors = loom_segment_get_classes (weights, NULL, &error);
      if (colors == NULL)
        {
          g_prefix_error (&error, "Model file %s: ", path);
          goto fail;
        }
      labels = read_labels (GIMP_DRAWABLE (label_layer), colors, gan.classes, name, &error);
      if (labels == NULL)
        goto fail;
      width  = gimp_drawable_get_width (GIMP_DRAWABLE (label_layer));
      height = gimp_drawable_get_height (GIMP_DRAWABLE (label_layer));
      gimp_drawable_get_offsets (GIMP_DRAWABLE (label_layer), &ox, &oy);
    }

  device = loom_plugin_open_device (&error);
  if (device == NULL)
    goto fail;

  /* Every layer's pixels, before the image is touched.  A DCGAN's images
   * go up to 64 a call (batched); textures and label → image one at a
   * time (each may be large, tiled inside). */
  n      = (gsize) width * height;
  planes = g_new (float, (gsize) (gan.kind == LOOM_GAN_DCGAN ? MIN (count, 64) : 1)
                         * gan.channels * n);
  rgba   = g_new0 (guint8 *, count);
  loom_plugin_progress_init (&progress, "Generating", device);
  while (done < (guint) count)
    {
      guint    k  = gan.kind == LOOM_GAN_DCGAN ? MIN ((guint) count - done, 64) : 1;
      gboolean ok = gan.kind == LOOM_GAN_PIX2PIX
                  ? loom_generative_render (device, weights, labels, width, height,
                                            (guint32) seed + done, 0, planes, &error)
                  : loom_generative_generate (device, weights, k, (guint32) seed + done,
                                              width, height, 0, planes, NULL, &error);

      if (! ok)
        goto fail;
      for (guint i = 0; i < k; i++)
        {
          rgba[done + i] = g_new (guint8, 4 * n);
          /* grey models: the grey value in R, G and B */
          loom_image_to_rgba8 (planes + (gsize) i * gan.channels * n, gan.channels,
                               width, height, rgba[done + i], 4 * (gsize) width);
        }
      done += k;
      loom_plugin_progress_show (&progress, done, count, "images", 0);
    }

  /* The image changes from here on, in one undo step: the first layer
   * on top, above the active layer (the first layer the procedure was
   * given, else the image's first selected layer), or at the top of the
   * image when there is none. */
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

    layers = g_new0 (GimpLayer *, count + 1);
    gimp_image_undo_group_start (image);
    for (gint i = count - 1; i >= 0; i--)
      {
        gchar      *layer_name = g_strdup_printf ("Generated (%s, seed %u)", name,
                                                  (guint32) seed + (guint) i);
        GimpLayer  *layer      = gimp_layer_new (image, layer_name, width, height,
                                                 GIMP_RGB_IMAGE, 100.0,
                                                 GIMP_LAYER_MODE_NORMAL);
        GeglBuffer *buffer     = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));

        gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, width, height), 0,
                         babl_format ("R'G'B'A u8"), rgba[i], GEGL_AUTO_ROWSTRIDE);
        g_object_unref (buffer);   /* flushes the pixels to GIMP */
        gimp_layer_set_offsets (layer, ox, oy);
        gimp_image_insert_layer (image, layer, parent, position);
        layers[i] = layer;
        g_free (layer_name);
      }
    gimp_image_undo_group_end (image);
  }

  gimp_progress_end ();
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_CORE_OBJECT_ARRAY (ret, 1, layers);
  goto out;

fail:
  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
out:
  if (device != NULL)
    loom_device_free (device);
  if (weights != NULL)
    loom_weights_free (weights);
  if (colors != NULL)
    g_array_unref (colors);
  for (gint i = 0; rgba != NULL && i < count; i++)
    g_free (rgba[i]);
  g_free (rgba);
  g_free (layers);
  g_free (labels);
  g_free (planes);
  g_clear_object (&label_layer);
  g_clear_object (&file);
  g_free (path);
  g_free (name);

  return ret;
}
