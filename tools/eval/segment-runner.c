/* segment-runner PLANES LABELS WIDTH HEIGHT CLASSES SECONDS OUT [DEVICE]:
 * Loom's scribble segmentation for tools/eval/segment.py.  PLANES holds
 * 3 × H × W floats, LABELS H × W (−1 unlabelled); trains for SECONDS with
 * the default configuration, predicts every pixel and writes the classes
 * (H × W floats) to OUT; prints the steps it made and its times. */
#include <stdio.h>
#include <stdlib.h>

#include <loom/loom-segment.h>
#include "load.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *planes = NULL, *labels = NULL, *classes = NULL;
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomDevice *device;
  LoomWeights *w = NULL, *start = NULL;
  guint width, height;
  gint64 t0, t1, t2;

  if (argc < 8)
    {
      fprintf (stderr, "usage: %s PLANES LABELS WIDTH HEIGHT CLASSES SECONDS OUT [DEVICE]\n",
               argv[0]);
      return 2;
    }
  width = (guint) atoi (argv[3]);
  height = (guint) atoi (argv[4]);
  device = loom_device_open (argc > 8 ? argv[8] : "cpu", &error);
  if (device == NULL
      || (planes = eval_load (argv[1], (gsize) 3 * width * height, &error)) == NULL
      || (labels = eval_load (argv[2], (gsize) width * height, &error)) == NULL)
    goto fail;
  loom_segment_config_init (&c, (guint) atoi (argv[5]));
  c.steps = 0;
  c.seconds = atof (argv[6]);
  /* For sweeps: LOOM_EVAL_{LR,DEPTH,BASE,CROP,BATCH,ELASTIC,SHEAR} override the defaults. */
  if (g_getenv ("LOOM_EVAL_LR"))
    c.learning_rate = (float) atof (g_getenv ("LOOM_EVAL_LR"));
  if (g_getenv ("LOOM_EVAL_DEPTH"))
    c.unet.depth = (guint) atoi (g_getenv ("LOOM_EVAL_DEPTH"));
  if (g_getenv ("LOOM_EVAL_BASE"))
    c.unet.base = (guint) atoi (g_getenv ("LOOM_EVAL_BASE"));
  if (g_getenv ("LOOM_EVAL_CROP"))
    c.crop = (guint) atoi (g_getenv ("LOOM_EVAL_CROP"));
  if (g_getenv ("LOOM_EVAL_BATCH"))
    c.batch = (guint) atoi (g_getenv ("LOOM_EVAL_BATCH"));
  if (g_getenv ("LOOM_EVAL_ELASTIC"))
    c.elastic = atof (g_getenv ("LOOM_EVAL_ELASTIC"));
  if (g_getenv ("LOOM_EVAL_SHEAR"))
    c.shear = atof (g_getenv ("LOOM_EVAL_SHEAR"));
  image = (LoomSegmentImage) { planes, labels, width, height, NULL };
  t0 = g_get_monotonic_time ();
  /* LOOM_EVAL_STEPS: a step count instead of the time (fair on a busy machine). */
  if (g_getenv ("LOOM_EVAL_STEPS"))
    {
      c.steps = (guint) atoi (g_getenv ("LOOM_EVAL_STEPS"));
      c.seconds = 0;
    }
  /* LOOM_EVAL_START: a starting point (all but its head), as the command
   * line's --pretrained. */
  if (g_getenv ("LOOM_EVAL_START") && *g_getenv ("LOOM_EVAL_START")
      && (start = loom_weights_load (g_getenv ("LOOM_EVAL_START"), &error)) == NULL)
    goto fail;
  c.start_features = start != NULL;
  w = loom_segment_train (device, &c, &image, 1, start, NULL, NULL, NULL, &error);
  t1 = g_get_monotonic_time ();
  if (w == NULL)
    goto fail;
  image.labels = NULL;
  classes = g_new (float, (gsize) width * height);
  if (!loom_segment_predict (device, w, &image, 0, classes, NULL, NULL, NULL, NULL, &error)
      || !g_file_set_contents (argv[7], (const char *) classes,
                               (gssize) ((gsize) width * height * sizeof (float)), &error))
    goto fail;
  t2 = g_get_monotonic_time ();
  printf ("{\"train_s\": %.2f, \"predict_s\": %.2f, \"provenance\": %s}\n", (t1 - t0) / 1e6,
          (t2 - t1) / 1e6, loom_weights_get_metadata (w, LOOM_METADATA_PROVENANCE));
  loom_weights_free (w);
  if (start != NULL)
    loom_weights_free (start);
  loom_device_free (device);
  return 0;

fail:
  fprintf (stderr, "segment-runner: %s\n", error->message);
  loom_weights_free (w);
  if (start != NULL)
    loom_weights_free (start);
  if (device != NULL)
    loom_device_free (device);
  return 1;
}
