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
loom_conv_chunk_span (const LoomConvParams *p, gsize rows)
{
  /* 2^18 floats (1 MiB) per thread: measured best on convT 4×4 128→64 and
   * around (2^16: 12 % slower, 2^20: no faster). */
  return MAX ((gsize) 16, ((gsize) 1 << 18) / MAX (rows, 1) / 16 * 16);
}

gsize
loom_conv_chunk (const LoomConvParams *p, gsize rows)
{
  return MIN ((gsize) p->p * p->q, loom_conv_chunk_span (p, rows));
}

/* Tap (r, s) of one patch-matrix row: output column q reads input column
 * q·stride + offset; columns [lo, hi) of the output row read inside the
 * image (the others read padding). */
typedef struct
{
  gsize  r, s;
  gint64 offset;
  gsize  lo, hi;
} Tap;

static Tap
tap_of (const LoomConvParams *p, gsize row)
{
  Tap t = { row / p->s % p->r, row % p->s, 0, 0, 0 };
  gint64 first_in, last_in;

  t.offset = (gint64) t.s * p->dil_w - p->pad_w;
  first_in = t.offset >= 0 ? 0 : (-t.offset + p->stride_w - 1) / p->stride_w;
  last_in = (gint64) p->w - 1 - t.offset < 0 ? -1 : ((gint64) p->w - 1 - t.offset) / p->stride_w;
  t.lo = (gsize) CLAMP (first_in, 0, (gint64) p->q);
  t.hi = (gsize) CLAMP (last_in + 1, (gint64) t.lo, (gint64) p->q);
  return t;
}

/* Input row of output row OP through tap T, or -1 (zeros). */
static inline gint64
tap_row (const LoomConvParams *p, const Tap *t, gsize op)
{
  return loom_conv_pad_index ((gint64) (op * p->stride_h + t->r * p->dil_h) - p->pad_h,
                              p->h, p->pad_mode);
}

/* Input column of output column Q through tap T when it reads padding. */
static inline gint64
tap_edge (const LoomConvParams *p, const Tap *t, gsize q)
{
  return loom_conv_pad_index ((gint64) (q * p->stride_w) + t->offset, p->w, p->pad_mode);
}

/* One patch-matrix row (tap T of PLANE) over columns [first, first + count). */
static void
gather_row (const LoomConvParams *p, const Tap *t, const float *plane, gsize first,
            gsize count, float *line)
{
  gsize end = first + count, op = first / p->q, q0 = first % p->q;

  for (gsize pq = first; pq < end; op++, q0 = 0)
    {
      gsize q1 = MIN ((gsize) p->q, q0 + (end - pq));
      gsize lo = CLAMP (t->lo, q0, q1), hi = CLAMP (t->hi, lo, q1);
      gint64 h = tap_row (p, t, op);
      float *out = line + (pq - first) - q0;    /* indexed by q */
      const float *in;

      pq += q1 - q0;
      if (h < 0)
        {
          memset (out + q0, 0, (q1 - q0) * sizeof (float));
          continue;
        }
      in = plane + h * p->w;
      for (gsize q = q0; q < lo; q++)
        {
          gint64 w = tap_edge (p, t, q);

          out[q] = w < 0 ? 0.0f : in[w];
        }
      if (p->stride_w == 1)
        memcpy (out + lo, in + lo + t->offset, (hi - lo) * sizeof (float));
      else
        for (gsize q = lo; q < hi; q++)
          out[q] = in[q * p->stride_w + t->offset];
      for (gsize q = hi; q < q1; q++)
        {
          gint64 w = tap_edge (p, t, q);

          out[q] = w < 0 ? 0.0f : in[w];
        }
    }
}

void
loom_conv_im2col_rows (const LoomConvParams *p, const float *x, gsize first, gsize count,
                       gsize row_begin, gsize row_end, float *col)
{
  gsize pq = (gsize) p->p * p->q, chw = (gsize) p->c * p->h * p->w;

  for (gsize row = row_begin; row < row_end; row++)
    {
      Tap t = tap_of (p, row);
      const float *plane = x + row / (p->r * p->s) * p->h * p->w;

      /* A piece of each image the columns cross. */
      for (gsize done = 0; done < count;)
        {
          gsize at = first + done, in = at % pq, piece = MIN (pq - in, count - done);

          gather_row (p, &t, plane + at / pq * chw, in, piece,
                      col + (row - row_begin) * count + done);
          done += piece;
        }
    }
}

/* The reverse of gather_row: adds LINE into PLANE where it was read. */
static void
scatter_row (const LoomConvParams *p, const Tap *t, const float *line, gsize first,
             gsize count, float *plane)
{
  gsize end = first + count, op = first / p->q, q0 = first % p->q;

  for (gsize pq = first; pq < end; op++, q0 = 0)
    {
      gsize q1 = MIN ((gsize) p->q, q0 + (end - pq));
      gsize lo = CLAMP (t->lo, q0, q1), hi = CLAMP (t->hi, lo, q1);
      gint64 h = tap_row (p, t, op);
      const float *in = line + (pq - first) - q0;
      float *out;

      pq += q1 - q0;
      if (h < 0)
        continue;
      out = plane + h * p->w;
      for (gsize q = q0; q < lo; q++)
        {
          gint64 w = tap_edge (p, t, q);

          if (w >= 0)
            out[w] += in[q];
        }
      if (p->stride_w == 1)
        {
          float *run = out + t->offset;

          for (gsize q = lo; q < hi; q++)
            run[q] += in[q];
        }
      else
        for (gsize q = lo; q < hi; q++)
          out[q * p->stride_w + t->offset] += in[q];
      for (gsize q = hi; q < q1; q++)
        {
          gint64 w = tap_edge (p, t, q);

          if (w >= 0)
            out[w] += in[q];
        }
    }
}

void
loom_conv_col2im_channels (const LoomConvParams *p, const float *col, gsize first, gsize count,
                           gsize c_begin, gsize c_end, float *dx)
{
  gsize rs = (gsize) p->r * p->s, pq = (gsize) p->p * p->q;
  gsize chw = (gsize) p->c * p->h * p->w;

  for (gsize c = c_begin; c < c_end; c++)
    for (gsize i = 0; i < rs; i++)
      {
        Tap t = tap_of (p, i);
        const float *line = col + ((c - c_begin) * rs + i) * count;

        for (gsize done = 0; done < count;)
          {
            gsize at = first + done, in = at % pq, piece = MIN (pq - in, count - done);

            scatter_row (p, &t, line + done, in, piece, dx + at / pq * chw + c * p->h * p->w);
            done += piece;
          }
      }
}

void
loom_conv_gather_columns (const LoomConvParams *p, const float *y, gsize first, gsize count,
                          float *out)
{
  gsize pq = (gsize) p->p * p->q;

  for (gsize done = 0; done < count;)
    {
      gsize at = first + done, in = at % pq, piece = MIN (pq - in, count - done);
      const float *image = y + at / pq * p->k * pq + in;

      for (gsize k = 0; k < p->k; k++)
        memcpy (out + k * count + done, image + k * pq, piece * sizeof (float));
      done += piece;
    }
}

void
loom_conv_scatter_columns (const LoomConvParams *p, const float *in, gsize first, gsize count,
                           float *y)
{
  gsize pq = (gsize) p->p * p->q;

  for (gsize done = 0; done < count;)
    {
      gsize at = first + done, i = at % pq, piece = MIN (pq - i, count - done);
      float *image = y + at / pq * p->k * pq + i;

      for (gsize k = 0; k < p->k; k++)
        memcpy (image + k * pq, in + k * count + done, piece * sizeof (float));
      done += piece;
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
    /* channel counts in multiples of 8 (the CPU's small Winograd GEMMs) */
    { 2, 5, 10, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_REFLECT },
    { 1, 8, 9, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, LOOM_PAD_ZERO },
    /* kernels that cover the input (one GEMM for the batch on the CPU) */
    { 3, 5, 4, 4, 6, 4, 4, 2, 2, 0, 0, 1, 1, LOOM_PAD_ZERO },
    { 5, 3, 3, 2, 1, 3, 2, 1, 1, 0, 0, 1, 1, LOOM_PAD_REFLECT },
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
