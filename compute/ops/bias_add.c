/* y[n, c, i] += bias[c]: per-channel bias of an NCHW tensor, in place. */
#include "backend.h"
#include "ops/params.h"
#include "bias_add.spv.h"

enum { Y_, BIAS_ };

static void
bias_add_lengths (const void *params, gsize *lengths)
{
  const LoomChannelParams *p = params;

  lengths[Y_] = (gsize) p->n * p->c * p->hw;
  lengths[BIAS_] = p->c;
}

static void
bias_add_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomChannelParams *p = params;

  for (gsize plane = begin; plane < end; plane++)
    {
      float v = b[BIAS_][plane % p->c];
      float *y = b[Y_] + plane * p->hw;

      for (gsize i = 0; i < p->hw; i++)
        y[i] += v;
    }
}

static void
bias_add_reference (const void *params, float *const *b)
{
  const LoomChannelParams *p = params;

  bias_add_range (p, b, 0, (gsize) p->n * p->c);
}

static void
bias_add_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomChannelParams *p = params;

  loom_op_parallel (threads, (gsize) p->n * p->c,
                    MAX (1, (1 << 15) / MAX (p->hw, 1)), bias_add_range, params, b);
}

static void
bias_add_vk_groups (const void *params, const guint32 *spec,
                    const LoomLimits *limits, guint32 *groups)
{
  const LoomChannelParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->n * p->c * p->hw, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
bias_add_flops (const void *params)
{
  const LoomChannelParams *p = params;

  return (double) p->n * p->c * p->hw;
}

static gboolean
bias_add_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = {
    { 1, 1, 1 }, { 2, 3, 7 }, { 5, 70, 1 }, { 3, 5, 1000 }, { 2, 16, 4099 },
  };
  LoomChannelParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  p->n = cases[index][0];
  p->c = cases[index][1];
  p->hw = cases[index][2];
  return TRUE;
}

const LoomOp loom_op_bias_add = {
  .name = "bias_add",
  .n_bindings = 2,
  .read_mask = (1 << Y_) | (1 << BIAS_),
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (bias_add, LoomChannelParams),
  .tolerance = 0.0,
  .binding_lengths = bias_add_lengths,
  .reference = bias_add_reference,
  .cpu = bias_add_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = bias_add_vk_groups,
  .flops = bias_add_flops,
  .test_case = bias_add_test_case,
};
