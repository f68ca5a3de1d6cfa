/* The sub-allocator, on fake blocks (so every byte can be checked) and on a
 * real Vulkan device. */
#include <string.h>

#include "vulkan/arena.h"
#include "backend.h"
#include "vulkan/vk-internal.h"
#include "test-util.h"

#define ALIGN 256

typedef struct
{
  gsize  size;
  guint8 owner[];               /* which live range holds each byte, 0 = none */
} FakeBlock;

typedef struct
{
  guint n_blocks;               /* alive */
  guint fail_at;                /* the n-th block creation fails, 0 = never */
  guint created;
} Fake;

static gpointer
fake_new (gpointer data, gsize size, GError **error)
{
  Fake *fake = data;
  FakeBlock *block;

  if (++fake->created == fake->fail_at)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY, "injected failure");
      return NULL;
    }
  block = g_malloc0 (sizeof (FakeBlock) + size);
  block->size = size;
  fake->n_blocks++;
  return block;
}

static void
fake_free (gpointer data, gpointer handle)
{
  ((Fake *) data)->n_blocks--;
  g_free (handle);
}

/* Marks a range's bytes with TAG, checking nobody else holds them. */
static void
claim (const LoomArenaRange *r, guint8 tag)
{
  FakeBlock *block = r->block;

  g_assert_cmpuint (r->offset % ALIGN, ==, 0);
  g_assert_cmpuint (r->offset + r->size, <=, block->size);
  for (gsize i = 0; i < r->size; i++)
    {
      g_assert_cmpuint (block->owner[r->offset + i], ==, tag ? 0 : block->owner[r->offset + i]);
      block->owner[r->offset + i] = tag;
    }
}

static void
test_many_sizes (void)
{
  Fake fake = { 0 };
  LoomArena *arena = loom_arena_new (1 << 16, ALIGN, fake_new, fake_free, &fake);
  GRand *rand = g_rand_new_with_seed (7);
  LoomArenaRange live[200];
  gboolean used[200] = { FALSE };
  GError *error = NULL;

  /* Random sizes, some beyond a block, freed and reallocated in random order. */
  for (guint round = 0; round < 4000; round++)
    {
      guint slot = g_rand_int_range (rand, 0, 200);

      if (used[slot])
        {
          claim (&live[slot], 0);
          loom_arena_release (arena, &live[slot]);
          used[slot] = FALSE;
        }
      else
        {
          gsize size = g_rand_int_range (rand, 0, 100) == 0
                         ? (gsize) g_rand_int_range (rand, 1 << 16, 1 << 18)
                         : (gsize) g_rand_int_range (rand, 1, 3000);

          g_assert_true (loom_arena_alloc (arena, size, &live[slot], &error));
          g_assert_no_error (error);
          claim (&live[slot], (guint8) (slot + 1));
          used[slot] = TRUE;
        }
    }
  /* 200 ranges of at most ~3 KiB fit a handful of 64 KiB blocks: holes are reused. */
  g_assert_cmpuint (loom_arena_get_n_blocks (arena), <=, 16);

  for (guint slot = 0; slot < 200; slot++)
    if (used[slot])
      {
        claim (&live[slot], 0);
        loom_arena_release (arena, &live[slot]);
      }
  g_assert_cmpuint (loom_arena_get_used_bytes (arena), ==, 0);
  /* Everything coalesced back: one block kept for reuse. */
  g_assert_cmpuint (loom_arena_get_n_blocks (arena), ==, 1);
  loom_arena_free (arena);
  g_assert_cmpuint (fake.n_blocks, ==, 0);
  g_rand_free (rand);
}

static void
test_coalesce (void)
{
  Fake fake = { 0 };
  LoomArena *arena = loom_arena_new (4 * ALIGN, ALIGN, fake_new, fake_free, &fake);
  LoomArenaRange r[4], big;
  GError *error = NULL;

  for (int i = 0; i < 4; i++)
    g_assert_true (loom_arena_alloc (arena, ALIGN, &r[i], &error));
  g_assert_cmpuint (loom_arena_get_n_blocks (arena), ==, 1);
  /* Free the middle two in either order: one hole of two slots. */
  loom_arena_release (arena, &r[2]);
  loom_arena_release (arena, &r[1]);
  g_assert_true (loom_arena_alloc (arena, 2 * ALIGN, &big, &error));
  g_assert_true (big.block == r[0].block);
  g_assert_cmpuint (big.offset, ==, ALIGN);
  g_assert_cmpuint (loom_arena_get_n_blocks (arena), ==, 1);
  loom_arena_free (arena);
}

static void
test_exhaustion (void)
{
  Fake fake = { 0 };
  LoomArena *arena = loom_arena_new (1 << 12, ALIGN, fake_new, fake_free, &fake);
  LoomArenaRange r;
  GError *error = NULL;
  guint n = 0;

  loom_arena_set_budget (arena, 1 << 14);
  while (loom_arena_alloc (arena, 1000, &r, &error))
    n++;
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "budget"));
  g_clear_error (&error);
  /* 16 KiB of 1024-byte aligned slots. */
  g_assert_cmpuint (n, ==, 16);
  loom_arena_free (arena);

  /* The device refusing a block is an error, not a crash, for every i. */
  for (guint fail_at = 1; fail_at <= 4; fail_at++)
    {
      Fake f = { .fail_at = fail_at };
      LoomArena *a = loom_arena_new (1 << 12, ALIGN, fake_new, fake_free, &f);
      guint ok = 0;

      while (loom_arena_alloc (a, 3000, &r, &error))
        ok++;
      g_assert_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY);
      g_clear_error (&error);
      g_assert_cmpuint (ok, ==, fail_at - 1);
      loom_arena_free (a);
      g_assert_cmpuint (f.n_blocks, ==, 0);
    }
}

/* Buffers on a real device: contents survive neighbours coming and going. */
static void
test_vulkan_buffers (void)
{
  LoomDevice *device = test_open_vulkan ();
  GRand *rand = g_rand_new_with_seed (3);
  LoomBuffer *bufs[64] = { NULL };
  GError *error = NULL;

  if (device == NULL)
    return;
  for (guint round = 0; round < 300; round++)
    {
      guint slot = g_rand_int_range (rand, 0, 64);

      if (bufs[slot] != NULL)
        {
          gsize n = loom_buffer_get_length (bufs[slot]);
          float *back = g_new (float, MAX (n, 1));

          loom_buffer_read (bufs[slot], 0, n, back, &error);
          g_assert_no_error (error);
          for (gsize i = 0; i < n; i++)
            g_assert_cmpfloat (back[i], ==, (float) (slot * 100000 + i % 1000));
          g_free (back);
          loom_buffer_free (bufs[slot]);
          bufs[slot] = NULL;
        }
      else
        {
          gsize n = g_rand_int_range (rand, 0, 70000);
          float *data = g_new (float, MAX (n, 1));

          for (gsize i = 0; i < n; i++)
            data[i] = (float) (slot * 100000 + i % 1000);
          bufs[slot] = loom_buffer_new (device, n, &error);
          g_assert_no_error (error);
          loom_buffer_write (bufs[slot], 0, n, data, &error);
          g_assert_no_error (error);
          g_free (data);
        }
    }
  for (guint slot = 0; slot < 64; slot++)
    loom_buffer_free (bufs[slot] ? bufs[slot] : NULL);
  g_rand_free (rand);
  test_close (device);
}

static void
test_vulkan_exhaustion (void)
{
  LoomDevice *device = test_open_vulkan ();
  GPtrArray *held = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_buffer_free);
  LoomBuffer *buf;
  GError *error = NULL;

  if (device == NULL)
    return;
  /* Beyond what the driver allocates at once: refused with a message. */
  buf = loom_buffer_new (device, (gsize) 1 << 40, &error);
  g_assert_null (buf);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);

  /* A budget reached: GError, and the device goes on working. */
  loom_vk_set_memory_budget (device, 8 << 20);
  while ((buf = loom_buffer_new (device, 1 << 18, &error)) != NULL)
    g_ptr_array_add (held, buf);
  g_assert_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);
  g_assert_cmpuint (held->len, ==, 8);
  g_ptr_array_set_size (held, 4);
  buf = loom_buffer_new (device, 1 << 18, &error);
  g_assert_no_error (error);
  g_assert_true (loom_fill (buf, 2.5f, &error));
  g_ptr_array_add (held, buf);
  g_ptr_array_unref (held);
  test_close (device);
}

int
main (int argc, char **argv)
{
  test_init (&argc, &argv);
  g_test_add_func ("/arena/many-sizes", test_many_sizes);
  g_test_add_func ("/arena/coalesce", test_coalesce);
  g_test_add_func ("/arena/exhaustion", test_exhaustion);
  g_test_add_func ("/arena/vulkan/buffers", test_vulkan_buffers);
  g_test_add_func ("/arena/vulkan/exhaustion", test_vulkan_exhaustion);
  return g_test_run ();
}
