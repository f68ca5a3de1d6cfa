/* SGD as PyTorch has it (no dampening): g += wd·p; v = µ·v + g (v = g when
 * µ = 0); p −= lr·v, with lr read from the scalars binding. */
#include "backend.h"
#include "ops/optimizer.h"
#include "sgd_step.spv.h"

static void
sgd_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomOptimizerParams *p = params;
  float lr = b[LOOM_OPT_SCALARS][LOOM_SCALAR_LR];

  for (gsize i = begin; i < end; i++)
    {
      float g = b[LOOM_OPT_GRAD][i] + p->weight_decay * b[LOOM_OPT_PARAM][i];
      float v = p->momentum * b[LOOM_OPT_STATE1][i] + g;

      b[LOOM_OPT_STATE1][i] = v;
      b[LOOM_OPT_PARAM][i] -= lr * v;
    }
}

static void
sgd_reference (const void *params, float *const *b)
{
  sgd_range (params, b, 0, ((const LoomOptimizerParams *) params)->n);
}

static void
sgd_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_optimizer_cpu (sgd_range, params, b, threads);
}

const LoomOp loom_op_sgd_step = {
  .name = "sgd_step",
  .n_bindings = 5,
  .read_mask = 0x1f,
  .write_mask = (1 << LOOM_OPT_PARAM) | (1 << LOOM_OPT_STATE1),
  LOOM_OP_SHADER (sgd_step, LoomOptimizerParams),
  .tolerance = 1e-6,
  .binding_lengths = loom_optimizer_lengths,
  .reference = sgd_reference,
  .cpu = sgd_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = loom_optimizer_vk_groups,
  .flops = loom_optimizer_flops,
  .test_case = loom_optimizer_test_case,
  .test_inputs = loom_optimizer_test_inputs,
};
