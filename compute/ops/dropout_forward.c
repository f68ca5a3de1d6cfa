/* Dropout's forward pass: out = in · mask / (1 − p), the mask drawn from
 * (seed, stream, i) — the same in both passes of a run. */
#include "backend.h"
#include "ops/dropout.h"
#include "dropout_forward.spv.h"

static void
dropout_forward_reference (const void *params, float *const *b)
{
  const LoomDropoutParams *p = params;

  for (gsize i = 0; i < p->n; i++)
    b[0][i] = b[1][i] * loom_dropout_factor (p, b[2], i);
}

const LoomOp loom_op_dropout_forward = {
  .name = "dropout_forward",
  .n_bindings = 3,
  .read_mask = 0x6,
  .write_mask = 0x1,
  LOOM_OP_SHADER (dropout_forward, LoomDropoutParams),
  .tolerance = 0.0,
  .binding_lengths = loom_dropout_lengths,
  .reference = dropout_forward_reference,
  .cpu = loom_dropout_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = loom_dropout_vk_groups,
  .flops = loom_dropout_flops,
  .test_case = loom_dropout_test_case,
};
