/* Device memory: large blocks carved by LoomArena, and the staging path
 * for devices whose memory the host should not map. */
#include <string.h>

#include "vulkan/vk-internal.h"

#define BLOCK_SIZE      ((VkDeviceSize) 256 << 20)
#define STAGING_MAX     ((VkDeviceSize) 64 << 20)   /* larger transfers go in pieces */
#define ALIGNMENT       256                         /* ≥ every device's storage offset alignment */

static const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
                                      | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                                      | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static LoomVkBlock *
block_new (LoomVkDevice *vk, guint32 type_index, VkDeviceSize size, GError **error)
{
  LoomVkBlock *block = g_new0 (LoomVkBlock, 1);
  VkMemoryRequirements req;
  VkPhysicalDeviceMemoryProperties mem;
  VkBufferCreateInfo buffer_info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = usage,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkMemoryAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .memoryTypeIndex = type_index,
  };

  if (size > vk->caps.max_allocation)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY,
                   "%" G_GUINT64_FORMAT " MiB is more than %s allocates at once (%"
                   G_GUINT64_FORMAT " MiB)", (guint64) size >> 20,
                   vk->props.deviceName, (guint64) vk->caps.max_allocation >> 20);
      g_free (block);
      return NULL;
    }
  if (!loom_vk_check (vk, vkCreateBuffer (vk->device, &buffer_info, NULL, &block->buffer),
                      "vkCreateBuffer", error))
    goto fail;
  vkGetBufferMemoryRequirements (vk->device, block->buffer, &req);
  alloc.allocationSize = req.size;
  if (!loom_vk_check (vk, vkAllocateMemory (vk->device, &alloc, NULL, &block->memory),
                      "allocating device memory", error))
    goto fail;
  if (!loom_vk_check (vk, vkBindBufferMemory (vk->device, block->buffer, block->memory, 0),
                      "vkBindBufferMemory", error))
    goto fail;
  vkGetPhysicalDeviceMemoryProperties (vk->physical, &mem);
  if ((mem.memoryTypes[type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
      && !loom_vk_check (vk, vkMapMemory (vk->device, block->memory, 0, VK_WHOLE_SIZE, 0,
                                          &block->mapped), "vkMapMemory", error))
    goto fail;
  return block;

fail:
  if (block->memory != VK_NULL_HANDLE)
    vkFreeMemory (vk->device, block->memory, NULL);
  if (block->buffer != VK_NULL_HANDLE)
    vkDestroyBuffer (vk->device, block->buffer, NULL);
  g_free (block);
  return NULL;
}

static void
block_free (LoomVkDevice *vk, LoomVkBlock *block)
{
  if (block == NULL)
    return;
  vkDestroyBuffer (vk->device, block->buffer, NULL);
  vkFreeMemory (vk->device, block->memory, NULL);  /* unmaps too */
  g_free (block);
}

static gpointer
arena_block_new (gpointer data, gsize size, GError **error)
{
  LoomVkDevice *vk = data;

  return block_new (vk, vk->device_type_index, size, error);
}

static void
arena_block_free (gpointer data, gpointer handle)
{
  block_free (data, handle);
}

/* The first memory type in BITS that has all of WANT, or -1. */
static int
find_type (const VkPhysicalDeviceMemoryProperties *mem, guint32 bits, VkMemoryPropertyFlags want)
{
  for (guint32 i = 0; i < mem->memoryTypeCount; i++)
    if ((bits & (1u << i)) && (mem->memoryTypes[i].propertyFlags & want) == want)
      return (int) i;
  return -1;
}

gboolean
loom_vk_memory_init (LoomVkDevice *vk, GError **error)
{
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
                                   | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  VkPhysicalDeviceMemoryProperties mem;
  VkBufferCreateInfo probe_info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = 4096,
    .usage = usage,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkBuffer probe;
  VkMemoryRequirements req;
  gboolean unified = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU
                  || vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const char *force = g_getenv ("LOOM_VK_FORCE_STAGING");
  int device_type = -1, staging_type;
  VkDeviceSize block_size;

  if (!loom_vk_check (vk, vkCreateBuffer (vk->device, &probe_info, NULL, &probe),
                      "vkCreateBuffer", error))
    return FALSE;
  vkGetBufferMemoryRequirements (vk->device, probe, &req);
  vkDestroyBuffer (vk->device, probe, NULL);
  vkGetPhysicalDeviceMemoryProperties (vk->physical, &mem);

  /* Unified memory: map tensors directly.  Discrete: device-local tensors,
   * host-visible (preferably cached) staging for transfers. */
  if (unified)
    device_type = find_type (&mem, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host);
  if (device_type < 0)
    device_type = find_type (&mem, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (device_type < 0)
    device_type = find_type (&mem, req.memoryTypeBits, 0);
  staging_type = find_type (&mem, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (staging_type < 0)
    staging_type = find_type (&mem, req.memoryTypeBits, host);
  if (device_type < 0 || staging_type < 0)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED,
                   "%s offers no memory type for storage buffers that the host can reach",
                   vk->props.deviceName);
      return FALSE;
    }
  vk->device_type_index = (guint32) device_type;
  vk->staging_type_index = (guint32) staging_type;
  vk->use_staging = (mem.memoryTypes[device_type].propertyFlags & host) != host || !unified
                 || (force != NULL && strcmp (force, "0") != 0 && *force != '\0');

  /* Blocks of 256 MiB, smaller where the heap or the driver says so. */
  block_size = MIN (BLOCK_SIZE, vk->caps.max_allocation);
  block_size = MIN (block_size, mem.memoryHeaps[mem.memoryTypes[device_type].heapIndex].size / 8);
  vk->arena = loom_arena_new (MAX (block_size, (VkDeviceSize) 1 << 20),
                              MAX (ALIGNMENT, vk->caps.min_storage_align),
                              arena_block_new, arena_block_free, vk);
  return TRUE;
}

void
loom_vk_memory_fini (LoomVkDevice *vk)
{
  g_clear_pointer (&vk->arena, loom_arena_free);
  block_free (vk, vk->staging);
  vk->staging = NULL;
}

void
loom_vk_set_memory_budget (LoomDevice *device, gsize bytes)
{
  loom_arena_set_budget (((LoomVkDevice *) device)->arena, bytes);
}

LoomBuffer *
loom_vk_buffer_new (LoomDevice *device, gsize length, GError **error)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;
  LoomVkBuffer *buf;
  LoomArenaRange range;

  if (vk->lost)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST, "the Vulkan device was lost");
      return NULL;
    }
  if (!loom_arena_alloc (vk->arena, MAX (length, 1) * sizeof (float), &range, error))
    return NULL;
  buf = g_new0 (LoomVkBuffer, 1);
  buf->parent.device = device;
  buf->parent.length = length;
  buf->range = range;
  return &buf->parent;
}

void
loom_vk_buffer_free (LoomBuffer *buffer)
{
  LoomVkBuffer *buf = (LoomVkBuffer *) buffer;
  LoomVkDevice *vk = (LoomVkDevice *) buffer->device;

  /* Queued work may still use the memory: let it finish first. */
  loom_vk_stream_finish (vk->stream, NULL);
  loom_arena_release (vk->arena, &buf->range);
  g_free (buf);
}

static gboolean
ensure_staging (LoomVkDevice *vk, VkDeviceSize size, GError **error)
{
  if (vk->staging != NULL && vk->staging_size >= size)
    return TRUE;
  block_free (vk, vk->staging);
  vk->staging = block_new (vk, vk->staging_type_index, size, error);
  vk->staging_size = vk->staging ? size : 0;
  return vk->staging != NULL;
}

/* Moves COUNT floats between BUFFER (from FIRST) and HOST, either way. */
static gboolean
transfer (LoomBuffer *buffer, gsize first, gsize count, float *host,
          gboolean to_device, GError **error)
{
  LoomVkBuffer *buf = (LoomVkBuffer *) buffer;
  LoomVkDevice *vk = (LoomVkDevice *) buffer->device;
  LoomVkBlock *block = buf->range.block;
  VkDeviceSize offset = buf->range.offset + first * sizeof (float);
  VkDeviceSize bytes = count * sizeof (float);

  /* Queued work goes first, whichever way the data moves. */
  if (!loom_vk_stream_finish (vk->stream, error))
    return FALSE;
  if (!vk->use_staging)
    {
      if (to_device)
        memcpy ((char *) block->mapped + offset, host, bytes);
      else
        memcpy (host, (char *) block->mapped + offset, bytes);
      return TRUE;
    }
  if (!ensure_staging (vk, MIN (bytes, STAGING_MAX), error))
    return FALSE;
  for (VkDeviceSize done = 0; done < bytes; done += STAGING_MAX)
    {
      VkDeviceSize piece = MIN (STAGING_MAX, bytes - done);

      if (to_device)
        {
          memcpy (vk->staging->mapped, (char *) host + done, piece);
          if (!loom_vk_stream_copy (vk->stream, vk->staging, 0, block, offset + done, piece, error)
              || !loom_vk_stream_finish (vk->stream, error))
            return FALSE;
        }
      else
        {
          if (!loom_vk_stream_copy (vk->stream, block, offset + done, vk->staging, 0, piece, error)
              || !loom_vk_stream_finish (vk->stream, error))
            return FALSE;
          memcpy ((char *) host + done, vk->staging->mapped, piece);
        }
    }
  return TRUE;
}

gboolean
loom_vk_buffer_write (LoomBuffer *buffer, gsize first, gsize count,
                      const float *src, GError **error)
{
  return transfer (buffer, first, count, (float *) src, TRUE, error);
}

gboolean
loom_vk_buffer_read (LoomBuffer *buffer, gsize first, gsize count,
                     float *dst, GError **error)
{
  return transfer (buffer, first, count, dst, FALSE, error);
}
