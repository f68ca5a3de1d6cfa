/* Geometric augmentation on the device: each crop of a batch is sampled
 * from its source image through its own affine map (random crops, flips,
 * quarter turns, rotation, scale, shear, translation in one) and an
 * optional elastic deformation (a smooth random field of shifts), the image
 * bilinearly with the edge repeated, the labels by the nearest pixel with
 * everything outside the source unlabelled — so labels never take a value
 * that was not there.  The maps come from the host, a few floats a crop. */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "ops/params.h"
#include "ops/philox.h"
#include "affine_sample.spv.h"

enum { X_, LABELS_, IMAGES_, LABEL_MAPS_, MAPS_ };

static void
affine_lengths (const void *params, gsize *lengths)
{
  const LoomAffineParams *p = params;
  gsize pixels = (gsize) p->batch * p->size * p->size;

  lengths[X_] = pixels * p->channels;
  lengths[LABELS_] = pixels;
  lengths[IMAGES_] = MAX (p->image_floats, 1);
  lengths[LABEL_MAPS_] = MAX (p->label_floats, 1);
  lengths[MAPS_] = (gsize) p->batch * LOOM_AFFINE_FLOATS;
}

static guint32
bits (const float *map, int field)
{
  guint32 v;

  memcpy (&v, &map[field], sizeof v);
  return v;
}

#define KNOTS (LOOM_ELASTIC_CELLS + 1)

/* The elastic field's knots of map M: KNOTS² shifts (x, y), uniform in
 * ± its amplitude. */
static void
elastic_knots (const float *m, float knots[KNOTS * KNOTS][2])
{
  guint32 seed = bits (m, LOOM_AFFINE_ELASTIC_SEED);

  for (guint k = 0; k < KNOTS * KNOTS; k++)
    {
      guint32 a, b;

      loom_philox_draw (seed, 0xE1A5u, k, &a, &b);
      knots[k][0] = m[LOOM_AFFINE_ELASTIC] * (2.0f * loom_uniform_of (a) - 1.0f);
      knots[k][1] = m[LOOM_AFFINE_ELASTIC] * (2.0f * loom_uniform_of (b) - 1.0f);
    }
}

/* The field at output pixel (U, V) of a crop of side N: the four knots
 * around it, eased (smoothstep) so the field has no creases. */
static void
elastic_shift (float knots[KNOTS * KNOTS][2], guint n, guint u, guint v, float *dx, float *dy)
{
  float scale = (float) LOOM_ELASTIC_CELLS / (float) (MAX (n, 2u) - 1u);
  float gx = (float) u * scale, gy = (float) v * scale;
  guint kx = MIN ((guint) gx, LOOM_ELASTIC_CELLS - 1), ky = MIN ((guint) gy, LOOM_ELASTIC_CELLS - 1);
  float tx = gx - (float) kx, ty = gy - (float) ky;
  const float *k00 = knots[ky * KNOTS + kx], *k01 = knots[ky * KNOTS + kx + 1];
  const float *k10 = knots[(ky + 1) * KNOTS + kx], *k11 = knots[(ky + 1) * KNOTS + kx + 1];

  tx = tx * tx * (3.0f - 2.0f * tx);
  ty = ty * ty * (3.0f - 2.0f * ty);
  for (int axis = 0; axis < 2; axis++)
    {
      float top = k00[axis] + tx * (k01[axis] - k00[axis]);
      float bottom = k10[axis] + tx * (k11[axis] - k10[axis]);

      *(axis == 0 ? dx : dy) = top + ty * (bottom - top);
    }
}

/* Crops [begin, end). */
static void
affine_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomAffineParams *p = params;
  guint n = p->size;

  for (gsize i = begin; i < end; i++)
    {
      const float *m = b[MAPS_] + i * LOOM_AFFINE_FLOATS;
      const float *image = b[IMAGES_] + bits (m, LOOM_AFFINE_IMAGE);
      const float *labels = b[LABEL_MAPS_] + bits (m, LOOM_AFFINE_LABELS);
      gint64 w = bits (m, LOOM_AFFINE_WIDTH), h = bits (m, LOOM_AFFINE_HEIGHT);
      /* A map past an atlas reads nothing from it: zeros, or unlabelled
       * (an image without labels: a label atlas of one value). */
      gboolean sized = w > 0 && h > 0 && w < 65536 && h < 65536;
      gboolean valid = sized && bits (m, LOOM_AFFINE_IMAGE) + (guint64) p->channels * w * h
                                <= p->image_floats;
      gboolean labelled = sized && bits (m, LOOM_AFFINE_LABELS) + (guint64) w * h <= p->label_floats;
      gboolean elastic = m[LOOM_AFFINE_ELASTIC] != 0.0f;
      float knots[KNOTS * KNOTS][2];

      if (elastic)
        elastic_knots (m, knots);
      for (guint v = 0; v < n; v++)
        for (guint u = 0; u < n; u++)
          {
            float sx = m[LOOM_AFFINE_A] * u + m[LOOM_AFFINE_B] * v + m[LOOM_AFFINE_TX];
            float sy = m[LOOM_AFFINE_C] * u + m[LOOM_AFFINE_D] * v + m[LOOM_AFFINE_TY];
            float fx, fy, ax, ay;
            gint64 x0, x1, y0, y1, rx, ry;
            gsize out = (i * n + v) * n + u;

            if (elastic)
              {
                float dx, dy;

                elastic_shift (knots, n, u, v, &dx, &dy);
                sx += dx;
                sy += dy;
              }
            fx = floorf (sx), fy = floorf (sy), ax = sx - fx, ay = sy - fy;
            x0 = CLAMP ((gint64) fx, 0, w - 1), x1 = CLAMP ((gint64) fx + 1, 0, w - 1);
            y0 = CLAMP ((gint64) fy, 0, h - 1), y1 = CLAMP ((gint64) fy + 1, 0, h - 1);
            rx = (gint64) floorf (sx + 0.5f), ry = (gint64) floorf (sy + 0.5f);

            for (guint c = 0; c < p->channels; c++)
              {
                const float *plane = image + (gsize) c * w * h;
                float top, bottom;

                if (!valid)
                  {
                    b[X_][(i * p->channels + c) * n * n + (gsize) v * n + u] = 0.0f;
                    continue;
                  }
                top = plane[y0 * w + x0] + ax * (plane[y0 * w + x1] - plane[y0 * w + x0]);
                bottom = plane[y1 * w + x0] + ax * (plane[y1 * w + x1] - plane[y1 * w + x0]);
                b[X_][(i * p->channels + c) * n * n + (gsize) v * n + u] = top + ay * (bottom - top);
              }
            b[LABELS_][out] = !labelled || rx < 0 || ry < 0 || rx >= w || ry >= h
                            ? -1.0f : labels[ry * w + rx];
          }
    }
}

static void
affine_reference (const void *params, float *const *b)
{
  affine_range (params, b, 0, ((const LoomAffineParams *) params)->batch);
}

static void
affine_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_op_parallel (threads, ((const LoomAffineParams *) params)->batch, 1, affine_range,
                    params, b);
}

static void
affine_vk_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                  guint32 *groups)
{
  const LoomAffineParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->batch * p->size * p->size, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
affine_flops (const void *params)
{
  const LoomAffineParams *p = params;

  return 8.0 * p->batch * p->size * p->size * (p->channels + 1);
}

/* Two sources (3×7×5 and 3×9×11) packed in the atlases; maps: identity
 * crops, a flip, a quarter turn, a rotation with scale and shear reaching
 * outside, all picked from RAND. */
static const guint32 source_w[] = { 5, 11 }, source_h[] = { 7, 9 };

static gboolean
affine_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 sizes[] = { 1, 4, 6, 13 }, batches[] = { 1, 3, 5, 3 };
  LoomAffineParams *p = params;

  if (index >= G_N_ELEMENTS (sizes))
    return FALSE;
  *p = (LoomAffineParams) { batches[index], 3, sizes[index], 3 * (5 * 7 + 11 * 9), 5 * 7 + 11 * 9 };
  return TRUE;
}

static void
affine_test_inputs (const void *params, float *const *b)
{
  const LoomAffineParams *p = params;
  GRand *rand = g_rand_new_with_seed (p->batch * 31 + p->size);
  guint32 image_at[2] = { 0, 3 * 5 * 7 }, label_at[2] = { 0, 5 * 7 };

  for (guint i = 0; i < 35 + 99; i++)           /* labels: whole classes 0…3 */
    b[LABEL_MAPS_][i] = (float) g_rand_int_range (rand, 0, 4);
  for (guint i = 0; i < p->batch; i++)
    {
      float *m = b[MAPS_] + i * LOOM_AFFINE_FLOATS;
      guint s = i % 2, kind = (guint) g_rand_int_range (rand, 0, 4);
      double angle = g_rand_double_range (rand, -G_PI, G_PI);
      double scale = g_rand_double_range (rand, 0.6, 1.7), shear = g_rand_double_range (rand, -0.4, 0.4);
      float map[6] = { 1, 0, 0, 1, (float) g_rand_int_range (rand, 0, 3),
                       (float) g_rand_int_range (rand, 0, 3) };

      if (kind == 1)                            /* mirrored */
        map[0] = -1, map[4] = (float) (source_w[s] - 1);
      else if (kind == 2)                       /* a quarter turn */
        map[0] = 0, map[1] = 1, map[2] = -1, map[3] = 0, map[5] = (float) (p->size - 1);
      else if (kind == 3)                       /* anything, partly outside */
        {
          map[0] = (float) (scale * cos (angle)), map[1] = (float) (scale * (shear - sin (angle)));
          map[2] = (float) (scale * sin (angle)), map[3] = (float) (scale * cos (angle));
          map[4] = (float) g_rand_double_range (rand, -3, 8);
          map[5] = (float) g_rand_double_range (rand, -3, 8);
        }
      memcpy (m, map, sizeof map);
      memcpy (&m[LOOM_AFFINE_IMAGE], &image_at[s], 4);
      memcpy (&m[LOOM_AFFINE_LABELS], &label_at[s], 4);
      memcpy (&m[LOOM_AFFINE_WIDTH], &source_w[s], 4);
      memcpy (&m[LOOM_AFFINE_HEIGHT], &source_h[s], 4);
      m[LOOM_AFFINE_ELASTIC] = i % 3 == 2 ? (float) g_rand_double_range (rand, 0.5, 3.0) : 0.0f;
      memcpy (&m[LOOM_AFFINE_ELASTIC_SEED], &(guint32) { g_rand_int (rand) }, 4);
      if (i == 4)                               /* past the label atlas: unlabelled */
        memcpy (&m[LOOM_AFFINE_LABELS], &image_at[1], 4);
      if (i == 3)                               /* past the image atlas: zeros */
        memcpy (&m[LOOM_AFFINE_IMAGE], &(guint32) { 3 * 35 + 3 * 99 - 5 }, 4);
    }
  g_rand_free (rand);
}

const LoomOp loom_op_affine_sample = {
  .name = "affine_sample",
  .n_bindings = 5,
  .read_mask = (1 << IMAGES_) | (1 << LABEL_MAPS_) | (1 << MAPS_),
  .write_mask = (1 << X_) | (1 << LABELS_),
  LOOM_OP_SHADER (affine_sample, LoomAffineParams),
  .tolerance = 1e-5,
  .binding_lengths = affine_lengths,
  .reference = affine_reference,
  .cpu = affine_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = affine_vk_groups,
  .flops = affine_flops,
  .test_case = affine_test_case,
  .test_inputs = affine_test_inputs,
};
