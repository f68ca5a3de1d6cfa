/* out[i] = Σ_s in[s·n + i]: the second half of a split reduction. */
#include "backend.h"
#include "ops/params.h"
#include "ops/reduce.h"
#include "sum_slices.spv.h"

enum { OUT_, IN_ };

static void
sum_slices_lengths (const void *params, gsize *lengths)
{
  const LoomSumSlicesParams *p = params;

  lengths[OUT_] = p->n;
  lengths[IN_] = (gsize) p->n * p->slices;
}

static void
sum_slices_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomSumSlicesParams *p = params;

  for (gsize i = begin; i < end; i++)
    {
      float sum = 0.0f;  /* in slice order, as the shader */

      for (gsize s = 0; s < p->slices; s++)
        sum += b[IN_][s * p->n + i];
      b[OUT_][i] = sum;
    }
}

static void
sum_slices_reference (const void *params, float *const *b)
{
  sum_slices_range (params, b, 0, ((const LoomSumSlicesParams *) params)->n);
}

static void
sum_slices_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomSumSlicesParams *p = params;

  loom_op_parallel (threads, p->n, 1 << 14, sum_slices_range, params, b);
}

static void
sum_slices_vk_groups (const void *params, const guint32 *spec,
                      const LoomLimits *limits, guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomSumSlicesParams *) params)->n, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
sum_slices_flops (const void *params)
{
  const LoomSumSlicesParams *p = params;

  return (double) p->n * p->slices;
}

static gboolean
sum_slices_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][2] = { { 1, 1 }, { 7, 3 }, { 1000, 1 }, { 4099, 13 }, { 65537, 2 } };
  LoomSumSlicesParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  p->n = cases[index][0];
  p->slices = cases[index][1];
  return TRUE;
}

const LoomOp loom_op_sum_slices = {
  .name = "sum_slices",
  .n_bindings = 2,
  .read_mask = 1 << IN_,
  .write_mask = 1 << OUT_,
  LOOM_OP_SHADER (sum_slices, LoomSumSlicesParams),
  .tolerance = 1e-6,
  .binding_lengths = sum_slices_lengths,
  .reference = sum_slices_reference,
  .cpu = sum_slices_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = sum_slices_vk_groups,
  .flops = sum_slices_flops,
  .test_case = sum_slices_test_case,
};

gboolean
loom_sum_slices (LoomBuffer *out, LoomBuffer *in, guint slices, GError **error)
{
  LoomSumSlicesParams p = { (guint32) out->length, slices };
  LoomSpan spans[2] = { { out, 0, out->length }, { in, 0, in->length } };

  return loom_op_run (&loom_op_sum_slices, &p, spans, error);
}
