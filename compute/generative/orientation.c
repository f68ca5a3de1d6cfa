/* Which flips and turns leave a texture sample's statistics unchanged
 * (see loom-generative.h): its histogram of signed gradient directions,
 * weighted by the gradients' lengths, against the same histogram of the
 * flipped or turned sample — a permutation of its bins, so nothing is
 * flipped — at every scale down to 64 pixels a side. */
#include <math.h>
#include <string.h>

#include <loom/loom-generative.h>

#define BINS 32                 /* a multiple of 4: bins centred on the axes and diagonals */
#define SMALLEST 64             /* the coarsest scale's shorter side */

/* Adds the magnitude-weighted direction histogram of GREY (W × H) to H. */
static void
add_histogram (const float *grey, guint w, guint h, double *hist)
{
  for (guint y = 1; y + 1 < h; y++)
    for (guint x = 1; x + 1 < w; x++)
      {
        double gx = 0.5 * (grey[(gsize) y * w + x + 1] - grey[(gsize) y * w + x - 1]);
        double gy = 0.5 * (grey[(gsize) (y + 1) * w + x] - grey[(gsize) (y - 1) * w + x]);
        double m = hypot (gx, gy);
        int bin;

        if (m == 0.0)
          continue;
        /* Bin i is centred on −π + i·2π/BINS. */
        bin = (int) floor ((atan2 (gy, gx) + G_PI) / (2.0 * G_PI) * BINS + 0.5);
        hist[((bin % BINS) + BINS) % BINS] += m;
      }
}

/* Half the L1 distance between HIST and its bins permuted (bin i against
 * bin SHIFT + SIGN·i), both normalised: 0 unchanged, 1 disjoint. */
static double
distance (const double *hist, int shift, int sign)
{
  double total = 0.0, d = 0.0;

  for (int i = 0; i < BINS; i++)
    total += hist[i];
  if (total == 0.0)
    return 0.0;
  for (int i = 0; i < BINS; i++)
    {
      int j = ((shift + sign * i) % BINS + BINS) % BINS;

      d += fabs (hist[i] - hist[j]);
    }
  return 0.5 * d / total;
}

/* GREY halved by 2×2 averages in place; its new size in *W, *H. */
static void
halve (float *grey, guint *w, guint *h)
{
  guint nw = *w / 2, nh = *h / 2;

  for (guint y = 0; y < nh; y++)
    for (guint x = 0; x < nw; x++)
      {
        const float *a = grey + (gsize) 2 * y * *w + 2 * x, *b = a + *w;

        grey[(gsize) y * nw + x] = 0.25f * (a[0] + a[1] + b[0] + b[1]);
      }
  *w = nw, *h = nh;
}

void
loom_generative_measure_orientation (const LoomGenerativeImage *images, guint n_images,
                                     guint channels, LoomOrientation *out)
{
  double hists[16][BINS];
  guint levels = 0;

  g_return_if_fail (out != NULL && (images != NULL || n_images == 0) && channels > 0);
  memset (hists, 0, sizeof hists);
  for (guint k = 0; k < n_images; k++)
    {
      guint w = images[k].width, h = images[k].height;
      gsize n = (gsize) w * h;
      g_autofree float *grey = g_new0 (float, MAX (n, 1));

      for (guint c = 0; c < channels; c++)
        for (gsize i = 0; i < n; i++)
          grey[i] += images[k].planes[c * n + i] / (float) channels;
      for (guint level = 0; level < G_N_ELEMENTS (hists); level++)
        {
          add_histogram (grey, w, h, hists[level]);
          levels = MAX (levels, level + 1);
          if (MIN (w, h) / 2 < SMALLEST)
            break;
          halve (grey, &w, &h);
        }
    }
  /* Directions (bin centres −π + i·Δ): a horizontal flip sends θ to π − θ
   * (bin BINS/2 − i), a vertical one θ to −θ (bin −i), a quarter turn θ to
   * θ + π/2 (bin i + BINS/4); the largest change over the scales counts. */
  *out = (LoomOrientation) { 0 };
  for (guint level = 0; level < levels; level++)
    {
      out->flip_h = MAX (out->flip_h, distance (hists[level], BINS / 2, -1));
      out->flip_v = MAX (out->flip_v, distance (hists[level], 0, -1));
      out->turn = MAX (out->turn, distance (hists[level], BINS / 4, 1));
    }
}

void
loom_generative_config_resolve_orientation (LoomGenerativeConfig *c,
                                            const LoomGenerativeImage *images, guint n_images,
                                            LoomOrientation *measured)
{
  LoomOrientation m = { 0 };
  LoomAugmentChoice *choices[] = { &c->flip_h, &c->flip_v, &c->turns };

  g_return_if_fail (c != NULL);
  if (c->flip_h == LOOM_AUGMENT_AUTO || c->flip_v == LOOM_AUGMENT_AUTO
      || c->turns == LOOM_AUGMENT_AUTO || measured != NULL)
    loom_generative_measure_orientation (images, n_images, c->gan.channels, &m);
  for (guint i = 0; i < G_N_ELEMENTS (choices); i++)
    if (*choices[i] == LOOM_AUGMENT_AUTO)
      {
        double d = i == 0 ? m.flip_h : i == 1 ? m.flip_v : m.turn;

        *choices[i] = d <= LOOM_ORIENTATION_THRESHOLD ? LOOM_AUGMENT_ON : LOOM_AUGMENT_OFF;
      }
    else
      *choices[i] = *choices[i] ? LOOM_AUGMENT_ON : LOOM_AUGMENT_OFF;
  if (measured != NULL)
    *measured = m;
}
