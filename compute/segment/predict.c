/* Tiled prediction (see loom-segment.h). */
#include <math.h>
#include <string.h>

#include <loom/loom-segment.h>
#include "tiles.h"

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
  LoomGraph *g = NULL;
  LoomUNet *u = NULL;
  LoomTensor *x;
  g_autoptr (GArray) ys = NULL, xs = NULL;
  g_autofree float *in = NULL, *logits = NULL, *acc = NULL, *norm = NULL;
  guint th, tw, overlap, step, done = 0, total, K;
  gsize plane = (gsize) image->width * image->height;
  guint band0 = 0;              /* the image row acc's first row holds */
  gboolean ok = FALSE;

  g_return_val_if_fail (device != NULL && weights != NULL && image != NULL, FALSE);
  if (!loom_unet_config_from_weights (weights, &c, error))
    return FALSE;
  if (image->planes == NULL || image->width == 0 || image->height == 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT, "segment: an empty image");
      return FALSE;
    }
  step = 1u << c.depth;
  tile = tile == 0 ? 256 : tile;
  /* Tiles: a multiple of 2^depth, no bigger than needed; smaller images
   * are padded by mirroring up to the tile. */
  th = MAX ((MIN (tile, image->height) + step - 1) / step * step, 2 * step);
  tw = MAX ((MIN (tile, image->width) + step - 1) / step * step, 2 * step);
  overlap = MIN (MIN (th, tw) / 4, 32);
  ys = loom_tile_origins (image->height, th, th - 2 * overlap);
  xs = loom_tile_origins (image->width, tw, tw - 2 * overlap);
  total = ys->len * xs->len;
  K = c.classes;

  g = loom_graph_new ();
  x = loom_graph_input (g, "x", 1, c.in_channels, th, tw);
  u = loom_unet_build (g, &c, x, FALSE, error);
  if (u == NULL || !loom_graph_compile (g, device, error) || !loom_unet_load (u, weights, error))
    goto out;
  in = g_new (float, (gsize) c.in_channels * th * tw);
  logits = g_new (float, (gsize) K * th * tw);
  /* Blended probabilities of a band of TH rows, and their weights. */
  acc = g_new0 (float, (gsize) K * th * image->width);
  norm = g_new0 (float, (gsize) th * image->width);

  for (guint ty = 0; ty < ys->len; ty++)
    {
      guint y0 = g_array_index (ys, guint, ty);
      guint next = ty + 1 < ys->len ? g_array_index (ys, guint, ty + 1) : image->height;

      for (guint tx = 0; tx < xs->len; tx++)
        {
          guint x0 = g_array_index (xs, guint, tx);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          /* The tile, mirrored past the image's edge when it is smaller. */
          for (guint ch = 0; ch < c.in_channels; ch++)
            for (guint v = 0; v < th; v++)
              for (guint q = 0; q < tw; q++)
                {
                  gint64 sy = (gint64) y0 + v, sx = (gint64) x0 + q;

                  while (sy >= image->height)
                    sy = 2 * ((gint64) image->height - 1) - sy;
                  while (sx >= image->width)
                    sx = 2 * ((gint64) image->width - 1) - sx;
                  in[((gsize) ch * th + v) * tw + q]
                    = image->planes[ch * plane + (gsize) MAX (sy, 0) * image->width + MAX (sx, 0)];
                }
          if (!loom_graph_write (g, x, in, error) || !loom_graph_run (g, error)
              || !loom_graph_read (g, loom_unet_get_logits (u), logits, error))
            goto out;
          for (guint v = 0; v < th && y0 + v < image->height; v++)
            for (guint q = 0; q < tw && x0 + q < image->width; q++)
              {
                float w = loom_tile_ramp (v, th, overlap, ty > 0, ty + 1 < ys->len)
                        * loom_tile_ramp (q, tw, overlap, tx > 0, tx + 1 < xs->len);
                gsize at = (gsize) (y0 + v - band0) * image->width + x0 + q;
                float top = -INFINITY, sum = 0.0f;

                for (guint k = 0; k < K; k++)
                  top = MAX (top, logits[((gsize) k * th + v) * tw + q]);
                for (guint k = 0; k < K; k++)
                  sum += expf (logits[((gsize) k * th + v) * tw + q] - top);
                for (guint k = 0; k < K; k++)
                  acc[(gsize) k * th * image->width + at]
                    += w * expf (logits[((gsize) k * th + v) * tw + q] - top) / sum;
                norm[at] += w;
              }
          done++;
          if (progress != NULL
              && !progress (&(LoomTrainProgress) { done, total, 0.0, NULL, 0 }, data))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "segment: stopped");
              goto out;
            }
        }
      /* Rows before the next tile row are final: out, and the band moves. */
      for (guint row = band0; row < next && row < image->height; row++)
        for (guint q = 0; q < image->width; q++)
          {
            gsize at = (gsize) (row - band0) * image->width + q;
            float best = -1.0f;
            guint arg = 0;

            for (guint k = 0; k < K; k++)
              {
                float p = acc[(gsize) k * th * image->width + at] / norm[at];

                if (p > best)
                  best = p, arg = k;
                if (probabilities != NULL)
                  probabilities[k * plane + (gsize) row * image->width + q] = p;
              }
            if (image->mask != NULL && image->mask[(gsize) row * image->width + q] < 0.5f)
              {
                best = 0.0f;
                arg = (guint) -1;       /* not part of the image: unlabelled */
                for (guint k = 0; probabilities != NULL && k < K; k++)
                  probabilities[k * plane + (gsize) row * image->width + q] = 0.0f;
              }
            if (classes != NULL)
              classes[(gsize) row * image->width + q] = arg == (guint) -1 ? LOOM_UNLABELLED : (float) arg;
            if (confidence != NULL)
              confidence[(gsize) row * image->width + q] = best;
          }
      if (next < image->height)
        {
          gsize keep = (gsize) (band0 + th - next) * image->width;
          gsize shift = (gsize) (next - band0) * image->width;

          for (guint k = 0; k < K; k++)
            {
              float *a = acc + (gsize) k * th * image->width;

              memmove (a, a + shift, keep * sizeof (float));
              memset (a + keep, 0, shift * sizeof (float));
            }
          memmove (norm, norm + shift, keep * sizeof (float));
          memset (norm + keep, 0, shift * sizeof (float));
          band0 = next;
        }
    }
  ok = TRUE;
out:
  loom_unet_free (u);
  loom_graph_free (g);
  return ok;
}
