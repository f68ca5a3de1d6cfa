/* y[n, c, i] = x[n, c, i] · scale[c] + shift[c]: the per-channel affine
 * part of group (and instance) normalisation. */
#include "backend.h"
#include "ops/params.h"
#include "channel_affine.spv.h"

enum { Y_, X_, SCALE_, SHIFT_ };

static void
channel_affine_lengths (const void *params, gsize *lengths)
{
  const LoomChannelParams *p = params;

  lengths[Y_] = lengths[X_] = (gsize) p->n * p->c * p->hw;
  lengths[SCALE_] = lengths[SHIFT_] = p->c;
}

static void
channel_affine_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomChannelParams *p = params;

  for (gsize i = begin; i < end; i++)
    {
      gsize c = i / p->hw % p->c;

      b[Y_][i] = b[X_][i] * b[SCALE_][c] + b[SHIFT_][c];
    }
}

static void
channel_affine_reference (const void *params, float *const *b)
{
  const LoomChannelParams *p = params;

  channel_affine_range (params, b, 0, (gsize) p->n * p->c * p->hw);
}

static void
channel_affine_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomChannelParams *p = params;

  loom_op_parallel (threads, (gsize) p->n * p->c * p->hw, 1 << 15, channel_affine_range, params, b);
}

static void
channel_affine_vk_groups (const void *params, const guint32 *spec,
                          const LoomLimits *limits, guint32 *groups)
{
  const LoomChannelParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->n * p->c * p->hw, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
channel_affine_flops (const void *params)
{
  const LoomChannelParams *p = params;

  return 2.0 * p->n * p->c * p->hw;
}

static gboolean
channel_affine_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = { { 1, 1, 1 }, { 2, 3, 7 }, { 5, 70, 1 }, { 3, 5, 1000 } };
  LoomChannelParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  *p = (LoomChannelParams) { cases[index][0], cases[index][1], cases[index][2] };
  return TRUE;
}

const LoomOp loom_op_channel_affine = {
  .name = "channel_affine",
  .n_bindings = 4,
  .read_mask = (1 << X_) | (1 << SCALE_) | (1 << SHIFT_),
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (channel_affine, LoomChannelParams),
  .tolerance = 1e-6,
  .binding_lengths = channel_affine_lengths,
  .reference = channel_affine_reference,
  .cpu = channel_affine_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = channel_affine_vk_groups,
  .flops = channel_affine_flops,
  .test_case = channel_affine_test_case,
};
