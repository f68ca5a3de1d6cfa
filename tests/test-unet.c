/* The U-Net's own checks: bad configurations and inputs are errors, a file
 * of another architecture is refused, and the parameter count is the
 * tensors' (PyTorch parity is tests/torch-unet.py). */
#include <string.h>

#include <loom/loom-unet.h>
#include "test-util.h"

static void
test_bad_input (void)
{
  LoomUNetConfig bad = { 3, 2, 9, 16 }, ok = { 3, 2, 2, 4 };
  LoomGraph *g = loom_graph_new ();
  GError *error = NULL;

  g_assert_null (loom_unet_build (g, &bad, loom_graph_input (g, "x", 1, 3, 32, 32), TRUE, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "depth 9"));
  g_clear_error (&error);
  /* 30 is no multiple of 4; 4 channels are not 3 */
  g_assert_null (loom_unet_build (g, &ok, loom_graph_input (g, "y", 1, 3, 32, 30), TRUE, &error));
  g_assert_nonnull (strstr (error->message, "multiples of 4"));
  g_clear_error (&error);
  g_assert_null (loom_unet_build (g, &ok, loom_graph_input (g, "z", 1, 4, 32, 32), TRUE, &error));
  g_assert_nonnull (strstr (error->message, "needs 3 channels"));
  g_clear_error (&error);
  loom_graph_free (g);
}

static void
test_store_load (void)
{
  LoomUNetConfig a = { 3, 2, 4, 16 }, b = { 3, 2, 3, 16 }, read;
  LoomDevice *cpu = loom_device_open ("cpu", NULL);
  LoomGraph *ga = loom_graph_new (), *gb = loom_graph_new ();
  LoomUNet *ua = loom_unet_build (ga, &a, loom_graph_input (ga, "x", 1, 3, 16, 16), FALSE, NULL);
  LoomUNet *ub = loom_unet_build (gb, &b, loom_graph_input (gb, "x", 1, 3, 16, 16), FALSE, NULL);
  LoomWeights *w = loom_weights_new ();
  GError *error = NULL;
  guint64 learnable = 0;

  g_assert_true (loom_graph_compile (ga, cpu, &error) && loom_graph_compile (gb, cpu, &error));
  g_assert_true (loom_unet_init (ua, 3, &error));
  g_assert_true (loom_unet_store (ua, w, &error));
  g_assert_no_error (error);
  for (const char *const *name = loom_weights_get_names (w); *name != NULL; name++)
    if (!g_str_has_suffix (*name, "running_mean") && !g_str_has_suffix (*name, "running_var"))
      {
        guint n_dims;
        const guint64 *shape;
        guint64 count = 1;

        loom_weights_lookup (w, *name, &n_dims, &shape);
        for (guint d = 0; d < n_dims; d++)
          count *= shape[d];
        learnable += count;
      }
  g_assert_cmpuint (learnable, ==, loom_unet_count_parameters (&a));
  g_assert_cmpuint (learnable, ==, 1964114);            /* PyTorch counts the twin so */
  g_assert_true (loom_unet_config_from_weights (w, &read, &error));
  g_assert_cmpmem (&read, sizeof read, &a, sizeof a);
  /* A depth-4 file into a depth-3 network: refused, saying both. */
  g_assert_false (loom_unet_load (ub, w, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_assert_nonnull (strstr (error->message, "depth 4"));
  g_clear_error (&error);
  /* Without the metadata, the shapes still catch it. */
  loom_weights_set_metadata (w, LOOM_METADATA_ARCHITECTURE, NULL);
  g_assert_false (loom_unet_load (ub, w, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_BAD_FILE);
  g_clear_error (&error);
  loom_weights_free (w);
  loom_unet_free (ua);
  loom_unet_free (ub);
  loom_graph_free (ga);
  loom_graph_free (gb);
  loom_device_free (cpu);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/unet/bad-input", test_bad_input);
  g_test_add_func ("/unet/store-load", test_store_load);
  return g_test_run ();
}
