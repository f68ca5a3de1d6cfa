/* out[i] = min(1, alpha / (√x[i] + 1e-6)): from a sum of squared
 * gradients, the factor that clips their norm to alpha (PyTorch's
 * clip_grad_norm_). */
#include <math.h>

#include "backend.h"
#include "ops/elementwise.h"
#include "clip_scale.spv.h"

static void
clip_scale_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = fminf (1.0f, p->alpha / (sqrtf (b[1][i]) + 1e-6f));
}

LOOM_ELT_KERNELS (clip_scale)

static void
clip_scale_test_inputs (const void *params, float *const *b)
{
  for (gsize i = 0; i < ((const LoomEltParams *) params)->n; i++)
    b[1][i] = fabsf (b[1][i]) * 10.0f;       /* a sum of squares, some above alpha² */
}

const LoomOp loom_op_clip_scale = {
  LOOM_ELT_OP_FIELDS (clip_scale),
  .n_bindings = 2, .read_mask = 0x2, .write_mask = 0x1,
  .tolerance = 1e-6,
  .test_case = loom_elt_test_case,
  .test_inputs = clip_scale_test_inputs,
};
