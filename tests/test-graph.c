/* The static graph's own behaviour: malformed graphs give errors that name
 * the layer and the shapes, memory is shared between tensors that are
 * never alive together, and a binding past the device's storage range is
 * an error, not a wrong answer.  (Training against PyTorch is
 * tests/torch-graph.py.) */
#include <string.h>

#include "loom-graph.h"
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
  g_test_add_func ("/graph/binding-too-large", test_binding_too_large);
  return g_test_run ();
}
