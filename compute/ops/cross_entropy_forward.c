/* Per pixel: the weighted loss w[y]·(log Σ exp z − z_y) and the weight
 * w[y] (both 0 where the label is ignored); the graph sums them. */
#include "backend.h"
#include "ops/cross_entropy.h"
#include "cross_entropy_forward.spv.h"

enum { LOSS_, WEIGHT_, LOGITS_, LABELS_, WEIGHTS_ };

static void
ce_forward_lengths (const void *params, gsize *lengths)
{
  const LoomCrossEntropyParams *p = params;

  lengths[LOSS_] = lengths[WEIGHT_] = lengths[LABELS_] = loom_ce_lengths_pixels (p);
  lengths[LOGITS_] = (gsize) p->n * p->k * p->hw;
  lengths[WEIGHTS_] = p->k;
}

static void
ce_forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomCrossEntropyParams *p = params;

  for (gsize i = begin; i < end; i++)
    {
      float w = 0.0f, log_norm = 0.0f;
      gint64 y = loom_ce_pixel (p, b[LOGITS_], b[LABELS_], b[WEIGHTS_], i, &w, &log_norm);
      gsize n = i / p->hw, j = i % p->hw;

      b[LOSS_][i] = y < 0 ? 0.0f : w * (log_norm - b[LOGITS_][(n * p->k + y) * p->hw + j]);
      b[WEIGHT_][i] = y < 0 ? 0.0f : w;
    }
}

static void
ce_forward_reference (const void *params, float *const *b)
{
  ce_forward_range (params, b, 0, loom_ce_lengths_pixels (params));
}

static void
ce_forward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_op_parallel (threads, loom_ce_lengths_pixels (params), 4096, ce_forward_range, params, b);
}

static void
ce_forward_test_inputs (const void *params, float *const *b)
{
  float norm;

  loom_ce_test_inputs (params, b[LABELS_], b[WEIGHTS_], &norm);
}

const LoomOp loom_op_cross_entropy_forward = {
  .name = "cross_entropy_forward",
  .n_bindings = 5,
  .read_mask = (1 << LOGITS_) | (1 << LABELS_) | (1 << WEIGHTS_),
  .write_mask = (1 << LOSS_) | (1 << WEIGHT_),
  LOOM_OP_SHADER (cross_entropy_forward, LoomCrossEntropyParams),
  .tolerance = 1e-5,
  .binding_lengths = ce_forward_lengths,
  .reference = ce_forward_reference,
  .cpu = ce_forward_cpu,
  .vk_spec = loom_ce_vk_spec,
  .vk_groups = loom_ce_vk_groups,
  .flops = loom_ce_flops,
  .test_case = loom_ce_test_case,
  .test_inputs = ce_forward_test_inputs,
};
