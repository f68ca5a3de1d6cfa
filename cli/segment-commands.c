/* loom train-seg and loom segment: segmentation models from painted labels. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <glib/gstdio.h>

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

/* ---- train-seg --watch ------------------------------------------------- */

/* Live training for files: the label file polled between steps, re-read
 * once it has settled, its strokes folded into the running training
 * (loom-segment.h's refresh); the model and a preview rewritten as it
 * goes. */
typedef struct
{
  const char      *labels_path, *out, *preview;
  Loaded          *loaded;              /* the one image */
  const float     *mask;                /* its alpha where it has holes, or NULL */
  GArray          *colors;              /* the model's classes (new ones appended) */
  guint            every;               /* write every this many steps (0: at the end) */
  gboolean         quiet;
  LoomDevice      *device;
  LoomCliProgress *bar;
  GStatBuf         seen, settling;      /* the file as read last, as seen at the last poll */
  gboolean         settling_set, written;
  guint            written_at, changes;
  float           *handed;              /* the labels handed over last (kept for the trainer) */
} Watch;

static gboolean
same_stat (const GStatBuf *a, const GStatBuf *b)
{
  return a->st_mtime == b->st_mtime && a->st_size == b->st_size && a->st_ino == b->st_ino
#ifdef __linux__
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
#endif
         ;
}

static void
watch_say (Watch *w, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
watch_say (Watch *w, const char *format, ...)
{
  va_list args;

  if (w->quiet)
    return;
  if (w->bar->tty && w->bar->drawn)
    fputc ('\n', stderr);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
}

/* The segmentation of the image with WEIGHTS, as `loom segment` writes its
 * colour format (the image's alpha kept), to PATH (atomically). */
static gboolean
write_preview (Watch *w, LoomWeights *weights, GError **error)
{
  const LoomImageFile *file = &w->loaded->file;
  gsize n = (gsize) file->width * file->height;
  g_autofree float *classes = g_new (float, n);
  g_autofree guint8 *pixels = g_new (guint8, 4 * n), *source = NULL;

  if (!loom_segment_predict (w->device, weights,
                             &(LoomSegmentImage) { w->loaded->planes, NULL, file->width,
                                                   file->height, w->mask },
                             0, classes, NULL, NULL, NULL, NULL, error))
    return FALSE;
  source = loom_image_file_rgba8 (file);
  loom_labels_to_rgba8 (classes, file->width, file->height, w->colors, pixels,
                        4 * (gsize) file->width);
  for (gsize i = 0; i < n; i++)
    pixels[4 * i + 3] = pixels[4 * i + 3] != 0 ? source[4 * i + 3] : 0;
  return loom_image_file_save_rgba8 (w->preview, pixels, file->width, file->height,
                                     file->alpha || w->mask != NULL, error);
}

/* The model and the preview from WEIGHTS. */
static gboolean
watch_write (Watch *w, LoomWeights *weights, guint steps, GError **error)
{
  if (!loom_weights_save (weights, w->out, error)
      || (w->preview != NULL && !write_preview (w, weights, error)))
    return FALSE;
  w->written = TRUE;
  w->written_at = steps;
  return TRUE;
}

/* The label file again, if it changed and has settled (the same size and
 * time at two polls: a file being written is not read half-way); NULL
 * when there is nothing new to take.  A file that does not read (yet) is
 * tried again at the next poll; labels that cannot be taken (another size,
 * too many colours, nothing painted) are reported once and skipped.  New
 * colours are new classes: appended to the table (the trainer grows the
 * model's head). */
static float *
watch_poll (Watch *w)
{
  const LoomImageFile *file = &w->loaded->file;
  gsize n = (gsize) file->width * file->height;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = g_array_copy (w->colors);
  g_autoptr (GString) added = g_string_new (NULL);
  g_autofree guint64 *counts = NULL;
  LoomImageFile lf;
  GStatBuf now;
  float *labels;
  guint64 labelled = 0;
  guint present = 0;

  if (g_stat (w->labels_path, &now) != 0 || same_stat (&now, &w->seen))
    return NULL;
  if (!w->settling_set || !same_stat (&now, &w->settling))
    {
      w->settling = now;
      w->settling_set = TRUE;
      return NULL;
    }
  if (!loom_image_file_load (&lf, w->labels_path, &error))
    return NULL;
  w->seen = now;
  labels = loom_cli_load_labels (&lf, file->width, file->height, colors, 0, &error);
  loom_image_file_clear (&lf);
  if (labels == NULL)
    {
      watch_say (w, "labels changed, not taken: %s", error->message);
      return NULL;
    }
  counts = g_new0 (guint64, colors->len);
  for (gsize i = 0; i < n; i++)
    if (labels[i] >= 0 && (w->mask == NULL || w->mask[i] >= 0.5f))
      {
        labelled++;
        counts[(guint) labels[i]]++;
      }
  for (guint k = 0; k < colors->len; k++)
    present += counts[k] > 0;
  if (labelled == 0)
    {
      watch_say (w, "labels changed, not taken: %s has no labelled pixels", w->labels_path);
      g_free (labels);
      return NULL;
    }
  for (guint k = w->colors->len; k < colors->len; k++)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, k);

      g_string_append_printf (added, "%s#%02x%02x%02x", added->len > 0 ? ", " : "", c->r, c->g,
                              c->b);
      g_array_append_val (w->colors, *c);
    }
  watch_say (w, "labels changed: %" G_GUINT64_FORMAT " labelled pixels, %u classes%s%s%s",
             labelled, present, added->len > 0 ? " (new: " : "", added->str,
             added->len > 0 ? ")" : "");
  return labels;
}

static gboolean
on_watch (guint steps, LoomWeights *current, const float **labels, guint n_images,
          gpointer data, GError **error)
{
  Watch *w = data;
  float *fresh;

  /* The outputs: at once, then every EVERY steps (after a change, EVERY
   * steps after it: trained on the new strokes). */
  if ((!w->written || (w->every > 0 && steps >= w->written_at + w->every))
      && !watch_write (w, current, steps, error))
    return FALSE;
  fresh = watch_poll (w);
  if (fresh != NULL)
    {
      g_free (w->handed);
      w->handed = fresh;
      labels[0] = fresh;
      w->written_at = steps;
      w->changes++;
    }
  return TRUE;
}


/* --watch without --steps or --time runs until Ctrl-C: no ETA to show. */
static gboolean
on_endless_step (const LoomTrainProgress *progress, gpointer data)
{
  LoomTrainProgress p = *progress;

  p.total = 0;
  p.eta = 0;
  return loom_cli_on_train_step (&p, data);
}

/* ---- train-seg ------------------------------------------------------- */

int
loom_cmd_train_seg (int argc, char **argv)
{
  const char *cmd = "train-seg";
  g_auto (GStrv) image_paths = NULL, label_paths = NULL;
  g_autofree char *out = NULL, *init = NULL, *device_spec = NULL, *pretrained = NULL;
  g_autofree char *preview = NULL;
  int steps = -1, seed = 1, crop = 0, batch = 0, depth = 0, base = 0, every = 50;
  double seconds = 0, lr = 0, augment = 1.0, head_blend = -1;
  gboolean quiet = FALSE, json = FALSE, no_pretrained = FALSE, no_pixel_head = FALSE;
  gboolean watch = FALSE;
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
    { "no-pixel-head", 0, 0, G_OPTION_ARG_NONE, &no_pixel_head, "No phase one: the network alone (by default the first step fits a quick per-pixel classifier, written at once, blended into the answer)", NULL },
    { "head-blend", 0, 0, G_OPTION_ARG_DOUBLE, &head_blend, "The per-pixel classifier's share of the answer once the network has trained, 0 to 1 (default 0.5)", "F" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print what was done as JSON", NULL },
    { "watch", 0, 0, G_OPTION_ARG_NONE, &watch, "Live: re-read the label file when it changes and train on it without starting over; the model (and --preview) rewritten every --checkpoint-every steps; until --steps, --time or Ctrl-C", NULL },
    { "preview", 0, 0, G_OPTION_ARG_FILENAME, &preview, "With --watch: the image's current segmentation (as segment's colour format), rewritten with the model", "OUT.png" },
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
  Watch live = { 0 };
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
      || lr < 0 || every < 0 || augment < 0 || augment > 2 || head_blend > 1
      || (head_blend < 0 && head_blend != -1))
    return loom_cli_fail (cmd, EXIT_USAGE, "a negative or out-of-range number (see --help)");
  /* (no --steps: the default, or with --time none) */
  if (!loom_train_check_budget (steps < 0 ? G_MAXUINT : (guint) steps, seconds, NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "--steps 0 needs --time");
  if (!loom_cli_check_output (out, &error))
    return loom_cli_fail (cmd, EXIT_USAGE, "-o %s", error->message);
  if (preview != NULL && !watch)
    return loom_cli_fail (cmd, EXIT_USAGE, "--preview goes with --watch");
  if (watch && n_images != 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "--watch follows one label file: give one --image and its --labels");
  if (preview != NULL && !loom_image_file_check_writable (preview, &error))
    return loom_cli_fail (cmd, EXIT_USAGE, "--preview %s", error->message);
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
  config.pixel_head = !no_pixel_head;
  if (head_blend >= 0)
    config.head_blend = (float) head_blend;
  config.checkpoint = out;
  config.checkpoint_every = (guint) every;
  config.colors = colors;
  if (watch)
    {
      GStatBuf now;

      /* Until Ctrl-C unless told otherwise (the rate then stays up). */
      if (steps < 0 && seconds <= 0)
        config.steps = 0, config.seconds = 1e7;
      live = (Watch) { .labels_path = label_paths[0], .out = out, .preview = preview,
                       .loaded = &loaded[0], .mask = images[0].mask, .colors = colors,
                       .every = (guint) every,
                       .quiet = quiet || json };
      if (g_stat (label_paths[0], &now) == 0)
        live.seen = now;
      /* The refresh writes the model itself, with the preview. */
      config.checkpoint = NULL;
      config.refresh = on_watch;
      config.refresh_seconds = 1.0;
      config.refresh_data = &live;
    }

  device = loom_cli_open_device (device_spec, quiet || json, &error);
  if (device == NULL)
    goto fail;
  live.device = device;
  live.bar = &state.bar;
  if (pretrained != NULL && !quiet && !json)
    fprintf (stderr, "starting point: %s\n", pretrained);
  loom_cli_catch_interrupt ();
  loom_cli_progress_init (&state.bar, "training", quiet || json);
  began = g_get_monotonic_time ();
  result = loom_segment_train (device, &config, images, n_images, start,
                               watch && config.seconds >= 1e7 ? on_endless_step
                               : loom_cli_on_train_step, &state, NULL, &error);
  loom_cli_progress_end (&state.bar);
  if (result == NULL || !loom_weights_save (result, out, &error)
      || (preview != NULL && !write_preview (&live, result, &error)))
    goto fail;
  if (json)
    {
      g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&dict, "model", "s", out);
      g_variant_dict_insert (&dict, "classes", "u", colors->len);
      g_variant_dict_insert (&dict, "steps", "u", state.step);
      g_variant_dict_insert (&dict, "loss", "d", (double) state.losses[0]);
      if (watch)
        g_variant_dict_insert (&dict, "label_changes", "u", live.changes);
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
  g_free (live.handed);
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
