/* dz_c = w[y]·(softmax_c − [c = y]), divided by the weight sum (bound as
 * norm) for the mean; 0 where the label is ignored. */
#include "backend.h"
#include "ops/cross_entropy.h"
#include "cross_entropy_backward.spv.h"

enum { DLOGITS_, LOGITS_, LABELS_, WEIGHTS_, NORM_ };

static void
ce_backward_lengths (const void *params, gsize *lengths)
{
  const LoomCrossEntropyParams *p = params;

  lengths[DLOGITS_] = lengths[LOGITS_] = (gsize) p->n * p->k * p->hw;
  lengths[LABELS_] = loom_ce_lengths_pixels (p);
  lengths[WEIGHTS_] = p->k;
  lengths[NORM_] = 1;
}

static void
ce_backward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomCrossEntropyParams *p = params;

  for (gsize i = begin; i < end; i++)
    {
      float w = 0.0f, log_norm = 0.0f;
      gint64 y = loom_ce_pixel (p, b[LOGITS_], b[LABELS_], b[WEIGHTS_], i, &w, &log_norm);
      gsize base = i / p->hw * p->k * p->hw + i % p->hw;
      float s = p->mean ? w / b[NORM_][0] : w;

      for (gsize c = 0; c < p->k; c++)
        b[DLOGITS_][base + c * p->hw] = y < 0 ? 0.0f
          : s * (expf (b[LOGITS_][base + c * p->hw] - log_norm) - ((gint64) c == y ? 1.0f : 0.0f));
    }
}

static void
ce_backward_reference (const void *params, float *const *b)
{
  ce_backward_range (params, b, 0, loom_ce_lengths_pixels (params));
}

static void
ce_backward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_op_parallel (threads, loom_ce_lengths_pixels (params), 4096, ce_backward_range, params, b);
}

static void
ce_backward_test_inputs (const void *params, float *const *b)
{
  loom_ce_test_inputs (params, b[LABELS_], b[WEIGHTS_], b[NORM_]);
}

const LoomOp loom_op_cross_entropy_backward = {
  .name = "cross_entropy_backward",
  .n_bindings = 5,
  .read_mask = (1 << LOGITS_) | (1 << LABELS_) | (1 << WEIGHTS_) | (1 << NORM_),
  .write_mask = 1 << DLOGITS_,
  LOOM_OP_SHADER (cross_entropy_backward, LoomCrossEntropyParams),
  .tolerance = 1e-5,
  .binding_lengths = ce_backward_lengths,
  .reference = ce_backward_reference,
  .cpu = ce_backward_cpu,
  .vk_spec = loom_ce_vk_spec,
  .vk_groups = loom_ce_vk_groups,
  .flops = loom_ce_flops,
  .test_case = loom_ce_test_case,
  .test_inputs = ce_backward_test_inputs,
};
