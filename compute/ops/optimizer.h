/* What the optimizer steps share: their bindings, lengths and test cases. */
#pragma once

#include "op.h"
#include "ops/params.h"

G_BEGIN_DECLS

/* Bindings: the parameter, two state buffers, the gradient, the scalars. */
enum { LOOM_OPT_PARAM, LOOM_OPT_STATE1, LOOM_OPT_STATE2, LOOM_OPT_GRAD, LOOM_OPT_SCALARS };

void     loom_optimizer_lengths   (const void *params, gsize *lengths);
void     loom_optimizer_vk_groups (const void *params, const guint32 *spec,
                                   const LoomLimits *limits, guint32 *groups);
double   loom_optimizer_flops     (const void *params);
gboolean loom_optimizer_test_case (guint index, GRand *rand, void *params);
void     loom_optimizer_test_inputs (const void *params, float *const *bindings);
/* Runs RANGE over [0, n) on the pool. */
void     loom_optimizer_cpu       (LoomOpRange range, const void *params, float *const *b,
                                   LoomThreads *threads);

G_END_DECLS
