/* Photometric augmentation on the device: per crop of a batch, a Gaussian blur,
 * saturation and hue (RGB), contrast, brightness, gamma, Gaussian noise
 * (Philox, the same on every backend) and a grey cutout, in that order.
 * The settings come from the host, a few floats a crop; labels are left
 * alone (nothing here moves a pixel). */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "ops/params.h"
#include "ops/philox.h"
#include "photometric.spv.h"

enum { Y_, X_, SETTINGS_ };

static void
photo_lengths (const void *params, gsize *lengths)
{
  const LoomPhotoParams *p = params;

  lengths[Y_] = lengths[X_] = (gsize) p->batch * p->channels * p->size * p->size;
  lengths[SETTINGS_] = (gsize) p->batch * LOOM_PHOTO_FLOATS;
}

/* Channel C of pixel (u, v) of crop X (C×n×n) through a Gaussian of
 * deviation SIGMA (edges repeated), its radius 2·SIGMA, 3 at most. */
static float
blurred (const float *x, guint n, guint c, gint64 u, gint64 v, float sigma)
{
  float sum = 0.0f, total = 0.0f;
  gint64 r;

  if (sigma <= 0.0f)
    return x[((gsize) c * n + v) * n + u];
  r = MIN ((gint64) ceilf (2.0f * sigma), 3);
  for (gint64 dv = -r; dv <= r; dv++)
    for (gint64 du = -r; du <= r; du++)
      {
        float w = expf (-(float) (du * du + dv * dv) / (2.0f * sigma * sigma));

        sum += w * x[((gsize) c * n + CLAMP (v + dv, 0, (gint64) n - 1)) * n
                     + CLAMP (u + du, 0, (gint64) n - 1)];
        total += w;
      }
  return sum / total;
}

/* Crops [begin, end). */
static void
photo_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomPhotoParams *p = params;
  guint n = p->size;

  for (gsize i = begin; i < end; i++)
    {
      const float *s = b[SETTINGS_] + i * LOOM_PHOTO_FLOATS;
      const float *x = b[X_] + i * p->channels * n * n;
      float *y = b[Y_] + i * p->channels * n * n;
      float ch = cosf (s[LOOM_PHOTO_HUE]), sh = sinf (s[LOOM_PHOTO_HUE]);
      guint32 seed;

      memcpy (&seed, &s[LOOM_PHOTO_SEED], 4);
      for (guint v = 0; v < n; v++)
        for (guint u = 0; u < n; u++)
          {
            gsize at = (gsize) v * n + u;
            gboolean cut = u >= s[LOOM_PHOTO_CUT_X] && u < s[LOOM_PHOTO_CUT_X] + s[LOOM_PHOTO_CUT_W]
                        && v >= s[LOOM_PHOTO_CUT_Y] && v < s[LOOM_PHOTO_CUT_Y] + s[LOOM_PHOTO_CUT_H];
            float rgb[3];

            if (p->channels == 3)
              {
                float r = blurred (x, n, 0, u, v, s[LOOM_PHOTO_BLUR]);
                float g = blurred (x, n, 1, u, v, s[LOOM_PHOTO_BLUR]);
                float bl = blurred (x, n, 2, u, v, s[LOOM_PHOTO_BLUR]);
                float luma = 0.299f * r + 0.587f * g + 0.114f * bl;
                float ci = 0.596f * r - 0.274f * g - 0.322f * bl;
                float cq = 0.211f * r - 0.523f * g + 0.312f * bl;
                float i2 = s[LOOM_PHOTO_SATURATION] * (ch * ci - sh * cq);
                float q2 = s[LOOM_PHOTO_SATURATION] * (sh * ci + ch * cq);

                rgb[0] = luma + 0.956f * i2 + 0.621f * q2;
                rgb[1] = luma - 0.272f * i2 - 0.647f * q2;
                rgb[2] = luma - 1.106f * i2 + 1.703f * q2;
              }
            for (guint c = 0; c < p->channels; c++)
              {
                float val = p->channels == 3 ? rgb[c] : blurred (x, n, c, u, v, s[LOOM_PHOTO_BLUR]);
                guint32 d1, d2;

                val = s[LOOM_PHOTO_GREY] + s[LOOM_PHOTO_CONTRAST] * (val - s[LOOM_PHOTO_GREY])
                      + s[LOOM_PHOTO_BRIGHTNESS];
                if (s[LOOM_PHOTO_GAMMA] != 1.0f)
                  val = powf (fmaxf (val, 0.0f), s[LOOM_PHOTO_GAMMA]);
                if (s[LOOM_PHOTO_NOISE] != 0.0f)
                  {
                    loom_philox_draw (seed, 0x9407u, (guint64) c * n * n + at, &d1, &d2);
                    val += s[LOOM_PHOTO_NOISE]
                           * sqrtf (-2.0f * logf ((float) ((d1 >> 8) + 1) * (1.0f / 16777216.0f)))
                           * cosf (6.2831853f * loom_uniform_of (d2));
                  }
                y[(gsize) c * n * n + at] = cut ? 0.5f : val;
              }
          }
    }
}

static void
photo_reference (const void *params, float *const *b)
{
  photo_range (params, b, 0, ((const LoomPhotoParams *) params)->batch);
}

static void
photo_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  loom_op_parallel (threads, ((const LoomPhotoParams *) params)->batch, 1, photo_range, params, b);
}

static void
photo_vk_groups (const void *params, const guint32 *spec, const LoomLimits *limits,
                 guint32 *groups)
{
  const LoomPhotoParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->batch * p->size * p->size, spec[0], limits);
  groups[1] = groups[2] = 1;
}

static double
photo_flops (const void *params)
{
  const LoomPhotoParams *p = params;

  return 40.0 * p->batch * p->channels * p->size * p->size;
}

static gboolean
photo_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = { { 1, 3, 1 }, { 4, 3, 9 }, { 3, 1, 7 }, { 2, 2, 16 } };
  LoomPhotoParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  *p = (LoomPhotoParams) { cases[index][0], cases[index][1], cases[index][2] };
  return TRUE;
}

/* Images in [0, 1], settings in their useful ranges, some of them neutral. */
static void
photo_test_inputs (const void *params, float *const *b)
{
  const LoomPhotoParams *p = params;
  GRand *rand = g_rand_new_with_seed (p->batch * 7 + p->size);

  for (gsize i = 0; i < (gsize) p->batch * p->channels * p->size * p->size; i++)
    b[X_][i] = (float) g_rand_double (rand);
  for (guint i = 0; i < p->batch; i++)
    {
      float *s = b[SETTINGS_] + i * LOOM_PHOTO_FLOATS;
      guint32 seed = g_rand_int (rand);
      gboolean neutral = i % 2 == 1;

      s[LOOM_PHOTO_BLUR] = neutral ? 0.0f : (float) g_rand_double_range (rand, 0.2, 2.0);
      s[LOOM_PHOTO_SATURATION] = neutral ? 1.0f : (float) g_rand_double_range (rand, 0.5, 1.5);
      s[LOOM_PHOTO_HUE] = neutral ? 0.0f : (float) g_rand_double_range (rand, -0.5, 0.5);
      s[LOOM_PHOTO_CONTRAST] = neutral ? 1.0f : (float) g_rand_double_range (rand, 0.7, 1.3);
      s[LOOM_PHOTO_BRIGHTNESS] = neutral ? 0.0f : (float) g_rand_double_range (rand, -0.2, 0.2);
      s[LOOM_PHOTO_GAMMA] = neutral ? 1.0f : (float) g_rand_double_range (rand, 0.7, 1.4);
      s[LOOM_PHOTO_NOISE] = neutral ? 0.0f : (float) g_rand_double_range (rand, 0.0, 0.05);
      memcpy (&s[LOOM_PHOTO_SEED], &seed, 4);
      s[LOOM_PHOTO_CUT_X] = (float) g_rand_int_range (rand, 0, (gint32) p->size);
      s[LOOM_PHOTO_CUT_Y] = (float) g_rand_int_range (rand, 0, (gint32) p->size);
      s[LOOM_PHOTO_CUT_W] = neutral ? 0.0f : (float) g_rand_int_range (rand, 0, 4);
      s[LOOM_PHOTO_CUT_H] = (float) g_rand_int_range (rand, 0, 4);
      s[LOOM_PHOTO_GREY] = neutral ? 0.5f : (float) g_rand_double (rand);
    }
  g_rand_free (rand);
}

const LoomOp loom_op_photometric = {
  .name = "photometric",
  .n_bindings = 3,
  .read_mask = (1 << X_) | (1 << SETTINGS_),
  .write_mask = 1 << Y_,
  LOOM_OP_SHADER (photometric, LoomPhotoParams),
  .tolerance = 1e-4,            /* the devices' pow, log and cos */
  .binding_lengths = photo_lengths,
  .reference = photo_reference,
  .cpu = photo_cpu,
  .vk_spec = loom_vk_spec_linear,
  .vk_groups = photo_vk_groups,
  .flops = photo_flops,
  .test_case = photo_test_case,
  .test_inputs = photo_test_inputs,
};
