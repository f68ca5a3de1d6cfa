/* y = x upsampled by an integer factor, nearest or bilinear. */
#include "backend.h"
#include "ops/upsample.h"
#include "upsample_forward.spv.h"

enum { Y_, X_ };

static void
upsample_forward_lengths (const void *params, gsize *lengths)
{
  const LoomUpsampleParams *p = params;

  lengths[X_] = (gsize) p->planes * p->h * p->w;
  lengths[Y_] = lengths[X_] * p->scale * p->scale;
}

/* Every input against every output: slow and obviously right. */
static void
upsample_forward_all (const LoomUpsampleParams *p, float *const *b, gsize begin, gsize end)
{
  gint64 oh = (gint64) p->h * p->scale, ow = (gint64) p->w * p->scale;

  for (gsize plane = begin; plane < end; plane++)
    for (gint64 o = 0; o < oh; o++)
      for (gint64 q = 0; q < ow; q++)
        {
          const float *x = b[X_] + plane * p->h * p->w;
          float sum = 0.0f;

          for (gint64 h = 0; h < p->h; h++)
            {
              float wh = loom_upsample_weight (p, o, h, p->h);

              if (wh == 0.0f)
                continue;
              for (gint64 w = 0; w < p->w; w++)
                {
                  float ww = loom_upsample_weight (p, q, w, p->w);

                  if (ww != 0.0f)
                    sum += wh * ww * x[h * p->w + w];
                }
            }
          b[Y_][(plane * oh + o) * ow + q] = sum;
        }
}

static void
upsample_forward_reference (const void *params, float *const *b)
{
  upsample_forward_all (params, b, 0, ((const LoomUpsampleParams *) params)->planes);
}

/* Separable: each output row mixes two input rows, each output column two
 * input columns, from tables made once per call. */
static void
upsample_forward_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomUpsampleParams *p = params;
  gint64 oh = (gint64) p->h * p->scale, ow = (gint64) p->w * p->scale;
  LoomUpsampleTap *rows = g_new (LoomUpsampleTap, oh), *cols = g_new (LoomUpsampleTap, ow);

  loom_upsample_taps (p, p->h, rows);
  loom_upsample_taps (p, p->w, cols);
  for (gsize plane = begin; plane < end; plane++)
    for (gint64 o = 0; o < oh; o++)
      {
        const float *x0 = b[X_] + (plane * p->h + rows[o].i0) * p->w;
        const float *x1 = b[X_] + (plane * p->h + rows[o].i1) * p->w;
        float *y = b[Y_] + (plane * oh + o) * ow;
        float a = rows[o].w0, c = rows[o].w1;

        for (gint64 q = 0; q < ow; q++)
          {
            const LoomUpsampleTap *t = &cols[q];

            y[q] = a * (t->w0 * x0[t->i0] + t->w1 * x0[t->i1])
                 + c * (t->w0 * x1[t->i0] + t->w1 * x1[t->i1]);
          }
      }
  g_free (rows);
  g_free (cols);
}

static void
upsample_forward_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_upsample_cpu (upsample_forward_range, params, b, threads);
}

static void
upsample_forward_vk_groups (const void *params, const guint32 *spec,
                            const LoomLimits *limits, guint32 *groups)
{
  const LoomUpsampleParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->planes * p->h * p->w * p->scale * p->scale, spec[0],
                              limits);
  groups[1] = groups[2] = 1;
}

const LoomOp loom_op_upsample_forward = {
  .name = "upsample_forward",
  .n_bindings = 2,
  .read_mask = 1 << X_,
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (upsample_forward, LoomUpsampleParams),
  .tolerance = 1e-6,
  .binding_lengths = upsample_forward_lengths,
  .reference = upsample_forward_reference,
  .cpu = upsample_forward_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = upsample_forward_vk_groups,
  .flops = loom_upsample_flops,
  .test_case = loom_upsample_test_case,
};
