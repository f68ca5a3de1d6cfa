/* The gradient of upsampling, gathered per input pixel over the outputs
 * that read it. */
#include <string.h>

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

/* The forward pass's tables, run backwards: each output row is summed
 * across into the input columns, then added into its two input rows. */
static void
upsample_backward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomUpsampleParams *p = params;
  gint64 oh = (gint64) p->h * p->scale, ow = (gint64) p->w * p->scale;
  LoomUpsampleTap *rows = g_new (LoomUpsampleTap, oh), *cols = g_new (LoomUpsampleTap, ow);
  float *line = g_new (float, p->w);

  loom_upsample_taps (p, p->h, rows);
  loom_upsample_taps (p, p->w, cols);
  for (gsize plane = begin; plane < end; plane++)
    {
      float *dx = b[DX_] + plane * p->h * p->w;

      memset (dx, 0, (gsize) p->h * p->w * sizeof (float));
      for (gint64 o = 0; o < oh; o++)
        {
          const float *dy = b[DY_] + (plane * oh + o) * ow;
          float *d0 = dx + rows[o].i0 * p->w, *d1 = dx + rows[o].i1 * p->w;

          memset (line, 0, p->w * sizeof (float));
          for (gint64 q = 0; q < ow; q++)
            {
              line[cols[q].i0] += cols[q].w0 * dy[q];
              line[cols[q].i1] += cols[q].w1 * dy[q];
            }
          for (gint64 w = 0; w < p->w; w++)
            {
              d0[w] += rows[o].w0 * line[w];
              d1[w] += rows[o].w1 * line[w];
            }
        }
    }
  g_free (rows);
  g_free (cols);
  g_free (line);
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
  LOOM_OP_SHADER (upsample_backward, LoomUpsampleParams),
  .tolerance = 1e-5,
  .binding_lengths = upsample_backward_lengths,
  .reference = upsample_backward_reference,
  .cpu = upsample_backward_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = upsample_backward_vk_groups,
  .flops = loom_upsample_flops,
  .test_case = loom_upsample_test_case,
};
