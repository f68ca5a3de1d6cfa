/* The convolution benchmarks of `loom bench`: the configurations the ops,
 * segmentation and generator issues measure, timed on one device. */
#pragma once

#include "loom.h"

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

/* Whole models: a training step (forward, cross-entropy, backward, Adam)
 * or an inference, on random data. */
typedef struct
{
  const char *name;             /* unet_train_b4_256, … */
  guint       batch, size;      /* N and H = W */
  gboolean    train;
} ModelBench;

extern const ModelBench model_benches[];
extern const guint      n_model_benches;

gboolean model_bench_run (LoomDevice *device, const ModelBench *bench, guint repeat,
                          double *ms, double *flops, GError **error);
