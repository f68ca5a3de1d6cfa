/* Crop maps and the crops they cut (see crop-map.h). */
#include <math.h>
#include <string.h>

#include "crop-map.h"
#include "ops/params.h"
#include "ops/philox.h"

void
loom_crop_map (float *m, guint crop, guint x0, guint y0, guint turn, gboolean flip,
               double angle, double scale, double shear)
{
  float n1 = (float) crop - 1, fa = flip ? -1.0f : 1.0f, fb = flip ? n1 : 0.0f;
  float map[4][6] = {
    { fa, 0, 0, 1, fb + x0, (float) y0 },
    { 0, 1, -fa, 0, (float) x0, n1 - fb + y0 },
    { -fa, 0, 0, -1, n1 - fb + x0, n1 + y0 },
    { 0, -1, fa, 0, n1 + x0, fb + y0 },
  };

  memcpy (m, map[turn % 4], sizeof map[0]);
  if (angle != 0.0 || scale != 1.0 || shear != 0.0)
    {
      double q00 = scale * cos (angle), q01 = scale * (shear * cos (angle) - sin (angle));
      double q10 = scale * sin (angle), q11 = scale * (shear * sin (angle) + cos (angle));
      double cx = x0 + n1 / 2.0, cy = y0 + n1 / 2.0, a = m[0], b = m[1], c = m[2], d = m[3];
      double tx = m[4] - cx, ty = m[5] - cy;

      m[0] = (float) (q00 * a + q01 * c), m[1] = (float) (q00 * b + q01 * d);
      m[2] = (float) (q10 * a + q11 * c), m[3] = (float) (q10 * b + q11 * d);
      m[4] = (float) (cx + q00 * tx + q01 * ty), m[5] = (float) (cy + q10 * tx + q11 * ty);
    }
  m[LOOM_AFFINE_ELASTIC] = 0.0f;
  memset (&m[LOOM_AFFINE_ELASTIC_SEED], 0, 4);
}

void
loom_crop_map_source (float *m, guint32 image_at, guint32 label_at, guint32 width, guint32 height)
{
  memcpy (&m[LOOM_AFFINE_IMAGE], &image_at, 4);
  memcpy (&m[LOOM_AFFINE_LABELS], &label_at, 4);
  memcpy (&m[LOOM_AFFINE_WIDTH], &width, 4);
  memcpy (&m[LOOM_AFFINE_HEIGHT], &height, 4);
}

/* ---- cutting a crop on the host ------------------------------------------ */

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

void
loom_crop_cut (const float *m, guint channels, guint n, const float *images, guint64 image_floats,
               const float *label_maps, guint64 label_floats, float *x, float *labels_out)
{
  const float *image = images + bits (m, LOOM_AFFINE_IMAGE);
  const float *labels = label_maps + bits (m, LOOM_AFFINE_LABELS);
  gint64 w = bits (m, LOOM_AFFINE_WIDTH), h = bits (m, LOOM_AFFINE_HEIGHT);
  /* A map past an atlas reads nothing from it: zeros, or unlabelled
   * (an image without labels: a label atlas of one value, or none). */
  gboolean sized = w > 0 && h > 0 && w < 65536 && h < 65536;
  gboolean valid = sized && bits (m, LOOM_AFFINE_IMAGE) + (guint64) channels * w * h
                            <= image_floats;
  gboolean labelled = sized && bits (m, LOOM_AFFINE_LABELS) + (guint64) w * h <= label_floats;
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
        gsize out = (gsize) v * n + u;

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

        for (guint c = 0; c < channels; c++)
          {
            const float *plane = image + (gsize) c * w * h;
            float top, bottom;

            if (!valid)
              {
                x[(gsize) c * n * n + out] = 0.0f;
                continue;
              }
            top = plane[y0 * w + x0] + ax * (plane[y0 * w + x1] - plane[y0 * w + x0]);
            bottom = plane[y1 * w + x0] + ax * (plane[y1 * w + x1] - plane[y1 * w + x0]);
            x[(gsize) c * n * n + out] = top + ay * (bottom - top);
          }
        labels_out[out] = !labelled || rx < 0 || ry < 0 || rx >= w || ry >= h
                        ? -1.0f : labels[ry * w + rx];
      }
}
