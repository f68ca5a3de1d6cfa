/* Training GANs and generating images with them (the architectures are in
 * loom-gan.h).
 *
 * Training runs the generator G and the discriminator D in one graph: D
 * judges real crops, G's images with G detached, and G's images through
 * D's detached weights; one backward pass and one Adam update train both
 * (simultaneous updates).  The optional R1 penalty is estimated without
 * second derivatives: E[(D(x + εδ) − D(x))²] / ε² = ‖∇ₓD(x)‖² + O(ε) for
 * δ ~ N(0, I), from a second D pass on noised real crops.  Real crops are
 * cut on the device from the images packed in an atlas (op affine_sample:
 * random crops, flips and quarter turns where they keep the texture).  G's weights are
 * followed by an exponential moving average, which is what gets saved and
 * generates. */
#pragma once

#include <gio/gio.h>

#include <loom/loom-gan.h>
#include <loom/loom-train.h>

G_BEGIN_DECLS

typedef enum
{
  LOOM_GAN_LOSS_NON_SATURATING, /* BCE: D real → 1, fake → 0; G fake → 1 */
  LOOM_GAN_LOSS_HINGE           /* D: max(0, 1 − real) + max(0, 1 + fake); G: −fake */
} LoomGanLoss;

/* An augmentation of the real crops: off, on, or (textures' default) on
 * only where it leaves the sample's statistics unchanged, as measured
 * (loom_generative_config_resolve_orientation).  FALSE and TRUE are off
 * and on. */
typedef enum
{
  LOOM_AUGMENT_OFF = FALSE,
  LOOM_AUGMENT_ON = TRUE,
  LOOM_AUGMENT_AUTO
} LoomAugmentChoice;

typedef struct
{
  const float *planes;          /* channels × height × width, values in [0, 1] */
  guint        width, height;
  const float *labels;          /* pix2pix: height × width class numbers (−1: none), else NULL */
} LoomGenerativeImage;

typedef struct
{
  LoomGanConfig gan;
  guint       crop;             /* texture: side of the training crops (a multiple of
                                 * 2^levels); dcgan: its image side, whatever this says */
  guint       batch;
  guint       steps;            /* stop after this many (0: only the time budget) */
  double      seconds;          /* stop after this long (0: only the step count) */
  float       learning_rate;    /* Adam's, both networks */
  float       beta1;            /* Adam's β₁ (0.5, as DCGAN) */
  LoomGanLoss loss;
  float       l1;               /* pix2pix: weight of |G(labels) − image| in G's loss */
  float       r1;               /* γ of the R1 penalty γ/2·‖∇ₓD(real)‖² (0: none) */
  float       ema;              /* decay of G's moving average (0: save the live weights) */
  guint32     seed;             /* fresh weights, noise, crops */
  gboolean    augment;          /* FALSE: no flips or turns of the real crops, whatever … */
  LoomAugmentChoice flip_h;     /* … these say: mirror images left to right, */
  LoomAugmentChoice turns;      /* quarter turns (not for oriented textures: bricks, bark), */
  LoomAugmentChoice flip_v;     /* upside down (with FLIP_H and TURNS: all eight) */
  const char *checkpoint;       /* a weights file rewritten (atomically) every … */
  guint       checkpoint_every; /* … this many steps (0: never) */
  const GArray *colors;         /* pix2pix: the label maps' colours (LoomColor, class i at i), */
                                /* put in every file made (loom_segment_set_classes); or NULL */
  gboolean    host_crops;       /* cut the real crops on the host, not the device (the same
                                 * weights; a check): $LOOM_HOST_CROPS set at config init */
} LoomGenerativeConfig;

/* Defaults for KIND on images of CHANNELS planes:
 *   dcgan:   64×64 (levels 4), latent 100, widths 64, batch 64, 2000 steps;
 *   texture: tileable, levels 4, latent 16, widths 16, crops of 64, batch 16,
 *            1000 steps;
 *   pix2pix: U-Net depth 4, base 16, 1 noise plane, D width 32, crops of 128,
 *            batch 4, 1000 steps, L1 weight 100, no average (CONFIG->gan.classes
 *            is left 0: set it to the label maps' class count);
 * all Adam 2e-4 with β₁ 0.5, the non-saturating loss, average decay 0.999
 * (but pix2pix), seed 1; augmented: DCGAN left-right flips only, pix2pix
 * all eight flips and turns, textures each flip and the turns where the
 * sample's statistics allow (LOOM_AUGMENT_AUTO). */
void         loom_generative_config_init (LoomGenerativeConfig *config, LoomGanKind kind,
                                          guint channels);
/* The generator's image-size rule, for the faces' "size": a DCGAN learns
 * square images of SIZE = 32, 64, 128 or 256 pixels (its levels follow),
 * other kinds crops of SIZE, a multiple of 2^levels from 16 to 1024; 0
 * keeps the default (a DCGAN 64).  FALSE with an error that follows the
 * size ("48: a DCGAN learns …"). */
gboolean     loom_generative_config_set_size (LoomGenerativeConfig *config, guint size,
                                              GError **error);

/* How much each flip and the quarter turn change a sample's statistics:
 * the histogram of its signed gradient directions (grey, weighted by the
 * gradients' lengths, at scales 1, 1/2, 1/4, … down to 64 pixels a side),
 * against that of the flipped or turned sample, half the L1 distance
 * between the two normalised histograms (0: unchanged, 1: disjoint), the
 * largest over the scales.  Isotropic textures (scikit-image's grass and
 * gravel, cork, paper) measure under 0.1; a brick wall's turn 0.57. */
typedef struct
{
  double flip_h, flip_v, turn;
} LoomOrientation;

#define LOOM_ORIENTATION_THRESHOLD 0.15   /* at most this: the augmentation keeps the texture */

void         loom_generative_measure_orientation (const LoomGenerativeImage *images,
                                                  guint n_images, guint channels,
                                                  LoomOrientation *out);
/* CONFIG's LOOM_AUGMENT_AUTO choices made: on where the measure of IMAGES
 * is at most LOOM_ORIENTATION_THRESHOLD (every choice then OFF or ON);
 * the measures into MEASURED, if not NULL.  Training does this itself;
 * the faces call it to report the choice. */
void         loom_generative_config_resolve_orientation (LoomGenerativeConfig *config,
                                                         const LoomGenerativeImage *images,
                                                         guint n_images,
                                                         LoomOrientation *measured);

/* DCGAN defaults for a time budget, for when the user sets no width,
 * batch or learning rate: the widest network (widths 64, 48, 32, 24, 16;
 * batch 64 before 32 at each) whose estimated steps in SECONDS on a device
 * of GFLOPS (effective training rate) reach LOOM_GAN_BUDGET_STEPS — else
 * the narrowest at batch 32 — at DCGAN's learning rate.  STEPS: the
 * estimate for the choice.  Pure: the same arguments, the same choice. */
#define LOOM_GAN_BUDGET_STEPS 3000

typedef struct
{
  guint  width, batch;
  float  learning_rate;
  double steps;
} LoomGanBudget;

void         loom_generative_dcgan_budget (guint levels, guint channels, double seconds,
                                           double gflops, LoomGanBudget *out);
/* The flops of one DCGAN training step of BATCH images (G forward and
 * backward, D on three batches), counted from the layers' shapes. */
double       loom_generative_dcgan_step_flops (const LoomGanConfig *config, guint batch);
/* A device's nominal effective training rate, GFLOP/s: 50 a processor for
 * the CPU (a 64-px DCGAN of width 64, batch 64, ran 384 steps in 600 s on
 * two: 102), 300 for an integrated GPU, 2000 for a discrete one (not yet
 * measured). */
double       loom_generative_device_gflops (const LoomDeviceInfo *info);

/* Trains on IMAGES (dcgan: every one of the image side; texture: crops of
 * any of them; pix2pix: crops of them and their label maps) and returns the weights (architecture and provenance in
 * their metadata).  START, if not NULL, holds weights to go on from (a
 * checkpoint, or a model to fine-tune): its architecture wins.  A loss
 * that stops being finite, or a discriminator that wins outright for a
 * long stretch, ends training with an error instead of weights.  PROGRESS
 * gets every step's "D" and "G" losses; CANCELLABLE stops between steps,
 * keeping the weights so far. */
LoomWeights *loom_generative_train    (LoomDevice *device, const LoomGenerativeConfig *config,
                                       const LoomGenerativeImage *images, guint n_images,
                                       LoomWeights *start, LoomTrainProgressFunc progress,
                                       gpointer data, GCancellable *cancellable,
                                       GError **error);

/* What a request to generate from a model of GAN may ask, checked once
 * for the faces: a label → image model paints a label map (LABELS) at the
 * map's size, and only it takes one; a DCGAN makes images of its own side;
 * TILEABLE needs a texture model trained tileable, at sizes its tiles
 * divide.  *WIDTH and *HEIGHT (0: the model's, 512 for a texture, a
 * DCGAN's side; a label map's are its own) come back resolved.  Errors are
 * LOOM_GENERATE_ERROR's, their messages going on from the model's name
 * ("… makes 32×32 images only"): the faces word them in their terms. */
#define LOOM_GENERATE_ERROR (loom_generate_error_quark ())
GQuark       loom_generate_error_quark (void);

typedef enum
{
  LOOM_GENERATE_ERROR_NEEDS_LABELS,   /* a label → image model without a map, or with a size */
  LOOM_GENERATE_ERROR_NO_LABELS,      /* a label map for a model that paints from noise */
  LOOM_GENERATE_ERROR_FIXED_SIZE,     /* a DCGAN asked for another size than its own */
  LOOM_GENERATE_ERROR_NOT_TILEABLE,   /* tileable from a model that does not wrap */
  LOOM_GENERATE_ERROR_TILE_MULTIPLE   /* tileable at a size its tiles do not divide */
} LoomGenerateError;

gboolean     loom_generative_check_request (const LoomGanConfig *gan, gboolean labels,
                                            gboolean tileable, guint *width, guint *height,
                                            GError **error);

/* COUNT images from WEIGHTS into OUT (count × channels × height × width,
 * values in [0, 1]); image i from noise drawn from SEED + i alone, so a
 * seed always gives the same image (batched: within rounding, 1e-7).  A
 * DCGAN makes images of its side (WIDTH and HEIGHT 0 or that side); a
 * texture GAN any WIDTH × HEIGHT, in
 * tiles of noise (TILE noise pixels a side, 0: 32) with margins that make
 * them join exactly, so large textures fit in memory; a tileable model's
 * texture wraps seamlessly when both sides are multiples of 2^levels
 * (others are cut from the next larger such texture). */
gboolean     loom_generative_generate (LoomDevice *device, LoomWeights *weights, guint count,
                                       guint32 seed, guint width, guint height, guint tile,
                                       float *out, GCancellable *cancellable, GError **error);

/* A pix2pix model's image for LABELS (WIDTH × HEIGHT class numbers, −1
 * none) into OUT (channels × height × width, values in [0, 1]), its noise
 * from SEED: the same labels and seed, the same image.  Maps larger than
 * TILE (0: 512) a side run in overlapping tiles whose images are blended,
 * so any size fits in memory. */
gboolean     loom_generative_render   (LoomDevice *device, LoomWeights *weights,
                                       const float *labels, guint width, guint height,
                                       guint32 seed, guint tile, float *out, GError **error);

/* ---- explaining a generator (interpolate.c, nearest.c) ---- */

/* Steps FIRST … FIRST + N − 1 of a latent walk of COUNT (≥ 2) images
 * from seed A's noise to seed B's into OUT (N images, as
 * loom_generative_generate's; a walk in parts, so a long one fits in
 * memory, is the same walk): step k from the spherical
 * interpolation of the two at t = k / (COUNT − 1), the whole noise (a
 * DCGAN's vector, a texture's planes) as one vector, so the first image
 * is generate's for SEED_A and the last for SEED_B (a texture's exactly,
 * a DCGAN's batch within rounding, 1e-5, as generate's own).  A label →
 * image model is refused here: it walks with its label map, below. */
gboolean     loom_generative_interpolate (LoomDevice *device, LoomWeights *weights,
                                          guint32 seed_a, guint32 seed_b, guint count,
                                          guint first, guint n, guint width, guint height,
                                          guint tile, float *out,
                                          GCancellable *cancellable, GError **error);

/* Step STEP of the same walk for a pix2pix model painting LABELS (as
 * loom_generative_render; its noise planes walked): the first and last
 * steps are render's images for SEED_A and SEED_B, exactly.  A model
 * without noise planes is refused (every seed paints the same). */
gboolean     loom_generative_render_interpolate (LoomDevice *device, LoomWeights *weights,
                                                 const float *labels, guint width,
                                                 guint height, guint32 seed_a, guint32 seed_b,
                                                 guint count, guint step, guint tile,
                                                 float *out, GError **error);

/* Where a training crop is nearest to a sample. */
typedef struct
{
  guint  image;                 /* which of the images */
  guint  x, y;                  /* the crop's top left corner in it */
  double distance;              /* root mean square difference, values in [0, 1] */
} LoomNearestCrop;

/* The crop of IMAGES (each with at least CHANNELS planes, the first
 * CHANNELS compared) of SAMPLE's WIDTH × HEIGHT with the least root mean
 * square difference from SAMPLE (CHANNELS × HEIGHT × WIDTH): crops on a
 * grid of STRIDE (0: 1) pixels, then every position within STRIDE of the
 * best of those (a copy of a crop is found wherever it lies as long as
 * the grid's best is near it; STRIDE 1 searches all).  Images smaller
 * than the sample are skipped; none large enough is an error. */
gboolean     loom_generative_nearest_crop (const float *sample, guint channels, guint width,
                                           guint height, const LoomGenerativeImage *images,
                                           guint n_images, guint stride,
                                           LoomNearestCrop *found, GError **error);

/* COUNT images (CHANNELS × HEIGHT × WIDTH each, one after another) laid
 * out in a grid of COLUMNS, GAP pixels of white between them: a new
 * CHANNELS × *OUT_HEIGHT × *OUT_WIDTH buffer (free with g_free), or NULL
 * and an error when a side would pass 65536. */
float       *loom_generative_grid (const float *images, guint count, guint channels,
                                   guint width, guint height, guint columns, guint gap,
                                   guint *out_width, guint *out_height, GError **error);

G_END_DECLS
