#include "backend.h"
#include "ops/dropout.h"

/* Both ops: out, in (the input or the output gradient), seed. */
void
loom_dropout_lengths (const void *params, gsize *lengths)
{
  lengths[0] = lengths[1] = ((const LoomDropoutParams *) params)->n;
  lengths[2] = 1;
}

void
loom_dropout_vk_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                        guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomDropoutParams *) params)->n, spec[0], limits);
  groups[1] = groups[2] = 1;
}

double
loom_dropout_flops (const void *params)
{
  return 100.0 * ((const LoomDropoutParams *) params)->n;
}

gboolean
loom_dropout_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 sizes[] = { 1, 7, 1000, 65537 };
  LoomDropoutParams *p = params;
  float drop = index % 2 ? 0.5f : 0.1f;

  if (index >= 2 * G_N_ELEMENTS (sizes))
    return FALSE;
  *p = (LoomDropoutParams) { sizes[index / 2], drop, 1.0f / (1.0f - drop), index };
  return TRUE;
}

static void
dropout_range (const void *params, float *const *b, gsize begin, gsize end)
{
  for (gsize i = begin; i < end; i++)
    b[0][i] = b[1][i] * loom_dropout_factor (params, b[2], i);
}

/* Forward and backward alike: out = in · mask / (1 − p). */
void
loom_dropout_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_op_parallel (threads, ((const LoomDropoutParams *) params)->n, 1 << 14, dropout_range,
                    params, b);
}
