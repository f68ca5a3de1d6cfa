/* loom train-gan and loom generate: texture and image generators. */
#include <string.h>

#include <loom/loom-generative.h>
#include <loom/loom-segment.h>
#include "common.h"
#include "loom-image-file.h"

/* The files PATHS name: files as they are, folders' image files sorted. */
static GPtrArray *
expand_paths (char **paths, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr (GPtrArray) found = NULL;

      if (!g_file_test (paths[i], G_FILE_TEST_IS_DIR))
        {
          g_ptr_array_add (files, g_strdup (paths[i]));
          continue;
        }
      found = loom_image_file_list_folder (paths[i], error);
      if (found == NULL)
        return NULL;
      for (guint k = 0; k < found->len; k++)
        g_ptr_array_add (files, g_strdup (found->pdata[k]));
    }
  return g_steal_pointer (&files);
}

/* The files PATHS as a generator of KIND trains on them into IMAGES
 * (their planes in BUFFERS, the files in FILES, all PATHS->len long): a
 * DCGAN's squared to SIDE, others whole (with CHECK, none smaller than
 * SIDE); *GREY, whether all are grey. */
static gboolean
load_images (GPtrArray *paths, LoomGanKind kind, guint side, gboolean check, LoomImageFile *files,
             GPtrArray *buffers, LoomGenerativeImage *images, gboolean *grey, GError **error)
{
  *grey = TRUE;
  for (guint i = 0; i < paths->len; i++)
    {
      if (!loom_image_file_load (&files[i], paths->pdata[i], error))
        return FALSE;
      *grey = *grey && files[i].grey;
      if (kind == LOOM_GAN_DCGAN)
        {
          g_ptr_array_add (buffers, loom_image_file_square_planes (&files[i], side));
          images[i] = (LoomGenerativeImage) { buffers->pdata[i], side, side, NULL };
          continue;
        }
      if (check && (files[i].width < side || files[i].height < side))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: %u×%u is smaller than the training crops (--size %u)",
                       files[i].path, files[i].width, files[i].height, side);
          return FALSE;
        }
      g_ptr_array_add (buffers, loom_image_file_planes (&files[i], NULL));
      images[i] = (LoomGenerativeImage) { buffers->pdata[i], files[i].width, files[i].height,
                                          NULL };
    }
  return TRUE;
}

/* ---- train-gan ------------------------------------------------------- */

int
loom_cmd_train_gan (int argc, char **argv)
{
  const char *cmd = "train-gan";
  g_autofree char *kind_text = NULL, *image = NULL, *labels_path = NULL, *out = NULL;
  g_autofree char *init = NULL, *device_spec = NULL, *loss = NULL;
  g_auto (GStrv) image_args = NULL;
  int steps = -1, size = 0, seed = 1, batch = 0, width = 0, latent = 0, every = 100;
  double seconds = 0, lr = 0, r1 = -1;
  gboolean quiet = FALSE, json = FALSE, not_tileable = FALSE, no_turns = FALSE;
  gboolean spectral_norm = FALSE, fit_budget = FALSE, turns = FALSE, flip_h = FALSE, no_flip_h = FALSE;
  gboolean flip_v = FALSE, no_flip_v = FALSE;
  GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind_text, "dcgan (a set of images), texture, or pix2pix (labels → image)", "K" },
    { "images", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &image_args, "Images, or folders of them (more may follow)", "DIR_OR_FILES" },
    { "image", 0, 0, G_OPTION_ARG_FILENAME, &image, "One image (texture, pix2pix)", "IMG" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path, "pix2pix: its dense label map", "LBL" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The model file to write", "MODEL" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Go on from this model (resume, fine-tune)", "MODEL" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Training steps (default: dcgan 2000, else 1000; none with --time)", "N" },
    { "time", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Stop after this many seconds", "SECONDS" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "dcgan: image side (32, 64, 128, 256; default 64); texture, pix2pix: crop side (default 64, 128)", "PX" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1)", "S" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Images per step (default: dcgan 64, or fitted with --fit-budget; texture 16, pix2pix 4)", "N" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Channels of G's last and D's first layer (dcgan: or fitted with --fit-budget)", "N" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &latent, "Noise channels", "N" },
    { "learning-rate", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam's learning rate (default 2e-4)", "LR" },
    { "loss", 0, 0, G_OPTION_ARG_STRING, &loss, "non-saturating (default) or hinge", "L" },
    { "r1", 0, 0, G_OPTION_ARG_DOUBLE, &r1, "Weight of the R1 penalty (default 0)", "GAMMA" },
    { "not-tileable", 0, 0, G_OPTION_ARG_NONE, &not_tileable, "texture: no circular padding", NULL },
    { "no-turns", 0, 0, G_OPTION_ARG_NONE, &no_turns, "No quarter turns of the crops (oriented textures)", NULL },
    { "turns", 0, 0, G_OPTION_ARG_NONE, &turns, "Quarter turns of the crops even where the sample's statistics change (texture default: only where they do not)", NULL },
    { "flip-h", 0, 0, G_OPTION_ARG_NONE, &flip_h, "Mirror crops left to right (texture default: where the statistics allow)", NULL },
    { "no-flip-h", 0, 0, G_OPTION_ARG_NONE, &no_flip_h, "No left-right mirroring", NULL },
    { "flip-v", 0, 0, G_OPTION_ARG_NONE, &flip_v, "Turn crops upside down (texture default: where the statistics allow)", NULL },
    { "no-flip-v", 0, 0, G_OPTION_ARG_NONE, &no_flip_v, "No upside-down crops", NULL },
    { "fit-budget", 0, 0, G_OPTION_ARG_NONE, &fit_budget, "dcgan with --time: the widest network, batch and learning rate that make about 3000 steps in the time on this device, where --width, --batch, --learning-rate are not given (off by default: not yet stable)", NULL },
    { "spectral-norm", 0, 0, G_OPTION_ARG_NONE, &spectral_norm, "Spectrally normalise D's convolutions (off by default; a model to go on from keeps its own)", NULL },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &every, "Rewrite the model every N steps (default 100, 0: never)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print what was done as JSON", NULL },
    { NULL }
  };
  LoomGanKind kind = LOOM_GAN_TEXTURE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GPtrArray) buffers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_autofree LoomGenerativeImage *images = NULL;
  g_autofree LoomImageFile *files = NULL;
  LoomGenerativeConfig config;
  LoomGanConfig start_gan = { 0 };
  LoomWeights *start = NULL, *result = NULL;
  LoomDevice *device = NULL;
  LoomCliTraining state = { 0 };
  LoomOrientation orientation = { 0 };
  gboolean grey = TRUE;
  guint n_images = 0, side;
  gint64 began;
  int status = EXIT_FAILURE;

  if (!loom_cli_parse (cmd, "Train a texture or image generator.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (kind_text == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--kind dcgan|texture|pix2pix is required");
  if (!loom_gan_kind_from_name (kind_text, &kind))
    return loom_cli_fail (cmd, EXIT_USAGE, "--kind must be dcgan, texture or pix2pix, not '%s'", kind_text);
  /* What follows --images up to the next option is more images. */
  if (argc > 1 && image_args == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (image_args != NULL && image != NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--images or --image, not both");
  if (image_args == NULL && image == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--images DIR_OR_FILES… or --image IMG is required");
  if (kind == LOOM_GAN_PIX2PIX && (image == NULL || labels_path == NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "pix2pix needs --image IMG and --labels LBL");
  if (kind != LOOM_GAN_PIX2PIX && labels_path != NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--labels is for --kind pix2pix");
  if (out == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "-o MODEL is required");
  if (steps < -1 || seconds < 0 || size < 0 || seed < 0 || batch < 0 || width < 0 || latent < 0
      || lr < 0 || every < 0)
    return loom_cli_fail (cmd, EXIT_USAGE, "a negative number (see --help)");
  /* (no --steps: the default, or with --time none) */
  if (!loom_train_check_budget (steps < 0 ? G_MAXUINT : (guint) steps, seconds, NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "--steps 0 needs --time");
  if (loss != NULL && strcmp (loss, "hinge") != 0 && strcmp (loss, "non-saturating") != 0)
    return loom_cli_fail (cmd, EXIT_USAGE, "--loss must be non-saturating or hinge, not '%s'", loss);
  if (!loom_cli_check_output (out, &error))
    return loom_cli_fail (cmd, EXIT_USAGE, "-o %s", error->message);
  if ((turns && no_turns) || (flip_h && no_flip_h) || (flip_v && no_flip_v))
    return loom_cli_fail (cmd, EXIT_USAGE, "--turns, --flip-h, --flip-v: each or its --no- form, not both");

  loom_generative_config_init (&config, kind, 3);
  if (!loom_generative_config_set_size (&config, (guint) size, &error))
    return loom_cli_fail (cmd, EXIT_USAGE, "--size %s", error->message);
  side = kind == LOOM_GAN_DCGAN ? loom_gan_image_side (&config.gan) : config.crop;

  if (init != NULL)
    {
      start = loom_cli_load_model (init, &error);
      if (start == NULL)
        goto fail;
      if (!loom_gan_config_from_weights (start, &start_gan, &error))
        {
          g_prefix_error (&error, "%s: ", init);
          goto fail;
        }
      if (start_gan.kind != kind)
        {
          g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: a %s model, not a %s one", init, loom_gan_kind_name (start_gan.kind),
                       kind_text);
          goto fail;
        }
      if (kind == LOOM_GAN_PIX2PIX)
        {
          g_array_unref (colors);
          colors = loom_segment_get_classes (start, NULL, &error);
          if (colors == NULL)
            {
              g_prefix_error (&error, "%s: ", init);
              goto fail;
            }
        }
    }

  if (image_args != NULL)
    {
      g_autoptr (GStrvBuilder) all = g_strv_builder_new ();
      g_auto (GStrv) list = NULL;

      g_strv_builder_addv (all, (const char **) image_args);
      for (int i = 1; i < argc; i++)
        g_strv_builder_add (all, argv[i]);
      list = g_strv_builder_end (all);
      paths = expand_paths (list, &error);
      if (paths == NULL)
        goto fail;
    }
  else
    {
      paths = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (paths, g_strdup (image));
    }
  n_images = paths->len;
  files = g_new0 (LoomImageFile, n_images);
  images = g_new0 (LoomGenerativeImage, n_images);
  if (!load_images (paths, kind, side, TRUE, files, buffers, images, &grey, &error))
    goto fail;
  if (kind == LOOM_GAN_PIX2PIX)
    {
      LoomImageFile lf;
      float *labels;

      if (!loom_image_file_load (&lf, labels_path, &error))
        goto fail;
      labels = loom_cli_load_labels (&lf, files[0].width, files[0].height, colors,
                                     start != NULL ? start_gan.classes : 0, &error);
      loom_image_file_clear (&lf);
      if (labels == NULL)
        goto fail;
      g_ptr_array_add (buffers, labels);
      images[0].labels = labels;
      if (colors->len < 2 && start == NULL)
        {
          g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: fewer than two classes (opaque colours)", labels_path);
          goto fail;
        }
      config.gan.classes = start != NULL ? start_gan.classes : colors->len;
      config.colors = colors;
    }
  /* Grey files train a one-channel model: the planes' first is the grey. */
  config.gan.channels = grey ? 1 : 3;
  config.steps = steps >= 0 ? (guint) steps : seconds > 0 ? 0 : config.steps;
  config.seconds = seconds;
  config.seed = (guint32) seed;
  if (batch > 0)
    config.batch = (guint) batch;
  if (width > 0)
    config.gan.g_width = config.gan.d_width = (guint) width;
  if (latent > 0)
    config.gan.latent = (guint) latent;
  if (lr > 0)
    config.learning_rate = (float) lr;
  if (r1 >= 0)
    config.r1 = (float) r1;
  if (loss != NULL && strcmp (loss, "hinge") == 0)
    config.loss = LOOM_GAN_LOSS_HINGE;
  if (not_tileable)
    config.gan.tileable = FALSE;
  if (no_turns || turns)
    config.turns = turns;
  if (flip_h || no_flip_h)
    config.flip_h = flip_h;
  if (flip_v || no_flip_v)
    config.flip_v = flip_v;
  /* What the sample's statistics allow, reported before training. */
  loom_generative_config_resolve_orientation (&config, images, n_images, &orientation);
  if (kind == LOOM_GAN_TEXTURE && !quiet && !json)
    fprintf (stderr, "%s: crops mirrored left to right: %s (%.2f), upside down: %s (%.2f), "
             "quarter turns: %s (%.2f; above %.2f they change the sample's statistics)\n", cmd,
             config.flip_h ? "yes" : "no", orientation.flip_h,
             config.flip_v ? "yes" : "no", orientation.flip_v,
             config.turns ? "yes" : "no", orientation.turn, LOOM_ORIENTATION_THRESHOLD);
  if (spectral_norm)
    config.gan.spectral_norm = TRUE;
  config.checkpoint = out;
  config.checkpoint_every = (guint) every;

  device = loom_cli_open_device (device_spec, quiet || json, &error);
  if (device == NULL)
    goto fail;
  /* A DCGAN for a time budget: what the user left unset, fitted to it
   * (asked for: the fitted net collapsed in a 10-minute Fashion-MNIST run,
   * D's loss 0.001 by step 535). */
  if (fit_budget && kind == LOOM_GAN_DCGAN && seconds > 0 && start == NULL
      && (width == 0 || batch == 0 || lr == 0))
    {
      double gflops = loom_generative_device_gflops (loom_device_get_info (device));
      LoomGanBudget fit;

      loom_generative_dcgan_budget (config.gan.levels, config.gan.channels, seconds, gflops, &fit);
      if (width == 0)
        config.gan.g_width = config.gan.d_width = fit.width;
      if (batch == 0)
        config.batch = fit.batch;
      if (lr == 0)
        config.learning_rate = fit.learning_rate;
      if (!quiet && !json)
        fprintf (stderr, "%s: for %g s at about %.0f GFLOP/s: width %u, batch %u, learning rate %g "
                 "(about %.0f steps; --width, --batch, --learning-rate choose)\n", cmd, seconds,
                 gflops, config.gan.g_width, config.batch, config.learning_rate,
                 seconds * gflops * 1e9 / loom_generative_dcgan_step_flops (&config.gan, config.batch));
    }
  loom_cli_catch_interrupt ();
  loom_cli_progress_init (&state.bar, "training", quiet || json);
  began = g_get_monotonic_time ();
  result = loom_generative_train (device, &config, images, n_images, start,
                                  loom_cli_on_train_step, &state, NULL, &error);
  loom_cli_progress_end (&state.bar);
  if (result == NULL || !loom_weights_save (result, out, &error))
    goto fail;
  if (json)
    {
      g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&dict, "model", "s", out);
      g_variant_dict_insert (&dict, "kind", "s", kind_text);
      g_variant_dict_insert (&dict, "images", "u", n_images);
      g_variant_dict_insert (&dict, "steps", "u", state.step);
      g_variant_dict_insert (&dict, "d_loss", "d", (double) state.losses[0]);
      g_variant_dict_insert (&dict, "g_loss", "d", (double) state.losses[1]);
      g_variant_dict_insert (&dict, "width", "u", config.gan.g_width);
      g_variant_dict_insert (&dict, "batch", "u", config.batch);
      g_variant_dict_insert (&dict, "learning_rate", "d", (double) config.learning_rate);
      g_variant_dict_insert (&dict, "flip_h", "b", config.augment && config.flip_h);
      g_variant_dict_insert (&dict, "flip_v", "b", config.augment && config.flip_v);
      g_variant_dict_insert (&dict, "turns", "b", config.augment && config.turns);
      g_variant_dict_insert (&dict, "orientation", "(ddd)", orientation.flip_h,
                             orientation.flip_v, orientation.turn);
      loom_cli_print_summary (&dict, began, device);
    }
  else if (!quiet)
    fprintf (stderr, "%s: %s, %u image%s, %u steps in %.0f s%s\n", out, kind_text, n_images,
             n_images == 1 ? "" : "s", state.step, (g_get_monotonic_time () - began) / 1e6,
             loom_cli_interrupted () ? " (stopped early)" : "");
  status = 0;
fail:
  if (error != NULL)
    loom_cli_fail (cmd, EXIT_FAILURE, "%s", error->message);
  for (guint i = 0; files != NULL && i < n_images; i++)
    loom_image_file_clear (&files[i]);
  if (result != NULL)
    loom_weights_free (result);
  if (start != NULL)
    loom_weights_free (start);
  if (device != NULL)
    loom_device_free (device);
  return status;
}

/* ---- generate -------------------------------------------------------- */

static gboolean
parse_size (const char *text, guint *width, guint *height)
{
  char *end;
  guint64 w = g_ascii_strtoull (text, &end, 10), h = w;

  if (end == text)
    return FALSE;
  if (*end == 'x' || *end == 'X')
    {
      const char *rest = end + 1;

      h = g_ascii_strtoull (rest, &end, 10);
      if (end == rest)
        return FALSE;
    }
  if (*end != 0 || w == 0 || h == 0 || w > 65536 || h > 65536)
    return FALSE;
  *width = (guint) w;
  *height = (guint) h;
  return TRUE;
}

static gboolean
save_planes (const char *path, const float *planes, guint channels, guint width, guint height,
             GError **error)
{
  gsize n = (gsize) width * height;
  g_autofree guint8 *rgba = g_new (guint8, 4 * n);

  loom_image_to_rgba8 (planes, channels, width, height, rgba, 4 * (gsize) width);
  if (channels == 1)
    {
      for (gsize i = 0; i < n; i++)
        rgba[i] = rgba[4 * i];
      return loom_image_file_save_grey8 (path, rgba, width, height, error);
    }
  return loom_image_file_save_rgba8 (path, rgba, width, height, FALSE, error);
}

/* PATH with SUFFIX before its extension ("out-0001.png" → "out-0001-nearest.png"). */
static char *
suffixed_path (const char *path, const char *suffix)
{
  const char *dot = strrchr (path, '.'), *slash = strrchr (path, '/');

  if (dot == NULL || (slash != NULL && dot < slash))
    dot = path + strlen (path);
  return g_strdup_printf ("%.*s%s%s", (int) (dot - path), path, suffix, dot);
}

/* A seed as the command takes it (0 to G_MAXINT), or FALSE. */
static gboolean
parse_seed (const char *text, guint32 *seed)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT, &v, NULL))
    return FALSE;
  *seed = (guint32) v;
  return TRUE;
}

/* The training images for --nearest, as the model's kind trained on them. */
typedef struct
{
  GPtrArray           *paths, *buffers;
  LoomImageFile       *files;
  LoomGenerativeImage *images;
  guint                stride;
} Nearest;

static gboolean
nearest_load (Nearest *nn, char **args, const LoomGanConfig *gan, GError **error)
{
  gboolean grey;

  nn->paths = expand_paths (args, error);
  if (nn->paths == NULL)
    return FALSE;
  if (nn->paths->len == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "--nearest: no image files in %s", args[0]);
      return FALSE;
    }
  nn->buffers = g_ptr_array_new_with_free_func (g_free);
  nn->files = g_new0 (LoomImageFile, nn->paths->len);
  nn->images = g_new0 (LoomGenerativeImage, nn->paths->len);
  return load_images (nn->paths, gan->kind, loom_gan_image_side (gan), FALSE, nn->files,
                      nn->buffers, nn->images, &grey, error);
}

static void
nearest_clear (Nearest *nn)
{
  for (guint i = 0; nn->files != NULL && i < nn->paths->len; i++)
    loom_image_file_clear (&nn->files[i]);
  g_free (nn->files);
  g_free (nn->images);
  if (nn->buffers != NULL)
    g_ptr_array_unref (nn->buffers);
  if (nn->paths != NULL)
    g_ptr_array_unref (nn->paths);
}

/* SAMPLE (written as PATH) beside its nearest training crop, as
 * PATH-nearest, and a line saying where that crop is. */
static gboolean
nearest_write (Nearest *nn, const char *path, const float *sample, guint channels, guint width,
               guint height, GError **error)
{
  LoomNearestCrop found;
  const LoomGenerativeImage *im;
  gsize n = (gsize) channels * width * height;
  g_autofree float *pair = g_new (float, 2 * n), *grid = NULL;
  g_autofree char *out = suffixed_path (path, "-nearest");
  guint gw, gh;

  if (!loom_generative_nearest_crop (sample, channels, width, height, nn->images,
                                     nn->paths->len, nn->stride, &found, error))
    {
      g_prefix_error (error, "--nearest: ");
      return FALSE;
    }
  im = &nn->images[found.image];
  memcpy (pair, sample, n * sizeof (float));
  for (guint ch = 0; ch < channels; ch++)
    for (guint v = 0; v < height; v++)
      memcpy (pair + n + ((gsize) ch * height + v) * width,
              im->planes + ((gsize) ch * im->height + found.y + v) * im->width + found.x,
              width * sizeof (float));
  grid = loom_generative_grid (pair, 2, channels, width, height, 2, 4, &gw, &gh, error);
  if (grid == NULL || !save_planes (out, grid, channels, gw, gh, error))
    return FALSE;
  printf ("%s: nearest training crop %s at %u,%u (%u×%u), distance %.4f (root mean square, "
          "0–1); side by side in %s\n", path, (const char *) nn->paths->pdata[found.image],
          found.x, found.y, width, height, found.distance, out);
  return TRUE;
}

int
loom_cmd_generate (int argc, char **argv)
{
  const char *cmd = "generate";
  g_autofree char *model = NULL, *out = NULL, *size_text = NULL, *labels_path = NULL;
  g_autofree char *device_spec = NULL, *walk_text = NULL, *strip_path = NULL;
  g_auto (GStrv) nearest_args = NULL;
  int count = 1, seed = 1, tile = 0, stride = 4;
  gboolean tileable = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "The generator model", "MODEL" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The image to write (OUT-0001.png … with --count)", "OUT.png" },
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "How many images (default 1)", "N" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size_text, "Texture size (default 512x512)", "WxH" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed of the first image (the next get seed + 1, …)", "S" },
    { "tileable", 0, 0, G_OPTION_ARG_NONE, &tileable, "Textures that wrap seamlessly", NULL },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path, "pix2pix: the label map to render", "LBL" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "Work in tiles of this many pixels (memory)", "PX" },
    { "interpolate", 0, 0, G_OPTION_ARG_STRING, &walk_text, "A latent walk from seed A's image to seed B's in --count images (≥ 2), its ends the seeds' own (pix2pix: over --labels)", "SEED_A SEED_B" },
    { "strip", 0, 0, G_OPTION_ARG_FILENAME, &strip_path, "--interpolate: the walk in one row too, as this image", "STRIP.png" },
    { "nearest", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &nearest_args, "Training images (or folders): beside each image its nearest crop of them, OUT-nearest.png, and the distance printed (more may follow)", "DIR_OR_FILES" },
    { "nearest-stride", 0, 0, G_OPTION_ARG_INT, &stride, "--nearest: crops on a grid of this many pixels, then around the best (default 4; 1: all)", "PX" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = NULL;
  g_autofree float *labels = NULL, *planes = NULL, *walk = NULL;
  g_auto (GStrv) nearest_list = NULL;
  Nearest nn = { 0 };
  LoomWeights *weights = NULL;
  LoomDevice *device = NULL;
  LoomGanConfig gan;
  LoomCliProgress bar;
  guint width = 0, height = 0, done = 0;
  guint32 seed_a = 0, seed_b = 0;
  int status = EXIT_FAILURE, rest = 1;

  if (!loom_cli_parse (cmd, "Images from a generator model.", entries, &argc, &argv))
    return EXIT_USAGE;
  /* --interpolate A B (or A,B); what follows --nearest up to the next
   * option is more training images. */
  if (walk_text != NULL)
    {
      g_auto (GStrv) ab = g_strsplit_set (walk_text, ",:", 2);

      if (ab[1] == NULL && argc > 1)
        rest++;
      if (!parse_seed (ab[0], &seed_a) || !parse_seed (ab[1] != NULL ? ab[1] : argc > 1 ? argv[1] : "",
                                                       &seed_b))
        return loom_cli_fail (cmd, EXIT_USAGE, "--interpolate takes two seeds, SEED_A SEED_B "
                              "(0 to %d), not '%s%s%s'", G_MAXINT, walk_text,
                              ab[1] == NULL && argc > 1 ? " " : "",
                              ab[1] == NULL && argc > 1 ? argv[1] : "");
    }
  if (rest < argc && nearest_args == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[rest]);
  if (nearest_args != NULL)
    {
      g_autoptr (GStrvBuilder) all = g_strv_builder_new ();

      g_strv_builder_addv (all, (const char **) nearest_args);
      for (int i = rest; i < argc; i++)
        g_strv_builder_add (all, argv[i]);
      nearest_list = g_strv_builder_end (all);
    }
  if (model == NULL || out == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--model and -o are required");
  if (count < 1 || count > 9999)
    return loom_cli_fail (cmd, EXIT_USAGE, "--count must be 1 to 9999");
  if (walk_text != NULL && count < 2)
    return loom_cli_fail (cmd, EXIT_USAGE, "--interpolate needs --count N of 2 or more (the "
                          "walk's images, both ends included)");
  if (strip_path != NULL && walk_text == NULL)
    return loom_cli_fail (cmd, EXIT_USAGE, "--strip is the walk of --interpolate");
  if (seed < 0 || tile < 0 || stride < 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "--seed and --tile cannot be negative, "
                          "--nearest-stride less than 1");
  if (size_text != NULL && !parse_size (size_text, &width, &height))
    return loom_cli_fail (cmd, EXIT_USAGE, "--size must be WxH or N (1 to 65536), not '%s'", size_text);
  if (!loom_image_file_check_writable (out, &error)
      || (strip_path != NULL && !loom_image_file_check_writable (strip_path, &error)))
    return loom_cli_fail (cmd, EXIT_USAGE, "%s", error->message);

  weights = loom_cli_load_model (model, &error);
  if (weights == NULL)
    goto fail;
  if (!loom_gan_config_from_weights (weights, &gan, &error))
    {
      g_prefix_error (&error, "%s: ", model);
      goto fail;
    }
  if (!loom_generative_check_request (&gan, labels_path != NULL, tileable, &width, &height, &error))
    {
      /* The core's rule, in the command's words. */
      GError *said = NULL;

      switch (error->code)
        {
        case LOOM_GENERATE_ERROR_NEEDS_LABELS:
          g_set_error (&said, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: a label→image model: give --labels LBL (its size is the image's)",
                       model);
          break;
        case LOOM_GENERATE_ERROR_NO_LABELS:
          g_set_error (&said, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: --labels needs a label→image (pix2pix) model, this is a %s one", model,
                       loom_gan_kind_name (gan.kind));
          break;
        case LOOM_GENERATE_ERROR_NOT_TILEABLE:
          g_set_error (&said, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: --tileable needs a texture model trained tileable", model);
          break;
        case LOOM_GENERATE_ERROR_TILE_MULTIPLE:
          g_set_error (&said, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "--tileable: this model %s", error->message);
          break;
        case LOOM_GENERATE_ERROR_FIXED_SIZE:
        default:
          g_set_error (&said, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "%s: this model %s",
                       model, error->message);
        }
      g_clear_error (&error);
      error = said;
      goto fail;
    }
  if (gan.kind == LOOM_GAN_PIX2PIX)
    {
      LoomImageFile lf;

      colors = loom_segment_get_classes (weights, NULL, &error);
      if (colors == NULL)
        {
          g_prefix_error (&error, "%s: ", model);
          goto fail;
        }
      if (!loom_image_file_load (&lf, labels_path, &error))
        goto fail;
      width = lf.width;
      height = lf.height;
      labels = loom_cli_load_labels (&lf, width, height, colors, gan.classes, &error);
      loom_image_file_clear (&lf);
      if (labels == NULL)
        goto fail;
    }

  if (strip_path != NULL
      && (guint64) count * width + (guint64) (count - 1) * 2 > 65536)
    {
      g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "--strip: %d images of %u pixels make a row wider than 65536", count, width);
      goto fail;
    }
  if (nearest_list != NULL)
    {
      nn.stride = (guint) stride;
      if (!nearest_load (&nn, nearest_list, &gan, &error))
        goto fail;
    }

  device = loom_cli_open_device (device_spec, quiet, &error);
  if (device == NULL)
    goto fail;
  loom_cli_progress_init (&bar, "generating", quiet);
  /* A DCGAN's images go 64 a call (batched); textures and label→image one
   * at a time (each may be large, tiled inside). */
  planes = g_new (float, (gsize) (gan.kind == LOOM_GAN_DCGAN ? MIN (count, 64) : 1)
                             * gan.channels * width * height);
  while (done < (guint) count)
    {
      guint n = gan.kind == LOOM_GAN_DCGAN ? MIN ((guint) count - done, 64) : 1;
      gsize per = (gsize) gan.channels * width * height;
      gboolean ok = gan.kind == LOOM_GAN_PIX2PIX && walk_text != NULL
                  ? loom_generative_render_interpolate (device, weights, labels, width, height,
                                                        seed_a, seed_b, (guint) count, done,
                                                        (guint) tile, planes, &error)
                  : gan.kind == LOOM_GAN_PIX2PIX
                  ? loom_generative_render (device, weights, labels, width, height,
                                            (guint32) seed + done, (guint) tile, planes, &error)
                  : walk_text != NULL
                  ? loom_generative_interpolate (device, weights, seed_a, seed_b, (guint) count,
                                                 done, n, width, height, (guint) tile, planes,
                                                 NULL, &error)
                  : loom_generative_generate (device, weights, n, (guint32) seed + done, width,
                                              height, (guint) tile, planes, NULL, &error);

      if (!ok)
        goto fail;
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *path = count == 1 ? g_strdup (out)
                                             : loom_image_file_numbered_path (out, done + i);

          if (!save_planes (path, planes + i * per, gan.channels, width, height, &error)
              || (nearest_list != NULL
                  && !nearest_write (&nn, path, planes + i * per, gan.channels, width, height,
                                     &error)))
            goto fail;
        }
      if (strip_path != NULL)
        {
          walk = g_renew (float, walk, (done + n) * per);
          memcpy (walk + done * per, planes, n * per * sizeof (float));
        }
      done += n;
      loom_cli_progress_show (&bar, done, (guint) count, "images", 0);
    }
  loom_cli_progress_end (&bar);
  if (strip_path != NULL)
    {
      guint sw, sh;
      g_autofree float *strip = loom_generative_grid (walk, (guint) count, gan.channels, width,
                                                      height, (guint) count, 2, &sw, &sh, &error);

      if (strip == NULL || !save_planes (strip_path, strip, gan.channels, sw, sh, &error))
        goto fail;
    }
  if (!quiet)
    {
      g_autofree char *first = count == 1 ? g_strdup (out)
                                          : loom_image_file_numbered_path (out, 0);
      g_autofree char *last = loom_image_file_numbered_path (out, count - 1);

      fprintf (stderr, "%s%s%s: %d %s image%s of %u×%u", first, count == 1 ? "" : " … ",
               count == 1 ? "" : last, count, loom_gan_kind_name (gan.kind), count == 1 ? "" : "s",
               width, height);
      if (walk_text != NULL)
        fprintf (stderr, ", a walk from seed %u to %u%s%s", seed_a, seed_b,
                 strip_path != NULL ? ", in a row in " : "", strip_path != NULL ? strip_path : "");
      fprintf (stderr, "\n");
    }
  status = 0;
fail:
  if (error != NULL)
    loom_cli_fail (cmd, EXIT_FAILURE, "%s", error->message);
  nearest_clear (&nn);
  if (weights != NULL)
    loom_weights_free (weights);
  if (device != NULL)
    loom_device_free (device);
  return status;
}
