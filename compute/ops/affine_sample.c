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
#include "crop-map.h"
#include "ops/params.h"
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

/* Crops [begin, end): each one through its map (crop-map.c, which the
 * trainers' host crops call too). */
static void
affine_range (const void *params, float *const *b, gsize begin, gsize end)
{
  const LoomAffineParams *p = params;
  gsize per = (gsize) p->size * p->size;

  for (gsize i = begin; i < end; i++)
    loom_crop_cut (b[MAPS_] + i * LOOM_AFFINE_FLOATS, p->channels, p->size,
                   b[IMAGES_], p->image_floats, b[LABEL_MAPS_], p->label_floats,
                   b[X_] + i * p->channels * per, b[LABELS_] + i * per);
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
