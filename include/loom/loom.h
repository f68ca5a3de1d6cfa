/* Loom — neural networks on Vulkan compute, with a native CPU fallback.
 *
 * Public C API of the compute core.  It knows nothing of GIMP: the plug-in
 * and the `loom` command line both sit on top of it.
 *
 * Conventions: runtime failures (no device, out of memory, device lost, bad
 * input) come back as a GError in the LOOM_ERROR domain with FALSE/NULL;
 * programmer errors (NULL where an object is required) are g_return_if_fail.
 * Buffers hold float32 values; lengths and offsets count floats.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LOOM_ERROR (loom_error_quark ())
GQuark loom_error_quark (void);

typedef enum
{
  LOOM_ERROR_NO_DEVICE,        /* no driver, no device, or LOOM_DEVICE names none */
  LOOM_ERROR_DEVICE_LOST,      /* the GPU reset or the driver crashed */
  LOOM_ERROR_OUT_OF_MEMORY,    /* device or host memory exhausted */
  LOOM_ERROR_UNSUPPORTED,      /* the device cannot do what was asked */
  LOOM_ERROR_INVALID_ARGUMENT, /* shapes or sizes that do not fit */
  LOOM_ERROR_TIMEOUT,          /* the device did not finish in time */
  LOOM_ERROR_FAILED,           /* any other driver failure */
  LOOM_ERROR_BAD_FILE          /* a file truncated, corrupt, or not what was expected */
} LoomErrorCode;

typedef enum
{
  LOOM_BACKEND_CPU,
  LOOM_BACKEND_VULKAN
} LoomBackendKind;

typedef struct
{
  LoomBackendKind backend;
  int             index;        /* Vulkan physical-device index, -1 for the CPU backend */
  char           *name;         /* "llvmpipe (LLVM 19.1.7, 256 bits)", "CPU (2 threads, OpenBLAS …)" */
  const char     *type;         /* "discrete", "integrated", "virtual", "cpu", "other" */
  char           *driver;       /* driver name and version, or the BLAS in use */
  guint32         api_version;  /* Vulkan API version, 0 for the CPU backend */
} LoomDeviceInfo;

typedef struct _LoomDevice LoomDevice;
typedef struct _LoomBuffer LoomBuffer;

/* Every device Loom can use, in the order `LOOM_DEVICE=<index>` counts
 * Vulkan devices, followed by the CPU backend.  Never fails: a machine
 * without Vulkan lists the CPU backend alone.  Free with
 * g_ptr_array_unref (). */
GPtrArray            *loom_list_devices        (void);

/* Where NAME ("weights/segment-start.safetensors", "data/sample.png") of
 * Loom's bundled data and shipped models is: under $LOOM_DATA_DIR, the
 * install prefix's share/loom, or the source tree (running from a build),
 * the first that has it; else where it would be installed.  Free with
 * g_free (). */
char                 *loom_data_path           (const char     *name);
/* Every place NAME is, in that order (a folder may be in more than one):
 * a NULL-terminated array, free with g_strfreev (). */
char                **loom_data_paths          (const char     *name);

/* Opens a device.  SPEC is NULL (use $LOOM_DEVICE, else the best GPU, else
 * the CPU backend), "auto", "cpu", "vulkan" (best Vulkan device, CPU-type
 * ones included), a Vulkan device index, or a case-insensitive part of a
 * device name. */
LoomDevice           *loom_device_open         (const char     *spec,
                                                GError        **error);
/* The device $LOOM_DEVICE names, or NULL where it is unset or empty: the
 * one place Loom reads the variable (a NULL SPEC above; the faces, where
 * it wins over their own settings). */
const char           *loom_device_env_spec     (void);
void                  loom_device_free         (LoomDevice     *device);
const LoomDeviceInfo *loom_device_get_info     (LoomDevice     *device);
/* Bytes one argument of an op may cover on DEVICE (the storage-buffer
 * range on Vulkan; no limit on the CPU): larger data must be tiled. */
gsize                 loom_device_get_max_binding (LoomDevice   *device);
/* Calls FUNC with each of the device's properties ("threads", "max storage
 * range", "subgroup size", …) as text, in a stable order. */
typedef void (*LoomPropertyFunc) (const char *key, const char *value, gpointer data);
void                  loom_device_foreach_property (LoomDevice      *device,
                                                    LoomPropertyFunc func,
                                                    gpointer         data);
/* Waits until every queued operation has finished. */
gboolean              loom_device_sync         (LoomDevice     *device,
                                                GError        **error);

LoomBuffer           *loom_buffer_new          (LoomDevice     *device,
                                                gsize           length,
                                                GError        **error);
void                  loom_buffer_free         (LoomBuffer     *buffer);
gsize                 loom_buffer_get_length   (LoomBuffer     *buffer);
gboolean              loom_buffer_write        (LoomBuffer     *buffer,
                                                gsize           first,
                                                gsize           count,
                                                const float    *src,
                                                GError        **error);
gboolean              loom_buffer_read         (LoomBuffer     *buffer,
                                                gsize           first,
                                                gsize           count,
                                                float          *dst,
                                                GError        **error);

/* Operations are queued on the buffers' device and run in order; a read
 * waits for them.  Buffers passed to one operation share a device. */

/* dst[i] = value */
gboolean loom_fill  (LoomBuffer *dst, float value, GError **error);
/* dst[i] = src[i]; equal lengths */
gboolean loom_copy  (LoomBuffer *dst, LoomBuffer *src, GError **error);
/* out[i] = a[i] + b[i]; equal lengths */
gboolean loom_add   (LoomBuffer *out, LoomBuffer *a, LoomBuffer *b, GError **error);
/* out[i] = a[i] * b[i]; equal lengths */
gboolean loom_mul   (LoomBuffer *out, LoomBuffer *a, LoomBuffer *b, GError **error);
/* out[i] = alpha * x[i]; equal lengths */
gboolean loom_scale (LoomBuffer *out, LoomBuffer *x, float alpha, GError **error);
/* out[i] = a[i] + alpha * b[i]; equal lengths */
gboolean loom_axpy  (LoomBuffer *out, LoomBuffer *a, float alpha, LoomBuffer *b, GError **error);

typedef enum
{
  LOOM_ACTIVATION_RELU,
  LOOM_ACTIVATION_LEAKY_RELU,   /* x < 0: slope · x */
  LOOM_ACTIVATION_TANH,
  LOOM_ACTIVATION_SIGMOID,
  LOOM_ACTIVATION_GELU,         /* exact: x · Φ(x), as PyTorch's default */
  LOOM_N_ACTIVATIONS
} LoomActivation;

/* y = f(x); equal lengths.  SLOPE is used by leaky ReLU only. */
gboolean loom_activation_forward  (LoomActivation kind, float slope, LoomBuffer *y,
                                   LoomBuffer *x, GError **error);
/* dx = dy · f'(x); equal lengths. */
gboolean loom_activation_backward (LoomActivation kind, float slope, LoomBuffer *dx,
                                   LoomBuffer *dy, LoomBuffer *x, GError **error);

/* C = alpha · op(A) · op(B) + beta · C, row-major and packed: C is M×N,
 * op(A) is M×K (A stored K×M when TRANS_A), op(B) is K×N (B stored N×K
 * when TRANS_B).  With beta = 0, C is only written. */
gboolean loom_gemm (LoomBuffer *c,
                    LoomBuffer *a,
                    LoomBuffer *b,
                    guint       m,
                    guint       n,
                    guint       k,
                    gboolean    trans_a,
                    gboolean    trans_b,
                    float       alpha,
                    float       beta,
                    GError    **error);

/* 2-D convolution, NCHW, fp32, no groups.  x is N×C×H×W, w is K×C×R×S,
 * y is N×K×P×Q with P = (H + 2·pad_h − dilation_h·(R − 1) − 1) / stride_h + 1
 * (Q likewise).  Padding reads zeros, the mirrored image without repeating
 * the edge (PyTorch's "reflect", pad < H), or the image wrapped around
 * ("circular", pad ≤ H: tileable results). */
typedef enum
{
  LOOM_PAD_ZERO,
  LOOM_PAD_REFLECT,
  LOOM_PAD_CIRCULAR
} LoomPadMode;

typedef struct
{
  guint       batch, in_channels, in_height, in_width;  /* N, C, H, W */
  guint       out_channels, kernel_h, kernel_w;         /* K, R, S */
  guint       stride_h, stride_w;                       /* 0 means 1 */
  guint       pad_h, pad_w;
  guint       dilation_h, dilation_w;                   /* 0 means 1 */
  LoomPadMode pad_mode;
  guint       output_pad_h, output_pad_w;               /* transposed only: added to one side */
} LoomConv2d;

/* P and Q, or FALSE with a message naming what does not fit. */
gboolean loom_conv2d_output_size     (const LoomConv2d *conv, guint *out_h, guint *out_w,
                                      GError **error);
/* y = conv(x, w) + bias; BIAS may be NULL. */
gboolean loom_conv2d_forward         (const LoomConv2d *conv, LoomBuffer *y, LoomBuffer *x,
                                      LoomBuffer *w, LoomBuffer *bias, GError **error);
/* dx = ∂L/∂x from dy = ∂L/∂y (overwrites dx).  With stride 2 and K↔C read
 * the other way round, this is also the forward pass of a transposed
 * convolution. */
gboolean loom_conv2d_backward_data   (const LoomConv2d *conv, LoomBuffer *dx, LoomBuffer *dy,
                                      LoomBuffer *w, GError **error);
/* dw = ∂L/∂w and, unless NULL, dbias = ∂L/∂bias (both overwritten). */
gboolean loom_conv2d_backward_weight (const LoomConv2d *conv, LoomBuffer *dw, LoomBuffer *dbias,
                                      LoomBuffer *x, LoomBuffer *dy, GError **error);

G_END_DECLS
