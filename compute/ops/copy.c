/* dst[i] = src[i] */
#include <string.h>

#include "ops/elementwise.h"
#include "copy.spv.h"

static void
copy_range (const void *params, float *const *b, gsize begin, gsize end)
{
  memcpy (b[0] + begin, b[1] + begin, (end - begin) * sizeof (float));
}

LOOM_ELT_KERNELS (copy)

const LoomOp loom_op_copy = {
  LOOM_ELT_OP_FIELDS (copy),
  .tolerance = 0.0,
  .test_case = loom_elt_test_case,
  .n_bindings = 2, .read_mask = 0x2, .write_mask = 0x1,
};

gboolean
loom_copy (LoomBuffer *dst, LoomBuffer *src, GError **error)
{
  LoomBuffer *buffers[] = { dst, src };

  g_return_val_if_fail (dst != NULL && src != NULL, FALSE);
  return loom_elt_run (&loom_op_copy, 0.0f, 0, buffers, error);
}
