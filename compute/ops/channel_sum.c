/* out[c] = Σ_{n, i} in[(n·C + c)·HW + i]: per-channel sums of an NCHW
 * tensor (bias gradients, and later normalisation statistics). */
#include "backend.h"
#include "ops/params.h"
#include "ops/reduce.h"
#include "channel_sum.spv.h"

enum { OUT_, IN_ };

static void
channel_sum_lengths (const void *params, gsize *lengths)
{
  const LoomChannelParams *p = params;

  lengths[OUT_] = p->c;
  lengths[IN_] = (gsize) p->n * p->c * p->hw;
}

static void
channel_sum_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomChannelParams *p = params;

  for (gsize c = begin; c < end; c++)
    {
      double sum = 0.0;

      for (gsize n = 0; n < p->n; n++)
        for (gsize i = 0; i < p->hw; i++)
          sum += b[IN_][(n * p->c + c) * p->hw + i];
      b[OUT_][c] = (float) sum;
    }
}

static void
channel_sum_reference (const void *params, float *const *b)
{
  channel_sum_range (params, b, 0, ((const LoomChannelParams *) params)->c);
}

static void
channel_sum_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomChannelParams *p = params;

  loom_op_parallel (threads, p->c, 1, channel_sum_range, params, b);
}

static void
channel_sum_vk_groups (const void *params, const guint32 *spec,
                       const LoomLimits *limits, guint32 *groups)
{
  groups[0] = CLAMP (((const LoomChannelParams *) params)->c, 1, limits->max_groups[0]);
  groups[1] = groups[2] = 1;
}

static double
channel_sum_flops (const void *params)
{
  const LoomChannelParams *p = params;

  return (double) p->n * p->c * p->hw;
}

static gboolean
channel_sum_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = {
    { 1, 1, 1 }, { 2, 3, 7 }, { 1, 70, 1 }, { 3, 5, 1000 }, { 4, 16, 4099 }, { 1, 2, 70000 },
  };
  LoomChannelParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  p->n = cases[index][0];
  p->c = cases[index][1];
  p->hw = cases[index][2];
  return TRUE;
}

const LoomOp loom_op_channel_sum = {
  .name = "channel_sum",
  .n_bindings = 2,
  .read_mask = 1 << IN_,
  .write_mask = 1 << OUT_,
  LOOM_OP_SHADER (channel_sum, LoomChannelParams),
  .tolerance = 1e-5,
  .binding_lengths = channel_sum_lengths,
  .reference = channel_sum_reference,
  .cpu = channel_sum_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = channel_sum_vk_groups,
  .flops = channel_sum_flops,
  .test_case = channel_sum_test_case,
};

gboolean
loom_channel_sum (LoomBuffer *out, LoomBuffer *in, guint n, guint c, gsize hw, GError **error)
{
  LoomChannelParams p = { n, c, (guint32) hw };
  LoomSpan spans[2] = { { out, 0, out->length }, { in, 0, in->length } };

  return loom_op_run (&loom_op_channel_sum, &p, spans, error);
}
