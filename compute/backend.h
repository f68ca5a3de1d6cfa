/* What a backend provides behind LoomDevice: a small table of functions.
 * Backends embed LoomDevice and LoomBuffer as their first member. */
#pragma once

#include "op.h"

G_BEGIN_DECLS

typedef struct
{
  void        (*device_free)  (LoomDevice *device);
  gboolean    (*sync)         (LoomDevice *device, GError **error);
  void        (*properties)   (LoomDevice *device, LoomPropertyFunc func, gpointer data);
  LoomBuffer *(*buffer_new)   (LoomDevice *device, gsize length, GError **error);
  void        (*buffer_free)  (LoomBuffer *buffer);
  gboolean    (*buffer_write) (LoomBuffer *buffer, gsize first, gsize count,
                               const float *src, GError **error);
  gboolean    (*buffer_read)  (LoomBuffer *buffer, gsize first, gsize count,
                               float *dst, GError **error);
  /* Spans are checked by loom_op_run before they reach a backend. */
  gboolean    (*run)          (LoomDevice *device, const LoomOp *op,
                               const void *params, const LoomSpan *spans,
                               GError **error);
  /* Optional: record CALLS once (a recording the backend owns) and replay
   * them each run; without these, programs run call by call. */
  gpointer    (*record)       (LoomDevice *device, const LoomOpCall *calls, guint n_calls,
                               GError **error);
  gboolean    (*replay)       (LoomDevice *device, gpointer recording, GError **error);
  void        (*recording_free) (LoomDevice *device, gpointer recording);
  /* Optional: bytes one binding may cover (none: no limit). */
  gsize       (*max_binding)  (LoomDevice *device);
} LoomBackendClass;

struct _LoomDevice
{
  const LoomBackendClass *klass;
  LoomDeviceInfo          info;   /* owns info.name and info.driver */
};

struct _LoomBuffer
{
  LoomDevice *device;
  gsize       length;             /* floats */
};

/* PROFILE (LOOM_PROFILE=1, read by loom_device_open) times every op and
 * prints the table when the device closes. */

/* The CPU backend: always available. */
LoomDevice *loom_cpu_device_new (gboolean profile);

/* The Vulkan backend.  INDEX < 0 picks the best device (CPU-type ones last).
 * PROFILE needs timestamp queries; without them it is ignored. */
LoomDevice *loom_vk_device_new  (int index, gboolean profile, GError **error);
/* Appends a LoomDeviceInfo per Vulkan device; FALSE with ERROR when Vulkan
 * itself is unusable (no loader, no driver). */
gboolean    loom_vk_list_devices (GPtrArray *infos, GError **error);

void        loom_device_info_clear (LoomDeviceInfo *info);

/* LOOM_PROFILE=1: time per op name, printed as a table (slowest first). */
GHashTable *loom_profile_new   (void);
void        loom_profile_add   (GHashTable *profile, const char *op, double ns);
void        loom_profile_print (GHashTable *profile, const char *device);
void        loom_device_info_free  (LoomDeviceInfo *info);

G_END_DECLS
