/* Prediction (see loom-segment.h): the network's tiles (segment/tiled.h),
 * the pixel head's bands (segment/head.h), or both blended. */
#include <math.h>
#include <string.h>

#include <loom/loom-segment.h>
#include "segment/head.h"
#include "segment/tiled.h"

#define HEAD_BAND 64            /* rows a head without an encoder does at once */

typedef struct
{
  const LoomSegmentImage *image;
  guint K;
  LoomPixelHead *head;          /* or NULL */
  float blend;                  /* the head's share */
  gboolean network;             /* output 0 is the network's probabilities */
  float *p, *hp;                /* K × band rows × width */
  float *classes, *confidence, *probabilities;  /* any may be NULL */
  gboolean refining;            /* only PROBABILITIES now; the rest after refinement */
} Answer;

/* Rows [ROW0, ROW0 + ROWS) out from their class probabilities P (K ×
 * ROWS × width): the class, its probability and all of them, unlabelled
 * (probabilities 0) outside the image's mask. */
static void
emit_rows (const Answer *a, const float *p, guint row0, guint rows)
{
  const LoomSegmentImage *image = a->image;
  gsize size = (gsize) rows * image->width, plane = (gsize) image->width * image->height;

  for (gsize i = 0; i < size; i++)
    {
      gsize at = (gsize) row0 * image->width + i;
      float best = -1.0f;
      guint arg = 0;

      if (a->refining)
        {
          for (guint k = 0; k < a->K; k++)
            a->probabilities[k * plane + at] = p[k * size + i];
          continue;
        }
      for (guint k = 0; k < a->K; k++)
        if (p[k * size + i] > best)
          best = p[k * size + i], arg = k;
      if (image->mask != NULL && image->mask[at] < 0.5f)
        {
          best = 0.0f;
          arg = (guint) -1;     /* not part of the image: unlabelled */
        }
      if (a->classes != NULL)
        a->classes[at] = arg == (guint) -1 ? LOOM_UNLABELLED : (float) arg;
      if (a->confidence != NULL)
        a->confidence[at] = best;
      for (guint k = 0; a->probabilities != NULL && k < a->K; k++)
        a->probabilities[k * plane + at] = arg == (guint) -1 ? 0.0f : p[k * size + i];
    }
}

/* After refinement: every pixel's class and confidence from the refined
 * probabilities (0 outside the mask). */
static gboolean
finish_refined (Answer *a, guint channels, const LoomSegmentRefine *refine, GError **error)
{
  const LoomSegmentImage *image = a->image;
  gsize plane = (gsize) image->width * image->height;

  if (!loom_segment_refine (image, channels, a->K, refine, a->probabilities, error))
    return FALSE;
  for (gsize at = 0; at < plane; at++)
    {
      float best = -1.0f;
      guint arg = 0;

      for (guint k = 0; k < a->K; k++)
        if (a->probabilities[k * plane + at] > best)
          best = a->probabilities[k * plane + at], arg = k;
      if (image->mask != NULL && image->mask[at] < 0.5f)
        {
          best = 0.0f;
          arg = (guint) -1;
          for (guint k = 0; k < a->K; k++)
            a->probabilities[k * plane + at] = 0.0f;
        }
      if (a->classes != NULL)
        a->classes[at] = arg == (guint) -1 ? LOOM_UNLABELLED : (float) arg;
      if (a->confidence != NULL)
        a->confidence[at] = best;
    }
  return TRUE;
}

/* A finished band: the network's probabilities (OUT[0]), the head's from
 * the encoder's features (the last output), blended. */
static gboolean
answer_band (guint row0, guint rows, float *const *out, gpointer data, GError **error)
{
  Answer *a = data;
  gsize n = (gsize) a->K * rows * a->image->width;
  const float *encoded = NULL;
  float *p = a->network ? out[0] : a->hp;

  if (a->head != NULL)
    {
      if (loom_pixel_head_get_config (a->head)->encoder_depth > 0)
        encoded = out[a->network ? 1 : 0];
      if (!loom_pixel_head_predict (a->head, a->image, row0, rows, encoded, a->hp, error))
        return FALSE;
      if (a->network)
        for (gsize i = 0; i < n; i++)
          p[i] = (1.0f - a->blend) * p[i] + a->blend * a->hp[i];
    }
  emit_rows (a, p, row0, rows);
  return TRUE;
}

/* A head without an encoder alone: bands of rows, no graph. */
static gboolean
answer_head_bands (Answer *a, LoomTrainProgressFunc progress, gpointer data,
                   GCancellable *cancellable, GError **error)
{
  guint total = (a->image->height + HEAD_BAND - 1) / HEAD_BAND;

  a->hp = g_new (float, (gsize) a->K * HEAD_BAND * a->image->width);
  for (guint b = 0; b < total; b++)
    {
      guint row0 = b * HEAD_BAND, rows = MIN (HEAD_BAND, a->image->height - row0);

      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !answer_band (row0, rows, NULL, a, error))
        return FALSE;
      if (progress != NULL && !progress (&(LoomTrainProgress) { b + 1, total, 0.0, NULL, 0 }, data))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "segment: stopped");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
loom_segment_predict (LoomDevice *device, LoomWeights *weights, const LoomSegmentImage *image,
                      guint tile, float *classes, float *confidence,
                      LoomTrainProgressFunc progress, gpointer data, GCancellable *cancellable,
                      GError **error)
{
  return loom_segment_predict_probabilities (device, weights, image, tile, classes, confidence,
                                             NULL, progress, data, cancellable, error);
}

gboolean
loom_segment_predict_probabilities (LoomDevice *device, LoomWeights *weights,
                                    const LoomSegmentImage *image, guint tile, float *classes,
                                    float *confidence, float *probabilities,
                                    LoomTrainProgressFunc progress, gpointer data,
                                    GCancellable *cancellable, GError **error)
{
  LoomUNetConfig c;
  LoomPixelHeadConfig hc = { 0 };
  gboolean has_head, ok = FALSE;
  Answer a = { .image = image, .classes = classes, .confidence = confidence,
               .probabilities = probabilities };
  LoomTiled run = { 0 };
  LoomUNet *u = NULL;
  LoomNet encoder = { 0 };
  gboolean has_encoder;
  guint quantum;
  LoomSegmentRefine refine;
  g_autofree float *own_probabilities = NULL;

  g_return_val_if_fail (device != NULL && weights != NULL && image != NULL, FALSE);
  if (!loom_unet_config_from_weights (weights, &c, error)
      || !loom_pixel_head_config_from_weights (weights, &has_head, &hc, error))
    return FALSE;
  if (image->planes == NULL || image->width == 0 || image->height == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "segment: an empty image");
      return FALSE;
    }
  if (has_head && (hc.classes != c.classes || hc.channels != c.in_channels))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE,
                   "segment: the model's pixel head has %u classes of %u channels, its network "
                   "%u of %u", hc.classes, hc.channels, c.classes, c.in_channels);
      return FALSE;
    }
  if (!loom_segment_get_refine (weights, &refine, error))
    return FALSE;
  a.K = c.classes;
  a.blend = has_head ? hc.blend : 0.0f;
  /* Refinement needs every pixel's probabilities before any class. */
  a.refining = refine.radius > 0;
  if (a.refining && probabilities == NULL)
    a.probabilities = own_probabilities = g_try_new (float, (gsize) c.classes * image->width
                                                            * image->height);
  if (a.refining && a.probabilities == NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY,
                   "segment: no memory for the probabilities of %u × %u pixels to refine",
                   image->width, image->height);
      return FALSE;
    }
  a.network = a.blend < 1.0f;
  if (has_head && (a.head = loom_pixel_head_open (device, weights, error)) == NULL)
    return FALSE;
  has_encoder = has_head && hc.encoder_depth > 0;
  if (!a.network && !has_encoder)
    {
      ok = answer_head_bands (&a, progress, data, cancellable, error);
      goto out;
    }

  /* One graph on each tile: the network, the head's encoder, or both. */
  quantum = 1u << MAX (a.network ? c.depth : 0, has_encoder ? hc.encoder_depth : 0);
  loom_tiled_geometry (image, quantum, tile, &run.th, &run.tw, &run.overlap);
  run.in_channels = c.in_channels;
  run.graph = loom_graph_new ();
  run.x = loom_graph_input (run.graph, "x", 1, c.in_channels, run.th, run.tw);
  if (a.network)
    {
      if ((u = loom_unet_build (run.graph, &c, run.x, FALSE, error)) == NULL)
        goto out;
      run.y[run.n_outputs] = loom_unet_get_logits (u);
      loom_graph_keep (run.graph, run.y[run.n_outputs]);        /* the encoder runs after it */
      run.channels[run.n_outputs] = c.classes;
      run.softmax[run.n_outputs++] = TRUE;
    }
  if (has_encoder)
    {
      loom_net_init (&encoder, run.graph);
      run.y[run.n_outputs] = loom_pixel_head_encoder (&encoder, &hc, "encoder.", run.x);
      run.channels[run.n_outputs++] = hc.encoder_base;
    }
  if (!loom_graph_compile (run.graph, device, error)
      || (u != NULL && !loom_unet_load (u, weights, error))
      || (has_encoder && !loom_net_load (&encoder, weights, error)))
    goto out;
  if (a.head != NULL)
    a.hp = g_new (float, (gsize) a.K * run.th * image->width);
  ok = loom_tiled_run (&run, image, answer_band, &a, progress, data, cancellable, error);
out:
  if (ok && a.refining)
    ok = finish_refined (&a, c.in_channels, &refine, error);
  if (has_encoder && encoder.graph != NULL)
    loom_net_clear (&encoder);
  loom_pixel_head_free (a.head);
  loom_unet_free (u);
  if (run.graph != NULL)
    loom_graph_free (run.graph);
  g_free (a.hp);
  return ok;
}
