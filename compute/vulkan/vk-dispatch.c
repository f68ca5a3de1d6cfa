/* The dispatch sizes the ops' Vulkan kernels share (op.h): spec constants
 * and workgroup counts within the device's limits. */
#include "op.h"

guint
loom_vk_spec_linear (const LoomLimits *limits, guint32 *spec)
{
  spec[0] = MIN (256, limits->max_local_size);
  return 1;
}

guint32
loom_groups_1d (gsize n, guint32 local, const LoomLimits *limits)
{
  gsize groups = (n + local - 1) / local;

  return (guint32) CLAMP (groups, 1, limits->max_groups[0]);
}
