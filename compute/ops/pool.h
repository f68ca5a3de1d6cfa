/* What the pooling ops share: sizes, window arithmetic, test shapes. */
#pragma once

#include <math.h>

#include "op.h"
#include "ops/params.h"

G_BEGIN_DECLS

/* The input index inside plane X that window (op, oq) takes its maximum
 * from (the first in row order), or -1 when the window is all padding. */
static inline gint64
loom_pool_argmax (const LoomPoolParams *p, const float *x, gsize op, gsize oq)
{
  gint64 best = -1;
  float top = -INFINITY;

  for (gsize r = 0; r < p->kernel; r++)
    for (gsize s = 0; s < p->kernel; s++)
      {
        gint64 h = (gint64) (op * p->stride + r) - p->pad, w = (gint64) (oq * p->stride + s) - p->pad;

        if (h < 0 || w < 0 || h >= p->h || w >= p->w)
          continue;
        if (best < 0 || x[h * p->w + w] > top)
          best = h * p->w + w, top = x[best];
      }
  return best;
}

gboolean loom_pool_test_case (guint index, GRand *rand, void *params);
double   loom_pool_flops     (const void *params);
/* Runs RANGE over planes [0, planes) on the pool. */
void     loom_pool_cpu       (LoomOpRange range, const void *params, float *const *b,
                              LoomThreads *threads);

G_END_DECLS
