/* out = in summed over the dimensions not kept (to size 1): the gradient of
 * an input that broadcast.  One output value per work item, a tree
 * reduction per workgroup on Vulkan; deterministic, no atomics. */
#include "backend.h"
#include "ops/params.h"
#include "sum_to.spv.h"

enum { OUT_, IN_ };

/* The output's sizes, and how many input values each output value sums. */
static gsize
out_dims (const LoomSumToParams *p, guint32 *dims)
{
  gsize count = 1;

  for (guint i = 0; i < 4; i++)
    {
      dims[i] = p->keep >> i & 1 ? p->dims[i] : 1;
      count *= p->keep >> i & 1 ? 1 : p->dims[i];
    }
  return count;
}

static void
sum_to_lengths (const void *params, gsize *lengths)
{
  const LoomSumToParams *p = params;
  guint32 d[4];

  out_dims (p, d);
  lengths[OUT_] = (gsize) d[0] * d[1] * d[2] * d[3];
  lengths[IN_] = (gsize) p->dims[0] * p->dims[1] * p->dims[2] * p->dims[3];
}

/* Input offset of the i-th of the values summed into output O. */
static gsize
input_index (const LoomSumToParams *p, const guint32 *od, gsize o, gsize i)
{
  gsize index = 0, stride = 1;

  for (int d = 3; d >= 0; d--)
    {
      if (p->keep >> d & 1)
        index += o % od[d] * stride, o /= od[d];
      else
        index += i % p->dims[d] * stride, i /= p->dims[d];
      stride *= p->dims[d];
    }
  return index;
}

static void
sum_to_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomSumToParams *p = params;
  guint32 od[4];
  gsize count = out_dims (p, od);

  for (gsize o = begin; o < end; o++)
    {
      double sum = 0.0;

      for (gsize i = 0; i < count; i++)
        sum += b[IN_][input_index (p, od, o, i)];
      b[OUT_][o] = (float) sum;
    }
}

static void
sum_to_reference (const void *params, float *const *b)
{
  gsize lengths[2];

  sum_to_lengths (params, lengths);
  sum_to_range (params, b, 0, lengths[OUT_]);
}

static void
sum_to_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  gsize lengths[2];

  sum_to_lengths (params, lengths);
  loom_op_parallel (threads, lengths[OUT_], MAX (1, lengths[OUT_] * 64 / lengths[IN_]),
                    sum_to_range, params, b);
}

static void
sum_to_vk_groups (const void *params, const guint32 *spec,
                  const LoomLimits *limits, guint32 *groups)
{
  gsize lengths[2];

  sum_to_lengths (params, lengths);
  groups[0] = (guint32) CLAMP (lengths[OUT_], 1, limits->max_groups[0]);
  groups[1] = groups[2] = 1;
}

static double
sum_to_flops (const void *params)
{
  gsize lengths[2];

  sum_to_lengths (params, lengths);
  return (double) lengths[IN_];
}

static gboolean
sum_to_test_case (guint index, GRand *rand, void *params)
{
  /* N, C, H, W, dimensions kept */
  static const guint32 cases[][5] = {
    { 1, 1, 1, 1, 0 }, { 2, 3, 5, 7, 0x2 }, { 2, 3, 5, 7, 0xf }, { 2, 3, 5, 7, 0 },
    { 3, 4, 6, 5, 0xd }, { 2, 70, 9, 130, 0xc }, { 4, 3, 2, 9, 0x1 }, { 1, 2, 300, 301, 0x2 },
  };
  LoomSumToParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  for (guint i = 0; i < 4; i++)
    p->dims[i] = cases[index][i];
  p->keep = cases[index][4];
  return TRUE;
}

const LoomOp loom_op_sum_to = {
  .name = "sum_to",
  .n_bindings = 2,
  .read_mask = 1 << IN_,
  .write_mask = 1 << OUT_,
  LOOM_OP_SHADER (sum_to, LoomSumToParams),
  .tolerance = 1e-5,
  .binding_lengths = sum_to_lengths,
  .reference = sum_to_reference,
  .cpu = sum_to_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = sum_to_vk_groups,
  .flops = sum_to_flops,
  .test_case = sum_to_test_case,
};
