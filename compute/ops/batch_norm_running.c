/* Running statistics as PyTorch keeps them: the unbiased variance goes in. */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "batch_norm_running.spv.h"

static void
running_lengths (const void *params, gsize *l)
{
  l[0] = l[1] = l[2] = l[3] = ((const LoomBatchNormParams *) params)->c;
}

static void
running_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  float count = (float) p->n * p->hw, unbias = count > 1.0f ? count / (count - 1.0f) : 1.0f;

  for (gsize c = begin; c < end; c++)
    {
      b[0][c] = (1.0f - p->momentum) * b[0][c] + p->momentum * b[2][c];
      b[1][c] = (1.0f - p->momentum) * b[1][c] + p->momentum * b[3][c] * unbias;
    }
}

static void
running_reference (const void *params, float *const *b)
{
  running_range (params, b, 0, ((const LoomBatchNormParams *) params)->c);
}

static void
running_cpu (const void *params, float *const *b, LoomThreads *t)
{
  running_range (params, b, 0, ((const LoomBatchNormParams *) params)->c);
}

static void
running_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomBatchNormParams *) params)->c, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static void
running_inputs (const void *params, float *const *b)
{
  loom_bn_positive (params, b, (const int[]) { 1, 3, -1 });
}

LOOM_BN_OP (batch_norm_running, 4, 0xf, 0x3, running_lengths, running_reference, running_cpu,
       running_groups, running_inputs, 1e-6)
