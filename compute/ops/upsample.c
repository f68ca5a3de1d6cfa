#include "backend.h"
#include "ops/upsample.h"

double
loom_upsample_flops (const void *params)
{
  const LoomUpsampleParams *p = params;

  return 4.0 * p->planes * p->h * p->w * p->scale * p->scale;
}

gboolean
loom_upsample_test_case (guint index, GRand *rand, void *params)
{
  /* planes, h, w, scale */
  static const guint32 cases[][4] = {
    { 1, 1, 1, 2 }, { 3, 4, 5, 2 }, { 2, 7, 3, 3 }, { 70, 8, 8, 2 }, { 1, 5, 6, 4 },
  };
  LoomUpsampleParams *p = params;

  if (index >= 2 * G_N_ELEMENTS (cases))
    return FALSE;
  *p = (LoomUpsampleParams) { cases[index / 2][0], cases[index / 2][1], cases[index / 2][2],
                              cases[index / 2][3], index % 2 };
  return TRUE;
}

void
loom_upsample_cpu (LoomOpRange range, const void *params, float *const *b, LoomThreads *threads)
{
  const LoomUpsampleParams *p = params;

  loom_op_parallel (threads, p->planes, 1, range, params, b);
}
