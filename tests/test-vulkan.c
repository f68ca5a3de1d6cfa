/* The Vulkan runtime: device choice and its errors, limits, the staging
 * path, barriers and split submissions, the pipeline cache, profiling and
 * device loss. */
#include <string.h>
#include <glib/gstdio.h>

#include "backend.h"
#include "vulkan/vk-internal.h"
#include "test-util.h"

static void
assert_buffer (LoomBuffer *buf, float expect)
{
  gsize n = loom_buffer_get_length (buf);
  float *data = g_new (float, n);
  GError *error = NULL;

  loom_buffer_read (buf, 0, n, data, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (data[i], ==, expect);
  g_free (data);
}

static void
test_select_errors (void)
{
  GError *error = NULL;
  LoomDevice *device;

  device = loom_device_open ("99", &error);
  g_assert_null (device);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "99"));
  g_clear_error (&error);

  device = loom_device_open ("no-such-gpu", &error);
  g_assert_null (device);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "no-such-gpu"));
  g_clear_error (&error);

  /* $LOOM_DEVICE is what a NULL spec means. */
  g_setenv ("LOOM_DEVICE", "no-such-gpu", TRUE);
  device = loom_device_open (NULL, &error);
  g_unsetenv ("LOOM_DEVICE");
  g_assert_null (device);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
  g_clear_error (&error);
}

static void
test_select_by_name_and_index (void)
{
  LoomDevice *device = test_open_vulkan ();
  g_autofree char *name = NULL;
  g_autofree char *index = NULL;
  GError *error = NULL;
  LoomDevice *again;

  if (device == NULL)
    return;
  /* A part of the name, in another case, finds the same device. */
  name = g_utf8_strup (loom_device_get_info (device)->name, 5);
  index = g_strdup_printf ("%d", loom_device_get_info (device)->index);
  test_close (device);

  again = loom_device_open (name, &error);
  g_assert_no_error (error);
  g_assert_cmpint (loom_device_get_info (again)->backend, ==, LOOM_BACKEND_VULKAN);
  test_close (again);
  again = loom_device_open (index, &error);
  g_assert_no_error (error);
  test_close (again);
}

static void
test_no_driver (void)
{
  if (g_test_subprocess ())
    {
      GError *error = NULL;
      LoomDevice *device;
      GPtrArray *devices;

      device = loom_device_open ("vulkan", &error);
      g_assert_null (device);
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE);
      g_assert_nonnull (strstr (error->message, "mesa-vulkan-drivers"));
      g_clear_error (&error);
      /* Auto falls back to the CPU, and the list still has it. */
      device = loom_device_open (NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (loom_device_get_info (device)->backend, ==, LOOM_BACKEND_CPU);
      loom_device_free (device);
      devices = loom_list_devices ();
      g_assert_cmpuint (devices->len, ==, 1);
      g_ptr_array_unref (devices);
      return;
    }
  /* The loader finds no driver where these point. */
  g_setenv ("VK_DRIVER_FILES", "/nonexistent/loom-icd.json", TRUE);
  g_setenv ("VK_ICD_FILENAMES", "/nonexistent/loom-icd.json", TRUE);
  g_unsetenv ("LOOM_VALIDATION");
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_caps (void)
{
  LoomVkDevice *vk = (LoomVkDevice *) test_open_vulkan ();

  if (vk == NULL)
    return;
  g_assert_cmpuint (vk->caps.op.max_storage_range, >=, 1 << 20);
  for (int i = 0; i < 3; i++)
    g_assert_cmpuint (vk->caps.op.max_groups[i], >=, 1);
  g_assert_cmpuint (vk->caps.op.max_groups[0], >=, 65535);
  g_assert_cmpuint (vk->caps.op.max_local_size, >=, 128);
  g_assert_cmpuint (vk->caps.op.shared_bytes, >=, 16384);
  g_assert_cmpuint (vk->caps.op.subgroup_size, >=, 1);
  g_assert_cmpuint (vk->caps.max_push_constants, >=, 128);
  test_close (&vk->parent);
}

/* The upload/download path of discrete GPUs, forced on lavapipe. */
static void
test_staging (void)
{
  LoomVkDevice *vk;
  LoomBuffer *a, *b;
  GError *error = NULL;
  gsize n = ((gsize) 70 << 20) / sizeof (float);   /* past one 64 MiB staging piece */
  float *data = g_new (float, n), *back = g_new (float, n);

  g_setenv ("LOOM_VK_FORCE_STAGING", "1", TRUE);
  vk = (LoomVkDevice *) test_open_vulkan ();
  g_unsetenv ("LOOM_VK_FORCE_STAGING");
  if (vk == NULL)
    return;
  g_assert_true (vk->use_staging);
  for (gsize i = 0; i < n; i++)
    data[i] = (float) (i % 4099) - 2000.0f;
  a = loom_buffer_new (&vk->parent, n, &error);
  b = loom_buffer_new (&vk->parent, n, &error);
  g_assert_no_error (error);
  g_assert_true (loom_buffer_write (a, 0, n, data, &error));
  g_assert_true (loom_scale (b, a, 2.0f, &error));
  g_assert_true (loom_buffer_read (b, 0, n, back, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (back[i], ==, 2.0f * data[i]);
  /* A part of a buffer, at an offset. */
  g_assert_true (loom_buffer_read (a, 12345, 7, back, &error));
  g_assert_cmpmem (back, 7 * sizeof (float), data + 12345, 7 * sizeof (float));
  loom_buffer_free (a);
  loom_buffer_free (b);
  g_free (data);
  g_free (back);
  test_close (&vk->parent);
}

/* A chain of dependent ops in place: wrong or missing barriers give wrong
 * sums (and synchronization validation messages); a small work budget
 * splits the chain over many submissions. */
static void
test_chain_and_split (void)
{
  LoomVkDevice *vk;
  LoomBuffer *x, *y;
  GError *error = NULL;

  g_setenv ("LOOM_SUBMIT_BUDGET", "1000000", TRUE);
  vk = (LoomVkDevice *) test_open_vulkan ();
  g_unsetenv ("LOOM_SUBMIT_BUDGET");
  if (vk == NULL)
    return;
  x = loom_buffer_new (&vk->parent, 10007, &error);
  y = loom_buffer_new (&vk->parent, 10007, &error);
  g_assert_no_error (error);
  loom_fill (x, 1.0f, &error);
  loom_fill (y, 0.5f, &error);
  for (int i = 0; i < 100; i++)
    loom_add (x, x, y, &error);   /* x += y, reading what the last one wrote */
  loom_mul (y, x, x, &error);     /* y = x², reading x after its last write */
  g_assert_no_error (error);
  g_assert_true (loom_device_sync (&vk->parent, &error));
  g_assert_cmpuint (loom_vk_stream_get_n_submits (vk->stream), >=, 10);
  assert_buffer (x, 51.0f);
  assert_buffer (y, 51.0f * 51.0f);
  loom_buffer_free (x);
  loom_buffer_free (y);
  test_close (&vk->parent);
}

/* Barriers exactly where a hazard is: none between independent ops, one
 * before each op that reads what was just written (RAW), writes what was
 * written (WAW) or writes what was read (WAR). */
static void
test_barrier_placement (void)
{
  LoomVkDevice *vk = (LoomVkDevice *) test_open_vulkan ();
  LoomBuffer *b[4];
  GError *error = NULL;
  guint before;

  if (vk == NULL)
    return;
  for (int i = 0; i < 4; i++)
    b[i] = loom_buffer_new (&vk->parent, 4099, &error);
  g_assert_no_error (error);
  g_assert_true (loom_device_sync (&vk->parent, &error));

  before = loom_vk_stream_get_n_hazard_barriers (vk->stream);
  for (int i = 0; i < 4; i++)
    loom_fill (b[i], (float) i, &error);                /* independent */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before);
  loom_add (b[0], b[1], b[2], &error);      /* RAW on b1, b2; WAW on b0: a barrier */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before + 1);
  loom_copy (b[3], b[2], &error);           /* b3's fill is behind that barrier: none */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before + 1);
  loom_scale (b[2], b[0], 2.0f, &error);    /* WAR on b2 (add, copy read it), RAW on b0 */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before + 2);
  loom_mul (b[1], b[0], b[3], &error);      /* all earlier writes are behind a barrier */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before + 2);
  loom_add (b[1], b[1], b[2], &error);      /* RAW and WAW on b1 */
  g_assert_cmpuint (loom_vk_stream_get_n_hazard_barriers (vk->stream), ==, before + 3);
  g_assert_no_error (error);
  assert_buffer (b[0], 3.0f);               /* 1 + 2 */
  assert_buffer (b[1], 12.0f);              /* 3 * 2 + 6 */
  assert_buffer (b[2], 6.0f);               /* 2 * 3 */
  assert_buffer (b[3], 2.0f);
  for (int i = 0; i < 4; i++)
    loom_buffer_free (b[i]);
  test_close (&vk->parent);
}

static void
test_binding_too_large (void)
{
  LoomDevice *device = test_open_vulkan ();
  LoomBuffer *c, *a, *b;
  GError *error = NULL;

  if (device == NULL)
    return;
  /* A gemm operand past the (capped) storage range is refused, not clipped. */
  loom_vk_debug_cap_limits (device, 0, 4096);
  c = loom_buffer_new (device, 64 * 64, &error);
  a = loom_buffer_new (device, 64 * 64, &error);
  b = loom_buffer_new (device, 64 * 64, &error);
  g_assert_false (loom_gemm (c, a, b, 64, 64, 64, FALSE, FALSE, 1.0f, 0.0f, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  /* Mismatched shapes are refused before any device work. */
  g_assert_false (loom_gemm (c, a, b, 65, 64, 64, FALSE, FALSE, 1.0f, 0.0f, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  loom_buffer_free (a);
  loom_buffer_free (b);
  loom_buffer_free (c);
  test_close (device);
}

static gboolean
cache_file_valid (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  guint8 sum[32];
  gsize sum_len = sizeof sum;
  GChecksum *c;
  gboolean ok;

  if (!g_file_get_contents (path, &data, &len, NULL) || len < 40 + 32)
    return FALSE;
  c = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (c, (const guint8 *) data + 40, len - 40);
  g_checksum_get_digest (c, sum, &sum_len);
  g_checksum_free (c);
  ok = memcmp (data, "LOOMPC01", 8) == 0 && memcmp (data + 8, sum, 32) == 0;
  return ok;
}

static void
run_one_add (LoomDevice *device)
{
  LoomBuffer *a = loom_buffer_new (device, 1000, NULL);
  LoomBuffer *b = loom_buffer_new (device, 1000, NULL);
  GError *error = NULL;

  loom_fill (a, 3.0f, &error);
  loom_fill (b, 4.0f, &error);
  loom_add (a, a, b, &error);
  g_assert_no_error (error);
  assert_buffer (a, 7.0f);
  loom_buffer_free (a);
  loom_buffer_free (b);
}

static void
test_pipeline_cache (void)
{
  g_autofree char *dir = g_dir_make_tmp ("loom-cache-XXXXXX", NULL);
  g_autofree char *path = NULL;
  static const char *const corruptions[] = { "garbage", "truncate", "flip", "foreign" };
  LoomVkDevice *vk;

  g_setenv ("LOOM_CACHE_DIR", dir, TRUE);
  vk = (LoomVkDevice *) test_open_vulkan ();
  if (vk == NULL)
    return;
  path = loom_vk_pipeline_cache_path (vk);
  g_assert_true (g_str_has_prefix (path, dir));
  run_one_add (&vk->parent);
  test_close (&vk->parent);
  g_assert_true (cache_file_valid (path));

  for (guint i = 0; i < G_N_ELEMENTS (corruptions); i++)
    {
      g_autofree char *data = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      if (strcmp (corruptions[i], "garbage") == 0)
        g_assert_true (g_file_set_contents (path, "not a cache at all", -1, NULL));
      else if (strcmp (corruptions[i], "truncate") == 0)
        g_assert_true (g_file_set_contents (path, data, len / 2, NULL));
      else if (strcmp (corruptions[i], "flip") == 0)
        {
          data[len - 1] ^= 0x5a;
          g_assert_true (g_file_set_contents (path, data, len, NULL));
        }
      else
        {
          /* A valid envelope around another device's header. */
          GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
          gsize sum_len = 32;

          data[40 + 8] ^= 0xff;         /* vendorID */
          g_checksum_update (c, (const guint8 *) data + 40, len - 40);
          g_checksum_get_digest (c, (guint8 *) data + 8, &sum_len);
          g_checksum_free (c);
          g_assert_true (g_file_set_contents (path, data, len, NULL));
        }
      /* Not trusted: the device opens, works, and writes a good file again. */
      vk = (LoomVkDevice *) test_open_vulkan ();
      g_assert_nonnull (vk);
      run_one_add (&vk->parent);
      test_close (&vk->parent);
      g_assert_true (cache_file_valid (path));
    }
  g_unlink (path);
  g_rmdir (dir);
  g_setenv ("LOOM_CACHE_DIR", "test-cache", TRUE);
}

static void
test_profile (void)
{
  if (g_test_subprocess ())
    {
      LoomDevice *device;

      g_setenv ("LOOM_PROFILE", "1", TRUE);
      device = test_open_vulkan ();
      run_one_add (device);
      test_close (device);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  /* Rows come slowest first, in whatever order the timings fall. */
  g_test_trap_assert_stderr ("*loom profile*");
  g_test_trap_assert_stderr ("*\n  fill *2 *");
  g_test_trap_assert_stderr ("*\n  add *1 *");
}

/* After VK_ERROR_DEVICE_LOST every call fails with a GError, none crashes. */
static void
test_device_lost (void)
{
  LoomVkDevice *vk = (LoomVkDevice *) test_open_vulkan ();
  LoomBuffer *a;
  GError *error = NULL;
  float v = 0;

  if (vk == NULL)
    return;
  a = loom_buffer_new (&vk->parent, 16, &error);
  g_assert_no_error (error);
  g_assert_false (loom_vk_check (vk, VK_ERROR_DEVICE_LOST, "a test", &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST);
  g_clear_error (&error);
  g_assert_false (loom_fill (a, 1.0f, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST);
  g_clear_error (&error);
  g_assert_false (loom_buffer_read (a, 0, 1, &v, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST);
  g_clear_error (&error);
  g_assert_null (loom_buffer_new (&vk->parent, 16, &error));
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST);
  g_clear_error (&error);
  loom_buffer_free (a);
  test_close (&vk->parent);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/vulkan/select/errors", test_select_errors);
  g_test_add_func ("/vulkan/select/name-and-index", test_select_by_name_and_index);
  g_test_add_func ("/vulkan/select/no-driver", test_no_driver);
  g_test_add_func ("/vulkan/caps", test_caps);
  g_test_add_func ("/vulkan/staging", test_staging);
  g_test_add_func ("/vulkan/chain-and-split", test_chain_and_split);
  g_test_add_func ("/vulkan/barrier-placement", test_barrier_placement);
  g_test_add_func ("/vulkan/binding-too-large", test_binding_too_large);
  g_test_add_func ("/vulkan/pipeline-cache", test_pipeline_cache);
  g_test_add_func ("/vulkan/profile", test_profile);
  g_test_add_func ("/vulkan/device-lost", test_device_lost);
  return g_test_run ();
}
