/* Dropout's mask: element i of a run is kept when its Philox draw is at
 * least p — recomputed by the backward pass, never stored. */
#pragma once

#include <string.h>

#include "op.h"
#include "ops/params.h"
#include "ops/philox.h"

static inline float
loom_dropout_factor (const LoomDropoutParams *p, const float *seed_binding, gsize i)
{
  guint32 seed, a, b;

  memcpy (&seed, seed_binding, sizeof seed);
  loom_philox_draw (seed, p->stream, i, &a, &b);
  return loom_uniform_of (a) >= p->p ? p->scale : 0.0f;
}

void     loom_dropout_lengths   (const void *params, gsize *lengths);
void     loom_dropout_vk_groups (const void *params, const guint32 *spec,
                                 const LoomLimits *limits, guint32 *groups);
double   loom_dropout_flops     (const void *params);
gboolean loom_dropout_test_case (guint index, GRand *rand, void *params);
void     loom_dropout_cpu       (const void *params, float *const *b, LoomThreads *threads);
