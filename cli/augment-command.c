/* loom augment: randomly transformed copies of an image and its labels,
 * for data sets. */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <loom/loom-segment.h>
#include "common.h"
#include "loom-image-file.h"

/* Copies made a call: bounds memory whatever --count says. */
#define CHUNK 16

int
loom_cmd_augment (int argc, char **argv)
{
  const char *cmd = "augment";
  g_autofree char *in = NULL, *labels_path = NULL, *out_dir = NULL, *device_spec = NULL;
  int count = 0, seed = 1, size = 0;
  double rotate = -1, scale = -1, shear = -1, elastic = -1, color = -1, noise = -1, blur = -1;
  double cutout = -1;
  gboolean no_flips = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The image", "IMG" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path, "Its label image (same geometry)", "LBL" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "The folder to write the copies to", "OUTDIR" },
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "How many copies", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1)", "S" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Side of the square copies (default: the image's shorter side, at most 1024)", "PX" },
    { "rotate", 0, 0, G_OPTION_ARG_DOUBLE, &rotate, "Rotation within ± degrees (default 20)", "DEG" },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, "Scale within [1/F, F] (default 1.25)", "F" },
    { "shear", 0, 0, G_OPTION_ARG_DOUBLE, &shear, "Shear within ± (default 0.1)", "F" },
    { "elastic", 0, 0, G_OPTION_ARG_DOUBLE, &elastic, "Elastic deformation up to this many pixels (default 2)", "PX" },
    { "color", 0, 0, G_OPTION_ARG_DOUBLE, &color, "Colour jitter 0…1 (default 0.5)", "F" },
    { "noise", 0, 0, G_OPTION_ARG_DOUBLE, &noise, "Gaussian noise deviation (default 0.02)", "F" },
    { "blur", 0, 0, G_OPTION_ARG_DOUBLE, &blur, "Chance of a blur (default 0.2)", "P" },
    { "cutout", 0, 0, G_OPTION_ARG_DOUBLE, &cutout, "Chance of a grey square (default 0)", "P" },
    { "no-flips", 0, 0, G_OPTION_ARG_NONE, &no_flips, "No flips or quarter turns", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_autofree float *planes = NULL, *alpha = NULL, *labels = NULL;
  g_autofree float *out_planes = NULL, *out_labels = NULL;
  g_autofree guint8 *rgba = NULL;
  g_autofree char *stem = NULL, *label_stem = NULL;
  LoomImageFile file = { 0 };
  LoomDevice *device = NULL;
  LoomSegmentConfig config;
  LoomCliProgress bar;
  gboolean holes = FALSE;
  int status = EXIT_FAILURE;

  if (!loom_cli_parse (cmd, "Augmented copies of an image and its labels.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (in == NULL || out_dir == NULL || count <= 0)
    return loom_cli_fail (cmd, EXIT_USAGE, "-i IMG, -o OUTDIR and --count N (N ≥ 1) are required");
  if (count > 99999 || seed < 0 || size < 0 || (size > 0 && size < 8))
    return loom_cli_fail (cmd, EXIT_USAGE, "--count (1…99999), --seed or --size (≥ 8) out of range");
  if (color > 1 || blur > 1 || cutout > 1 || (scale >= 0 && scale < 1))
    return loom_cli_fail (cmd, EXIT_USAGE, "--color, --blur and --cutout are 0…1, --scale at least 1");
  if (g_file_test (out_dir, G_FILE_TEST_EXISTS) && !g_file_test (out_dir, G_FILE_TEST_IS_DIR))
    return loom_cli_fail (cmd, EXIT_USAGE, "-o %s: not a folder", out_dir);

  if (!loom_image_file_load (&file, in, &error))
    goto fail;
  planes = loom_image_file_planes (&file, &alpha);
  for (gsize i = 0; i < (gsize) file.width * file.height && !holes; i++)
    holes = alpha[i] < 0.5f;
  if (labels_path != NULL)
    {
      LoomImageFile lf;

      if (!loom_image_file_load (&lf, labels_path, &error))
        goto fail;
      labels = loom_cli_load_labels (&lf, file.width, file.height, colors, 0, &error);
      loom_image_file_clear (&lf);
      if (labels == NULL)
        goto fail;
    }
  if (size == 0)
    size = (int) MIN (1024, MIN (file.width, file.height) / 8 * 8);
  if (size == 0 || (guint) size > MIN (file.width, file.height))
    {
      g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: %u×%u is too small for copies of %d×%d", in, file.width, file.height,
                   MAX (size, 8), MAX (size, 8));
      goto fail;
    }

  loom_segment_config_init (&config, MAX (colors->len, 1));
  config.augment = !no_flips;
#define SET(field, value) if ((value) >= 0) config.field = (value)
  SET (rotate, rotate);
  SET (scale, scale);
  SET (shear, shear);
  SET (elastic, elastic);
  SET (color, color);
  SET (noise, noise);
  SET (blur, blur);
  SET (cutout, cutout);
#undef SET

  device = loom_cli_open_device (device_spec, quiet, &error);
  if (device == NULL)
    goto fail;
  {
    g_autofree char *base = loom_image_file_base_name (in);

    if (!loom_image_file_copy_stems (out_dir, base, labels != NULL, &stem, &label_stem, &error))
      goto fail;
  }
  out_planes = g_new (float, (gsize) CHUNK * 3 * size * size);
  out_labels = g_new (float, (gsize) CHUNK * size * size);
  rgba = g_new (guint8, 4 * (gsize) size * size);
  loom_cli_progress_init (&bar, "augmenting", quiet);
  for (int done = 0; done < count; done += CHUNK)
    {
      guint n = (guint) MIN (CHUNK, count - done);

      /* Each chunk its own stream: the same seed, the same copies. */
      config.seed = (guint32) seed + (guint32) done * 7919u;
      if (!loom_segment_augment (device, &config,
                                 &(LoomSegmentImage) { planes, labels, file.width, file.height,
                                                       holes ? alpha : NULL },
                                 n, (guint) size, out_planes, out_labels, &error))
        goto fail;
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *image_path = loom_image_file_copy_path (stem, done + i);
          g_autofree char *label_path = labels == NULL ? NULL
                                      : loom_image_file_copy_path (label_stem, done + i);
          gsize per = (gsize) size * size;

          loom_image_to_rgba8 (out_planes + i * 3 * per, 3, size, size, rgba, 4 * (gsize) size);
          if (!loom_image_file_save_rgba8 (image_path, rgba, size, size, FALSE, &error))
            goto fail;
          if (labels == NULL)
            continue;
          loom_labels_to_rgba8 (out_labels + i * per, size, size, colors, rgba, 4 * (gsize) size);
          if (!loom_image_file_save_rgba8 (label_path, rgba, size, size, TRUE, &error))
            goto fail;
        }
      loom_cli_progress_show (&bar, done + n, (guint) count, "copies", 0);
    }
  loom_cli_progress_end (&bar);
  if (!quiet)
    fprintf (stderr, "%s: %d cop%s of %d×%d%s\n", out_dir, count, count == 1 ? "y" : "ies", size,
             size, labels != NULL ? " in images/, their labels in labels/" : "");
  status = 0;
fail:
  if (error != NULL)
    loom_cli_fail (cmd, EXIT_FAILURE, "%s", error->message);
  loom_image_file_clear (&file);
  if (device != NULL)
    loom_device_free (device);
  return status;
}
