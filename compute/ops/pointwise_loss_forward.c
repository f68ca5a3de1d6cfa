/* l[i] = loss(y[i], t[i]) for the losses of LoomLoss (one op, a kind each). */
#include "backend.h"
#include "ops/elementwise.h"
#include "ops/pointwise_loss.h"
#include "pointwise_loss_forward.spv.h"

static void
pointwise_loss_forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;

  for (gsize i = begin; i < end; i++)
    b[0][i] = loom_pointwise_loss (p->kind, b[1][i], b[2][i]);
}

LOOM_ELT_KERNELS (pointwise_loss_forward)

static gboolean
pointwise_loss_forward_test_case (guint index, GRand *rand, void *params)
{
  return loom_elt_test_case_kinds (index, rand, params, LOOM_N_POINTWISE_LOSSES);
}

const LoomOp loom_op_pointwise_loss_forward = {
  LOOM_ELT_OP_FIELDS (pointwise_loss_forward),
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
  .tolerance = 1e-5,
  .test_case = pointwise_loss_forward_test_case,
};
