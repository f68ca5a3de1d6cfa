/* Augmentation invariants (op affine_sample) on every backend: labels only
 * take values the source had (or unlabelled), an image and its labels go
 * through the same geometry (elastic deformation included), and the same
 * maps give the same crops; and
 * the trainer's device-cut crops equal its host-cut ones. */
#include <math.h>
#include <string.h>

#include "backend.h"
#include "op-registry.h"
#include "ops/params.h"
#include <loom/loom-segment.h>
#include "test-util.h"

#define SW 23
#define SH 17
#define BATCH 16
#define SIZE 12

static void
set_bits (float *m, int field, guint32 v)
{
  memcpy (&m[field], &v, 4);
}

/* Op affine_sample on DEVICE over one source: IMAGE (2 planes of SW × SH),
 * LABEL_MAP, BATCH MAPS, into X and LABELS. */
static void
run_affine (LoomDevice *device, const float *image, const float *label_map, const float *maps,
            float *x, float *labels)
{
  LoomAffineParams p = { BATCH, 2, SIZE, 2 * SW * SH, SW * SH };
  const gsize lengths[5] = { BATCH * 2 * SIZE * SIZE, BATCH * SIZE * SIZE, 2 * SW * SH, SW * SH,
                             BATCH * LOOM_AFFINE_FLOATS };
  LoomBuffer *b[5];
  LoomSpan spans[5];
  GError *error = NULL;

  for (guint i = 0; i < 5; i++)
    {
      b[i] = loom_buffer_new (device, lengths[i], &error);
      g_assert_no_error (error);
      spans[i] = (LoomSpan) { b[i], 0, b[i]->length };
    }
  g_assert_true (loom_buffer_write (b[2], 0, lengths[2], image, &error));
  g_assert_true (loom_buffer_write (b[3], 0, lengths[3], label_map, &error));
  g_assert_true (loom_buffer_write (b[4], 0, lengths[4], maps, &error));
  g_assert_true (loom_op_run (&loom_op_affine_sample, &p, spans, &error));
  g_assert_true (loom_buffer_read (b[0], 0, lengths[0], x, &error));
  g_assert_true (loom_buffer_read (b[1], 0, lengths[1], labels, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 5; i++)
    loom_buffer_free (b[i]);
}

/* Runs affine_sample on DEVICE: channel 0 of the source is its label map
 * (classes 0, 3, 5), channel 1 noise.  GEOMETRIC: only flips, turns and
 * whole-pixel shifts. */
static void
sample (LoomDevice *device, gboolean geometric, float *x, float *labels)
{
  float image[2 * SW * SH], label_map[SW * SH], maps[BATCH * LOOM_AFFINE_FLOATS];
  GRand *rand = g_rand_new_with_seed (21);
  static const float classes[] = { 0, 3, 5 };

  memset (maps, 0, sizeof maps);
  for (guint i = 0; i < SW * SH; i++)
    {
      label_map[i] = image[i] = classes[(i / 7 + i % 5) % 3];
      image[SW * SH + i] = (float) g_rand_double (rand);
    }
  for (guint i = 0; i < BATCH; i++)
    {
      float *m = maps + i * LOOM_AFFINE_FLOATS;
      double angle = geometric ? G_PI / 2 * (i % 4) : g_rand_double_range (rand, -3, 3);
      double scale = geometric ? 1.0 : g_rand_double_range (rand, 0.5, 2.0);
      float flip = geometric && i % 8 >= 4 ? -1.0f : 1.0f;

      m[LOOM_AFFINE_A] = flip * (float) rint (scale * cos (angle) * 1e6) / 1e6f;
      m[LOOM_AFFINE_B] = (float) rint (-scale * sin (angle) * 1e6) / 1e6f;
      m[LOOM_AFFINE_C] = flip * (float) rint (scale * sin (angle) * 1e6) / 1e6f;
      m[LOOM_AFFINE_D] = (float) rint (scale * cos (angle) * 1e6) / 1e6f;
      m[LOOM_AFFINE_TX] = geometric ? g_rand_int_range (rand, -4, SW) : (float) g_rand_double_range (rand, -5, SW);
      m[LOOM_AFFINE_TY] = geometric ? g_rand_int_range (rand, -4, SH) : (float) g_rand_double_range (rand, -5, SH);
      set_bits (m, LOOM_AFFINE_IMAGE, 0);
      set_bits (m, LOOM_AFFINE_LABELS, 0);
      set_bits (m, LOOM_AFFINE_WIDTH, SW);
      set_bits (m, LOOM_AFFINE_HEIGHT, SH);
    }
  run_affine (device, image, label_map, maps, x, labels);
  g_rand_free (rand);
}

static void
check (LoomDevice *device)
{
  static float x[BATCH * 2 * SIZE * SIZE], labels[BATCH * SIZE * SIZE];
  static float x2[BATCH * 2 * SIZE * SIZE], labels2[BATCH * SIZE * SIZE];
  guint unlabelled = 0, aligned = 0;

  /* Any maps: no new label values. */
  sample (device, FALSE, x, labels);
  for (guint i = 0; i < BATCH * SIZE * SIZE; i++)
    {
      g_assert_true (labels[i] == -1 || labels[i] == 0 || labels[i] == 3 || labels[i] == 5);
      unlabelled += labels[i] == -1;
    }
  g_assert_cmpuint (unlabelled, >, 0);             /* some maps reach outside */
  /* The same maps, the same crops. */
  sample (device, FALSE, x2, labels2);
  g_assert_cmpmem (x, sizeof x, x2, sizeof x2);
  g_assert_cmpmem (labels, sizeof labels, labels2, sizeof labels2);
  /* Flips, turns, shifts: channel 0 (the label map as an image) equals the
   * labels wherever there are labels. */
  sample (device, TRUE, x, labels);
  for (guint i = 0; i < BATCH; i++)
    for (guint j = 0; j < SIZE * SIZE; j++)
      if (labels[i * SIZE * SIZE + j] >= 0)
        {
          g_assert_cmpfloat (x[(i * 2) * SIZE * SIZE + j], ==, labels[i * SIZE * SIZE + j]);
          aligned++;
        }
  g_assert_cmpuint (aligned, >, BATCH * SIZE * SIZE / 4);
}

/* Runs affine_sample on DEVICE over a source whose channels are its own
 * coordinates (x, y): bilinear sampling of a linear ramp is exact, so each
 * output pixel says where it was read from.  Maps: rotation, scale, shift,
 * and an elastic field of ELASTIC pixels. */
static void
sample_ramps (LoomDevice *device, float elastic, float *x, float *labels, float *label_map)
{
  float image[2 * SW * SH], maps[BATCH * LOOM_AFFINE_FLOATS];
  GRand *rand = g_rand_new_with_seed (5);

  memset (maps, 0, sizeof maps);
  for (guint i = 0; i < SW * SH; i++)
    {
      image[i] = (float) (i % SW);
      image[SW * SH + i] = (float) (i / SW);
      label_map[i] = (float) ((i % SW * 7 + i / SW * 3) % 5);
    }
  for (guint i = 0; i < BATCH; i++)
    {
      float *m = maps + i * LOOM_AFFINE_FLOATS;
      double angle = g_rand_double_range (rand, -0.5, 0.5), scale = g_rand_double_range (rand, 0.8, 1.2);

      m[LOOM_AFFINE_A] = m[LOOM_AFFINE_D] = (float) (scale * cos (angle));
      m[LOOM_AFFINE_B] = (float) (-scale * sin (angle));
      m[LOOM_AFFINE_C] = (float) (scale * sin (angle));
      m[LOOM_AFFINE_TX] = (float) g_rand_double_range (rand, 0, SW - SIZE);
      m[LOOM_AFFINE_TY] = (float) g_rand_double_range (rand, 0, SH - SIZE);
      m[LOOM_AFFINE_ELASTIC] = elastic;
      set_bits (m, LOOM_AFFINE_ELASTIC_SEED, g_rand_int (rand));
      set_bits (m, LOOM_AFFINE_WIDTH, SW);
      set_bits (m, LOOM_AFFINE_HEIGHT, SH);
    }
  run_affine (device, image, label_map, maps, x, labels);
  g_rand_free (rand);
}

/* Elastic deformation: pixels move (up to the amplitude and by more than
 * a pixel somewhere), and each label is the one at the point its image
 * pixel was read from. */
static void
check_elastic (LoomDevice *device)
{
  static float x[BATCH * 2 * SIZE * SIZE], labels[BATCH * SIZE * SIZE];
  static float x0[BATCH * 2 * SIZE * SIZE], labels0[BATCH * SIZE * SIZE];
  float label_map[SW * SH], moved = 0.0f;
  guint aligned = 0;

  sample_ramps (device, 0.0f, x0, labels0, label_map);
  sample_ramps (device, 2.5f, x, labels, label_map);
  for (guint i = 0; i < BATCH; i++)
    for (guint j = 0; j < SIZE * SIZE; j++)
      {
        float sx = x[i * 2 * SIZE * SIZE + j], sy = x[(i * 2 + 1) * SIZE * SIZE + j];
        float label = labels[i * SIZE * SIZE + j];
        float dx = sx - x0[i * 2 * SIZE * SIZE + j], dy = sy - x0[(i * 2 + 1) * SIZE * SIZE + j];

        /* Inside the source, the ramps are the read point itself. */
        if (sx > 0 && sx < SW - 1 && sy > 0 && sy < SH - 1
            && x0[i * 2 * SIZE * SIZE + j] > 0 && x0[i * 2 * SIZE * SIZE + j] < SW - 1
            && x0[(i * 2 + 1) * SIZE * SIZE + j] > 0 && x0[(i * 2 + 1) * SIZE * SIZE + j] < SH - 1)
          {
            g_assert_cmpfloat (fabsf (dx), <=, 2.5f + 1e-4f);
            g_assert_cmpfloat (fabsf (dy), <=, 2.5f + 1e-4f);
            moved = MAX (moved, MAX (fabsf (dx), fabsf (dy)));
          }
        if (label < 0 || fabsf (sx - floorf (sx) - 0.5f) < 1e-3f
            || fabsf (sy - floorf (sy) - 0.5f) < 1e-3f)
          continue;
        g_assert_cmpfloat (label, ==, label_map[(gsize) (floorf (sy + 0.5f) * SW + floorf (sx + 0.5f))]);
        aligned++;
      }
  g_assert_cmpfloat (moved, >, 1.0f);
  g_assert_cmpuint (aligned, >, BATCH * SIZE * SIZE / 2);
}

static void
test_invariants_cpu (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);

  check (cpu);
  check_elastic (cpu);
  loom_device_free (cpu);
}

static void
test_invariants_vulkan (void)
{
  LoomDevice *device = test_open_vulkan ();

  if (device == NULL)
    return;
  check (device);
  check_elastic (device);
  test_close (device);
}

/* The trainer cuts crops on the device when the images fit a binding, on
 * the host otherwise: the same seed gives the same weights either way
 * (two images: the host reads each crop's own). */
static void
test_device_crops_equal_host_crops (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 40 * 36], labels[40 * 36], planes2[3 * 24 * 20], labels2[24 * 20];
  LoomSegmentConfig c, host;
  LoomSegmentImage images[2] = { { planes, labels, 40, 36, NULL },
                                 { planes2, labels2, 24, 20, NULL } };
  LoomWeights *a, *b;
  GError *error = NULL;

  for (guint i = 0; i < 40 * 36; i++)
    {
      planes[i] = planes[1440 + i] = (float) ((i * 7) % 13) / 13.0f;
      planes[2880 + i] = (float) (i % 40) / 40.0f;
      labels[i] = i % 37 == 0 ? (float) (i % 40 > 20) : LOOM_UNLABELLED;
    }
  for (guint i = 0; i < 24 * 20; i++)     /* a second image, of another size */
    {
      planes2[i] = planes2[480 + i] = (float) (i % 24) / 24.0f;
      planes2[960 + i] = (float) ((i * 5) % 11) / 11.0f;
      labels2[i] = i % 13 == 0 ? (float) (i % 24 > 12) : LOOM_UNLABELLED;
    }
  loom_segment_config_init (&c, 2);
  c.unet.depth = 1;
  c.unet.base = 4;
  c.crop = 16;
  c.steps = 4;
  c.host_crops = FALSE;
  a = loom_segment_train (cpu, &c, images, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* $LOOM_HOST_CROPS is read where a run is set up: at config init. */
  g_setenv ("LOOM_HOST_CROPS", "1", TRUE);
  loom_segment_config_init (&host, 2);
  g_unsetenv ("LOOM_HOST_CROPS");
  g_assert_true (host.host_crops);
  c.host_crops = TRUE;
  b = loom_segment_train (cpu, &c, images, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  loom_weights_free (a);
  loom_weights_free (b);
  loom_device_free (cpu);
}

/* Augmentation on its own: labels keep their values, colours move, the
 * seed decides, and the CPU and Vulkan agree on the geometry. */
static void
test_augment_api (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL), *vk = test_open_vulkan ();
  float planes[3 * 30 * 26], labels[30 * 26];
  g_autofree float *a = g_new (float, 5 * 3 * 16 * 16), *la = g_new (float, 5 * 16 * 16);
  g_autofree float *b = g_new (float, 5 * 3 * 16 * 16), *lb = g_new (float, 5 * 16 * 16);
  LoomSegmentConfig c;
  LoomSegmentImage image = { planes, labels, 30, 26, NULL };
  GError *error = NULL;
  guint moved = 0;

  for (guint i = 0; i < 30 * 26; i++)
    {
      planes[i] = planes[780 + i] = planes[1560 + i] = (float) (i % 11) / 11.0f;
      labels[i] = (float) ((i / 30) % 3 == 0 ? 2 : (i % 30) > 15);
    }
  loom_segment_config_init (&c, 3);
  c.cutout = 0.5;
  g_assert_true (loom_segment_augment (cpu, &c, &image, 5, 16, a, la, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 5 * 16 * 16; i++)
    g_assert_true (la[i] == -1 || la[i] == 0 || la[i] == 1 || la[i] == 2);
  for (guint i = 0; i < 5 * 3 * 16 * 16; i++)
    moved += a[i] != planes[0];
  g_assert_cmpuint (moved, >, 0);
  g_assert_true (loom_segment_augment (cpu, &c, &image, 5, 16, b, lb, &error));
  g_assert_cmpmem (a, 5 * 3 * 256 * 4, b, 5 * 3 * 256 * 4);
  if (vk != NULL)
    {
      g_assert_true (loom_segment_augment (vk, &c, &image, 5, 16, b, lb, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (la, 5 * 256 * 4, lb, 5 * 256 * 4);
      test_close (vk);
    }
  image.width = 12;                                 /* a crop larger than the image */
  g_assert_false (loom_segment_augment (cpu, &c, &image, 1, 16, a, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_device_free (cpu);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/augment/invariants/cpu", test_invariants_cpu);
  g_test_add_func ("/augment/invariants/vulkan", test_invariants_vulkan);
  g_test_add_func ("/augment/device-crops-equal-host-crops", test_device_crops_equal_host_crops);
  g_test_add_func ("/augment/on-its-own", test_augment_api);
  return g_test_run ();
}
