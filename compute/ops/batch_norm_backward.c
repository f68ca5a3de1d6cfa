/* dx = γ·rstd / M · (M·dy − dβ − x̂·dγ), M = N·HW (training mode). */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "batch_norm_backward.spv.h"

static void
backward_lengths (const void *params, gsize *l)
{
  const LoomBatchNormParams *p = params;

  l[0] = l[1] = l[2] = LOOM_BN_VALUES (p);
  l[3] = l[4] = l[5] = l[6] = l[7] = p->c;
}

static void
backward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  float count = (float) p->n * p->hw;

  for (gsize i = begin; i < end; i++)
    {
      gsize c = i / p->hw % p->c;
      float r = loom_bn_rstd (p, b[4][c]), xhat = (b[2][i] - b[3][c]) * r;

      b[0][i] = b[5][c] * r / count * (count * b[1][i] - b[6][c] - xhat * b[7][c]);
    }
}

static void
backward_reference (const void *params, float *const *b)
{
  backward_range (params, b, 0, LOOM_BN_VALUES ((const LoomBatchNormParams *) params));
}

/* Planes [begin, end) of N·C, the channel's constants hoisted. */
static void
backward_planes (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  float count = (float) p->n * p->hw;

  for (gsize plane = begin; plane < end; plane++)
    {
      gsize c = plane % p->c;
      const float *restrict dy = b[1] + plane * p->hw, *restrict x = b[2] + plane * p->hw;
      float *restrict dx = b[0] + plane * p->hw;
      float r = loom_bn_rstd (p, b[4][c]), mean = b[3][c];
      float k = b[5][c] * r / count, db = b[6][c], dg = b[7][c];

      for (gsize i = 0; i < p->hw; i++)
        dx[i] = k * (count * dy[i] - db - (x[i] - mean) * r * dg);
    }
}

static void
backward_cpu (const void *params, float *const *b, LoomThreads *t)
{
  const LoomBatchNormParams *p = params;

  loom_op_parallel (t, (gsize) p->n * p->c, MAX (1, 4096 / MAX (p->hw, 1)), backward_planes,
                    params, b);
}

static void
backward_inputs (const void *params, float *const *b)
{
  loom_bn_positive (params, b, (const int[]) { 4, -1 });
}

LOOM_BN_OP (batch_norm_backward, 8, 0xfe, 0x1, backward_lengths, backward_reference, backward_cpu,
       loom_bn_vk_groups_each, backward_inputs, 1e-5)
