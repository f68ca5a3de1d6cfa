/* y = conv(x, w) + bias.  CPU: Winograd F(2×2, 3×3) for 3×3 stride-1
 * kernels, one GEMM for the batch where the kernel covers the input, else
 * im2col and OpenBLAS per thread, a cache-sized block of columns (or of
 * small whole images) at a time; Vulkan:
 * implicit GEMM (shaders/conv2d_forward.comp). */
#include <string.h>
#include <cblas.h>

#include "backend.h"
#include "cpu/sgemm.h"
#include "ops/conv.h"
#include "ops/tile.h"
#include "ops/winograd.h"
#include "conv2d_forward.spv.h"

enum { Y_, X_, W_, BIAS_ };

static void
forward_lengths (const void *params, gsize *lengths)
{
  const LoomConvParams *p = params;

  lengths[Y_] = (gsize) p->n * p->k * p->p * p->q;
  lengths[X_] = (gsize) p->n * p->c * p->h * p->w;
  lengths[W_] = (gsize) p->k * p->c * p->r * p->s;
  lengths[BIAS_] = p->has_bias ? p->k : 1;
}

static void
forward_reference (const void *params, float *const *b)
{
  const LoomConvParams *p = params;

  for (gsize n = 0; n < p->n; n++)
    for (gsize k = 0; k < p->k; k++)
      for (gsize op = 0; op < p->p; op++)
        for (gsize oq = 0; oq < p->q; oq++)
          {
            double sum = p->has_bias ? b[BIAS_][k] : 0.0;

            for (gsize c = 0; c < p->c; c++)
              for (gsize r = 0; r < p->r; r++)
                for (gsize s = 0; s < p->s; s++)
                  {
                    gint64 h = loom_conv_pad_index ((gint64) (op * p->stride_h + r * p->dil_h)
                                                    - p->pad_h, p->h, p->pad_mode);
                    gint64 w = loom_conv_pad_index ((gint64) (oq * p->stride_w + s * p->dil_w)
                                                    - p->pad_w, p->w, p->pad_mode);

                    if (h >= 0 && w >= 0)
                      sum += (double) b[X_][((n * p->c + c) * p->h + h) * p->w + w]
                             * b[W_][((k * p->c + c) * p->r + r) * p->s + s];
                  }
            b[Y_][((n * p->k + k) * p->p + op) * p->q + oq] = (float) sum;
          }
}

typedef struct
{
  const LoomConvParams *p;
  float                *y;
  const float          *bias;
} BiasJob;

static void
add_bias (gpointer data, gsize begin, gsize end)
{
  const BiasJob *job = data;
  gsize plane = (gsize) job->p->p * job->p->q;

  for (gsize nk = begin; nk < end; nk++)
    {
      float v = job->bias[nk % job->p->k];
      float *out = job->y + nk * plane;

      for (gsize i = 0; i < plane; i++)
        out[i] += v;
    }
}

typedef struct
{
  const LoomConvParams *p;
  float *const         *b;
  gsize                 chunk, chunks;   /* columns per block, blocks per image */
  gsize                 group;           /* images per block, when one is smaller than a block */
  gboolean              pointwise;       /* 1×1, stride 1, unpadded: x is the patch matrix */
} ForwardJob;

/* Items [begin, end), each an (image, column block) or a group of whole
 * images: the thread gathers its patch block (in its own cache) and
 * multiplies it.  Small images are grouped so that one GEMM gets enough
 * columns to pay for packing the weights. */
static void
forward_items (gpointer data, gsize begin, gsize end)
{
  const ForwardJob *j = data;
  const LoomConvParams *p = j->p;
  gsize crs = (gsize) p->c * p->r * p->s, pq = (gsize) p->p * p->q;
  gsize columns = j->group > 1 ? j->group * pq : j->chunk;
  float *col = j->pointwise ? NULL : g_new (float, crs * columns);
  float *out = j->group > 1 ? g_new (float, (gsize) p->k * columns) : NULL;

  for (gsize item = begin; item < end; item++)
    {
      gsize n = j->group > 1 ? item * j->group : item / j->chunks;
      gsize first = j->group > 1 ? 0 : item % j->chunks * j->chunk;
      gsize count = j->group > 1 ? MIN (j->group, p->n - n) * pq : MIN (j->chunk, pq - first);
      const float *x = j->b[X_] + n * p->c * p->h * p->w;
      gboolean whole = first + count <= pq;     /* inside image n: straight into y */

      if (!j->pointwise)
        loom_conv_im2col_rows (p, x, first, count, 0, crs, col);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) p->k, (int) count,
                   (int) crs, 1.0f, j->b[W_], (int) crs,
                   j->pointwise ? x + first : col, j->pointwise ? (int) pq : (int) count,
                   0.0f, whole ? j->b[Y_] + n * p->k * pq + first : out,
                   whole ? (int) pq : (int) count);
      if (!whole)
        loom_conv_scatter_columns (p, out, n * pq + first, count, j->b[Y_]);
    }
  g_free (col);
  g_free (out);
}

/* The kernel covers the input: y (N × K) = x (N × C·R·S) · wᵀ. */
static void
forward_dense (const LoomConvParams *p, float *const *b, LoomThreads *threads)
{
  int crs = (int) (p->c * p->r * p->s);

  loom_sgemm (threads, FALSE, TRUE, (int) p->n, (int) p->k, crs, 1.0f, b[X_], crs,
              b[W_], crs, 0.0f, b[Y_], (int) p->k);
}

static void
forward_gemm (const LoomConvParams *p, float *const *b, LoomThreads *threads)
{
  gsize pq = (gsize) p->p * p->q;
  ForwardJob job = { p, b, loom_conv_chunk (p, (gsize) p->c * p->r * p->s), 0, 1, FALSE };

  job.pointwise = p->r == 1 && p->s == 1 && p->stride_h == 1 && p->stride_w == 1
               && p->pad_h == 0 && p->pad_w == 0;
  job.chunks = (pq + job.chunk - 1) / job.chunk;
  if (job.chunks == 1 && !job.pointwise && pq < LOOM_CONV_WIDE_IMAGE)
    job.group = MAX (loom_conv_chunk_span (p, (gsize) p->c * p->r * p->s) / pq, 1);
  if (job.group > 1)
    loom_threads_parallel_for (threads, (p->n + job.group - 1) / job.group, 1, forward_items,
                               &job);
  else
    loom_threads_parallel_for (threads, p->n * job.chunks, 1, forward_items, &job);
}

static void
forward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomConvParams *p = params;

  if (loom_winograd_fits (p) && !loom_winograd_disabled ())
    loom_winograd_forward (p, b[X_], b[W_], b[Y_], threads);
  else if (loom_conv_is_dense (p))
    forward_dense (p, b, threads);
  else
    forward_gemm (p, b, threads);
  if (p->has_bias)
    {
      BiasJob job = { p, b[Y_], b[BIAS_] };

      loom_threads_parallel_for (threads, (gsize) p->n * p->k, 1, add_bias, &job);
    }
}

static guint
forward_vk_spec (const LoomLimits *limits, guint32 *spec)
{
  guint n = loom_tile_vk_spec (limits, spec);

  /* lavapipe, conv3x3 64→64 on 256²: 64×4 invocations of 8×8 run at 13.4
   * GFLOP/s, the GEMM's 16×16 at 7.3 (32×8: 12.2, 256×1: 13.6). */
  if (limits->cpu_like)
    {
      spec[LOOM_TILE_WG_X] = 64;
      spec[LOOM_TILE_WG_Y] = 4;
    }
  return n;
}

static void
forward_vk_groups (const void *params, const guint32 *spec,
                   const LoomLimits *limits, guint32 *groups)
{
  const LoomConvParams *p = params;

  loom_tile_groups (p->k, p->n * p->p * p->q, 1, spec, limits, groups);
}

const LoomOp loom_op_conv2d_forward = {
  .name = "conv2d_forward",
  .n_bindings = 4,
  .read_mask = (1 << X_) | (1 << W_) | (1 << BIAS_),
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (conv2d_forward, LoomConvParams),
  .tolerance = 1e-5,
  .binding_lengths = forward_lengths,
  .reference = forward_reference,
  .cpu = forward_cpu,
  .vk_spec = forward_vk_spec,
  .vk_groups = forward_vk_groups,
  .flops = loom_conv_flops,
  .test_case = loom_conv_test_case,
};

gboolean
loom_conv2d_forward (const LoomConv2d *conv, LoomBuffer *y, LoomBuffer *x,
                     LoomBuffer *w, LoomBuffer *bias, GError **error)
{
  LoomConvParams p;
  LoomSpan spans[4];

  g_return_val_if_fail (conv != NULL && y != NULL && x != NULL && w != NULL, FALSE);
  if (!loom_conv_params_init (&p, conv, "conv2d_forward", error))
    return FALSE;
  p.has_bias = bias != NULL;
  spans[Y_] = (LoomSpan) { y, 0, y->length };
  spans[X_] = (LoomSpan) { x, 0, x->length };
  spans[W_] = (LoomSpan) { w, 0, w->length };
  /* Without bias the shader binds w there and never reads it. */
  spans[BIAS_] = bias ? (LoomSpan) { bias, 0, bias->length } : (LoomSpan) { w, 0, w->length };
  return loom_op_run (&loom_op_conv2d_forward, &p, spans, error);
}
