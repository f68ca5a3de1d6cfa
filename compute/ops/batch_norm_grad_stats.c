/* dβ[c] = Σ dy and dγ[c] = Σ dy · x̂ over the N·HW values of channel c. */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "batch_norm_grad_stats.spv.h"

static void
grad_stats_lengths (const void *params, gsize *l)
{
  const LoomBatchNormParams *p = params;

  l[0] = l[1] = l[4] = l[5] = p->c;
  l[2] = l[3] = LOOM_BN_VALUES (p);
}

static void
grad_stats_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  gsize m = (gsize) p->n * p->hw;

  for (gsize c = begin; c < end; c++)
    {
      double s1 = 0.0, s2 = 0.0;
      float r = loom_bn_rstd (p, b[5][c]);

      for (gsize t = 0; t < m; t++)
        {
          gsize i = LOOM_BN_AT (p, c, t);

          s1 += b[2][i];
          s2 += b[2][i] * (b[3][i] - b[4][c]) * r;
        }
      b[0][c] = (float) s1;
      b[1][c] = (float) s2;
    }
}

static void
grad_stats_reference (const void *params, float *const *b)
{
  grad_stats_range (params, b, 0, ((const LoomBatchNormParams *) params)->c);
}

/* Channels [begin, end), a contiguous row of H·W per sample. */
static void
grad_stats_rows (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;

  for (gsize c = begin; c < end; c++)
    {
      double s1 = 0.0, s2 = 0.0;

      loom_bn_sum_grad (b[2] + c * p->hw, b[3] + c * p->hw, p->n, (gsize) p->c * p->hw, p->hw,
                        b[4][c], &s1, &s2);
      b[0][c] = (float) s1;
      b[1][c] = (float) (s2 * loom_bn_rstd (p, b[5][c]));
    }
}

static void
grad_stats_cpu (const void *params, float *const *b, LoomThreads *t)
{
  loom_bn_cpu (grad_stats_rows, ((const LoomBatchNormParams *) params)->c, params, b, t);
}

static void
grad_stats_inputs (const void *params, float *const *b)
{
  loom_bn_positive (params, b, (const int[]) { 5, -1 });
}

LOOM_BN_OP (batch_norm_grad_stats, 6, 0x3c, 0x3, grad_stats_lengths, grad_stats_reference,
       grad_stats_cpu, loom_bn_vk_groups_channel, grad_stats_inputs, 1e-5)
