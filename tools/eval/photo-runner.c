/* photo-runner PLANES LABELS WIDTH HEIGHT CLASSES MARKS OUT [INIT]:
 * anytime measurement of Loom's scribble segmentation for
 * tools/eval/photos.py.  PLANES holds 3 × H × W floats, LABELS H × W
 * (−1 unlabelled).  One training run with the command line's defaults
 * (`loom train-seg --time LAST`: seed 1, the shipped starting point when
 * $LOOM_EVAL_START names it, or INIT's weights as `--init INIT`) whose
 * time budget is the last of MARKS (seconds, ascending, comma-separated).
 * The weights after the last step that ended within each mark, counted
 * from the call to loom_segment_train (setup included), are kept; after
 * training, each of them predicts every pixel (prediction time excluded
 * from the marks, reported) into OUT-I.f32 (H × W class numbers, I the
 * mark's index).  The model at the end of the run goes to
 * OUT.safetensors (what `--init` takes for a second round).  Prints one
 * JSON object: every mark's step, time and prediction seconds, and when
 * the first step ended.
 * $LOOM_EVAL_DEVICE: the device (default cpu); $LOOM_EVAL_PIXEL_HEAD (0/1),
 * $LOOM_EVAL_HEAD_BLEND, $LOOM_EVAL_HEAD_RAMP, $LOOM_EVAL_HEAD_HIDDEN: phase
 * one's settings (default: the command line's). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <loom/loom-segment.h>
#include "load.h"

#define MAX_MARKS 16

typedef struct
{
  double   marks[MAX_MARKS];
  guint    n_marks;
  guint    next;                /* the first mark not yet passed */
  gint64   began;
  char    *checkpoint;          /* written after every step */
  char    *first;               /* a copy of the first step's (phase one's answer) */
  char    *slot[MAX_MARKS];     /* the weights each mark keeps */
  guint    step_at[MAX_MARKS];  /* their step (0: none ended in time) */
  double   time_at[MAX_MARKS];  /* and when that step ended */
  double   first_step;          /* when the first step ended (setup included) */
  gboolean failed;
} Anytime;

static gboolean
on_step (const LoomTrainProgress *progress, gpointer data)
{
  Anytime *a = data;
  double now = (g_get_monotonic_time () - a->began) / 1e6;

  if (progress->step == 1)
    {
      g_autofree char *bytes = NULL;
      gsize size;

      a->first_step = now;
      if (!g_file_get_contents (a->checkpoint, &bytes, &size, NULL)
          || !g_file_set_contents (a->first, bytes, (gssize) size, NULL))
        {
          fprintf (stderr, "photo-runner: cannot copy the first checkpoint to %s\n", a->first);
          a->failed = TRUE;
          return FALSE;
        }
    }
  while (a->next < a->n_marks && now > a->marks[a->next])
    a->next++;
  if (a->next == a->n_marks)
    return FALSE;               /* past the last mark: the run is over */
  /* This step ended within mark NEXT: its weights are the latest there. */
  if (g_rename (a->checkpoint, a->slot[a->next]) != 0)
    {
      fprintf (stderr, "photo-runner: %s: %s\n", a->slot[a->next], g_strerror (errno));
      a->failed = TRUE;
      return FALSE;
    }
  a->step_at[a->next] = progress->step;
  a->time_at[a->next] = now;
  return TRUE;
}

/* MODEL's classes of IMAGE into PATH (H × W floats). */
static gboolean
predict_to_file (LoomDevice *device, LoomWeights *model, const LoomSegmentImage *image,
                 float *classes, const char *path, GError **error)
{
  return loom_segment_predict (device, model, image, 0, classes, NULL, NULL, NULL, NULL, error)
         && g_file_set_contents (path, (const char *) classes,
                                 (gssize) ((gsize) image->width * image->height * sizeof (float)),
                                 error);
}

static gboolean
parse_marks (const char *text, Anytime *a, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *end;
      double t = g_ascii_strtod (parts[i], &end);

      if (a->n_marks == MAX_MARKS || end == parts[i] || *end != '\0' || t <= 0
          || (a->n_marks > 0 && t <= a->marks[a->n_marks - 1]))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "MARKS: up to %d positive seconds in ascending order, comma-separated, "
                       "not \"%s\"", MAX_MARKS, text);
          return FALSE;
        }
      a->marks[a->n_marks++] = t;
    }
  if (a->n_marks == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "MARKS: none given");
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *planes = NULL, *labels = NULL, *classes = NULL;
  g_autofree char *final = NULL;
  g_autoptr (GString) json = g_string_new (NULL);
  const char *start_path = g_getenv ("LOOM_EVAL_START");
  const char *device_spec = g_getenv ("LOOM_EVAL_DEVICE");
  Anytime a = { 0 };
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomDevice *device = NULL;
  LoomWeights *w = NULL, *start = NULL;
  guint width, height, n_classes;
  gint64 t1;
  int status = 1;

  if (argc < 8 || argc > 9)
    {
      fprintf (stderr, "usage: %s PLANES LABELS WIDTH HEIGHT CLASSES MARKS OUT [INIT]\n", argv[0]);
      return 2;
    }
  width = (guint) atoi (argv[3]);
  height = (guint) atoi (argv[4]);
  n_classes = (guint) atoi (argv[5]);
  if (width == 0 || height == 0 || n_classes < 2)
    {
      fprintf (stderr, "photo-runner: WIDTH and HEIGHT must be positive, CLASSES at least 2\n");
      return 2;
    }
  if (!parse_marks (argv[6], &a, &error))
    goto out;
  a.checkpoint = g_strdup_printf ("%s.checkpoint.safetensors", argv[7]);
  a.first = g_strdup_printf ("%s-first.safetensors", argv[7]);
  for (guint i = 0; i < a.n_marks; i++)
    a.slot[i] = g_strdup_printf ("%s-%u.safetensors", argv[7], i);
  final = g_strdup_printf ("%s.safetensors", argv[7]);

  device = loom_device_open (device_spec != NULL && *device_spec ? device_spec : "cpu", &error);
  if (device == NULL
      || (planes = eval_load (argv[1], (gsize) 3 * width * height, &error)) == NULL
      || (labels = eval_load (argv[2], (gsize) width * height, &error)) == NULL)
    goto out;
  /* As `loom train-seg --time LAST` (its defaults: seed 1, augmentation 1). */
  loom_segment_config_init (&c, n_classes);
  loom_segment_config_set_augment_strength (&c, 1.0);
  c.steps = 0;
  c.seconds = a.marks[a.n_marks - 1];
  c.checkpoint = a.checkpoint;
  c.checkpoint_every = 1;
  /* Phase one's settings, to compare (defaults: the command line's). */
  if (g_getenv ("LOOM_EVAL_PIXEL_HEAD") != NULL)
    c.pixel_head = atoi (g_getenv ("LOOM_EVAL_PIXEL_HEAD")) != 0;
  if (g_getenv ("LOOM_EVAL_HEAD_BLEND") != NULL)
    c.head_blend = (float) g_ascii_strtod (g_getenv ("LOOM_EVAL_HEAD_BLEND"), NULL);
  if (g_getenv ("LOOM_EVAL_HEAD_RAMP") != NULL)
    c.head_ramp = (guint) atoi (g_getenv ("LOOM_EVAL_HEAD_RAMP"));
  if (g_getenv ("LOOM_EVAL_HEAD_HIDDEN") != NULL)
    c.head_hidden = (guint) atoi (g_getenv ("LOOM_EVAL_HEAD_HIDDEN"));
  if (argc == 9)
    {
      if ((start = loom_weights_load (argv[8], &error)) == NULL)
        goto out;
      c.start_features = FALSE;         /* --init: all of it, the head too */
    }
  else if (start_path != NULL && *start_path)
    {
      if ((start = loom_weights_load (start_path, &error)) == NULL)
        goto out;
      c.start_features = TRUE;          /* --pretrained: all but the head */
    }
  image = (LoomSegmentImage) { planes, labels, width, height, NULL };
  a.began = g_get_monotonic_time ();
  w = loom_segment_train (device, &c, &image, 1, start, on_step, &a, NULL, &error);
  t1 = g_get_monotonic_time ();
  if (w == NULL || a.failed || !loom_weights_save (w, final, &error))
    goto out;
  g_unlink (a.checkpoint);

  g_string_append_printf (json, "{\"train_s\": %.2f, \"first_step_s\": %.2f, \"marks\": [",
                          (t1 - a.began) / 1e6, a.first_step);
  image.labels = NULL;
  classes = g_new (float, (gsize) width * height);
  for (guint i = 0; i < a.n_marks; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s-%u.f32", argv[7], i);
      LoomWeights *m;
      gint64 p0 = g_get_monotonic_time ();

      g_string_append_printf (json, "%s{\"mark_s\": %g, \"step\": %u, \"at_s\": %.2f", i ? ", " : "",
                              a.marks[i], a.step_at[i], a.time_at[i]);
      if (a.step_at[i] == 0)
        {
          g_string_append (json, ", \"predict_s\": null}");
          continue;
        }
      if ((m = loom_weights_load (a.slot[i], &error)) == NULL)
        goto out;
      if (!predict_to_file (device, m, &image, classes, path, &error))
        {
          loom_weights_free (m);
          goto out;
        }
      g_string_append_printf (json, ", \"predict_s\": %.2f",
                              (g_get_monotonic_time () - p0) / 1e6);
      /* The same without refinement (OUT-I-raw.f32), to compare. */
      {
        g_autofree char *raw = g_strdup_printf ("%s-%u-raw.f32", argv[7], i);
        LoomSegmentRefine none = { 0, 0.0f };

        loom_segment_set_refine (m, &none);
        if (!predict_to_file (device, m, &image, classes, raw, &error))
          {
            loom_weights_free (m);
            goto out;
          }
      }
      loom_weights_free (m);
      g_unlink (a.slot[i]);
      g_string_append (json, "}");
    }
  g_string_append (json, "]");
  /* The first answer a user sees: the first step's model over the whole
   * image, timed (OUT-first.f32). */
  {
    g_autofree char *path = g_strdup_printf ("%s-first.f32", argv[7]);
    LoomWeights *m;
    gint64 p0 = g_get_monotonic_time ();

    if ((m = loom_weights_load (a.first, &error)) == NULL)
      goto out;
    if (!predict_to_file (device, m, &image, classes, path, &error))
      {
        loom_weights_free (m);
        goto out;
      }
    loom_weights_free (m);
    g_unlink (a.first);
    g_string_append_printf (json, ", \"first_predict_s\": %.2f",
                            (g_get_monotonic_time () - p0) / 1e6);
  }
  printf ("%s, \"provenance\": %s}\n", json->str,
          loom_weights_get_metadata (w, LOOM_METADATA_PROVENANCE));
  status = 0;

out:
  if (error != NULL)
    fprintf (stderr, "photo-runner: %s\n", error->message);
  loom_weights_free (w);
  if (start != NULL)
    loom_weights_free (start);
  if (device != NULL)
    loom_device_free (device);
  g_free (a.checkpoint);
  g_free (a.first);
  for (guint i = 0; i < a.n_marks; i++)
    g_free (a.slot[i]);
  return status;
}
