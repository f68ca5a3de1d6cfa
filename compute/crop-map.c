/* Crop maps (see crop-map.h). */
#include <math.h>
#include <string.h>

#include "crop-map.h"
#include "ops/params.h"

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
