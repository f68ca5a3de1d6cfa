/* Partial weight gradients of a convolution, a split reduction: slice i of
 * the N·P·Q output pixels gives ws[i] = Σ dy · x_padded, a K × (C·R·S)
 * matrix; sum_slices adds the slices, channel_sum gives the bias gradient.
 * CPU: im2col and OpenBLAS per (slice, channel block), one GEMM per slice
 * where the kernel covers the input; Vulkan: implicit GEMM, a workgroup
 * layer per slice (shaders/conv2d_backward_weight.comp). */
#include <string.h>
#include <cblas.h>

#include "backend.h"
#include "cpu/sgemm.h"
#include "ops/reduce.h"
#include "ops/conv.h"
#include "ops/tile.h"
#include "ops/winograd.h"
#include "conv2d_backward_weight.spv.h"

enum { WS_, X_, DY_ };

static void
backward_weight_lengths (const void *params, gsize *lengths)
{
  const LoomConvParams *p = params;

  lengths[WS_] = (gsize) p->splits * p->k * p->c * p->r * p->s;
  lengths[X_] = (gsize) p->n * p->c * p->h * p->w;
  lengths[DY_] = (gsize) p->n * p->k * p->p * p->q;
}

static void
backward_weight_reference (const void *params, float *const *b)
{
  const LoomConvParams *p = params;
  gsize pq = (gsize) p->p * p->q, npq = p->n * pq, crs = (gsize) p->c * p->r * p->s;

  for (gsize slice = 0; slice < p->splits; slice++)
    for (gsize k = 0; k < p->k; k++)
      for (gsize e = 0; e < crs; e++)
        {
          gsize c = e / (p->r * p->s), r = e / p->s % p->r, s = e % p->s;
          double sum = 0.0;

          for (gsize t = loom_conv_slice_begin (slice, npq, p->splits);
               t < loom_conv_slice_begin (slice + 1, npq, p->splits); t++)
            {
              gsize n = t / pq, op = t % pq / p->q, oq = t % p->q;
              gint64 h = loom_conv_pad_index ((gint64) (op * p->stride_h + r * p->dil_h)
                                              - p->pad_h, p->h, p->pad_mode);
              gint64 w = loom_conv_pad_index ((gint64) (oq * p->stride_w + s * p->dil_w)
                                              - p->pad_w, p->w, p->pad_mode);

              if (h >= 0 && w >= 0)
                sum += (double) b[DY_][(n * p->k + k) * pq + t % pq]
                       * b[X_][((n * p->c + c) * p->h + h) * p->w + w];
            }
          b[WS_][(slice * p->k + k) * crs + e] = (float) sum;
        }
}

typedef struct
{
  const LoomConvParams *p;
  float *const         *b;
  guint                 cb, blocks;     /* channels per block, blocks per slice */
} WeightJob;

/* Items [begin, end), each a (slice, channel block): the thread gathers its
 * channels' patch rows over the slice and multiplies them by dy into its
 * columns of the slice's ws.  A block of columns may cross images (dy's
 * then copied side by side), so that small images still give the GEMM a
 * long inner dimension. */
static void
weight_items (gpointer data, gsize begin, gsize end)
{
  const WeightJob *j = data;
  const LoomConvParams *p = j->p;
  gsize rs = (gsize) p->r * p->s, crs = p->c * rs, pq = (gsize) p->p * p->q;
  gsize npq = p->n * pq, chunk = loom_conv_chunk_span (p, j->cb * rs);
  float *col, *dyt = NULL;

  if (pq >= LOOM_CONV_WIDE_IMAGE)
    chunk = MIN (chunk, pq);
  col = g_new (float, j->cb * rs * chunk);
  if (chunk > pq)
    dyt = g_new (float, (gsize) p->k * chunk);

  for (gsize item = begin; item < end; item++)
    {
      gsize slice = item / j->blocks, c0 = item % j->blocks * j->cb;
      gsize c1 = MIN (c0 + j->cb, p->c), rows = (c1 - c0) * rs;
      gsize lo = loom_conv_slice_begin (slice, npq, p->splits);
      gsize hi = loom_conv_slice_begin (slice + 1, npq, p->splits);
      float *ws = j->b[WS_] + slice * p->k * crs + c0 * rs;
      float beta = 0.0f;

      for (gsize k = 0; k < p->k; k++)
        memset (ws + k * crs, 0, rows * sizeof (float));
      for (gsize t = lo; t < hi;)
        {
          gsize n = t / pq, first = t % pq;
          gsize count = MIN (hi - t, dyt != NULL ? chunk : MIN (pq - first, chunk));
          gboolean whole = first + count <= pq;         /* inside image n: dy as it lies */

          if (!whole)
            loom_conv_gather_columns (p, j->b[DY_], t, count, dyt);
          loom_conv_im2col_rows (p, j->b[X_], t, count, c0 * rs, c1 * rs, col);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) p->k, (int) rows,
                       (int) count, 1.0f, whole ? j->b[DY_] + n * p->k * pq + first : dyt,
                       whole ? (int) pq : (int) count, col, (int) count, beta, ws, (int) crs);
          beta = 1.0f;
          t += count;
        }
    }
  g_free (col);
  g_free (dyt);
}

/* The kernel covers the input: each slice of images gives
 * ws (K × C·R·S) = dyᵀ (K × images) · x (images × C·R·S). */
static void
backward_weight_dense (const LoomConvParams *p, float *const *b, LoomThreads *threads)
{
  int crs = (int) (p->c * p->r * p->s);

  for (gsize slice = 0; slice < p->splits; slice++)
    {
      gsize lo = loom_conv_slice_begin (slice, p->n, p->splits);
      gsize hi = loom_conv_slice_begin (slice + 1, p->n, p->splits);
      float *ws = b[WS_] + slice * p->k * crs;

      if (hi == lo)
        memset (ws, 0, (gsize) p->k * crs * sizeof (float));
      else
        loom_sgemm (threads, TRUE, FALSE, (int) p->k, crs, (int) (hi - lo), 1.0f,
                    b[DY_] + lo * p->k, (int) p->k, b[X_] + lo * crs, crs, 0.0f, ws, crs);
    }
}

static void
backward_weight_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomConvParams *p = params;
  /* Slices as images: channel blocks only where slices are too few. */
  WeightJob job = { p, b, loom_conv_channel_block (p, p->splits, threads), 0 };

  if (loom_winograd_fits (p) && !loom_winograd_disabled ())
    {
      loom_winograd_backward_weight (p, b[X_], b[DY_], b[WS_], threads);
      return;
    }
  if (loom_conv_is_dense (p))
    {
      backward_weight_dense (p, b, threads);
      return;
    }
  job.blocks = (p->c + job.cb - 1) / job.cb;
  loom_threads_parallel_for (threads, (gsize) p->splits * job.blocks, 1, weight_items, &job);
}

static void
backward_weight_vk_groups (const void *params, const guint32 *spec,
                           const LoomLimits *limits, guint32 *groups)
{
  const LoomConvParams *p = params;

  loom_tile_groups (p->k, p->c * p->r * p->s, p->splits, spec, limits, groups);
}

const LoomOp loom_op_conv2d_backward_weight = {
  .name = "conv2d_backward_weight",
  .n_bindings = 3,
  .read_mask = (1 << X_) | (1 << DY_),
  .write_mask = 1 << WS_,
  LOOM_OP_SHADER (conv2d_backward_weight, LoomConvParams),
  .tolerance = 1e-5,
  .binding_lengths = backward_weight_lengths,
  .reference = backward_weight_reference,
  .cpu = backward_weight_cpu,
  .vk_spec = loom_tile_vk_spec,
  .vk_groups = backward_weight_vk_groups,
  .flops = loom_conv_flops,
  .test_case = loom_conv_test_case,
};

gboolean
loom_conv2d_backward_weight (const LoomConv2d *conv, LoomBuffer *dw, LoomBuffer *dbias,
                             LoomBuffer *x, LoomBuffer *dy, GError **error)
{
  LoomConvParams p;
  LoomSpan spans[3];
  LoomBuffer *ws;
  gboolean ok;

  g_return_val_if_fail (conv != NULL && dw != NULL && x != NULL && dy != NULL, FALSE);
  if (!loom_conv_params_init (&p, conv, "conv2d_backward_weight", error))
    return FALSE;
  if (dw->length < (gsize) p.k * p.c * p.r * p.s)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "conv2d_backward_weight: dw has %" G_GSIZE_FORMAT " floats, the weights "
                   "%u×%u×%u×%u need %" G_GSIZE_FORMAT, dw->length, p.k, p.c, p.r, p.s,
                   (gsize) p.k * p.c * p.r * p.s);
      return FALSE;
    }
  ws = loom_buffer_new (dw->device, (gsize) p.splits * p.k * p.c * p.r * p.s, error);
  if (ws == NULL)
    return FALSE;
  spans[WS_] = (LoomSpan) { ws, 0, ws->length };
  spans[X_] = (LoomSpan) { x, 0, x->length };
  spans[DY_] = (LoomSpan) { dy, 0, dy->length };
  ok = loom_op_run (&loom_op_conv2d_backward_weight, &p, spans, error)
    && loom_sum_slices (dw, ws, p.splits, error)
    && (dbias == NULL
        || loom_channel_sum (dbias, dy, p.n, p.k, (gsize) p.p * p.q, error));
  loom_buffer_free (ws);
  return ok;
}
