/* Between images as GIMP hands them over and Loom's tensors.
 *
 * Pixels are GIMP's "R'G'B'A u8" or "R'G'B'A float" (sRGB-encoded values,
 * straight alpha, rows STRIDE bytes apart); tensors are planes of floats in
 * [0, 1], the encoded values as they are (as PyTorch's image loaders give
 * them), so a model trained anywhere sees the same numbers.
 *
 * Label images: every distinct fully opaque colour is one class;
 * transparent and partly transparent pixels (soft brush edges) are
 * unlabelled (−1). */
#pragma once

#include <loom/loom.h>

G_BEGIN_DECLS

#define LOOM_UNLABELLED (-1)

typedef struct
{
  guint8 r, g, b;
} LoomColor;

/* RGBA u8 → R, G, B planes (W·H floats each, in RGB) and, if ALPHA is not
 * NULL, the alpha plane. */
void     loom_image_from_rgba8  (const guint8 *rgba, guint width, guint height, gsize stride,
                                 float *rgb, float *alpha);
/* The same from RGBA float pixels (values outside [0, 1] kept). */
void     loom_image_from_rgbaf  (const float *rgba, guint width, guint height, gsize stride,
                                 float *rgb, float *alpha);
/* CHANNELS planes (1: grey, 3: RGB, 4: RGBA) → RGBA u8, clamped and rounded;
 * without an alpha plane the pixels are opaque. */
void     loom_image_to_rgba8    (const float *planes, guint channels, guint width,
                                 guint height, guint8 *rgba, gsize stride);

/* The class of every pixel of an RGBA u8 label image into LABELS (W·H
 * floats, as the cross-entropy loss takes them).  COLORS holds the class
 * table (LoomColor, class i = element i): colours already there keep their
 * class, new ones are appended in the order the rows meet them.  More than
 * MAX_CLASSES colours is an error that says so (a soft brush or a blended
 * layer makes many colours), COLORS then unchanged. */
gboolean loom_labels_from_rgba8 (const guint8 *rgba, guint width, guint height, gsize stride,
                                 GArray *colors, guint max_classes, float *labels,
                                 GError **error);
/* Class numbers (LOOM_UNLABELLED or past the table: transparent) → RGBA u8
 * in the table's colours. */
void     loom_labels_to_rgba8   (const float *labels, guint width, guint height,
                                 const GArray *colors, guint8 *rgba, gsize stride);

G_END_DECLS
