/* What the elementwise ops (fill, copy, add, mul, scale) share: one params
 * block, one dispatch shape, one set of test sizes.  Each op supplies only
 * the loop body over elements [begin, end). */
#pragma once

#include "op.h"

G_BEGIN_DECLS

typedef struct
{
  guint32 n;                    /* elements: first, as LoomOp.elementwise requires */
  float   alpha;                /* fill value, scale factor, leaky slope */
  guint32 kind;                 /* which function, for op families (activations) */
} LoomEltParams;

void     loom_elt_binding_lengths (const void *params, gsize *lengths);
void     loom_elt_vk_groups       (const void *params, const guint32 *spec,
                                   const LoomLimits *limits, guint32 *groups);
double   loom_elt_flops           (const void *params);
gboolean loom_elt_test_case       (guint index, GRand *rand, void *params);
/* The same sizes, each with every KIND below N_KINDS. */
gboolean loom_elt_test_case_kinds (guint index, GRand *rand, LoomEltParams *p, guint n_kinds);

/* Runs an elementwise op over whole buffers of equal length. */
gboolean loom_elt_run             (const LoomOp *op, float alpha, guint32 kind,
                                   LoomBuffer *const *buffers, GError **error);

#define LOOM_ELT_GRAIN (1 << 15)  /* below this, threads cost more than they give */

/* The reference and CPU entry points of op NAME, from NAME_range. */
#define LOOM_ELT_KERNELS(name)                                                  \
  static void name##_reference (const void *params, float *const *b)            \
  {                                                                             \
    name##_range (params, b, 0, ((const LoomEltParams *) params)->n);           \
  }                                                                             \
  static void name##_cpu (const void *params, float *const *b, LoomThreads *t)  \
  {                                                                             \
    loom_op_parallel (t, ((const LoomEltParams *) params)->n, LOOM_ELT_GRAIN,   \
                      name##_range, params, b);                                 \
  }

/* The descriptor fields every elementwise op shares. */
#define LOOM_ELT_OP_FIELDS(op)                                                  \
  .name = #op,                                                                  \
  LOOM_OP_SHADER (op, LoomEltParams),                                           \
  .elementwise = TRUE,                                                          \
  .binding_lengths = loom_elt_binding_lengths,                                  \
  .reference = op##_reference,                                                  \
  .cpu = op##_cpu,                                                              \
  .vk_spec = loom_vk_spec_linear,                                                  \
  .vk_groups = loom_elt_vk_groups,                                              \
  .flops = loom_elt_flops

G_END_DECLS
