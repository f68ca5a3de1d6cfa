/* Overlapping tiles (see tiles.h). */
#include "tiles.h"

GArray *
loom_tile_origins (guint size, guint tile, guint stride)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));
  guint at = 0;

  for (;;)
    {
      guint o = MIN (at, size > tile ? size - tile : 0);

      g_array_append_val (a, o);
      if (o + tile >= size)
        break;
      at += stride;
    }
  return a;
}

float
loom_tile_ramp (guint i, guint tile, guint overlap, gboolean lead, gboolean trail)
{
  float w = 1.0f;

  if (lead && i < overlap)
    w = MIN (w, (i + 0.5f) / overlap);
  if (trail && tile - 1 - i < overlap)
    w = MIN (w, (tile - 1 - i + 0.5f) / overlap);
  return w;
}
