/* What the commands of `loom` share: exit statuses, the device, progress
 * on the terminal, Ctrl-C, JSON output. */
#pragma once

#include <stdio.h>

#include <json-glib/json-glib.h>

#include <loom/loom.h>
#include <loom/loom-train.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

#define EXIT_USAGE 2            /* bad usage; 1 (EXIT_FAILURE) is a runtime error */

/* Parses ARGV with ENTRIES for COMMAND, SUMMARY the sentence under --help's
 * usage line, and the options every command has (--verbose); on a bad
 * option prints one line and returns FALSE (exit with EXIT_USAGE).
 * Arguments that are not options are left in ARGV[1…] (ARGC updated). */
gboolean     loom_cli_parse      (const char *command, const char *summary,
                                  const GOptionEntry *entries, int *argc, char ***argv);
/* Whether --verbose was given: GEGL's, GLib's and the codecs' warnings
 * reach stderr only then. */
gboolean     loom_cli_verbose    (void);
/* TEXT (UTF-8: --help, the usage) on OUT, in ASCII where the locale's
 * charset is not UTF-8. */
void         loom_cli_puts       (FILE *out, const char *text);

/* "loom COMMAND: MESSAGE" on stderr; returns STATUS. */
int          loom_cli_fail       (const char *command, int status, const char *format, ...)
                                 G_GNUC_PRINTF (3, 4);

/* The device SPEC names (NULL: $LOOM_DEVICE, else auto); says which on
 * stderr unless QUIET. */
LoomDevice  *loom_cli_open_device (const char *spec, gboolean quiet, GError **error);

/* Ctrl-C: the first one asks training to stop (loom_cli_interrupted turns
 * TRUE; the work so far is kept), a second one kills as usual. */
void         loom_cli_catch_interrupt (void);
gboolean     loom_cli_interrupted     (void);

/* Progress of a long command: a bar redrawn in place on a terminal, a
 * plain line every few seconds otherwise, nothing when quiet. */
typedef struct
{
  const char *what;
  gboolean    quiet, tty;
  gint64      start, last;
  gboolean    drawn;
} LoomCliProgress;

void         loom_cli_progress_init (LoomCliProgress *p, const char *what, gboolean quiet);
/* STEP of TOTAL (0: unknown), DETAIL (e.g. the losses) and the seconds left. */
void         loom_cli_progress_show (LoomCliProgress *p, guint step, guint total,
                                     const char *detail, double eta);
void         loom_cli_progress_end  (LoomCliProgress *p);

/* A training run on a progress bar: each step's losses by name ("loss
 * 0.1234"; several with fewer digits, "D 0.693 G 0.693"), the last step
 * and its losses kept for the summary.  Ctrl-C stops it. */
typedef struct
{
  LoomCliProgress bar;
  guint           step;
  float           losses[4];
} LoomCliTraining;

gboolean     loom_cli_on_train_step (const LoomTrainProgress *progress, gpointer data);

void         loom_cli_print_json (JsonBuilder *b);
/* A training's summary on stdout as one JSON object: DICT's members, then
 * the seconds since BEGAN, DEVICE's name and whether Ctrl-C stopped it. */
void         loom_cli_print_summary (GVariantDict *dict, gint64 began, LoomDevice *device);

/* Classes a new model may have: more colours than this in a label image is
 * antialiasing or a blended layer, not a plan. */
#define LOOM_CLI_MAX_CLASSES 32

/* A weights file, errors naming it. */
LoomWeights *loom_cli_load_model   (const char *path, GError **error);
/* Whether a file can be made at PATH (its folder exists, it is no folder). */
gboolean     loom_cli_check_output (const char *path, GError **error);

typedef struct _LoomImageFile LoomImageFile;
/* LABELS' classes (W × H floats, −1 unlabelled) for an image of WIDTH ×
 * HEIGHT, colours matched against COLORS and new ones appended (at most
 * LOOM_CLI_MAX_CLASSES); with KNOWN > 0, COLORS is a model's table of KNOWN
 * classes and a colour outside it is an error. */
float       *loom_cli_load_labels  (const LoomImageFile *labels, guint width, guint height,
                                    GArray *colors, guint known, GError **error);

/* The commands. */
int loom_cmd_info      (int argc, char **argv);
int loom_cmd_bench     (int argc, char **argv);
int loom_cmd_train_seg (int argc, char **argv);
int loom_cmd_segment   (int argc, char **argv);
int loom_cmd_train_gan (int argc, char **argv);
int loom_cmd_generate  (int argc, char **argv);
int loom_cmd_augment   (int argc, char **argv);
int loom_cmd_demo      (int argc, char **argv);
int loom_cmd_explain   (int argc, char **argv);

/* explain-command.c: VALUES (W × H, 0…1) as an 8-bit grey file, with
 * ALPHA if not NULL; DIR/K-rrggbb.png for each class's PROBABILITIES
 * (CLASSES × W × H; those COLORS names), DIR made; whether DIR can be one. */
gboolean     loom_cli_save_grey   (const char *path, const float *values, const float *alpha,
                                   guint width, guint height, GError **error);
gboolean     loom_cli_save_probabilities (const char *dir, const float *probabilities,
                                          guint classes, const GArray *colors, const float *alpha,
                                          guint width, guint height, GError **error);
gboolean     loom_cli_check_folder (const char *dir, GError **error);

G_END_DECLS
