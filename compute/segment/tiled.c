/* Tiled runs of a fully convolutional graph (see tiled.h). */
#include <math.h>
#include <string.h>

#include "segment/tiled.h"
#include "tiles.h"

void
loom_tiled_geometry (const LoomSegmentImage *image, guint quantum, guint tile, guint *th,
                     guint *tw, guint *overlap)
{
  tile = tile == 0 ? 256 : tile;
  /* No bigger than needed; smaller images are padded by mirroring. */
  *th = MAX ((MIN (tile, image->height) + quantum - 1) / quantum * quantum, 2 * quantum);
  *tw = MAX ((MIN (tile, image->width) + quantum - 1) / quantum * quantum, 2 * quantum);
  *overlap = MIN (MIN (*th, *tw) / 4, 32);
}

/* The tile at X0, Y0, mirrored past the image's edge when it is smaller. */
static void
cut_tile (const LoomTiled *r, const LoomSegmentImage *image, guint x0, guint y0, float *in)
{
  gsize plane = (gsize) image->width * image->height;

  for (guint ch = 0; ch < r->in_channels; ch++)
    for (guint v = 0; v < r->th; v++)
      for (guint q = 0; q < r->tw; q++)
        {
          gint64 sy = (gint64) y0 + v, sx = (gint64) x0 + q;

          while (sy >= image->height)
            sy = 2 * ((gint64) image->height - 1) - sy;
          while (sx >= image->width)
            sx = 2 * ((gint64) image->width - 1) - sx;
          in[((gsize) ch * r->th + v) * r->tw + q]
            = image->planes[ch * plane + (gsize) MAX (sy, 0) * image->width + MAX (sx, 0)];
        }
}

gboolean
loom_tiled_run (const LoomTiled *r, const LoomSegmentImage *image, LoomTiledBandFunc band,
                gpointer band_data, LoomTrainProgressFunc progress, gpointer data,
                GCancellable *cancellable, GError **error)
{
  guint th = r->th, tw = r->tw, overlap = r->overlap, W = image->width;
  g_autoptr (GArray) ys = loom_tile_origins (image->height, th, th - 2 * overlap);
  g_autoptr (GArray) xs = loom_tile_origins (W, tw, tw - 2 * overlap);
  guint total = ys->len * xs->len, done = 0, band0 = 0;
  g_autofree float *in = g_new (float, (gsize) r->in_channels * th * tw);
  g_autofree float *norm = g_new0 (float, (gsize) th * W);
  float *tile_out[LOOM_TILED_MAX_OUTPUTS] = { 0 }, *acc[LOOM_TILED_MAX_OUTPUTS] = { 0 };
  float *out[LOOM_TILED_MAX_OUTPUTS] = { 0 };
  gboolean ok = FALSE;

  g_return_val_if_fail (r->n_outputs >= 1 && r->n_outputs <= LOOM_TILED_MAX_OUTPUTS, FALSE);
  for (guint o = 0; o < r->n_outputs; o++)
    {
      tile_out[o] = g_new (float, (gsize) r->channels[o] * th * tw);
      /* Blended outputs of a band of TH rows (their weights: NORM). */
      acc[o] = g_new0 (float, (gsize) r->channels[o] * th * W);
      out[o] = g_new (float, (gsize) r->channels[o] * th * W);
    }
  for (guint ty = 0; ty < ys->len; ty++)
    {
      guint y0 = g_array_index (ys, guint, ty);
      guint next = ty + 1 < ys->len ? g_array_index (ys, guint, ty + 1) : image->height;
      guint rows = next - band0;

      for (guint tx = 0; tx < xs->len; tx++)
        {
          guint x0 = g_array_index (xs, guint, tx);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          cut_tile (r, image, x0, y0, in);
          if (!loom_graph_write (r->graph, r->x, in, error) || !loom_graph_run (r->graph, error))
            goto out;
          for (guint o = 0; o < r->n_outputs; o++)
            if (!loom_graph_read (r->graph, r->y[o], tile_out[o], error))
              goto out;
          for (guint v = 0; v < th && y0 + v < image->height; v++)
            for (guint q = 0; q < tw && x0 + q < W; q++)
              {
                float w = loom_tile_ramp (v, th, overlap, ty > 0, ty + 1 < ys->len)
                        * loom_tile_ramp (q, tw, overlap, tx > 0, tx + 1 < xs->len);
                gsize at = (gsize) (y0 + v - band0) * W + x0 + q;

                for (guint o = 0; o < r->n_outputs; o++)
                  {
                    const float *t = tile_out[o];
                    guint C = r->channels[o];
                    float top = -INFINITY, sum = 0.0f;

                    if (r->softmax[o])
                      {
                        for (guint k = 0; k < C; k++)
                          top = MAX (top, t[((gsize) k * th + v) * tw + q]);
                        for (guint k = 0; k < C; k++)
                          sum += expf (t[((gsize) k * th + v) * tw + q] - top);
                      }
                    for (guint k = 0; k < C; k++)
                      {
                        float value = t[((gsize) k * th + v) * tw + q];

                        if (r->softmax[o])
                          value = expf (value - top) / sum;
                        acc[o][(gsize) k * th * W + at] += w * value;
                      }
                  }
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
      for (guint o = 0; o < r->n_outputs; o++)
        for (guint k = 0; k < r->channels[o]; k++)
          for (gsize i = 0; i < (gsize) rows * W; i++)
            out[o][k * rows * W + i] = acc[o][(gsize) k * th * W + i] / norm[i];
      if (!band (band0, rows, out, band_data, error))
        goto out;
      if (next < image->height)
        {
          gsize keep = (gsize) (band0 + th - next) * W, shift = (gsize) rows * W;

          for (guint o = 0; o < r->n_outputs; o++)
            for (guint k = 0; k < r->channels[o]; k++)
              {
                float *a = acc[o] + (gsize) k * th * W;

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
  for (guint o = 0; o < r->n_outputs; o++)
    {
      g_free (tile_out[o]);
      g_free (acc[o]);
      g_free (out[o]);
    }
  return ok;
}
