/* Dispatch shape of the kernels built on shaders/tile.glsl (gemm and the
 * convolutions): the same spec constants, the same tiles. */
#pragma once

#include "op.h"

G_BEGIN_DECLS

/* Spec constants of tile.glsl, in its constant_id order. */
enum { LOOM_TILE_WG_X, LOOM_TILE_WG_Y, LOOM_TILE_RM, LOOM_TILE_RN, LOOM_TILE_SHARED,
       LOOM_TILE_BK, LOOM_TILE_N_SPEC };

guint loom_tile_vk_spec (const LoomLimits *limits, guint32 *spec);
/* Workgroups for a ROWS × COLS result in DEPTH independent slices. */
void  loom_tile_groups  (guint32 rows, guint32 cols, guint32 depth, const guint32 *spec,
                         const LoomLimits *limits, guint32 *groups);

G_END_DECLS
