/* out[i] = a[i] / b[i]: means over a device-side count (weighted losses). */
#include "backend.h"
#include "ops/elementwise.h"
#include "divide.spv.h"

static void
divide_range (const void *params, float *const *b, gsize begin, gsize end)
{
  for (gsize i = begin; i < end; i++)
    b[0][i] = b[1][i] / b[2][i];
}

LOOM_ELT_KERNELS (divide)

/* Divisors away from zero. */
static void
divide_test_inputs (const void *params, float *const *b)
{
  for (gsize i = 0; i < ((const LoomEltParams *) params)->n; i++)
    b[2][i] = b[2][i] < 0.0f ? b[2][i] - 0.5f : b[2][i] + 0.5f;
}

const LoomOp loom_op_divide = {
  LOOM_ELT_OP_FIELDS (divide),
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
  .tolerance = 1e-6,            /* GPUs may divide to 2.5 ulp */
  .test_case = loom_elt_test_case,
  .test_inputs = divide_test_inputs,
};
