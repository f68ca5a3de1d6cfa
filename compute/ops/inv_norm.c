/* out[i] = 1 / max(√x[i], alpha): from a sum of squares, the factor that
 * makes a vector unit length, as PyTorch's F.normalize with eps alpha
 * (spectral normalisation's power iteration). */
#include <math.h>

#include "backend.h"
#include "ops/elementwise.h"
#include "inv_norm.spv.h"

static void
inv_norm_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = 1.0f / fmaxf (sqrtf (b[1][i]), p->alpha);
}

LOOM_ELT_KERNELS (inv_norm)

/* Sums of squares: positive, some below alpha² (the test cases' alpha is
 * in [−4, 4]), so the floor is met too. */
static void
inv_norm_test_inputs (const void *params, float *const *b)
{
  for (gsize i = 0; i < ((const LoomEltParams *) params)->n; i++)
    b[1][i] = fabsf (b[1][i]) * 4.0f + 1e-3f;
}

const LoomOp loom_op_inv_norm = {
  LOOM_ELT_OP_FIELDS (inv_norm),
  .n_bindings = 2, .read_mask = 0x2, .write_mask = 0x1,
  .tolerance = 1e-6,            /* GPUs may take the root and divide to a few ulp */
  .test_case = loom_elt_test_case,
  .test_inputs = inv_norm_test_inputs,
};
