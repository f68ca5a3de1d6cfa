/* Segmentation from scribbles: a U-Net learns a synthetic two-class image
 * from a few strokes (also spread over two images), the same seed gives
 * the same weights, training stops and checkpoints when asked, alpha masks
 * out pixels, and tiled prediction agrees with prediction of the whole
 * image. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include <loom/loom-segment.h>
#include "segment/features.h"
#include "segment/head.h"
#include "test-util.h"

#define W 96
#define H 80

typedef struct
{
  float planes[3 * W * H];
  float truth[W * H];
  float strokes[W * H];
  guint painted;
} Synthetic;

/* A textured disc (class 1) on a textured background (class 0), with a
 * few straight strokes of each class, about 2 % of the pixels. */
static void
synthetic (Synthetic *s)
{
  GRand *rand = g_rand_new_with_seed (4);

  s->painted = 0;
  for (guint y = 0; y < H; y++)
    for (guint x = 0; x < W; x++)
      {
        gsize at = (gsize) y * W + x;
        double dx = x - 52.0, dy = y - 38.0;
        gboolean disc = dx * dx + dy * dy < 26.0 * 26.0;
        double noise = g_rand_double_range (rand, -0.15, 0.15);
        double texture = disc ? 0.15 * sin (x * 0.9) * cos (y * 0.9) : 0.15 * sin ((x + y) * 0.4);

        s->truth[at] = disc;
        s->planes[at] = (float) ((disc ? 0.65 : 0.35) + texture + noise);
        s->planes[W * H + at] = (float) ((disc ? 0.4 : 0.5) + noise);
        s->planes[2 * W * H + at] = (float) ((disc ? 0.3 : 0.55) - texture + noise);
        s->strokes[at] = LOOM_UNLABELLED;
      }
  /* strokes: short segments, eight of each class, where the whole
   * segment lies in that class (as a user paints inside regions) */
  for (guint k = 0; k < 2; k++)
    for (guint made = 0; made < 8;)
      {
        guint x0 = (guint) g_rand_int_range (rand, 0, W - 10), y0 = (guint) g_rand_int_range (rand, 0, H);
        gboolean inside = TRUE;

        for (guint x = x0; x < x0 + 10; x++)
          inside &= s->truth[y0 * W + x] == k;
        if (!inside)
          continue;
        for (guint x = x0; x < x0 + 10; x++)
          s->strokes[y0 * W + x] = (float) k;
        made++;
      }
  for (gsize i = 0; i < W * H; i++)
    s->painted += s->strokes[i] >= 0;
  g_rand_free (rand);
}

static void
small_config (LoomSegmentConfig *c, guint steps)
{
  loom_segment_config_init (c, 2);
  c->unet.depth = 2;
  c->unet.base = 8;
  c->crop = 48;
  c->batch = 4;
  c->steps = steps;
  c->learning_rate = 5e-3f;
  c->seed = 11;
  c->pixel_head = FALSE;        /* these test the network; phase one has its own */
}

static double
accuracy (const float *classes, const float *truth)
{
  guint right = 0;

  for (gsize i = 0; i < W * H; i++)
    right += classes[i] == truth[i];
  return (double) right / (W * H);
}

static void
test_learns (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w;
  g_autofree float *classes = g_new (float, W * H), *confidence = g_new (float, W * H);
  GError *error = NULL;
  double acc;

  synthetic (s);
  g_assert_cmpfloat ((double) s->painted / (W * H), <, 0.03);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 80);
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  image.labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &image, 48, classes, confidence, NULL, NULL,
                                       NULL, &error));
  g_assert_no_error (error);
  acc = accuracy (classes, s->truth);
  g_test_message ("pixel accuracy %.4f from %u painted pixels (%.2f %%)", acc, s->painted,
                  100.0 * s->painted / (W * H));
  g_assert_cmpfloat (acc, >, 0.95);
  for (gsize i = 0; i < W * H; i++)
    g_assert_true (confidence[i] >= 0.5f && confidence[i] <= 1.0001f);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

/* The same seed: the same weights, byte for byte (on one backend). */
static void
test_deterministic (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *a, *b;
  GError *error = NULL;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 6);
  a = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  b = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  loom_weights_free (a);
  loom_weights_free (b);
  g_free (s);
  loom_device_free (cpu);
}

static gboolean
stop_at_five (const LoomTrainProgress *p, gpointer data)
{
  g_assert_cmpuint (p->n_losses, ==, 1);
  g_assert_cmpstr (p->losses[0].name, ==, "loss");
  g_assert_true (isfinite (p->losses[0].value) && p->losses[0].value > 0.0f);
  g_assert_cmpuint (p->total, ==, 50);
  g_assert_true (isfinite (p->eta) && p->eta > 0.0);     /* 45 steps to go at least */
  *(guint *) data = p->step;
  return p->step < 5;
}

/* Stopping keeps the weights so far; checkpoints are whole weights files. */
static void
test_stop_and_checkpoint (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  g_autofree char *dir = g_dir_make_tmp ("loom-segment-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "checkpoint.safetensors", NULL);
  GCancellable *cancel = g_cancellable_new ();
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w, *saved;
  GError *error = NULL;
  guint last = 0;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 50);
  c.checkpoint = path;
  c.checkpoint_every = 2;
  w = loom_segment_train (cpu, &c, &image, 1, NULL, stop_at_five, &last, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (last, ==, 5);
  g_assert_nonnull (strstr (loom_weights_get_metadata (w, LOOM_METADATA_PROVENANCE),
                            "\"steps\":5"));
  saved = loom_weights_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (loom_weights_get_metadata (saved, LOOM_METADATA_PROVENANCE),
                            "\"steps\":4"));
  /* Resume from the checkpoint: its architecture, not the config's. */
  c.unet.base = 32;
  c.steps = 2;
  c.checkpoint = NULL;
  loom_weights_free (w);
  w = loom_segment_train (cpu, &c, &image, 1, saved, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (loom_weights_get_metadata (w, LOOM_METADATA_ARCHITECTURE),
                            "\"base\":8"));
  loom_weights_free (w);
  /* Cancelled before the first step: weights, no step. */
  g_cancellable_cancel (cancel);
  w = loom_segment_train (cpu, &c, &image, 1, saved, NULL, NULL, cancel, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (loom_weights_get_metadata (w, LOOM_METADATA_PROVENANCE),
                            "\"steps\":0"));
  loom_weights_free (w);
  loom_weights_free (saved);
  g_object_unref (cancel);
  g_unlink (path);
  g_rmdir (dir);
  g_free (s);
  loom_device_free (cpu);
}

static void
test_bad_input (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  GError *error = NULL;

  synthetic (s);
  small_config (&c, 5);
  image = (LoomSegmentImage) { s->planes, s->truth, W, H, NULL };
  for (gsize i = 0; i < W * H; i++)
    s->truth[i] = LOOM_UNLABELLED;
  g_assert_null (loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "no labelled pixels"));
  g_clear_error (&error);
  s->truth[5] = 7;                                  /* a class the model lacks */
  g_assert_null (loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "label 7"));
  g_clear_error (&error);
  image.width = 6;                                  /* smaller than a depth-2 U-Net can take */
  image.height = 6;
  g_assert_null (loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "too small"));
  g_clear_error (&error);
  g_free (s);
  loom_device_free (cpu);
}

/* Tiles of 32 (overlapping, blended, a band of rows at a time) against one
 * tile over the whole image: the same classes nearly everywhere, and no
 * seam in the confidence along tile borders. */
static void
test_tiled (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w;
  g_autofree float *whole = g_new (float, W * H), *tiled = g_new (float, W * H);
  g_autofree float *cw = g_new (float, W * H), *ct = g_new (float, W * H);
  GError *error = NULL;
  guint same = 0, close = 0;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 40);
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  image.labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &image, 128, whole, cw, NULL, NULL, NULL, &error));
  g_assert_true (loom_segment_predict (cpu, w, &image, 32, tiled, ct, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < W * H; i++)
    {
      same += whole[i] == tiled[i];
      close += fabsf (cw[i] - ct[i]) < 0.05f;
    }
  g_test_message ("tiled vs whole: classes %.4f the same, confidence within 0.05 at %.4f",
                  (double) same / (W * H), (double) close / (W * H));
  g_assert_cmpfloat ((double) same / (W * H), >, 0.98);
  g_assert_cmpfloat ((double) close / (W * H), >, 0.9);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

/* Two images, each with strokes of one class only: the model knows both
 * classes, so it learned from both images. */
static void
test_several_images (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  g_autofree float *only0 = g_new (float, W * H), *only1 = g_new (float, W * H);
  g_autofree float *classes = g_new (float, W * H);
  LoomSegmentConfig c;
  LoomSegmentImage images[2];
  LoomWeights *w;
  GError *error = NULL;
  double acc;

  synthetic (s);
  for (gsize i = 0; i < W * H; i++)
    {
      only0[i] = s->strokes[i] == 0 ? 0.0f : LOOM_UNLABELLED;
      only1[i] = s->strokes[i] == 1 ? 1.0f : LOOM_UNLABELLED;
    }
  images[0] = (LoomSegmentImage) { s->planes, only0, W, H, NULL };
  images[1] = (LoomSegmentImage) { s->planes, only1, W, H, NULL };
  small_config (&c, 80);
  w = loom_segment_train (cpu, &c, images, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  images[0].labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &images[0], 48, classes, NULL, NULL, NULL, NULL,
                                       &error));
  g_assert_no_error (error);
  acc = accuracy (classes, s->truth);
  g_test_message ("two images, one class each: pixel accuracy %.4f", acc);
  g_assert_cmpfloat (acc, >, 0.9);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

/* Alpha as a validity mask: labels under transparent pixels are not
 * trained on (all of them hidden: nothing to learn from), and prediction
 * marks transparent pixels unlabelled with confidence 0, the rest as
 * without a mask. */
static void
test_mask (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  g_autofree float *mask = g_new (float, W * H);
  g_autofree float *plain = g_new (float, W * H), *masked = g_new (float, W * H);
  g_autofree float *cp = g_new (float, W * H), *cm = g_new (float, W * H);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w;
  GError *error = NULL;
  guint hidden = 0;

  synthetic (s);
  for (gsize i = 0; i < W * H; i++)
    mask[i] = s->strokes[i] >= 0 ? 0.2f : 1.0f;
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, mask };
  small_config (&c, 2);
  g_assert_null (loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no labelled pixels"));
  g_clear_error (&error);

  image.mask = NULL;
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < W * H; i++)
    mask[i] = (i / W + i % W) % 7 == 0 ? 0.0f : 0.9f;
  image.labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &image, 48, plain, cp, NULL, NULL, NULL, &error));
  image.mask = mask;
  g_assert_true (loom_segment_predict (cpu, w, &image, 48, masked, cm, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < W * H; i++)
    if (mask[i] < 0.5f)
      {
        g_assert_cmpfloat (masked[i], ==, LOOM_UNLABELLED);
        g_assert_cmpfloat (cm[i], ==, 0.0f);
        hidden++;
      }
    else
      {
        g_assert_cmpfloat (masked[i], ==, plain[i]);
        g_assert_cmpfloat (cm[i], ==, cp[i]);
      }
  g_assert_cmpuint (hidden, >, 0);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

static void
test_class_table (void)
{
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor)), back = NULL;
  const char *names[] = { "sky", "très vert", NULL };
  LoomColor a = { 0, 0, 255 }, b = { 10, 200, 30 };
  LoomWeights *w = loom_weights_new ();
  g_auto (GStrv) got = NULL;
  GError *error = NULL;

  g_array_append_val (colors, a);
  g_array_append_val (colors, b);
  loom_segment_set_classes (w, colors, names);
  back = loom_segment_get_classes (w, &got, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (back->data, 6, colors->data, 6);
  g_assert_cmpstr (got[1], ==, "très vert");
  g_assert_null (got[2]);
  loom_weights_set_metadata (w, LOOM_METADATA_CLASSES, "[{\"name\":\"x\",\"color\":[1,2,300]}]");
  g_assert_null (loom_segment_get_classes (w, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_clear_error (&error);
  loom_weights_free (w);
}

/* A starting point of other classes: every tensor but the head comes from
 * it, the head starts as a fresh model's would (learning rate 0, so the
 * weights are what training began from). */
static void
test_start_features (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *start, *tuned, *fresh;
  GError *error = NULL;
  guint checked = 0;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 3);
  c.unet.classes = 5;
  start = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  small_config (&c, 1);
  c.learning_rate = 0.0f;
  c.seed = 12;
  c.unet.depth = 3;             /* the start's shape wins, not this */
  c.start_features = TRUE;
  tuned = loom_segment_train (cpu, &c, &image, 1, start, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  c.start_features = FALSE;
  c.unet.depth = 2;
  fresh = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (const char *const *name = loom_weights_get_names (tuned); *name != NULL; name++)
    {
      gboolean head = g_str_has_prefix (*name, "head.");
      guint n_dims, got_dims;
      guint64 n = 1;
      const guint64 *shape, *got_shape;
      const float *want, *got = loom_weights_lookup (tuned, *name, &got_dims, &got_shape);

      /* Batch norm's running statistics move in a step whatever the rate. */
      if (strstr (*name, "running") != NULL || strstr (*name, "num_batches") != NULL)
        continue;
      want = loom_weights_lookup (head ? fresh : start, *name, &n_dims, &shape);
      g_assert_nonnull (want);
      if (g_str_equal (*name, "head.weight"))
        g_assert_cmpuint (got_shape[0], ==, 2);
      g_assert_cmpuint (n_dims, ==, got_dims);
      g_assert_cmpmem (shape, n_dims * sizeof *shape, got_shape, n_dims * sizeof *shape);
      for (guint d = 0; d < n_dims; d++)
        n *= shape[d];
      g_assert_cmpmem (want, n * sizeof (float), got, n * sizeof (float));
      checked++;
    }
  g_assert_cmpuint (checked, >, 10);
  loom_weights_free (start);
  loom_weights_free (tuned);
  loom_weights_free (fresh);
  g_free (s);
  loom_device_free (cpu);
}

/* Phase one alone (a run of one step): the pixel head on fixed features
 * learns the image from its strokes, and the model's answer is the head's. */
static void
test_phase_one (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w;
  LoomPixelHeadConfig hc;
  gboolean present;
  g_autofree float *classes = g_new (float, W * H), *confidence = g_new (float, W * H);
  GError *error = NULL;
  double acc;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 1);
  c.pixel_head = TRUE;
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (loom_pixel_head_config_from_weights (w, &present, &hc, &error));
  g_assert_true (present);
  g_assert_cmpfloat (hc.blend, ==, 1.0);
  g_assert_cmpuint (hc.classes, ==, 2);
  image.labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &image, 48, classes, confidence, NULL, NULL,
                                       NULL, &error));
  g_assert_no_error (error);
  acc = accuracy (classes, s->truth);
  g_test_message ("phase one: pixel accuracy %.4f", acc);
  g_assert_cmpfloat (acc, >, 0.95);
  for (gsize i = 0; i < W * H; i++)
    g_assert_true (confidence[i] >= 0.5f && confidence[i] <= 1.0001f);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

/* Both phases: the head's share falls as the network trains, the blend
 * still learns the image, and a file without a head (the network alone)
 * answers as before. */
static void
test_both_phases (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *w;
  LoomPixelHeadConfig hc;
  gboolean present;
  g_autofree float *classes = g_new (float, W * H);
  GError *error = NULL;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 41);
  c.pixel_head = TRUE;
  c.head_ramp = 80;
  c.head_blend = 0.5f;
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (loom_pixel_head_config_from_weights (w, &present, &hc, &error));
  g_assert_true (present);
  /* 40 network steps of a ramp of 80 down to 0.5: three quarters. */
  g_assert_cmpfloat (fabs (hc.blend - 0.75), <, 1e-6);
  image.labels = NULL;
  g_assert_true (loom_segment_predict (cpu, w, &image, 48, classes, NULL, NULL, NULL, NULL,
                                       &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (accuracy (classes, s->truth), >, 0.95);
  loom_weights_free (w);
  g_free (s);
  loom_device_free (cpu);
}

/* The features of a band of rows are those of the whole image, and they
 * mean what they say: on a ramp, the smoothed value is the ramp, the
 * gradient its slope (times σ) and the Hessian nothing, away from edges. */
static void
test_features (void)
{
  enum { FW = 70, FH = 90 };
  guint F = loom_pixel_features_count (1);
  g_autofree float *ramp = g_new (float, FW * FH);
  g_autofree float *whole = g_new (float, (gsize) F * FW * FH);
  g_autofree float *band = g_new (float, (gsize) F * 20 * FW);
  GRand *rand = g_rand_new_with_seed (3);
  g_autofree float *noise = g_new (float, FW * FH);

  g_assert_cmpuint (F, ==, LOOM_FEATURE_N_SIGMAS * LOOM_FEATURES_PER_SIGMA);
  for (guint i = 0; i < FW * FH; i++)
    noise[i] = (float) g_rand_double (rand);
  loom_pixel_features_band (noise, 1, FW, FH, 0, FH, whole);
  loom_pixel_features_band (noise, 1, FW, FH, 37, 20, band);
  for (guint f = 0; f < F; f++)
    for (guint v = 0; v < 20; v++)
      for (guint q = 0; q < FW; q++)
        g_assert_cmpfloat (fabs (band[((gsize) f * 20 + v) * FW + q]
                                 - whole[((gsize) f * FH + 37 + v) * FW + q]), <, 1e-5);
  for (guint y = 0; y < FH; y++)
    for (guint x = 0; x < FW; x++)
      ramp[y * FW + x] = 0.01f * x;
  loom_pixel_features_band (ramp, 1, FW, FH, 0, FH, whole);
  /* σ = 4 (the third scale): 12 pixels of reach, so x in 14…55 is clear. */
  for (guint y = 0; y < FH; y++)
    for (guint x = 14; x < 56; x++)
      {
        const float *f = whole + (gsize) 2 * LOOM_FEATURES_PER_SIGMA * FW * FH + y * FW + x;

        g_assert_cmpfloat (fabs (f[0] - 0.01f * x), <, 1e-4);
        g_assert_cmpfloat (fabs (f[(gsize) FW * FH] - 0.04f), <, 1e-4);
        g_assert_cmpfloat (fabs (f[(gsize) 2 * FW * FH]), <, 1e-4);
        g_assert_cmpfloat (fabs (f[(gsize) 3 * FW * FH]), <, 1e-4);
      }
  g_rand_free (rand);
}

/* Phase one with a starting point: its network, frozen, gives the head
 * features too (kept in the model as encoder.*), alone and blended. */
static void
test_phase_one_encoder (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Synthetic *s = g_new (Synthetic, 1);
  LoomSegmentConfig c;
  LoomSegmentImage image;
  LoomWeights *start, *w;
  LoomPixelHeadConfig hc;
  gboolean present;
  g_autofree float *classes = g_new (float, W * H);
  GError *error = NULL;

  synthetic (s);
  image = (LoomSegmentImage) { s->planes, s->strokes, W, H, NULL };
  small_config (&c, 20);
  c.unet.classes = 4;
  start = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint steps = 1; steps <= 6; steps += 5)
    {
      small_config (&c, steps);
      c.pixel_head = TRUE;
      c.start_features = TRUE;
      w = loom_segment_train (cpu, &c, &image, 1, start, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (loom_pixel_head_config_from_weights (w, &present, &hc, &error));
      g_assert_true (present);
      g_assert_cmpuint (hc.encoder_depth, ==, 2);
      g_assert_cmpuint (hc.encoder_base, ==, 8);
      g_assert_cmpfloat (fabs (hc.blend - (steps == 1 ? 1.0 : 1.0 - 5.0 / 200 * 0.5)), <, 1e-6);
      /* The encoder is the start's network as it was. */
      g_assert_cmpmem (loom_weights_lookup (w, "encoder.enc0.conv1.weight", NULL, NULL), 8 * 3 * 9 * 4,
                       loom_weights_lookup (start, "enc0.conv1.weight", NULL, NULL), 8 * 3 * 9 * 4);
      image.labels = NULL;
      g_assert_true (loom_segment_predict (cpu, w, &image, 48, classes, NULL, NULL, NULL, NULL,
                                           &error));
      g_assert_no_error (error);
      image.labels = s->strokes;
      g_test_message ("phase one with an encoder, %u steps: pixel accuracy %.4f", steps,
                      accuracy (classes, s->truth));
      g_assert_cmpfloat (accuracy (classes, s->truth), >, 0.95);
      loom_weights_free (w);
    }
  loom_weights_free (start);
  g_free (s);
  loom_device_free (cpu);
}

/* Refinement: noisy probabilities on an image with a sharp edge come out
 * non-negative, summing to one, and mostly right where they were wrong;
 * the model's setting goes in and out of its file; radius 0 leaves them. */
static void
test_refine (void)
{
  enum { RW = 120, RH = 90, K = 3 };
  g_autofree float *planes = g_new (float, 3 * RW * RH);
  g_autofree float *p = g_new (float, K * RW * RH), *q = g_new (float, K * RW * RH);
  GRand *rand = g_rand_new_with_seed (5);
  LoomSegmentImage image = { planes, NULL, RW, RH, NULL };
  LoomSegmentRefine refine = { 16, 0.01f }, back;
  LoomWeights *w = loom_weights_new ();
  GError *error = NULL;
  guint before = 0, after = 0;

  for (guint i = 0; i < RW * RH; i++)
    {
      guint x = i % RW, truth = x < 40 ? 0 : x < 80 ? 1 : 2;
      float noise[K];
      float sum = 0.0f;

      for (guint ch = 0; ch < 3; ch++)
        planes[ch * RW * RH + i] = 0.2f + 0.3f * truth;
      for (guint k = 0; k < K; k++)
        {
          noise[k] = (float) g_rand_double (rand) + (k == truth ? 0.45f : 0.0f);
          sum += noise[k];
        }
      for (guint k = 0; k < K; k++)
        p[k * RW * RH + i] = noise[k] / sum;
    }
  memcpy (q, p, sizeof (float) * K * RW * RH);
  g_assert_true (loom_segment_refine (&image, 3, K, &refine, q, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < RW * RH; i++)
    {
      guint x = i % RW, truth = x < 40 ? 0 : x < 80 ? 1 : 2, a = 0, b = 0;
      float sum = 0.0f;

      for (guint k = 0; k < K; k++)
        {
          g_assert_cmpfloat (q[k * RW * RH + i], >=, 0.0f);
          sum += q[k * RW * RH + i];
          a = p[k * RW * RH + i] > p[a * RW * RH + i] ? k : a;
          b = q[k * RW * RH + i] > q[b * RW * RH + i] ? k : b;
        }
      g_assert_cmpfloat (fabs (sum - 1.0f), <, 1e-5);
      before += a == truth;
      after += b == truth;
    }
  g_test_message ("right before refinement %.3f, after %.3f", (double) before / (RW * RH),
                  (double) after / (RW * RH));
  g_assert_cmpfloat ((double) before / (RW * RH), <, 0.9);
  g_assert_cmpfloat ((double) after / (RW * RH), >, 0.98);
  loom_segment_set_refine (w, &refine);
  g_assert_true (loom_segment_get_refine (w, &back, &error));
  g_assert_cmpuint (back.radius, ==, 16);
  g_assert_cmpfloat (fabs (back.eps - 0.01f), <, 1e-7);
  loom_weights_set_metadata (w, LOOM_METADATA_REFINE, "{\"guided_radius\":-3}");
  g_assert_false (loom_segment_get_refine (w, &back, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_clear_error (&error);
  memcpy (q, p, sizeof (float) * K * RW * RH);
  g_assert_true (loom_segment_refine (&image, 3, K, &(LoomSegmentRefine) { 0, 0.0f }, q, &error));
  g_assert_cmpmem (q, sizeof (float) * K * RW * RH, p, sizeof (float) * K * RW * RH);
  loom_weights_free (w);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/segment/learns-from-strokes", test_learns);
  g_test_add_func ("/segment/deterministic", test_deterministic);
  g_test_add_func ("/segment/stop-and-checkpoint", test_stop_and_checkpoint);
  g_test_add_func ("/segment/bad-input", test_bad_input);
  g_test_add_func ("/segment/tiled", test_tiled);
  g_test_add_func ("/segment/class-table", test_class_table);
  g_test_add_func ("/segment/several-images", test_several_images);
  g_test_add_func ("/segment/alpha-mask", test_mask);
  g_test_add_func ("/segment/start-features", test_start_features);
  g_test_add_func ("/segment/phase-one", test_phase_one);
  g_test_add_func ("/segment/both-phases", test_both_phases);
  g_test_add_func ("/segment/phase-one-encoder", test_phase_one_encoder);
  g_test_add_func ("/segment/refine", test_refine);
  g_test_add_func ("/segment/features", test_features);
  return g_test_run ();
}
