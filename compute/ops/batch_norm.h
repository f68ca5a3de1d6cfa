/* Batch normalisation as PyTorch's: statistics per channel over N·H·W, the
 * biased variance to normalise and the unbiased one for the running
 * variance.  Five ops share this: batch_norm_stats, batch_norm_forward,
 * batch_norm_running, batch_norm_grad_stats, batch_norm_backward. */
#pragma once

#include <math.h>

#include "op.h"
#include "ops/params.h"

G_BEGIN_DECLS

static inline float
loom_bn_rstd (const LoomBatchNormParams *p, float var)
{
  return 1.0f / sqrtf (var + p->eps);
}

#define LOOM_BN_VALUES(p)    ((gsize) (p)->n * (p)->c * (p)->hw)
/* Value t of the N·HW of channel c. */
#define LOOM_BN_AT(p, c, t)  ((((t) / (p)->hw) * (p)->c + (c)) * (p)->hw + (t) % (p)->hw)

/* The descriptor of batch-norm op OP_ (the fields that differ are given). */
#define LOOM_BN_OP(op_, bindings_, reads_, writes_, lengths_, ref_, cpu_, groups_, inputs_, tol_) \
  const LoomOp loom_op_##op_ = {                                                            \
    .name = #op_, .n_bindings = bindings_, .read_mask = reads_, .write_mask = writes_,      \
    LOOM_OP_SHADER (op_, LoomBatchNormParams), .tolerance = tol_,                           \
    .binding_lengths = lengths_, .reference = ref_, .cpu = cpu_,                             \
    .vk_spec = loom_vk_spec_linear, .vk_groups = groups_, .flops = loom_bn_flops,               \
    .test_case = loom_bn_test_case, .test_inputs = inputs_,                                  \
  };

void     loom_bn_vk_groups_each (const void *params, const guint32 *spec,
                                 const LoomLimits *limits, guint32 *groups);   /* a value each */
void     loom_bn_vk_groups_channel (const void *params, const guint32 *spec,
                                    const LoomLimits *limits, guint32 *groups); /* a channel each */
double   loom_bn_flops          (const void *params);
gboolean loom_bn_test_case      (guint index, GRand *rand, void *params);
/* Variances positive (bindings listed in VARIANCES, -1 ended). */
void     loom_bn_positive       (const LoomBatchNormParams *p, float *const *b, const int *variances);
void     loom_bn_cpu            (LoomOpRange range, gsize count, const void *params,
                                 float *const *b, LoomThreads *threads);

/* Sums for the CPU kernels over ROWS rows of N values STRIDE apart, in
 * float lanes (vectorised) gathered into double every few thousand values:
 * Σ v, Σ (v − m)², and Σ dy, Σ dy·(x − m). */
double   loom_bn_sum            (const float *v, gsize rows, gsize stride, gsize n);
double   loom_bn_sum_sq_dev     (const float *v, gsize rows, gsize stride, gsize n, float m);
void     loom_bn_sum_grad       (const float *dy, const float *x, gsize rows, gsize stride,
                                 gsize n, float m, double *sum_dy, double *sum_dy_dev);

G_END_DECLS
