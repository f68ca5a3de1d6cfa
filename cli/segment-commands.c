/* loom train-seg and loom segment: segmentation models from painted labels. */
#include <math.h>
#include <string.h>

#include <loom/loom-segment.h>
#include "common.h"
#include "loom-image-file.h"

/* ---- shared ---------------------------------------------------------- */

typedef struct
{
  LoomImageFile file;
  float *planes, *alpha, *labels;
} Loaded;

static void
loaded_clear (Loaded *l)
{
  loom_image_file_clear (&l->file);
  g_clear_pointer (&l->planes, g_free);
  g_clear_pointer (&l->alpha, g_free);
  g_clear_pointer (&l->labels, g_free);
}

/* Whether the file has any pixel below half alpha (a mask worth passing). */
static gboolean
has_holes (const float *alpha, gsize n)
{
  for (gsize i = 0; alpha != NULL && i < n; i++)
    if (alpha[i] < 0.5f)
      return TRUE;
  return FALSE;
}

/* ---- train-seg ------------------------------------------------------- */

int
loom_cmd_train_seg (int argc, char **argv)
{
  const char *cmd = "train-seg";
  g_auto (GStrv) image_paths = NULL, label_paths = NULL;
  g_autofree char *out = NULL, *init = NULL, *device_spec = NULL, *pretrained = NULL;
  int steps = -1, seed = 1, crop = 0, batch = 0, depth = 0, base = 0, every = 50;
  double seconds = 0, lr = 0, augment = 1.0;
  gboolean quiet = FALSE, json = FALSE, no_pretrained = FALSE;
  GOptionEntry entries[] = {
    { "image", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &image_paths, "An image (repeat with --labels for each)", "IMG" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &label_paths, "Its label image: opaque colours are classes", "LBL" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The model file to write", "MODEL" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from this model (fine-tune, resume)", "MODEL" },
    { "pretrained", 0, 0, G_OPTION_ARG_FILENAME, &pretrained, "A new model's starting point: all but the classes of this one (default: the shipped weights/segment-start.safetensors)", "MODEL" },
    { "no-pretrained", 0, 0, G_OPTION_ARG_NONE, &no_pretrained, "Start a new model from random weights", NULL },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Training steps (default 300, or none with --time)", "N" },
    { "time", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Stop after this many seconds", "SECONDS" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1)", "S" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "crop", 0, 0, G_OPTION_ARG_INT, &crop, "Side of the training crops (default 128)", "PX" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Crops per step (default 4)", "N" },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, "U-Net poolings (default 3)", "N" },
    { "base", 0, 0, G_OPTION_ARG_INT, &base, "U-Net channels at full size (default 16)", "N" },
    { "learning-rate", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam's learning rate (default 5e-3)", "LR" },
    { "augment", 0, 0, G_OPTION_ARG_DOUBLE, &augment, "Augmentation strength, 0 (none) to 2 (default 1)", "F" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &every, "Rewrite the model every N steps (default 50, 0: never)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print what was done as JSON", NULL },
    { NULL }
  };
  guint n_images;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_autofree Loaded *loaded = NULL;
  g_autofree LoomSegmentImage *images = NULL;
  LoomWeights *start = NULL, *result = NULL;
  LoomDevice *device = NULL;
  LoomSegmentConfig config;
  LoomUNetConfig start_unet = { 0 };
  LoomCliTraining state = { 0 };
  gint64 began;
  int status = EXIT_FAILURE;

  if (!loom_cli_parse (cmd, "Train a segmentation model from painted labels.", entries, &argc, &argv))
    return EXIT_USAGE;
  n_images = image_paths != NULL ? g_strv_length (image_paths) : 0;
  if (argc > 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (n_images == 0)
    return loom_cli_fail (cmd, EXIT_USAGE, "--image is required (with --labels)");
  if (label_paths == NULL || g_strv_length (label_paths) != n_images)
    return loom_cli_fail (cmd, EXIT_USAGE, "every --image needs its --labels (%u images, %u label images)",
                          n_images, label_paths != NULL ? g_strv_length (label_paths) : 0);
  if (out == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "-o MODEL is required");
  if (steps < -1 || seconds < 0 || seed < 0 || crop < 0 || batch < 0 || depth < 0 || base < 0
      || lr < 0 || every < 0 || augment < 0 || augment > 2)
    return loom_cli_fail (cmd, EXIT_USAGE, "a negative or out-of-range number (see --help)");
  /* (no --steps: the default, or with --time none) */
  if (!loom_train_check_budget (steps < 0 ? G_MAXUINT : (guint) steps, seconds, NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "--steps 0 needs --time");
  if (!loom_cli_check_output (out, &error))
    return loom_cli_fail (cmd, EXIT_USAGE, "-o %s", error->message);
  if (init != NULL && (pretrained != NULL || no_pretrained))
    return loom_cli_fail (cmd, EXIT_USAGE, "--init goes on from a model of the same classes: no --pretrained with it");
  /* New models start from the shipped starting point unless told not to,
   * or given a shape of their own. */
  if (init == NULL && pretrained == NULL && !no_pretrained && depth == 0 && base == 0)
    {
      char *shipped = loom_data_path ("weights/segment-start.safetensors");

      if (g_file_test (shipped, G_FILE_TEST_EXISTS))
        pretrained = shipped;
      else
        g_free (shipped);
    }

  if (pretrained != NULL)
    {
      LoomUNetConfig shape;

      start = loom_cli_load_model (pretrained, &error);
      if (start == NULL)
        goto fail;
      if (!loom_unet_config_from_weights (start, &shape, &error))
        {
          g_prefix_error (&error, "%s: ", pretrained);
          goto fail;
        }
    }
  else if (init != NULL)
    {
      start = loom_cli_load_model (init, &error);
      if (start == NULL)
        goto fail;
      if (!loom_unet_config_from_weights (start, &start_unet, &error))
        {
          g_prefix_error (&error, "%s: ", init);
          goto fail;
        }
      g_array_unref (colors);
      colors = loom_segment_get_classes (start, NULL, &error);
      if (colors == NULL)
        {
          g_prefix_error (&error, "%s: ", init);
          goto fail;
        }
    }

  loaded = g_new0 (Loaded, n_images);
  images = g_new0 (LoomSegmentImage, n_images);
  for (guint i = 0; i < n_images; i++)
    {
      LoomImageFile lf;
      gsize n;
      gboolean any = FALSE;

      if (!loom_image_file_load (&loaded[i].file, image_paths[i], &error))
        goto fail;
      loaded[i].planes = loom_image_file_planes (&loaded[i].file, &loaded[i].alpha);
      if (!loom_image_file_load (&lf, label_paths[i], &error))
        goto fail;
      loaded[i].labels = loom_cli_load_labels (&lf, loaded[i].file.width, loaded[i].file.height,
                                               colors, start_unet.classes, &error);
      loom_image_file_clear (&lf);
      if (loaded[i].labels == NULL)
        goto fail;
      n = (gsize) loaded[i].file.width * loaded[i].file.height;
      for (gsize k = 0; k < n && !any; k++)
        any = loaded[i].labels[k] >= 0 && loaded[i].alpha[k] >= 0.5f;
      if (!any)
        {
          g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: no labelled pixels (paint opaque strokes, one colour per class, "
                       "over a transparent layer)", label_paths[i]);
          goto fail;
        }
      images[i] = (LoomSegmentImage) { loaded[i].planes, loaded[i].labels, loaded[i].file.width,
                                       loaded[i].file.height,
                                       has_holes (loaded[i].alpha, n) ? loaded[i].alpha : NULL };
    }
  if (init == NULL && colors->len < 2)
    {
      g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: only one class (one colour); paint at least two",
                   label_paths[n_images - 1]);
      goto fail;
    }

  loom_segment_config_init (&config, init != NULL ? start_unet.classes : colors->len);
  config.start_features = pretrained != NULL;
  config.steps = steps >= 0 ? (guint) steps : seconds > 0 ? 0 : config.steps;
  config.seconds = seconds;
  config.seed = (guint32) seed;
  if (crop > 0)
    config.crop = (guint) crop;
  if (batch > 0)
    config.batch = (guint) batch;
  if (depth > 0)
    config.unet.depth = (guint) depth;
  if (base > 0)
    config.unet.base = (guint) base;
  if (lr > 0)
    config.learning_rate = (float) lr;
  loom_segment_config_set_augment_strength (&config, augment);
  config.checkpoint = out;
  config.checkpoint_every = (guint) every;
  config.colors = colors;

  device = loom_cli_open_device (device_spec, quiet || json, &error);
  if (device == NULL)
    goto fail;
  if (pretrained != NULL && !quiet && !json)
    fprintf (stderr, "starting point: %s\n", pretrained);
  loom_cli_catch_interrupt ();
  loom_cli_progress_init (&state.bar, "training", quiet || json);
  began = g_get_monotonic_time ();
  result = loom_segment_train (device, &config, images, n_images, start,
                               loom_cli_on_train_step, &state, NULL, &error);
  loom_cli_progress_end (&state.bar);
  if (result == NULL || !loom_weights_save (result, out, &error))
    goto fail;
  if (json)
    {
      g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&dict, "model", "s", out);
      g_variant_dict_insert (&dict, "classes", "u", colors->len);
      g_variant_dict_insert (&dict, "steps", "u", state.step);
      g_variant_dict_insert (&dict, "loss", "d", (double) state.losses[0]);
      if (pretrained != NULL)
        g_variant_dict_insert (&dict, "starting_point", "s", pretrained);
      loom_cli_print_summary (&dict, began, device);
    }
  else if (!quiet)
    fprintf (stderr, "%s: %u classes, %u steps in %.0f s, loss %.4f%s\n", out, colors->len,
             state.step, (g_get_monotonic_time () - began) / 1e6, state.losses[0],
             loom_cli_interrupted () ? " (stopped early)" : "");
  status = 0;
fail:
  if (error != NULL)
    loom_cli_fail (cmd, EXIT_FAILURE, "%s", error->message);
  for (guint i = 0; loaded != NULL && i < n_images; i++)
    loaded_clear (&loaded[i]);
  if (result != NULL)
    loom_weights_free (result);
  if (start != NULL)
    loom_weights_free (start);
  if (device != NULL)
    loom_device_free (device);
  return status;
}

/* ---- segment --------------------------------------------------------- */

static gboolean
on_tile (const LoomTrainProgress *progress, gpointer data)
{
  loom_cli_progress_show (data, progress->step, progress->total, "tiles", progress->eta);
  return TRUE;
}

int
loom_cmd_segment (int argc, char **argv)
{
  const char *cmd = "segment";
  g_autofree char *model = NULL, *in = NULL, *out = NULL, *format = NULL, *conf_path = NULL;
  g_autofree char *device_spec = NULL, *prob_dir = NULL, *unc_path = NULL;
  int tile = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "The segmentation model", "MODEL" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The image", "IMG" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The segmentation to write", "OUT.png" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "color (default), index or overlay", "F" },
    { "confidence", 0, 0, G_OPTION_ARG_FILENAME, &conf_path, "Also write the confidence (grey)", "CONF.png" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "Side of the tiles the image runs in (default 256)", "PX" },
    { "probabilities", 0, 0, G_OPTION_ARG_FILENAME, &prob_dir, "Also write each class's probability (grey) as DIR/K-rrggbb.png", "DIR" },
    { "uncertainty", 0, 0, G_OPTION_ARG_FILENAME, &unc_path, "Also write the uncertainty (grey: the entropy, white where every class is alike)", "U.png" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { NULL }
  };
  enum { COLOR, INDEX, OVERLAY } kind = COLOR;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = NULL;
  LoomWeights *weights = NULL;
  LoomDevice *device = NULL;
  LoomImageFile file = { 0 };
  LoomUNetConfig unet;
  LoomCliProgress bar;
  g_autofree float *planes = NULL, *alpha = NULL, *classes = NULL, *confidence = NULL;
  g_autofree float *probs = NULL;
  g_autofree guint8 *pixels = NULL, *source = NULL;
  gsize n;
  int status = EXIT_FAILURE;

  if (!loom_cli_parse (cmd, "Label every pixel of an image.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (model == NULL || in == NULL || out == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--model, -i and -o are required");
  if (format == NULL || strcmp (format, "color") == 0 || strcmp (format, "colour") == 0)
    kind = COLOR;
  else if (strcmp (format, "index") == 0)
    kind = INDEX;
  else if (strcmp (format, "overlay") == 0)
    kind = OVERLAY;
  else
    return loom_cli_fail (cmd, EXIT_USAGE, "--format must be color, index or overlay, not '%s'", format);
  if (tile < 0 || (tile > 0 && tile < 16))
    return loom_cli_fail (cmd, EXIT_USAGE, "--tile must be at least 16");
  if (!loom_image_file_check_writable (out, &error)
      || (conf_path != NULL && !loom_image_file_check_writable (conf_path, &error))
      || (unc_path != NULL && !loom_image_file_check_writable (unc_path, &error))
      || (prob_dir != NULL && !loom_cli_check_folder (prob_dir, &error)))
    return loom_cli_fail (cmd, EXIT_USAGE, "%s", error->message);

  weights = loom_cli_load_model (model, &error);
  if (weights == NULL)
    goto fail;
  if (!loom_unet_config_from_weights (weights, &unet, &error)
      || (colors = loom_segment_get_classes (weights, NULL, &error)) == NULL)
    {
      g_prefix_error (&error, "%s: ", model);
      goto fail;
    }
  if (!loom_image_file_load (&file, in, &error))
    goto fail;
  n = (gsize) file.width * file.height;
  planes = loom_image_file_planes (&file, &alpha);
  device = loom_cli_open_device (device_spec, quiet, &error);
  if (device == NULL)
    goto fail;
  classes = g_new (float, n);
  confidence = g_new (float, n);
  if (prob_dir != NULL || unc_path != NULL)
    probs = g_new (float, (gsize) unet.classes * n);
  loom_cli_progress_init (&bar, "segmenting", quiet);
  if (!loom_segment_predict_probabilities (device, weights,
                                           &(LoomSegmentImage) { planes, NULL, file.width,
                                                                 file.height,
                                                                 has_holes (alpha, n) ? alpha : NULL },
                                           (guint) tile, classes, confidence, probs, on_tile, &bar,
                                           NULL, &error))
    {
      loom_cli_progress_end (&bar);
      g_prefix_error (&error, "%s: ", in);
      goto fail;
    }
  loom_cli_progress_end (&bar);

  pixels = g_new (guint8, 4 * n);
  if (kind == INDEX)
    {
      /* One byte a pixel: the class, 255 where nothing is predicted. */
      for (gsize i = 0; i < n; i++)
        pixels[i] = classes[i] < 0 ? 255 : (guint8) classes[i];
      if (!loom_image_file_save_grey8 (out, pixels, file.width, file.height, &error))
        goto fail;
    }
  else
    {
      source = loom_image_file_rgba8 (&file);
      loom_labels_to_rgba8 (classes, file.width, file.height, colors, pixels, 4 * (gsize) file.width);
      for (gsize i = 0; i < n; i++)
        {
          guint8 *p = pixels + 4 * i;
          const guint8 *s = source + 4 * i;

          if (kind == OVERLAY)
            for (guint c = 0; c < 3; c++)
              p[c] = p[3] == 0 ? s[c] : (guint8) ((s[c] + p[c] + 1) / 2);
          /* The image's alpha is kept: the colours of a half-transparent
           * pixel are half transparent. */
          p[3] = kind == OVERLAY || p[3] != 0 ? s[3] : 0;
        }
      if (!loom_image_file_save_rgba8 (out, pixels, file.width, file.height,
                                       file.alpha || has_holes (alpha, n), &error))
        goto fail;
    }
  if (conf_path != NULL)
    {
      for (gsize i = 0; i < n; i++)
        pixels[i] = (guint8) lrintf (CLAMP (confidence[i], 0.0f, 1.0f) * 255.0f);
      if (!loom_image_file_save_grey8 (conf_path, pixels, file.width, file.height, &error))
        goto fail;
    }
  if (prob_dir != NULL
      && !loom_cli_save_probabilities (prob_dir, probs, unet.classes, colors,
                                       file.alpha ? alpha : NULL,
                                       file.width, file.height, &error))
    goto fail;
  if (unc_path != NULL)
    {
      loom_segment_entropy (probs, unet.classes, n, confidence);
      if (!loom_cli_save_grey (unc_path, confidence, file.alpha ? alpha : NULL, file.width,
                               file.height, &error))
        goto fail;
    }
  if (!quiet)
    fprintf (stderr, "%s: %u×%u, %u classes%s%s\n", out, file.width, file.height, colors->len,
             conf_path != NULL ? "; confidence in " : "", conf_path != NULL ? conf_path : "");
  status = 0;
fail:
  if (error != NULL)
    loom_cli_fail (cmd, EXIT_FAILURE, "%s", error->message);
  loom_image_file_clear (&file);
  if (weights != NULL)
    loom_weights_free (weights);
  if (device != NULL)
    loom_device_free (device);
  return status;
}
