/* Compute pipelines from the SPIR-V embedded at build time, one per op,
 * specialised for the device, and a pipeline cache kept on disk.
 *
 * The cache file is Loom's own envelope around the driver's blob:
 *   "LOOMPC01" | SHA-256 of the blob (32 bytes) | blob
 * A file whose checksum, header, vendor, device or cache UUID does not
 * match is ignored and rewritten: a driver is never handed bytes it did not
 * produce for this very device. */
#include <string.h>

#include "vulkan/vk-internal.h"

#define CACHE_MAGIC     "LOOMPC01"
#define CACHE_MAGIC_LEN 8
#define CACHE_SUM_LEN   32

static void
pipeline_free (gpointer data, LoomVkDevice *vk)
{
  LoomVkPipeline *p = data;

  vkDestroyPipeline (vk->device, p->pipeline, NULL);
  vkDestroyPipelineLayout (vk->device, p->layout, NULL);
  vkDestroyDescriptorSetLayout (vk->device, p->set_layout, NULL);
  g_free (p);
}

char *
loom_vk_pipeline_cache_path (LoomVkDevice *vk)
{
  const char *dir = g_getenv ("LOOM_CACHE_DIR");
  g_autofree char *uuid = NULL;
  g_autofree char *name = NULL;
  GString *hex = g_string_new (NULL);

  for (guint i = 0; i < VK_UUID_SIZE; i++)
    g_string_append_printf (hex, "%02x", vk->props.pipelineCacheUUID[i]);
  uuid = g_string_free (hex, FALSE);
  name = g_strdup_printf ("pipelines-%04x-%04x-%s.bin", vk->props.vendorID,
                          vk->props.deviceID, uuid);
  if (dir != NULL && *dir != '\0')
    return g_build_filename (dir, name, NULL);
  return g_build_filename (g_get_user_cache_dir (), "loom", name, NULL);
}

static gboolean
checksum (const guint8 *data, gsize len, guint8 *sum)
{
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  gsize sum_len = CACHE_SUM_LEN;

  g_checksum_update (c, data, len);
  g_checksum_get_digest (c, sum, &sum_len);
  g_checksum_free (c);
  return sum_len == CACHE_SUM_LEN;
}

/* The driver blob inside a cache file, if the file is whole and made by
 * this device's driver; else NULL and why. */
static const guint8 *
cache_blob (LoomVkDevice *vk, const guint8 *file, gsize len, gsize *blob_len, const char **why)
{
  const gsize head = CACHE_MAGIC_LEN + CACHE_SUM_LEN;
  guint8 sum[CACHE_SUM_LEN];
  const guint8 *blob = file + head;
  guint32 header_size, header_version, vendor, device;

  if (len < head + 32 || memcmp (file, CACHE_MAGIC, CACHE_MAGIC_LEN) != 0)
    return *why = "not a Loom pipeline cache", NULL;
  *blob_len = len - head;
  if (!checksum (blob, *blob_len, sum) || memcmp (sum, file + CACHE_MAGIC_LEN, CACHE_SUM_LEN) != 0)
    return *why = "checksum mismatch (truncated or corrupt)", NULL;
  /* VkPipelineCacheHeaderVersionOne, little-endian 32-bit fields. */
  memcpy (&header_size, blob, 4);
  memcpy (&header_version, blob + 4, 4);
  memcpy (&vendor, blob + 8, 4);
  memcpy (&device, blob + 12, 4);
  if (header_size < 32 || header_size > *blob_len
      || header_version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
    return *why = "unknown cache header", NULL;
  if (vendor != vk->props.vendorID || device != vk->props.deviceID
      || memcmp (blob + 16, vk->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    return *why = "made by another device or driver version", NULL;
  return blob;
}

void
loom_vk_pipelines_init (LoomVkDevice *vk)
{
  g_autofree char *file = NULL;
  gsize len = 0, blob_len = 0;
  const guint8 *blob = NULL;
  const char *why = NULL;
  VkPipelineCacheCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
  };

  vk->pipelines = g_hash_table_new (g_direct_hash, g_direct_equal);
  vk->pipeline_cache_path = loom_vk_pipeline_cache_path (vk);
  if (g_file_get_contents (vk->pipeline_cache_path, &file, &len, NULL))
    {
      blob = cache_blob (vk, (const guint8 *) file, len, &blob_len, &why);
      if (blob == NULL)
        g_debug ("ignoring pipeline cache %s: %s", vk->pipeline_cache_path, why);
    }
  if (blob != NULL)
    {
      info.initialDataSize = blob_len;
      info.pInitialData = blob;
    }
  if (vkCreatePipelineCache (vk->device, &info, NULL, &vk->pipeline_cache) != VK_SUCCESS)
    {
      /* A driver may still refuse a blob it once wrote: start empty. */
      info.initialDataSize = 0;
      info.pInitialData = NULL;
      if (vkCreatePipelineCache (vk->device, &info, NULL, &vk->pipeline_cache) != VK_SUCCESS)
        vk->pipeline_cache = VK_NULL_HANDLE;
      blob = NULL;
    }
  /* Rewrite a missing or rejected file at the end even if nothing new is built. */
  vk->pipeline_cache_dirty = blob == NULL;
}

static void
save_cache (LoomVkDevice *vk)
{
  gsize len = 0;
  g_autofree guint8 *file = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;
  const gsize head = CACHE_MAGIC_LEN + CACHE_SUM_LEN;

  if (vk->pipeline_cache == VK_NULL_HANDLE
      || vkGetPipelineCacheData (vk->device, vk->pipeline_cache, &len, NULL) != VK_SUCCESS
      || len == 0)
    return;
  file = g_malloc (head + len);
  if (vkGetPipelineCacheData (vk->device, vk->pipeline_cache, &len, file + head) != VK_SUCCESS)
    return;
  memcpy (file, CACHE_MAGIC, CACHE_MAGIC_LEN);
  checksum (file + head, len, file + CACHE_MAGIC_LEN);
  dir = g_path_get_dirname (vk->pipeline_cache_path);
  g_mkdir_with_parents (dir, 0700);
  /* Atomic: a crash leaves the old file or the new one, never half of it. */
  if (!g_file_set_contents (vk->pipeline_cache_path, (const char *) file, head + len, &error))
    g_debug ("cannot save the pipeline cache: %s", error->message);
}

void
loom_vk_pipelines_fini (LoomVkDevice *vk)
{
  GHashTableIter iter;
  gpointer value;

  if (vk->pipelines == NULL)
    return;
  if (vk->pipeline_cache_dirty)
    save_cache (vk);
  g_hash_table_iter_init (&iter, vk->pipelines);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    pipeline_free (value, vk);
  g_clear_pointer (&vk->pipelines, g_hash_table_unref);
  if (vk->pipeline_cache != VK_NULL_HANDLE)
    vkDestroyPipelineCache (vk->device, vk->pipeline_cache, NULL);
  g_clear_pointer (&vk->pipeline_cache_path, g_free);
}

LoomVkPipeline *
loom_vk_pipeline_get (LoomVkDevice *vk, const LoomOp *op, GError **error)
{
  LoomVkPipeline *p = g_hash_table_lookup (vk->pipelines, op);
  VkDescriptorSetLayoutBinding bindings[LOOM_OP_MAX_BINDINGS];
  VkSpecializationMapEntry entries[LOOM_OP_MAX_SPEC];
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult result;

  if (p != NULL)
    return p;
  if (op->params_size > vk->caps.max_push_constants)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED,
                   "%s: %" G_GSIZE_FORMAT " bytes of push constants, the device takes %u",
                   op->name, op->params_size, vk->caps.max_push_constants);
      return NULL;
    }

  p = g_new0 (LoomVkPipeline, 1);
  p->n_spec = op->vk_spec ? op->vk_spec (&vk->caps.op, p->spec) : 0;
  g_assert (p->n_spec <= LOOM_OP_MAX_SPEC);

  for (guint i = 0; i < op->n_bindings; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  for (guint i = 0; i < p->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) { i, i * sizeof (guint32), sizeof (guint32) };

  {
    VkDescriptorSetLayoutCreateInfo set_info = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = op->n_bindings,
      .pBindings = bindings,
    };
    VkPushConstantRange push = {
      VK_SHADER_STAGE_COMPUTE_BIT, 0, (guint32) ((op->params_size + 3) & ~(gsize) 3)
    };
    VkPipelineLayoutCreateInfo layout_info = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &p->set_layout,
      .pushConstantRangeCount = op->params_size > 0,
      .pPushConstantRanges = &push,
    };
    VkShaderModuleCreateInfo module_info = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = op->spirv_size,
      .pCode = op->spirv,
    };
    VkSpecializationInfo spec = {
      .mapEntryCount = p->n_spec,
      .pMapEntries = entries,
      .dataSize = p->n_spec * sizeof (guint32),
      .pData = p->spec,
    };
    VkComputePipelineCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
        .stage = VK_SHADER_STAGE_COMPUTE_BIT,
        .pName = "main",
        .pSpecializationInfo = &spec,
      },
    };

    result = vkCreateDescriptorSetLayout (vk->device, &set_info, NULL, &p->set_layout);
    if (result == VK_SUCCESS)
      result = vkCreatePipelineLayout (vk->device, &layout_info, NULL, &p->layout);
    if (result == VK_SUCCESS)
      result = vkCreateShaderModule (vk->device, &module_info, NULL, &module);
    if (result == VK_SUCCESS)
      {
        info.stage.module = module;
        info.layout = p->layout;
        result = vkCreateComputePipelines (vk->device, vk->pipeline_cache, 1, &info, NULL,
                                           &p->pipeline);
      }
  }
  if (module != VK_NULL_HANDLE)
    vkDestroyShaderModule (vk->device, module, NULL);
  if (!loom_vk_check (vk, result, op->name, error))
    {
      pipeline_free (p, vk);
      return NULL;
    }
  vk->pipeline_cache_dirty = TRUE;
  g_hash_table_insert (vk->pipelines, (gpointer) op, p);
  return p;
}
