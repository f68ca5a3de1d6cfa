/* The CPU backend: host memory, a thread pool and OpenBLAS.  The fast
 * fallback where no GPU exists, and the backend Vulkan is checked against. */
#include <string.h>
#include <cblas.h>

#include "backend.h"
#include "cpu/threads.h"

typedef struct
{
  LoomDevice   parent;
  LoomThreads *threads;
  GHashTable  *profile;         /* LOOM_PROFILE=1: op name -> {ns, calls} */
} CpuDevice;

typedef struct
{
  LoomBuffer parent;
  float     *data;              /* 64-byte aligned, for AVX-512 loads */
} CpuBuffer;

static guint
thread_count (void)
{
  const char *env = g_getenv ("LOOM_THREADS");
  guint64 n = env ? g_ascii_strtoull (env, NULL, 10) : 0;

  return n > 0 ? (guint) MIN (n, 256) : g_get_num_processors ();
}

static void
cpu_device_free (LoomDevice *device)
{
  CpuDevice *cpu = (CpuDevice *) device;

  if (cpu->profile != NULL)
    {
      loom_profile_print (cpu->profile, device->info.name);
      g_hash_table_unref (cpu->profile);
    }
  loom_threads_free (cpu->threads);
  loom_device_info_clear (&device->info);
  g_free (cpu);
}

static gboolean
cpu_sync (LoomDevice *device, GError **error)
{
  return TRUE;                  /* every op ran when it was called */
}

static void
cpu_properties (LoomDevice *device, LoomPropertyFunc func, gpointer data)
{
  CpuDevice *cpu = (CpuDevice *) device;
  g_autofree char *threads = g_strdup_printf ("%u", loom_threads_get_count (cpu->threads));
  g_autofree char *cores = g_strdup_printf ("%u", g_get_num_processors ());

  func ("threads", threads, data);
  func ("processors", cores, data);
  func ("blas", openblas_get_config (), data);
}

static LoomBuffer *
cpu_buffer_new (LoomDevice *device, gsize length, GError **error)
{
  CpuBuffer *buf = g_new0 (CpuBuffer, 1);
  gsize bytes = MAX (length, 1) * sizeof (float);

  /* g_aligned_alloc aborts on failure; a tensor may be large, so ask libc. */
  if (posix_memalign ((void **) &buf->data, 64, bytes) != 0)
    {
      g_free (buf);
      g_set_error (error, LOOM_ERROR, LOOM_ERROR_OUT_OF_MEMORY,
                   "out of host memory allocating %" G_GSIZE_FORMAT " MiB",
                   bytes >> 20);
      return NULL;
    }
  buf->parent.device = device;
  buf->parent.length = length;
  return &buf->parent;
}

static void
cpu_buffer_free (LoomBuffer *buffer)
{
  CpuBuffer *buf = (CpuBuffer *) buffer;

  free (buf->data);
  g_free (buf);
}

static gboolean
cpu_buffer_write (LoomBuffer *buffer, gsize first, gsize count,
                  const float *src, GError **error)
{
  memcpy (((CpuBuffer *) buffer)->data + first, src, count * sizeof (float));
  return TRUE;
}

static gboolean
cpu_buffer_read (LoomBuffer *buffer, gsize first, gsize count,
                 float *dst, GError **error)
{
  memcpy (dst, ((CpuBuffer *) buffer)->data + first, count * sizeof (float));
  return TRUE;
}

static gboolean
cpu_run (LoomDevice *device, const LoomOp *op, const void *params,
         const LoomSpan *spans, GError **error)
{
  CpuDevice *cpu = (CpuDevice *) device;
  float *bindings[LOOM_OP_MAX_BINDINGS];

  gint64 start = cpu->profile != NULL ? g_get_monotonic_time () : 0;

  for (guint i = 0; i < op->n_bindings; i++)
    bindings[i] = ((CpuBuffer *) spans[i].buffer)->data + spans[i].offset;
  op->cpu (params, bindings, cpu->threads);
  if (cpu->profile != NULL)
    loom_profile_add (cpu->profile, op->name, (g_get_monotonic_time () - start) * 1000.0);
  return TRUE;
}

typedef struct
{
  LoomOpRange   range;
  const void   *params;
  float *const *bindings;
} RangeJob;

static void
range_job (gpointer data, gsize begin, gsize end)
{
  const RangeJob *job = data;

  job->range (job->params, job->bindings, begin, end);
}

void
loom_op_parallel (LoomThreads *threads, gsize n, gsize grain, LoomOpRange range,
                  const void *params, float *const *bindings)
{
  RangeJob job = { range, params, bindings };

  loom_threads_parallel_for (threads, n, grain, range_job, &job);
}

static const LoomBackendClass cpu_class = {
  .device_free = cpu_device_free,
  .sync = cpu_sync,
  .properties = cpu_properties,
  .buffer_new = cpu_buffer_new,
  .buffer_free = cpu_buffer_free,
  .buffer_write = cpu_buffer_write,
  .buffer_read = cpu_buffer_read,
  .run = cpu_run,
};

LoomDevice *
loom_cpu_device_new (gboolean profile)
{
  CpuDevice *cpu = g_new0 (CpuDevice, 1);
  guint n = thread_count ();

  cpu->parent.klass = &cpu_class;
  if (profile)
    cpu->profile = loom_profile_new ();
  cpu->threads = loom_threads_new (n);
  /* OpenBLAS runs single-threaded inside our pool (cpu/sgemm.h). */
  openblas_set_num_threads (1);

  cpu->parent.info.backend = LOOM_BACKEND_CPU;
  cpu->parent.info.index = -1;
  cpu->parent.info.type = "cpu";
  cpu->parent.info.name = g_strdup_printf ("CPU (%u threads)", n);
  cpu->parent.info.driver = g_strdup_printf ("OpenBLAS %s", openblas_get_config ());
  return &cpu->parent;
}
