/* The workloads of `loom info` and `loom bench`, timed on one device: a
 * GEMM, the convolution configurations the ops, segmentation and generator
 * issues measure, and whole models. */
#pragma once

#include <loom/loom.h>

/* ---- GEMM timing, for loom info and loom bench ---- */

typedef struct
{
  double median, min, max;  /* ms */
} Timing;

/* Every device to run on: each Vulkan device by index, then the CPU.  With
 * BACKEND set, only those of that backend. */
GPtrArray *bench_device_specs  (const char *backend);
/* The median, fastest and slowest of the N figures MS (sorted in place). */
Timing     bench_timing_of     (double *ms, guint n);
/* N numbers in [-1, 1), the same for the same SEED. */
void       bench_random_floats (float *data, gsize n, guint32 seed);
/* Times C = A·B (N×N) REPEAT times after one warm-up run; RESULT, if not
 * NULL, gets C (A from seed 1, B from seed 2). */
gboolean   bench_time_gemm     (LoomDevice *device, guint n, guint repeat, Timing *t,
                                float *result, GError **error);

/* ---- convolutions ---- */

typedef struct
{
  const char *name;             /* conv3x3_64_256_fwd, … */
  LoomConv2d  conv;
  gboolean    transposed;       /* time the transposed convolution of CONV */
  gboolean    backward;         /* forward and every gradient, or forward only */
} ConvBench;

extern const ConvBench conv_benches[];
extern const guint     n_conv_benches;

/* Times BENCH REPEAT times after a warm-up; MS gets one figure per run and
 * FLOPS the work of one. */
gboolean conv_bench_run (LoomDevice *device, const ConvBench *bench, guint repeat,
                         double *ms, double *flops, GError **error);

/* Whole models: a training step (forward, loss, backward, Adam) or an
 * inference, on random data.  The U-Net: cross-entropy; the DCGAN: D on
 * real, D on G's detached images and frozen D on G's, BCE, one Adam; its
 * inference is G alone. */
typedef struct
{
  const char *name;             /* unet_train_b4_256, … */
  guint       batch, size;      /* N and H = W */
  gboolean    train;
  gboolean    gan;              /* the DCGAN (64², latent 100, widths 64), else the U-Net */
} ModelBench;

extern const ModelBench model_benches[];
extern const guint      n_model_benches;

gboolean model_bench_run (LoomDevice *device, const ModelBench *bench, guint repeat,
                          double *ms, double *flops, GError **error);
