/* out[i] = a[i] + alpha · b[i]: differences, SGD steps, gradient sums. */
#include "backend.h"
#include "ops/elementwise.h"
#include "axpy.spv.h"

static void
axpy_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = b[1][i] + p->alpha * b[2][i];
}

LOOM_ELT_KERNELS (axpy)

const LoomOp loom_op_axpy = {
  LOOM_ELT_OP_FIELDS (axpy),
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
  .tolerance = 1e-6,            /* fused or not, one rounding apart */
  .test_case = loom_elt_test_case,
};

gboolean
loom_axpy (LoomBuffer *out, LoomBuffer *a, float alpha, LoomBuffer *b, GError **error)
{
  LoomBuffer *buffers[] = { out, a, b };

  g_return_val_if_fail (out != NULL && a != NULL && b != NULL, FALSE);
  return loom_elt_run (&loom_op_axpy, alpha, 0, buffers, error);
}
