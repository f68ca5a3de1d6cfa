/* Static graphs with reverse-mode autodiff.
 *
 * Build the forward graph once from tensors and layers, derive its backward
 * pass and the optimizer update, compile it for a device (memory planned
 * once, by liveness, in one device buffer), then run it step after step.
 *
 * Tensors are NCHW (a linear layer's activations are N×C×1×1) and belong to
 * their graph.  Builders never fail loudly: a shape that does not fit makes
 * the builder return NULL and records the first error, which
 * loom_graph_compile returns (naming the layer and the shapes); builders
 * given NULL return NULL. */
#pragma once

#include <loom/loom.h>

G_BEGIN_DECLS

typedef struct _LoomGraph  LoomGraph;
typedef struct _LoomTensor LoomTensor;

LoomGraph  *loom_graph_new         (void);
void        loom_graph_free        (LoomGraph *graph);

/* Data the caller writes before each run (images, labels, targets). */
LoomTensor *loom_graph_input       (LoomGraph *graph, const char *name,
                                    guint n, guint c, guint h, guint w);
/* Values kept from run to run but not trained (running statistics); they
 * start at zero. */
LoomTensor *loom_graph_buffer      (LoomGraph *graph, const char *name,
                                    guint n, guint c, guint h, guint w);
/* Trainable weights; they keep their values from run to run. */
LoomTensor *loom_graph_parameter   (LoomGraph *graph, const char *name,
                                    guint n, guint c, guint h, guint w);
/* A frozen parameter gets no gradient and no update (fine-tuning, a fixed
 * encoder).  Set before loom_graph_train_*. */
void        loom_tensor_set_frozen (LoomTensor *parameter, gboolean frozen);

/* y = x · weightᵀ + bias: x N×C, weight K×C, bias K (or NULL); y N×K. */
LoomTensor *loom_graph_linear      (LoomGraph *graph, LoomTensor *x, LoomTensor *weight,
                                    LoomTensor *bias);
/* CONV's batch, channel and size fields are taken from x and weight. */
LoomTensor *loom_graph_conv2d      (LoomGraph *graph, LoomTensor *x, LoomTensor *weight,
                                    LoomTensor *bias, const LoomConv2d *conv);
/* PyTorch's ConvTranspose2d: x N×Ci×H×W, weight Ci×Co×R×S, bias Co (or
 * NULL); y N×Co×H'×W' with H' = (H − 1)·stride − 2·pad + dilation·(R − 1)
 * + output_pad + 1.  It is the gradient of the convolution from y's shape
 * to x's, which is how it runs (the same kernels, no atomics). */
LoomTensor *loom_graph_conv_transpose2d (LoomGraph *graph, LoomTensor *x, LoomTensor *weight,
                                         LoomTensor *bias, const LoomConv2d *conv);
/* Max pooling (MAX) or average pooling (padding counted, as PyTorch's
 * default) over KERNEL × KERNEL windows; output (H + 2·pad − kernel) /
 * stride + 1 per side. */
LoomTensor *loom_graph_pool2d      (LoomGraph *graph, LoomTensor *x, gboolean max, guint kernel,
                                    guint stride, guint pad);
/* x enlarged SCALE times per side, nearest or bilinear (as PyTorch's
 * interpolate with align_corners false). */
LoomTensor *loom_graph_upsample    (LoomGraph *graph, LoomTensor *x, guint scale,
                                    gboolean bilinear);
/* PyTorch's BatchNorm2d: per-channel statistics of the batch (TRAINING,
 * then RUNNING_MEAN and RUNNING_VAR, if given, are updated with MOMENTUM),
 * or the running ones (evaluation).  A negative MOMENTUM m weighs each run
 * by the larger of 1 / runs and −m: a cumulative average first, then
 * −m (a tiny −m is PyTorch's momentum=None; the run count restarts with
 * loom_graph_set_seed).  GAMMA, BETA and the running tensors
 * have one value per channel; a running variance should start at 1. */
LoomTensor *loom_graph_batch_norm  (LoomGraph *graph, LoomTensor *x, LoomTensor *gamma,
                                    LoomTensor *beta, LoomTensor *running_mean,
                                    LoomTensor *running_var, gboolean training,
                                    float momentum, float eps);
/* Training dropout: each value zeroed with probability P, the others
 * scaled by 1 / (1 − P); a new mask every run (see loom_graph_set_seed). */
LoomTensor *loom_graph_dropout     (LoomGraph *graph, LoomTensor *x, float p);
/* A tensor of fresh noise every run: uniform in [0, 1), or normal (mean 0,
 * deviation 1) — a generator's latent input. */
LoomTensor *loom_graph_noise       (LoomGraph *graph, const char *name, guint n, guint c,
                                    guint h, guint w, gboolean normal);
/* a + b and a · b, elementwise (residual blocks, gates), with PyTorch's
 * broadcasting: where sizes differ one of them must be 1 (a 1×C×1×1
 * per-channel scale, an N×1×H×W mask). */
LoomTensor *loom_graph_add         (LoomGraph *graph, LoomTensor *a, LoomTensor *b);
LoomTensor *loom_graph_mul         (LoomGraph *graph, LoomTensor *a, LoomTensor *b);
/* PyTorch's GroupNorm: statistics per sample over C/GROUPS channels at a
 * time, then γ, β per channel.  GROUPS = C is instance normalisation. */
LoomTensor *loom_graph_group_norm  (LoomGraph *graph, LoomTensor *x, guint groups,
                                    LoomTensor *gamma, LoomTensor *beta, float eps);
/* Geometric augmentation (op affine_sample): BATCH crops of SIZE × SIZE
 * from source images and label maps packed in two atlases (IMAGES:
 * CHANNELS planes per source, LABELS: one plane), each through the affine
 * map of its row of MAPS (batch × LOOM_AFFINE_FLOATS, see ops/params.h),
 * into *X (batch × channels × size × size, bilinear) and *CROP_LABELS
 * (batch × 1 × size × size, nearest, unlabelled outside).  No gradient. */
gboolean    loom_graph_affine_sample (LoomGraph *graph, LoomTensor *images, LoomTensor *labels,
                                      LoomTensor *maps, guint batch, guint channels,
                                      guint size, LoomTensor **x, LoomTensor **crop_labels);
/* Photometric augmentation (op photometric): each crop of X (N×C×S×S)
 * through the settings of its row of SETTINGS (N × LOOM_PHOTO_FLOATS, see
 * ops/params.h).  No gradient. */
LoomTensor *loom_graph_photometric (LoomGraph *graph, LoomTensor *x, LoomTensor *settings);
/* Labels N×1×H×W (class numbers; −1 unlabelled) as N×CLASSES×H×W planes of
 * 0 and 1 (op one_hot; unlabelled pixels: all 0).  No gradient. */
LoomTensor *loom_graph_one_hot     (LoomGraph *graph, LoomTensor *labels, guint classes);
/* X seen as N×C×H×W (as many values): no copy. */
LoomTensor *loom_graph_reshape     (LoomGraph *graph, LoomTensor *x, guint n, guint c,
                                    guint h, guint w);
/* X's values without its gradient (no copy): PyTorch's detach.  A
 * detached parameter is used but not trained through that use — a GAN's
 * discriminator judging the generator's output in the generator's loss. */
LoomTensor *loom_graph_detach      (LoomGraph *graph, LoomTensor *x);
/* Channels [FIRST, FIRST + COUNT) of X. */
LoomTensor *loom_graph_slice_channels (LoomGraph *graph, LoomTensor *x, guint first,
                                       guint count);
/* A and B side by side along channels (U-Net skips); same N, H, W. */
LoomTensor *loom_graph_concat      (LoomGraph *graph, LoomTensor *a, LoomTensor *b);
LoomTensor *loom_graph_activation  (LoomGraph *graph, LoomActivation kind, float slope,
                                    LoomTensor *x);
/* Spectral normalisation, as PyTorch's torch.nn.utils.spectral_norm with
 * one power iteration per run: WEIGHT seen as N × (C·H·W) (its first
 * dimension: a convolution's outputs); U a buffer of N values, the
 * estimate of the left singular vector kept from run to run (not trained;
 * start it at random — its scale does not matter, but zero stays zero).
 * Each run: v = normalize(Wᵀu), u ← normalize(W v), σ = uᵀ W v; the
 * result is W / σ, its gradient flowing through σ with u and v held
 * constant.  EPS is normalize's floor (PyTorch: 1e-12); Loom takes
 * σ = max(|W v|, EPS), which is PyTorch's uᵀ W v unless |W v| < EPS (a
 * weight of zero). */
LoomTensor *loom_graph_spectral_norm (LoomGraph *graph, LoomTensor *weight, LoomTensor *u,
                                      float eps);
typedef enum
{
  LOOM_LOSS_MSE,                /* (y − t)² */
  LOOM_LOSS_L1,                 /* |y − t| */
  LOOM_LOSS_BCE_WITH_LOGITS,    /* −t·log σ(y) − (1 − t)·log(1 − σ(y)), stable */
  LOOM_LOSS_HINGE,              /* max(0, 1 − t·y), t = ±1 (GAN hinge losses) */
  LOOM_LOSS_LINEAR,             /* −t·y (the generator's hinge loss, t = 1) */
  LOOM_N_LOSSES
} LoomLoss;

/* The mean (or, with SUM, the sum) of a pointwise loss between Y and
 * TARGET (same size), as PyTorch's losses: a 1×1×1×1 tensor. */
LoomTensor *loom_graph_loss        (LoomGraph *graph, LoomLoss kind, LoomTensor *y,
                                    LoomTensor *target, gboolean sum);
/* A + B, both made by loss builders (or by this): one loss whose gradient
 * is the sum of theirs — a GAN's discriminator and generator terms. */
LoomTensor *loom_graph_loss_add    (LoomGraph *graph, LoomTensor *a, LoomTensor *b);
/* mean((y − target)²) */
LoomTensor *loom_graph_mse_loss    (LoomGraph *graph, LoomTensor *y, LoomTensor *target);

/* Per-pixel softmax cross-entropy, averaged as PyTorch's F.cross_entropy:
 * logits N×K×H×W, LABELS N×1×H×W holding class numbers (IGNORE_LABEL for
 * unlabelled pixels), CLASS_WEIGHTS K (or NULL); the mean is over the
 * weights of the labelled pixels.  A 1×1×1×1 tensor. */
LoomTensor *loom_graph_cross_entropy (LoomGraph *graph, LoomTensor *logits, LoomTensor *labels,
                                      LoomTensor *class_weights, int ignore_label);

/* Adds the gradients of LOSS (made by a loss builder) with respect to every
 * parameter, then their update: SGD as PyTorch's without dampening (v =
 * momentum·v + g; p −= lr·v), or Adam (AdamW when WEIGHT_DECAY > 0, decay
 * decoupled), with PyTorch's bias correction.  Call one, once, after the
 * forward graph. */
gboolean    loom_graph_train_sgd   (LoomGraph *graph, LoomTensor *loss, float learning_rate,
                                    float momentum, GError **error);
gboolean    loom_graph_train_adam  (LoomGraph *graph, LoomTensor *loss, float learning_rate,
                                    float beta1, float beta2, float eps, float weight_decay,
                                    GError **error);
/* After train_*: a buffer that follows PARAMETER's exponential moving
 * average, updated after each run's update: ema += rate·(parameter − ema)
 * with RATE's one value (1 − decay; an input the caller writes, so the
 * decay can warm up).  It starts at zero: write the parameter's first
 * values into it before the first run. */
LoomTensor *loom_graph_ema         (LoomGraph *graph, LoomTensor *parameter, LoomTensor *rate);
/* Before train_*: clip all gradients together to MAX_NORM before each
 * update (PyTorch's clip_grad_norm_). */
void        loom_graph_clip_grad_norm (LoomGraph *graph, float max_norm);
/* Random layers draw from (seed, run number, layer): the same seed gives the
 * same runs on every backend.  Setting it restarts the run count. */
void        loom_graph_set_seed    (LoomGraph *graph, guint32 seed);
/* For the next runs (schedules): a per-step scalar, no rebuild. */
void        loom_graph_set_learning_rate (LoomGraph *graph, float learning_rate);

/* Plans memory and binds the graph to DEVICE; parameters start at zero. */
gboolean    loom_graph_compile     (LoomGraph *graph, LoomDevice *device, GError **error);
/* One step: forward, backward and, for a trained graph, the update with
 * the gradients of this run plus those accumulated since the last update. */
gboolean    loom_graph_run         (LoomGraph *graph, GError **error);
/* Forward and backward of one micro-batch; its gradients are kept for the
 * next loom_graph_run's update (gradient accumulation: the update uses the
 * sum, so scale the loss or the learning rate by the number of runs). */
gboolean    loom_graph_run_accumulate (LoomGraph *graph, GError **error);
gboolean    loom_graph_write       (LoomGraph *graph, LoomTensor *tensor, const float *data,
                                    GError **error);
/* Before compiling: TENSOR keeps its own memory, readable after each run
 * (reading an intermediate whose memory later steps reuse is an error). */
void        loom_graph_keep        (LoomGraph *graph, LoomTensor *tensor);
gboolean    loom_graph_read        (LoomGraph *graph, LoomTensor *tensor, float *data,
                                    GError **error);
/* COUNT values of TENSOR from FIRST (a part of an atlas). */
gboolean    loom_graph_write_range (LoomGraph *graph, LoomTensor *tensor, gsize first,
                                    gsize count, const float *data, GError **error);

typedef enum
{
  LOOM_INIT_ZEROS,
  LOOM_INIT_ONES,
  LOOM_INIT_NORMAL,             /* mean 0, deviation SCALE */
  LOOM_INIT_UNIFORM,            /* [−SCALE, SCALE) */
  LOOM_INIT_KAIMING_NORMAL,     /* deviation √(2 / fan_in) (ReLU networks) */
  LOOM_INIT_KAIMING_UNIFORM,    /* PyTorch's default for conv and linear weights: ±1/√fan_in */
  LOOM_INIT_XAVIER_UNIFORM      /* ±√(6 / (fan_in + fan_out)) */
} LoomInit;

/* Fills a compiled graph's PARAMETER from Philox under SEED (the same
 * values on every backend).  Fans: a weight N×C×H×W has fan_in C·H·W and
 * fan_out N·H·W. */
gboolean    loom_graph_init_parameter (LoomGraph *graph, LoomTensor *parameter, LoomInit kind,
                                       float scale, guint32 seed, GError **error);

gsize       loom_tensor_get_length (LoomTensor *tensor);
void        loom_tensor_get_shape  (LoomTensor *tensor, guint *n, guint *c, guint *h, guint *w);
/* The gradient computed for TENSOR by the backward pass, or NULL. */
LoomTensor *loom_tensor_get_grad   (LoomTensor *tensor);
/* Floats of device memory the compiled graph uses. */
gsize       loom_graph_get_memory  (LoomGraph *graph);

G_END_DECLS
