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
