/* The params blocks of the ops that other code (the graph) builds steps
 * for; each is its shader's push constants, field for field by name, as
 * the build checks (LOOM_OP_SHADER, ops/push-constants.h). */
#pragma once

#include <glib.h>

typedef struct
{
  guint32 m, n, k;
  guint32 trans_a, trans_b;     /* A stored K×M, B stored N×K */
  float   alpha, beta;
} LoomGemmParams;

typedef struct
{
  guint32 n, c, hw;
} LoomChannelParams;            /* channel_sum, bias_add: an N×C×HW tensor */

typedef struct
{
  guint32 n, slices;
} LoomSumSlicesParams;

/* What the graph writes to its scalars tensor before each run, so that
 * recorded steps need no new push constants when they change. */
enum
{
  LOOM_SCALAR_LR,               /* learning rate */
  LOOM_SCALAR_BIAS1,            /* Adam: 1 − β₁ᵗ */
  LOOM_SCALAR_BIAS2,            /* Adam: 1 − β₂ᵗ */
  LOOM_SCALAR_RUNS,             /* runs so far, this one included (batch-norm warm-up) */
  /* This run's random seed, its 32 bits as they are, 256 bytes in: random
   * ops bind it alone, and bindings start at aligned offsets. */
  LOOM_SCALAR_SEED = 64,
  LOOM_N_SCALARS
};

typedef struct
{
  guint32 n;
  float   momentum;             /* SGD */
  float   beta1, beta2, eps;    /* Adam */
  float   weight_decay;         /* AdamW's decoupled decay; SGD: L2 added to the gradient */
} LoomOptimizerParams;

typedef struct
{
  guint32 n, hw;
  guint32 src_channels, src_first;
  guint32 dst_channels, dst_first;
  guint32 count;
} LoomChannelCopyParams;

/* Augmentation: BATCH crops of SIZE × SIZE sampled from images and label
 * maps packed one after another in two atlases, each crop through its own
 * affine map (LOOM_AFFINE_* floats per crop in a small buffer). */
typedef struct
{
  guint32 batch, channels, size;
  guint32 image_floats, label_floats;   /* the atlases' sizes: maps past them read nothing */
} LoomAffineParams;

enum
{
  /* output pixel (u, v) reads source (a·u + b·v + tx, c·u + d·v + ty) */
  LOOM_AFFINE_A, LOOM_AFFINE_B, LOOM_AFFINE_C, LOOM_AFFINE_D, LOOM_AFFINE_TX, LOOM_AFFINE_TY,
  /* the source, as the bits of unsigned integers: where its planes and its
   * labels start in the atlases, and its size */
  LOOM_AFFINE_IMAGE, LOOM_AFFINE_LABELS, LOOM_AFFINE_WIDTH, LOOM_AFFINE_HEIGHT,
  /* elastic deformation, added to that source point: a smooth field of
   * random shifts (at most this many source pixels along each axis, 0:
   * none) drawn by Philox from the seed's bits at the knots of a
   * LOOM_ELASTIC_CELLS² grid over the crop, eased in between */
  LOOM_AFFINE_ELASTIC, LOOM_AFFINE_ELASTIC_SEED,
  LOOM_AFFINE_FLOATS
};

#define LOOM_ELASTIC_CELLS 4

/* Photometric augmentation: y = jitter(x) per crop of an N×C×S×S batch,
 * the crop's settings in LOOM_PHOTO_FLOATS floats of a small buffer. */
typedef struct
{
  guint32 batch, channels, size;
} LoomPhotoParams;

enum
{
  LOOM_PHOTO_BLUR,              /* Gaussian blur's sigma in pixels (0: none; a 7×7 kernel at most) */
  LOOM_PHOTO_SATURATION,        /* 1: unchanged, 0: grey (RGB only) */
  LOOM_PHOTO_HUE,               /* radians, a turn of the YIQ chroma (RGB only) */
  LOOM_PHOTO_CONTRAST,          /* 1: unchanged, about LOOM_PHOTO_GREY */
  LOOM_PHOTO_BRIGHTNESS,        /* added */
  LOOM_PHOTO_GAMMA,             /* 1: unchanged; applied to max(v, 0) */
  LOOM_PHOTO_NOISE,             /* deviation of Gaussian noise */
  LOOM_PHOTO_SEED,              /* the noise's Philox seed, as bits */
  LOOM_PHOTO_CUT_X, LOOM_PHOTO_CUT_Y, LOOM_PHOTO_CUT_W, LOOM_PHOTO_CUT_H,  /* cutout: grey 0.5 */
  LOOM_PHOTO_GREY,              /* the source's mean grey: contrast pivots there */
  LOOM_PHOTO_FLOATS
};

/* Class maps to one-hot planes: N×1×HW labels (−1 or past the classes:
 * all planes 0) → N×CLASSES×HW. */
typedef struct
{
  guint32 n, classes, hw;
} LoomOneHotParams;

/* NCHW broadcasting (PyTorch's rules over four dimensions): A and B are
 * read at strides that are 0 along the dimensions they broadcast. */
typedef struct
{
  guint32 dims[4];              /* the output's N, C, H, W */
  guint32 a_strides[4], b_strides[4];
  guint32 mul;                  /* y = a · b, else y = a + b */
} LoomBroadcastParams;

/* SHAPE's contiguous strides, 0 where it is 1 and OUT is not. */
void loom_broadcast_strides (const guint32 *shape, const guint32 *out, guint32 *strides);

/* out = IN summed over the dimensions KEEP leaves out: the gradient of a
 * broadcast input. */
typedef struct
{
  guint32 dims[4];              /* IN's N, C, H, W */
  guint32 keep;                 /* bit i: dimension i is kept (else summed to 1) */
} LoomSumToParams;

typedef struct
{
  guint32 planes;               /* N·C */
  guint32 h, w, p, q;           /* input and output sizes */
  guint32 kernel, stride, pad;
  guint32 max;                  /* max pooling (padding never wins), else average
                                 * over the whole window, padding included */
} LoomPoolParams;

typedef struct
{
  guint32 planes;               /* N·C */
  guint32 h, w;                 /* input size; the output is scale times larger */
  guint32 scale;
  guint32 bilinear;             /* else nearest; both as PyTorch's interpolate,
                                 * align_corners false */
} LoomUpsampleParams;

typedef struct
{
  guint32 n, c, hw;             /* statistics per channel, over N·HW values */
  float   eps;
  float   momentum;             /* running statistics: (1 − m)·old + m·new */
} LoomBatchNormParams;

typedef struct
{
  guint32 n;
  guint32 normal;               /* else uniform */
  float   a, b;                 /* uniform: [a, b); normal: mean a, deviation b */
  guint32 stream;               /* which sequence of the seed */
} LoomRandomParams;

typedef struct
{
  guint32 n;
  float   p;                    /* the probability of dropping */
  float   scale;                /* 1 / (1 − p), computed once on the host */
  guint32 stream;
} LoomDropoutParams;
