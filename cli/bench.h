/* The convolution benchmarks of `loom bench`: the configurations the ops,
 * segmentation and generator issues measure, timed on one device. */
#pragma once

#include <loom/loom.h>

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
