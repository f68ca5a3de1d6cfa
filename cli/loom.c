/* loom: the command line over Loom's compute core — the same core as the
 * GIMP plug-in, for scripts, batch jobs and machines without a display.
 * The commands are in the files named after them; info and bench here.
 *
 * Exit status: 0 on success, 2 for bad usage, 1 for a runtime error. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gegl.h>
#include <json-glib/json-glib.h>

#include <loom/loom.h>
#include "bench.h"
#include "common.h"

static void
print_usage (FILE *out)
{
  fputs ("usage: loom COMMAND [OPTIONS]\n"
         "\n"
         "commands:\n"
         "  info      [--json]                backends, devices, limits, and a GEMM on each\n"
         "  train-seg --image IMG --labels LBL [--image IMG --labels LBL …] -o MODEL\n"
         "            [--init MODEL] [--steps N | --time SECONDS] [--seed S] [--device D]\n"
         "                                    a segmentation model from painted labels\n"
         "  segment   --model MODEL -i IMG -o OUT.png [--format color|index|overlay]\n"
         "            [--confidence CONF.png] [--device D]\n"
         "                                    label every pixel of an image\n"
         "  train-gan --kind dcgan|texture|pix2pix (--images DIR_OR_FILES… | --image IMG\n"
         "            [--labels LBL]) -o MODEL [--steps N | --time SECONDS] [--size PX] [--seed S]\n"
         "                                    a texture or image generator\n"
         "  generate  --model MODEL -o OUT.png [--count N] [--size WxH] [--seed S] [--tileable]\n"
         "            [--labels LBL]          images from a generator (pix2pix: from labels)\n"
         "  augment   -i IMG [--labels LBL] -o OUTDIR --count N [--seed S] [transforms]\n"
         "                                    augmented copies of an image and its labels\n"
         "  bench     [--backend cpu|vulkan] [--json] [--only NAMES] [--sizes 1024,2048]\n"
         "            [--repeat N]            GEMM, convolution and model timings\n"
         "  demo      [-o DIR]                the main job on the bundled sample\n"
         "\n"
         "'loom COMMAND --help' lists a command's options.\n"
         "\n"
         "environment: LOOM_DEVICE (auto, cpu, vulkan, an index or part of a name),\n"
         "LOOM_PROFILE=1 (time per op on Vulkan), LOOM_VALIDATION=1 (Vulkan validation layer)\n",
         out);
}

/* Every device to run on: each Vulkan device by index, then the CPU.  With
 * BACKEND set, only those of that backend. */
static GPtrArray *
device_specs (const char *backend)
{
  GPtrArray *specs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) infos = loom_list_devices ();

  for (guint i = 0; i < infos->len; i++)
    {
      const LoomDeviceInfo *info = infos->pdata[i];
      gboolean vulkan = info->backend == LOOM_BACKEND_VULKAN;

      if (backend != NULL && strcmp (backend, vulkan ? "vulkan" : "cpu") != 0)
        continue;
      g_ptr_array_add (specs, vulkan ? g_strdup_printf ("%d", info->index) : g_strdup ("cpu"));
    }
  return specs;
}

/* ---- timing ---------------------------------------------------------- */

typedef struct
{
  double median, min, max;  /* ms */
} Timing;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static Timing
timing_of (double *ms, guint n)
{
  qsort (ms, n, sizeof (double), compare_double);
  return (Timing) { n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms[0], ms[n - 1] };
}

static void
fill_random (float *data, gsize n, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);
}

/* Times C = A·B (N×N) REPEAT times after one warm-up run. */
static gboolean
time_gemm (LoomDevice *device, guint n, guint repeat, Timing *t, float *result, GError **error)
{
  gsize nn = (gsize) n * n;
  g_autofree float *host = g_new (float, nn);
  g_autofree double *ms = g_new (double, repeat);
  LoomBuffer *a = NULL, *b = NULL, *c = NULL;
  gboolean ok = FALSE;

  if ((a = loom_buffer_new (device, nn, error)) == NULL
      || (b = loom_buffer_new (device, nn, error)) == NULL
      || (c = loom_buffer_new (device, nn, error)) == NULL)
    goto out;
  fill_random (host, nn, 1);
  if (!loom_buffer_write (a, 0, nn, host, error))
    goto out;
  fill_random (host, nn, 2);
  if (!loom_buffer_write (b, 0, nn, host, error))
    goto out;
  for (guint r = 0; r <= repeat; r++)
    {
      gint64 start = g_get_monotonic_time ();

      if (!loom_gemm (c, a, b, n, n, n, FALSE, FALSE, 1.0f, 0.0f, error)
          || !loom_device_sync (device, error))
        goto out;
      if (r > 0)
        ms[r - 1] = (g_get_monotonic_time () - start) / 1000.0;
    }
  *t = timing_of (ms, repeat);
  ok = result == NULL || loom_buffer_read (c, 0, nn, result, error);
out:
  loom_buffer_free (a);
  loom_buffer_free (b);
  loom_buffer_free (c);
  return ok;
}

/* ---- info ------------------------------------------------------------ */

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

  fill_random (a, nn, 1);
  fill_random (b, nn, 2);
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

static int
cmd_info (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— backends, devices and a GEMM on each");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) specs = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  LoomDevice *chosen;
  int status = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "loom info: %s\n", error->message);
      return EXIT_USAGE;
    }

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

  specs = device_specs (NULL);
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
      if (!time_gemm (device, CHECK_N, 3, &t, result, &error))
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

/* ---- bench ----------------------------------------------------------- */

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
  *batched = timing_of (ms_batch, repeat);
  *roundtrip = timing_of (ms_trip, repeat);
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
  t = timing_of (ms, repeat);
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

static int
cmd_bench (int argc, char **argv)
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
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— GEMM and dispatch figures");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) specs = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_auto (GStrv) sizes = NULL;
  g_auto (GStrv) only = NULL;
  g_autofree double *ms = NULL;
  int status = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "loom bench: %s\n", error->message);
      return EXIT_USAGE;
    }
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

  specs = device_specs (backend);
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
          if (!time_gemm (device, n, (guint) repeat, &t, NULL, &error))
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

int
main (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? EXIT_USAGE : 0;
    }
  static const struct
  {
    const char *name;
    int (*run) (int argc, char **argv);
  } commands[] = {
    { "info", cmd_info }, { "bench", cmd_bench }, { "train-seg", loom_cmd_train_seg },
    { "segment", loom_cmd_segment }, { "train-gan", loom_cmd_train_gan },
    { "generate", loom_cmd_generate }, { "augment", loom_cmd_augment },
    { "demo", loom_cmd_demo },
  };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        /* Images go through GEGL; info and bench need none of it.  No
         * gegl_exit(): it unloads GEGL's modules, whose registrations
         * then show as leaks nobody can attribute. */
        if (i >= 2)
          gegl_init (NULL, NULL);
        return commands[i].run (argc - 1, argv + 1);
      }
  fprintf (stderr, "loom: unknown command '%s' (loom --help lists them)\n", argv[1]);
  return EXIT_USAGE;
}
