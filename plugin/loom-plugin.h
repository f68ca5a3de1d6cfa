/* What Loom's GIMP 3 procedures share, a section per file: layers <->
 * tensors, the device, the models folder, dialogs, progress, the training
 * window, and the outputs of a segmentation (built off to the side,
 * inserted in one undo group).
 *
 * Errors are GErrors in GIMP_PLUG_IN_ERROR or the core's LOOM_ERROR; the
 * procedures hand them back with gimp_procedure_new_return_values. */
#pragma once

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include <loom/loom.h>
#include <loom/loom-segment.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

#define LOOM_PLUGIN_BINARY      "loom"
#define LOOM_PROC_TRAIN_SEG     "plug-in-loom-train-segmentation"
#define LOOM_PROC_SEGMENT       "plug-in-loom-segment"
#define LOOM_PROC_GENERATE      "plug-in-loom-generate"
#define LOOM_PROC_TRAIN_GEN     "plug-in-loom-train-generator"
#define LOOM_PROC_AUGMENT       "plug-in-loom-augment"
#define LOOM_PROC_PREFERENCES   "plug-in-loom-preferences"
#define LOOM_PLUGIN_MENU        "<Image>/Filters/Loom"
#define LOOM_PLUGIN_MAX_CLASSES 32   /* more colours than this is antialiasing */
#define LOOM_PLUGIN_MAX_TRAIN_LAYERS 16  /* image layers one training run takes */
/* Generate's model when none is given, inside the data folders */
#define LOOM_PLUGIN_DEFAULT_TEXTURE "weights/texture-gravel.safetensors"

/* ---- registration (train.c, segment.c, generate.c, train-generator.c,
 *      augment.c) ---- */
GimpProcedure *loom_train_segmentation_procedure_new (GimpPlugIn *plug_in, const gchar *name);
GimpProcedure *loom_segment_procedure_new            (GimpPlugIn *plug_in, const gchar *name);
GimpProcedure *loom_generate_procedure_new           (GimpPlugIn *plug_in, const gchar *name);
GimpProcedure *loom_train_generator_procedure_new    (GimpPlugIn *plug_in, const gchar *name);
GimpProcedure *loom_augment_procedure_new            (GimpPlugIn *plug_in, const gchar *name);
GimpProcedure *loom_preferences_procedure_new        (GimpPlugIn *plug_in, const gchar *name);

/* ---- layers' pixels (pixels.c) ---- */

/* Whether IMAGE is RGB, else an error that names PROCEDURE (grey and
 * indexed images are refused, not converted). */
gboolean      loom_plugin_check_rgb      (GimpProcedure *procedure, GimpImage *image,
                                          GError **error);
/* The one layer of DRAWABLES, of an RGB IMAGE, or NULL and an error that
 * names PROCEDURE and says what is wrong (grey and indexed images are
 * refused, not converted). */
GimpDrawable *loom_plugin_check_drawable (GimpProcedure *procedure, GimpImage *image,
                                          GimpDrawable **drawables, GError **error);
/* The same for one to MOST layers: their number, or 0 and an error. */
guint         loom_plugin_check_layers   (GimpProcedure *procedure, GimpImage *image,
                                          GimpDrawable **drawables, guint most,
                                          GError **error);

/* DRAWABLE's pixels as R, G, B planes (free with g_free) and, in *ALPHA,
 * its alpha plane; both W × H floats in [0, 1]. */
float        *loom_plugin_read_planes    (GimpDrawable *drawable, float **alpha);
/* DRAWABLE's pixels in "R'G'B'A u8" (free with g_free). */
guint8       *loom_plugin_read_rgba8     (GimpDrawable *drawable);
/* Whether any of the N values of ALPHA is below a half (then it is worth
 * passing as a mask). */
gboolean      loom_plugin_has_holes      (const float *alpha, gsize n);

/* ---- the device (preferences.c) ---- */

/* Opens $LOOM_DEVICE, else the device of Loom's preferences, else "auto". */
LoomDevice   *loom_plugin_open_device    (GError **error);
/* The device saved by Filters > Loom > Preferences (preferences.c), or NULL. */
gchar        *loom_plugin_preferred_device (void);

/* ---- the models folder (models-folder.c) ---- */

/* <gimp_directory ()>/loom/models (newly allocated). */
gchar        *loom_plugin_models_dir     (void);
/* <gimp_directory ()>/loom/checkpoints (newly allocated): where training
 * keeps its checkpoints until the model is saved. */
gchar        *loom_plugin_checkpoints_dir (void);
/* Where a training saves MODEL_NAME: *PATH in the models folder, and
 * *CHECKPOINT in the checkpoints folder (both folders made, both newly
 * allocated), or FALSE and an error. */
gboolean      loom_plugin_model_paths    (const gchar *model_name, gchar **path,
                                          gchar **checkpoint, GError **error);
/* FILE's name without its folder and ".safetensors" (how layers name a model). */
gchar        *loom_plugin_model_name     (GFile *file);
/* Whether NAME (a model name argument) makes one file in the models
 * folder, else an error saying what a name may be; a ".safetensors" at
 * its end is cut off in place. */
gboolean      loom_plugin_check_model_name (gchar *name, GError **error);
/* The newest *.safetensors in the models folder, or NULL and an error. */
GFile        *loom_plugin_newest_model   (GError **error);
/* A choice of the generator models shipped in the data folders' weights/
 * (by name, "texture-gravel"; LOOM_PLUGIN_NO_SHIPPED_MODEL first, labelled
 * NONE_LABEL), and the file a shipped NAME is (loom_data_path's). */
#define LOOM_PLUGIN_NO_SHIPPED_MODEL "none"
GimpChoice   *loom_plugin_shipped_generator_choice (const gchar *none_label);
gchar        *loom_plugin_shipped_model_path       (const gchar *name);

/* ---- dialogs (dialogs.c) ---- */

/* A dialog's default label layer: CONFIG's "label-layer", when it has
 * none, becomes the first layer of IMAGE other than DRAWABLE. */
void          loom_plugin_default_label_layer (GimpProcedureConfig *config, GimpImage *image,
                                               GimpDrawable *drawable);
/* GIMP's dialog of PROCEDURE's arguments, titled TITLE: TRUE for OK. */
gboolean      loom_plugin_dialog_run     (GimpProcedure *procedure, GimpProcedureConfig *config,
                                          const gchar *title);
/* The same with NOTE (may be NULL) as a label below the arguments. */
gboolean      loom_plugin_dialog_run_full (GimpProcedure *procedure,
                                           GimpProcedureConfig *config,
                                           const gchar *title, const gchar *note);
/* The two halves of loom_plugin_dialog_run_full, for a procedure that
 * adds to its dialog in between (which arguments apply to which choice):
 * the dialog filled, then run (with the screenshot hook) and destroyed. */
GtkWidget    *loom_plugin_dialog_new     (GimpProcedure *procedure, GimpProcedureConfig *config,
                                          const gchar *title, const gchar *note);
gboolean      loom_plugin_dialog_wait    (GimpProcedure *procedure, GtkWidget *dialog);
/* The test suite's screenshots (tests/test-plugin-dialogs.py), off unless
 * $LOOM_PLUGIN_SCREENSHOTS names a folder: then DIALOG, once drawn, saves
 * itself as <that folder>/NAME.png and clicks its button for RESPONSE. */
void          loom_plugin_screenshot_then_press (GtkDialog *dialog, const gchar *name,
                                                 gint response);

/* ---- progress (progress.c) ---- */

/* "1:05" */
gchar        *loom_plugin_clock_text     (double seconds);

/* Progress on GIMP's bar, at most a few updates a second. */
typedef struct
{
  const gchar *what;           /* "Training", "Segmenting" */
  const gchar *device;         /* the device's name, shown in the text */
  gint64       start, last;
} LoomPluginProgress;

void          loom_plugin_progress_init  (LoomPluginProgress *p, const gchar *what,
                                          LoomDevice *device);
/* STEP of TOTAL (0: a time budget only), DETAIL (may be NULL), ETA seconds. */
void          loom_plugin_progress_show  (LoomPluginProgress *p, guint step, guint total,
                                          const gchar *detail, double eta);

/* ---- the training window (train-window.c) ---- */

/* Loom's own window for a training: device, step, losses, time, progress,
 * a curve per named loss (every step kept), a preview, Stop and Cancel.
 * new, run and free belong to the main thread; update, set_preview,
 * set_status and get_state may be called from the training thread. */
typedef struct _LoomTrainWindow LoomTrainWindow;

typedef enum
{
  LOOM_TRAIN_WINDOW_RUNNING,
  LOOM_TRAIN_WINDOW_STOP,      /* finish now and keep the model */
  LOOM_TRAIN_WINDOW_CANCEL     /* stop and keep nothing (also: the window closed) */
} LoomTrainWindowState;

/* Shows the window.  ROLE names it (and its screenshot), CURVES the
 * losses (NULL-terminated, at least one: "loss"; "D", "G"). */
LoomTrainWindow     *loom_train_window_new         (const gchar *role, const gchar *title,
                                                    const gchar *device,
                                                    const gchar *const *curves);
/* STEP of TOTAL (0: a time budget only), one value per curve, ETA seconds. */
void                 loom_train_window_update      (LoomTrainWindow *window, guint step,
                                                    guint total, const float *losses,
                                                    double eta);
/* A new preview picture (referenced; shown scaled to fit 256 pixels). */
void                 loom_train_window_set_preview (LoomTrainWindow *window, GdkPixbuf *preview);
/* The same from RGBA, W × H pixels of "R'G'B'A u8" (copied). */
void                 loom_train_window_set_preview_rgba8 (LoomTrainWindow *window,
                                                          const guint8 *rgba, guint w, guint h);
/* What makes the preview: FUNC (DATA), in the training thread, at every
 * EVERY-th step (a checkpoint's) while the training runs. */
void                 loom_train_window_set_previewer (LoomTrainWindow *window, guint every,
                                                      GFunc func, gpointer data);
/* A training's per-step callback with the window: update, the preview
 * when due; whether to go on (FALSE after Stop or Cancel). */
gboolean             loom_train_window_step        (LoomTrainWindow *window, guint step,
                                                    guint total, const float *losses,
                                                    double eta);
/* A line under the curve ("Saving the model…"). */
void                 loom_train_window_set_status  (LoomTrainWindow *window, const gchar *text);
LoomTrainWindowState loom_train_window_get_state   (LoomTrainWindow *window);
/* Runs FUNC (DATA) in a worker thread, the window live meanwhile, and
 * returns its result.  FUNC must not call libgimp. */
gpointer             loom_train_window_run         (LoomTrainWindow *window, GThreadFunc func,
                                                    gpointer data);
void                 loom_train_window_free        (LoomTrainWindow *window);

/* One training, in Loom's window (interactive runs) or under GIMP's
 * progress bar (batch runs): what both trainers share.  It sits first in
 * each trainer's state; their training function (in the worker thread
 * with the window) sets RESULT or ERROR. */
typedef struct
{
  LoomTrainWindow    *window;          /* NULL: GIMP's progress bar */
  LoomPluginProgress  bar;
  LoomDevice         *preview_device;  /* the window's previews run on the CPU */
  gboolean            preview_first;   /* a preview after the first step too (the
                                        * segmentation's phase one checkpoints it) */
  LoomWeights        *result;
  GError             *error;
} LoomTrainRun;

/* Runs TRAIN (DATA, whose state holds RUN): with RUN_MODE interactive in
 * a window named ROLE for MODEL_NAME, on DEVICE, with CURVES and PREVIEW
 * (DATA) at every EVERY-th step; else under GIMP's progress bar.  Returns
 * the weights (after Cancel too, with *CANCELLED set), or NULL and ERROR.
 * The window is gone when it returns. */
LoomWeights *loom_train_run      (LoomTrainRun *run, GimpRunMode run_mode, const gchar *role,
                                  const gchar *model_name, LoomDevice *device,
                                  const gchar *const *curves, guint every, GFunc preview,
                                  GThreadFunc train, gpointer data, gboolean *cancelled,
                                  GError **error);
/* A training's per-step callback (DATA: its LoomTrainRun): GIMP's bar
 * (the losses by name) or the window (a curve each); whether to go on. */
#define LOOM_TRAIN_MAX_LOSSES 4
gboolean     loom_train_run_step (const LoomTrainProgress *progress, gpointer data);
/* A finished training's RESULT saved as PATH and its CHECKPOINT removed
 * (the model has it all now). */
gboolean     loom_train_save     (LoomWeights *result, const gchar *path,
                                  const gchar *checkpoint, GError **error);
/* A trainer's answer: when OK, SUCCESS with the model's file PATH and
 * LAYER (made with the new model, may be NULL), GIMP's progress bar ended;
 * else CANCEL when CANCELLED, or EXECUTION_ERROR with ERROR (taken). */
GimpValueArray *loom_train_return_values (GimpProcedure *procedure, gboolean ok,
                                          gboolean cancelled, GError *error,
                                          const gchar *path, GimpLayer *layer);

/* ---- segmentation outputs (segment-output.c) ---- */

/* Per-class layers a segmentation can make, in a layer group. */
typedef enum
{
  LOOM_CLASS_LAYERS_NONE,
  LOOM_CLASS_LAYERS_MASKS,     /* a copy of the source per class, with the class as its mask */
  LOOM_CLASS_LAYERS_CUTOUTS    /* the source's pixels of each class, the rest transparent */
} LoomPluginClassLayers;

/* What a segmentation makes. */
typedef struct
{
  gboolean              label_layer;    /* the classes in their colours */
  gboolean              confidence;     /* grey: white where the model is sure */
  guint32               select_classes; /* bit k: class k joins the selection (0: none) … */
  GimpChannelOps        channel_op;     /* … combined with the one there is this way */
  LoomPluginClassLayers class_layers;
  gboolean              probabilities;  /* a group: a source copy per class, its probability the mask */
  gboolean              uncertainty;    /* grey: white where every class is alike */
  guint                 paint_next;     /* mark this many squares to paint next (0: none) */
  gboolean              evidence;       /* grey: what pushed the selection towards its class */
} LoomPluginOutputs;

/* The classes SPEC names, as bits into *MASK: numbers from 0 (the first
 * colour painted), class names or "#rrggbb" colours, separated by commas;
 * "" is none.  An error names what is not a class of COLORS / NAMES (the
 * model MODEL_NAME's table). */
gboolean      loom_plugin_parse_classes  (const gchar *spec, const GArray *colors,
                                          char **names, const gchar *model_name,
                                          guint32 *mask, GError **error);

/* Segments DRAWABLE of IMAGE with WEIGHTS (named MODEL_NAME in the new
 * layers' names) and adds OUTPUTS to the image in one undo group, above
 * DRAWABLE and at its offsets.  Only pixels inside an active selection are
 * written; DRAWABLE's transparent pixels stay unlabelled.  The class layers
 * go into a group "Classes (MODEL_NAME)", one layer per class named by the
 * class (*CLASS_GROUP, may be NULL, gets it).  Nothing touches
 * the image before every result is computed; on an error nothing has.
 * *LABEL_LAYER (may be NULL) gets the label layer if one was made. */
gboolean      loom_plugin_segment        (GimpImage *image, GimpDrawable *drawable,
                                          LoomDevice *device, LoomWeights *weights,
                                          const gchar *model_name,
                                          const LoomPluginOutputs *outputs,
                                          GimpLayer **label_layer, GimpLayer **class_group,
                                          GError **error);

G_END_DECLS
