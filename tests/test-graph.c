/* The static graph's own behaviour: malformed graphs give errors that name
 * the layer and the shapes, memory is shared between tensors that are
 * never alive together, and a binding past the device's storage range is
 * an error, not a wrong answer.  (Training against PyTorch is
 * tests/torch-graph.py.) */
#include <math.h>
#include <string.h>

#include <loom/loom-graph.h>
#include "vulkan/vk-internal.h"
#include "test-util.h"

static void
assert_compile_fails (LoomGraph *g, const char *part1, const char *part2)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  GError *error = NULL;

  g_assert_false (loom_graph_compile (g, cpu, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, part1) == NULL || strstr (error->message, part2) == NULL)
    g_error ("'%s' does not name '%s' and '%s'", error->message, part1, part2);
  g_error_free (error);
  loom_device_free (cpu);
  loom_graph_free (g);
}

static void
test_malformed (void)
{
  LoomGraph *g;
  LoomConv2d conv = { .pad_h = 5, .pad_w = 5, .pad_mode = LOOM_PAD_REFLECT };
  GError *error = NULL;

  /* A weight of the wrong width, and everything built on it. */
  g = loom_graph_new ();
  {
    LoomTensor *x = loom_graph_input (g, "x", 4, 8, 1, 1);
    LoomTensor *w = loom_graph_parameter (g, "w", 3, 7, 1, 1);
    LoomTensor *y = loom_graph_linear (g, x, w, NULL);

    g_assert_null (y);
    g_assert_null (loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0, y));
  }
  assert_compile_fails (g, "linear", "4×8×1×1");

  /* Channels that do not match. */
  g = loom_graph_new ();
  loom_graph_conv2d (g, loom_graph_input (g, "x", 1, 3, 8, 8),
                     loom_graph_parameter (g, "w", 4, 2, 3, 3), NULL, &conv);
  assert_compile_fails (g, "conv2d", "4×2×3×3");

  /* Reflect padding as large as the image. */
  g = loom_graph_new ();
  loom_graph_conv2d (g, loom_graph_input (g, "x", 1, 3, 5, 5),
                     loom_graph_parameter (g, "w", 4, 3, 3, 3), NULL, &conv);
  assert_compile_fails (g, "conv2d", "reflect");

  g = loom_graph_new ();
  loom_graph_mse_loss (g, loom_graph_input (g, "y", 2, 3, 1, 1), loom_graph_input (g, "t", 2, 4, 1, 1));
  assert_compile_fails (g, "mse_loss", "2×4×1×1");

  /* Shapes that do not broadcast, a reshape that changes the size, a slice
   * past the channels. */
  g = loom_graph_new ();
  loom_graph_add (g, loom_graph_input (g, "a", 2, 3, 4, 4), loom_graph_input (g, "b", 2, 2, 1, 1));
  assert_compile_fails (g, "add", "2×2×1×1");
  g = loom_graph_new ();
  loom_graph_reshape (g, loom_graph_input (g, "a", 2, 3, 4, 4), 2, 3, 4, 3);
  assert_compile_fails (g, "reshape", "2×3×4×4");
  g = loom_graph_new ();
  loom_graph_slice_channels (g, loom_graph_input (g, "a", 2, 3, 4, 4), 2, 2);
  assert_compile_fails (g, "slice_channels", "2×3×4×4");

  /* Training from something that is not a loss. */
  g = loom_graph_new ();
  {
    LoomTensor *x = loom_graph_input (g, "x", 2, 3, 1, 1);

    g_assert_false (loom_graph_train_sgd (g, loom_graph_activation (g, 0, 0, x), 0.1f, 0, &error));
    g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  loom_graph_free (g);
}

/* Ten layers in a row: the planner must reuse memory, and the result must
 * still be right. */
static void
test_memory_reuse (void)
{
  LoomGraph *g = loom_graph_new ();
  LoomTensor *x = loom_graph_input (g, "x", 1, 1, 1, 4096);
  LoomTensor *t = loom_graph_input (g, "t", 1, 1, 1, 4096);
  LoomTensor *h = x, *loss;
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  float *data = g_new (float, 4096), *zeros = g_new0 (float, 4096), value;
  GError *error = NULL;

  for (int i = 0; i < 10; i++)
    h = loom_graph_activation (g, LOOM_ACTIVATION_LEAKY_RELU, 0.5f, h);
  loss = loom_graph_mse_loss (g, h, t);
  g_assert_true (loom_graph_compile (g, cpu, &error));
  g_assert_no_error (error);
  /* 10 activations + x, t, diff, square: far fewer than 14 buffers' worth. */
  g_assert_cmpuint (loom_graph_get_memory (g), <, 7 * 4096);
  for (int i = 0; i < 4096; i++)
    data[i] = -1.0f;
  g_assert_true (loom_graph_write (g, x, data, &error));
  g_assert_true (loom_graph_write (g, t, zeros, &error));
  g_assert_true (loom_graph_run (g, &error));
  g_assert_true (loom_graph_read (g, loss, &value, &error));
  g_assert_no_error (error);
  /* (-0.5^10)² */
  g_assert_cmpfloat_with_epsilon (value, 1.0f / (1 << 20), 1e-12);
  loom_graph_free (g);
  loom_device_free (cpu);
  g_free (data);
  g_free (zeros);
}

/* An intermediate whose memory later steps reuse cannot be read after the
 * run (an error, not stale data) unless kept. */
static void
test_read_overwritten (void)
{
  for (int keep = 0; keep < 2; keep++)
    {
      LoomDevice *cpu = loom_device_open ("cpu", NULL);
      LoomGraph *g = loom_graph_new ();
      LoomTensor *x = loom_graph_input (g, "x", 1, 1, 1, 1000), *h, *first;
      float data[1000];
      GError *error = NULL;

      h = first = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0, x);
      for (int i = 0; i < 6; i++)
        h = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0, h);
      if (keep)
        loom_graph_keep (g, first);
      for (int i = 0; i < 1000; i++)
        data[i] = i / 1000.0f;
      g_assert_true (loom_graph_compile (g, cpu, &error));
      g_assert_true (loom_graph_write (g, x, data, &error) && loom_graph_run (g, &error));
      g_assert_true (loom_graph_read (g, h, data, &error));      /* the last: fine */
      g_assert_no_error (error);
      if (keep)
        {
          g_assert_true (loom_graph_read (g, first, data, &error));
          g_assert_cmpfloat_with_epsilon (data[500], tanhf (0.5f), 1e-6);
        }
      else
        {
          g_assert_false (loom_graph_read (g, first, data, &error));
          g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
          g_assert_nonnull (strstr (error->message, "loom_graph_keep"));
          g_clear_error (&error);
        }
      loom_graph_free (g);
      loom_device_free (cpu);
    }
}

/* x (4×3) → linear 3→2 → tanh → linear 2→2 → MSE, weights from a seed. */
typedef struct
{
  LoomGraph  *graph;
  LoomTensor *x, *t, *w1, *w2;
} Tiny;

static void
tiny_init (Tiny *m, LoomDevice *device, float lr, gboolean freeze_w1)
{
  static const float x[] = { 0.1f, -0.4f, 0.9f, 0.3f, 0.5f, -0.8f, -0.2f, 0.7f, 0.05f, 0.6f, -0.3f, 0.2f };
  static const float t[] = { 0.5f, -0.5f, 0.2f, 0.1f, -0.3f, 0.4f, 0.0f, 0.9f };
  static const float w1[] = { 0.3f, -0.2f, 0.5f, 0.1f, 0.4f, -0.6f };
  static const float w2[] = { -0.7f, 0.2f, 0.6f, 0.3f };
  LoomGraph *g = m->graph = loom_graph_new ();
  GError *error = NULL;
  LoomTensor *h;

  m->x = loom_graph_input (g, "x", 4, 3, 1, 1);
  m->t = loom_graph_input (g, "t", 4, 2, 1, 1);
  m->w1 = loom_graph_parameter (g, "w1", 2, 3, 1, 1);
  m->w2 = loom_graph_parameter (g, "w2", 2, 2, 1, 1);
  h = loom_graph_activation (g, LOOM_ACTIVATION_TANH, 0, loom_graph_linear (g, m->x, m->w1, NULL));
  if (freeze_w1)
    loom_tensor_set_frozen (m->w1, TRUE);
  g_assert_true (loom_graph_train_sgd (g, loom_graph_mse_loss (g, loom_graph_linear (g, h, m->w2, NULL), m->t),
                                       lr, 0.0f, &error));
  g_assert_true (loom_graph_compile (g, device, &error));
  g_assert_true (loom_graph_write (g, m->x, x, &error) && loom_graph_write (g, m->t, t, &error));
  g_assert_true (loom_graph_write (g, m->w1, w1, &error) && loom_graph_write (g, m->w2, w2, &error));
  g_assert_no_error (error);
}

static void
assert_same (Tiny *a, Tiny *b, LoomTensor *ta, LoomTensor *tb)
{
  float va[6], vb[6];
  GError *error = NULL;

  g_assert_true (loom_graph_read (a->graph, ta, va, &error));
  g_assert_true (loom_graph_read (b->graph, tb, vb, &error));
  for (gsize i = 0; i < loom_tensor_get_length (ta); i++)
    g_assert_cmpfloat_with_epsilon (va[i], vb[i], 1e-6);
}

static void
test_frozen (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Tiny frozen, before;
  GError *error = NULL;
  float w2a[4], w2b[4];

  tiny_init (&frozen, cpu, 0.5f, TRUE);
  tiny_init (&before, cpu, 0.5f, FALSE);        /* never run: the initial weights */
  g_assert_null (loom_tensor_get_grad (frozen.w1));
  g_assert_nonnull (loom_tensor_get_grad (frozen.w2));
  g_assert_true (loom_graph_run (frozen.graph, &error));
  g_assert_no_error (error);
  assert_same (&frozen, &before, frozen.w1, before.w1);    /* untouched */
  loom_graph_read (frozen.graph, frozen.w2, w2a, NULL);
  loom_graph_read (before.graph, before.w2, w2b, NULL);
  g_assert_cmpfloat (fabsf (w2a[0] - w2b[0]) + fabsf (w2a[3] - w2b[3]), >, 1e-4);  /* trained */
  loom_graph_free (frozen.graph);
  loom_graph_free (before.graph);
  loom_device_free (cpu);
}

/* Two micro-batches of the same data at rate r make one step at rate 2r;
 * then the accumulators are empty again. */
static void
test_accumulation (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  Tiny a, b;
  GError *error = NULL;

  tiny_init (&a, cpu, 0.1f, FALSE);
  tiny_init (&b, cpu, 0.2f, FALSE);
  g_assert_true (loom_graph_run_accumulate (a.graph, &error));
  g_assert_true (loom_graph_run (a.graph, &error));
  g_assert_true (loom_graph_run (b.graph, &error));
  g_assert_no_error (error);
  assert_same (&a, &b, a.w1, b.w1);
  assert_same (&a, &b, a.w2, b.w2);
  loom_graph_set_learning_rate (b.graph, 0.1f);
  g_assert_true (loom_graph_run (a.graph, &error));
  g_assert_true (loom_graph_run (b.graph, &error));
  assert_same (&a, &b, a.w1, b.w1);
  assert_same (&a, &b, a.w2, b.w2);
  loom_graph_free (a.graph);
  loom_graph_free (b.graph);
  loom_device_free (cpu);
}

/* On Vulkan a graph's step is recorded once, at its first run, and
 * re-submitted after: later runs record nothing, a new learning rate still
 * reaches the recorded update, and the results are the CPU backend's — also
 * through the staging path of discrete GPUs. */
static void
test_recorded_once (void)
{
  for (int staging = 0; staging < 2; staging++)
    {
      LoomDevice *cpu = loom_device_open ("cpu", NULL), *device;
      guint recorded, replays, step_dispatches;
      GError *error = NULL;
      Tiny a, b;

      g_setenv ("LOOM_VK_FORCE_STAGING", staging ? "1" : "0", TRUE);
      device = test_open_vulkan ();
      g_unsetenv ("LOOM_VK_FORCE_STAGING");
      if (device == NULL)
        {
          loom_device_free (cpu);
          return;
        }
      tiny_init (&a, device, 0.1f, FALSE);
      tiny_init (&b, cpu, 0.1f, FALSE);
      g_assert_true (loom_graph_run (a.graph, &error));
      g_assert_no_error (error);
      loom_vk_debug_program_counts (device, &step_dispatches, &replays);
      g_assert_cmpuint (step_dispatches, >, 4);
      g_assert_cmpuint (replays, ==, 1);
      g_assert_true (loom_graph_run (a.graph, &error) && loom_graph_run (a.graph, &error));
      loom_graph_set_learning_rate (a.graph, 0.3f);
      g_assert_true (loom_graph_run (a.graph, &error));
      g_assert_true (loom_graph_run_accumulate (a.graph, &error));
      g_assert_true (loom_graph_run_accumulate (a.graph, &error));
      g_assert_true (loom_graph_run (a.graph, &error));
      g_assert_no_error (error);
      loom_vk_debug_program_counts (device, &recorded, &replays);
      g_assert_cmpuint (replays, ==, 7);
      /* the step's recording and the accumulation's, nothing more */
      g_assert_cmpuint (recorded, >, step_dispatches);
      g_assert_cmpuint (recorded, <, 2 * step_dispatches);

      for (int i = 0; i < 3; i++)
        g_assert_true (loom_graph_run (b.graph, &error));
      loom_graph_set_learning_rate (b.graph, 0.3f);
      g_assert_true (loom_graph_run (b.graph, &error));
      g_assert_true (loom_graph_run_accumulate (b.graph, &error));
      g_assert_true (loom_graph_run_accumulate (b.graph, &error));
      g_assert_true (loom_graph_run (b.graph, &error));
      g_assert_no_error (error);
      assert_same (&a, &b, a.w1, b.w1);
      assert_same (&a, &b, a.w2, b.w2);
      loom_graph_free (a.graph);
      loom_graph_free (b.graph);
      loom_device_free (cpu);
      test_close (device);
    }
}

/* Dropout: the right share dropped, the rest scaled, the backward pass
 * using the forward pass's mask, a new mask each run, and the same masks on
 * every backend for the same seed. */
static void
run_dropout (LoomDevice *device, float *y1, float *dx1, float *y2)
{
  const gsize n = 1 << 16;
  LoomGraph *g = loom_graph_new ();
  LoomTensor *x = loom_graph_parameter (g, "x", 1, 1, 1, n);
  LoomTensor *t = loom_graph_input (g, "t", 1, 1, 1, n);
  LoomTensor *y = loom_graph_dropout (g, x, 0.3f);
  g_autofree float *ones = g_new (float, n);
  g_autofree float *zeros = g_new0 (float, n);
  GError *error = NULL;

  g_assert_true (loom_graph_train_sgd (g, loom_graph_mse_loss (g, y, t), 0.0f, 0.0f, &error));
  g_assert_true (loom_graph_compile (g, device, &error));
  for (gsize i = 0; i < n; i++)
    ones[i] = 1.0f;
  loom_graph_set_seed (g, 1234);
  g_assert_true (loom_graph_write (g, x, ones, &error) && loom_graph_write (g, t, zeros, &error));
  g_assert_true (loom_graph_run (g, &error));
  g_assert_true (loom_graph_read (g, y, y1, &error));
  g_assert_true (loom_graph_read (g, loom_tensor_get_grad (x), dx1, &error));
  g_assert_true (loom_graph_run (g, &error));
  g_assert_true (loom_graph_read (g, y, y2, &error));
  g_assert_no_error (error);
  loom_graph_free (g);
}

static void
test_dropout (void)
{
  const gsize n = 1 << 16;
  LoomDevice *cpu = loom_device_open ("cpu", NULL), *vk = test_open_vulkan ();
  g_autofree float *y1 = g_new (float, n), *dx1 = g_new (float, n), *y2 = g_new (float, n);
  g_autofree float *vy1 = g_new (float, n), *vdx1 = g_new (float, n), *vy2 = g_new (float, n);
  gsize dropped = 0, same = 0;

  run_dropout (cpu, y1, dx1, y2);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (y1[i] == 0.0f || fabsf (y1[i] - 1.0f / 0.7f) < 1e-6f);
      /* d mean(y²) / dx = 2 y · mask / 0.7 / n: zero exactly where y is */
      g_assert_cmpfloat_with_epsilon (dx1[i], 2.0f * y1[i] / 0.7f / n, 1e-9);
      dropped += y1[i] == 0.0f;
      same += (y1[i] == 0.0f) == (y2[i] == 0.0f);
    }
  g_assert_cmpfloat_with_epsilon ((double) dropped / n, 0.3, 0.01);
  g_assert_cmpuint (same, <, n * 0.7);          /* independent masks: ~58 % agree */
  if (vk != NULL)
    {
      run_dropout (vk, vy1, vdx1, vy2);
      g_assert_cmpmem (y1, n * sizeof (float), vy1, n * sizeof (float));
      g_assert_cmpmem (y2, n * sizeof (float), vy2, n * sizeof (float));
      test_close (vk);
    }
  loom_device_free (cpu);
}

static void
test_noise (void)
{
  const gsize n = 1 << 16;
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGraph *g = loom_graph_new ();
  LoomTensor *z = loom_graph_noise (g, "z", 1, 1, 1, n, TRUE);
  g_autofree float *v = g_new (float, n);
  GError *error = NULL;
  double sum = 0, sq = 0;

  g_assert_true (loom_graph_compile (g, cpu, &error));
  g_assert_true (loom_graph_run (g, &error));
  g_assert_true (loom_graph_read (g, z, v, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    sum += v[i], sq += v[i] * v[i];
  g_assert_cmpfloat_with_epsilon (sum / n, 0.0, 0.02);
  g_assert_cmpfloat_with_epsilon (sq / n, 1.0, 0.02);
  loom_graph_free (g);
  loom_device_free (cpu);
}

/* Initialisers: the deviation each promises, the same values for the
 * same seed, others for another. */
static void
test_init_parameters (void)
{
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGraph *g = loom_graph_new ();
  LoomTensor *w = loom_graph_parameter (g, "w", 64, 32, 3, 3);     /* fan_in 288, fan_out 576 */
  gsize n = loom_tensor_get_length (w);
  g_autofree float *a = g_new (float, n), *b = g_new (float, n);
  static const struct { LoomInit kind; double std; } cases[] = {
    { LOOM_INIT_KAIMING_NORMAL, 0.08333 },          /* √(2/288) */
    { LOOM_INIT_KAIMING_UNIFORM, 0.03402 },         /* (1/√288)/√3 */
    { LOOM_INIT_XAVIER_UNIFORM, 0.04811 },          /* √(6/864)/√3 */
    { LOOM_INIT_NORMAL, 0.5 },
  };
  GError *error = NULL;

  loom_graph_activation (g, LOOM_ACTIVATION_RELU, 0, w);   /* so that w is used */
  g_assert_true (loom_graph_compile (g, cpu, &error));
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      double sum = 0, sq = 0;

      g_assert_true (loom_graph_init_parameter (g, w, cases[c].kind, 0.5f, 7, &error));
      g_assert_true (loom_graph_read (g, w, a, &error));
      for (gsize i = 0; i < n; i++)
        sum += a[i], sq += (double) a[i] * a[i];
      g_assert_cmpfloat_with_epsilon (sum / n, 0.0, cases[c].std * 0.05);
      g_assert_cmpfloat_with_epsilon (sqrt (sq / n), cases[c].std, cases[c].std * 0.03);
    }
  g_assert_true (loom_graph_init_parameter (g, w, LOOM_INIT_KAIMING_NORMAL, 0, 7, &error));
  g_assert_true (loom_graph_read (g, w, b, &error));
  g_assert_true (loom_graph_init_parameter (g, w, LOOM_INIT_KAIMING_NORMAL, 0, 8, &error));
  g_assert_true (loom_graph_read (g, w, a, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (a, b, n * sizeof (float)) != 0);
  g_assert_true (loom_graph_init_parameter (g, w, LOOM_INIT_KAIMING_NORMAL, 0, 7, &error));
  g_assert_true (loom_graph_read (g, w, a, &error));
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  loom_graph_free (g);
  loom_device_free (cpu);
}

static void
test_binding_too_large (void)
{
  LoomDevice *device = test_open_vulkan ();
  LoomGraph *g;
  LoomTensor *x, *w;
  GError *error = NULL;

  if (device == NULL)
    return;
  loom_vk_debug_cap_limits (device, 0, 4096);
  g = loom_graph_new ();
  x = loom_graph_input (g, "x", 64, 64, 1, 1);
  w = loom_graph_parameter (g, "w", 64, 64, 1, 1);
  loom_graph_linear (g, x, w, NULL);
  g_assert_true (loom_graph_compile (g, device, &error));
  g_assert_false (loom_graph_run (g, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "gemm"));
  g_clear_error (&error);
  loom_graph_free (g);
  test_close (device);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/graph/malformed", test_malformed);
  g_test_add_func ("/graph/memory-reuse", test_memory_reuse);
  g_test_add_func ("/graph/read-overwritten", test_read_overwritten);
  g_test_add_func ("/graph/binding-too-large", test_binding_too_large);
  g_test_add_func ("/graph/frozen", test_frozen);
  g_test_add_func ("/graph/accumulation", test_accumulation);
  g_test_add_func ("/graph/recorded-once", test_recorded_once);
  g_test_add_func ("/graph/dropout", test_dropout);
  g_test_add_func ("/graph/noise", test_noise);
  g_test_add_func ("/graph/init", test_init_parameters);
  return g_test_run ();
}
