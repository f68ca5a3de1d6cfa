/* Winograd F(2×2, 3×3) for the CPU backend's 3×3, stride-1, undilated
 * convolutions: the image is cut into 4×4 input tiles giving 2×2 outputs;
 * in the transformed domain the convolution is 16 independent GEMMs, 16
 * multiplies per 2×2 outputs and channel pair instead of 36.
 *
 *   forward          Y  = Aᵀ [ U ⊙ V ] A,      U = G g Gᵀ,  V = Bᵀ d B
 *   weight gradient  dg = Gᵀ [ Σ Z ⊙ V ] G,    Z = A dY Aᵀ  (the exact
 *                    gradient of the line above, summed over tiles)
 *   input gradient   a forward convolution of dY with the flipped,
 *                    transposed weights (zero padding only)
 *
 * Tiles are processed a block of tile rows at a time, so that the
 * transformed blocks stay in cache between the transforms and the GEMMs. */
#include <string.h>
#include <cblas.h>

#include "cpu/threads.h"
#include "ops/conv.h"
#include "ops/winograd.h"

/* The transforms are plain loops the compiler vectorises: AVX2 and FMA
 * copies beside the baseline ones, picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOOM_WINOGRAD_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define LOOM_WINOGRAD_CLONES
#endif

gboolean
loom_winograd_disabled (void)
{
  static gint disabled = -1;

  if (g_atomic_int_get (&disabled) < 0)
    {
      const char *env = g_getenv ("LOOM_NO_WINOGRAD");

      g_atomic_int_set (&disabled, env != NULL && *env != '\0' && strcmp (env, "0") != 0);
    }
  return g_atomic_int_get (&disabled);
}

gboolean
loom_winograd_fits (const LoomConvParams *p)
{
  return p->r == 3 && p->s == 3 && p->stride_h == 1 && p->stride_w == 1
      && p->dil_h == 1 && p->dil_w == 1 && p->p >= 2 && p->q >= 2;
}

gboolean
loom_winograd_fits_backward_data (const LoomConvParams *p)
{
  return loom_winograd_fits (p) && p->pad_mode == LOOM_PAD_ZERO && p->pad_h <= 2 && p->pad_w <= 2;
}

/* U = G g Gᵀ for one 3×3 kernel G3, into u[16] with stride STRIDE. */
static void
transform_kernel (const float *g3, float *u, gsize stride)
{
  float t[4][3];

  for (int j = 0; j < 3; j++)
    {
      float g0 = g3[j], g1 = g3[3 + j], g2 = g3[6 + j];

      t[0][j] = g0;
      t[1][j] = 0.5f * (g0 + g1 + g2);
      t[2][j] = 0.5f * (g0 - g1 + g2);
      t[3][j] = g2;
    }
  for (int i = 0; i < 4; i++)
    {
      u[(4 * i + 0) * stride] = t[i][0];
      u[(4 * i + 1) * stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      u[(4 * i + 2) * stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      u[(4 * i + 3) * stride] = t[i][2];
    }
}

/* g = Gᵀ du G: the 3×3 weight gradient from the 16 transformed sums. */
static void
untransform_kernel (const float *du, gsize stride, float *g3)
{
  float t[3][4];

  for (int j = 0; j < 4; j++)
    {
      float d0 = du[(0 + j) * stride], d1 = du[(4 + j) * stride];
      float d2 = du[(8 + j) * stride], d3 = du[(12 + j) * stride];

      t[0][j] = d0 + 0.5f * (d1 + d2);
      t[1][j] = 0.5f * (d1 - d2);
      t[2][j] = 0.5f * (d1 + d2) + d3;
    }
  for (int i = 0; i < 3; i++)
    {
      g3[3 * i + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
      g3[3 * i + 1] = 0.5f * (t[i][1] - t[i][2]);
      g3[3 * i + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
    }
}

/* One block of tile rows of one image, and where its transforms go. */
typedef struct
{
  const LoomConvParams *p;
  guint        tiles_w;         /* tiles per row: ⌈Q / 2⌉ */
  guint        row0, rows;      /* the block's tile rows */
  gsize        tb;              /* tiles in the block */
  gsize        ld;              /* floats from one transform row to the next (≥ tb) */
  const float *x;               /* the image, C×H×W */
  float       *v;               /* 16 × C × tb */
  float       *m;               /* 16 × K × tb: products, or Z for the weight gradient */
  float       *y;               /* forward: the output image, K×P×Q */
  const float *dy;              /* weight gradient: the output gradient image, K×P×Q */
  gsize        mask_lo, mask_hi; /* weight gradient: the image's output pixels in the slice */
  float       *u;               /* 16 × K × C: transformed kernels, or their gradient */
} Block;

/* The GEMMs of transforms [begin, end): M_ξ = U_ξ V_ξ.  Each thread runs
 * its own, OpenBLAS single-threaded (cpu/sgemm.h). */
static void
forward_gemms (gpointer data, gsize begin, gsize end)
{
  const Block *b = data;
  const LoomConvParams *p = b->p;

  for (gsize xi = begin; xi < end; xi++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) p->k, (int) b->tb,
                 (int) p->c, 1.0f, b->u + xi * p->k * p->c, (int) p->c,
                 b->v + xi * p->c * b->ld, (int) b->ld, 0.0f, b->m + xi * p->k * b->ld,
                 (int) b->ld);
}

/* dU_ξ += Z_ξ V_ξᵀ for transforms [begin, end). */
static void
weight_gemms (gpointer data, gsize begin, gsize end)
{
  const Block *b = data;
  const LoomConvParams *p = b->p;
  gsize kc = (gsize) p->k * p->c;

  for (gsize xi = begin; xi < end; xi++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) p->k, (int) p->c,
                 (int) b->tb, 1.0f, b->m + xi * p->k * b->ld, (int) b->ld,
                 b->v + xi * p->c * b->ld, (int) b->ld, 1.0f, b->u + xi * kc, (int) p->c);
}

/* Input row IH (in unpadded coordinates) of PLANE as the tiles read it:
 * 2·tiles_w + 2 values from column −pad_w, padded, zeros past the padding. */
static void
padded_row (const LoomConvParams *p, const float *plane, gint64 ih, guint tiles_w, float *row)
{
  gint64 H = p->h, W = p->w, width = 2 * (gint64) tiles_w + 2;
  gint64 h = ih < -(gint64) p->pad_h || ih >= H + p->pad_h
           ? -1 : loom_conv_pad_index (ih, H, p->pad_mode);
  gint64 lo = MIN ((gint64) p->pad_w, width), hi = MIN ((gint64) p->pad_w + W, width);

  if (h < 0)
    {
      memset (row, 0, width * sizeof (float));
      return;
    }
  plane += h * W;
  memcpy (row + lo, plane, (hi - lo) * sizeof (float));
  for (gint64 j = 0; j < lo; j++)
    {
      gint64 w = loom_conv_pad_index (j - p->pad_w, W, p->pad_mode);

      row[j] = w < 0 ? 0.0f : plane[w];
    }
  for (gint64 j = hi; j < width; j++)
    {
      gint64 iw = j - p->pad_w;
      gint64 w = iw >= W + p->pad_w ? -1 : loom_conv_pad_index (iw, W, p->pad_mode);

      row[j] = w < 0 ? 0.0f : plane[w];
    }
}

/* t = Bᵀ d down four rows of WIDTH values. */
static inline void
down_rows (const float *restrict d0, const float *restrict d1, const float *restrict d2,
           const float *restrict d3, float *restrict t0, float *restrict t1,
           float *restrict t2, float *restrict t3, guint width)
{
  for (guint x = 0; x < width; x++)
    {
      t0[x] = d0[x] - d2[x];
      t1[x] = d1[x] + d2[x];
      t2[x] = d2[x] - d1[x];
      t3[x] = d1[x] - d3[x];
    }
}

/* (t B) across one row: four outputs per tile, each at V + j·STRIDE. */
static inline void
across_row (const float *restrict r, float *restrict v, gsize stride, guint tiles)
{
  float *restrict v0 = v, *restrict v1 = v + stride;
  float *restrict v2 = v + 2 * stride, *restrict v3 = v + 3 * stride;

  for (guint tc = 0; tc < tiles; tc++)
    {
      float r0 = r[2 * tc], r1 = r[2 * tc + 1], r2 = r[2 * tc + 2], r3 = r[2 * tc + 3];

      v0[tc] = r0 - r2;
      v1[tc] = r1 + r2;
      v2[tc] = r2 - r1;
      v3[tc] = r1 - r3;
    }
}

/* V = Bᵀ d B for every tile of the block, channels [begin, end): first
 * down the four input rows (whole rows at once), then across each tile. */
LOOM_WINOGRAD_CLONES static void
input_channels (gpointer data, gsize begin, gsize end)
{
  const Block *b = data;
  const LoomConvParams *p = b->p;
  guint tw = b->tiles_w, width = 2 * tw + 2;
  gsize stride = (gsize) p->c * b->ld;
  float *buf = g_new (float, 8 * width), *d[4], *t[4];

  for (int i = 0; i < 4; i++)
    d[i] = buf + i * width, t[i] = buf + (4 + i) * width;
  for (gsize c = begin; c < end; c++)
    {
      const float *plane = b->x + c * p->h * p->w;

      for (guint tr = 0; tr < b->rows; tr++)
        {
          gint64 ih0 = (gint64) (b->row0 + tr) * 2 - p->pad_h;
          float *v = b->v + c * b->ld + (gsize) tr * tw;

          for (int i = 0; i < 4; i++)
            padded_row (p, plane, ih0 + i, tw, d[i]);
          down_rows (d[0], d[1], d[2], d[3], t[0], t[1], t[2], t[3], width);
          for (int i = 0; i < 4; i++)
            across_row (t[i], v + (4 * i) * stride, stride, tw);
        }
    }
  g_free (buf);
}

/* Aᵀ m for column j of every tile: M points at m[0][j] (rows STRIDE×4 apart). */
static inline void
up_rows (const float *m, gsize stride, float *restrict t0, float *restrict t1, guint tiles)
{
  const float *restrict m0 = m, *restrict m1 = m + 4 * stride;
  const float *restrict m2 = m + 8 * stride, *restrict m3 = m + 12 * stride;

  for (guint tc = 0; tc < tiles; tc++)
    {
      t0[tc] = m0[tc] + m1[tc] + m2[tc];
      t1[tc] = m1[tc] - m2[tc] - m3[tc];
    }
}

/* (Aᵀ m) A along one output row: two outputs per tile, side by side. */
static inline void
across_out (const float *restrict a, const float *restrict b, const float *restrict c,
            const float *restrict d, float *restrict out, guint tiles)
{
  for (guint tc = 0; tc < tiles; tc++)
    {
      out[2 * tc] = a[tc] + b[tc] + c[tc];
      out[2 * tc + 1] = b[tc] - c[tc] - d[tc];
    }
}

/* Y = Aᵀ m A for every tile, channels [begin, end), written where the
 * outputs lie inside P×Q. */
LOOM_WINOGRAD_CLONES static void
output_channels (gpointer data, gsize begin, gsize end)
{
  const Block *b = data;
  const LoomConvParams *p = b->p;
  guint tw = b->tiles_w;
  gsize stride = (gsize) p->k * b->ld;
  float *buf = g_new (float, 12 * tw), *t[8], *out0 = buf + 8 * tw, *out1 = buf + 10 * tw;

  for (int i = 0; i < 8; i++)
    t[i] = buf + i * tw;
  for (gsize k = begin; k < end; k++)
    for (guint tr = 0; tr < b->rows; tr++)
      {
        const float *m = b->m + k * b->ld + (gsize) tr * tw;
        guint oh = (b->row0 + tr) * 2;
        float *y = b->y + (k * p->p + oh) * p->q;

        /* t[j] = (Aᵀ m)[0][j], t[4 + j] = (Aᵀ m)[1][j] */
        for (int j = 0; j < 4; j++)
          up_rows (m + j * stride, stride, t[j], t[4 + j], tw);
        across_out (t[0], t[1], t[2], t[3], out0, tw);
        across_out (t[4], t[5], t[6], t[7], out1, tw);
        memcpy (y, out0, p->q * sizeof (float));
        if (oh + 1 < p->p)
          memcpy (y + p->q, out1, p->q * sizeof (float));
      }
  g_free (buf);
}

/* Row (s0·g0 + s1·g1) of A g, times Aᵀ across each tile, into Z + j·STRIDE. */
static inline void
grad_row (const float *restrict g0, const float *restrict g1, float s0, float s1,
          float *restrict z, gsize stride, guint tiles)
{
  float *restrict z0 = z, *restrict z1 = z + stride;
  float *restrict z2 = z + 2 * stride, *restrict z3 = z + 3 * stride;

  for (guint tc = 0; tc < tiles; tc++)
    {
      float a = s0 * g0[2 * tc] + s1 * g1[2 * tc];
      float c = s0 * g0[2 * tc + 1] + s1 * g1[2 * tc + 1];

      z0[tc] = a;
      z1[tc] = a + c;
      z2[tc] = a - c;
      z3[tc] = -c;
    }
}

/* Z = A dY Aᵀ for every tile, channels [begin, end); outputs outside P×Q
 * or the slice count as zero. */
LOOM_WINOGRAD_CLONES static void
grad_channels (gpointer data, gsize begin, gsize end)
{
  const Block *b = data;
  const LoomConvParams *p = b->p;
  guint tw = b->tiles_w;
  gsize stride = (gsize) p->k * b->ld;
  float *g0 = g_new (float, 4 * tw), *g1 = g0 + 2 * tw;

  for (gsize k = begin; k < end; k++)
    for (guint tr = 0; tr < b->rows; tr++)
      {
        float *z = b->m + k * b->ld + (gsize) tr * tw;
        gsize oh = (gsize) (b->row0 + tr) * 2;

        for (int i = 0; i < 2; i++)
          {
            float *g = i ? g1 : g0;
            gsize row = oh + i, lo = row * p->q, hi = lo + p->q;

            memset (g, 0, 2 * tw * sizeof (float));
            lo = MAX (lo, b->mask_lo), hi = MIN (hi, b->mask_hi);
            if (row < p->p && lo < hi)
              memcpy (g + (lo - row * p->q), b->dy + k * p->p * p->q + lo,
                      (hi - lo) * sizeof (float));
          }
        /* rows of A g: g0, g0 + g1, g0 − g1, −g1; then the same across */
        for (int i = 0; i < 4; i++)
          grad_row (g0, g1, i == 3 ? 0.0f : 1.0f, i == 0 ? 0.0f : i == 1 ? 1.0f : -1.0f,
                    z + (4 * i) * stride, stride, tw);
      }
  g_free (g0);
}

/* Tile rows per block: about 2^21 floats of transforms in flight. */
static guint
block_rows (const LoomConvParams *p, guint tiles_w)
{
  gsize per_row = (gsize) 16 * (p->c + p->k) * tiles_w;

  return (guint) CLAMP (((gsize) 1 << 21) / per_row, 1, (p->p + 1) / 2);
}

/* Transform rows ROWS·TILES_W long, padded so that the 16 rows a tile
 * writes never sit a power of two apart (they would share cache sets). */
static gsize
leading (guint rows, guint tiles_w)
{
  return ((gsize) rows * tiles_w + 15) / 16 * 16 + 16;
}

static void
forward_u (const LoomConvParams *p, const float *w, float *u)
{
  for (gsize k = 0; k < p->k; k++)
    for (gsize c = 0; c < p->c; c++)
      transform_kernel (w + (k * p->c + c) * 9, u + k * p->c + c, (gsize) p->k * p->c);
}

/* y = conv(x, u) for a 3×3 stride-1 convolution whose kernels are already
 * transformed (U: 16 × K × C). */
static void
forward_transformed (const LoomConvParams *p, const float *x, const float *u, float *y,
                     LoomThreads *threads)
{
  guint tiles_w = (p->q + 1) / 2, tiles_h = (p->p + 1) / 2;
  guint rows = block_rows (p, tiles_w);
  gsize ld = leading (rows, tiles_w);
  float *v = g_new (float, 16 * p->c * ld);
  float *m = g_new (float, 16 * p->k * ld);

  for (gsize n = 0; n < p->n; n++)
    for (guint row0 = 0; row0 < tiles_h; row0 += rows)
      {
        Block b = { p, tiles_w, row0, MIN (rows, tiles_h - row0), 0, ld,
                    x + n * p->c * p->h * p->w, v, m, y + n * p->k * p->p * p->q,
                    NULL, 0, 0, (float *) u };

        b.tb = (gsize) b.rows * tiles_w;
        loom_threads_parallel_for (threads, p->c, 1, input_channels, &b);
        loom_threads_parallel_for (threads, 16, 1, forward_gemms, &b);
        loom_threads_parallel_for (threads, p->k, 1, output_channels, &b);
      }
  g_free (v);
  g_free (m);
}

void
loom_winograd_forward (const LoomConvParams *p, const float *x, const float *w, float *y,
                       LoomThreads *threads)
{
  float *u = g_new (float, 16 * p->k * p->c);

  forward_u (p, w, u);
  forward_transformed (p, x, u, y, threads);
  g_free (u);
}

void
loom_winograd_backward_data (const LoomConvParams *p, const float *dy, const float *w,
                             float *dx, LoomThreads *threads)
{
  /* dx = conv(dy, w flipped, channels swapped), padding 2 − pad. */
  LoomConvParams t = *p;
  float *u = g_new (float, 16 * p->k * p->c);

  t.c = p->k, t.k = p->c, t.h = p->p, t.w = p->q, t.p = p->h, t.q = p->w;
  t.pad_h = 2 - p->pad_h, t.pad_w = 2 - p->pad_w;
  for (gsize k = 0; k < p->k; k++)
    for (gsize c = 0; c < p->c; c++)
      {
        const float *g = w + (k * p->c + c) * 9;
        float flipped[9];

        for (int i = 0; i < 9; i++)
          flipped[i] = g[8 - i];
        transform_kernel (flipped, u + c * p->k + k, (gsize) p->k * p->c);
      }
  forward_transformed (&t, dy, u, dx, threads);
  g_free (u);
}

void
loom_winograd_backward_weight (const LoomConvParams *p, const float *x, const float *dy,
                               float *ws, LoomThreads *threads)
{
  guint tiles_w = (p->q + 1) / 2;
  guint rows = block_rows (p, tiles_w);
  gsize ld = leading (rows, tiles_w), pq = (gsize) p->p * p->q, npq = p->n * pq;
  gsize kc = (gsize) p->k * p->c;
  float *v = g_new (float, 16 * p->c * ld);
  float *z = g_new (float, 16 * p->k * ld);
  float *du = g_new (float, 16 * kc);

  for (gsize slice = 0; slice < p->splits; slice++)
    {
      gsize lo = loom_conv_slice_begin (slice, npq, p->splits);
      gsize hi = loom_conv_slice_begin (slice + 1, npq, p->splits);

      memset (du, 0, 16 * kc * sizeof (float));
      for (gsize n = lo / pq; n < p->n && n * pq < hi; n++)
        {
          gsize a = MAX (lo, n * pq) - n * pq, e = MIN (hi, (n + 1) * pq) - n * pq;
          guint first_row, end_row;

          if (e <= a)
            continue;
          first_row = (guint) (a / p->q / 2);
          end_row = (guint) ((e - 1) / p->q / 2 + 1);
          for (guint row0 = first_row; row0 < end_row; row0 += rows)
            {
              Block b = { p, tiles_w, row0, MIN (rows, end_row - row0), 0, ld,
                          x + n * p->c * p->h * p->w, v, z, NULL,
                          dy + n * p->k * pq, a, e, du };

              b.tb = (gsize) b.rows * tiles_w;
              loom_threads_parallel_for (threads, p->c, 1, input_channels, &b);
              loom_threads_parallel_for (threads, p->k, 1, grad_channels, &b);
              loom_threads_parallel_for (threads, 16, 1, weight_gemms, &b);
            }
        }
      for (gsize i = 0; i < kc; i++)
        untransform_kernel (du + i, kc, ws + (slice * kc + i) * 9);
    }
  g_free (v);
  g_free (z);
  g_free (du);
}
