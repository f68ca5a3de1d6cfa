/* Explaining a generator: a latent walk's ends are the two seeds' own
 * images and its middle neither (noise, textures' planes, a label →
 * image model's planes over a map; on Vulkan too); the nearest training crop of a copy is
 * the copy, at distance 0, and otherwise what a brute-force search finds;
 * grids lay images out where they belong; bad requests are refused. */
#include <math.h>
#include <string.h>

#include <loom/loom-generative.h>
#include "test-util.h"

/* Fresh weights of CONFIG (a texture or pix2pix model), or a DCGAN's
 * after a few steps on noise (fresh, its images are flat grey). */
static LoomWeights *
model (LoomDevice *cpu, const LoomGanConfig *config)
{
  LoomGenerativeConfig c;
  enum { N = 8, S = 16 };
  g_autofree float *pixels = g_new (float, N * 3 * S * S);
  LoomGenerativeImage images[N];
  LoomWeights *w;
  GError *error = NULL;

  for (guint i = 0; i < N * 3 * S * S; i++)
    pixels[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f;
  for (guint i = 0; i < N; i++)
    images[i] = (LoomGenerativeImage) { pixels + i * 3 * S * S, S, S, NULL };
  loom_generative_config_init (&c, config->kind, config->channels);
  c.gan = *config;
  c.crop = S;
  c.batch = 4;
  c.steps = 3;
  c.ema = 0;
  w = loom_generative_train (cpu, &c, images, N, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return w;
}

/* Fresh pix2pix weights (two classes, LATENT noise planes, 16-pixel maps). */
static LoomWeights *
p2p_model (LoomDevice *cpu, guint latent)
{
  LoomGanConfig p2p = { LOOM_GAN_PIX2PIX, 3, latent, 2, 8, 8, FALSE, 2, FALSE };
  LoomGraph *g = loom_graph_new ();
  LoomGan *gan = loom_gan_new (g, &p2p, FALSE, NULL);
  LoomWeights *w = loom_weights_new ();
  GError *error = NULL;

  g_assert_nonnull (gan);
  loom_gan_generate_layer (gan, loom_graph_input (g, "x", 1, 2 + latent, 16, 16), FALSE, 0.1f);
  g_assert_true (loom_graph_compile (g, cpu, &error));
  g_assert_true (loom_gan_init (gan, 1, &error));
  g_assert_true (loom_gan_store (gan, w, &error));
  g_assert_no_error (error);
  loom_gan_free (gan);
  loom_graph_free (g);
  return w;
}

static double
largest_difference (const float *a, const float *b, gsize n)
{
  double worst = 0;

  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabsf (a[i] - b[i]));
  return worst;
}

static void
test_walk_ends (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGanConfig kinds[] = {
    { LOOM_GAN_TEXTURE, 3, 4, 2, 4, 4, TRUE, 0, FALSE },
    { LOOM_GAN_DCGAN, 3, 8, 2, 8, 8, FALSE, 0, FALSE },
  };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      LoomWeights *w = model (cpu, &kinds[k]);
      guint W = kinds[k].kind == LOOM_GAN_DCGAN ? 16 : 40, H = kinds[k].kind == LOOM_GAN_DCGAN ? 16 : 24;
      gsize n = (gsize) 3 * W * H;
      enum { COUNT = 5 };
      g_autofree float *walk = g_new (float, COUNT * n), *a = g_new (float, n), *b = g_new (float, n);
      GError *error = NULL;
      double ends, mid_a, mid_b, steps = 0;

      g_assert_true (loom_generative_interpolate (cpu, w, 7, 30, COUNT, 0, COUNT, W, H, 0, walk,
                                                  NULL, &error));
      g_assert_no_error (error);
      {                                          /* in parts: the same walk */
        g_autofree float *part = g_new (float, 2 * n);

        g_assert_true (loom_generative_interpolate (cpu, w, 7, 30, COUNT, 2, 2, W, H, 0, part,
                                                    NULL, &error));
        g_assert_cmpfloat (largest_difference (part, walk + 2 * n, 2 * n), <, 1e-5);
      }
      g_assert_true (loom_generative_generate (cpu, w, 1, 7, W, H, 0, a, NULL, &error));
      g_assert_true (loom_generative_generate (cpu, w, 1, 30, W, H, 0, b, NULL, &error));
      g_assert_no_error (error);
      ends = MAX (largest_difference (walk, a, n), largest_difference (walk + (COUNT - 1) * n, b, n));
      mid_a = largest_difference (walk + 2 * n, a, n);
      mid_b = largest_difference (walk + 2 * n, b, n);
      for (guint i = 0; i + 1 < COUNT; i++)
        steps = MAX (steps, largest_difference (walk + i * n, walk + (i + 1) * n, n));
      g_test_message ("%s: ends %g from the seeds' own images; the middle %g and %g from them; "
                      "neighbours at most %g apart", loom_gan_kind_name (kinds[k].kind), ends,
                      mid_a, mid_b, steps);
      if (kinds[k].kind == LOOM_GAN_TEXTURE)     /* one at a time: exactly */
        g_assert_cmpfloat (ends, ==, 0.0);
      else                                       /* a batch: GEMM blocking's rounding */
        g_assert_cmpfloat (ends, <, 1e-5);
      /* the middle neither end (the ends apart as much as fresh weights
       * make them), and a walk, not a jump: no step as far as the ends */
      g_assert_cmpfloat (largest_difference (a, b, n), >, 1e-4);
      g_assert_cmpfloat (mid_a, >, 0.2 * largest_difference (a, b, n));
      g_assert_cmpfloat (mid_b, >, 0.2 * largest_difference (a, b, n));
      g_assert_cmpfloat (steps, <, largest_difference (a, b, n));
      loom_weights_free (w);
    }
  loom_device_free (cpu);
}

/* A label → image model's walk: its noise planes over the same map. */
static void
test_walk_labels (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomWeights *w = p2p_model (cpu, 1);
  enum { W = 20, H = 12, COUNT = 3 };       /* not multiples of 4: padded, cut */
  gsize n = (gsize) 3 * W * H;
  float labels[W * H], steps[COUNT][3 * W * H], a[3 * W * H], b[3 * W * H];
  GError *error = NULL;
  double ends;

  for (guint i = 0; i < W * H; i++)
    labels[i] = i % W < W / 2 ? 0 : 1;
  for (guint k = 0; k < COUNT; k++)
    g_assert_true (loom_generative_render_interpolate (cpu, w, labels, W, H, 5, 6, COUNT, k, 0,
                                                       steps[k], &error));
  g_assert_true (loom_generative_render (cpu, w, labels, W, H, 5, 0, a, &error));
  g_assert_true (loom_generative_render (cpu, w, labels, W, H, 6, 0, b, &error));
  g_assert_no_error (error);
  ends = MAX (largest_difference (steps[0], a, n), largest_difference (steps[COUNT - 1], b, n));
  g_test_message ("pix2pix: ends %g from the seeds' renders; the middle %g and %g from them "
                  "(the seeds' renders %g apart)", ends, largest_difference (steps[1], a, n),
                  largest_difference (steps[1], b, n), largest_difference (a, b, n));
  g_assert_cmpfloat (ends, ==, 0.0);
  g_assert_cmpfloat (largest_difference (a, b, n), >, 1e-4);
  g_assert_cmpfloat (largest_difference (steps[1], a, n), >, 0.2 * largest_difference (a, b, n));
  g_assert_cmpfloat (largest_difference (steps[1], b, n), >, 0.2 * largest_difference (a, b, n));
  g_assert_false (loom_generative_render_interpolate (cpu, w, labels, W, H, 5, 6, COUNT, COUNT, 0,
                                                      a, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_weights_free (w);
  loom_device_free (cpu);
}

static void
test_walk_refused (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGanConfig tex = { LOOM_GAN_TEXTURE, 3, 4, 2, 4, 4, TRUE, 0, FALSE };
  LoomWeights *w = model (cpu, &tex);
  float out[2 * 3 * 16 * 16];
  GError *error = NULL;

  g_assert_false (loom_generative_interpolate (cpu, w, 1, 2, 1, 0, 1, 16, 16, 0, out, NULL,
                                              &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "at least 2"));
  g_clear_error (&error);
  g_assert_false (loom_generative_interpolate (cpu, w, 1, 2, 3, 2, 2, 16, 16, 0, out, NULL,
                                               &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* the same seed twice: a still walk, every image the seed's */
  g_assert_true (loom_generative_interpolate (cpu, w, 4, 4, 2, 0, 2, 16, 16, 0, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, sizeof out / 2, out + 3 * 16 * 16, sizeof out / 2);
  loom_weights_free (w);
  g_assert_false (loom_generative_interpolate (cpu, w = p2p_model (cpu, 1), 1, 2, 3, 0, 2, 16, 16,
                                               0, out, NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "label map"));
  g_clear_error (&error);
  loom_weights_free (w);
  {                                       /* no noise planes: no walk */
    float labels[16 * 16] = { 0 };

    w = p2p_model (cpu, 0);
    g_assert_false (loom_generative_render_interpolate (cpu, w, labels, 16, 16, 1, 2, 3, 1, 0,
                                                        out, &error));
    g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "no noise planes"));
    g_clear_error (&error);
    loom_weights_free (w);
  }
  loom_device_free (cpu);
}

/* A smooth image (nearby crops alike, as photographs) and noise. */
static void
test_nearest (void)
{
  enum { W0 = 50, H0 = 40, W1 = 30, H1 = 36, S = 12, C = 3 };
  g_autofree float *smooth = g_new (float, C * W0 * H0), *noise = g_new (float, C * W1 * H1);
  float sample[C * S * S];
  LoomGenerativeImage images[3];
  LoomNearestCrop found;
  GError *error = NULL;
  double best = INFINITY;
  guint bi = 0, bx = 0, by = 0;

  for (guint ch = 0; ch < C; ch++)
    for (guint y = 0; y < H0; y++)
      for (guint x = 0; x < W0; x++)
        smooth[(ch * H0 + y) * W0 + x] = 0.5f * x / W0 + 0.3f * y / H0
                                         + 0.1f * sinf (0.3f * x + 0.2f * y * (ch + 1));
  for (guint i = 0; i < C * W1 * H1; i++)
    noise[i] = (float) ((i * 2654435761u) % 997) / 997.0f;
  images[0] = (LoomGenerativeImage) { noise, 8, 8, NULL };      /* smaller: skipped */
  images[1] = (LoomGenerativeImage) { smooth, W0, H0, NULL };
  images[2] = (LoomGenerativeImage) { noise, W1, H1, NULL };

  /* A copy of the smooth image's crop at (29, 17), off a grid of 4. */
  for (guint ch = 0; ch < C; ch++)
    for (guint y = 0; y < S; y++)
      memcpy (sample + (ch * S + y) * S, smooth + (ch * H0 + 17 + y) * W0 + 29, S * sizeof (float));
  g_assert_true (loom_generative_nearest_crop (sample, C, S, S, images, 3, 4, &found, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (found.image, ==, 1);
  g_assert_cmpuint (found.x, ==, 29);
  g_assert_cmpuint (found.y, ==, 17);
  g_assert_cmpfloat (found.distance, ==, 0.0);

  /* Something else: what a search of every crop finds. */
  for (guint i = 0; i < C * S * S; i++)
    sample[i] = 0.3f + 0.4f * (float) ((i * 40503u) % 101) / 101.0f;
  for (guint i = 1; i < 3; i++)
    for (guint y = 0; y + S <= images[i].height; y++)
      for (guint x = 0; x + S <= images[i].width; x++)
        {
          double sum = 0;

          for (guint ch = 0; ch < C; ch++)
            for (guint v = 0; v < S; v++)
              for (guint q = 0; q < S; q++)
                {
                  double d = sample[(ch * S + v) * S + q]
                           - images[i].planes[(ch * images[i].height + y + v) * images[i].width + x + q];
                  sum += d * d;
                }
          if (sum < best)
            {
              best = sum;
              bi = i, bx = x, by = y;
            }
        }
  g_assert_true (loom_generative_nearest_crop (sample, C, S, S, images, 3, 1, &found, &error));
  g_assert_cmpuint (found.image, ==, bi);
  g_assert_cmpuint (found.x, ==, bx);
  g_assert_cmpuint (found.y, ==, by);
  g_assert_cmpfloat (fabs (found.distance - sqrt (best / (C * S * S))), <, 1e-9);
  g_assert_cmpfloat (found.distance, >, 0.05);
  /* one channel: only the first plane compared */
  g_assert_true (loom_generative_nearest_crop (sample, 1, S, S, images, 3, 1, &found, &error));
  g_assert_no_error (error);

  /* None large enough. */
  g_assert_false (loom_generative_nearest_crop (sample, C, S, S, images, 1, 1, &found, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "12×12"));
  g_clear_error (&error);
}

static void
test_grid (void)
{
  float images[3 * 2 * 2 * 3];     /* three 3×2 two-plane images: value = image + plane/10 */
  g_autofree float *grid = NULL;
  guint w, h;
  GError *error = NULL;

  for (guint k = 0; k < 3; k++)
    for (guint ch = 0; ch < 2; ch++)
      for (guint i = 0; i < 6; i++)
        images[(k * 2 + ch) * 6 + i] = k + ch / 10.0f;
  grid = loom_generative_grid (images, 3, 2, 3, 2, 2, 1, &w, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (w, ==, 7);                   /* 3 + 1 + 3 */
  g_assert_cmpuint (h, ==, 5);                   /* 2 + 1 + 2 */
  g_assert_cmpfloat (grid[0], ==, 0.0f);                       /* image 0 at the top left */
  g_assert_cmpfloat (grid[3], ==, 1.0f);                       /* the gap: white */
  g_assert_cmpfloat (grid[1 * 7 + 4], ==, 1.0f);               /* image 1, top right */
  g_assert_cmpfloat (grid[35 + 1 * 7 + 6], ==, 1.1f);          /* its second plane */
  g_assert_cmpfloat (grid[4 * 7 + 2], ==, 2.0f);               /* image 2, bottom left */
  g_assert_cmpfloat (grid[4 * 7 + 5], ==, 1.0f);               /* nothing: white */
  g_assert_null (loom_generative_grid (images, 3, 2, 40000, 2, 3, 1, &w, &h, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* On Vulkan: the walk's ends are that device's own images of the seeds,
 * and the walk the CPU's within rounding. */
static void
test_vulkan (void)
{
  LoomDevice *vk = test_open_vulkan (), *cpu;
  LoomGanConfig tex = { LOOM_GAN_TEXTURE, 3, 4, 2, 4, 4, TRUE, 0, FALSE };
  enum { W = 36, H = 20, COUNT = 4 };
  gsize n = (gsize) 3 * W * H;
  g_autofree float *walk = g_new (float, COUNT * n), *on_cpu = g_new (float, COUNT * n);
  g_autofree float *b = g_new (float, n);
  LoomWeights *w;
  GError *error = NULL;
  double apart;

  if (vk == NULL)
    return;
  cpu = loom_device_open ("cpu", NULL);
  w = model (cpu, &tex);
  g_assert_true (loom_generative_interpolate (vk, w, 2, 11, COUNT, 0, COUNT, W, H, 0, walk, NULL,
                                              &error));
  g_assert_true (loom_generative_interpolate (cpu, w, 2, 11, COUNT, 0, COUNT, W, H, 0, on_cpu,
                                              NULL, &error));
  g_assert_true (loom_generative_generate (vk, w, 1, 11, W, H, 0, b, NULL, &error));
  g_assert_no_error (error);
  apart = largest_difference (walk, on_cpu, COUNT * n);
  g_test_message ("vulkan: the last step %g from the seed's image there, the walk %g from the "
                  "CPU's", largest_difference (walk + (COUNT - 1) * n, b, n), apart);
  g_assert_cmpfloat (largest_difference (walk + (COUNT - 1) * n, b, n), ==, 0.0);
  g_assert_cmpfloat (apart, <, 1e-4);
  loom_weights_free (w);
  loom_device_free (cpu);
  test_close (vk);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/latent/walk-ends", test_walk_ends);
  g_test_add_func ("/latent/walk-labels", test_walk_labels);
  g_test_add_func ("/latent/walk-refused", test_walk_refused);
  g_test_add_func ("/latent/nearest", test_nearest);
  g_test_add_func ("/latent/grid", test_grid);
  g_test_add_func ("/latent/vulkan", test_vulkan);
  return g_test_run ();
}
