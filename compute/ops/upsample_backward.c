/* The gradient of upsampling, gathered per input pixel over the outputs
 * that read it. */
#include "backend.h"
#include "ops/upsample.h"
#include "upsample_backward.spv.h"

enum { DX_, DY_ };

static void
upsample_backward_lengths (const void *params, gsize *lengths)
{
  const LoomUpsampleParams *p = params;

  lengths[DX_] = (gsize) p->planes * p->h * p->w;
  lengths[DY_] = lengths[DX_] * p->scale * p->scale;
}

/* Every output against every input: slow and obviously right. */
static void
upsample_backward_reference (const void *params, float *const *b)
{
  const LoomUpsampleParams *p = params;
  gint64 oh = (gint64) p->h * p->scale, ow = (gint64) p->w * p->scale;

  for (gsize plane = 0; plane < p->planes; plane++)
    for (gint64 h = 0; h < p->h; h++)
      for (gint64 w = 0; w < p->w; w++)
        {
          float sum = 0.0f;

          for (gint64 o = 0; o < oh; o++)
            for (gint64 q = 0; q < ow; q++)
              sum += loom_upsample_weight (p, o, h, p->h) * loom_upsample_weight (p, q, w, p->w)
                     * b[DY_][(plane * oh + o) * ow + q];
          b[DX_][(plane * p->h + h) * p->w + w] = sum;
        }
}

static void
upsample_backward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomUpsampleParams *p = params;
  gint64 oh = (gint64) p->h * p->scale, ow = (gint64) p->w * p->scale;

  for (gsize plane = begin; plane < end; plane++)
    for (gint64 h = 0; h < p->h; h++)
      for (gint64 w = 0; w < p->w; w++)
        {
          gint64 lo_o, hi_o, lo_q, hi_q;
          float sum = 0.0f;

          loom_upsample_reach (p, h, oh, &lo_o, &hi_o);
          loom_upsample_reach (p, w, ow, &lo_q, &hi_q);
          for (gint64 o = lo_o; o < hi_o; o++)
            {
              float wh = loom_upsample_weight (p, o, h, p->h);

              for (gint64 q = lo_q; q < hi_q && wh != 0.0f; q++)
                sum += wh * loom_upsample_weight (p, q, w, p->w) * b[DY_][(plane * oh + o) * ow + q];
            }
          b[DX_][(plane * p->h + h) * p->w + w] = sum;
        }
}

static void
upsample_backward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_upsample_cpu (upsample_backward_range, params, b, threads);
}

static void
upsample_backward_vk_groups (const void *params, const guint32 *spec,
                             const LoomLimits *limits, guint32 *groups)
{
  const LoomUpsampleParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->planes * p->h * p->w, spec[0], limits);
  groups[1] = groups[2] = 1;
}

const LoomOp loom_op_upsample_backward = {
  .name = "upsample_backward",
  .n_bindings = 2,
  .read_mask = 1 << DY_,
  .write_mask = 1 << DX_,
  .params_size = sizeof (LoomUpsampleParams),
  .tolerance = 1e-5,
  .binding_lengths = upsample_backward_lengths,
  .reference = upsample_backward_reference,
  .cpu = upsample_backward_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = upsample_backward_vk_groups,
  .flops = loom_upsample_flops,
  .test_case = loom_upsample_test_case,
  .spirv = loom_spv_upsample_backward,
  .spirv_size = sizeof (loom_spv_upsample_backward),
};
