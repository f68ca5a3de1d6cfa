/* Vulkan instance, device choice and device limits. */
#include <string.h>

#include "vulkan/vk-internal.h"

#define DRIVER_HINT "install a Vulkan driver: mesa-vulkan-drivers (lavapipe on the CPU, " \
                    "AMD, Intel), or your GPU vendor's driver"
#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static gint validation_messages;  /* warnings and errors seen by any messenger */

guint
loom_vk_validation_message_count (void)
{
  return (guint) g_atomic_int_get (&validation_messages);
}

static const char *
result_name (VkResult result)
{
  switch (result)
    {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult";
    }
}

/* Turns a failed VkResult into a GError; device loss sticks to the device. */
gboolean
loom_vk_check (LoomVkDevice *vk, VkResult result, const char *what, GError **error)
{
  LoomErrorCode code;

  if (result == VK_SUCCESS)
    return TRUE;
  switch (result)
    {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
      code = LOOM_ERROR_OUT_OF_MEMORY;
      break;
    case VK_ERROR_DEVICE_LOST:
      code = LOOM_ERROR_DEVICE_LOST;
      if (vk != NULL)
        vk->lost = TRUE;
      break;
    case VK_TIMEOUT:
      code = LOOM_ERROR_TIMEOUT;
      break;
    default:
      code = LOOM_ERROR_FAILED;
    }
  g_set_error (error, LOOM_ERROR, code, "%s failed: %s (%d)%s", what,
               result_name (result), (int) result,
               code == LOOM_ERROR_DEVICE_LOST
                 ? "; the GPU was reset or its driver failed, results are lost" : "");
  return FALSE;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_debug_message (VkDebugUtilsMessageSeverityFlagBitsEXT      severity,
                  VkDebugUtilsMessageTypeFlagsEXT             types,
                  const VkDebugUtilsMessengerCallbackDataEXT *data,
                  void                                       *user_data)
{
  g_atomic_int_inc (&validation_messages);
  g_printerr ("loom: Vulkan validation %s: %s\n",
              severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
              data->pMessage);
  return VK_FALSE;
}

static gboolean
env_flag (const char *name)
{
  const char *v = g_getenv (name);

  return v != NULL && *v != '\0' && strcmp (v, "0") != 0;
}

static gboolean
has_extension (const VkExtensionProperties *exts, guint32 n, const char *name)
{
  for (guint32 i = 0; i < n; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
has_layer (const char *name)
{
  guint32 n = 0;
  g_autofree VkLayerProperties *layers = NULL;

  if (vkEnumerateInstanceLayerProperties (&n, NULL) != VK_SUCCESS)
    return FALSE;
  layers = g_new0 (VkLayerProperties, MAX (n, 1));
  if (vkEnumerateInstanceLayerProperties (&n, layers) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    if (strcmp (layers[i].layerName, name) == 0)
      return TRUE;
  return FALSE;
}

static VkExtensionProperties *
instance_extensions (const char *layer, guint32 *n)
{
  VkExtensionProperties *exts;

  *n = 0;
  if (vkEnumerateInstanceExtensionProperties (layer, n, NULL) != VK_SUCCESS)
    return g_new0 (VkExtensionProperties, 1);
  exts = g_new0 (VkExtensionProperties, MAX (*n, 1));
  if (vkEnumerateInstanceExtensionProperties (layer, n, exts) != VK_SUCCESS)
    *n = 0;
  return exts;
}

/* With LOOM_VALIDATION=1 the Khronos validation layer is required, with
 * synchronization validation on, and every warning or error it reports is
 * counted and printed. */
static VkInstance
create_instance (gboolean validate, VkDebugUtilsMessengerEXT *messenger, GError **error)
{
  const char *extensions[4];
  const char *layers[1] = { VALIDATION_LAYER };
  guint32 n_ext = 0, n_avail = 0, n_layer_ext = 0;
  g_autofree VkExtensionProperties *avail = instance_extensions (NULL, &n_avail);
  g_autofree VkExtensionProperties *layer_ext = NULL;
  VkBool32 on = VK_TRUE;
  VkLayerSettingEXT settings[] = {
    { VALIDATION_LAYER, "validate_sync", VK_LAYER_SETTING_TYPE_BOOL32_EXT, 1, &on },
  };
  VkLayerSettingsCreateInfoEXT settings_info = {
    .sType = VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT,
    .settingCount = G_N_ELEMENTS (settings),
    .pSettings = settings,
  };
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT
                     | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
                 | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
                 | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = on_debug_message,
  };
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Loom",
    .pEngineName = "Loom",
    .apiVersion = VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app,
    .ppEnabledExtensionNames = extensions,
  };
  VkInstance instance = VK_NULL_HANDLE;
  VkResult result;

  /* MoltenVK lists its devices only to instances that ask for portability. */
  if (has_extension (avail, n_avail, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME))
    {
      extensions[n_ext++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
      info.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
  if (validate)
    {
      if (!has_layer (VALIDATION_LAYER))
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                       "LOOM_VALIDATION is set but %s is not installed "
                       "(Debian package vulkan-validationlayers)", VALIDATION_LAYER);
          return VK_NULL_HANDLE;
        }
      info.enabledLayerCount = 1;
      info.ppEnabledLayerNames = layers;
      extensions[n_ext++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
      layer_ext = instance_extensions (VALIDATION_LAYER, &n_layer_ext);
      if (has_extension (layer_ext, n_layer_ext, VK_EXT_LAYER_SETTINGS_EXTENSION_NAME))
        {
          extensions[n_ext++] = VK_EXT_LAYER_SETTINGS_EXTENSION_NAME;
          settings_info.pNext = &messenger_info;
          info.pNext = &settings_info;
        }
      else
        info.pNext = &messenger_info;
    }
  info.enabledExtensionCount = n_ext;

  result = vkCreateInstance (&info, NULL, &instance);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                   "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); "
                   DRIVER_HINT);
      return VK_NULL_HANDLE;
    }
  if (!loom_vk_check (NULL, result, "vkCreateInstance", error))
    return VK_NULL_HANDLE;

  if (validate)
    {
      PFN_vkCreateDebugUtilsMessengerEXT create_messenger = (PFN_vkCreateDebugUtilsMessengerEXT)
        vkGetInstanceProcAddr (instance, "vkCreateDebugUtilsMessengerEXT");

      messenger_info.pNext = NULL;
      if (create_messenger == NULL
          || create_messenger (instance, &messenger_info, NULL, messenger) != VK_SUCCESS)
        {
          vkDestroyInstance (instance, NULL);
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_FAILED,
                       "cannot install the validation message callback");
          return VK_NULL_HANDLE;
        }
    }
  return instance;
}

static VkPhysicalDevice *
physical_devices (VkInstance instance, guint32 *n, GError **error)
{
  VkPhysicalDevice *devices;

  *n = 0;
  if (!loom_vk_check (NULL, vkEnumeratePhysicalDevices (instance, n, NULL),
                      "vkEnumeratePhysicalDevices", error))
    return NULL;
  devices = g_new0 (VkPhysicalDevice, MAX (*n, 1));
  if (!loom_vk_check (NULL, vkEnumeratePhysicalDevices (instance, n, devices),
                      "vkEnumeratePhysicalDevices", error))
    {
      g_free (devices);
      return NULL;
    }
  if (*n == 0)
    {
      g_free (devices);
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                   "Vulkan works but lists no device; " DRIVER_HINT);
      return NULL;
    }
  return devices;
}

/* Lower is better: real GPUs first, CPU drivers last. */
static int
type_rank (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

static const char *
type_name (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static void
fill_info (VkPhysicalDevice physical, int index, LoomDeviceInfo *info)
{
  VkPhysicalDeviceDriverProperties driver = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
  };

  vkGetPhysicalDeviceProperties (physical, &props.properties);
  if (props.properties.apiVersion >= VK_API_VERSION_1_2)
    {
      props.pNext = &driver;
      vkGetPhysicalDeviceProperties2 (physical, &props);
    }
  info->backend = LOOM_BACKEND_VULKAN;
  info->index = index;
  info->name = g_strdup (props.properties.deviceName);
  info->type = type_name (props.properties.deviceType);
  info->api_version = props.properties.apiVersion;
  if (driver.driverName[0] != '\0')
    info->driver = g_strdup_printf ("%s (%s)", driver.driverName, driver.driverInfo);
  else
    info->driver = g_strdup_printf ("driver version 0x%x", props.properties.driverVersion);
}

gboolean
loom_vk_list_devices (GPtrArray *infos, GError **error)
{
  VkDebugUtilsMessengerEXT unused = VK_NULL_HANDLE;
  VkInstance instance = create_instance (FALSE, &unused, error);
  g_autofree VkPhysicalDevice *devices = NULL;
  guint32 n;

  if (instance == VK_NULL_HANDLE)
    return FALSE;
  devices = physical_devices (instance, &n, error);
  for (guint32 i = 0; devices != NULL && i < n; i++)
    {
      LoomDeviceInfo *info = g_new0 (LoomDeviceInfo, 1);

      fill_info (devices[i], (int) i, info);
      g_ptr_array_add (infos, info);
    }
  vkDestroyInstance (instance, NULL);
  return devices != NULL;
}

/* The optional features Loom asks about, linked for vkGetPhysicalDeviceFeatures2
 * and, with only the wanted ones left on, for vkCreateDevice. */
typedef struct
{
  VkPhysicalDeviceFeatures2                    features;
  VkPhysicalDevice16BitStorageFeatures         f16;
  VkPhysicalDeviceVulkan12Features             f12;     /* Vulkan 1.2 devices only */
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR coopmat; /* with the extension only */
} FeatureChain;

static void
feature_chain_init (FeatureChain *c, guint32 api_version, gboolean coopmat)
{
  void **next;

  memset (c, 0, sizeof *c);
  c->features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  c->f16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  c->f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  c->coopmat.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR;
  c->features.pNext = &c->f16;
  next = &c->f16.pNext;
  if (api_version >= VK_API_VERSION_1_2)
    *next = &c->f12, next = &c->f12.pNext;
  if (coopmat)
    *next = &c->coopmat;
}

static void
read_caps (LoomVkDevice *vk, gboolean has_coopmat_ext)
{
  VkPhysicalDeviceSubgroupProperties subgroup = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &subgroup,
  };
  VkPhysicalDeviceMaintenance3Properties maint3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
  };
  FeatureChain chain;
  const VkPhysicalDeviceLimits *l = &vk->props.limits;
  LoomVkCaps *caps = &vk->caps;
  guint32 n_families = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;

  subgroup.pNext = &maint3;
  vkGetPhysicalDeviceProperties2 (vk->physical, &props);
  feature_chain_init (&chain, vk->props.apiVersion, has_coopmat_ext);
  vkGetPhysicalDeviceFeatures2 (vk->physical, &chain.features);

  for (int i = 0; i < 3; i++)
    caps->op.max_groups[i] = l->maxComputeWorkGroupCount[i];
  caps->op.max_local_size = l->maxComputeWorkGroupInvocations;
  caps->op.shared_bytes = l->maxComputeSharedMemorySize;
  caps->op.subgroup_size = MAX (subgroup.subgroupSize, 1);
  caps->op.max_storage_range = l->maxStorageBufferRange;
  caps->op.cpu_like = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  caps->min_storage_align = l->minStorageBufferOffsetAlignment;
  caps->max_allocation = maint3.maxMemoryAllocationSize ? maint3.maxMemoryAllocationSize
                                                        : (VkDeviceSize) 1 << 30;
  caps->max_push_constants = l->maxPushConstantsSize;
  caps->fp16 = chain.f12.shaderFloat16;
  caps->storage16 = chain.f16.storageBuffer16BitAccess;
  caps->cooperative_matrix = has_coopmat_ext && chain.coopmat.cooperativeMatrix;

  vkGetPhysicalDeviceQueueFamilyProperties (vk->physical, &n_families, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n_families, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (vk->physical, &n_families, families);
  caps->timestamp_bits = families[vk->queue_family].timestampValidBits;
  caps->timestamp_period = l->timestampPeriod;
  caps->timestamps = caps->timestamp_bits > 0 && l->timestampComputeAndGraphics;
}

static gboolean
pick_queue_family (VkPhysicalDevice physical, guint32 *family)
{
  guint32 n = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;

  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, families);
  /* A compute-only family runs beside graphics work; else any with compute. */
  for (int pass = 0; pass < 2; pass++)
    for (guint32 i = 0; i < n; i++)
      if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
          && (pass == 1 || !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
        {
          *family = i;
          return TRUE;
        }
  return FALSE;
}

static gboolean
create_logical_device (LoomVkDevice *vk, GError **error)
{
  guint32 n_ext = 0;
  g_autofree VkExtensionProperties *avail = NULL;
  const char *extensions[2];
  guint32 n_enable = 0;
  float priority = 1.0f;
  FeatureChain enable;
  VkDeviceQueueCreateInfo queue = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue,
    .ppEnabledExtensionNames = extensions,
  };
  gboolean has_coopmat;

  vkEnumerateDeviceExtensionProperties (vk->physical, NULL, &n_ext, NULL);
  avail = g_new0 (VkExtensionProperties, MAX (n_ext, 1));
  vkEnumerateDeviceExtensionProperties (vk->physical, NULL, &n_ext, avail);
  /* MoltenVK requires portability_subset to be enabled where it is listed. */
  if (has_extension (avail, n_ext, "VK_KHR_portability_subset"))
    extensions[n_enable++] = "VK_KHR_portability_subset";
  has_coopmat = has_extension (avail, n_ext, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);

  if (!pick_queue_family (vk->physical, &vk->queue_family))
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED,
                   "%s has no compute queue", vk->props.deviceName);
      return FALSE;
    }
  read_caps (vk, has_coopmat);

  /* The 16-bit features Loom's shaders may use, where present; cooperative
   * matrices stay off until a kernel uses them. */
  feature_chain_init (&enable, vk->props.apiVersion, FALSE);
  enable.f16.storageBuffer16BitAccess = vk->caps.storage16;
  enable.f12.shaderFloat16 = vk->caps.fp16;
  info.pNext = &enable.features;
  queue.queueFamilyIndex = vk->queue_family;
  info.enabledExtensionCount = n_enable;
  if (!loom_vk_check (vk, vkCreateDevice (vk->physical, &info, NULL, &vk->device),
                      "vkCreateDevice", error))
    return FALSE;
  vkGetDeviceQueue (vk->device, vk->queue_family, 0, &vk->queue);
  return TRUE;
}

static void vk_device_free (LoomDevice *device);

static gboolean
vk_sync (LoomDevice *device, GError **error)
{
  return loom_vk_stream_finish (((LoomVkDevice *) device)->stream, error);
}

static void
vk_properties (LoomDevice *device, LoomPropertyFunc func, gpointer data)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;
  const LoomVkCaps *c = &vk->caps;
  struct { const char *key; char *value; } p[] = {
    { "vulkan", g_strdup_printf ("%u.%u.%u", VK_API_VERSION_MAJOR (vk->props.apiVersion),
                                 VK_API_VERSION_MINOR (vk->props.apiVersion),
                                 VK_API_VERSION_PATCH (vk->props.apiVersion)) },
    { "type", g_strdup (device->info.type) },
    { "driver", g_strdup (device->info.driver) },
    { "memory", g_strdup (vk->use_staging ? "device-local, staged transfers"
                                          : "unified, mapped by the host") },
    { "max storage range", g_format_size_full (c->op.max_storage_range, G_FORMAT_SIZE_IEC_UNITS) },
    { "max allocation", g_format_size_full (c->max_allocation, G_FORMAT_SIZE_IEC_UNITS) },
    { "max workgroups", g_strdup_printf ("%u × %u × %u", c->op.max_groups[0],
                                         c->op.max_groups[1], c->op.max_groups[2]) },
    { "max invocations", g_strdup_printf ("%u", c->op.max_local_size) },
    { "shared memory", g_format_size_full (c->op.shared_bytes, G_FORMAT_SIZE_IEC_UNITS) },
    { "subgroup size", g_strdup_printf ("%u", c->op.subgroup_size) },
    { "fp16 arithmetic", g_strdup (c->fp16 ? "yes" : "no") },
    { "16-bit storage", g_strdup (c->storage16 ? "yes" : "no") },
    { "cooperative matrix", g_strdup (c->cooperative_matrix ? "yes" : "no") },
    { "timestamps", g_strdup (c->timestamps ? "yes" : "no") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    {
      func (p[i].key, p[i].value, data);
      g_free (p[i].value);
    }
}

static gsize
vk_max_binding (LoomDevice *device)
{
  return ((LoomVkDevice *) device)->caps.op.max_storage_range;
}

static const LoomBackendClass vk_class = {
  .device_free = vk_device_free,
  .sync = vk_sync,
  .properties = vk_properties,
  .buffer_new = loom_vk_buffer_new,
  .buffer_free = loom_vk_buffer_free,
  .buffer_write = loom_vk_buffer_write,
  .buffer_read = loom_vk_buffer_read,
  .run = loom_vk_run,
  .record = loom_vk_record,
  .replay = loom_vk_replay,
  .recording_free = loom_vk_recording_free,
  .max_binding = vk_max_binding,
};

static void
vk_device_free (LoomDevice *device)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;

  if (vk->stream != NULL)
    {
      loom_vk_stream_finish (vk->stream, NULL);
      loom_vk_stream_free (vk->stream);
    }
  if (vk->profile)
    loom_vk_profile_print (vk);
  g_clear_pointer (&vk->profile_ns, g_hash_table_unref);
  if (vk->device != VK_NULL_HANDLE)
    {
      vkDeviceWaitIdle (vk->device);
      loom_vk_pipelines_fini (vk);
      loom_vk_memory_fini (vk);
      vkDestroyDevice (vk->device, NULL);
    }
  if (vk->messenger != VK_NULL_HANDLE)
    {
      PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
        vkGetInstanceProcAddr (vk->instance, "vkDestroyDebugUtilsMessengerEXT");

      if (destroy != NULL)
        destroy (vk->instance, vk->messenger, NULL);
    }
  if (vk->instance != VK_NULL_HANDLE)
    vkDestroyInstance (vk->instance, NULL);
  loom_device_info_clear (&device->info);
  g_free (vk);
}

LoomDevice *
loom_vk_device_new (int index, gboolean profile, GError **error)
{
  LoomVkDevice *vk = g_new0 (LoomVkDevice, 1);
  g_autofree VkPhysicalDevice *devices = NULL;
  const char *budget = g_getenv ("LOOM_SUBMIT_BUDGET");
  guint32 n = 0;
  int chosen = -1;

  vk->parent.klass = &vk_class;
  vk->instance = create_instance (env_flag ("LOOM_VALIDATION"), &vk->messenger, error);
  if (vk->instance == VK_NULL_HANDLE)
    goto fail;
  devices = physical_devices (vk->instance, &n, error);
  if (devices == NULL)
    goto fail;

  if (index >= 0)
    {
      if ((guint32) index >= n)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                       "LOOM_DEVICE=%d: there is no Vulkan device %d (%u found: 0 to %u; "
                       "`loom info` lists them)", index, index, n, n - 1);
          goto fail;
        }
      chosen = index;
    }
  else
    {
      int best_rank = G_MAXINT;

      for (guint32 i = 0; i < n; i++)
        {
          VkPhysicalDeviceProperties props;

          vkGetPhysicalDeviceProperties (devices[i], &props);
          if (props.apiVersion < VK_API_VERSION_1_1)
            continue;           /* Loom needs subgroup and 16-bit queries */
          if (type_rank (props.deviceType) < best_rank)
            {
              best_rank = type_rank (props.deviceType);
              chosen = (int) i;
            }
        }
      if (chosen < 0)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
                       "no Vulkan 1.1 device found; " DRIVER_HINT);
          goto fail;
        }
    }

  vk->physical = devices[chosen];
  vkGetPhysicalDeviceProperties (vk->physical, &vk->props);
  fill_info (vk->physical, chosen, &vk->parent.info);
  if (vk->props.apiVersion < VK_API_VERSION_1_1)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_UNSUPPORTED,
                   "%s supports Vulkan %u.%u; Loom needs 1.1", vk->props.deviceName,
                   VK_API_VERSION_MAJOR (vk->props.apiVersion),
                   VK_API_VERSION_MINOR (vk->props.apiVersion));
      goto fail;
    }
  if (!create_logical_device (vk, error))
    goto fail;

  vk->profile = profile && vk->caps.timestamps;
  vk->profile_ns = loom_profile_new ();
  /* Work per submission, in flops plus bytes: about 0.1 s on lavapipe and
   * far less on a GPU, well inside any driver watchdog. */
  vk->submit_budget = budget ? g_ascii_strtod (budget, NULL) : 2e9;
  if (vk->submit_budget <= 0)
    vk->submit_budget = 2e9;

  if (!loom_vk_memory_init (vk, error))
    goto fail;
  loom_vk_pipelines_init (vk);
  vk->stream = loom_vk_stream_new (vk, error);
  if (vk->stream == NULL)
    goto fail;
  return &vk->parent;

fail:
  vk_device_free (&vk->parent);
  return NULL;
}

void
loom_vk_debug_set_cpu_like (LoomDevice *device, gboolean cpu_like)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;

  g_return_if_fail (device->klass == &vk_class);
  g_return_if_fail (g_hash_table_size (vk->pipelines) == 0);
  vk->caps.op.cpu_like = cpu_like;
}

void
loom_vk_debug_cap_limits (LoomDevice *device, guint32 max_groups, gsize max_storage_range)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;

  g_return_if_fail (device->klass == &vk_class);
  for (int i = 0; i < 3 && max_groups != 0; i++)
    vk->caps.op.max_groups[i] = MIN (vk->caps.op.max_groups[i], max_groups);
  if (max_storage_range != 0)
    vk->caps.op.max_storage_range = MIN (vk->caps.op.max_storage_range, max_storage_range);
}

void
loom_vk_debug_program_counts (LoomDevice *device, guint *recorded, guint *replays)
{
  LoomVkDevice *vk = (LoomVkDevice *) device;

  g_return_if_fail (device->klass == &vk_class);
  *recorded = vk->n_recorded_dispatches;
  *replays = vk->n_replays;
}
