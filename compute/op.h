/* An op is one descriptor: a plain C reference, a CPU kernel, a Vulkan
 * kernel (shaders/<name>.comp) and the test cases that hold them together.
 * Each lives in compute/ops/<name>.c and is listed once, in the `loom_ops`
 * list of meson.build, which drives shader compilation, the registry
 * (loom_op_registry) and the op tests. */
#pragma once

#include <stdint.h>

#include <loom/loom.h>

G_BEGIN_DECLS

/* The CPU backend's thread pool (cpu/threads.h), opaque here: an op that
 * uses the pool itself includes that header. */
typedef struct _LoomThreads LoomThreads;

#define LOOM_OP_MAX_BINDINGS 8
#define LOOM_OP_MAX_SPEC     8
#define LOOM_OP_MAX_PARAMS   128 /* bytes: the push-constant size every device has */

/* Device limits an op may need to size its dispatch. */
typedef struct
{
  guint32 max_groups[3];        /* maxComputeWorkGroupCount */
  guint32 max_local_size;       /* maxComputeWorkGroupInvocations */
  guint32 shared_bytes;         /* maxComputeSharedMemorySize */
  guint32 subgroup_size;
  gsize   max_storage_range;    /* bytes one binding may cover */
  gboolean cpu_like;            /* lavapipe/SwiftShader: registers beat shared memory */
} LoomLimits;

/* A range of a buffer bound to one op argument, in floats. */
typedef struct
{
  LoomBuffer *buffer;
  gsize       offset;
  gsize       length;
} LoomSpan;

typedef struct _LoomOp LoomOp;
struct _LoomOp
{
  const char *name;
  guint       n_bindings;       /* storage buffers, in shader binding order */
  guint32     read_mask;        /* bit i: binding i is read */
  guint32     write_mask;       /* bit i: binding i is written */
  gsize       params_size;      /* the push-constant block: 4-byte fields only */
  /* Elementwise ops start their params with a guint32 element count n, and
   * binding i covers elements [0, n) at the same index: the Vulkan backend
   * may split them into chunks that fit the device's storage range. */
  gboolean    elementwise;
  double      tolerance;        /* max |out - ref| / max |ref| accepted in tests */

  /* Floats each binding covers for these params. */
  void    (*binding_lengths) (const void *params, gsize *lengths);
  /* Plain, single-threaded C: the truth every backend is tested against. */
  void    (*reference)       (const void *params, float *const *bindings);
  /* The CPU backend's kernel. */
  void    (*cpu)             (const void *params, float *const *bindings, LoomThreads *threads);
  /* Specialization constants for this device (ids 0..n-1); returns n. */
  guint   (*vk_spec)         (const LoomLimits *limits, guint32 *spec);
  /* Workgroup counts, each within limits->max_groups (shaders loop over
   * what a capped grid does not cover). */
  void    (*vk_groups)       (const void *params, const guint32 *spec,
                              const LoomLimits *limits, guint32 *groups);
  /* Floating-point operations, for benchmarks and the submission budget. */
  double  (*flops)           (const void *params);
  /* Test case I (random parameters allowed); FALSE once I is past the last. */
  gboolean (*test_case)      (guint index, GRand *rand, void *params);
  /* Optional: makes the random test inputs valid for the op (a positive
   * variance, sane scalars), after they are drawn in [-1, 1]. */
  void    (*test_inputs)     (const void *params, float *const *bindings);

  const guint32 *spirv;
  gsize          spirv_size;    /* bytes */
};

/* A kernel body over items [begin, end) of its op (elements, planes,
 * channels: each op says what it splits). */
typedef void (*LoomOpRange) (const void *params, float *const *bindings, gsize begin, gsize end);

/* Runs RANGE over [0, N) on THREADS, in pieces of at least GRAIN items. */
void loom_op_parallel (LoomThreads *threads, gsize n, gsize grain, LoomOpRange range,
                       const void *params, float *const *bindings);

/* NULL-terminated; generated from meson's op list. */
extern const LoomOp *const loom_op_registry[];
const LoomOp *loom_op_find (const char *name);

/* Runs OP on the spans' device (queued on Vulkan).  Checks that every span
 * lies inside its buffer and that all share one device. */
gboolean loom_op_run (const LoomOp   *op,
                      const void     *params,
                      const LoomSpan *spans,
                      GError        **error);

/* The checks of loom_op_run alone: every span inside its buffer, all on
 * one device. */
gboolean loom_op_check_spans (const LoomOp   *op,
                              const void     *params,
                              const LoomSpan *spans,
                              GError        **error);

/* One op with its params and spans, as programs keep them. */
typedef struct
{
  const LoomOp *op;
  guint8        params[LOOM_OP_MAX_PARAMS];
  LoomSpan      spans[LOOM_OP_MAX_BINDINGS];
} LoomOpCall;

/* A fixed list of op calls run again and again (a graph's training step):
 * the Vulkan backend records its command buffers once, at the first run,
 * and re-submits them; values that change per run must be read from
 * buffers (see LOOM_SCALAR_*), never from params. */
typedef struct _LoomProgram LoomProgram;

LoomProgram *loom_program_new  (LoomDevice *device);
/* Checks the spans as loom_op_run does; the buffers must outlive the program. */
gboolean     loom_program_add  (LoomProgram *program, const LoomOp *op, const void *params,
                                const LoomSpan *spans, GError **error);
/* Runs every call, in order, and waits for them. */
gboolean     loom_program_run  (LoomProgram *program, GError **error);
void         loom_program_free (LoomProgram *program);

/* The spec constants of the one-dimensional kernels: a local size of 256
 * (a power of two, as tree reductions need) within the device's limit. */
guint   loom_vk_spec_linear (const LoomLimits *limits, guint32 *spec);

/* Workgroups to cover N items in groups of LOCAL, capped at the device's
 * limit on axis 0 (shaders then loop). */
guint32 loom_groups_1d (gsize n, guint32 local, const LoomLimits *limits);

G_END_DECLS
