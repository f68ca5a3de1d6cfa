/* Segmentation from scribbles: train a U-Net on images whose pixels are
 * mostly unlabelled, then label every pixel of an image of any size.
 *
 * Images are planes of floats (in_channels × H × W, see loom-image.h);
 * labels are H × W floats holding class numbers, LOOM_UNLABELLED (−1) for
 * pixels nobody painted. */
#pragma once

#include <gio/gio.h>

#include <loom/loom-image.h>
#include <loom/loom-train.h>
#include <loom/loom-unet.h>

G_BEGIN_DECLS

typedef struct
{
  const float *planes;          /* in_channels × height × width */
  const float *labels;          /* height × width, or NULL (prediction) */
  guint        width, height;
  const float *mask;            /* height × width (alpha), or NULL: pixels below 0.5 are
                                 * not part of the image — never trained on, predicted
                                 * LOOM_UNLABELLED with confidence 0 */
} LoomSegmentImage;

/* Live training (LoomSegmentConfig's refresh): called between steps with
 * STEPS done and CURRENT, the weights so far (the trainer's, valid during
 * the call: save them, predict a preview with them).  To fold new strokes
 * in without starting over, set LABELS[i] (N_IMAGES of them, all NULL on
 * entry: unchanged) to new labels of image i, the same size, kept by the
 * caller until the next call or the end of the training (the trainer
 * copies them after the call).  The weights, the optimiser's state and the
 * schedule go on; the crops follow the new labelled pixels and the class
 * weights their new counts.  A class number past the model's (below
 * LOOM_SEGMENT_MAX_CLASSES) grows the head: the known classes' rows kept,
 * the new ones fresh, Adam's moments started afresh (the graph is built
 * again); the caller appends the new classes' colours to CONFIG->colors (a
 * GArray it owns) in the call, names beyond CONFIG->names become "class N".
 * Labels refused (nothing painted, a bad class) stop the training: FALSE
 * and ERROR likewise. */
#define LOOM_SEGMENT_MAX_CLASSES 1024
typedef gboolean (*LoomSegmentRefreshFunc) (guint steps, LoomWeights *current,
                                            const float **labels, guint n_images,
                                            gpointer data, GError **error);

/* Edges that follow the image: class probabilities through a guided
 * filter of RADIUS (0: none; at most a thirtieth of the image's shorter
 * side) and EPS whose guide is the image's grey
 * (segment/refine.c).  A model file carries its setting
 * (LOOM_METADATA_REFINE, written by training); prediction applies it. */
#define LOOM_METADATA_REFINE "loom.refine"

typedef struct
{
  guint radius;
  float eps;
} LoomSegmentRefine;

typedef struct
{
  LoomUNetConfig unet;          /* classes: how many the labels use */
  guint    crop;                /* side of the square training crops (multiple of 2^depth) */
  guint    batch;               /* crops per step */
  guint    steps;               /* stop after this many (0: only the time budget) */
  double   seconds;             /* stop after this long (0: only the step count) */
  float    learning_rate;       /* Adam's, decayed to 5 % along a cosine over the steps or time */
  guint32  seed;                /* crops, augmentation and fresh weights */
  gboolean balance;             /* weigh classes by the inverse of their labelled pixels */
  gboolean augment;             /* random flips and 90° turns of each crop, and: */
  double   rotate;              /* … a rotation within ± this many degrees */
  double   scale;               /* … a scale within [1 / scale, scale] (≤ 1: none) */
  double   shear;               /* … a shear within ± this factor */
  double   elastic;             /* … an elastic deformation of up to this many pixels */
  double   color;               /* 0…1: brightness, contrast, saturation, hue, gamma jitter */
  double   noise;               /* largest deviation of added Gaussian noise */
  double   blur;                /* chance of a Gaussian blur (deviation 0.3–1.5 pixels) */
  double   cutout;              /* chance of a grey square over a quarter of the crop */
  const char *checkpoint;       /* a weights file rewritten (atomically) every … */
  guint    checkpoint_every;    /* … this many steps (0: never) */
  gboolean start_features;      /* START (loom_segment_train) is a starting point for other
                                 * classes: all of it but the head, which starts fresh */
  const GArray *colors;         /* the class table (loom_segment_set_classes) put in every */
  const char *const *names;     /* file made, checkpoints too; NULL: none */
  gboolean host_crops;          /* cut the crops on the host, not the device (the same
                                 * weights; a check): $LOOM_HOST_CROPS set at config init */
  /* Phase one: the run's first step fits a small classifier of single
   * pixels on fixed multi-scale features (a first answer within seconds);
   * the network's steps follow, and the model's answer blends the two. */
  gboolean pixel_head;
  guint    head_hidden;         /* its hidden units per layer */
  guint    head_steps;          /* its full-batch Adam steps */
  float    head_blend;          /* its share of the answer once the network has trained
                                 * (1: the head alone, 0: the network alone) */
  guint    head_ramp;           /* network steps over which the head's share falls from
                                 * 1 to HEAD_BLEND */
  LoomSegmentRefine refine;     /* what the model's predictions do to their edges */
  LoomSegmentRefreshFunc refresh; /* live training, or NULL: called between steps, at */
  double   refresh_seconds;     /* most every this many seconds (0: after every step), */
  gpointer refresh_data;        /* with this */
} LoomSegmentConfig;

/* Sensible defaults for CLASSES classes: a U-Net of depth 3, base 16, crops
 * of 128, batch 4, 300 steps, Adam at 5e-3, balanced, augmented (flips,
 * turns, ±20°, scale 0.8–1.25, shear ±0.1, elastic 2 pixels, colour
 * jitter 0.5, noise up to 0.02, blur one crop in five, no cutout), and
 * phase one's pixel head (64 hidden units, 300 steps, blended 1 → 0.5
 * over the network's first 200 steps), predictions refined by a guided
 * filter of radius 16, ε 0.01. */
void         loom_segment_config_init (LoomSegmentConfig *config, guint classes);
/* Scales the augmentation the config holds by STRENGTH: 0 none, 1 as is,
 * 2 twice as strong (chances capped at 1); the command line's --augment
 * and the plug-in's "augment" argument. */
void         loom_segment_config_set_augment_strength (LoomSegmentConfig *config,
                                                       double strength);

/* Trains on IMAGES (labels required) and returns the weights (the U-Net's
 * architecture and provenance in their metadata).  START, if not NULL,
 * holds weights to begin from (fine-tuning, resuming a checkpoint): its
 * architecture wins over CONFIG's; with CONFIG->start_features, all but
 * its classes (a pretrained starting point, its head left out).  PROGRESS
 * gets every step's "loss"; CANCELLABLE stops between steps with the
 * weights so far, like PROGRESS returning FALSE.  CONFIG->refresh trains
 * live: new labels while it runs (LoomSegmentRefreshFunc). */
LoomWeights *loom_segment_train   (LoomDevice *device, const LoomSegmentConfig *config,
                                   const LoomSegmentImage *images, guint n_images,
                                   LoomWeights *start, LoomTrainProgressFunc progress,
                                   gpointer data, GCancellable *cancellable, GError **error);

/* Labels every pixel of IMAGE with WEIGHTS: CLASSES (H × W class numbers)
 * and CONFIDENCE (H × W, the largest softmax probability), either may be
 * NULL.  The image runs in overlapping TILE × TILE pieces (0: 256) whose
 * predictions are blended, a band of rows at a time, so its size is bound
 * by neither memory nor the device's storage range.  PROGRESS gets tiles
 * done of the total (no losses). */
gboolean     loom_segment_predict (LoomDevice *device, LoomWeights *weights,
                                   const LoomSegmentImage *image, guint tile,
                                   float *classes, float *confidence,
                                   LoomTrainProgressFunc progress, gpointer data,
                                   GCancellable *cancellable, GError **error);

/* loom_segment_predict, and PROBABILITIES too (classes × H × W, or NULL):
 * the blended softmax whose argmax is CLASSES and whose largest value is
 * CONFIDENCE; all 0 at masked pixels. */
gboolean     loom_segment_predict_probabilities (LoomDevice *device, LoomWeights *weights,
                                                 const LoomSegmentImage *image, guint tile,
                                                 float *classes, float *confidence,
                                                 float *probabilities,
                                                 LoomTrainProgressFunc progress, gpointer data,
                                                 GCancellable *cancellable, GError **error);

/* CLASSES probabilities (classes × H × W) of IMAGE (CHANNELS planes)
 * refined in place as REFINE says. */
gboolean     loom_segment_refine     (const LoomSegmentImage *image, guint channels, guint classes,
                                      const LoomSegmentRefine *refine, float *probabilities,
                                      GError **error);
/* A model's refinement (radius 0 when it says none), or an error for a
 * malformed one; and setting it (the command line's segment --refine). */
gboolean     loom_segment_get_refine (LoomWeights *weights, LoomSegmentRefine *refine,
                                      GError **error);
void         loom_segment_set_refine (LoomWeights *weights, const LoomSegmentRefine *refine);

/* ---- explanations (segment/explain.c) ---- */

/* UNCERTAINTY (N values): the entropy of each pixel's CLASSES
 * probabilities (classes × N, as loom_segment_predict_probabilities makes
 * them) over log CLASSES: 0 sure, 1 every class alike; 0 where all are 0. */
void         loom_segment_entropy (const float *probabilities, guint classes, gsize n,
                                   float *uncertainty);

typedef struct
{
  guint x, y, width, height;    /* a square of the image (smaller only in a smaller image) */
  float score;                  /* its mean uncertainty */
} LoomSegmentRegion;

/* "Paint here next": up to COUNT squares of BLOCK pixels (0: a tenth of
 * the image's shorter side, 8 to 64) on a grid over UNCERTAINTY (W × H;
 * the last row and column flush with the edges), the most uncertain
 * first, no two touching; squares whose mean is below
 * 0.05 are left out (nothing there needs a stroke).  LoomSegmentRegion. */
GArray      *loom_segment_paint_next (const float *uncertainty, guint width, guint height,
                                      guint count, guint block);
/* REGIONS marked on RGBA (W × H, STRIDE bytes a row): an opaque outline,
 * two pixels wide, around a translucent fill, both magenta. */
void         loom_segment_mark_regions (const GArray *regions, guint8 *rgba, guint width,
                                        guint height, gsize stride);

/* Which parts of IMAGE push REGION (W × H, pixels at 0.5 or more; masked
 * ones left out) towards class KLASS: occlusion sensitivity.  Around the
 * region (a margin of 8 × 2^depth pixels), square patches of PATCH pixels
 * (0: a 24th of that window's longer side, at least 4) are greyed out (the
 * window's mean colour) one at a time; EVIDENCE (W × H) gets at each
 * patch's pixels how much the class's mean probability over the region
 * fell (≥ 0; 0 outside the window).  PROGRESS gets patches done. */
gboolean     loom_segment_evidence (LoomDevice *device, LoomWeights *weights,
                                    const LoomSegmentImage *image, const float *region,
                                    guint klass, guint patch, float *evidence,
                                    LoomTrainProgressFunc progress, gpointer data,
                                    GCancellable *cancellable, GError **error);
/* The class CLASSES (N class numbers, as predicted) holds most often
 * inside REGION (N values, 0.5 or more; NULL: everywhere), of N_CLASSES;
 * −1 where the region holds no labelled pixel. */
gint         loom_segment_region_class (const float *classes, const float *region, gsize n,
                                        guint n_classes);
/* The class WORD names in COLORS/NAMES: its number, its name (any case)
 * or its #rrggbb colour; −1 for none. */
gint         loom_segment_find_class (const GArray *colors, const char *const *names,
                                      const char *word);

/* Augmented copies of an image and its labels, for data sets: COUNT
 * random crops of SIZE × SIZE (0: the largest multiple of 8 the image
 * holds), each through a random map (CONFIG's rotate, scale, flips, turns)
 * and jitter (its color, noise, blur, cutout), from CONFIG's seed, on
 * DEVICE.  Labels (IMAGE->labels may be NULL) follow the same geometry:
 * nearest pixel, unlabelled where a crop leaves the image.  OUT_PLANES:
 * COUNT × in_channels × SIZE²; OUT_LABELS (or NULL): COUNT × SIZE². */
gboolean     loom_segment_augment (LoomDevice *device, const LoomSegmentConfig *config,
                                   const LoomSegmentImage *image, guint count, guint size,
                                   float *out_planes, float *out_labels, GError **error);

/* The class table in a weights file's metadata (LOOM_METADATA_CLASSES):
 * COLORS (LoomColor, in training order) and their NAMES (NULL: "class 1",
 * "class 2", …). */
void         loom_segment_set_classes (LoomWeights *weights, const GArray *colors,
                                       const char *const *names);
/* The table back: colours, and names if NAMES is not NULL (free with
 * g_strfreev); an error for a file without one or a malformed one. */
GArray      *loom_segment_get_classes (LoomWeights *weights, char ***names, GError **error);

G_END_DECLS
