#include "backend.h"
#include "ops/cross_entropy.h"

gsize
loom_ce_lengths_pixels (const LoomCrossEntropyParams *p)
{
  return (gsize) p->n * p->hw;
}

guint
loom_ce_vk_spec (const LoomLimits *limits, guint32 *spec)
{
  spec[0] = MIN (128, limits->max_local_size);
  return 1;
}

void
loom_ce_vk_groups (const void *params, const guint32 *spec,
                   const LoomLimits *limits, guint32 *groups)
{
  groups[0] = loom_groups_1d (loom_ce_lengths_pixels (params), spec[0], limits);
  groups[1] = groups[2] = 1;
}

double
loom_ce_flops (const void *params)
{
  const LoomCrossEntropyParams *p = params;

  return 4.0 * p->n * p->k * p->hw;
}

gboolean
loom_ce_test_case (guint index, GRand *rand, void *params)
{
  /* N, K, HW */
  static const guint32 cases[][3] = { { 1, 1, 1 }, { 2, 3, 7 }, { 1, 5, 1000 }, { 3, 2, 130 },
                                      { 2, 19, 257 } };
  LoomCrossEntropyParams *p = params;

  if (index >= 2 * G_N_ELEMENTS (cases))
    return FALSE;
  p->n = cases[index / 2][0];
  p->k = cases[index / 2][1];
  p->hw = cases[index / 2][2];
  p->ignore = -1;
  p->has_weights = index % 2;
  p->mean = index % 2;
  return TRUE;
}

void
loom_ce_test_inputs (const LoomCrossEntropyParams *p, float *labels, float *weights, float *norm)
{
  for (gsize i = 0; i < loom_ce_lengths_pixels (p); i++)
    labels[i] = (float) ((gint64) (i * 7919 % (p->k + 1)) - 1);
  for (gsize c = 0; c < p->k; c++)
    weights[c] = 0.5f + 0.25f * (float) (c % 3);
  norm[0] = 3.5f;
}
