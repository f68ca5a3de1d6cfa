/* Overlapping tiles for fully convolutional models run on images larger
 * than one pass can hold (segmentation, label → image): where the tiles
 * start, and how much each pixel of a tile counts where tiles overlap. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Tile origins along an axis of SIZE: every STRIDE, the last flush with the end. */
GArray *loom_tile_origins (guint size, guint tile, guint stride);
/* How much a tile's pixel I (of TILE) counts: 1 inside, falling towards
 * edges that another tile also covers (LEAD: the one before it, TRAIL:
 * after), never 0. */
float   loom_tile_ramp    (guint i, guint tile, guint overlap, gboolean lead, gboolean trail);

G_END_DECLS
