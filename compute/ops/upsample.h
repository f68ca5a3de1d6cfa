/* Integer-factor upsampling, nearest or bilinear as PyTorch's interpolate
 * (align_corners false), and what its two ops share. */
#pragma once

#include <math.h>

#include "op.h"
#include "ops/params.h"

G_BEGIN_DECLS

/* How much input index I of an axis of SIZE contributes to output O. */
static inline float
loom_upsample_weight (const LoomUpsampleParams *p, gint64 o, gint64 i, gint64 size)
{
  float src, frac;
  gint64 i0, i1;

  if (!p->bilinear)
    return o / p->scale == i ? 1.0f : 0.0f;
  src = fmaxf (((float) o + 0.5f) / (float) p->scale - 0.5f, 0.0f);
  i0 = (gint64) src;
  i1 = MIN (i0 + 1, size - 1);
  frac = src - (float) i0;
  return (i0 == i ? 1.0f - frac : 0.0f) + (i1 == i ? frac : 0.0f);
}

/* Outputs of an axis that may read input I: [*lo, *hi). */
static inline void
loom_upsample_reach (const LoomUpsampleParams *p, gint64 i, gint64 out, gint64 *lo, gint64 *hi)
{
  *lo = MAX ((i - 1) * (gint64) p->scale, 0);
  *hi = MIN ((i + 2) * (gint64) p->scale, out);
}

/* Per output index of an axis of SIZE inputs: the two inputs it reads and
 * their weights (the same arithmetic as loom_upsample_weight). */
typedef struct
{
  gint32 i0, i1;
  float  w0, w1;
} LoomUpsampleTap;

void     loom_upsample_taps      (const LoomUpsampleParams *p, gint64 size, LoomUpsampleTap *taps);

gboolean loom_upsample_test_case (guint index, GRand *rand, void *params);
double   loom_upsample_flops     (const void *params);
void     loom_upsample_cpu       (LoomOpRange range, const void *params, float *const *b,
                                  LoomThreads *threads);

G_END_DECLS
