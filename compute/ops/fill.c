/* dst[i] = alpha */
#include "ops/elementwise.h"
#include "fill.spv.h"

static void
fill_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = p->alpha;
}

LOOM_ELT_KERNELS (fill)

const LoomOp loom_op_fill = {
  LOOM_ELT_OP_FIELDS (fill),
  .tolerance = 0.0,
  .test_case = loom_elt_test_case,
  .n_bindings = 1, .read_mask = 0x0, .write_mask = 0x1,
};

gboolean
loom_fill (LoomBuffer *dst, float value, GError **error)
{
  g_return_val_if_fail (dst != NULL, FALSE);
  return loom_elt_run (&loom_op_fill, value, 0, &dst, error);
}
