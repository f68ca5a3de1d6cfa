#include "backend.h"
#include "ops/pool.h"

double
loom_pool_flops (const void *params)
{
  const LoomPoolParams *p = params;

  return (double) p->planes * p->p * p->q * p->kernel * p->kernel;
}

gboolean
loom_pool_test_case (guint index, GRand *rand, void *params)
{
  /* planes, h, w, kernel, stride, pad */
  static const guint32 cases[][6] = {
    { 1, 1, 1, 1, 1, 0 }, { 3, 8, 8, 2, 2, 0 }, { 2, 7, 9, 2, 2, 0 }, { 4, 13, 11, 3, 2, 1 },
    { 2, 10, 10, 3, 1, 1 }, { 70, 16, 16, 2, 2, 0 },
  };
  LoomPoolParams *p = params;
  const guint32 *v;

  if (index >= 2 * G_N_ELEMENTS (cases))
    return FALSE;
  v = cases[index / 2];
  p->planes = v[0], p->h = v[1], p->w = v[2];
  p->kernel = v[3], p->stride = v[4], p->pad = v[5];
  p->p = (p->h + 2 * p->pad - p->kernel) / p->stride + 1;
  p->q = (p->w + 2 * p->pad - p->kernel) / p->stride + 1;
  p->max = index % 2;
  return TRUE;
}

void
loom_pool_cpu (LoomOpRange range, const void *params, float *const *b, LoomThreads *threads)
{
  const LoomPoolParams *p = params;

  loom_op_parallel (threads, p->planes, 1, range, params, b);
}
