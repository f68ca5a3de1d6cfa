/* loom explain, and the explanation files segment writes: per-class
 * probabilities, uncertainty, occlusion evidence, "paint here next". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include <loom/loom-segment.h>
#include "common.h"
#include "loom-image-file.h"

gboolean
loom_cli_save_grey (const char *path, const float *values, const float *alpha, guint width,
                    guint height, GError **error)
{
  gsize n = (gsize) width * height;
  g_autofree guint8 *pixels = g_new (guint8, (alpha != NULL ? 2 : 1) * n);

  for (gsize i = 0; i < n; i++)
    {
      guint8 v = (guint8) lrintf (CLAMP (values[i], 0.0f, 1.0f) * 255.0f);

      if (alpha == NULL)
        pixels[i] = v;
      else
        {
          pixels[2 * i] = v;
          pixels[2 * i + 1] = (guint8) lrintf (CLAMP (alpha[i], 0.0f, 1.0f) * 255.0f);
        }
    }
  return alpha != NULL ? loom_image_file_save_grey_alpha8 (path, pixels, width, height, error)
                       : loom_image_file_save_grey8 (path, pixels, width, height, error);
}

gboolean
loom_cli_check_folder (const char *dir, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, "%s: not a folder", dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
loom_cli_save_probabilities (const char *dir, const float *probabilities, guint classes,
                             const GArray *colors, const float *alpha, guint width, guint height,
                             GError **error)
{
  gsize n = (gsize) width * height;

  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  for (guint k = 0; k < MIN (classes, colors->len); k++)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, k);
      g_autofree char *name = g_strdup_printf ("%u-%02x%02x%02x.png", k, c->r, c->g, c->b);
      g_autofree char *file = g_build_filename (dir, name, NULL);

      if (!loom_cli_save_grey (file, probabilities + k * n, alpha, width, height, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- loom explain ----------------------------------------------------- */

/* SPEC: "x,y,w,h" inside the image, or a mask file of its size (white, or
 * where a mask with transparency is opaque). */
static float *
load_region (const char *spec, guint width, guint height, GError **error)
{
  guint x, y, w, h;
  char end;
  gsize n = (gsize) width * height;
  float *region;

  if (sscanf (spec, "%u,%u,%u,%u%c", &x, &y, &w, &h, &end) == 4)
    {
      if (w == 0 || h == 0 || x >= width || y >= height || w > width - x || h > height - y)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "--region %s: not inside the image (%u×%u)", spec, width, height);
          return NULL;
        }
      region = g_new0 (float, n);
      for (guint v = y; v < y + h; v++)
        for (guint q = x; q < x + w; q++)
          region[(gsize) v * width + q] = 1.0f;
      return region;
    }
  {
    LoomImageFile file = { 0 };
    g_autofree float *planes = NULL, *alpha = NULL;
    gboolean holes = FALSE;

    if (!loom_image_file_load (&file, spec, error))
      return NULL;
    if (file.width != width || file.height != height)
      {
        g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                     "--region %s: %u×%u, but the image is %u×%u", spec, file.width,
                     file.height, width, height);
        loom_image_file_clear (&file);
        return NULL;
      }
    planes = loom_image_file_planes (&file, &alpha);
    loom_image_file_clear (&file);
    for (gsize i = 0; i < n && !holes; i++)
      holes = alpha[i] < 0.5f;
    region = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      region[i] = holes ? alpha[i]
                        : 0.2126f * planes[i] + 0.7152f * planes[n + i] + 0.0722f * planes[2 * n + i];
    return region;
  }
}

static gboolean
on_step (const LoomTrainProgress *progress, gpointer data)
{
  loom_cli_progress_show (data, progress->step, progress->total, "patches", progress->eta);
  return !loom_cli_interrupted ();
}

int
loom_cmd_explain (int argc, char **argv)
{
  const char *cmd = "explain";
  g_autofree char *model = NULL, *in = NULL, *out = NULL, *region_spec = NULL;
  g_autofree char *class_spec = NULL, *next = NULL, *device_spec = NULL;
  int count = 5, patch = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "The segmentation model", "MODEL" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &in, "The image", "IMG" },
    { "region", 0, 0, G_OPTION_ARG_FILENAME, &region_spec, "The pixels to explain: a mask the image's size (white, or opaque over transparency) or a rectangle", "MASK.png|x,y,w,h" },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_spec, "The class: number (0 = the first), name or #rrggbb (default: the region's most predicted)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The evidence to write (grey: white where greying the image out lowers the class most)", "EVIDENCE.png" },
    { "next", 0, 0, G_OPTION_ARG_FILENAME, &next, "The image with the squares where a stroke would help most marked", "NEXT.png" },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, "How many squares --next marks (default 5)", "K" },
    { "patch", 0, 0, G_OPTION_ARG_INT, &patch, "Side of the patches greyed out (default: from the region's size)", "PX" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_spec, "cpu, vulkan, an index or part of a name", "D" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) colors = NULL;
  g_auto (GStrv) names = NULL;
  LoomWeights *weights = NULL;
  LoomDevice *device = NULL;
  LoomImageFile file = { 0 };
  LoomCliProgress bar;
  LoomSegmentImage image;
  LoomUNetConfig unet;
  g_autofree float *planes = NULL, *alpha = NULL, *region = NULL, *probs = NULL;
  g_autofree float *classes = NULL, *values = NULL;
  gsize n;
  gint klass = -1;
  int status = EXIT_FAILURE;

  if (!loom_cli_parse (cmd, "Show what a segmentation rests on: evidence for a region, where to paint next.",
                       entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return loom_cli_fail (cmd, EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (model == NULL || in == NULL || (out == NULL && next == NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "--model, -i and -o EVIDENCE.png (with --region) or --next are required");
  if ((out == NULL) != (region_spec == NULL))
    return loom_cli_fail (cmd, EXIT_USAGE, "-o EVIDENCE.png and --region go together");
  if (count < 1 || count > 100 || patch < 0 || (patch > 0 && patch < 2))
    return loom_cli_fail (cmd, EXIT_USAGE, "--count must be 1 to 100 and --patch at least 2");
  if ((out != NULL && !loom_image_file_check_writable (out, &error))
      || (next != NULL && !loom_image_file_check_writable (next, &error)))
    return loom_cli_fail (cmd, EXIT_USAGE, "%s", error->message);

  weights = loom_cli_load_model (model, &error);
  if (weights == NULL)
    goto fail;
  if (!loom_unet_config_from_weights (weights, &unet, &error)
      || (colors = loom_segment_get_classes (weights, &names, &error)) == NULL)
    {
      g_prefix_error (&error, "%s: ", model);
      goto fail;
    }
  if (class_spec != NULL
      && (klass = loom_segment_find_class (colors, (const char *const *) names, class_spec)) < 0)
    {
      g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "--class %s: the model %s has classes 0 to %u (numbers, names or #rrggbb)",
                   class_spec, model, colors->len - 1);
      goto fail;
    }
  if (!loom_image_file_load (&file, in, &error))
    goto fail;
  n = (gsize) file.width * file.height;
  planes = loom_image_file_planes (&file, &alpha);
  if (region_spec != NULL && (region = load_region (region_spec, file.width, file.height, &error)) == NULL)
    goto fail;
  device = loom_cli_open_device (device_spec, quiet, &error);
  if (device == NULL)
    goto fail;
  image = (LoomSegmentImage) { planes, NULL, file.width, file.height, alpha };

  probs = g_new (float, (gsize) unet.classes * n);
  classes = g_new (float, n);
  if (!loom_segment_predict_probabilities (device, weights, &image, 0, classes, NULL, probs, NULL,
                                           NULL, NULL, &error))
    goto fail;
  values = g_new (float, n);
  if (region != NULL)
    {
      float top = 0.0f;
      guint inside = 0;

      if (klass < 0)
        klass = loom_segment_region_class (classes, region, n, MIN (unet.classes, colors->len));
      for (gsize i = 0; i < n; i++)
        inside += region[i] >= 0.5f && alpha[i] >= 0.5f;
      if (klass < 0 || inside == 0)
        {
          g_set_error (&error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "--region %s: no pixel of the image in it", region_spec);
          goto fail;
        }
      loom_cli_catch_interrupt ();
      loom_cli_progress_init (&bar, "occluding", quiet);
      if (!loom_segment_evidence (device, weights, &image, region, (guint) klass, (guint) patch,
                                  values, on_step, &bar, NULL, &error))
        {
          loom_cli_progress_end (&bar);
          goto fail;
        }
      loom_cli_progress_end (&bar);
      /* a heat map: white where the class fell most */
      for (gsize i = 0; i < n; i++)
        top = MAX (top, values[i]);
      for (gsize i = 0; i < n && top > 0; i++)
        values[i] /= top;
      if (!loom_cli_save_grey (out, values, file.alpha ? alpha : NULL, file.width, file.height,
                               &error))
        goto fail;
      {
        const LoomColor *c = &g_array_index (colors, LoomColor, klass);

        if (!quiet)
          fprintf (stderr, "%s: evidence for class %d (#%02x%02x%02x) over %u pixels; greying "
                   "out the strongest patch lowers its probability by %.3f\n",
                   out, klass, c->r, c->g, c->b, inside, top);
      }
    }
  if (next != NULL)
    {
      g_autoptr (GArray) squares = NULL;
      g_autofree guint8 *rgba = loom_image_file_rgba8 (&file);

      loom_segment_entropy (probs, unet.classes, n, values);
      squares = loom_segment_paint_next (values, file.width, file.height, (guint) count, 0);
      loom_segment_mark_regions (squares, rgba, file.width, file.height, 4 * (gsize) file.width);
      if (!loom_image_file_save_rgba8 (next, rgba, file.width, file.height, file.alpha, &error))
        goto fail;
      /* the squares, for scripts: x,y,w,h and their mean uncertainty */
      for (guint r = 0; r < squares->len; r++)
        {
          const LoomSegmentRegion *g = &g_array_index (squares, LoomSegmentRegion, r);

          printf ("%u,%u,%u,%u %.3f\n", g->x, g->y, g->width, g->height, g->score);
        }
      if (!quiet)
        fprintf (stderr, "%s: %u squares to paint next%s\n", next, squares->len,
                 squares->len == 0 ? " (the model is sure everywhere)" : "");
    }
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
