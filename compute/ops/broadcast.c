/* y = a + b or a · b with NCHW broadcasting: each input is read at strides
 * that are 0 along its broadcast dimensions (a per-channel scale, a
 * per-sample gate, a bias image). */
#include "backend.h"
#include "ops/params.h"
#include "broadcast.spv.h"

enum { Y_, A_, B_ };

static gsize
extent (const guint32 *dims, const guint32 *strides)
{
  gsize last = 0;

  for (guint i = 0; i < 4; i++)
    last += (gsize) (dims[i] - 1) * strides[i];
  return last + 1;
}

static void
broadcast_lengths (const void *params, gsize *lengths)
{
  const LoomBroadcastParams *p = params;

  lengths[Y_] = (gsize) p->dims[0] * p->dims[1] * p->dims[2] * p->dims[3];
  lengths[A_] = extent (p->dims, p->a_strides);
  lengths[B_] = extent (p->dims, p->b_strides);
}

/* Output rows [begin, end): one (n, c, h) each. */
static void
broadcast_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomBroadcastParams *p = params;
  const guint32 *d = p->dims, *sa = p->a_strides, *sb = p->b_strides;

  for (gsize row = begin; row < end; row++)
    {
      gsize h = row % d[2], c = row / d[2] % d[1], n = row / d[2] / d[1];
      const float *a = b[A_] + n * sa[0] + c * sa[1] + h * sa[2];
      const float *x = b[B_] + n * sb[0] + c * sb[1] + h * sb[2];
      float *y = b[Y_] + row * d[3];

      if (p->mul)
        for (gsize w = 0; w < d[3]; w++)
          y[w] = a[w * sa[3]] * x[w * sb[3]];
      else
        for (gsize w = 0; w < d[3]; w++)
          y[w] = a[w * sa[3]] + x[w * sb[3]];
    }
}

static void
broadcast_reference (const void *params, float *const *b)
{
  const LoomBroadcastParams *p = params;

  broadcast_range (params, b, 0, (gsize) p->dims[0] * p->dims[1] * p->dims[2]);
}

static void
broadcast_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomBroadcastParams *p = params;

  loom_op_parallel (threads, (gsize) p->dims[0] * p->dims[1] * p->dims[2],
                    MAX (1, (1 << 14) / p->dims[3]), broadcast_range, params, b);
}

static void
broadcast_vk_groups (const void *params, const guint32 *spec,
                     const LoomLimits *limits, guint32 *groups)
{
  gsize lengths[3];

  broadcast_lengths (params, lengths);
  groups[0] = loom_groups_1d (lengths[Y_], spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
broadcast_flops (const void *params)
{
  gsize lengths[3];

  broadcast_lengths (params, lengths);
  return (double) lengths[Y_];
}

/* Contiguous strides of a tensor of SHAPE, 0 where it is 1 and the output is not. */
void
loom_broadcast_strides (const guint32 *shape, const guint32 *out, guint32 *strides)
{
  guint32 step = 1;

  for (int i = 3; i >= 0; i--)
    {
      strides[i] = shape[i] == 1 && out[i] != 1 ? 0 : step;
      step *= shape[i];
    }
}

static gboolean
broadcast_test_case (guint index, GRand *rand, void *params)
{
  /* output N, C, H, W; which dimensions a and b broadcast (bit i: dim i) */
  static const guint32 cases[][6] = {
    { 1, 1, 1, 1, 0, 0 }, { 2, 3, 5, 7, 0, 0xe }, { 2, 3, 5, 7, 0xd, 0 },
    { 3, 4, 6, 5, 0x2, 0x1 }, { 2, 70, 9, 130, 0x1, 0xc }, { 4, 3, 1, 1, 0x3, 0x1 },
    { 1, 2, 300, 301, 0, 0xf },
  };
  LoomBroadcastParams *p = params;
  guint32 a_shape[4], b_shape[4];

  if (index >= 2 * G_N_ELEMENTS (cases))
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      p->dims[i] = cases[index / 2][i];
      a_shape[i] = cases[index / 2][4] >> i & 1 ? 1 : p->dims[i];
      b_shape[i] = cases[index / 2][5] >> i & 1 ? 1 : p->dims[i];
    }
  loom_broadcast_strides (a_shape, p->dims, p->a_strides);
  loom_broadcast_strides (b_shape, p->dims, p->b_strides);
  p->mul = index % 2;
  return TRUE;
}

const LoomOp loom_op_broadcast = {
  .name = "broadcast",
  .n_bindings = 3,
  .read_mask = (1 << A_) | (1 << B_),
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (broadcast, LoomBroadcastParams),
  .tolerance = 0.0,
  .binding_lengths = broadcast_lengths,
  .reference = broadcast_reference,
  .cpu = broadcast_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = broadcast_vk_groups,
  .flops = broadcast_flops,
  .test_case = broadcast_test_case,
};
