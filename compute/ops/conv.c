#include <string.h>

#include "backend.h"
#include "ops/conv.h"

static guint
at_least_1 (guint v)
{
  return v == 0 ? 1 : v;
}

gboolean
loom_conv_params_init (LoomConvParams *p, const LoomConv2d *conv, const char *op, GError **error)
{
  guint64 eff_r, eff_s, span_h, span_w;
  const char *why = NULL;

  memset (p, 0, sizeof *p);
  p->n = conv->batch;
  p->c = conv->in_channels;
  p->h = conv->in_height;
  p->w = conv->in_width;
  p->k = conv->out_channels;
  p->r = conv->kernel_h;
  p->s = conv->kernel_w;
  p->stride_h = at_least_1 (conv->stride_h);
  p->stride_w = at_least_1 (conv->stride_w);
  p->pad_h = conv->pad_h;
  p->pad_w = conv->pad_w;
  p->dil_h = at_least_1 (conv->dilation_h);
  p->dil_w = at_least_1 (conv->dilation_w);
  p->pad_mode = conv->pad_mode;

  eff_r = (guint64) p->dil_h * (p->r - 1) + 1;
  eff_s = (guint64) p->dil_w * (p->s - 1) + 1;
  span_h = (guint64) p->h + 2 * (guint64) p->pad_h;
  span_w = (guint64) p->w + 2 * (guint64) p->pad_w;
  if (p->n == 0 || p->c == 0 || p->h == 0 || p->w == 0 || p->k == 0 || p->r == 0 || p->s == 0)
    why = "every size must be at least 1";
  else if (conv->pad_mode > LOOM_PAD_CIRCULAR)
    why = "unknown padding mode";
  else if (conv->pad_mode == LOOM_PAD_REFLECT && (p->pad_h >= p->h || p->pad_w >= p->w))
    why = "reflect padding must be smaller than the input";
  else if (conv->pad_mode == LOOM_PAD_CIRCULAR && (p->pad_h > p->h || p->pad_w > p->w))
    why = "circular padding cannot exceed the input";
  else if (eff_r > span_h || eff_s > span_w)
    why = "the kernel is larger than the padded input";
  else if ((guint64) p->n * p->c * p->h * p->w > G_MAXUINT32
           || (guint64) p->k * p->c * p->r * p->s > G_MAXUINT32)
    why = "a tensor has more than 2^32 elements";
  if (why == NULL)
    {
      p->p = (guint32) ((span_h - eff_r) / p->stride_h + 1);
      p->q = (guint32) ((span_w - eff_s) / p->stride_w + 1);
      if ((guint64) p->n * p->k * p->p * p->q > G_MAXUINT32)
        why = "the output has more than 2^32 elements";
    }
  if (why != NULL)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: %s (input %u×%u×%u×%u, weights %u×%u×%u×%u, stride %u×%u, "
                   "padding %u×%u, dilation %u×%u)", op, why, conv->batch, conv->in_channels,
                   conv->in_height, conv->in_width, conv->out_channels, conv->in_channels,
                   conv->kernel_h, conv->kernel_w, p->stride_h, p->stride_w, p->pad_h,
                   p->pad_w, p->dil_h, p->dil_w);
      return FALSE;
    }
  p->splits = loom_conv_splits (p);
  return TRUE;
}

gboolean
loom_conv2d_output_size (const LoomConv2d *conv, guint *out_h, guint *out_w, GError **error)
{
  LoomConvParams p;

  if (!loom_conv_params_init (&p, conv, "conv2d", error))
    return FALSE;
  *out_h = p.p;
  *out_w = p.q;
  return TRUE;
}

/* Slices of N·P·Q for the weight gradient: enough partial sums to fill a
 * GPU, few enough that summing them stays cheap. */
guint32
loom_conv_splits (const LoomConvParams *p)
{
  guint64 npq = (guint64) p->n * p->p * p->q;

  return (guint32) CLAMP (npq / 2048, 1, 64);
}

gsize
loom_conv_slice_begin (gsize i, gsize count, gsize slices)
{
  return i * (count / slices) + MIN (i, count % slices);
}

/* About two blocks per thread. */
guint
loom_conv_channel_block (const LoomConvParams *p, guint images, LoomThreads *threads)
{
  guint want = 2 * loom_threads_get_count (threads);
  guint blocks = MIN (p->c, (want + images - 1) / images);

  return (p->c + MAX (blocks, 1) - 1) / MAX (blocks, 1);
}

gsize
loom_conv_chunk (const LoomConvParams *p, gsize rows)
{
  gsize pq = (gsize) p->p * p->q;

  /* 2^18 floats (1 MiB) per thread: measured best on convT 4×4 128→64 and
   * around (2^16: 12 % slower, 2^20: no faster). */
  return MIN (pq, MAX ((gsize) 16, ((gsize) 1 << 18) / MAX (rows, 1) / 16 * 16));
}

/* Visits the patch-matrix row of tap (r, s) over columns [first, first +
 * count) one output row at a time: FUNC gets the column offset, the input
 * row (-1 for zeros), the first output column q0 and how many follow. */
typedef void (*RowSegment) (const LoomConvParams *p, gsize s, gsize col, gint64 h,
                            gsize q0, gsize n, gpointer data);

static void
for_each_segment (const LoomConvParams *p, gsize r, gsize s, gsize first, gsize count,
                  RowSegment func, gpointer data)
{
  for (gsize pq = first; pq < first + count;)
    {
      gsize op = pq / p->q, q0 = pq % p->q;
      gsize n = MIN (p->q - q0, first + count - pq);
      gint64 h = loom_conv_pad_index ((gint64) (op * p->stride_h + r * p->dil_h) - p->pad_h,
                                      p->h, p->pad_mode);

      func (p, s, pq - first, h, q0, n, data);
      pq += n;
    }
}

/* Output columns [q0, q0 + n) of tap S read input columns q·stride − pad +
 * s·dil: the ones inside the image form one run [*lo, *hi). */
static void
inside_run (const LoomConvParams *p, gsize s, gsize q0, gsize n, gsize *lo, gsize *hi)
{
  gint64 offset = (gint64) s * p->dil_w - p->pad_w;
  gint64 first_in = offset >= 0 ? 0 : (-offset + p->stride_w - 1) / p->stride_w;
  gint64 last_in = ((gint64) p->w - 1 - offset) / p->stride_w;   /* inclusive */

  if ((gint64) p->w - 1 - offset < 0)
    last_in = -1;
  *lo = (gsize) CLAMP (first_in, (gint64) q0, (gint64) (q0 + n));
  *hi = (gsize) CLAMP (last_in + 1, (gint64) *lo, (gint64) (q0 + n));
}

typedef struct
{
  const LoomConvParams *p;
  const float          *src;
  float                *dst;
  gsize                 first, count;
  const float          *plane;    /* per row: the channel's input or gradient plane */
  float                *line;     /* per row: the patch-matrix row */
} PatchJob;

static void
gather_segment (const LoomConvParams *p, gsize s, gsize col, gint64 h, gsize q0, gsize n,
                gpointer data)
{
  PatchJob *job = data;
  float *out = job->line + col;
  const float *in;
  gsize lo, hi;

  if (h < 0)
    {
      memset (out, 0, n * sizeof (float));
      return;
    }
  in = job->plane + h * p->w;
  inside_run (p, s, q0, n, &lo, &hi);
  for (gsize q = q0; q < lo; q++)
    {
      gint64 w = loom_conv_pad_index ((gint64) (q * p->stride_w + s * p->dil_w) - p->pad_w,
                                      p->w, p->pad_mode);
      out[q - q0] = w < 0 ? 0.0f : in[w];
    }
  if (p->stride_w == 1)
    memcpy (out + (lo - q0), in + lo + s * p->dil_w - p->pad_w, (hi - lo) * sizeof (float));
  else
    for (gsize q = lo; q < hi; q++)
      out[q - q0] = in[q * p->stride_w + s * p->dil_w - p->pad_w];
  for (gsize q = hi; q < q0 + n; q++)
    {
      gint64 w = loom_conv_pad_index ((gint64) (q * p->stride_w + s * p->dil_w) - p->pad_w,
                                      p->w, p->pad_mode);
      out[q - q0] = w < 0 ? 0.0f : in[w];
    }
}

void
loom_conv_im2col_rows (const LoomConvParams *p, const float *x, gsize first, gsize count,
                       gsize row_begin, gsize row_end, float *col)
{
  PatchJob job = { p, x, col, first, count, NULL, NULL };

  for (gsize row = row_begin; row < row_end; row++)
    {
      gsize c = row / (p->r * p->s), r = row / p->s % p->r, s = row % p->s;

      job.plane = x + c * p->h * p->w;
      job.line = col + (row - row_begin) * count;
      for_each_segment (p, r, s, first, count, gather_segment, &job);
    }
}

static void
scatter_segment (const LoomConvParams *p, gsize s, gsize col, gint64 h, gsize q0, gsize n,
                 gpointer data)
{
  PatchJob *job = data;
  const float *in = job->plane + col;
  float *out;
  gsize lo, hi;

  if (h < 0)
    return;
  out = job->line + h * p->w;
  inside_run (p, s, q0, n, &lo, &hi);
  for (gsize q = q0; q < q0 + n; q++)
    {
      gint64 w;

      if (q == lo && hi > lo)
        {
          float *run = out + lo * p->stride_w + s * p->dil_w - p->pad_w;

          for (gsize i = 0; i < hi - lo; i++)
            run[i * p->stride_w] += in[lo - q0 + i];
          q = hi - 1;
          continue;
        }
      w = loom_conv_pad_index ((gint64) (q * p->stride_w + s * p->dil_w) - p->pad_w,
                               p->w, p->pad_mode);
      if (w >= 0)
        out[w] += in[q - q0];
    }
}

void
loom_conv_col2im_channels (const LoomConvParams *p, const float *col, gsize first, gsize count,
                           gsize c_begin, gsize c_end, float *dx)
{
  PatchJob job = { p, col, dx, first, count, NULL, NULL };

  for (gsize c = c_begin; c < c_end; c++)
    for (gsize r = 0; r < p->r; r++)
      for (gsize s = 0; s < p->s; s++)
        {
          job.plane = col + (((c - c_begin) * p->r + r) * p->s + s) * count;
          job.line = dx + c * p->h * p->w;
          for_each_segment (p, r, s, first, count, scatter_segment, &job);
        }
}

double
loom_conv_flops (const void *params)
{
  const LoomConvParams *p = params;

  return 2.0 * p->n * p->k * p->p * p->q * p->c * p->r * p->s;
}

gboolean
loom_conv_test_case (guint index, GRand *rand, void *params)
{
  LoomConvParams *p = params;
  /* N, C, H, W, K, R, S, stride h/w, pad h/w, dilation h/w, padding mode */
  static const guint32 shapes[][14] = {
    { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, LOOM_PAD_ZERO },
    { 2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_ZERO },
    { 1, 4, 13, 11, 5, 3, 3, 2, 2, 1, 1, 1, 1, LOOM_PAD_REFLECT },
    { 2, 3, 9, 10, 6, 3, 3, 1, 1, 2, 2, 2, 2, LOOM_PAD_CIRCULAR },
    { 1, 5, 8, 8, 7, 4, 4, 2, 2, 1, 1, 1, 1, LOOM_PAD_ZERO },
    { 3, 2, 6, 7, 3, 1, 1, 1, 1, 0, 0, 1, 1, LOOM_PAD_ZERO },
    { 1, 3, 16, 16, 8, 5, 5, 1, 1, 2, 2, 1, 1, LOOM_PAD_REFLECT },
    { 1, 2, 5, 6, 3, 3, 2, 2, 2, 1, 1, 1, 1, LOOM_PAD_CIRCULAR },
    { 2, 17, 12, 12, 19, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_ZERO },
    { 1, 3, 6, 5, 70, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_CIRCULAR },
    { 1, 1, 67, 130, 2, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_REFLECT },
    { 2, 3, 11, 9, 4, 3, 3, 2, 1, 1, 0, 1, 2, LOOM_PAD_ZERO },
    { 1, 2, 7, 7, 3, 3, 3, 3, 3, 3, 3, 1, 1, LOOM_PAD_CIRCULAR },
  };
  const guint32 *v;

  if (index >= 2 * G_N_ELEMENTS (shapes))
    return FALSE;
  v = shapes[index / 2];
  memset (p, 0, sizeof *p);
  p->n = v[0], p->c = v[1], p->h = v[2], p->w = v[3];
  p->k = v[4], p->r = v[5], p->s = v[6];
  p->stride_h = v[7], p->stride_w = v[8], p->pad_h = v[9], p->pad_w = v[10];
  p->dil_h = v[11], p->dil_w = v[12], p->pad_mode = v[13];
  p->p = (p->h + 2 * p->pad_h - p->dil_h * (p->r - 1) - 1) / p->stride_h + 1;
  p->q = (p->w + 2 * p->pad_w - p->dil_w * (p->s - 1) - 1) / p->stride_w + 1;
  /* Each shape twice: with and without bias, over 1 and several slices. */
  p->has_bias = index % 2;
  p->splits = index % 2 ? MIN (3, p->n * p->p * p->q) + (guint32) g_rand_int_range (rand, 0, 2) : 1;
  return TRUE;
}
