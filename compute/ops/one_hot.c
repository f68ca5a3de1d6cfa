/* y[n][k][i] = 1 where labels[n][i] = k, else 0: a label map as the input
 * planes of a label→image generator (unlabelled pixels: all zeros). */
#include "backend.h"
#include "ops/params.h"
#include "one_hot.spv.h"

enum { Y_, LABELS_ };

static void
one_hot_lengths (const void *params, gsize *lengths)
{
  const LoomOneHotParams *p = params;

  lengths[Y_] = (gsize) p->n * p->classes * p->hw;
  lengths[LABELS_] = (gsize) p->n * p->hw;
}

/* Label pixels [begin, end) of all images. */
static void
one_hot_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomOneHotParams *p = params;

  for (gsize t = begin; t < end; t++)
    {
      gsize n = t / p->hw, i = t % p->hw;
      float label = b[LABELS_][t];

      for (guint32 k = 0; k < p->classes; k++)
        b[Y_][(n * p->classes + k) * p->hw + i] = label == (float) k ? 1.0f : 0.0f;
    }
}

static void
one_hot_reference (const void *params, float *const *b)
{
  const LoomOneHotParams *p = params;

  one_hot_range (params, b, 0, (gsize) p->n * p->hw);
}

static void
one_hot_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomOneHotParams *p = params;

  loom_op_parallel (threads, (gsize) p->n * p->hw, 1 << 14, one_hot_range, params, b);
}

static void
one_hot_vk_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                   guint32 *groups)
{
  const LoomOneHotParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->n * p->hw, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
one_hot_flops (const void *params)
{
  const LoomOneHotParams *p = params;

  return (double) p->n * p->classes * p->hw;
}

static gboolean
one_hot_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = { { 1, 1, 1 }, { 2, 3, 17 }, { 3, 5, 4099 } };

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  *(LoomOneHotParams *) params = (LoomOneHotParams) { cases[index][0], cases[index][1],
                                                      cases[index][2] };
  return TRUE;
}

/* Labels −1 … classes (one past: no plane), and a fraction. */
static void
one_hot_test_inputs (const void *params, float *const *b)
{
  const LoomOneHotParams *p = params;
  GRand *rand = g_rand_new_with_seed (p->hw);

  for (gsize t = 0; t < (gsize) p->n * p->hw; t++)
    b[LABELS_][t] = t % 11 == 5 ? 0.5f : (float) g_rand_int_range (rand, -1, (gint32) p->classes + 1);
  g_rand_free (rand);
}

const LoomOp loom_op_one_hot = {
  .name = "one_hot",
  .n_bindings = 2,
  .read_mask = 1 << LABELS_,
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (one_hot, LoomOneHotParams),
  .tolerance = 0.0,
  .binding_lengths = one_hot_lengths,
  .reference = one_hot_reference,
  .cpu = one_hot_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = one_hot_vk_groups,
  .flops = one_hot_flops,
  .test_case = one_hot_test_case,
  .test_inputs = one_hot_test_inputs,
};
