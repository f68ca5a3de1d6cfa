/* loom info: the backends and devices, their limits, and a checked GEMM
 * on each (moved from loom.c). */
#include <math.h>
#include <stdio.h>

#include <json-glib/json-glib.h>

#include <loom/loom.h>
#include "bench.h"
#include "common.h"

#define CHECK_N 256

static void
add_property (const char *key, const char *value, gpointer data)
{
  JsonBuilder *b = data;

  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
}

static void
print_property (const char *key, const char *value, gpointer data)
{
  printf ("    %-20s %s\n", key, value);
}

/* Largest |got - want| / largest |want| for the CHECK_N³ GEMM of seeds 1, 2. */
static double
gemm_check_error (const float *got)
{
  gsize nn = (gsize) CHECK_N * CHECK_N;
  g_autofree float *a = g_new (float, nn);
  g_autofree float *b = g_new (float, nn);
  double max_diff = 0, max_ref = 0;

  bench_random_floats (a, nn, 1);
  bench_random_floats (b, nn, 2);
  for (gsize i = 0; i < CHECK_N; i++)
    for (gsize j = 0; j < CHECK_N; j++)
      {
        double sum = 0;

        for (gsize k = 0; k < CHECK_N; k++)
          sum += (double) a[i * CHECK_N + k] * b[k * CHECK_N + j];
        max_diff = MAX (max_diff, fabs (sum - got[i * CHECK_N + j]));
        max_ref = MAX (max_ref, fabs (sum));
      }
  return max_diff / MAX (max_ref, 1e-30);
}

int
loom_cmd_info (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) specs = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  LoomDevice *chosen;
  int status = 0;

  if (!loom_cli_parse ("info", "Backends, devices and a GEMM on each.", entries, &argc, &argv))
    return EXIT_USAGE;

  chosen = loom_device_open (NULL, &error);
  if (chosen == NULL)
    {
      fprintf (stderr, "loom: %s\n", error->message);
      return 1;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, LOOM_VERSION);
  json_builder_set_member_name (b, "default");
  json_builder_add_string_value (b, loom_device_get_info (chosen)->name);
  json_builder_set_member_name (b, "devices");
  json_builder_begin_array (b);
  if (!json)
    printf ("Loom %s\ndefault device: %s (LOOM_DEVICE=%s)\n\n", LOOM_VERSION,
            loom_device_get_info (chosen)->name,
            loom_device_env_spec () != NULL ? loom_device_env_spec ()
                                            : "auto: a GPU, else the CPU");
  loom_device_free (chosen);

  specs = bench_device_specs (NULL);
  for (guint i = 0; i < specs->len; i++)
    {
      LoomDevice *device = loom_device_open (specs->pdata[i], &error);
      g_autofree float *result = g_new (float, CHECK_N * CHECK_N);
      const LoomDeviceInfo *info;
      Timing t;
      double err;

      if (device == NULL)
        {
          fprintf (stderr, "loom: device %s: %s\n", (char *) specs->pdata[i], error->message);
          g_clear_error (&error);
          status = 1;
          continue;
        }
      info = loom_device_get_info (device);
      if (!bench_time_gemm (device, CHECK_N, 3, &t, result, &error))
        {
          fprintf (stderr, "loom: GEMM on %s failed: %s\n", info->name, error->message);
          g_clear_error (&error);
          loom_device_free (device);
          status = 1;
          continue;
        }
      err = gemm_check_error (result);
      if (err > 1e-5)
        status = 1;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "backend");
      json_builder_add_string_value (b, info->backend == LOOM_BACKEND_VULKAN ? "vulkan" : "cpu");
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, info->index);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, info->name);
      json_builder_set_member_name (b, "properties");
      json_builder_begin_object (b);
      loom_device_foreach_property (device, add_property, b);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "gemm");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, CHECK_N);
      json_builder_set_member_name (b, "ms");
      json_builder_add_double_value (b, t.median);
      json_builder_set_member_name (b, "gflops");
      json_builder_add_double_value (b, 2.0 * pow (CHECK_N, 3) / t.median / 1e6);
      json_builder_set_member_name (b, "relative_error");
      json_builder_add_double_value (b, err);
      json_builder_end_object (b);
      json_builder_end_object (b);

      if (!json)
        {
          if (info->backend == LOOM_BACKEND_VULKAN)
            printf ("vulkan device %d: %s\n", info->index, info->name);
          else
            printf ("cpu backend: %s\n", info->name);
          loom_device_foreach_property (device, print_property, NULL);
          printf ("    %-20s %u³ in %.2f ms, %.1f GFLOP/s, relative error %.1e (%s)\n\n",
                  "gemm check", CHECK_N, t.median, 2.0 * pow (CHECK_N, 3) / t.median / 1e6,
                  err, err <= 1e-5 ? "ok" : "WRONG");
        }
      loom_device_free (device);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (json)
    loom_cli_print_json (b);
  return status;
}

