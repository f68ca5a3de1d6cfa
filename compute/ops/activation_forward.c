/* y = f(x) for the activations of LoomActivation (one op, a kind each). */
#include "backend.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "activation_forward.spv.h"

static void
activation_forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;
  float *restrict y = b[0];
  const float *restrict x = b[1];

  /* The piecewise-linear ones as plain selects, which the compiler vectorises
   * (with -fno-trapping-math, see meson.build). */
  if (p->kind == LOOM_ACTIVATION_RELU || p->kind == LOOM_ACTIVATION_LEAKY_RELU)
    {
      float slope = p->kind == LOOM_ACTIVATION_RELU ? 0.0f : p->alpha;

      for (gsize i = begin; i < end; i++)
        y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
      return;
    }
  for (gsize i = begin; i < end; i++)
    y[i] = loom_activation (p->kind, p->alpha, x[i]);
}

LOOM_ELT_KERNELS (activation_forward)

static gboolean
activation_forward_test_case (guint index, GRand *rand, void *params)
{
  return loom_elt_test_case_kinds (index, rand, params, LOOM_N_ACTIVATIONS);
}

const LoomOp loom_op_activation_forward = {
  LOOM_ELT_OP_FIELDS (activation_forward),
  .n_bindings = 2, .read_mask = 0x2, .write_mask = 0x1,
  .tolerance = 1e-5,            /* libm against the GPU's transcendentals */
  .test_case = activation_forward_test_case,
};

gboolean
loom_activation_forward (LoomActivation kind, float slope, LoomBuffer *y, LoomBuffer *x,
                         GError **error)
{
  LoomBuffer *buffers[] = { y, x };

  g_return_val_if_fail (y != NULL && x != NULL && kind < LOOM_N_ACTIVATIONS, FALSE);
  return loom_elt_run (&loom_op_activation_forward, slope, kind, buffers, error);
}
