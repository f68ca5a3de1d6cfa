/* dx = ∂L/∂x of a convolution.  CPU: OpenBLAS (wᵀ · dy) into patch columns,
 * added back into dx (one GEMM for the batch where the kernel covers the
 * input); Vulkan: a gather over every padded position that
 * reads each pixel (shaders/conv2d_backward_data.comp), no atomics. */
#include <string.h>
#include <cblas.h>

#include "backend.h"
#include "cpu/sgemm.h"
#include "ops/conv.h"
#include "ops/tile.h"
#include "ops/winograd.h"
#include "conv2d_backward_data.spv.h"

enum { DX_, DY_, W_ };

static void
backward_data_lengths (const void *params, gsize *lengths)
{
  const LoomConvParams *p = params;

  lengths[DX_] = (gsize) p->n * p->c * p->h * p->w;
  lengths[DY_] = (gsize) p->n * p->k * p->p * p->q;
  lengths[W_] = (gsize) p->k * p->c * p->r * p->s;
}

/* The plain way round: every output scatters back along its taps. */
static void
backward_data_reference (const void *params, float *const *b)
{
  const LoomConvParams *p = params;
  gsize len = (gsize) p->n * p->c * p->h * p->w;
  double *dx = g_new0 (double, len);

  for (gsize n = 0; n < p->n; n++)
    for (gsize k = 0; k < p->k; k++)
      for (gsize op = 0; op < p->p; op++)
        for (gsize oq = 0; oq < p->q; oq++)
          {
            double g = b[DY_][((n * p->k + k) * p->p + op) * p->q + oq];

            for (gsize c = 0; c < p->c; c++)
              for (gsize r = 0; r < p->r; r++)
                for (gsize s = 0; s < p->s; s++)
                  {
                    gint64 h = loom_conv_pad_index ((gint64) (op * p->stride_h + r * p->dil_h)
                                                    - p->pad_h, p->h, p->pad_mode);
                    gint64 w = loom_conv_pad_index ((gint64) (oq * p->stride_w + s * p->dil_w)
                                                    - p->pad_w, p->w, p->pad_mode);

                    if (h >= 0 && w >= 0)
                      dx[((n * p->c + c) * p->h + h) * p->w + w]
                        += g * b[W_][((k * p->c + c) * p->r + r) * p->s + s];
                  }
          }
  for (gsize i = 0; i < len; i++)
    b[DX_][i] = (float) dx[i];
  g_free (dx);
}

typedef struct
{
  const LoomConvParams *p;
  float *const         *b;
  guint                 cb, blocks;     /* channels per block, blocks per image group */
  gsize                 chunk;          /* patch columns per GEMM */
  gsize                 group;          /* images per item, when one is smaller than a block */
} DataJob;

/* Items [begin, end), each an (image group, channel block): its patch rows
 * Wᵀ·dy a column block at a time, scattered into its own planes of dx.
 * Small images are grouped (their dy columns copied side by side) so that
 * one GEMM gets enough columns to pay for packing the weights. */
static void
data_items (gpointer data, gsize begin, gsize end)
{
  const DataJob *j = data;
  const LoomConvParams *p = j->p;
  gsize rs = (gsize) p->r * p->s, crs = p->c * rs, pq = (gsize) p->p * p->q;
  gsize hw = (gsize) p->h * p->w;
  float *col = g_new (float, j->cb * rs * j->chunk);
  float *dyt = j->group > 1 ? g_new (float, (gsize) p->k * j->chunk) : NULL;

  for (gsize item = begin; item < end; item++)
    {
      gsize n0 = item / j->blocks * j->group, n1 = MIN (n0 + j->group, p->n);
      gsize c0 = item % j->blocks * j->cb, c1 = MIN (c0 + j->cb, p->c);

      for (gsize n = n0; n < n1; n++)
        memset (j->b[DX_] + (n * p->c + c0) * hw, 0, (c1 - c0) * hw * sizeof (float));
      for (gsize first = n0 * pq; first < n1 * pq; first += j->chunk)
        {
          gsize count = MIN (j->chunk, n1 * pq - first);
          gboolean whole = first % pq + count <= pq;    /* inside one image: dy as it lies */

          if (!whole)
            loom_conv_gather_columns (p, j->b[DY_], first, count, dyt);
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) ((c1 - c0) * rs),
                       (int) count, (int) p->k, 1.0f, j->b[W_] + c0 * rs, (int) crs,
                       whole ? j->b[DY_] + first / pq * p->k * pq + first % pq : dyt,
                       whole ? (int) pq : (int) count, 0.0f, col, (int) count);
          loom_conv_col2im_channels (p, col, first, count, c0, c1, j->b[DX_]);
        }
    }
  g_free (col);
  g_free (dyt);
}

/* The kernel covers the input: dx (N × C·R·S) = dy (N × K) · w. */
static void
backward_data_dense (const LoomConvParams *p, float *const *b, LoomThreads *threads)
{
  int crs = (int) (p->c * p->r * p->s);

  loom_sgemm (threads, FALSE, FALSE, (int) p->n, crs, (int) p->k, 1.0f, b[DY_], (int) p->k,
              b[W_], crs, 0.0f, b[DX_], crs);
}

static void
backward_data_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomConvParams *p = params;
  gsize pq = (gsize) p->p * p->q;
  DataJob job = { p, b, loom_conv_channel_block (p, p->n, threads), 0, 0, 1 };
  gsize groups;

  if (loom_winograd_fits_backward_data (p) && !loom_winograd_disabled ())
    {
      loom_winograd_backward_data (p, b[DY_], b[W_], b[DX_], threads);
      return;
    }
  if (loom_conv_is_dense (p))
    {
      backward_data_dense (p, b, threads);
      return;
    }
  job.chunk = loom_conv_chunk (p, job.cb * p->r * p->s);
  if (job.chunk == pq && pq < LOOM_CONV_WIDE_IMAGE)
    {
      /* Whole images per block: as many as fit, channel blocks to fill the threads. */
      job.group = MAX (loom_conv_chunk_span (p, job.cb * p->r * p->s) / pq, 1);
      job.chunk = job.group * pq;
    }
  groups = (p->n + job.group - 1) / job.group;
  job.cb = loom_conv_channel_block (p, (guint) MIN (groups, G_MAXUINT), threads);
  job.blocks = (p->c + job.cb - 1) / job.cb;
  loom_threads_parallel_for (threads, groups * job.blocks, 1, data_items, &job);
}

static void
backward_data_vk_groups (const void *params, const guint32 *spec,
                         const LoomLimits *limits, guint32 *groups)
{
  const LoomConvParams *p = params;

  loom_tile_groups (p->c, p->n * p->h * p->w, 1, spec, limits, groups);
}

const LoomOp loom_op_conv2d_backward_data = {
  .name = "conv2d_backward_data",
  .n_bindings = 3,
  .read_mask = (1 << DY_) | (1 << W_),
  .write_mask = 1 << DX_,
  LOOM_OP_SHADER (conv2d_backward_data, LoomConvParams),
  .tolerance = 1e-5,
  .binding_lengths = backward_data_lengths,
  .reference = backward_data_reference,
  .cpu = backward_data_cpu,
  .vk_spec = loom_tile_vk_spec,
  .vk_groups = backward_data_vk_groups,
  .flops = loom_conv_flops,
  .test_case = loom_conv_test_case,
};

gboolean
loom_conv2d_backward_data (const LoomConv2d *conv, LoomBuffer *dx, LoomBuffer *dy,
                           LoomBuffer *w, GError **error)
{
  LoomConvParams p;
  LoomSpan spans[3];

  g_return_val_if_fail (conv != NULL && dx != NULL && dy != NULL && w != NULL, FALSE);
  if (!loom_conv_params_init (&p, conv, "conv2d_backward_data", error))
    return FALSE;
  spans[DX_] = (LoomSpan) { dx, 0, dx->length };
  spans[DY_] = (LoomSpan) { dy, 0, dy->length };
  spans[W_] = (LoomSpan) { w, 0, w->length };
  return loom_op_run (&loom_op_conv2d_backward_data, &p, spans, error);
}
