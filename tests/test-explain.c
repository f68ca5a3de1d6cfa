/* Explanations tested for meaning: probabilities sum to 1 and their argmax
 * is the label; entropy is 0 when sure and 1 when every class is alike;
 * "paint here next" finds the uncertain squares; on an image where one
 * class is defined only by colour the occlusion evidence for a red square
 * lies on red pixels; conflicting strokes on a boundary make it the most
 * uncertain place. */
#include <math.h>
#include <string.h>

#include <loom/loom-segment.h>
#include "test-util.h"

#define W 64
#define H 64
#define N (W * H)

static LoomWeights *
train (LoomDevice *cpu, const float *planes, const float *labels, guint steps)
{
  LoomSegmentConfig c;
  LoomSegmentImage image = { planes, labels, W, H, NULL };
  GError *error = NULL;
  LoomWeights *w;

  loom_segment_config_init (&c, 2);
  c.unet.depth = 2;
  c.unet.base = 8;
  c.crop = 32;
  c.batch = 4;
  c.steps = steps;
  c.seed = 5;
  c.augment = FALSE;
  c.color = c.noise = c.blur = 0;
  w = loom_segment_train (cpu, &c, &image, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return w;
}

/* Grey noise with four red and four grey 12 × 12 squares: class 1 is the
 * red ones, class 0 everything else (the grey squares have their shape). */
static void
red_squares (float *planes, float *labels, float *red)
{
  GRand *rand = g_rand_new_with_seed (3);
  static const guint at[8][2] = { { 6, 5 }, { 41, 9 }, { 10, 43 }, { 45, 46 },
                                  { 26, 27 }, { 7, 25 }, { 47, 27 }, { 27, 4 } };

  for (gsize i = 0; i < N; i++)
    {
      float g = (float) g_rand_double_range (rand, 0.25, 0.75);

      planes[i] = planes[N + i] = planes[2 * N + i] = g;
      labels[i] = 0;
      red[i] = 0;
    }
  for (guint s = 0; s < 8; s++)
    for (guint y = at[s][1]; y < at[s][1] + 12; y++)
      for (guint x = at[s][0]; x < at[s][0] + 12; x++)
        {
          gsize i = (gsize) y * W + x;
          float n = (float) g_rand_double_range (rand, -0.05, 0.05);

          planes[i] = (s < 4 ? 0.85f : 0.55f) + n;
          planes[N + i] = (s < 4 ? 0.15f : 0.55f) + n;
          planes[2 * N + i] = (s < 4 ? 0.15f : 0.55f) + n;
          labels[i] = red[i] = s < 4;
        }
  g_rand_free (rand);
}

static void
test_probabilities (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  g_autofree float *planes = g_new (float, 3 * N), *labels = g_new (float, N);
  g_autofree float *red = g_new (float, N), *mask = g_new (float, N);
  g_autofree float *classes = g_new (float, N), *confidence = g_new (float, N);
  g_autofree float *probs = g_new (float, 2 * N), *plain = g_new (float, N);
  g_autofree float *entropy = g_new (float, N);
  LoomSegmentImage image = { planes, NULL, W, H, mask };
  GError *error = NULL;
  LoomWeights *w;

  red_squares (planes, labels, red);
  w = train (cpu, planes, labels, 20);
  for (gsize i = 0; i < N; i++)
    mask[i] = i % W < 56 ? 1.0f : 0.0f;
  /* tiles of 32: the blended probabilities of several tiles */
  g_assert_true (loom_segment_predict_probabilities (cpu, w, &image, 32, classes, confidence,
                                                     probs, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (loom_segment_predict (cpu, w, &image, 32, plain, NULL, NULL, NULL, NULL, &error));
  loom_segment_entropy (probs, 2, N, entropy);
  for (gsize i = 0; i < N; i++)
    {
      float p0 = probs[i], p1 = probs[N + i];

      g_assert_cmpfloat (plain[i], ==, classes[i]);
      if (mask[i] < 0.5f)
        {
          g_assert_cmpfloat (p0 + p1, ==, 0.0f);
          g_assert_cmpfloat (entropy[i], ==, 0.0f);
          continue;
        }
      g_assert_cmpfloat (fabsf (p0 + p1 - 1.0f), <, 1e-5f);
      g_assert_cmpfloat (classes[i], ==, p1 > p0 ? 1.0f : 0.0f);
      g_assert_cmpfloat (confidence[i], ==, MAX (p0, p1));
      /* two classes: the binary entropy in bits */
      g_assert_cmpfloat (fabs (entropy[i] - (p0 > 0 && p1 > 0
                                             ? -(p0 * log2 (p0) + p1 * log2 (p1)) : 0.0)),
                         <, 1e-4);
    }
  loom_weights_free (w);
  loom_device_free (cpu);
}

/* The same weights on Vulkan (lavapipe in CI): the same probabilities,
 * and an occlusion map that agrees with the CPU's. */
static void
test_vulkan (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL), *vk = test_open_vulkan ();
  g_autofree float *planes = g_new (float, 3 * N), *labels = g_new (float, N);
  g_autofree float *red = g_new (float, N), *region = g_new0 (float, N);
  g_autofree float *pc = g_new (float, 2 * N), *pv = g_new (float, 2 * N);
  g_autofree float *ec = g_new (float, N), *ev = g_new (float, N);
  LoomSegmentImage image = { planes, NULL, W, H, NULL };
  GError *error = NULL;
  LoomWeights *w;
  float worst = 0, top = 0;

  if (vk == NULL)
    {
      loom_device_free (cpu);
      return;
    }
  red_squares (planes, labels, red);
  w = train (cpu, planes, labels, 20);
  g_assert_true (loom_segment_predict_probabilities (cpu, w, &image, 32, NULL, NULL, pc, NULL,
                                                     NULL, NULL, &error));
  g_assert_true (loom_segment_predict_probabilities (vk, w, &image, 32, NULL, NULL, pv, NULL,
                                                     NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < 2 * N; i++)
    worst = MAX (worst, fabsf (pc[i] - pv[i]));
  g_test_message ("largest probability difference CPU/Vulkan %.2g", worst);
  g_assert_cmpfloat (worst, <, 1e-3f);
  for (guint y = 9; y < 21; y++)
    for (guint x = 41; x < 53; x++)
      region[y * W + x] = 1;
  g_assert_true (loom_segment_evidence (cpu, w, &image, region, 1, 8, ec, NULL, NULL, NULL, &error));
  g_assert_true (loom_segment_evidence (vk, w, &image, region, 1, 8, ev, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  worst = 0;
  for (gsize i = 0; i < N; i++)
    worst = MAX (worst, fabsf (ec[i] - ev[i])), top = MAX (top, ec[i]);
  g_assert_cmpfloat (top, >, 0);
  g_assert_cmpfloat (worst, <, 1e-3f);
  loom_weights_free (w);
  loom_device_free (vk);
  loom_device_free (cpu);
}

static void
test_entropy (void)
{
  /* three classes, four pixels: sure, alike, two of three, masked */
  const float p[3 * 4] = { 1, 1.0f / 3, 0.5f, 0,
                           0, 1.0f / 3, 0.5f, 0,
                           0, 1.0f / 3, 0,    0 };
  float e[4];

  loom_segment_entropy (p, 3, 4, e);
  g_assert_cmpfloat (e[0], ==, 0.0f);
  g_assert_cmpfloat (fabsf (e[1] - 1.0f), <, 1e-6f);
  g_assert_cmpfloat (fabs (e[2] - log (2.0) / log (3.0)), <, 1e-6);
  g_assert_cmpfloat (e[3], ==, 0.0f);
}

static void
test_paint_next (void)
{
  g_autofree float *u = g_new0 (float, 100 * 60);
  g_autoptr (GArray) r = NULL;
  g_autofree guint8 *rgba = g_new0 (guint8, 4 * 100 * 60);
  const LoomSegmentRegion *a, *b;

  /* a hot square at (20..30, 10..20), a warmer one at (70..80, 40..50),
   * its neighbour warm too; a faint wash below the threshold elsewhere */
  for (guint y = 0; y < 60; y++)
    for (guint x = 0; x < 100; x++)
      {
        float *v = &u[y * 100 + x];

        *v = 0.02f;
        if (x >= 20 && x < 30 && y >= 10 && y < 20)
          *v = 0.7f;
        if (x >= 70 && x < 80 && y >= 40 && y < 50)
          *v = 0.9f;
        if (x >= 80 && x < 90 && y >= 40 && y < 50)
          *v = 0.8f;
      }
  r = loom_segment_paint_next (u, 100, 60, 5, 10);
  /* the warmer, then the hot one; the neighbour touches the first */
  g_assert_cmpuint (r->len, ==, 2);
  a = &g_array_index (r, LoomSegmentRegion, 0);
  b = &g_array_index (r, LoomSegmentRegion, 1);
  g_assert_cmpuint (a->x, ==, 70);
  g_assert_cmpuint (a->y, ==, 40);
  g_assert_cmpuint (a->width, ==, 10);
  g_assert_cmpfloat (fabsf (a->score - 0.9f), <, 1e-5f);
  g_assert_cmpuint (b->x, ==, 20);
  g_assert_cmpuint (b->y, ==, 10);
  /* marked: the outline opaque magenta, the inside translucent, the
   * rest untouched */
  loom_segment_mark_regions (r, rgba, 100, 60, 400);
  g_assert_cmpuint (rgba[4 * (40 * 100 + 70) + 3], ==, 255);
  g_assert_cmpuint (rgba[4 * (40 * 100 + 70) + 0], ==, 255);
  g_assert_cmpuint (rgba[4 * (40 * 100 + 70) + 1], ==, 0);
  g_assert_cmpuint (rgba[4 * (45 * 100 + 75) + 3], ==, 64);
  g_assert_cmpuint (rgba[4 * (45 * 100 + 85) + 3], ==, 0);
  g_array_unref (r);
  /* one region asked for; a smaller image than a block */
  r = loom_segment_paint_next (u, 100, 60, 1, 10);
  g_assert_cmpuint (r->len, ==, 1);
  g_array_unref (r);
  /* blocks of 16 over 100 × 60: the last column and row whole, flush with
   * the edges (x 84, y 44), not slivers */
  r = loom_segment_paint_next (u, 100, 60, 5, 16);
  for (guint i = 0; i < r->len; i++)
    {
      a = &g_array_index (r, LoomSegmentRegion, i);
      g_assert_cmpuint (a->width, ==, 16);
      g_assert_cmpuint (a->height, ==, 16);
      g_assert_cmpuint (a->x % 16 == 0 || a->x == 84, ==, TRUE);
      g_assert_cmpuint (a->y % 16 == 0 || a->y == 44, ==, TRUE);
    }
  g_assert_cmpuint (r->len, >=, 2);
  g_array_unref (r);
  r = loom_segment_paint_next (u, 5, 3, 5, 0);
  g_assert_cmpuint (r->len, ==, 0);
}

static void
test_evidence_colour (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  g_autofree float *planes = g_new (float, 3 * N), *labels = g_new (float, N);
  g_autofree float *red = g_new (float, N), *region = g_new0 (float, N);
  g_autofree float *evidence = g_new (float, N), *classes = g_new (float, N);
  LoomSegmentImage image = { planes, NULL, W, H, NULL };
  GError *error = NULL;
  LoomWeights *w;
  double on_red = 0, total = 0, right = 0;

  red_squares (planes, labels, red);
  w = train (cpu, planes, labels, 150);
  g_assert_true (loom_segment_predict (cpu, w, &image, 0, classes, NULL, NULL, NULL, NULL, &error));
  for (gsize i = 0; i < N; i++)
    right += classes[i] == labels[i];
  g_test_message ("accuracy %.3f", right / N);
  g_assert_cmpfloat (right / N, >, 0.97);
  /* the red square at (41, 9) */
  for (guint y = 9; y < 21; y++)
    for (guint x = 41; x < 53; x++)
      region[y * W + x] = 1;
  g_assert_true (loom_segment_evidence (cpu, w, &image, region, 1, 0, evidence, NULL, NULL,
                                        NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < N; i++)
    {
      g_assert_cmpfloat (evidence[i], >=, 0.0f);
      total += evidence[i];
      on_red += red[i] > 0 ? evidence[i] : 0;
    }
  g_test_message ("evidence on red pixels: %.1f %% of %.2f", 100 * on_red / total, total);
  g_assert_cmpfloat (total, >, 0.0);
  g_assert_cmpfloat (on_red / total, >, 0.8);

  /* bad input: a class the model lacks, a region of no pixel */
  g_assert_false (loom_segment_evidence (cpu, w, &image, region, 2, 0, evidence, NULL, NULL,
                                         NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "classes 0 to 1"));
  g_clear_error (&error);
  memset (region, 0, N * sizeof (float));
  g_assert_false (loom_segment_evidence (cpu, w, &image, region, 1, 0, evidence, NULL, NULL,
                                         NULL, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_weights_free (w);
  loom_device_free (cpu);
}

/* Red left, blue right, each painted its class, but a band of twelve
 * columns over the edge painted both ways, row by row. */
static void
test_conflict (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  g_autofree float *planes = g_new (float, 3 * N), *labels = g_new (float, N);
  g_autofree float *probs = g_new (float, 2 * N), *u = g_new (float, N);
  GRand *rand = g_rand_new_with_seed (8);
  LoomSegmentImage image = { planes, NULL, W, H, NULL };
  GError *error = NULL;
  LoomWeights *w;
  double band = 0, rest = 0;
  guint n_band = 0, n_rest = 0;

  for (guint y = 0; y < H; y++)
    for (guint x = 0; x < W; x++)
      {
        gsize i = (gsize) y * W + x;
        float n = (float) g_rand_double_range (rand, -0.1, 0.1);
        gboolean left = x < W / 2;

        planes[i] = (left ? 0.8f : 0.2f) + n;
        planes[N + i] = 0.3f + n;
        planes[2 * N + i] = (left ? 0.2f : 0.8f) + n;
        labels[i] = LOOM_UNLABELLED;
        if (x >= W / 2 - 6 && x < W / 2 + 6)
          labels[i] = (float) (y % 2);
        else
          labels[i] = left ? 0 : 1;
      }
  g_rand_free (rand);
  w = train (cpu, planes, labels, 150);
  g_assert_true (loom_segment_predict_probabilities (cpu, w, &image, 0, NULL, NULL, probs, NULL,
                                                     NULL, NULL, &error));
  g_assert_no_error (error);
  loom_segment_entropy (probs, 2, N, u);
  for (guint y = 0; y < H; y++)
    for (guint x = 0; x < W; x++)
      if (x >= W / 2 - 6 && x < W / 2 + 6)
        band += u[y * W + x], n_band++;
      else
        rest += u[y * W + x], n_rest++;
  band /= n_band;
  rest /= n_rest;
  g_test_message ("mean uncertainty: %.3f in the conflicting band, %.3f elsewhere", band, rest);
  g_assert_cmpfloat (band, >, 2 * rest);
  /* and paint-here-next's first square lies on the band */
  {
    g_autoptr (GArray) r = loom_segment_paint_next (u, W, H, 3, 8);
    const LoomSegmentRegion *first;

    g_assert_cmpuint (r->len, >=, 1);
    first = &g_array_index (r, LoomSegmentRegion, 0);
    g_assert_cmpuint (first->x + first->width, >, W / 2 - 6);
    g_assert_cmpuint (first->x, <, W / 2 + 6);
  }
  loom_weights_free (w);
  loom_device_free (cpu);
}

static void
test_find_class (void)
{
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  const char *names[] = { "sky", "Tree", NULL };

  g_array_append_val (colors, ((LoomColor) { 255, 0, 0 }));
  g_array_append_val (colors, ((LoomColor) { 0, 128, 255 }));
  g_assert_cmpint (loom_segment_find_class (colors, names, "1"), ==, 1);
  g_assert_cmpint (loom_segment_find_class (colors, names, "2"), ==, -1);
  g_assert_cmpint (loom_segment_find_class (colors, names, "#0080FF"), ==, 1);
  g_assert_cmpint (loom_segment_find_class (colors, names, "#00ff00"), ==, -1);
  g_assert_cmpint (loom_segment_find_class (colors, names, "#ff00"), ==, -1);
  g_assert_cmpint (loom_segment_find_class (colors, names, "tree"), ==, 1);
  g_assert_cmpint (loom_segment_find_class (colors, NULL, "sky"), ==, -1);
}

static void
test_region_class (void)
{
  const float classes[6] = { 0, 1, 1, 2, LOOM_UNLABELLED, 0 };
  const float region[6] = { 1, 1, 1, 0, 1, 0.4f };
  const float none[6] = { 0, 0, 0, 0, 1, 0 };

  g_assert_cmpint (loom_segment_region_class (classes, region, 6, 3), ==, 1);
  g_assert_cmpint (loom_segment_region_class (classes, NULL, 6, 3), ==, 0);   /* ties: the first */
  g_assert_cmpint (loom_segment_region_class (classes, none, 6, 3), ==, -1);
  g_assert_cmpint (loom_segment_region_class (classes, region, 6, 1), ==, 0); /* 1 and 2 unknown */
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/explain/probabilities", test_probabilities);
  g_test_add_func ("/explain/entropy", test_entropy);
  g_test_add_func ("/explain/vulkan", test_vulkan);
  g_test_add_func ("/explain/paint-next", test_paint_next);
  g_test_add_func ("/explain/evidence-colour", test_evidence_colour);
  g_test_add_func ("/explain/conflict", test_conflict);
  g_test_add_func ("/explain/find-class", test_find_class);
  g_test_add_func ("/explain/region-class", test_region_class);
  return g_test_run ();
}
