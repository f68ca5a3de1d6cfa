/* The scaffold both trainers stand on (segment/train.c, generative/train.c):
 * their images checked, packed in atlases for the device to cut crops from
 * (or cut on the host), and the step loop with its time budget, cancelling,
 * checkpoints and progress. */
#pragma once

#include <gio/gio.h>

#include <loom/loom-graph.h>
#include <loom/loom-train.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

/* An image as the trainers cut crops from it. */
typedef struct
{
  const float *planes;          /* channels × height × width */
  const float *labels;          /* height × width class numbers (−1: none), or NULL */
  guint        width, height;
} LoomTrainImage;

/* Whether $LOOM_HOST_CROPS asks for host crops (the configs' default; a
 * check that both paths train the same weights). */
gboolean loom_train_host_crops_from_env (void);

/* WHO ("segment", "gan") names the trainer in messages.  IMAGES have
 * pixels (and labels with NEED_LABELS); *SMALLEST is their shortest side. */
gboolean loom_train_check_images (const char *who, const LoomTrainImage *images,
                                  guint n_images, gboolean need_labels, guint *smallest,
                                  GError **error);
/* The side of the crops: WANTED cut to SMALLEST, a multiple of QUANTUM
 * and at least two of them, else an error naming MODEL ("a U-Net of depth
 * 3").  Then a batch of at least one ITEM and a budget. */
gboolean loom_train_check_crop   (const char *who, guint wanted, guint smallest, guint quantum,
                                  const char *model, guint *crop, GError **error);
gboolean loom_train_check_batch  (const char *who, guint batch, const char *item, guint steps,
                                  double seconds, GError **error);

/* The batches of crops a step trains on.  The images go to the device
 * once, packed in atlases, and the device cuts, flips and turns the crops
 * (affine_sample): a step sends a few floats a crop.  Atlases past what
 * the device binds at once, or HOST asked for, are cut on the host. */
typedef struct
{
  const LoomTrainImage *images;
  guint       n_images, channels, crop, batch;
  gboolean    on_device;
  guint32    *image_at, *label_at;      /* each image's offsets in the atlases */
  LoomTensor *atlas, *label_atlas, *maps_in;
  LoomTensor *x, *labels;               /* the crops (batch × channels × crop²) and their labels */
  float      *maps;                     /* batch × LOOM_AFFINE_FLOATS, the step's maps */
  float      *host_x, *host_labels;     /* host crops */
} LoomTrainCrops;

/* Packs IMAGES (kept, not copied) and declares the crops in G. */
void     loom_train_crops_init   (LoomTrainCrops *crops, LoomDevice *device, LoomGraph *g,
                                  const LoomTrainImage *images, guint n_images, guint channels,
                                  guint crop, guint batch, gboolean host);
/* After G is compiled: the atlases to the device. */
gboolean loom_train_crops_upload (LoomTrainCrops *crops, LoomGraph *g, GError **error);
/* Crop I of the step, whose geometry (loom_crop_map) is in
 * crops->maps[I]: from image IMAGE (its source set here; on the host, cut
 * now). */
void     loom_train_crops_place  (LoomTrainCrops *crops, guint i, guint image);
/* The step's crops to G: the maps, or the host's crops. */
gboolean loom_train_crops_write  (LoomTrainCrops *crops, LoomGraph *g, GError **error);
void     loom_train_crops_clear  (LoomTrainCrops *crops);
/* After the labels of image IMAGE (in the array given to init, same size)
 * were replaced: the new ones to the device's label atlas (host crops read
 * them from the array anyway). */
gboolean loom_train_crops_update_labels (LoomTrainCrops *crops, LoomGraph *g, guint image,
                                         GError **error);

/* One step of a trainer (STEP from 0; DONE the share of the budget spent,
 * 0…1, for schedules): its losses into LOSSES, or FALSE and ERROR. */
typedef gboolean     (*LoomTrainStepFunc)     (gpointer trainer, guint step, double done,
                                               float *losses, GError **error);
/* The weights after STEPS steps (checkpoints, the result). */
typedef LoomWeights *(*LoomTrainSnapshotFunc) (gpointer trainer, guint steps, GError **error);
/* Between steps, STEPS done: the trainer may take new data (live
 * training); FALSE and ERROR stop the run. */
typedef gboolean     (*LoomTrainRefreshFunc)  (gpointer trainer, guint steps, GError **error);

typedef struct
{
  guint                 steps;          /* 0: only the time budget */
  double                seconds;        /* 0: only the steps */
  const char           *checkpoint;     /* rewritten every … */
  guint                 checkpoint_every; /* … this many steps (0: never) */
  const char *const    *loss_names;     /* N_LOSSES of them */
  guint                 n_losses;
  LoomTrainProgressFunc progress;
  gpointer              data;
  GCancellable         *cancellable;
  LoomTrainRefreshFunc  refresh;        /* or NULL: called after a step, at most every … */
  double                refresh_seconds; /* … this many seconds (0: after every step) */
  gboolean              checkpoint_first; /* … and after the first step (a quick first answer) */
} LoomTrainLoop;

/* Runs STEP until the steps or the time are spent, CANCELLABLE is
 * cancelled or the progress says stop; returns SNAPSHOT of the steps done,
 * or NULL and ERROR.  REFRESH, if set, runs between steps (after the
 * checkpoint, before the progress) with the weights, the optimiser and the
 * schedule going on as they were. */
LoomWeights *loom_train_loop (const LoomTrainLoop *loop, LoomTrainStepFunc step,
                              LoomTrainSnapshotFunc snapshot, gpointer trainer,
                              GError **error);

G_END_DECLS
