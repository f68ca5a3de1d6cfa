/* dx = ∂L/∂x of a convolution.  CPU: OpenBLAS (wᵀ · dy) into patch columns,
 * added back into dx; Vulkan: a gather over every padded position that
 * reads each pixel (shaders/conv2d_backward_data.comp), no atomics. */
#include <string.h>

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

static void
backward_data_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomConvParams *p = params;
  gsize crs = (gsize) p->c * p->r * p->s, pq = (gsize) p->p * p->q;
  gsize chw = (gsize) p->c * p->h * p->w;
  gsize chunk = loom_conv_chunk (p);
  float *col;

  if (loom_winograd_fits_backward_data (p) && !loom_winograd_disabled ())
    {
      loom_winograd_backward_data (p, b[DY_], b[W_], b[DX_], threads);
      return;
    }
  col = g_new (float, crs * chunk);
  memset (b[DX_], 0, p->n * chw * sizeof (float));
  for (gsize n = 0; n < p->n; n++)
    for (gsize first = 0; first < pq; first += chunk)
      {
        gsize count = MIN (chunk, pq - first);

        loom_sgemm (threads, TRUE, FALSE, (int) crs, (int) count, (int) p->k, 1.0f,
                    b[W_], (int) crs, b[DY_] + n * p->k * pq + first, (int) pq,
                    0.0f, col, (int) count);
        loom_conv_col2im (p, col, first, count, b[DX_] + n * chw, threads);
      }
  g_free (col);
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
  .params_size = sizeof (LoomConvParams),
  .tolerance = 1e-5,
  .binding_lengths = backward_data_lengths,
  .reference = backward_data_reference,
  .cpu = backward_data_cpu,
  .vk_spec = loom_tile_vk_spec,
  .vk_groups = backward_data_vk_groups,
  .flops = loom_conv_flops,
  .test_case = loom_conv_test_case,
  .spirv = loom_spv_conv2d_backward_data,
  .spirv_size = sizeof (loom_spv_conv2d_backward_data),
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
