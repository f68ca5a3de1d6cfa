#include <math.h>

#include "backend.h"
#include "ops/optimizer.h"

void
loom_optimizer_lengths (const void *params, gsize *lengths)
{
  const LoomOptimizerParams *p = params;

  lengths[LOOM_OPT_PARAM] = lengths[LOOM_OPT_STATE1] = lengths[LOOM_OPT_STATE2] = p->n;
  lengths[LOOM_OPT_GRAD] = p->n;
  lengths[LOOM_OPT_SCALARS] = LOOM_N_SCALARS;
}

void
loom_optimizer_vk_groups (const void *params, const guint32 *spec,
                          const LoomLimits *limits, guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomOptimizerParams *) params)->n, spec[0], limits);
  groups[1] = groups[2] = 1;
}

double
loom_optimizer_flops (const void *params)
{
  return 10.0 * ((const LoomOptimizerParams *) params)->n;
}

gboolean
loom_optimizer_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 sizes[] = { 1, 7, 1000, 65537 };
  LoomOptimizerParams *p = params;

  if (index >= 2 * G_N_ELEMENTS (sizes))
    return FALSE;
  p->n = sizes[index / 2];
  p->momentum = index % 2 ? 0.9f : 0.0f;
  p->beta1 = 0.9f;
  p->beta2 = 0.999f;
  p->eps = 1e-8f;
  p->weight_decay = index % 2 ? 0.01f : 0.0f;
  return TRUE;
}

void
loom_optimizer_cpu (LoomOpRange range, const void *params, float *const *b, LoomThreads *threads)
{
  const LoomOptimizerParams *p = params;

  loom_op_parallel (threads, p->n, 1 << 14, range, params, b);
}

void
loom_optimizer_test_inputs (const void *params, float *const *b)
{
  const LoomOptimizerParams *p = params;

  for (gsize i = 0; i < p->n; i++)
    b[LOOM_OPT_STATE2][i] = fabsf (b[LOOM_OPT_STATE2][i]);   /* a second moment */
  b[LOOM_OPT_SCALARS][LOOM_SCALAR_LR] = 0.01f;
  b[LOOM_OPT_SCALARS][LOOM_SCALAR_BIAS1] = 0.271f;            /* t = 3, β₁ = 0.9 */
  b[LOOM_OPT_SCALARS][LOOM_SCALAR_BIAS2] = 0.003f;            /* t = 3, β₂ = 0.999 */
}
