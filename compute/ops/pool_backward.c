/* The gradient of pooling: the average's share, or the whole output
 * gradient where the pixel is its window's (first) maximum.  Vulkan
 * gathers per input pixel over the windows that hold it (no atomics); the
 * CPU scatters per window, a plane per thread. */
#include <string.h>

#include "backend.h"
#include "ops/pool.h"
#include "pool_backward.spv.h"

enum { DX_, DY_, X_ };

static void
pool_backward_lengths (const void *params, gsize *lengths)
{
  const LoomPoolParams *p = params;

  lengths[DX_] = lengths[X_] = (gsize) p->planes * p->h * p->w;
  lengths[DY_] = (gsize) p->planes * p->p * p->q;
}

/* Each window scatters into its inputs, a plane at a time (planes never
 * share inputs, so threads may take planes): the plain way round, and on
 * the CPU the fast one (one argmax per window). */
static void
pool_backward_planes (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomPoolParams *p = params;

  for (gsize plane = begin; plane < end; plane++)
    {
      const float *x = b[X_] + plane * p->h * p->w;
      const float *dy = b[DY_] + plane * p->p * p->q;
      float *dx = b[DX_] + plane * p->h * p->w;

      memset (dx, 0, (gsize) p->h * p->w * sizeof (float));
      for (gsize op = 0; op < p->p; op++)
        for (gsize oq = 0; oq < p->q; oq++)
          {
            float g = dy[op * p->q + oq];

            if (p->max)
              {
                gint64 at = loom_pool_argmax (p, x, op, oq);

                if (at >= 0)
                  dx[at] += g;
                continue;
              }
            for (gsize r = 0; r < p->kernel; r++)
              for (gsize s = 0; s < p->kernel; s++)
                {
                  gint64 h = (gint64) (op * p->stride + r) - p->pad;
                  gint64 w = (gint64) (oq * p->stride + s) - p->pad;

                  if (h >= 0 && w >= 0 && h < p->h && w < p->w)
                    dx[h * p->w + w] += g / (float) (p->kernel * p->kernel);
                }
          }
    }
}

static void
pool_backward_reference (const void *params, float *const *b)
{
  pool_backward_planes (params, b, 0, ((const LoomPoolParams *) params)->planes);
}

static void
pool_backward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_pool_cpu (pool_backward_planes, params, b, threads);
}

static void
pool_backward_vk_groups (const void *params, const guint32 *spec,
                         const LoomLimits *limits, guint32 *groups)
{
  const LoomPoolParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->planes * p->h * p->w, spec[0], limits);
  groups[1] = groups[2] = 1;
}

const LoomOp loom_op_pool_backward = {
  .name = "pool_backward",
  .n_bindings = 3,
  .read_mask = (1 << DY_) | (1 << X_),
  .write_mask = 1 << DX_,
  LOOM_OP_SHADER (pool_backward, LoomPoolParams),
  .tolerance = 1e-6,
  .binding_lengths = pool_backward_lengths,
  .reference = pool_backward_reference,
  .cpu = pool_backward_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = pool_backward_vk_groups,
  .flops = loom_pool_flops,
  .test_case = loom_pool_test_case,
};
