/* out[i] = a[i] * b[i] */
#include "ops/elementwise.h"
#include "mul.spv.h"

static void
mul_range (const void *params, float *const *b, gsize begin, gsize end)
{
  for (gsize i = begin; i < end; i++)
    b[0][i] = b[1][i] * b[2][i];
}

LOOM_ELT_KERNELS (mul)

const LoomOp loom_op_mul = {
  LOOM_ELT_OP_FIELDS (mul),
  .tolerance = 0.0,
  .test_case = loom_elt_test_case,
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
};

gboolean
loom_mul (LoomBuffer *out, LoomBuffer *a, LoomBuffer *b, GError **error)
{
  LoomBuffer *buffers[] = { out, a, b };

  g_return_val_if_fail (out != NULL && a != NULL && b != NULL, FALSE);
  return loom_elt_run (&loom_op_mul, 0.0f, 0, buffers, error);
}
