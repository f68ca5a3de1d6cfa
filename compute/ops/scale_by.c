/* out[i] = s[0] · x[i]: scaling by a value that lives on the device (a
 * clipping factor), so no round trip to the host. */
#include "backend.h"
#include "ops/elementwise.h"
#include "scale_by.spv.h"

enum { OUT_, X_, S_ };

static void
scale_by_lengths (const void *params, gsize *lengths)
{
  lengths[OUT_] = lengths[X_] = ((const LoomEltParams *) params)->n;
  lengths[S_] = 1;
}

static void
scale_by_range (const void *params, float *const *b, gsize begin, gsize end)
{
  for (gsize i = begin; i < end; i++)
    b[OUT_][i] = b[S_][0] * b[X_][i];
}

LOOM_ELT_KERNELS (scale_by)

const LoomOp loom_op_scale_by = {
  .name = "scale_by",
  .n_bindings = 3, .read_mask = 0x6, .write_mask = 0x1,
  LOOM_OP_SHADER (scale_by, LoomEltParams),
  .tolerance = 0.0,
  .binding_lengths = scale_by_lengths,
  .reference = scale_by_reference,
  .cpu = scale_by_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = loom_elt_vk_groups,
  .flops = loom_elt_flops,
  .test_case = loom_elt_test_case,
};
