/* Device selection, buffers and op dispatch: the backend-neutral layer. */
#include <string.h>

#include "backend.h"

G_DEFINE_QUARK (loom-error-quark, loom_error)

void
loom_device_info_clear (LoomDeviceInfo *info)
{
  g_clear_pointer (&info->name, g_free);
  g_clear_pointer (&info->driver, g_free);
}

void
loom_device_info_free (LoomDeviceInfo *info)
{
  loom_device_info_clear (info);
  g_free (info);
}

GPtrArray *
loom_list_devices (void)
{
  GPtrArray *infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_free);
  LoomDevice *cpu;
  LoomDeviceInfo *info;

  loom_vk_list_devices (infos, NULL);   /* none listed is an answer too */
  cpu = loom_cpu_device_new (FALSE);     /* opened for its description only */
  info = g_new0 (LoomDeviceInfo, 1);
  *info = cpu->info;
  info->name = g_strdup (cpu->info.name);
  info->driver = g_strdup (cpu->info.driver);
  g_ptr_array_add (infos, info);
  loom_device_free (cpu);
  return infos;
}

static gboolean
is_index (const char *spec)
{
  if (*spec == '\0')
    return FALSE;
  for (const char *p = spec; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

static char *
describe_devices (GPtrArray *infos)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < infos->len; i++)
    {
      LoomDeviceInfo *info = infos->pdata[i];

      if (info->backend == LOOM_BACKEND_VULKAN)
        g_string_append_printf (s, "%s%d: %s", s->len ? ", " : "", info->index, info->name);
      else
        g_string_append_printf (s, "%scpu", s->len ? ", " : "");
    }
  return g_string_free (s, FALSE);
}

/* A Vulkan device whose name contains SPEC, or -1 with ERROR. */
static int
find_by_name (const char *spec, GError **error)
{
  g_autoptr (GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_free);
  g_autofree char *want = g_utf8_casefold (spec, -1);
  GError *vk_error = NULL;
  g_autofree char *known = NULL;

  if (!loom_vk_list_devices (infos, &vk_error))
    {
      g_propagate_prefixed_error (error, vk_error,
                                  "LOOM_DEVICE=%s names a Vulkan device, but: ", spec);
      return -1;
    }
  for (guint i = 0; i < infos->len; i++)
    {
      LoomDeviceInfo *info = infos->pdata[i];
      g_autofree char *name = g_utf8_casefold (info->name, -1);

      if (strstr (name, want) != NULL)
        return info->index;
    }
  known = describe_devices (infos);
  g_set_error (error, LOOM_ERROR, LOOM_ERROR_NO_DEVICE,
               "no device matches LOOM_DEVICE=%s (devices: %s%scpu)",
               spec, known, *known ? ", " : "");
  return -1;
}

/* LOOM_PROFILE=1 times every op: read here, where devices open, for both
 * backends. */
static gboolean
profile_requested (void)
{
  return g_strcmp0 (g_getenv ("LOOM_PROFILE"), "1") == 0;
}

const char *
loom_device_env_spec (void)
{
  const char *spec = g_getenv ("LOOM_DEVICE");

  return spec != NULL && *spec != '\0' ? spec : NULL;
}

LoomDevice *
loom_device_open (const char *spec, GError **error)
{
  gboolean profile = profile_requested ();
  GError *vk_error = NULL;
  LoomDevice *device;

  if (spec == NULL || *spec == '\0')
    spec = loom_device_env_spec ();
  if (spec == NULL || *spec == '\0' || g_ascii_strcasecmp (spec, "auto") == 0)
    {
      /* A real GPU through Vulkan; else the CPU backend, which beats a
       * CPU-type Vulkan driver (lavapipe) by far.  Listing is cheap; only
       * a GPU is opened. */
      g_autoptr (GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) loom_device_info_free);
      gboolean has_gpu = FALSE;

      if (loom_vk_list_devices (infos, NULL))
        for (guint i = 0; i < infos->len && !has_gpu; i++)
          has_gpu = strcmp (((LoomDeviceInfo *) infos->pdata[i])->type, "cpu") != 0;
      device = has_gpu ? loom_vk_device_new (-1, profile, &vk_error) : NULL;
      if (device != NULL && strcmp (device->info.type, "cpu") != 0)
        return device;
      if (device != NULL)
        loom_device_free (device);
      if (vk_error != NULL)
        g_debug ("no GPU, using the CPU backend: %s", vk_error->message);
      g_clear_error (&vk_error);
      return loom_cpu_device_new (profile);
    }
  if (g_ascii_strcasecmp (spec, "cpu") == 0)
    return loom_cpu_device_new (profile);
  if (g_ascii_strcasecmp (spec, "vulkan") == 0)
    return loom_vk_device_new (-1, profile, error);
  if (is_index (spec))
    {
      guint64 index = g_ascii_strtoull (spec, NULL, 10);

      return loom_vk_device_new (index > G_MAXINT ? G_MAXINT : (int) index, profile, error);
    }
  {
    int index = find_by_name (spec, error);

    return index < 0 ? NULL : loom_vk_device_new (index, profile, error);
  }
}

void
loom_device_free (LoomDevice *device)
{
  if (device != NULL)
    device->klass->device_free (device);
}

const LoomDeviceInfo *
loom_device_get_info (LoomDevice *device)
{
  g_return_val_if_fail (device != NULL, NULL);
  return &device->info;
}

void
loom_device_foreach_property (LoomDevice *device, LoomPropertyFunc func, gpointer data)
{
  g_return_if_fail (device != NULL && func != NULL);
  device->klass->properties (device, func, data);
}

gboolean
loom_device_sync (LoomDevice *device, GError **error)
{
  g_return_val_if_fail (device != NULL, FALSE);
  return device->klass->sync (device, error);
}

LoomBuffer *
loom_buffer_new (LoomDevice *device, gsize length, GError **error)
{
  g_return_val_if_fail (device != NULL, NULL);
  if (length > G_MAXSIZE / sizeof (float) / 2)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY,
                   "a buffer of %" G_GSIZE_FORMAT " floats cannot exist", length);
      return NULL;
    }
  return device->klass->buffer_new (device, length, error);
}

void
loom_buffer_free (LoomBuffer *buffer)
{
  if (buffer != NULL)
    buffer->device->klass->buffer_free (buffer);
}

gsize
loom_buffer_get_length (LoomBuffer *buffer)
{
  g_return_val_if_fail (buffer != NULL, 0);
  return buffer->length;
}

static gboolean
check_range (LoomBuffer *buffer, gsize first, gsize count, GError **error)
{
  if (first > buffer->length || count > buffer->length - first)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "range [%" G_GSIZE_FORMAT ", +%" G_GSIZE_FORMAT ") is outside a buffer of %"
                   G_GSIZE_FORMAT " floats", first, count, buffer->length);
      return FALSE;
    }
  return TRUE;
}

gboolean
loom_buffer_write (LoomBuffer *buffer, gsize first, gsize count,
                   const float *src, GError **error)
{
  g_return_val_if_fail (buffer != NULL && (src != NULL || count == 0), FALSE);
  if (!check_range (buffer, first, count, error))
    return FALSE;
  return count == 0 || buffer->device->klass->buffer_write (buffer, first, count, src, error);
}

gboolean
loom_buffer_read (LoomBuffer *buffer, gsize first, gsize count,
                  float *dst, GError **error)
{
  g_return_val_if_fail (buffer != NULL && (dst != NULL || count == 0), FALSE);
  if (!check_range (buffer, first, count, error))
    return FALSE;
  return count == 0 || buffer->device->klass->buffer_read (buffer, first, count, dst, error);
}

const LoomOp *
loom_op_find (const char *name)
{
  for (guint i = 0; loom_op_registry[i] != NULL; i++)
    if (strcmp (loom_op_registry[i]->name, name) == 0)
      return loom_op_registry[i];
  return NULL;
}

gboolean
loom_op_check_spans (const LoomOp   *op,
                     const void     *params,
                     const LoomSpan *spans,
                     GError        **error)
{
  gsize need[LOOM_OP_MAX_BINDINGS];
  LoomDevice *device;

  g_return_val_if_fail (op != NULL && params != NULL && spans != NULL, FALSE);
  g_return_val_if_fail (op->n_bindings <= LOOM_OP_MAX_BINDINGS, FALSE);

  op->binding_lengths (params, need);
  device = spans[0].buffer->device;
  for (guint i = 0; i < op->n_bindings; i++)
    {
      const LoomSpan *s = &spans[i];

      g_return_val_if_fail (s->buffer != NULL, FALSE);
      if (s->buffer->device != device)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: argument %u lives on another device", op->name, i);
          return FALSE;
        }
      if (s->length < need[i] || s->offset > s->buffer->length
          || s->length > s->buffer->length - s->offset)
        {
          g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                       "%s: argument %u needs %" G_GSIZE_FORMAT " floats, has %"
                       G_GSIZE_FORMAT " (offset %" G_GSIZE_FORMAT " in a buffer of %"
                       G_GSIZE_FORMAT ")", op->name, i, need[i], s->length,
                       s->offset, s->buffer->length);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
loom_op_run (const LoomOp   *op,
             const void     *params,
             const LoomSpan *spans,
             GError        **error)
{
  LoomDevice *device;

  if (!loom_op_check_spans (op, params, spans, error))
    return FALSE;
  device = spans[0].buffer->device;
  return device->klass->run (device, op, params, spans, error);
}

struct _LoomProgram
{
  LoomDevice *device;
  GArray     *calls;            /* LoomOpCall */
  gpointer    recording;        /* the backend's, made at the first run */
};

LoomProgram *
loom_program_new (LoomDevice *device)
{
  LoomProgram *program = g_new0 (LoomProgram, 1);

  program->device = device;
  program->calls = g_array_new (FALSE, TRUE, sizeof (LoomOpCall));
  return program;
}

gboolean
loom_program_add (LoomProgram *program, const LoomOp *op, const void *params,
                  const LoomSpan *spans, GError **error)
{
  LoomOpCall call = { .op = op };

  g_return_val_if_fail (program != NULL && program->recording == NULL, FALSE);
  if (!loom_op_check_spans (op, params, spans, error))
    return FALSE;
  if (spans[0].buffer->device != program->device)
    {
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_INVALID_ARGUMENT,
                   "%s: its buffers live on another device than the program", op->name);
      return FALSE;
    }
  memcpy (call.params, params, op->params_size);
  memcpy (call.spans, spans, op->n_bindings * sizeof (LoomSpan));
  g_array_append_val (program->calls, call);
  return TRUE;
}

gboolean
loom_program_run (LoomProgram *program, GError **error)
{
  const LoomBackendClass *klass;

  g_return_val_if_fail (program != NULL, FALSE);
  klass = program->device->klass;
  if (klass->record == NULL)
    {
      for (guint i = 0; i < program->calls->len; i++)
        {
          const LoomOpCall *call = &g_array_index (program->calls, LoomOpCall, i);

          if (!klass->run (program->device, call->op, call->params, call->spans, error))
            return FALSE;
        }
      return TRUE;
    }
  if (program->recording == NULL)
    {
      program->recording = klass->record (program->device, (const LoomOpCall *) program->calls->data,
                                          program->calls->len, error);
      if (program->recording == NULL)
        return FALSE;
    }
  return klass->replay (program->device, program->recording, error);
}

void
loom_program_free (LoomProgram *program)
{
  if (program == NULL)
    return;
  if (program->recording != NULL)
    program->device->klass->recording_free (program->device, program->recording);
  g_array_unref (program->calls);
  g_free (program);
}

GHashTable *
loom_profile_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
}

void
loom_profile_add (GHashTable *profile, const char *op, double ns)
{
  double *entry = g_hash_table_lookup (profile, op);

  if (entry == NULL)
    {
      entry = g_new0 (double, 2);
      g_hash_table_insert (profile, (gpointer) op, entry);
    }
  entry[0] += ns;
  entry[1] += 1;
}

static gint
by_time (gconstpointer a, gconstpointer b, gpointer table)
{
  const double *ea = g_hash_table_lookup (table, *(const char **) a);
  const double *eb = g_hash_table_lookup (table, *(const char **) b);

  return ea[0] < eb[0] ? 1 : ea[0] > eb[0] ? -1 : 0;
}

void
loom_profile_print (GHashTable *profile, const char *device)
{
  g_autoptr (GPtrArray) names = g_hash_table_get_keys_as_ptr_array (profile);

  g_ptr_array_sort_with_data (names, by_time, profile);
  g_printerr ("loom profile (%s):\n  %-24s %8s %12s %12s\n", device,
              "op", "calls", "total ms", "mean us");
  for (guint i = 0; i < names->len; i++)
    {
      const double *e = g_hash_table_lookup (profile, names->pdata[i]);

      g_printerr ("  %-24s %8.0f %12.3f %12.1f\n", (const char *) names->pdata[i],
                  e[1], e[0] / 1e6, e[0] / 1e3 / MAX (e[1], 1));
    }
}

gsize
loom_device_get_max_binding (LoomDevice *device)
{
  g_return_val_if_fail (device != NULL, 0);
  return device->klass->max_binding != NULL ? device->klass->max_binding (device) : G_MAXSIZE;
}
