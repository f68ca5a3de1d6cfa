/* Fixed per-pixel features of an image, the ones ilastik and scikit-image's
 * trainable segmentation give their random forest: for every channel and
 * every scale σ of LOOM_FEATURE_SIGMAS, the Gaussian-smoothed value, its
 * gradient magnitude and the two eigenvalues of its Hessian.  They need no
 * training, so a classifier on them answers within a second of the first
 * strokes (the segmentation's phase one, see head.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LOOM_FEATURE_N_SIGMAS   5       /* σ = 1, 2, 4, 8, 16 */
#define LOOM_FEATURES_PER_SIGMA 4       /* smoothed, gradient, Hessian λ1, λ2 */

/* Features of an image of CHANNELS channels. */
guint    loom_pixel_features_count (guint channels);

/* The features of rows [ROW0, ROW0 + ROWS) of PLANES (CHANNELS × HEIGHT ×
 * WIDTH), mirrored at the image's edges: OUT holds count × ROWS × WIDTH
 * floats, feature-major.  Rows outside the band are read as context, so
 * bands give the same values as the whole image at once. */
void     loom_pixel_features_band  (const float *planes, guint channels, guint width,
                                    guint height, guint row0, guint rows, float *out);

G_END_DECLS
