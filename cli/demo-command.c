/* loom demo: the main job on bundled data, no arguments, no network —
 * train a segmentation model from the sample's scribbles, segment the
 * sample, and make a seamless texture with each shipped texture model.  It
 * is the other commands run in turn, so it shows what they print. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gstdio.h>

#include "common.h"
#include "loom-image-file.h"

typedef int (*Command) (int argc, char **argv);

typedef struct
{
  const char *device;           /* --device, or NULL */
  gboolean    quiet;
} Common;

/* Runs COMMAND with the arguments after NAME (NULL-terminated) and the
 * options all share. */
static int
run (Command command, const Common *common, const char *name, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char **argv = NULL;
  va_list ap;

  g_ptr_array_add (args, g_strdup (name));
  va_start (ap, name);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, g_strdup (a));
  va_end (ap);
  if (common->device != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--device=%s", common->device));
  if (common->quiet)
    g_ptr_array_add (args, g_strdup ("--quiet"));
  /* GOption takes arguments out of argv: it gets a copy of the list. */
  argv = g_new0 (char *, args->len + 1);
  memcpy (argv, args->pdata, args->len * sizeof (char *));
  return command ((int) args->len, argv);
}

/* The share of pixels of SEGMENTATION whose colour is TRUTH's (-1: unreadable). */
static double
agreement (const char *segmentation, const char *truth)
{
  LoomImageFile a = { 0 }, b = { 0 };
  g_autofree guint8 *pa = NULL, *pb = NULL;
  gsize same = 0, n;
  double result = -1;

  if (loom_image_file_load (&a, segmentation, NULL) && loom_image_file_load (&b, truth, NULL)
      && a.width == b.width && a.height == b.height)
    {
      n = (gsize) a.width * a.height;
      pa = loom_image_file_rgba8 (&a);
      pb = loom_image_file_rgba8 (&b);
      for (gsize i = 0; i < n; i++)
        same += memcmp (pa + 4 * i, pb + 4 * i, 3) == 0;
      result = (double) same / n;
    }
  loom_image_file_clear (&a);
  loom_image_file_clear (&b);
  return result;
}

int
loom_cmd_demo (int argc, char **argv)
{
  const char *cmd = "demo";
  g_autofree char *out = NULL, *device_spec = NULL;
  double seconds = 60;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder for the results (default loom-demo)", "DIR" },
    { "time", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds of segmentation training (default 60)", "SECONDS" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { NULL }
  };
  g_autofree char *sample = loom_data_path ("data/sample.png");
  g_autofree char *scribbles = loom_data_path ("data/sample-scribbles.png");
  g_autofree char *truth = loom_data_path ("data/sample-truth.png");
  g_autofree char *weights_dir = loom_data_path ("weights");
  g_autofree char *model = NULL, *seg = NULL, *overlay = NULL, *conf = NULL, *time_text = NULL;
  g_autoptr (GPtrArray) textures = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = NULL;
  const char *name;
  Common common;
  double agree;

  if (!loom_cli_parse (cmd, "The main job on bundled data.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (seconds <= 0)
    return loom_cli_fail (cmd, EXIT_USAGE, "--time must be positive");
  if (!g_file_test (sample, G_FILE_TEST_EXISTS) || !g_file_test (scribbles, G_FILE_TEST_EXISTS))
    return loom_cli_fail (cmd, EXIT_FAILURE, "the bundled sample is missing (%s); set LOOM_DATA_DIR "
                          "to the folder holding data/ and weights/", sample);
  if (out == NULL)
    out = g_strdup ("loom-demo");
  if (g_mkdir_with_parents (out, 0777) != 0)
    return loom_cli_fail (cmd, EXIT_FAILURE, "%s: %s", out, g_strerror (errno));
  common = (Common) { device_spec, quiet };
  model = g_build_filename (out, "sample.safetensors", NULL);
  seg = g_build_filename (out, "segmentation.png", NULL);
  overlay = g_build_filename (out, "overlay.png", NULL);
  conf = g_build_filename (out, "confidence.png", NULL);
  time_text = g_strdup_printf ("%g", seconds);

  if (!quiet)
    fprintf (stderr, "1. segmentation: training on %s with the scribbles of %s for %s s\n",
             sample, scribbles, time_text);
  if (run (loom_cmd_train_seg, &common, "train-seg", "--image", sample, "--labels", scribbles,
           "-o", model, "--time", time_text, NULL) != 0
      || run (loom_cmd_segment, &common, "segment", "--model", model, "-i", sample, "-o", seg,
              "--confidence", conf, NULL) != 0
      || run (loom_cmd_segment, &common, "segment", "--model", model, "-i", sample, "-o", overlay,
              "--format", "overlay", NULL) != 0)
    return EXIT_FAILURE;
  g_ptr_array_add (made, g_strdup_printf ("%s  the model", model));
  g_ptr_array_add (made, g_strdup_printf ("%s  each pixel in its class's colour", seg));
  g_ptr_array_add (made, g_strdup_printf ("%s  the classes over the image", overlay));
  g_ptr_array_add (made, g_strdup_printf ("%s  confidence (white: sure)", conf));
  agree = agreement (seg, truth);

  dir = g_dir_open (weights_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "texture-") && g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (textures, g_strdup (name));
  g_ptr_array_sort_values (textures, (GCompareFunc) g_strcmp0);
  if (textures->len == 0 && !quiet)
    fprintf (stderr, "2. textures: no shipped texture models in %s\n", weights_dir);
  for (guint i = 0; i < textures->len; i++)
    {
      const char *file = textures->pdata[i];
      g_autofree char *stem = g_strndup (file, strlen (file) - strlen (".safetensors"));
      g_autofree char *path = g_build_filename (weights_dir, file, NULL);
      g_autofree char *png = g_strdup_printf ("%s/%s.png", out, stem);

      if (!quiet)
        fprintf (stderr, "2. texture: 512×512, seamless, from %s\n", path);
      if (run (loom_cmd_generate, &common, "generate", "--model", path, "-o", png,
               "--size", "512x512", "--tileable", "--seed", "1", NULL) != 0)
        return EXIT_FAILURE;
      g_ptr_array_add (made, g_strdup_printf ("%s  a texture that tiles seamlessly", png));
    }

  printf ("loom demo: the results are in %s/\n", out);
  for (guint i = 0; i < made->len; i++)
    printf ("  %s\n", (char *) made->pdata[i]);
  if (agree >= 0)
    printf ("the segmentation agrees with the sample's true regions (%s) on %.1f %% of its "
            "pixels\n", truth, 100 * agree);
  return 0;
}
