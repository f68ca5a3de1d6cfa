/* A sub-allocator: carves aligned ranges out of large blocks that a backend
 * creates on demand (VkDeviceMemory for Vulkan).  First fit over a sorted
 * free list per block, neighbours coalesced on free; a request larger than
 * the block size gets a block of its own.  Knows nothing of Vulkan, so it is
 * tested on its own. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LoomArena LoomArena;

/* Creates a block of SIZE bytes; returns its handle, or NULL with ERROR. */
typedef gpointer (*LoomArenaBlockNew)  (gpointer data, gsize size, GError **error);
typedef void     (*LoomArenaBlockFree) (gpointer data, gpointer handle);

typedef struct
{
  gpointer block;               /* the handle block_new returned */
  gsize    offset;              /* bytes, a multiple of the arena's alignment */
  gsize    size;                /* bytes asked for */
} LoomArenaRange;

LoomArena *loom_arena_new        (gsize              block_size,
                                  gsize              alignment,
                                  LoomArenaBlockNew  block_new,
                                  LoomArenaBlockFree block_free,
                                  gpointer           data);
/* Frees every block; ranges still allocated become invalid. */
void       loom_arena_free       (LoomArena *arena);

/* At most BUDGET bytes of blocks (0: no limit besides the device's). */
void       loom_arena_set_budget (LoomArena *arena, gsize budget);

gboolean   loom_arena_alloc      (LoomArena      *arena,
                                  gsize           size,
                                  LoomArenaRange *range,
                                  GError        **error);
void       loom_arena_release    (LoomArena            *arena,
                                  const LoomArenaRange *range);

gsize      loom_arena_get_block_bytes (LoomArena *arena);   /* held from the device */
gsize      loom_arena_get_used_bytes  (LoomArena *arena);   /* handed out, aligned */
guint      loom_arena_get_n_blocks    (LoomArena *arena);

G_END_DECLS
