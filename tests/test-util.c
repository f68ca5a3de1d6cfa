#include <string.h>
#include "test-util.h"
#include "vulkan/vk-internal.h"

void
test_init (int *argc, char ***argv)
{
  g_setenv ("LOOM_VALIDATION", "1", TRUE);
  if (g_getenv ("LOOM_CACHE_DIR") == NULL)
    g_setenv ("LOOM_CACHE_DIR", "test-cache", TRUE);
  g_test_init (argc, argv, NULL);
}

LoomDevice *
test_open_vulkan (void)
{
  GError *error = NULL;
  LoomDevice *device = loom_device_open ("vulkan", &error);

  if (device == NULL)
    {
      if (g_getenv ("LOOM_REQUIRE_VULKAN") != NULL)
        g_error ("LOOM_REQUIRE_VULKAN is set, but: %s", error->message);
      g_test_skip (error->message);
      g_error_free (error);
    }
  return device;
}

void
test_close (LoomDevice *device)
{
  loom_device_free (device);
  g_assert_cmpuint (loom_vk_validation_message_count (), ==, 0);
}

gboolean
test_weights_equal (LoomWeights *a, LoomWeights *b)
{
  for (const char *const *name = loom_weights_get_names (a); *name != NULL; name++)
    {
      guint n_dims;
      const guint64 *shape;
      const float *va = loom_weights_lookup (a, *name, &n_dims, &shape);
      const float *vb = loom_weights_lookup (b, *name, NULL, NULL);
      gsize n = 1;

      for (guint d = 0; d < n_dims; d++)
        n *= shape[d];
      if (vb == NULL || memcmp (va, vb, n * sizeof (float)) != 0)
        return FALSE;
    }
  return TRUE;
}

void
test_assert_same_weights (LoomWeights *a, LoomWeights *b)
{
  for (const char *const *name = loom_weights_get_names (a); *name != NULL; name++)
    {
      guint n_dims, n_dims_b;
      const guint64 *shape, *shape_b;
      const float *va = loom_weights_lookup (a, *name, &n_dims, &shape);
      const float *vb = loom_weights_lookup (b, *name, &n_dims_b, &shape_b);
      gsize n = 1;

      g_assert_nonnull (vb);
      g_assert_cmpuint (n_dims, ==, n_dims_b);
      for (guint d = 0; d < n_dims; d++)
        {
          g_assert_cmpuint (shape[d], ==, shape_b[d]);
          n *= shape[d];
        }
      g_assert_cmpmem (va, n * sizeof (float), vb, n * sizeof (float));
    }
}
