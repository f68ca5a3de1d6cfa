#include "arena.h"
#include <loom/loom.h>

typedef struct
{
  gsize offset;
  gsize size;
} Hole;

typedef struct
{
  gpointer handle;
  gsize    size;
  gsize    used;
  GArray  *holes;               /* Hole, sorted by offset, never adjacent */
} Block;

struct _LoomArena
{
  gsize              block_size;
  gsize              alignment;
  gsize              budget;
  gsize              block_bytes;
  gsize              used_bytes;
  LoomArenaBlockNew  block_new;
  LoomArenaBlockFree block_free;
  gpointer           data;
  GPtrArray         *blocks;    /* Block */
};

static gsize
align_up (gsize value, gsize alignment)
{
  return (value + alignment - 1) / alignment * alignment;
}

LoomArena *
loom_arena_new (gsize block_size, gsize alignment, LoomArenaBlockNew block_new,
                LoomArenaBlockFree block_free, gpointer data)
{
  LoomArena *arena = g_new0 (LoomArena, 1);

  g_return_val_if_fail (alignment > 0 && (alignment & (alignment - 1)) == 0, NULL);
  arena->alignment = alignment;
  arena->block_size = align_up (block_size, alignment);
  arena->block_new = block_new;
  arena->block_free = block_free;
  arena->data = data;
  arena->blocks = g_ptr_array_new ();
  return arena;
}

static void
block_destroy (LoomArena *arena, Block *block)
{
  arena->block_free (arena->data, block->handle);
  arena->block_bytes -= block->size;
  g_array_unref (block->holes);
  g_free (block);
}

void
loom_arena_free (LoomArena *arena)
{
  if (arena == NULL)
    return;
  for (guint i = 0; i < arena->blocks->len; i++)
    block_destroy (arena, arena->blocks->pdata[i]);
  g_ptr_array_unref (arena->blocks);
  g_free (arena);
}

void
loom_arena_set_budget (LoomArena *arena, gsize budget)
{
  arena->budget = budget;
}

/* Takes SIZE bytes from the first hole of BLOCK that holds them. */
static gboolean
block_take (Block *block, gsize size, gsize *offset)
{
  for (guint i = 0; i < block->holes->len; i++)
    {
      Hole *hole = &g_array_index (block->holes, Hole, i);

      if (hole->size < size)
        continue;
      *offset = hole->offset;
      hole->offset += size;
      hole->size -= size;
      if (hole->size == 0)
        g_array_remove_index (block->holes, i);
      block->used += size;
      return TRUE;
    }
  return FALSE;
}

gboolean
loom_arena_alloc (LoomArena *arena, gsize size, LoomArenaRange *range, GError **error)
{
  gsize need = align_up (MAX (size, 1), arena->alignment);
  gsize block_size = MAX (need, arena->block_size);
  Block *block;

  if (need < size)
    goto too_big;
  for (guint i = 0; i < arena->blocks->len; i++)
    {
      block = arena->blocks->pdata[i];
      if (block_take (block, need, &range->offset))
        goto found;
    }

  if (arena->budget != 0 && arena->block_bytes + need > arena->budget)
    goto too_big;
  /* A smaller block where a full one would pass the budget. */
  if (arena->budget != 0 && arena->block_bytes + block_size > arena->budget)
    block_size = need;

  block = g_new0 (Block, 1);
  block->handle = arena->block_new (arena->data, block_size, error);
  if (block->handle == NULL)
    {
      g_free (block);
      return FALSE;
    }
  block->size = block_size;
  block->holes = g_array_new (FALSE, FALSE, sizeof (Hole));
  g_array_append_val (block->holes, ((Hole) { 0, block_size }));
  arena->block_bytes += block_size;
  g_ptr_array_add (arena->blocks, block);
  block_take (block, need, &range->offset);

found:
  range->block = block->handle;
  range->size = size;
  arena->used_bytes += need;
  return TRUE;

too_big:
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY,
               "out of device memory: %" G_GSIZE_FORMAT " MiB more would pass the "
               "budget of %" G_GSIZE_FORMAT " MiB (%" G_GSIZE_FORMAT " MiB in use)",
               (size + (1 << 20) - 1) >> 20, arena->budget >> 20, arena->used_bytes >> 20);
  return FALSE;
}

static guint
count_standard (LoomArena *arena)
{
  guint n = 0;

  for (guint i = 0; i < arena->blocks->len; i++)
    n += ((Block *) arena->blocks->pdata[i])->size == arena->block_size;
  return n;
}

void
loom_arena_release (LoomArena *arena, const LoomArenaRange *range)
{
  gsize need = align_up (MAX (range->size, 1), arena->alignment);
  Block *block = NULL;
  guint b, i;
  Hole *holes;

  for (b = 0; b < arena->blocks->len; b++)
    if (((Block *) arena->blocks->pdata[b])->handle == range->block)
      {
        block = arena->blocks->pdata[b];
        break;
      }
  g_return_if_fail (block != NULL);
  g_return_if_fail (range->offset + need <= block->size);

  /* Insert the hole in order, then merge it with its neighbours. */
  holes = (Hole *) block->holes->data;
  for (i = 0; i < block->holes->len && holes[i].offset < range->offset; i++)
    ;
  g_return_if_fail (i == block->holes->len || holes[i].offset >= range->offset + need);
  g_return_if_fail (i == 0 || holes[i - 1].offset + holes[i - 1].size <= range->offset);
  g_array_insert_val (block->holes, i, ((Hole) { range->offset, need }));
  holes = (Hole *) block->holes->data;
  if (i + 1 < block->holes->len && holes[i].offset + holes[i].size == holes[i + 1].offset)
    {
      holes[i].size += holes[i + 1].size;
      g_array_remove_index (block->holes, i + 1);
    }
  if (i > 0 && holes[i - 1].offset + holes[i - 1].size == holes[i].offset)
    {
      holes[i - 1].size += holes[i].size;
      g_array_remove_index (block->holes, i);
    }
  block->used -= need;
  arena->used_bytes -= need;

  /* Give an empty block back, but keep one standard block for reuse. */
  if (block->used == 0 && (block->size != arena->block_size || count_standard (arena) > 1))
    {
      g_ptr_array_remove_index (arena->blocks, b);
      block_destroy (arena, block);
    }
}

gsize
loom_arena_get_block_bytes (LoomArena *arena)
{
  return arena->block_bytes;
}

gsize
loom_arena_get_used_bytes (LoomArena *arena)
{
  return arena->used_bytes;
}

guint
loom_arena_get_n_blocks (LoomArena *arena)
{
  return arena->blocks->len;
}
