/* Adam and AdamW as PyTorch has them: m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
 * p −= lr·(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε), after AdamW's decoupled
 * p −= lr·wd·p.  lr and the bias corrections come from the scalars. */
#include <math.h>

#include "backend.h"
#include "ops/optimizer.h"
#include "adam_step.spv.h"

static void
adam_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomOptimizerParams *p = params;
  const float *s = b[LOOM_OPT_SCALARS];
  float lr = s[LOOM_SCALAR_LR], bias1 = s[LOOM_SCALAR_BIAS1], bias2 = s[LOOM_SCALAR_BIAS2];

  for (gsize i = begin; i < end; i++)
    {
      float g = b[LOOM_OPT_GRAD][i];
      float m = p->beta1 * b[LOOM_OPT_STATE1][i] + (1.0f - p->beta1) * g;
      float v = p->beta2 * b[LOOM_OPT_STATE2][i] + (1.0f - p->beta2) * g * g;
      float w = b[LOOM_OPT_PARAM][i] * (1.0f - lr * p->weight_decay);

      b[LOOM_OPT_STATE1][i] = m;
      b[LOOM_OPT_STATE2][i] = v;
      b[LOOM_OPT_PARAM][i] = w - lr / bias1 * m / (sqrtf (v) / sqrtf (bias2) + p->eps);
    }
}

static void
adam_reference (const void *params, float *const *b)
{
  adam_range (params, b, 0, ((const LoomOptimizerParams *) params)->n);
}

static void
adam_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_optimizer_cpu (adam_range, params, b, threads);
}

const LoomOp loom_op_adam_step = {
  .name = "adam_step",
  .n_bindings = 5,
  .read_mask = 0x1f,
  .write_mask = (1 << LOOM_OPT_PARAM) | (1 << LOOM_OPT_STATE1) | (1 << LOOM_OPT_STATE2),
  LOOM_OP_SHADER (adam_step, LoomOptimizerParams),
  .tolerance = 1e-5,
  .binding_lengths = loom_optimizer_lengths,
  .reference = adam_reference,
  .cpu = adam_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = loom_optimizer_vk_groups,
  .flops = loom_optimizer_flops,
  .test_case = loom_optimizer_test_case,
  .test_inputs = loom_optimizer_test_inputs,
};
