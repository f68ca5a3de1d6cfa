/* Running statistics as PyTorch keeps them: the unbiased variance goes in,
 * weighted by the momentum, or, with a negative momentum m, by the larger
 * of 1 / runs and −m (runs from the scalars binding): a cumulative average
 * at first (PyTorch's momentum=None when −m is tiny), so that a short
 * training ends with statistics of its own batches, not of the start. */
#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"
#include "ops/params.h"
#include "batch_norm_running.spv.h"

static void
running_lengths (const void *params, gsize *l)
{
  l[0] = l[1] = l[2] = l[3] = ((const LoomBatchNormParams *) params)->c;
  l[4] = LOOM_N_SCALARS;
}

static void
running_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBatchNormParams *p = params;
  float count = (float) p->n * p->hw, unbias = count > 1.0f ? count / (count - 1.0f) : 1.0f;
  float m = p->momentum >= 0.0f ? p->momentum
          : fmaxf (1.0f / fmaxf (b[4][LOOM_SCALAR_RUNS], 1.0f), -p->momentum);

  for (gsize c = begin; c < end; c++)
    {
      b[0][c] = (1.0f - m) * b[0][c] + m * b[2][c];
      b[1][c] = (1.0f - m) * b[1][c] + m * b[3][c] * unbias;
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
  b[4][LOOM_SCALAR_RUNS] = 3.0f;
}

/* The shared shapes, each with a momentum and with the warm-up. */
static gboolean
running_test_case (guint index, GRand *rand, void *params)
{
  LoomBatchNormParams *p = params;

  if (!loom_bn_test_case (index / 2, rand, params))
    return FALSE;
  p->momentum = index % 2 ? -0.1f : 0.1f;
  return TRUE;
}

const LoomOp loom_op_batch_norm_running = {
  .name = "batch_norm_running", .n_bindings = 5, .read_mask = 0x1f, .write_mask = 0x3,
  LOOM_OP_SHADER (batch_norm_running, LoomBatchNormParams), .tolerance = 1e-6,
  .binding_lengths = running_lengths, .reference = running_reference, .cpu = running_cpu,
  .vk_spec = loom_vk_spec_linear, .vk_groups = running_groups, .flops = loom_bn_flops,
  .test_case = running_test_case, .test_inputs = running_inputs,
};
