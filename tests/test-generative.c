/* GANs: a DCGAN learns a simple known distribution, the texture GAN's
 * tileable output wraps exactly, tiled generation equals whole generation,
 * seeds decide images, training is deterministic, diverging training
 * stops with an error, training resumes from a checkpoint's live weights,
 * and a label→image model paints each class with its texture's colours. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include <loom/loom-generative.h>
#include "test-util.h"

/* A tiny texture GAN's configuration. */
static LoomGanConfig
tiny_texture (gboolean tileable)
{
  return (LoomGanConfig) { LOOM_GAN_TEXTURE, 3, 4, 2, 4, 4, tileable, 0, FALSE };
}

/* Fresh weights of CONFIG (from SEED), as a file would hold them. */
static LoomWeights *
fresh (const LoomGanConfig *config, guint32 seed)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGraph *g = loom_graph_new ();
  LoomGan *gan = loom_gan_new (g, config, TRUE, NULL);
  LoomWeights *w = loom_weights_new ();
  GError *error = NULL;

  g_assert_nonnull (gan);
  loom_gan_generate_layer (gan, loom_graph_input (g, "z", 1, config->latent, 2, 2), FALSE, 0.1f);
  g_assert_true (loom_graph_compile (g, cpu, &error));
  g_assert_true (loom_gan_init (gan, seed, &error));
  g_assert_true (loom_gan_store (gan, w, &error));
  g_assert_no_error (error);
  loom_gan_free (gan);
  loom_graph_free (g);
  loom_device_free (cpu);
  return w;
}

/* Circular padding: G on noise repeated 2×2 gives its image on the noise
 * once, repeated 2×2 — the texture wraps with no seam at all. */
static void
test_wraps (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGanConfig c = tiny_texture (TRUE);
  LoomWeights *w = fresh (&c, 3);
  LoomGraph *g = loom_graph_new ();
  LoomGan *gan = loom_gan_new (g, &c, FALSE, NULL);
  LoomTensor *z1 = loom_graph_input (g, "z1", 1, c.latent, 3, 5);
  LoomTensor *z2 = loom_graph_input (g, "z2", 1, c.latent, 6, 10);
  LoomTensor *y1 = loom_gan_generate_layer (gan, z1, FALSE, 0.1f);
  LoomTensor *y2 = loom_gan_generate_layer (gan, z2, FALSE, 0.1f);
  float a[4 * 3 * 5], b[4 * 6 * 10], ya[3 * 12 * 20], yb[3 * 24 * 40];
  GError *error = NULL;
  GRand *rand = g_rand_new_with_seed (8);
  double worst = 0.0;

  loom_graph_keep (g, y1);
  loom_graph_keep (g, y2);
  g_assert_true (loom_graph_compile (g, cpu, &error));
  g_assert_true (loom_gan_load (gan, w, &error));
  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    a[i] = (float) g_rand_double_range (rand, -2, 2);
  for (guint ch = 0; ch < 4; ch++)
    for (guint v = 0; v < 6; v++)
      for (guint q = 0; q < 10; q++)
        b[(ch * 6 + v) * 10 + q] = a[(ch * 3 + v % 3) * 5 + q % 5];
  g_assert_true (loom_graph_write (g, z1, a, &error));
  g_assert_true (loom_graph_write (g, z2, b, &error));
  g_assert_true (loom_graph_run (g, &error));
  g_assert_true (loom_graph_read (g, y1, ya, &error));
  g_assert_true (loom_graph_read (g, y2, yb, &error));
  g_assert_no_error (error);
  for (guint ch = 0; ch < 3; ch++)
    for (guint v = 0; v < 24; v++)
      for (guint q = 0; q < 40; q++)
        worst = MAX (worst, fabs (yb[(ch * 24 + v) * 40 + q] - ya[(ch * 12 + v % 12) * 20 + q % 20]));
  g_test_message ("2×2 noise against 2×2 image: largest difference %g", worst);
  g_assert_cmpfloat (worst, <, 1e-5);
  g_rand_free (rand);
  loom_gan_free (gan);
  loom_graph_free (g);
  loom_weights_free (w);
  loom_device_free (cpu);
}

/* Tiles of 2 noise pixels against one tile over the whole texture: the
 * same pixels (tileable or not), and seeds: image i of a run from seed s
 * is the image of seed s + i. */
static void
test_tiles_and_seeds (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);

  for (int tileable = 0; tileable < 2; tileable++)
    {
      LoomGanConfig c = tiny_texture (tileable);
      LoomWeights *w = fresh (&c, 5);
      guint W = 44, H = 30;                     /* not multiples of 4: cut */
      gsize n = (gsize) 3 * W * H;
      g_autofree float *whole = g_new (float, 2 * n), *tiled = g_new (float, 2 * n);
      g_autofree float *one = g_new (float, n);
      GError *error = NULL;
      double worst = 0.0, spread = 0.0;

      g_assert_true (loom_generative_generate (cpu, w, 2, 40, W, H, 64, whole, NULL, &error));
      g_assert_true (loom_generative_generate (cpu, w, 2, 40, W, H, 2, tiled, NULL, &error));
      g_assert_true (loom_generative_generate (cpu, w, 1, 41, W, H, 0, one, NULL, &error));
      g_assert_no_error (error);
      for (gsize i = 0; i < 2 * n; i++)
        {
          worst = MAX (worst, fabsf (whole[i] - tiled[i]));
          g_assert_true (whole[i] >= 0.0f && whole[i] <= 1.0f);
        }
      g_test_message ("%s: tiles of 2 against the whole, largest difference %g",
                      tileable ? "tileable" : "plain", worst);
      g_assert_cmpfloat (worst, <, 1e-5);
      g_assert_cmpmem (whole + n, n * sizeof (float), one, n * sizeof (float));
      for (gsize i = 0; i < n; i++)
        spread = MAX (spread, fabsf (whole[i] - whole[n + i]));
      g_assert_cmpfloat (spread, >, 1e-3);        /* two seeds, two images */
      loom_weights_free (w);
    }
  loom_device_free (cpu);
}

/* A known distribution: flat grey 16×16 images, each of one level drawn
 * uniformly from [0.2, 0.8].  The DCGAN's samples must be flat and spread
 * over levels (not one mode; fresh weights give a flat 0.5 everywhere). */
static void
test_learns_distribution (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGenerativeConfig c;
  enum { N = 64, S = 16, COUNT = 32 };
  g_autofree float *pixels = g_new (float, N * S * S);
  g_autofree float *out = g_new (float, COUNT * S * S);
  LoomGenerativeImage images[N];
  LoomWeights *w;
  GError *error = NULL;
  double flatness = 0.0, mean_sum = 0.0, mean_sq = 0.0, lo = 1.0, hi = 0.0;

  for (guint i = 0; i < N; i++)
    {
      float level = 0.2f + 0.6f * (float) i / (N - 1);

      for (guint j = 0; j < S * S; j++)
        pixels[i * S * S + j] = level;
      images[i] = (LoomGenerativeImage) { pixels + i * S * S, S, S, NULL };
    }
  loom_generative_config_init (&c, LOOM_GAN_DCGAN, 1);
  c.gan = (LoomGanConfig) { LOOM_GAN_DCGAN, 1, 8, 2, 8, 8, FALSE, 0, FALSE };
  c.batch = 16;
  c.steps = 300;
  c.learning_rate = 2e-3f;
  c.ema = 0.99f;
  c.seed = 2;
  w = loom_generative_train (cpu, &c, images, N, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (loom_generative_generate (cpu, w, COUNT, 100, 0, 0, 0, out, NULL, &error));
  g_assert_no_error (error);
  {
    float one[S * S], apart = 0.0f;           /* in a batch or alone: the same image */

    g_assert_true (loom_generative_generate (cpu, w, 1, 105, 0, 0, 0, one, NULL, &error));
    for (guint j = 0; j < S * S; j++)         /* (the batch changes GEMM blocking: rounding) */
      apart = MAX (apart, fabsf (one[j] - out[5 * S * S + j]));
    g_test_message ("image 5 of a batch against alone: %g apart", apart);
    g_assert_cmpfloat (apart, <, 1e-5f);
  }
  for (guint i = 0; i < COUNT; i++)
    {
      double m = 0.0, var = 0.0;

      for (guint j = 0; j < S * S; j++)
        m += out[i * S * S + j] / (S * S);
      for (guint j = 0; j < S * S; j++)
        var += (out[i * S * S + j] - m) * (out[i * S * S + j] - m) / (S * S);
      flatness += sqrt (var) / COUNT;
      mean_sum += m;
      mean_sq += m * m;
      lo = MIN (lo, m);
      hi = MAX (hi, m);
    }
  mean_sum /= COUNT;
  g_test_message ("samples: deviation within an image %.3f on average; levels %.3f–%.3f, mean "
                  "%.3f, spread %.3f (data: flat, 0.2–0.8, mean 0.5, spread 0.173)", flatness,
                  lo, hi, mean_sum, sqrt (MAX (mean_sq / COUNT - mean_sum * mean_sum, 0.0)));
  g_assert_cmpfloat (flatness, <, 0.06);
  g_assert_cmpfloat (mean_sum, >, 0.35);
  g_assert_cmpfloat (mean_sum, <, 0.65);
  g_assert_cmpfloat (hi - lo, >, 0.2);
  loom_weights_free (w);
  loom_device_free (cpu);
}

static void
stripes (float *planes, guint W, guint H)
{
  for (guint ch = 0; ch < 3; ch++)
    for (guint y = 0; y < H; y++)
      for (guint x = 0; x < W; x++)
        planes[((gsize) ch * H + y) * W + x] = (x / 3 + y / 5) % 2 ? 0.8f : 0.2f + 0.1f * ch;
}

/* The same seed, the same weights; the turns switch; a loss that blows up
 * is an error, not a model. */
static void
test_deterministic_and_guard (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 40 * 36];
  LoomGenerativeImage image = { planes, 40, 36, NULL };
  LoomGenerativeConfig c;
  LoomWeights *a, *b;
  GError *error = NULL;

  stripes (planes, 40, 36);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 2;
  c.steps = 4;
  c.turns = TRUE;               /* forced: the stripes alone would not allow them */
  a = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  b = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  loom_weights_free (b);

  /* Quarter turns are a switch of their own (oriented textures): off, the
   * crops differ and so do the weights; without augmentation it is moot. */
  c.turns = FALSE;
  b = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (test_weights_equal (a, b));
  loom_weights_free (b);
  c.augment = FALSE;
  b = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  loom_weights_free (a);
  c.turns = TRUE;
  a = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  loom_weights_free (a);
  loom_weights_free (b);

  c.learning_rate = 1e30f;                 /* weights overflow: NaN losses */
  c.steps = 50;
  a = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_null (a);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  loom_device_free (cpu);
}

/* Samples for the orientation rule, S × S grey in [0, 1]: a running-bond
 * brick wall (bricks 24 × 8 with 2-pixel mortar, rows shifted by half a
 * brick, a little grain), smoothed noise (isotropic), and stripes at
 * atan(1/2) (oriented, neither flip nor turn keeps them). */
static void
sample_brick (float *p, guint S, GRand *rand)
{
  for (guint y = 0; y < S; y++)
    for (guint x = 0; x < S; x++)
      {
        guint row = y / 10, along = (x + (row % 2) * 13) % 26;
        gboolean mortar = y % 10 < 2 || along < 2;

        p[(gsize) y * S + x] = (mortar ? 0.8f : 0.35f) + 0.05f * (float) g_rand_double (rand);
      }
}

static void
sample_noise (float *p, guint S, GRand *rand)
{
  g_autofree float *white = g_new (float, (gsize) S * S);

  for (gsize i = 0; i < (gsize) S * S; i++)
    white[i] = (float) g_rand_double (rand);
  for (guint y = 0; y < S; y++)       /* a 5×5 box blur, wrapping */
    for (guint x = 0; x < S; x++)
      {
        float sum = 0.0f;

        for (int dy = -2; dy <= 2; dy++)
          for (int dx = -2; dx <= 2; dx++)
            sum += white[((y + dy + S) % S) * (gsize) S + (x + dx + S) % S];
        p[(gsize) y * S + x] = sum / 25.0f;
      }
}

static void
sample_slant (float *p, guint S, GRand *rand)
{
  for (guint y = 0; y < S; y++)
    for (guint x = 0; x < S; x++)
      p[(gsize) y * S + x] = 0.5f + 0.4f * sinf ((float) (x + 2 * y) / 3.0f)
                           + 0.02f * (float) g_rand_double (rand);
}

/* Textures keep their orientation unless the sample's statistics allow a
 * flip or turn: the brick wall may be mirrored but not turned, the noise
 * anything, the slanted stripes nothing; a forced choice stands. */
static void
test_orientation (void)
{
  enum { S = 256 };
  g_autofree float *planes = g_new (float, S * S);
  LoomGenerativeImage image = { planes, S, S, NULL };
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  LoomGenerativeConfig c;
  LoomOrientation m;

  sample_brick (planes, S, rand);
  loom_generative_measure_orientation (&image, 1, 1, &m);
  g_test_message ("brick: flips %.3f %.3f, turn %.3f", m.flip_h, m.flip_v, m.turn);
  g_assert_cmpfloat (m.turn, >, 2 * LOOM_ORIENTATION_THRESHOLD);
  g_assert_cmpfloat (m.flip_h, <=, LOOM_ORIENTATION_THRESHOLD);
  g_assert_cmpfloat (m.flip_v, <=, LOOM_ORIENTATION_THRESHOLD);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 1);
  g_assert_cmpint (c.turns, ==, LOOM_AUGMENT_AUTO);
  loom_generative_config_resolve_orientation (&c, &image, 1, NULL);
  g_assert_cmpint (c.turns, ==, LOOM_AUGMENT_OFF);
  g_assert_cmpint (c.flip_h, ==, LOOM_AUGMENT_ON);
  g_assert_cmpint (c.flip_v, ==, LOOM_AUGMENT_ON);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 1);
  c.turns = TRUE;
  c.flip_h = FALSE;
  loom_generative_config_resolve_orientation (&c, &image, 1, &m);
  g_assert_cmpint (c.turns, ==, LOOM_AUGMENT_ON);
  g_assert_cmpint (c.flip_h, ==, LOOM_AUGMENT_OFF);
  g_assert_cmpfloat (m.turn, >, LOOM_ORIENTATION_THRESHOLD);

  sample_noise (planes, S, rand);
  loom_generative_measure_orientation (&image, 1, 1, &m);
  g_test_message ("noise: flips %.3f %.3f, turn %.3f", m.flip_h, m.flip_v, m.turn);
  g_assert_cmpfloat (MAX (MAX (m.flip_h, m.flip_v), m.turn), <=, LOOM_ORIENTATION_THRESHOLD);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 1);
  loom_generative_config_resolve_orientation (&c, &image, 1, NULL);
  g_assert_cmpint (c.turns, ==, LOOM_AUGMENT_ON);

  sample_slant (planes, S, rand);
  loom_generative_measure_orientation (&image, 1, 1, &m);
  g_test_message ("slant: flips %.3f %.3f, turn %.3f", m.flip_h, m.flip_v, m.turn);
  g_assert_cmpfloat (MIN (MIN (m.flip_h, m.flip_v), m.turn), >, 2 * LOOM_ORIENTATION_THRESHOLD);

  /* DCGANs: left-right flips only, whatever the images. */
  loom_generative_config_init (&c, LOOM_GAN_DCGAN, 1);
  loom_generative_config_resolve_orientation (&c, &image, 1, NULL);
  g_assert_cmpint (c.flip_h, ==, LOOM_AUGMENT_ON);
  g_assert_cmpint (c.turns, ==, LOOM_AUGMENT_OFF);
  g_assert_cmpint (c.flip_v, ==, LOOM_AUGMENT_OFF);
}

/* The DCGAN budget: the step's flops as counted by hand for the issue's
 * 64-px DCGAN (width 64, batch 64: G 209.26 and D 207.63 MFLOP an image
 * forward, 159.77 GFLOP a step), and the choices: a 10-minute run on two
 * CPU cores (100 GFLOP/s) gets thousands of steps, not the full width's
 * 376; a fast device keeps DCGAN's own; a tiny budget the narrowest; more
 * time never a narrower network. */
static void
test_budget (void)
{
  LoomGanConfig dc = { LOOM_GAN_DCGAN, 3, 100, 4, 64, 64, FALSE, 0, FALSE };
  LoomDeviceInfo cpu = { LOOM_BACKEND_CPU, -1, NULL, "cpu", NULL, 0 };
  LoomDeviceInfo gpu = { LOOM_BACKEND_VULKAN, 0, NULL, "discrete", NULL, 0 };
  LoomGanBudget b;
  guint last = 0;

  g_assert_cmpfloat (fabs (loom_generative_dcgan_step_flops (&dc, 64) / 159.7747e9 - 1.0), <, 1e-5);
  g_assert_cmpfloat (fabs (loom_generative_dcgan_step_flops (&dc, 32) * 2.0
                           - loom_generative_dcgan_step_flops (&dc, 64)), <, 1.0);
  g_assert_cmpfloat (loom_generative_device_gflops (&gpu), >, loom_generative_device_gflops (&cpu));

  loom_generative_dcgan_budget (4, 3, 600.0, 100.0, &b);
  g_test_message ("600 s at 100 GFLOP/s: width %u, batch %u, %.0f steps", b.width, b.batch, b.steps);
  g_assert_cmpfloat (b.steps, >=, LOOM_GAN_BUDGET_STEPS);
  g_assert_true (b.width < 64 || b.batch < 64);
  g_assert_cmpuint (b.width, >=, 24);                  /* not needlessly narrow */
  g_assert_cmpfloat (b.learning_rate, ==, 2e-4f);
  dc.g_width = dc.d_width = b.width;
  g_assert_cmpfloat (fabs (600.0 * 100e9 / loom_generative_dcgan_step_flops (&dc, b.batch) - b.steps),
                     <, 1.0);

  loom_generative_dcgan_budget (4, 3, 600.0, 5000.0, &b);
  g_assert_cmpuint (b.width, ==, 64);
  g_assert_cmpuint (b.batch, ==, 64);

  loom_generative_dcgan_budget (4, 3, 5.0, 100.0, &b);
  g_assert_cmpuint (b.width, ==, 16);
  g_assert_cmpuint (b.batch, ==, 32);
  g_assert_cmpfloat (b.steps, <, LOOM_GAN_BUDGET_STEPS);

  for (double seconds = 10.0; seconds < 1e5; seconds *= 1.7)
    {
      loom_generative_dcgan_budget (3, 1, seconds, 100.0, &b);
      g_assert_cmpuint (b.width * b.batch, >=, last);
      last = b.width * b.batch;
    }
  g_assert_cmpuint (last, ==, 64 * 64);
}

/* Real crops cut on the host (host_crops, as $LOOM_HOST_CROPS asks) train
 * the very weights the device's crops do: two images of two sizes. */
static void
test_host_crops (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 40 * 36], planes2[3 * 24 * 20];
  LoomGenerativeImage images[2] = { { planes, 40, 36, NULL }, { planes2, 24, 20, NULL } };
  LoomGenerativeConfig c;
  LoomWeights *a, *b;
  GError *error = NULL;

  stripes (planes, 40, 36);
  stripes (planes2, 24, 20);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 3;
  c.steps = 3;
  c.host_crops = FALSE;
  a = loom_generative_train (cpu, &c, images, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  c.host_crops = TRUE;
  b = loom_generative_train (cpu, &c, images, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  loom_weights_free (a);
  loom_weights_free (b);
  loom_device_free (cpu);
}

/* A checkpoint holds the averaged generator (generator.*) and the live one
 * (training.generator.*); resuming trains the live one: with a learning
 * rate of 0 it stays exactly as saved, and D too. */
static void
test_resume (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 32 * 32];
  LoomGenerativeImage image = { planes, 32, 32, NULL };
  LoomGenerativeConfig c;
  g_autofree char *dir = g_dir_make_tmp ("loom-gan-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "checkpoint.safetensors", NULL);
  LoomWeights *w, *saved, *resumed;
  GError *error = NULL;
  guint compared = 0;

  stripes (planes, 32, 32);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 2;
  c.steps = 6;
  c.ema = 0.5f;
  c.checkpoint = path;
  c.checkpoint_every = 3;
  w = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  saved = loom_weights_load (path, &error);
  g_assert_no_error (error);
  c.checkpoint = NULL;
  c.learning_rate = 0.0f;
  c.steps = 2;
  resumed = loom_generative_train (cpu, &c, &image, 1, saved, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (const char *const *name = loom_weights_get_names (saved); *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *before = loom_weights_lookup (saved, *name, &n_dims, &shape);
      const float *after = loom_weights_lookup (resumed, *name, NULL, NULL);
      gsize n = 1;

      g_assert_nonnull (after);
      for (guint d = 0; d < n_dims; d++)
        n *= shape[d];
      /* Trained tensors of the live G and of D: unchanged at rate 0. */
      if ((g_str_has_prefix (*name, "training.") || g_str_has_prefix (*name, "discriminator."))
          && !g_str_has_suffix (*name, "running_mean") && !g_str_has_suffix (*name, "running_var"))
        {
          g_assert_cmpmem (before, n * sizeof (float), after, n * sizeof (float));
          compared++;
        }
    }
  g_assert_cmpuint (compared, >, 8);
  g_assert_nonnull (loom_weights_lookup (w, "training.generator.convs.0.weight", NULL, NULL));
  loom_weights_free (w);
  loom_weights_free (saved);
  loom_weights_free (resumed);
  g_remove (path);
  g_rmdir (dir);
  loom_device_free (cpu);
}

/* Spectral norm on D: each D convolution keeps its u (weight_u), a unit
 * vector once a power iteration has run; the architecture says so, and a
 * model to go on from keeps it (its architecture wins) while training
 * differs from the same run without it. */
static void
test_spectral_norm (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 40 * 36];
  LoomGenerativeImage image = { planes, 40, 36, NULL };
  LoomGenerativeConfig c;
  LoomWeights *plain, *sn, *resumed;
  LoomGanConfig read;
  GError *error = NULL;

  stripes (planes, 40, 36);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 2;
  c.steps = 3;
  plain = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (loom_weights_lookup (plain, "discriminator.convs.0.weight_u", NULL, NULL));
  c.gan.spectral_norm = TRUE;
  sn = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (test_weights_equal (plain, sn));
  for (guint i = 0; i <= c.gan.levels; i++)
    {
      g_autofree char *name = g_strdup_printf ("discriminator.convs.%u.weight_u", i);
      guint n_dims;
      const guint64 *shape;
      const float *u = loom_weights_lookup (sn, name, &n_dims, &shape);
      double norm = 0.0;

      g_assert_nonnull (u);
      g_assert_cmpuint (n_dims, ==, 1);
      g_assert_cmpuint (shape[0], ==, i == c.gan.levels ? 1 : c.gan.d_width << i);
      for (guint64 k = 0; k < shape[0]; k++)
        norm += (double) u[k] * u[k];
      g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-5);
    }
  g_assert_true (loom_gan_config_from_weights (sn, &read, &error));
  g_assert_true (read.spectral_norm);
  c.gan.spectral_norm = FALSE;
  c.steps = 1;
  resumed = loom_generative_train (cpu, &c, &image, 1, sn, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loom_weights_lookup (resumed, "discriminator.convs.1.weight_u", NULL, NULL));
  loom_weights_free (plain);
  loom_weights_free (sn);
  loom_weights_free (resumed);
  loom_device_free (cpu);
}

/* Label → image: one 48×48 image whose class 0 is dark stripes and class
 * 1 flat pink.  From a label map it never saw (the blocks shifted), the
 * model paints each class with its own colours. */
static void
test_label_to_image (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  enum { S = 48 };
  float planes[3 * S * S], labels[S * S], other[S * S], out[3 * S * S];
  LoomGenerativeImage image = { planes, S, S, labels };
  LoomGenerativeConfig c;
  LoomWeights *w;
  GError *error = NULL;
  double sum[2][3] = { { 0 } }, count[2] = { 0 };

  for (guint y = 0; y < S; y++)
    for (guint x = 0; x < S; x++)
      {
        guint at = y * S + x, k = (x / 12 + y / 12) % 2;

        labels[at] = (float) k;
        other[at] = (float) (((x + 6) / 12 + y / 12) % 2);
        planes[at] = k ? 0.9f : (x % 4 < 2 ? 0.1f : 0.4f);
        planes[S * S + at] = k ? 0.6f : (x % 4 < 2 ? 0.1f : 0.4f);
        planes[2 * S * S + at] = k ? 0.7f : (x % 4 < 2 ? 0.1f : 0.4f);
      }
  loom_generative_config_init (&c, LOOM_GAN_PIX2PIX, 3);
  c.gan.classes = 2;
  c.gan.levels = 2;
  c.gan.g_width = c.gan.d_width = 8;
  c.crop = 32;
  c.steps = 120;
  c.learning_rate = 2e-3f;
  w = loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (loom_generative_render (cpu, w, other, S, S, 3, 0, out, &error));
  g_assert_no_error (error);
  {
    /* In tiles of 16 (overlapping, blended): close to the whole map. */
    float tiled[3 * S * S];
    double mean = 0.0;

    g_assert_true (loom_generative_render (cpu, w, other, S, S, 3, 16, tiled, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < 3 * S * S; i++)
      mean += fabsf (tiled[i] - out[i]) / (3 * S * S);
    g_test_message ("tiles of 16 against the whole map: mean difference %.4f", mean);
    g_assert_cmpfloat (mean, <, 0.03);
  }
  for (guint at = 0; at < S * S; at++)
    {
      guint k = (guint) other[at];

      for (guint ch = 0; ch < 3; ch++)
        sum[k][ch] += out[ch * S * S + at];
      count[k]++;
    }
  for (guint k = 0; k < 2; k++)
    g_test_message ("class %u: mean colour %.3f %.3f %.3f (taught %s)", k, sum[k][0] / count[k],
                    sum[k][1] / count[k], sum[k][2] / count[k],
                    k ? "0.9 0.6 0.7" : "0.25 0.25 0.25, striped");
  g_assert_cmpfloat (fabs (sum[1][0] / count[1] - 0.9), <, 0.12);
  g_assert_cmpfloat (fabs (sum[1][1] / count[1] - 0.6), <, 0.12);
  g_assert_cmpfloat (fabs (sum[0][0] / count[0] - 0.25), <, 0.12);
  /* A label map of no pixels. */
  g_assert_false (loom_generative_render (cpu, w, other, 0, S, 3, 0, out, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_weights_free (w);
  loom_device_free (cpu);
}

/* On Vulkan: the same seed gives the same weights, tiles join exactly, and
 * the images are the CPU's (within rounding). */
static void
test_vulkan (void)
{
  LoomDevice *vk = test_open_vulkan (), *cpu;
  float planes[3 * 40 * 36];
  LoomGenerativeImage image = { planes, 40, 36, NULL };
  LoomGenerativeConfig c;
  LoomWeights *a, *b;
  g_autofree float *whole = g_new (float, 3 * 44 * 30), *tiled = g_new (float, 3 * 44 * 30);
  g_autofree float *on_cpu = g_new (float, 3 * 44 * 30);
  GError *error = NULL;
  double worst = 0.0, apart = 0.0;

  if (vk == NULL)
    return;
  cpu = loom_device_open ("cpu", NULL);
  stripes (planes, 40, 36);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 2;
  c.steps = 3;
  a = loom_generative_train (vk, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  b = loom_generative_train (vk, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_same_weights (a, b);
  g_assert_true (loom_generative_generate (vk, a, 1, 9, 44, 30, 64, whole, NULL, &error));
  g_assert_true (loom_generative_generate (vk, a, 1, 9, 44, 30, 2, tiled, NULL, &error));
  g_assert_true (loom_generative_generate (cpu, a, 1, 9, 44, 30, 0, on_cpu, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < 3 * 44 * 30; i++)
    {
      worst = MAX (worst, fabsf (whole[i] - tiled[i]));
      apart = MAX (apart, fabsf (whole[i] - on_cpu[i]));
    }
  g_test_message ("vulkan: tiles against whole %g, against the CPU %g", worst, apart);
  g_assert_cmpfloat (worst, <, 1e-5);
  g_assert_cmpfloat (apart, <, 1e-4);
  loom_weights_free (a);
  loom_weights_free (b);
  loom_device_free (cpu);
  test_close (vk);
}

static gboolean
keep_d_loss (const LoomTrainProgress *p, gpointer data)
{
  float *last = data;

  g_assert_cmpuint (p->n_losses, ==, 2);
  g_assert_cmpstr (p->losses[0].name, ==, "D");
  g_assert_cmpstr (p->losses[1].name, ==, "G");
  last[p->step % 10] = p->losses[0].value;
  return TRUE;
}

/* A strong R1 penalty keeps D flat around the real images: its loss stays
 * at chance (2·ln 2 for the two BCE terms), where without it D learns to
 * tell the stripes from G's early images. */
static void
test_r1 (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 40 * 36], last[2][10];
  LoomGenerativeImage image = { planes, 40, 36, NULL };
  LoomGenerativeConfig c;
  GError *error = NULL;
  double mean[2] = { 0, 0 };

  stripes (planes, 40, 36);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  c.gan = tiny_texture (TRUE);
  c.crop = 16;
  c.batch = 4;
  c.steps = 60;
  c.learning_rate = 2e-3f;
  for (int strong = 0; strong < 2; strong++)
    {
      LoomWeights *w;

      c.r1 = strong ? 1e4f : 0.0f;
      w = loom_generative_train (cpu, &c, &image, 1, NULL, keep_d_loss, last[strong], NULL,
                                 &error);
      g_assert_no_error (error);
      for (guint i = 0; i < 10; i++)
        mean[strong] += last[strong][i] / 10;
      loom_weights_free (w);
    }
  g_test_message ("D loss over the last 10 steps: %.3f without R1, %.3f with γ = 1e4 "
                  "(chance 1.386)", mean[0], mean[1]);
  g_assert_cmpfloat (mean[1], >, 1.3);
  g_assert_cmpfloat (mean[0], <, mean[1] - 0.1);
  loom_device_free (cpu);
}

static void
test_bad_input (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float planes[3 * 20 * 20];
  LoomGenerativeImage image = { planes, 20, 20, NULL };
  LoomGenerativeConfig c;
  LoomWeights *unet = loom_weights_new ();
  float out[16];
  GError *error = NULL;

  stripes (planes, 20, 20);
  loom_generative_config_init (&c, LOOM_GAN_DCGAN, 3);   /* 64×64 images */
  g_assert_null (loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "20×20"));
  g_clear_error (&error);
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);   /* 4 levels: 32 px at least */
  g_assert_null (loom_generative_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (loom_generative_train (cpu, &c, &image, 0, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_weights_set_metadata (unet, LOOM_METADATA_ARCHITECTURE, "{\"name\":\"unet\"}");
  g_assert_false (loom_generative_generate (cpu, unet, 1, 1, 2, 2, 0, out, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_clear_error (&error);
  loom_weights_free (unet);
  loom_device_free (cpu);
}

/* The rules the faces (CLI, plug-in) ask the core to check: the budget,
 * the generator's sizes, the kinds' names, and what a request to generate
 * may ask of each kind of model. */
static void
test_request_rules (void)
{
  LoomGenerativeConfig c;
  LoomGanConfig tex = { LOOM_GAN_TEXTURE, 3, 16, 4, 16, 16, TRUE, 0, FALSE };
  LoomGanConfig dc = { LOOM_GAN_DCGAN, 3, 100, 3, 64, 64, FALSE, 0, FALSE };
  LoomGanConfig p2p = { LOOM_GAN_PIX2PIX, 3, 1, 4, 16, 32, FALSE, 2, FALSE };
  LoomGanKind kind;
  GError *error = NULL;
  guint w, h;

  g_assert_true (loom_train_check_budget (5, 0, NULL));
  g_assert_true (loom_train_check_budget (0, 2.5, NULL));
  g_assert_false (loom_train_check_budget (0, 0, &error));
  g_assert_nonnull (strstr (error->message, "time limit"));
  g_clear_error (&error);

  g_assert_true (loom_gan_kind_from_name ("texture", &kind) && kind == LOOM_GAN_TEXTURE);
  g_assert_false (loom_gan_kind_from_name ("vae", &kind));
  g_assert_cmpstr (loom_gan_kind_name (LOOM_GAN_PIX2PIX), ==, "pix2pix");

  loom_generative_config_init (&c, LOOM_GAN_DCGAN, 3);
  g_assert_true (loom_generative_config_set_size (&c, 128, NULL));
  g_assert_cmpuint (loom_gan_image_side (&c.gan), ==, 128);
  g_assert_true (loom_generative_config_set_size (&c, 0, NULL));
  g_assert_cmpuint (loom_gan_image_side (&c.gan), ==, 64);
  g_assert_false (loom_generative_config_set_size (&c, 48, &error));
  g_assert_nonnull (strstr (error->message, "48: a DCGAN"));
  g_clear_error (&error);
  g_assert_false (loom_generative_config_set_size (&c, 512, NULL));
  loom_generative_config_init (&c, LOOM_GAN_TEXTURE, 3);
  g_assert_true (loom_generative_config_set_size (&c, 0, NULL) && c.crop == 64);
  g_assert_true (loom_generative_config_set_size (&c, 48, NULL) && c.crop == 48);
  g_assert_false (loom_generative_config_set_size (&c, 40, NULL));
  g_assert_false (loom_generative_config_set_size (&c, 2048, NULL));

  w = h = 0;
  g_assert_true (loom_generative_check_request (&tex, FALSE, FALSE, &w, &h, NULL));
  g_assert_cmpuint (w, ==, 512);
  g_assert_cmpuint (h, ==, 512);
  w = 64, h = 48;
  g_assert_true (loom_generative_check_request (&tex, FALSE, TRUE, &w, &h, NULL));
  w = 60;
  g_assert_false (loom_generative_check_request (&tex, FALSE, TRUE, &w, &h, &error));
  g_assert_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_TILE_MULTIPLE);
  g_assert_nonnull (strstr (error->message, "multiples of 16 (e.g. 48x48)"));
  g_clear_error (&error);
  g_assert_false (loom_generative_check_request (&tex, TRUE, FALSE, &w, &h, &error));
  g_assert_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NO_LABELS);
  g_clear_error (&error);
  w = h = 0;
  g_assert_true (loom_generative_check_request (&dc, FALSE, FALSE, &w, &h, NULL));
  g_assert_cmpuint (w, ==, 32);
  w = h = 64;
  g_assert_false (loom_generative_check_request (&dc, FALSE, FALSE, &w, &h, &error));
  g_assert_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_FIXED_SIZE);
  g_assert_nonnull (strstr (error->message, "32×32"));
  g_clear_error (&error);
  w = h = 0;
  g_assert_false (loom_generative_check_request (&dc, FALSE, TRUE, &w, &h, &error));
  g_assert_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NOT_TILEABLE);
  g_clear_error (&error);
  w = h = 0;                                        /* a label map's size is its own */
  g_assert_true (loom_generative_check_request (&p2p, TRUE, FALSE, &w, &h, NULL));
  g_assert_false (loom_generative_check_request (&p2p, FALSE, FALSE, &w, &h, &error));
  g_assert_error (error, LOOM_GENERATE_ERROR, LOOM_GENERATE_ERROR_NEEDS_LABELS);
  g_clear_error (&error);
  w = 32;
  g_assert_false (loom_generative_check_request (&p2p, TRUE, FALSE, &w, &h, NULL));
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/generative/wraps", test_wraps);
  g_test_add_func ("/generative/tiles-and-seeds", test_tiles_and_seeds);
  g_test_add_func ("/generative/learns-a-distribution", test_learns_distribution);
  g_test_add_func ("/generative/deterministic-and-guard", test_deterministic_and_guard);
  g_test_add_func ("/generative/host-crops", test_host_crops);
  g_test_add_func ("/generative/resume", test_resume);
  g_test_add_func ("/generative/spectral-norm", test_spectral_norm);
  g_test_add_func ("/generative/orientation", test_orientation);
  g_test_add_func ("/generative/budget", test_budget);
  g_test_add_func ("/generative/label-to-image", test_label_to_image);
  g_test_add_func ("/generative/vulkan", test_vulkan);
  g_test_add_func ("/generative/r1", test_r1);
  g_test_add_func ("/generative/bad-input", test_bad_input);
  g_test_add_func ("/generative/request-rules", test_request_rules);
  return g_test_run ();
}
