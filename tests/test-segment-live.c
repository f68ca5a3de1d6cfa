/* Live training (LoomSegmentConfig's refresh): new labels handed to a
 * running loom_segment_train are trained on from then on, with the device's
 * crops and the host's; the weights so far are there to predict with; a
 * new class grows the head; labels with nothing painted are refused with
 * a clear error. */
#include <string.h>

#include <loom/loom-segment.h>
#include "test-util.h"

#define W 96
#define H 64

/* Three bands across: A (x < 32), B, C (x ≥ 64), each its own colour and
 * texture.  The first labels paint A and B as class 0 and C as class 1;
 * the later ones paint B as class 1 (the user corrects a mistake). */
typedef struct
{
  float planes[3 * W * H];
  float first[W * H], later[W * H];
} Bands;

static guint
band (guint x)
{
  return x < 32 ? 0 : x < 64 ? 1 : 2;
}

static void
bands (Bands *b)
{
  static const float colour[3][3] = { { 0.2f, 0.3f, 0.7f }, { 0.8f, 0.7f, 0.2f },
                                      { 0.3f, 0.8f, 0.3f } };
  GRand *rand = g_rand_new_with_seed (7);

  for (guint y = 0; y < H; y++)
    for (guint x = 0; x < W; x++)
      {
        gsize at = (gsize) y * W + x;
        guint k = band (x);
        /* strokes: every eighth row, the middle of each band */
        gboolean painted = y % 8 == 4 && x % 32 >= 8 && x % 32 < 24;

        for (guint c = 0; c < 3; c++)
          b->planes[c * W * H + at] = colour[k][c]
                                      + (float) g_rand_double_range (rand, -0.1, 0.1);
        b->first[at] = painted ? (k == 2 ? 1.0f : 0.0f) : LOOM_UNLABELLED;
        b->later[at] = painted ? (k == 0 ? 0.0f : 1.0f) : LOOM_UNLABELLED;
      }
  g_rand_free (rand);
}

typedef struct
{
  const Bands *bands;
  const float *hand;            /* labels to hand over at the first call past step 10 */
  guint        calls, handed_at, predicted;
  LoomDevice  *device;
} Live;

static gboolean
on_refresh (guint steps, LoomWeights *current, const float **labels, guint n_images,
            gpointer data, GError **error)
{
  Live *live = data;
  LoomUNetConfig unet;

  g_assert_cmpuint (n_images, ==, 1);
  g_assert_null (labels[0]);
  g_assert_true (loom_unet_config_from_weights (current, &unet, NULL));
  g_assert_cmpuint (unet.classes, ==, 2);
  live->calls++;
  if (steps >= 10 && live->handed_at == 0)
    {
      labels[0] = live->hand;
      live->handed_at = steps;
    }
  /* The weights so far predict (a preview), once. */
  if (steps == 20)
    {
      g_autofree float *classes = g_new (float, W * H);

      g_assert_true (loom_segment_predict (live->device, current,
                                           &(LoomSegmentImage) { live->bands->planes, NULL, W,
                                                                 H, NULL },
                                           0, classes, NULL, NULL, NULL, NULL, error));
      live->predicted++;
    }
  return TRUE;
}

static void
config (LoomSegmentConfig *c)
{
  loom_segment_config_init (c, 2);
  c->unet.depth = 2;
  c->unet.base = 8;
  c->crop = 32;
  c->batch = 4;
  c->steps = 80;
  c->seed = 3;
}

/* The share of band B predicted CLASS. */
static double
band_b (LoomDevice *device, LoomWeights *w, const Bands *b, float class)
{
  g_autofree float *classes = g_new (float, W * H);
  guint hits = 0;
  GError *error = NULL;

  g_assert_true (loom_segment_predict (device, w,
                                       &(LoomSegmentImage) { b->planes, NULL, W, H, NULL },
                                       0, classes, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint y = 0; y < H; y++)
    for (guint x = 32; x < 64; x++)
      hits += classes[(gsize) y * W + x] == class;
  return (double) hits / (32.0 * H);
}

static void
test_refresh (gconstpointer host)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Bands *b = g_new (Bands, 1);
  LoomSegmentConfig c;
  Live live = { .bands = b, .device = cpu };
  LoomWeights *with, *without;
  GError *error = NULL;
  double flipped, kept;

  bands (b);
  live.hand = b->later;
  config (&c);
  c.host_crops = GPOINTER_TO_INT (host);
  /* Without a refresh, B stays what the first labels say. */
  without = loom_segment_train (cpu, &c, &(LoomSegmentImage) { b->planes, b->first, W, H, NULL },
                                1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  c.refresh = on_refresh;
  c.refresh_seconds = 0;
  c.refresh_data = &live;
  with = loom_segment_train (cpu, &c, &(LoomSegmentImage) { b->planes, b->first, W, H, NULL },
                             1, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (with);
  g_assert_cmpuint (live.calls, ==, 80);
  g_assert_cmpuint (live.handed_at, ==, 10);
  g_assert_cmpuint (live.predicted, ==, 1);
  kept = band_b (cpu, without, b, 0.0f);
  flipped = band_b (cpu, with, b, 1.0f);
  g_test_message ("band B: %.3f class 0 without the refresh, %.3f class 1 with it", kept,
                  flipped);
  g_assert_cmpfloat (kept, >, 0.9);
  g_assert_cmpfloat (flipped, >, 0.9);
  /* The provenance counts the labels trained on last. */
  g_assert_nonnull (strstr (loom_weights_get_metadata (with, LOOM_METADATA_PROVENANCE),
                            "\"steps\":80"));
  loom_weights_free (with);
  loom_weights_free (without);
  g_free (b);
  loom_device_free (cpu);
}

/* A class past the model's grows the head: the known classes' rows go on
 * as they were (learning rate 0: exactly), the new class is learnt where
 * it was painted, and the class table grows with the caller's colour. */
typedef struct
{
  Live        live;
  GArray     *colors;
  LoomWeights *before;          /* the weights at the hand-over */
} Grow;

static gboolean
on_grow (guint steps, LoomWeights *current, const float **labels, guint n_images,
         gpointer data, GError **error)
{
  Grow *g = data;
  LoomUNetConfig unet;

  g_assert_true (loom_unet_config_from_weights (current, &unet, NULL));
  g_assert_cmpuint (unet.classes, ==, g->live.handed_at == 0 ? 2 : 3);
  g->live.calls++;
  if (steps >= 10 && g->live.handed_at == 0)
    {
      LoomColor third = { 200, 30, 200 };

      labels[0] = g->live.hand;
      g->live.handed_at = steps;
      g_array_append_val (g->colors, third);
      /* The weights as they were, to compare with after. */
      g->before = loom_weights_new ();
      for (const char *const *name = loom_weights_get_names (current); *name != NULL; name++)
        {
          guint n_dims;
          const guint64 *shape;
          const float *v = loom_weights_lookup (current, *name, &n_dims, &shape);

          g_assert_true (loom_weights_add (g->before, *name, n_dims, shape, v, NULL));
        }
    }
  return TRUE;
}

static void
test_new_class_grows (gconstpointer zero_rate)
{
  static const char *const names[] = { "left", "right", NULL };
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Bands *b = g_new (Bands, 1);
  g_autofree float *three = g_new (float, W * H);
  g_autoptr (GArray) colors = g_array_new (FALSE, FALSE, sizeof (LoomColor));
  g_auto (GStrv) got_names = NULL;
  g_autoptr (GArray) got = NULL;
  LoomColor two[] = { { 30, 60, 200 }, { 220, 40, 30 } };
  LoomSegmentConfig c;
  Grow grow = { .live = { .bands = b, .device = cpu }, .colors = colors };
  LoomUNetConfig unet;
  LoomWeights *w;
  GError *error = NULL;
  guint compared = 0;

  bands (b);
  g_array_append_vals (colors, two, 2);
  memcpy (three, b->first, sizeof b->first);
  for (gsize i = 0; i < W * H; i++)
    if (band (i % W) == 1 && three[i] >= 0)
      three[i] = 2.0f;
  grow.live.hand = three;
  config (&c);
  /* A class that must be told apart from one it was trained as takes
   * longer than the 70 steps a relabelling does: Adam starts afresh. */
  c.steps = 160;
  if (GPOINTER_TO_INT (zero_rate))
    {
      c.steps = 15;
      c.learning_rate = 0.0f;
    }
  c.colors = colors;
  c.names = names;
  c.refresh = on_grow;
  c.refresh_data = &grow;
  w = loom_segment_train (cpu, &c, &(LoomSegmentImage) { b->planes, b->first, W, H, NULL }, 1,
                          NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (grow.live.handed_at, ==, 10);
  g_assert_true (loom_unet_config_from_weights (w, &unet, &error));
  g_assert_cmpuint (unet.classes, ==, 3);
  got = loom_segment_get_classes (w, &got_names, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->len, ==, 3);
  g_assert_cmpstr (got_names[1], ==, "right");
  g_assert_cmpstr (got_names[2], ==, "class 3");
  if (GPOINTER_TO_INT (zero_rate))
    /* Nothing moved but the new rows of the head (and the running
     * statistics, which move whatever the rate). */
    for (const char *const *name = loom_weights_get_names (w); *name != NULL; name++)
      {
        guint n_dims, was_dims;
        const guint64 *shape, *was_shape;
        const float *now = loom_weights_lookup (w, *name, &n_dims, &shape);
        const float *was = loom_weights_lookup (grow.before, *name, &was_dims, &was_shape);
        guint64 n = 1;

        if (strstr (*name, "running") != NULL || strstr (*name, "num_batches") != NULL)
          continue;
        /* Phase one's head is fitted again on the new strokes, three classes now. */
        if (g_str_equal (*name, "pixel.fc3.weight"))
          g_assert_cmpuint (shape[0], ==, 3);
        if (g_str_has_prefix (*name, "pixel."))
          continue;
        g_assert_nonnull (was);
        for (guint d = 1; d < n_dims; d++)
          n *= shape[d];
        n *= g_str_has_prefix (*name, "head.") ? 2 : shape[0];
        if (g_str_has_prefix (*name, "head."))
          g_assert_cmpuint (shape[0], ==, 3);
        g_assert_cmpmem (now, n * sizeof (float), was, n * sizeof (float));
        compared++;
      }
  else
    {
      double share = band_b (cpu, w, b, 2.0f);
      g_test_message ("band B: %.3f the new class, %.3f class 0, %.3f class 1", share,
                      band_b (cpu, w, b, 0.0f), band_b (cpu, w, b, 1.0f));
      g_assert_cmpfloat (share, >, 0.9);
    }
  g_assert_true (!GPOINTER_TO_INT (zero_rate) || compared > 10);
  loom_weights_free (grow.before);
  loom_weights_free (w);
  g_free (b);
  loom_device_free (cpu);
}

/* Labels with nothing painted: refused, the training stops with the
 * reason. */
static void
test_nothing_painted_refused (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Bands *b = g_new (Bands, 1);
  g_autofree float *none = g_new (float, W * H);
  LoomSegmentConfig c;
  Live live = { .bands = b, .device = cpu };
  LoomWeights *w;
  GError *error = NULL;

  bands (b);
  for (gsize i = 0; i < W * H; i++)
    none[i] = LOOM_UNLABELLED;
  live.hand = none;
  config (&c);
  c.steps = 15;
  c.refresh = on_refresh;
  c.refresh_data = &live;
  w = loom_segment_train (cpu, &c, &(LoomSegmentImage) { b->planes, b->first, W, H, NULL }, 1,
                          NULL, NULL, NULL, NULL, &error);
  g_assert_null (w);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "the new labels"));
  g_assert_nonnull (strstr (error->message, "no labelled pixels"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (live.handed_at, ==, 10);
  g_free (b);
  loom_device_free (cpu);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_data_func ("/segment-live/refresh", GINT_TO_POINTER (FALSE), test_refresh);
  g_test_add_data_func ("/segment-live/refresh-host-crops", GINT_TO_POINTER (TRUE),
                        test_refresh);
  g_test_add_data_func ("/segment-live/new-class-grows", GINT_TO_POINTER (FALSE),
                        test_new_class_grows);
  g_test_add_data_func ("/segment-live/new-class-keeps-the-known-rows", GINT_TO_POINTER (TRUE),
                        test_new_class_grows);
  g_test_add_func ("/segment-live/nothing-painted-refused", test_nothing_painted_refused);
  return g_test_run ();
}
