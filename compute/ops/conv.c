#include <string.h>

#include "backend.h"
#include "cpu/threads.h"
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

/* A window of padded rows of one input plane, each split by column phase
 * (padded column mod stride_w): phase f of a row holds padded columns f,
 * f + stride_w, …  Then the run of patch-matrix row (c, r, s) along an
 * output row is a contiguous run of one phase row, whatever the stride and
 * padding, and im2col and col2im are plain copies and sums that vectorise.
 * Rows [lo, lo + rows) of the padded plane; SPAN floats per phase row. */
typedef struct
{
  gsize  lo, rows, span;
  gsize  width;                 /* W + 2·pad_w */
  gint64 *src;                  /* padded column → input column, or -1 (zeros) */
  gsize  *dst;                  /* padded column → its offset in a window row */
  float  *buf;                  /* rows × stride_w × span */
} Window;

static void
window_init (Window *win, const LoomConvParams *p, gsize max_rows)
{
  win->width = p->w + 2 * (gsize) p->pad_w;
  win->span = (win->width + p->stride_w - 1) / p->stride_w;
  win->src = g_new (gint64, win->width);
  win->dst = g_new (gsize, win->width);
  for (gsize wp = 0; wp < win->width; wp++)
    {
      win->src[wp] = loom_conv_pad_index ((gint64) wp - p->pad_w, p->w, p->pad_mode);
      win->dst[wp] = wp % p->stride_w * win->span + wp / p->stride_w;
    }
  win->buf = g_new (float, MAX (max_rows, 1) * p->stride_w * win->span);
}

static void
window_clear (Window *win)
{
  g_free (win->src);
  g_free (win->dst);
  g_free (win->buf);
}

/* Most padded rows that output rows of COUNT columns read. */
static gsize
window_max_rows (const LoomConvParams *p, gsize count)
{
  gsize out_rows = MIN ((gsize) p->p, (count + p->q - 1) / p->q + 1);

  return (out_rows - 1) * p->stride_h + (p->r - 1) * p->dil_h + 1;
}

/* The window the output rows [op0, op1] read. */
static void
window_place (Window *win, const LoomConvParams *p, gsize op0, gsize op1)
{
  win->lo = op0 * p->stride_h;
  win->rows = (op1 - op0) * p->stride_h + (p->r - 1) * p->dil_h + 1;
}

/* Start of the run of tap (r, s) along output row OP (column 0). */
static inline float *
window_run (const Window *win, const LoomConvParams *p, gsize op, gsize r, gsize s)
{
  gsize hp = op * p->stride_h + r * p->dil_h - win->lo, wp = s * p->dil_w;

  return win->buf + (hp * p->stride_w + wp % p->stride_w) * win->span + wp / p->stride_w;
}

/* The window of PLANE, padding included. */
static void
window_fill (Window *win, const LoomConvParams *p, const float *plane)
{
  gsize row = (gsize) p->stride_w * win->span;

  for (gsize i = 0; i < win->rows; i++)
    {
      gint64 h = loom_conv_pad_index ((gint64) (win->lo + i) - p->pad_h, p->h, p->pad_mode);
      float *out = win->buf + i * row;
      const float *in;

      if (h < 0)
        {
          memset (out, 0, row * sizeof (float));
          continue;
        }
      in = plane + h * p->w;
      for (gsize wp = 0; wp < win->width; wp++)
        out[win->dst[wp]] = win->src[wp] < 0 ? 0.0f : in[win->src[wp]];
    }
}

/* The reverse: adds the window into PLANE where its values were read. */
static void
window_fold (const Window *win, const LoomConvParams *p, float *plane)
{
  gsize row = (gsize) p->stride_w * win->span;

  for (gsize i = 0; i < win->rows; i++)
    {
      gint64 h = loom_conv_pad_index ((gint64) (win->lo + i) - p->pad_h, p->h, p->pad_mode);
      const float *in = win->buf + i * row;
      float *out;

      if (h < 0)
        continue;
      out = plane + h * p->w;
      for (gsize wp = 0; wp < win->width; wp++)
        if (win->src[wp] >= 0)
          out[win->src[wp]] += in[win->dst[wp]];
    }
}

static inline void
copy_run (float *restrict out, const float *restrict in, gsize count)
{
  for (gsize i = 0; i < count; i++)
    out[i] = in[i];
}

static inline void
add_run (float *restrict out, const float *restrict in, gsize count)
{
  for (gsize i = 0; i < count; i++)
    out[i] += in[i];
}

void
loom_conv_im2col_rows (const LoomConvParams *p, const float *x, gsize first, gsize count,
                       gsize row_begin, gsize row_end, float *col)
{
  gsize rs = (gsize) p->r * p->s, pq = (gsize) p->p * p->q;
  gsize chw = (gsize) p->c * p->h * p->w, hw = (gsize) p->h * p->w;
  gsize step = (gsize) p->stride_h * p->stride_w;    /* × span: one output row down */
  Window win;

  if (row_begin >= row_end)
    return;
  window_init (&win, p, window_max_rows (p, MIN (count, pq)));
  step *= win.span;
  /* A piece of each image the columns cross, a channel at a time. */
  for (gsize done = 0; done < count;)
    {
      gsize at = first + done, in = at % pq, piece = MIN (pq - in, count - done);
      const float *image = x + at / pq * chw;

      gsize op0 = in / p->q, q0 = in % p->q;

      window_place (&win, p, op0, (in + piece - 1) / p->q);
      for (gsize c = row_begin / rs; c * rs < row_end; c++)
        {
          window_fill (&win, p, image + c * hw);
          for (gsize row = MAX (c * rs, row_begin); row < MIN ((c + 1) * rs, row_end); row++)
            {
              gsize r = row / p->s % p->r, s = row % p->s;
              float *line = col + (row - row_begin) * count + done;

              const float *run = window_run (&win, p, op0, r, s);

              for (gsize i = 0, q = q0; i < piece; q = 0, run += step)
                {
                  gsize n = MIN (p->q - q, piece - i);

                  copy_run (line + i, run + q, n);
                  i += n;
                }
            }
        }
      done += piece;
    }
  window_clear (&win);
}

void
loom_conv_col2im_channels (const LoomConvParams *p, const float *col, gsize first, gsize count,
                           gsize c_begin, gsize c_end, float *dx)
{
  gsize rs = (gsize) p->r * p->s, pq = (gsize) p->p * p->q;
  gsize chw = (gsize) p->c * p->h * p->w, hw = (gsize) p->h * p->w;
  gsize step = (gsize) p->stride_h * p->stride_w;
  Window win;

  if (c_begin >= c_end)
    return;
  window_init (&win, p, window_max_rows (p, MIN (count, pq)));
  step *= win.span;
  for (gsize done = 0; done < count;)
    {
      gsize at = first + done, in = at % pq, piece = MIN (pq - in, count - done);
      float *image = dx + at / pq * chw;

      gsize op0 = in / p->q, q0 = in % p->q;

      window_place (&win, p, op0, (in + piece - 1) / p->q);
      for (gsize c = c_begin; c < c_end; c++)
        {
          memset (win.buf, 0, win.rows * p->stride_w * win.span * sizeof (float));
          for (gsize i = 0; i < rs; i++)
            {
              gsize r = i / p->s, s = i % p->s;
              const float *line = col + ((c - c_begin) * rs + i) * count + done;

              float *run = window_run (&win, p, op0, r, s);

              for (gsize j = 0, q = q0; j < piece; q = 0, run += step)
                {
                  gsize n = MIN (p->q - q, piece - j);

                  add_run (run + q, line + j, n);
                  j += n;
                }
            }
          window_fold (&win, p, image + c * hw);
        }
      done += piece;
    }
  window_clear (&win);
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
