/* out[i] = alpha * x[i] */
#include "ops/elementwise.h"
#include "scale.spv.h"

static void
scale_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = p->alpha * b[1][i];
}

LOOM_ELT_KERNELS (scale)

const LoomOp loom_op_scale = {
  LOOM_ELT_OP_FIELDS (scale),
  .tolerance = 0.0,
  .test_case = loom_elt_test_case,
  .n_bindings = 2, .read_mask = 0x2, .write_mask = 0x1,
};

gboolean
loom_scale (LoomBuffer *out, LoomBuffer *x, float alpha, GError **error)
{
  LoomBuffer *buffers[] = { out, x };

  g_return_val_if_fail (out != NULL && x != NULL, FALSE);
  return loom_elt_run (&loom_op_scale, alpha, 0, buffers, error);
}
