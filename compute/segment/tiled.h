/* A fully convolutional graph run over an image of any size: overlapping
 * tiles, their outputs blended (weights falling towards shared edges) a
 * band of rows at a time, each finished band handed to a callback.  The
 * segmentation's prediction (softmax probabilities) and its pixel head's
 * encoder features (raw) both run this way. */
#pragma once

#include <loom/loom-segment.h>

G_BEGIN_DECLS

#define LOOM_TILED_MAX_OUTPUTS 2

typedef struct
{
  LoomGraph  *graph;            /* compiled, weights in */
  LoomTensor *x;                /* 1 × in_channels × th × tw */
  guint       in_channels, th, tw, overlap;
  guint       n_outputs;
  LoomTensor *y[LOOM_TILED_MAX_OUTPUTS];        /* 1 × channels × th × tw, kept */
  guint       channels[LOOM_TILED_MAX_OUTPUTS];
  gboolean    softmax[LOOM_TILED_MAX_OUTPUTS];  /* over channels, before blending */
} LoomTiled;

/* Tile sides for an image (multiples of QUANTUM, at most TILE unless the
 * image is smaller, then padded by mirroring) and their overlap. */
void loom_tiled_geometry (const LoomSegmentImage *image, guint quantum, guint tile,
                          guint *th, guint *tw, guint *overlap);

/* Rows [ROW0, ROW0 + ROWS) done: OUT[i] holds output i's channels × ROWS ×
 * width values. */
typedef gboolean (*LoomTiledBandFunc) (guint row0, guint rows, float *const *out, gpointer data,
                                       GError **error);

/* Runs RUN's graph over IMAGE; PROGRESS gets tiles done of the total. */
gboolean loom_tiled_run (const LoomTiled *run, const LoomSegmentImage *image,
                         LoomTiledBandFunc band, gpointer band_data,
                         LoomTrainProgressFunc progress, gpointer data,
                         GCancellable *cancellable, GError **error);

G_END_DECLS
