/* y = (x − mean) / √(var + ε) · γ + β, per channel. */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "batch_norm_forward.spv.h"

static void
forward_lengths (const void *params, gsize *l)
{
  const LoomBatchNormParams *p = params;

  l[0] = l[1] = LOOM_BN_VALUES (p);
  l[2] = l[3] = l[4] = l[5] = p->c;
}

static void
forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;

  for (gsize i = begin; i < end; i++)
    {
      gsize c = i / p->hw % p->c;

      b[0][i] = (b[1][i] - b[2][c]) * loom_bn_rstd (p, b[3][c]) * b[4][c] + b[5][c];
    }
}

static void
forward_reference (const void *params, float *const *b)
{
  forward_range (params, b, 0, LOOM_BN_VALUES ((const LoomBatchNormParams *) params));
}

/* Planes [begin, end) of N·C: one scale and shift each. */
static void
forward_planes (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;

  for (gsize plane = begin; plane < end; plane++)
    {
      gsize c = plane % p->c;
      const float *restrict x = b[1] + plane * p->hw;
      float *restrict y = b[0] + plane * p->hw;
      float mean = b[2][c], scale = loom_bn_rstd (p, b[3][c]) * b[4][c], shift = b[5][c];

      for (gsize i = 0; i < p->hw; i++)
        y[i] = (x[i] - mean) * scale + shift;
    }
}

static void
forward_cpu (const void *params, float *const *b, LoomThreads *t)
{
  const LoomBatchNormParams *p = params;

  loom_op_parallel (t, (gsize) p->n * p->c, MAX (1, 4096 / MAX (p->hw, 1)), forward_planes,
                    params, b);
}

static void
forward_inputs (const void *params, float *const *b)
{
  loom_bn_positive (params, b, (const int[]) { 3, -1 });
}

LOOM_BN_OP (batch_norm_forward, 6, 0x3e, 0x1, forward_lengths, forward_reference, forward_cpu,
       loom_bn_vk_groups_each, forward_inputs, 1e-5)
