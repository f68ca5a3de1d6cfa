/* The affine maps of augmented crops (op affine_sample, ops/params.h:
 * LOOM_AFFINE_*), shared by the trainers, and the crop one map cuts: the
 * op's CPU code, which the trainers' host crops call as well. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Geometry of a CROP × CROP crop at (X0, Y0) of its source: TURN quarter
 * turns, FLIP, then SHEAR, ANGLE (radians) and SCALE about its centre.
 * Whole-pixel maps when all three are neutral: exact copies.  No elastic
 * field (its amplitude 0). */
void loom_crop_map        (float *map, guint crop, guint x0, guint y0, guint turn,
                           gboolean flip, double angle, double scale, double shear);
/* Where the source is: its planes and labels in the atlases, its size. */
void loom_crop_map_source (float *map, guint32 image_at, guint32 label_at, guint32 width,
                           guint32 height);

/* The crop MAP cuts from the atlases IMAGES (IMAGE_FLOATS long) and
 * LABEL_MAPS (LABEL_FLOATS): CHANNELS planes of SIZE × SIZE into X, the
 * image bilinear with its edge repeated, and SIZE × SIZE labels into
 * LABELS, the nearest pixel, −1 outside the source or past its atlas. */
void loom_crop_cut        (const float *map, guint channels, guint size, const float *images,
                           guint64 image_floats, const float *label_maps,
                           guint64 label_floats, float *x, float *labels);

G_END_DECLS
