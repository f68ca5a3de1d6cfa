/* dst[n, dst_first + i] = src[n, src_first + i] for COUNT channels: concat
 * writes its inputs into the output's channel ranges, and its gradient
 * reads them back out. */
#include <string.h>

#include "backend.h"
#include "ops/params.h"
#include "channel_copy.spv.h"

enum { DST_, SRC_ };

static void
channel_copy_lengths (const void *params, gsize *lengths)
{
  const LoomChannelCopyParams *p = params;

  lengths[DST_] = (gsize) p->n * p->dst_channels * p->hw;
  lengths[SRC_] = (gsize) p->n * p->src_channels * p->hw;
}

static void
channel_copy_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomChannelCopyParams *p = params;

  for (gsize plane = begin; plane < end; plane++)      /* one (n, i) each */
    {
      gsize n = plane / p->count, i = plane % p->count;

      memcpy (b[DST_] + (n * p->dst_channels + p->dst_first + i) * p->hw,
              b[SRC_] + (n * p->src_channels + p->src_first + i) * p->hw, p->hw * sizeof (float));
    }
}

static void
channel_copy_reference (const void *params, float *const *b)
{
  const LoomChannelCopyParams *p = params;

  channel_copy_range (p, b, 0, (gsize) p->n * p->count);
}

static void
channel_copy_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomChannelCopyParams *p = params;

  loom_op_parallel (threads, (gsize) p->n * p->count,
                    MAX (1, (1 << 15) / MAX (p->hw, 1)), channel_copy_range, params, b);
}

static void
channel_copy_vk_groups (const void *params, const guint32 *spec,
                        const LoomLimits *limits, guint32 *groups)
{
  const LoomChannelCopyParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->n * p->count * p->hw, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
channel_copy_flops (const void *params)
{
  const LoomChannelCopyParams *p = params;

  return (double) p->n * p->count * p->hw;
}

static gboolean
channel_copy_test_case (guint index, GRand *rand, void *params)
{
  /* n, hw, src channels, first, dst channels, first, count */
  static const guint32 cases[][7] = {
    { 1, 1, 1, 0, 1, 0, 1 }, { 2, 7, 3, 0, 5, 2, 3 }, { 3, 1000, 4, 1, 9, 6, 2 },
    { 2, 130, 70, 5, 70, 0, 64 },
  };
  LoomChannelCopyParams *p = params;
  const guint32 *v;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  v = cases[index];
  *p = (LoomChannelCopyParams) { v[0], v[1], v[2], v[3], v[4], v[5], v[6] };
  return TRUE;
}

const LoomOp loom_op_channel_copy = {
  .name = "channel_copy",
  .n_bindings = 2,
  .read_mask = (1 << SRC_) | (1 << DST_),   /* the channels it does not copy stay */
  .write_mask = 1 << DST_,
  LOOM_OP_SHADER (channel_copy, LoomChannelCopyParams),
  .tolerance = 0.0,
  .binding_lengths = channel_copy_lengths,
  .reference = channel_copy_reference,
  .cpu = channel_copy_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = channel_copy_vk_groups,
  .flops = channel_copy_flops,
  .test_case = channel_copy_test_case,
};
