/* mean[c] and the biased var[c] over the N·HW values of channel c. */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "batch_norm_stats.spv.h"

static void
stats_lengths (const void *params, gsize *l)
{
  const LoomBatchNormParams *p = params;

  l[0] = l[1] = p->c;
  l[2] = LOOM_BN_VALUES (p);
}

static void
stats_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  gsize m = (gsize) p->n * p->hw;

  for (gsize c = begin; c < end; c++)
    {
      double sum = 0.0, sq = 0.0, mean;

      for (gsize t = 0; t < m; t++)
        sum += b[2][LOOM_BN_AT (p, c, t)];
      mean = sum / m;
      for (gsize t = 0; t < m; t++)
        sq += (b[2][LOOM_BN_AT (p, c, t)] - mean) * (b[2][LOOM_BN_AT (p, c, t)] - mean);
      b[0][c] = (float) mean;
      b[1][c] = (float) (sq / m);
    }
}

static void
stats_reference (const void *params, float *const *b)
{
  stats_range (params, b, 0, ((const LoomBatchNormParams *) params)->c);
}

/* Channels [begin, end), a contiguous row of H·W per sample. */
static void
stats_rows (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  gsize m = (gsize) p->n * p->hw;

  for (gsize c = begin; c < end; c++)
    {
      const float *rows = b[2] + c * p->hw;
      gsize stride = (gsize) p->c * p->hw;
      float mean = (float) (loom_bn_sum (rows, p->n, stride, p->hw) / m);
      double sq = loom_bn_sum_sq_dev (rows, p->n, stride, p->hw, mean);

      b[0][c] = mean;
      b[1][c] = (float) (sq / m);
    }
}

static void
stats_cpu (const void *params, float *const *b, LoomThreads *t)
{
  loom_bn_cpu (stats_rows, ((const LoomBatchNormParams *) params)->c, params, b, t);
}

LOOM_BN_OP (batch_norm_stats, 3, 0x4, 0x3, stats_lengths, stats_reference, stats_cpu,
       loom_bn_vk_groups_channel, NULL, 1e-5)
