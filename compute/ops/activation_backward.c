/* dx = dy · f'(x) for the activations of LoomActivation. */
#include "backend.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "activation_backward.spv.h"

static void
activation_backward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomEltParams *p = params;
  float *restrict dx = b[0];
  const float *restrict dy = b[1], *restrict x = b[2];

  /* The piecewise-linear ones as plain selects, which the compiler vectorises
   * (with -fno-trapping-math, see meson.build). */
  if (p->kind == LOOM_ACTIVATION_RELU || p->kind == LOOM_ACTIVATION_LEAKY_RELU)
    {
      float slope = p->kind == LOOM_ACTIVATION_RELU ? 0.0f : p->alpha;

      for (gsize i = begin; i < end; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
      return;
    }
  for (gsize i = begin; i < end; i++)
    dx[i] = dy[i] * loom_activation_derivative (p->kind, p->alpha, x[i]);
}

LOOM_ELT_KERNELS (activation_backward)

static gboolean
activation_backward_test_case (guint index, GRand *rand, void *params)
{
  return loom_elt_test_case_kinds (index, rand, params, LOOM_N_ACTIVATIONS);
}

const LoomOp loom_op_activation_backward = {
  LOOM_ELT_OP_FIELDS (activation_backward),
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
  .tolerance = 1e-5,
  .test_case = activation_backward_test_case,
};

gboolean
loom_activation_backward (LoomActivation kind, float slope, LoomBuffer *dx, LoomBuffer *dy,
                          LoomBuffer *x, GError **error)
{
  LoomBuffer *buffers[] = { dx, dy, x };

  g_return_val_if_fail (dx != NULL && dy != NULL && x != NULL && kind < LOOM_N_ACTIVATIONS,
                        FALSE);
  return loom_elt_run (&loom_op_activation_backward, slope, kind, buffers, error);
}
