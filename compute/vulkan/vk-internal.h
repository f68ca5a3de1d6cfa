/* The Vulkan backend's insides, shared by its files and by the tests. */
#pragma once

#include <vulkan/vulkan.h>

#include "arena.h"
#include "backend.h"

G_BEGIN_DECLS

typedef struct _LoomVkDevice LoomVkDevice;
typedef struct _LoomVkStream LoomVkStream;

/* Everything read once from the physical device. */
typedef struct
{
  LoomLimits  op;                  /* what ops see */
  VkDeviceSize min_storage_align;
  VkDeviceSize max_allocation;     /* maxMemoryAllocationSize */
  guint32     max_push_constants;
  gboolean    fp16;                /* shaderFloat16 */
  gboolean    storage16;           /* storageBuffer16BitAccess */
  gboolean    cooperative_matrix;  /* VK_KHR_cooperative_matrix with the feature on */
  gboolean    timestamps;          /* the queue can write timestamps */
  float       timestamp_period;    /* ns per tick */
  guint32     timestamp_bits;
} LoomVkCaps;

typedef struct
{
  LoomBuffer     parent;
  LoomArenaRange range;            /* range.block is a LoomVkBlock */
} LoomVkBuffer;

/* One VkDeviceMemory with one VkBuffer over all of it. */
typedef struct
{
  VkDeviceMemory memory;
  VkBuffer       buffer;
  void          *mapped;           /* when the memory is host-visible */
} LoomVkBlock;

typedef struct
{
  VkPipeline            pipeline;
  VkPipelineLayout      layout;
  VkDescriptorSetLayout set_layout;
  guint32               spec[LOOM_OP_MAX_SPEC];
  guint                 n_spec;
} LoomVkPipeline;

struct _LoomVkDevice
{
  LoomDevice        parent;

  VkInstance        instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice  physical;
  VkDevice          device;
  VkQueue           queue;
  guint32           queue_family;
  VkPhysicalDeviceProperties props;
  LoomVkCaps        caps;
  gboolean          lost;          /* after VK_ERROR_DEVICE_LOST every call fails */

  /* Memory: tensors live in device-local blocks; when the host cannot map
   * them (discrete GPUs, or LOOM_VK_FORCE_STAGING=1) data goes through a
   * host-visible staging buffer. */
  guint32           device_type_index;
  guint32           staging_type_index;
  gboolean          use_staging;
  LoomArena        *arena;
  LoomVkBlock      *staging;       /* grown on demand */
  VkDeviceSize      staging_size;

  /* Pipelines, by op and specialization; the cache persists across runs. */
  GHashTable       *pipelines;     /* const LoomOp* -> LoomVkPipeline* */
  VkPipelineCache   pipeline_cache;
  char             *pipeline_cache_path;
  gboolean          pipeline_cache_dirty;

  LoomVkStream     *stream;        /* where immediate ops are recorded */
  double            submit_budget; /* work (flops + bytes) per submission */
  guint             n_recorded_dispatches;  /* by programs, for tests */
  guint             n_replays;
  gboolean          profile;       /* LOOM_PROFILE=1 */
  GHashTable       *profile_ns;    /* op name -> accumulated ns and count */
};

/* vk-device.c */
gboolean  loom_vk_check          (LoomVkDevice *vk, VkResult result, const char *what, GError **error);
guint     loom_vk_validation_message_count (void);

/* vk-memory.c */
gboolean  loom_vk_memory_init    (LoomVkDevice *vk, GError **error);
void      loom_vk_memory_fini    (LoomVkDevice *vk);
LoomBuffer *loom_vk_buffer_new   (LoomDevice *device, gsize length, GError **error);
void      loom_vk_buffer_free    (LoomBuffer *buffer);
gboolean  loom_vk_buffer_write   (LoomBuffer *buffer, gsize first, gsize count,
                                  const float *src, GError **error);
gboolean  loom_vk_buffer_read    (LoomBuffer *buffer, gsize first, gsize count,
                                  float *dst, GError **error);

/* vk-pipeline.c */
void      loom_vk_pipelines_init (LoomVkDevice *vk);
void      loom_vk_pipelines_fini (LoomVkDevice *vk);
LoomVkPipeline *loom_vk_pipeline_get (LoomVkDevice *vk, const LoomOp *op, GError **error);
char     *loom_vk_pipeline_cache_path (LoomVkDevice *vk);

/* vk-stream.c: recording, barriers, submission. */
LoomVkStream *loom_vk_stream_new (LoomVkDevice *vk, GError **error);
void      loom_vk_stream_free    (LoomVkStream *stream);
gboolean  loom_vk_stream_dispatch (LoomVkStream *stream, const LoomOp *op,
                                   const void *params, const LoomSpan *spans,
                                   GError **error);
/* Records a copy between blocks (staging transfers). */
gboolean  loom_vk_stream_copy    (LoomVkStream *stream,
                                  LoomVkBlock *src, VkDeviceSize src_offset,
                                  LoomVkBlock *dst, VkDeviceSize dst_offset,
                                  VkDeviceSize size, GError **error);
/* Submits what is recorded and waits for all of it. */
gboolean  loom_vk_stream_finish  (LoomVkStream *stream, GError **error);
guint     loom_vk_stream_get_n_submits (LoomVkStream *stream);
/* Barriers recorded because one command touched what an earlier one wrote. */
guint     loom_vk_stream_get_n_hazard_barriers (LoomVkStream *stream);
guint     loom_vk_stream_get_n_dispatches (LoomVkStream *stream);
gboolean  loom_vk_run            (LoomDevice *device, const LoomOp *op,
                                  const void *params, const LoomSpan *spans,
                                  GError **error);
gpointer  loom_vk_record         (LoomDevice *device, const LoomOpCall *calls, guint n_calls,
                                  GError **error);
gboolean  loom_vk_replay         (LoomDevice *device, gpointer recording, GError **error);
void      loom_vk_recording_free (LoomDevice *device, gpointer recording);
/* For tests: dispatches recorded by programs and replays so far. */
void      loom_vk_debug_program_counts (LoomDevice *device, guint *recorded, guint *replays);
void      loom_vk_profile_print  (LoomVkDevice *vk);

/* For tests: shrink the limits so small shapes exercise grid capping and
 * range splitting (0 leaves a limit as it is). */
void      loom_vk_debug_cap_limits (LoomDevice *device, guint32 max_groups, gsize max_storage_range);
/* For tests: pick the kernels meant for the other kind of device (GPU
 * kernels on lavapipe); only before the first op runs. */
void      loom_vk_debug_set_cpu_like (LoomDevice *device, gboolean cpu_like);
void      loom_vk_set_memory_budget (LoomDevice *device, gsize bytes);

G_END_DECLS
