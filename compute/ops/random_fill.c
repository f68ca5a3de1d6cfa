/* out[i] = a uniform or normal draw (Box–Muller) from Philox at (seed,
 * stream, i); the seed is read from a binding, so it changes every run
 * without a new recording.  Uniform draws are bit-identical on every
 * backend, normal ones agree to the precision of log and cos. */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "ops/params.h"
#include "ops/philox.h"
#include "random_fill.spv.h"

enum { OUT_, SEED_ };

static guint32
seed_of (const float *binding)
{
  guint32 seed;

  memcpy (&seed, binding, sizeof seed);
  return seed;
}

static void
random_lengths (const void *params, gsize *lengths)
{
  lengths[OUT_] = ((const LoomRandomParams *) params)->n;
  lengths[SEED_] = 1;
}

static void
random_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomRandomParams *p = params;
  guint32 seed = seed_of (b[SEED_]);

  for (gsize i = begin; i < end; i++)
    {
      guint32 x, y;

      loom_philox_draw (seed, p->stream, i, &x, &y);
      if (p->normal)
        {
          float u1 = (float) ((x >> 8) + 1) * (1.0f / 16777216.0f);   /* (0, 1] */
          float u2 = loom_uniform_of (y);

          b[OUT_][i] = p->a + p->b * sqrtf (-2.0f * logf (u1)) * cosf (6.2831853f * u2);
        }
      else
        b[OUT_][i] = p->a + (p->b - p->a) * loom_uniform_of (x);
    }
}

static void
random_reference (const void *params, float *const *b)
{
  random_range (params, b, 0, ((const LoomRandomParams *) params)->n);
}

static void
random_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomRandomParams *p = params;

  loom_op_parallel (threads, p->n, 1 << 14, random_range, params, b);
}

static void
random_vk_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                  guint32 *groups)
{
  groups[0] = loom_groups_1d (((const LoomRandomParams *) params)->n, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
random_flops (const void *params)
{
  return 100.0 * ((const LoomRandomParams *) params)->n;
}

static gboolean
random_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 sizes[] = { 1, 7, 1000, 65537 };
  LoomRandomParams *p = params;

  if (index >= 2 * G_N_ELEMENTS (sizes))
    return FALSE;
  *p = (LoomRandomParams) { sizes[index / 2], index % 2, index % 2 ? 0.5f : -1.0f,
                            index % 2 ? 2.0f : 3.0f, index };
  return TRUE;
}

const LoomOp loom_op_random_fill = {
  .name = "random_fill",
  .n_bindings = 2,
  .read_mask = 1 << SEED_,
  .write_mask = 1 << OUT_,
  LOOM_OP_SHADER (random_fill, LoomRandomParams),
  .tolerance = 1e-5,            /* normal draws: the devices' log and cos */
  .binding_lengths = random_lengths,
  .reference = random_reference,
  .cpu = random_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = random_vk_groups,
  .flops = random_flops,
  .test_case = random_test_case,
};
