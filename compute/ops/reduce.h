/* Reductions other ops build on (internal entry points). */
#pragma once

#include <loom/loom.h>

G_BEGIN_DECLS

/* out = the sum of IN's SLICES consecutive parts, each as long as OUT. */
gboolean loom_sum_slices  (LoomBuffer *out, LoomBuffer *in, guint slices, GError **error);
/* out[c] = Σ over n and the HW pixels of channel c of IN (N×C×HW). */
gboolean loom_channel_sum (LoomBuffer *out, LoomBuffer *in, guint n, guint c, gsize hw,
                           GError **error);

G_END_DECLS
