/* loom bench: GEMM, convolution, model and dispatch timings on each device
 * (moved from loom.c; the workloads are in bench.c). */
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include <loom/loom.h>
#include "bench.h"
#include "common.h"

static void
add_result (JsonBuilder *b, const char *name, const char *backend, Timing t, double flops)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "backend");
  json_builder_add_string_value (b, backend);
  json_builder_set_member_name (b, "ms_median");
  json_builder_add_double_value (b, t.median);
  json_builder_set_member_name (b, "ms_min");
  json_builder_add_double_value (b, t.min);
  json_builder_set_member_name (b, "ms_max");
  json_builder_add_double_value (b, t.max);
  json_builder_set_member_name (b, "gflops");
  json_builder_add_double_value (b, flops > 0 ? flops / t.median / 1e6 : 0.0);
  json_builder_end_object (b);
}

/* Dispatch overhead: BATCH tiny ops queued then one sync (per-op cost), and
 * op + sync pairs (the round trip). */
static gboolean
time_dispatch (LoomDevice *device, guint repeat, Timing *batched, Timing *roundtrip,
               GError **error)
{
  const guint batch = 1000;
  g_autofree double *ms_batch = g_new (double, repeat);
  g_autofree double *ms_trip = g_new (double, repeat);
  LoomBuffer *x = loom_buffer_new (device, 64, error);
  gboolean ok = FALSE;

  if (x == NULL)
    return FALSE;
  for (guint r = 0; r <= repeat; r++)
    {
      gint64 start = g_get_monotonic_time ();

      for (guint i = 0; i < batch; i++)
        if (!loom_fill (x, (float) i, error))
          goto out;
      if (!loom_device_sync (device, error))
        goto out;
      if (r > 0)
        ms_batch[r - 1] = (g_get_monotonic_time () - start) / 1000.0 / batch;
      start = g_get_monotonic_time ();
      if (!loom_fill (x, 1.0f, error) || !loom_device_sync (device, error))
        goto out;
      if (r > 0)
        ms_trip[r - 1] = (g_get_monotonic_time () - start) / 1000.0;
    }
  *batched = bench_timing_of (ms_batch, repeat);
  *roundtrip = bench_timing_of (ms_trip, repeat);
  ok = TRUE;
out:
  loom_buffer_free (x);
  return ok;
}

typedef gboolean (*BenchRun) (LoomDevice *device, gconstpointer bench, guint repeat,
                              double *ms, double *flops, GError **error);

/* Runs one benchmark of bench.h and reports it (JSON or a line); FALSE
 * after printing its error. */
static gboolean
report (JsonBuilder *b, gboolean json, LoomDevice *device, const char *kind, const char *name,
        BenchRun run, gconstpointer bench, guint repeat, double *ms)
{
  g_autoptr (GError) error = NULL;
  double flops;
  Timing t;

  if (!run (device, bench, repeat, ms, &flops, &error))
    {
      fprintf (stderr, "loom bench: %s on %s: %s\n", name, loom_device_get_info (device)->name,
               error->message);
      return FALSE;
    }
  t = bench_timing_of (ms, repeat);
  add_result (b, name, kind, t, flops);
  if (!json)
    printf ("  %-26s %10.2f ms  (min %.2f, max %.2f)  %8.1f GFLOP/s\n", name,
            t.median, t.min, t.max, flops / t.median / 1e6);
  return TRUE;
}

/* Whether NAME is one of ONLY's entries or starts with one followed by
 * '_' or a digit ("conv", "gemm": families; "conv3x3_64_256_fwd" alone,
 * not its fwdbwd), all when ONLY is NULL. */
static gboolean
wanted (GStrv only, const char *name)
{
  if (only == NULL)
    return TRUE;
  for (guint i = 0; only[i] != NULL; i++)
    if (g_str_has_prefix (name, only[i]))
      {
        char next = name[strlen (only[i])];

        if (next == '\0' || next == '_' || g_ascii_isdigit (next))
          return TRUE;
      }
  return FALSE;
}

int
loom_cmd_bench (int argc, char **argv)
{
  gboolean json = FALSE;
  char *backend = NULL;
  char *sizes_text = NULL;
  char *only_text = NULL;
  int repeat = 5;
  GOptionEntry entries[] = {
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, "Only this backend (cpu or vulkan)", "B" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON list of results", NULL },
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes_text, "GEMM sizes (default 1024,2048)", "N,N" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Timed runs per figure (default 5)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only_text,
      "Only the figures whose names start with one of these (e.g. gemm,conv3x3)", "NAMES" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) specs = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_auto (GStrv) sizes = NULL;
  g_auto (GStrv) only = NULL;
  g_autofree double *ms = NULL;
  int status = 0;

  if (!loom_cli_parse ("bench", "GEMM, convolution and model timings.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (backend != NULL && strcmp (backend, "cpu") != 0 && strcmp (backend, "vulkan") != 0)
    {
      fprintf (stderr, "loom bench: --backend must be cpu or vulkan, not '%s'\n", backend);
      return EXIT_USAGE;
    }
  if (repeat < 1 || repeat > 1000)
    {
      fprintf (stderr, "loom bench: --repeat must be between 1 and 1000\n");
      return EXIT_USAGE;
    }
  only = only_text ? g_strsplit (only_text, ",", -1) : NULL;
  ms = g_new (double, repeat);
  sizes = g_strsplit (sizes_text ? sizes_text : "1024,2048", ",", -1);
  for (guint i = 0; sizes[i] != NULL; i++)
    {
      guint64 n;

      if (!g_ascii_string_to_unsigned (sizes[i], 10, 1, 16384, &n, NULL))
        {
          fprintf (stderr, "loom bench: --sizes: '%s' is not a size from 1 to 16384\n", sizes[i]);
          return EXIT_USAGE;
        }
    }

  specs = bench_device_specs (backend);
  if (specs->len == 0)
    {
      fprintf (stderr, "loom bench: no %s device found\n", backend);
      return 1;
    }
  json_builder_begin_array (b);
  for (guint d = 0; d < specs->len; d++)
    {
      LoomDevice *device = loom_device_open (specs->pdata[d], &error);
      const char *kind;
      Timing batched, trip;

      if (device == NULL)
        {
          fprintf (stderr, "loom bench: device %s: %s\n", (char *) specs->pdata[d], error->message);
          g_clear_error (&error);
          status = 1;
          continue;
        }
      kind = loom_device_get_info (device)->backend == LOOM_BACKEND_VULKAN ? "vulkan" : "cpu";
      if (!json)
        printf ("%s: %s\n", kind, loom_device_get_info (device)->name);
      for (guint i = 0; sizes[i] != NULL; i++)
        {
          guint n = (guint) g_ascii_strtoull (sizes[i], NULL, 10);
          g_autofree char *name = g_strdup_printf ("gemm_%u", n);
          double flops = 2.0 * n * n * (double) n;
          Timing t;

          if (!wanted (only, name))
            continue;
          if (!bench_time_gemm (device, n, (guint) repeat, &t, NULL, &error))
            {
              fprintf (stderr, "loom bench: %s on %s: %s\n", name,
                       loom_device_get_info (device)->name, error->message);
              g_clear_error (&error);
              status = 1;
              continue;
            }
          add_result (b, name, kind, t, flops);
          if (!json)
            printf ("  %-26s %10.2f ms  (min %.2f, max %.2f)  %8.1f GFLOP/s\n", name,
                    t.median, t.min, t.max, flops / t.median / 1e6);
        }
      for (guint i = 0; i < n_conv_benches; i++)
        if (wanted (only, conv_benches[i].name))
          status |= !report (b, json, device, kind, conv_benches[i].name,
                             (BenchRun) conv_bench_run, &conv_benches[i], (guint) repeat, ms);
      for (guint i = 0; i < n_model_benches; i++)
        if (wanted (only, model_benches[i].name))
          status |= !report (b, json, device, kind, model_benches[i].name,
                             (BenchRun) model_bench_run, &model_benches[i], (guint) repeat, ms);
      if (!wanted (only, "dispatch"))
        ;
      else if (time_dispatch (device, (guint) repeat, &batched, &trip, &error))
        {
          add_result (b, "dispatch_batched", kind, batched, 0);
          add_result (b, "dispatch_roundtrip", kind, trip, 0);
          if (!json)
            printf ("  %-26s %10.2f us per op, queued\n  %-26s %10.2f us per op + wait\n",
                    "dispatch_batched", batched.median * 1000, "dispatch_roundtrip",
                    trip.median * 1000);
        }
      else
        {
          fprintf (stderr, "loom bench: dispatch: %s\n", error->message);
          g_clear_error (&error);
          status = 1;
        }
      loom_device_free (device);
    }
  json_builder_end_array (b);
  if (json)
    loom_cli_print_json (b);
  g_free (backend);
  g_free (sizes_text);
  g_free (only_text);
  return status;
}

