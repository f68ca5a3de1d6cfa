/* The segmentation's phase one: a small classifier of single pixels on
 * their fixed features (features.h), fitted to the painted pixels in well
 * under a second and run on every pixel of an image, a band of rows at a
 * time.  A model file keeps it beside the U-Net as "pixel.*" tensors, with
 * its shape and its share of the blended answer in LOOM_METADATA_PIXEL_HEAD. */
#pragma once

#include <loom/loom-segment.h>
#include "models/net.h"

G_BEGIN_DECLS

#define LOOM_METADATA_PIXEL_HEAD "loom.pixel_head"

typedef struct
{
  guint channels;               /* of the image */
  guint hidden;                 /* units of each of the two hidden layers */
  guint classes;
  float blend;                  /* the head's weight in the answer, 0…1 (1: the head alone) */
  /* A frozen U-Net trunk (the starting point's) whose last features join
   * the fixed ones: pretrained features are what lifts a shallow
   * classifier above hand-made filters.  Depth 0: none. */
  guint encoder_depth, encoder_base;
} LoomPixelHeadConfig;

/* Inputs per pixel: the fixed features and the encoder's. */
guint    loom_pixel_head_inputs  (const LoomPixelHeadConfig *config);

/* The encoder on X (1 × channels × H × W) into NET's graph, its parameters
 * named PREFIX + the U-Net's ("encoder." in a model file); its features,
 * kept for reading. */
LoomTensor *loom_pixel_head_encoder (LoomNet *net, const LoomPixelHeadConfig *config,
                                     const char *prefix, LoomTensor *x);

/* Fits a fresh head on every labelled pixel of IMAGES (labels required,
 * masks applied) — at most MAX_SAMPLES of them, drawn evenly — with
 * CLASS_WEIGHTS (CONFIG->classes), STEPS full-batch Adam steps from SEED,
 * and adds it to WEIGHTS (tensors, the encoder's as "encoder.*", and
 * metadata); LOSS gets the last step's.  ENCODER holds the encoder's
 * tensors under ENCODER_PREFIX (with CONFIG's encoder depth > 0). */
gboolean loom_pixel_head_fit     (LoomDevice *device, const LoomPixelHeadConfig *config,
                                  const LoomSegmentImage *images, guint n_images,
                                  const float *class_weights, guint steps, guint max_samples,
                                  guint32 seed, LoomWeights *encoder, const char *encoder_prefix,
                                  LoomWeights *weights, float *loss, GError **error);

/* Whether WEIGHTS holds a head, and its configuration (an error for a
 * malformed one). */
gboolean loom_pixel_head_config_from_weights (LoomWeights *weights, gboolean *present,
                                              LoomPixelHeadConfig *config, GError **error);

/* CONFIG as the model file's LOOM_METADATA_PIXEL_HEAD. */
char    *loom_pixel_head_config_json (const LoomPixelHeadConfig *config);

typedef struct _LoomPixelHead LoomPixelHead;

/* The head of WEIGHTS, ready to predict on DEVICE. */
LoomPixelHead *loom_pixel_head_open    (LoomDevice *device, LoomWeights *weights, GError **error);
void           loom_pixel_head_free    (LoomPixelHead *head);
const LoomPixelHeadConfig *loom_pixel_head_get_config (LoomPixelHead *head);
/* Class probabilities of rows [ROW0, ROW0 + ROWS) of IMAGE: OUT holds
 * classes × ROWS × width floats; ENCODED the encoder's features of those
 * rows (encoder_base × ROWS × width), or NULL for a head without one. */
gboolean       loom_pixel_head_predict (LoomPixelHead *head, const LoomSegmentImage *image,
                                        guint row0, guint rows, const float *encoded,
                                        float *out, GError **error);

G_END_DECLS
