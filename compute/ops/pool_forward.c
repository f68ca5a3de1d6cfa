/* Max or average pooling over kernel × kernel windows (PyTorch's
 * max_pool2d, and avg_pool2d with count_include_pad). */
#include "backend.h"
#include "ops/pool.h"
#include "pool_forward.spv.h"

enum { Y_, X_ };

static void
pool_forward_lengths (const void *params, gsize *lengths)
{
  const LoomPoolParams *p = params;

  lengths[Y_] = (gsize) p->planes * p->p * p->q;
  lengths[X_] = (gsize) p->planes * p->h * p->w;
}

static void
pool_forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomPoolParams *p = params;

  for (gsize plane = begin; plane < end; plane++)
    {
      const float *x = b[X_] + plane * p->h * p->w;
      float *y = b[Y_] + plane * p->p * p->q;

      for (gsize op = 0; op < p->p; op++)
        for (gsize oq = 0; oq < p->q; oq++)
          {
            float sum = 0.0f;

            if (p->max)
              {
                gint64 at = loom_pool_argmax (p, x, op, oq);

                y[op * p->q + oq] = at < 0 ? 0.0f : x[at];
                continue;
              }
            for (gsize r = 0; r < p->kernel; r++)
              for (gsize s = 0; s < p->kernel; s++)
                {
                  gint64 h = (gint64) (op * p->stride + r) - p->pad;
                  gint64 w = (gint64) (oq * p->stride + s) - p->pad;

                  if (h >= 0 && w >= 0 && h < p->h && w < p->w)
                    sum += x[h * p->w + w];
                }
            y[op * p->q + oq] = sum / (float) (p->kernel * p->kernel);
          }
    }
}

static void
pool_forward_reference (const void *params, float *const *b)
{
  pool_forward_range (params, b, 0, ((const LoomPoolParams *) params)->planes);
}

static void
pool_forward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_pool_cpu (pool_forward_range, params, b, threads);
}

static void
pool_forward_vk_groups (const void *params, const guint32 *spec,
                        const LoomLimits *limits, guint32 *groups)
{
  const LoomPoolParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->planes * p->p * p->q, spec[0], limits);
  groups[1] = groups[2] = 1;
}

const LoomOp loom_op_pool_forward = {
  .name = "pool_forward",
  .n_bindings = 2,
  .read_mask = 1 << X_,
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (pool_forward, LoomPoolParams),
  .tolerance = 1e-6,
  .binding_lengths = pool_forward_lengths,
  .reference = pool_forward_reference,
  .cpu = pool_forward_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = pool_forward_vk_groups,
  .flops = loom_pool_flops,
  .test_case = loom_pool_test_case,
};
