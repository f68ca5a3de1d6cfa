/* Command recording: many dispatches per command buffer, a barrier only
 * where one dispatch touches what an earlier one wrote (or writes what it
 * read), submissions split by a work budget so none runs long enough to trip
 * a GPU watchdog, and optional timestamps per dispatch (LOOM_PROFILE=1).
 * A stream either submits as it goes (the device's immediate stream) or
 * keeps its command buffers for replay (a program's recording). */
#include <string.h>

#include "vulkan/vk-internal.h"

#define SETS_PER_POOL      256
#define MAX_IN_FLIGHT      4      /* submissions queued before we wait for the oldest */
#define MAX_QUERIES        1024   /* timestamps held before they are read back */
#define WAIT_STEP_NS       ((guint64) 1000000000)

typedef struct
{
  VkBuffer     buffer;
  VkDeviceSize offset, size;
  gboolean     written;
} Access;

typedef struct
{
  VkCommandBuffer cmd;
  VkFence         fence;
  gboolean        recorded;        /* a recording's: kept, not recycled */
} Submission;

struct _LoomVkStream
{
  LoomVkDevice    *vk;
  VkCommandPool    pool;
  GArray          *free_cmds;      /* VkCommandBuffer ready for recording */
  VkCommandBuffer  cmd;            /* being recorded, or NULL */
  double           work;           /* in cmd, flops + bytes */
  GArray          *accesses;       /* Access since the last barrier in cmd */
  GArray          *in_flight;      /* Submission, oldest first */
  GArray          *free_fences;    /* VkFence, unsignalled */
  GArray          *desc_pools;     /* VkDescriptorPool, all reset together */
  guint            desc_pool;      /* the one allocating now */
  guint            n_submits;
  guint            n_hazard_barriers;
  guint            n_dispatches;
  gboolean         recording;      /* command buffers kept in `recorded`, never submitted */
  GArray          *recorded;       /* VkCommandBuffer, in order */

  VkQueryPool      queries;        /* with profiling: two stamps per dispatch */
  guint            n_queries;
  GPtrArray       *query_ops;      /* const LoomOp* per stamp pair */
};

static LoomVkStream *
stream_new (LoomVkDevice *vk, gboolean recording, GError **error)
{
  LoomVkStream *s = g_new0 (LoomVkStream, 1);
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = vk->queue_family,
  };

  s->vk = vk;
  s->recording = recording;
  s->recorded = g_array_new (FALSE, FALSE, sizeof (VkCommandBuffer));
  s->free_cmds = g_array_new (FALSE, FALSE, sizeof (VkCommandBuffer));
  s->accesses = g_array_new (FALSE, FALSE, sizeof (Access));
  s->in_flight = g_array_new (FALSE, FALSE, sizeof (Submission));
  s->free_fences = g_array_new (FALSE, FALSE, sizeof (VkFence));
  s->desc_pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));
  s->query_ops = g_ptr_array_new ();
  if (!loom_vk_check (vk, vkCreateCommandPool (vk->device, &pool_info, NULL, &s->pool),
                      "vkCreateCommandPool", error))
    {
      loom_vk_stream_free (s);
      return NULL;
    }
  if (vk->profile && !recording)
    {
      VkQueryPoolCreateInfo query_info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = MAX_QUERIES,
      };

      if (vkCreateQueryPool (vk->device, &query_info, NULL, &s->queries) != VK_SUCCESS)
        s->queries = VK_NULL_HANDLE;
    }
  return s;
}

LoomVkStream *
loom_vk_stream_new (LoomVkDevice *vk, GError **error)
{
  return stream_new (vk, FALSE, error);
}

void
loom_vk_stream_free (LoomVkStream *s)
{
  VkDevice device = s->vk->device;

  for (guint i = 0; i < s->in_flight->len; i++)
    {
      Submission *sub = &g_array_index (s->in_flight, Submission, i);

      vkWaitForFences (device, 1, &sub->fence, VK_TRUE, UINT64_MAX);
      vkDestroyFence (device, sub->fence, NULL);
    }
  for (guint i = 0; i < s->free_fences->len; i++)
    vkDestroyFence (device, g_array_index (s->free_fences, VkFence, i), NULL);
  for (guint i = 0; i < s->desc_pools->len; i++)
    vkDestroyDescriptorPool (device, g_array_index (s->desc_pools, VkDescriptorPool, i), NULL);
  if (s->queries != VK_NULL_HANDLE)
    vkDestroyQueryPool (device, s->queries, NULL);
  if (s->pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (device, s->pool, NULL);  /* frees its command buffers */
  g_array_unref (s->free_cmds);
  g_array_unref (s->recorded);
  g_array_unref (s->accesses);
  g_array_unref (s->in_flight);
  g_array_unref (s->free_fences);
  g_array_unref (s->desc_pools);
  g_ptr_array_unref (s->query_ops);
  g_free (s);
}

guint
loom_vk_stream_get_n_submits (LoomVkStream *s)
{
  return s->n_submits;
}

guint
loom_vk_stream_get_n_dispatches (LoomVkStream *s)
{
  return s->n_dispatches;
}

guint
loom_vk_stream_get_n_hazard_barriers (LoomVkStream *s)
{
  return s->n_hazard_barriers;
}

/* Everything that may have written memory, before everything that may touch it. */
static void
full_barrier (VkCommandBuffer cmd, VkPipelineStageFlags src_stages, VkAccessFlags src_access,
              VkPipelineStageFlags dst_stages, VkAccessFlags dst_access)
{
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = src_access,
    .dstAccessMask = dst_access,
  };

  vkCmdPipelineBarrier (cmd, src_stages, dst_stages, 0, 1, &barrier, 0, NULL, 0, NULL);
}

static const VkPipelineStageFlags work_stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
                                              | VK_PIPELINE_STAGE_TRANSFER_BIT;
static const VkAccessFlags work_reads = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
static const VkAccessFlags work_writes = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

static gboolean
begin (LoomVkStream *s, GError **error)
{
  LoomVkDevice *vk = s->vk;
  VkCommandBufferBeginInfo begin_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = s->recording ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };

  if (vk->lost)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST,
                   "the Vulkan device was lost; reopen it to go on");
      return FALSE;
    }
  if (s->cmd != VK_NULL_HANDLE)
    return TRUE;
  if (s->free_cmds->len > 0)
    {
      s->cmd = g_array_index (s->free_cmds, VkCommandBuffer, s->free_cmds->len - 1);
      g_array_set_size (s->free_cmds, s->free_cmds->len - 1);
    }
  else
    {
      VkCommandBufferAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = s->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
      };

      if (!loom_vk_check (vk, vkAllocateCommandBuffers (vk->device, &info, &s->cmd),
                          "vkAllocateCommandBuffers", error))
        return FALSE;
    }
  if (!loom_vk_check (vk, vkBeginCommandBuffer (s->cmd, &begin_info),
                      "vkBeginCommandBuffer", error))
    return FALSE;
  /* Host writes and earlier submissions come before anything recorded here. */
  full_barrier (s->cmd, VK_PIPELINE_STAGE_HOST_BIT | work_stages,
                VK_ACCESS_HOST_WRITE_BIT | work_writes, work_stages, work_reads | work_writes);
  if (s->queries != VK_NULL_HANDLE && s->n_queries == 0)
    vkCmdResetQueryPool (s->cmd, s->queries, 0, MAX_QUERIES);
  s->work = 0;
  g_array_set_size (s->accesses, 0);
  return TRUE;
}

static gboolean
wait_oldest (LoomVkStream *s, GError **error)
{
  LoomVkDevice *vk = s->vk;
  Submission sub = g_array_index (s->in_flight, Submission, 0);
  const char *env = g_getenv ("LOOM_VK_TIMEOUT");
  guint64 limit_s = env ? g_ascii_strtoull (env, NULL, 10) : 600;
  VkResult result = VK_TIMEOUT;

  /* Wait in steps so a hung device becomes an error, not a hang. */
  for (guint64 waited = 0; result == VK_TIMEOUT && waited < MAX (limit_s, 1); waited++)
    result = vkWaitForFences (vk->device, 1, &sub.fence, VK_TRUE, WAIT_STEP_NS);
  if (result == VK_TIMEOUT)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_TIMEOUT,
                   "%s did not finish its work within %" G_GUINT64_FORMAT " s (LOOM_VK_TIMEOUT)",
                   vk->props.deviceName, limit_s);
      return FALSE;
    }
  if (!loom_vk_check (vk, result, "waiting for the device", error))
    return FALSE;
  g_array_remove_index (s->in_flight, 0);
  vkResetFences (vk->device, 1, &sub.fence);
  g_array_append_val (s->free_fences, sub.fence);
  if (!sub.recorded)
    {
      vkResetCommandBuffer (sub.cmd, 0);
      g_array_append_val (s->free_cmds, sub.cmd);
    }
  return TRUE;
}

/* Queues CMD (ended) with a fence of its own, without waiting. */
static gboolean
queue (LoomVkStream *s, VkCommandBuffer cmd, gboolean recorded, GError **error)
{
  LoomVkDevice *vk = s->vk;
  Submission sub = { cmd, VK_NULL_HANDLE, recorded };
  VkSubmitInfo info = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &sub.cmd,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };

  if (s->free_fences->len > 0)
    {
      sub.fence = g_array_index (s->free_fences, VkFence, s->free_fences->len - 1);
      g_array_set_size (s->free_fences, s->free_fences->len - 1);
    }
  else if (!loom_vk_check (vk, vkCreateFence (vk->device, &fence_info, NULL, &sub.fence),
                           "vkCreateFence", error))
    return FALSE;
  if (!loom_vk_check (vk, vkQueueSubmit (vk->queue, 1, &info, sub.fence),
                      "vkQueueSubmit", error))
    {
      g_array_append_val (s->free_fences, sub.fence);
      return FALSE;
    }
  g_array_append_val (s->in_flight, sub);
  s->n_submits++;
  if (s->in_flight->len > MAX_IN_FLIGHT)
    return wait_oldest (s, error);
  return TRUE;
}

/* Ends the command buffer being recorded and submits it without waiting
 * (or, recording, keeps it). */
static gboolean
submit (LoomVkStream *s, GError **error)
{
  LoomVkDevice *vk = s->vk;
  VkCommandBuffer cmd = s->cmd;

  if (cmd == VK_NULL_HANDLE)
    return TRUE;
  s->cmd = VK_NULL_HANDLE;
  /* Results become visible to the host once the fence signals. */
  full_barrier (cmd, work_stages, work_writes, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);
  if (loom_vk_check (vk, vkEndCommandBuffer (cmd), "vkEndCommandBuffer", error))
    {
      if (s->recording)
        {
          g_array_append_val (s->recorded, cmd);
          return TRUE;
        }
      if (queue (s, cmd, FALSE, error))
        return TRUE;
    }
  vkResetCommandBuffer (cmd, 0);
  g_array_append_val (s->free_cmds, cmd);
  return FALSE;
}

static void
harvest_timestamps (LoomVkStream *s)
{
  LoomVkDevice *vk = s->vk;
  g_autofree guint64 *stamps = NULL;
  guint64 mask;

  if (s->n_queries == 0)
    return;
  stamps = g_new0 (guint64, s->n_queries);
  mask = vk->caps.timestamp_bits >= 64 ? G_MAXUINT64 : ((guint64) 1 << vk->caps.timestamp_bits) - 1;
  if (vkGetQueryPoolResults (vk->device, s->queries, 0, s->n_queries,
                             s->n_queries * sizeof (guint64), stamps, sizeof (guint64),
                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS)
    for (guint i = 0; i + 1 < s->n_queries; i += 2)
      {
        const LoomOp *op = s->query_ops->pdata[i / 2];
        loom_profile_add (vk->profile_ns, op->name,
                          ((stamps[i + 1] - stamps[i]) & mask) * (double) vk->caps.timestamp_period);
      }
  s->n_queries = 0;
  g_ptr_array_set_size (s->query_ops, 0);
}

gboolean
loom_vk_stream_finish (LoomVkStream *s, GError **error)
{
  LoomVkDevice *vk = s->vk;
  gboolean ok;

  if (vk->lost)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_DEVICE_LOST,
                   "the Vulkan device was lost; reopen it to go on");
      return FALSE;
    }
  ok = submit (s, error);
  while (s->in_flight->len > 0)
    {
      if (!wait_oldest (s, ok ? error : NULL))
        {
          ok = FALSE;
          if (vk->lost || s->in_flight->len > 0)
            break;  /* no way to know when the rest ends: leave it */
        }
    }
  if (s->in_flight->len == 0)
    {
      for (guint i = 0; i < s->desc_pools->len; i++)
        vkResetDescriptorPool (vk->device, g_array_index (s->desc_pools, VkDescriptorPool, i), 0);
      s->desc_pool = 0;
      harvest_timestamps (s);
    }
  return ok;
}

static VkDescriptorSet
allocate_set (LoomVkStream *s, VkDescriptorSetLayout layout, GError **error)
{
  LoomVkDevice *vk = s->vk;
  VkDescriptorSet set = VK_NULL_HANDLE;

  for (;;)
    {
      VkResult result;
      VkDescriptorSetAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorSetCount = 1,
        .pSetLayouts = &layout,
      };

      if (s->desc_pool == s->desc_pools->len)
        {
          VkDescriptorPoolSize size = {
            VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * LOOM_OP_MAX_BINDINGS
          };
          VkDescriptorPoolCreateInfo pool_info = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
            .maxSets = SETS_PER_POOL,
            .poolSizeCount = 1,
            .pPoolSizes = &size,
          };
          VkDescriptorPool pool;

          if (!loom_vk_check (vk, vkCreateDescriptorPool (vk->device, &pool_info, NULL, &pool),
                              "vkCreateDescriptorPool", error))
            return VK_NULL_HANDLE;
          g_array_append_val (s->desc_pools, pool);
        }
      info.descriptorPool = g_array_index (s->desc_pools, VkDescriptorPool, s->desc_pool);
      result = vkAllocateDescriptorSets (vk->device, &info, &set);
      if (result == VK_SUCCESS)
        return set;
      if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL)
        {
          loom_vk_check (vk, result, "vkAllocateDescriptorSets", error);
          return VK_NULL_HANDLE;
        }
      s->desc_pool++;           /* this pool is full: on to the next */
    }
}

static gboolean
overlaps (const Access *a, const Access *b)
{
  return a->buffer == b->buffer && a->offset < b->offset + b->size
      && b->offset < a->offset + a->size;
}

/* Inserts a barrier if any of NEW conflicts with what ran since the last one
 * (read after write, write after write, write after read), then notes NEW. */
static void
order_accesses (LoomVkStream *s, const Access *new, guint n_new)
{
  gboolean conflict = FALSE;

  for (guint i = 0; i < n_new && !conflict; i++)
    for (guint j = 0; j < s->accesses->len && !conflict; j++)
      {
        const Access *old = &g_array_index (s->accesses, Access, j);

        conflict = (old->written || new[i].written) && overlaps (old, &new[i]);
      }
  if (conflict)
    {
      s->n_hazard_barriers++;
      full_barrier (s->cmd, work_stages, work_writes, work_stages, work_reads | work_writes);
      g_array_set_size (s->accesses, 0);
    }
  g_array_append_vals (s->accesses, new, n_new);
}

static gboolean
after_work (LoomVkStream *s, double work, GError **error)
{
  s->work += work;
  if (s->work >= s->vk->submit_budget)
    return submit (s, error);
  return TRUE;
}

gboolean
loom_vk_stream_copy (LoomVkStream *s, LoomVkBlock *src, VkDeviceSize src_offset,
                     LoomVkBlock *dst, VkDeviceSize dst_offset, VkDeviceSize size,
                     GError **error)
{
  VkBufferCopy region = { src_offset, dst_offset, size };
  Access access[2] = {
    { src->buffer, src_offset, size, FALSE },
    { dst->buffer, dst_offset, size, TRUE },
  };

  if (!begin (s, error))
    return FALSE;
  order_accesses (s, access, 2);
  vkCmdCopyBuffer (s->cmd, src->buffer, dst->buffer, 1, &region);
  return after_work (s, 2.0 * size, error);
}

gboolean
loom_vk_stream_dispatch (LoomVkStream *s, const LoomOp *op, const void *params,
                         const LoomSpan *spans, GError **error)
{
  LoomVkDevice *vk = s->vk;
  LoomVkPipeline *p = loom_vk_pipeline_get (vk, op, error);
  VkDescriptorBufferInfo infos[LOOM_OP_MAX_BINDINGS];
  VkWriteDescriptorSet writes[LOOM_OP_MAX_BINDINGS];
  Access access[LOOM_OP_MAX_BINDINGS];
  gsize lengths[LOOM_OP_MAX_BINDINGS];
  guint32 groups[3];
  VkDescriptorSet set;
  double bytes = 0;

  if (p == NULL || !begin (s, error))
    return FALSE;
  if (s->queries != VK_NULL_HANDLE && s->n_queries + 2 > MAX_QUERIES
      && !loom_vk_stream_finish (s, error))
    return FALSE;
  if (!begin (s, error))
    return FALSE;
  set = allocate_set (s, p->set_layout, error);
  if (set == VK_NULL_HANDLE)
    return FALSE;

  op->binding_lengths (params, lengths);
  for (guint i = 0; i < op->n_bindings; i++)
    {
      LoomVkBuffer *buf = (LoomVkBuffer *) spans[i].buffer;
      LoomVkBlock *block = buf->range.block;
      VkDeviceSize offset = buf->range.offset + spans[i].offset * sizeof (float);
      VkDeviceSize size = MAX (lengths[i], 1) * sizeof (float);

      if (size > vk->caps.op.max_storage_range || offset % vk->caps.min_storage_align != 0)
        {
          g_autofree char *have = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *most = g_format_size_full (vk->caps.op.max_storage_range,
                                                      G_FORMAT_SIZE_IEC_UNITS);

          g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED,
                       "%s: argument %u (%s at byte %" G_GUINT64_FORMAT ") is beyond what %s "
                       "binds at once (%s, offsets aligned to %" G_GUINT64_FORMAT " bytes); "
                       "the caller must tile it", op->name, i, have, (guint64) offset,
                       vk->props.deviceName, most, (guint64) vk->caps.min_storage_align);
          return FALSE;
        }
      infos[i] = (VkDescriptorBufferInfo) { block->buffer, offset, size };
      writes[i] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &infos[i],
      };
      access[i] = (Access) { block->buffer, offset, size, (op->write_mask >> i) & 1 };
      bytes += size;
    }
  vkUpdateDescriptorSets (vk->device, op->n_bindings, writes, 0, NULL);

  order_accesses (s, access, op->n_bindings);
  op->vk_groups (params, p->spec, &vk->caps.op, groups);
  if (s->queries != VK_NULL_HANDLE)
    vkCmdWriteTimestamp (s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->queries, s->n_queries++);
  vkCmdBindPipeline (s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
  vkCmdBindDescriptorSets (s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
  if (op->params_size > 0)
    vkCmdPushConstants (s->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                        (guint32) ((op->params_size + 3) & ~(gsize) 3), params);
  vkCmdDispatch (s->cmd, groups[0], groups[1], groups[2]);
  if (s->queries != VK_NULL_HANDLE)
    {
      vkCmdWriteTimestamp (s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->queries, s->n_queries++);
      g_ptr_array_add (s->query_ops, (gpointer) op);
    }
  s->n_dispatches++;
  return after_work (s, op->flops (params) + bytes, error);
}

/* Elementwise ops larger than one binding may cover are split into chunks
 * that fit; others are one dispatch. */
static gboolean
stream_run (LoomVkStream *s, const LoomOp *op, const void *params, const LoomSpan *spans,
            GError **error)
{
  LoomVkDevice *vk = s->vk;
  guint32 n, chunk;
  guint8 chunk_params[LOOM_OP_MAX_PARAMS];
  LoomSpan chunk_spans[LOOM_OP_MAX_BINDINGS];

  if (!op->elementwise)
    return loom_vk_stream_dispatch (s, op, params, spans, error);

  memcpy (&n, params, sizeof n);
  /* Whole multiples of 64 floats keep every chunk's offset aligned. */
  chunk = (guint32) MIN ((gsize) G_MAXUINT32 / 2, vk->caps.op.max_storage_range / sizeof (float));
  chunk = MAX (chunk / 64 * 64, 64);
  if (n <= chunk)
    return loom_vk_stream_dispatch (s, op, params, spans, error);

  g_assert (op->params_size <= sizeof chunk_params);
  memcpy (chunk_params, params, op->params_size);
  for (guint32 first = 0; first < n; first += chunk)
    {
      guint32 len = MIN (chunk, n - first);

      memcpy (chunk_params, &len, sizeof len);
      for (guint i = 0; i < op->n_bindings; i++)
        chunk_spans[i] = (LoomSpan) { spans[i].buffer, spans[i].offset + first, len };
      if (!loom_vk_stream_dispatch (s, op, chunk_params, chunk_spans, error))
        return FALSE;
    }
  return TRUE;
}

/* Immediate ops go on the device's stream. */
gboolean
loom_vk_run (LoomDevice *device, const LoomOp *op, const void *params,
             const LoomSpan *spans, GError **error)
{
  return stream_run (((LoomVkDevice *) device)->stream, op, params, spans, error);
}

/* A program's recording: a stream of its own whose command buffers and
 * descriptor sets live as long as the program. */
gpointer
loom_vk_record (LoomDevice *device, const LoomOpCall *calls, guint n_calls, GError **error)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;
  LoomVkStream *s = stream_new (vk, TRUE, error);

  if (s == NULL)
    return NULL;
  for (guint i = 0; i < n_calls; i++)
    if (!stream_run (s, calls[i].op, calls[i].params, calls[i].spans, error))
      {
        loom_vk_stream_free (s);
        return NULL;
      }
  if (!submit (s, error))
    {
      loom_vk_stream_free (s);
      return NULL;
    }
  vk->n_recorded_dispatches += s->n_dispatches;
  return s;
}

/* After what the immediate stream holds (uploads), the recorded command
 * buffers in order, then a wait: the next replay may reuse them. */
gboolean
loom_vk_replay (LoomDevice *device, gpointer recording, GError **error)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;
  LoomVkStream *rec = recording, *s = vk->stream;

  if (!loom_vk_stream_finish (s, error))
    return FALSE;
  for (guint i = 0; i < rec->recorded->len; i++)
    if (!queue (s, g_array_index (rec->recorded, VkCommandBuffer, i), TRUE, error))
      {
        loom_vk_stream_finish (s, NULL);
        return FALSE;
      }
  vk->n_replays++;
  return loom_vk_stream_finish (s, error);
}

void
loom_vk_recording_free (LoomDevice *device, gpointer recording)
{
  loom_vk_stream_free (recording);
}

void
loom_vk_profile_print (LoomVkDevice *vk)
{
  loom_profile_print (vk->profile_ns, vk->props.deviceName);
}
