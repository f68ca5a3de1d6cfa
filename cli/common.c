#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "loom-image-file.h"
#include <loom/loom-image.h>

/* ---- text on the terminal --------------------------------------------- */

void
loom_cli_puts (FILE *out, const char *text)
{
  g_autofree char *ascii = NULL;

  /* In a locale whose charset is not UTF-8 (C, as tools/env gives), "…",
   * "—" and "×" read as "...", "-" and "x" rather than as "?" or bytes. */
  if (!g_get_charset (NULL))
    text = ascii = g_str_to_ascii (text, "C");
  fputs (text, out);
}

static gboolean verbose;

gboolean
loom_cli_verbose (void)
{
  return verbose;
}

gboolean
loom_cli_parse (const char *command, const char *summary, const GOptionEntry *entries,
                int *argc, char ***argv)
{
  const GOptionEntry common[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      "Also show GEGL's, GLib's and the image codecs' own warnings", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  /* "Usage: loom COMMAND [OPTION…]": main() names the program so. */
  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, common, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      loom_cli_fail (command, EXIT_USAGE, "%s", error->message);
      return FALSE;
    }
  loom_image_file_set_verbose (verbose);
  return TRUE;
}

/* As it comes, not through loom_cli_puts(): a file's name is bytes, to be
 * shown exactly. */
int
loom_cli_fail (const char *command, int status, const char *format, ...)
{
  va_list args;

  fprintf (stderr, "loom %s: ", command);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  return status;
}

LoomDevice *
loom_cli_open_device (const char *spec, gboolean quiet, GError **error)
{
  LoomDevice *device = loom_device_open (spec, error);   /* NULL: $LOOM_DEVICE, else auto */

  if (device != NULL && !quiet)
    fprintf (stderr, "device: %s\n", loom_device_get_info (device)->name);
  return device;
}

/* ---- Ctrl-C ---------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int sig)
{
  interrupted = 1;
  signal (sig, SIG_DFL);        /* a second Ctrl-C ends the program at once */
}

void
loom_cli_catch_interrupt (void)
{
  struct sigaction action = { 0 };

  action.sa_handler = on_interrupt;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);
}

gboolean
loom_cli_interrupted (void)
{
  return interrupted != 0;
}

/* ---- progress -------------------------------------------------------- */

#define BAR_WIDTH 24

void
loom_cli_progress_init (LoomCliProgress *p, const char *what, gboolean quiet)
{
  memset (p, 0, sizeof *p);
  p->what = what;
  p->quiet = quiet;
  p->tty = isatty (STDERR_FILENO);
  p->start = g_get_monotonic_time ();
}

static char *
clock_text (double seconds)
{
  guint s = seconds > 0 ? (guint) (seconds + 0.5) : 0;

  return s >= 3600 ? g_strdup_printf ("%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60)
                   : g_strdup_printf ("%u:%02u", s / 60, s % 60);
}

void
loom_cli_progress_show (LoomCliProgress *p, guint step, guint total, const char *detail,
                        double eta)
{
  gint64 now = g_get_monotonic_time ();
  gboolean last = total > 0 && step >= total;
  g_autofree char *left = clock_text (eta);
  g_autofree char *count = total > 0 ? g_strdup_printf ("%u/%u", step, total)
                                     : g_strdup_printf ("%u", step);

  /* A terminal is redrawn ten times a second, a log gets a line every five. */
  if (p->quiet || (!last && p->drawn && now - p->last < (p->tty ? 100000 : 5000000)))
    return;
  p->last = now;
  p->drawn = TRUE;
  if (p->tty)
    {
      double done = total > 0 ? (double) step / total
                  : eta > 0 ? (now - p->start) / 1e6 / ((now - p->start) / 1e6 + eta) : 0;
      guint filled = (guint) CLAMP (done * BAR_WIDTH, 0, BAR_WIDTH);
      char bar[BAR_WIDTH + 1];

      memset (bar, '#', filled);
      memset (bar + filled, '-', BAR_WIDTH - filled);
      bar[BAR_WIDTH] = 0;
      fprintf (stderr, "\r\033[K%s [%s] %s %s  ETA %s", p->what, bar, count,
               detail != NULL ? detail : "", left);
    }
  else
    fprintf (stderr, "%s: %s %s ETA %s\n", p->what, count, detail != NULL ? detail : "", left);
  fflush (stderr);
}

void
loom_cli_progress_end (LoomCliProgress *p)
{
  if (!p->quiet && p->tty && p->drawn)
    fputc ('\n', stderr);
  p->drawn = FALSE;
}

gboolean
loom_cli_on_train_step (const LoomTrainProgress *progress, gpointer data)
{
  LoomCliTraining *t = data;
  g_autoptr (GString) detail = g_string_new (NULL);

  t->step = progress->step;
  for (guint i = 0; i < progress->n_losses; i++)
    {
      if (i < G_N_ELEMENTS (t->losses))
        t->losses[i] = progress->losses[i].value;
      g_string_append_printf (detail, "%s%s %.*f", i > 0 ? " " : "", progress->losses[i].name,
                              progress->n_losses > 1 ? 3 : 4, progress->losses[i].value);
    }
  loom_cli_progress_show (&t->bar, progress->step, progress->total, detail->str, progress->eta);
  return !loom_cli_interrupted ();
}

/* ---- output ---------------------------------------------------------- */

void
loom_cli_print_json (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

void
loom_cli_print_summary (GVariantDict *dict, gint64 began, LoomDevice *device)
{
  g_autoptr (GVariant) all = NULL;
  g_autofree char *text = NULL;

  g_variant_dict_insert (dict, "seconds", "d", (g_get_monotonic_time () - began) / 1e6);
  g_variant_dict_insert (dict, "device", "s", loom_device_get_info (device)->name);
  g_variant_dict_insert (dict, "stopped", "b", loom_cli_interrupted ());
  all = g_variant_ref_sink (g_variant_dict_end (dict));
  text = json_gvariant_serialize_data (all, NULL);
  printf ("%s\n", text);
}

/* ---- files ----------------------------------------------------------- */

LoomWeights *
loom_cli_load_model (const char *path, GError **error)
{
  LoomWeights *w;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such file", path);
      return NULL;
    }
  w = loom_weights_load (path, error);   /* its errors name PATH */
  return w;
}

gboolean
loom_cli_check_output (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s: is a folder", path);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such folder '%s'", path, dir);
      return FALSE;
    }
  return TRUE;
}

/* LABELS' classes, the colours of COLORS (a model's classes, its first
 * KNOWN, when KNOWN > 0: a colour outside them is an error). */
float *
loom_cli_load_labels (const LoomImageFile *labels, guint width, guint height, GArray *colors,
                      guint known, GError **error)
{
  g_autofree float *out = NULL;

  if (labels->width != width || labels->height != height)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: the labels are %u×%u, the image %u×%u: they must be the same size",
                   labels->path, labels->width, labels->height, width, height);
      return NULL;
    }
  out = loom_image_file_labels (labels, colors, known > 0 ? 256 : LOOM_CLI_MAX_CLASSES, error);
  if (out == NULL)
    return NULL;
  if (known > 0 && colors->len > known)
    {
      const LoomColor *c = &g_array_index (colors, LoomColor, known);

      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: the colour #%02x%02x%02x is not one of the model's %u classes",
                   labels->path, c->r, c->g, c->b, known);
      return NULL;
    }
  return g_steal_pointer (&out);
}
