/* Generative adversarial networks on the static graph: a generator G and
 * a discriminator D whose parameters are declared once and applied as
 * often as a training graph needs (D judges real and generated images).
 *
 * Three architectures:
 *
 *   dcgan    (Radford et al.) z N×latent×1×1 → transposed convolutions 4×4
 *            stride 2 with batch norm and ReLU → tanh, an S×S image with
 *            S = 4·2^levels (32, 64, 128); D mirrors it with strided
 *            convolutions, batch norm and leaky ReLU (0.2) down to one logit.
 *   texture  fully convolutional (Jetchev et al.'s spatial GAN): noise planes
 *            N×latent×h×w → (nearest upsampling, 3×3 convolution, batch
 *            norm, ReLU) × levels → 3×3 convolution → tanh, an image of
 *            h·2^levels × w·2^levels — any size; with TILEABLE every
 *            convolution of G pads circularly, so the output wraps
 *            seamlessly.  D: strided 4×4 convolutions down `levels` times,
 *            then a 3×3 convolution to one logit per patch.
 *   pix2pix  label→image (Isola et al.): G is Loom's U-Net (loom-unet.h:
 *            depth = levels, base = g_width) on one-hot label planes and
 *            `latent` noise planes, tanh on its head; D is the texture D on
 *            the label planes and the image side by side (a PatchGAN).
 *
 * Tensors are named as the PyTorch twin's state_dict (tools/torch/gan.py):
 *
 *   generator.convs.{i}.weight [.bias on the last], generator.norms.{i}.…
 *   discriminator.convs.{i}.weight [.bias], discriminator.norms.{i}.…
 *   pix2pix: generator.enc{i}.…, generator.dec{i}.…, generator.head.… (the
 *   U-Net's names)
 *
 * (norms: weight, bias, running_mean, running_var).  Images are in
 * [−1, 1]. */
#pragma once

#include <loom/loom-graph.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

typedef enum
{
  LOOM_GAN_DCGAN,
  LOOM_GAN_TEXTURE,
  LOOM_GAN_PIX2PIX
} LoomGanKind;

typedef struct
{
  LoomGanKind kind;
  guint    channels;            /* image planes: 3 (RGB) or 1 */
  guint    latent;              /* noise planes (dcgan: the latent vector's length) */
  guint    levels;              /* dcgan: side 4·2^levels; texture: up/downsamplings */
  guint    g_width, d_width;    /* channels of G's last and D's first layer */
  gboolean tileable;            /* texture: G pads circularly */
  guint    classes;             /* pix2pix: classes of the label maps (else 0) */
  gboolean spectral_norm;       /* D's convolutions spectrally normalised
                                 * (loom_graph_spectral_norm; each keeps its u
                                 * as discriminator.convs.{i}.weight_u) */
} LoomGanConfig;

/* A kind's name as the faces spell it: "dcgan", "texture", "pix2pix". */
const char *loom_gan_kind_name      (LoomGanKind kind);
/* The kind NAME spells, or FALSE. */
gboolean    loom_gan_kind_from_name (const char *name, LoomGanKind *kind);

typedef struct _LoomGan LoomGan;

/* Declares G's parameters (and D's, with DISCRIMINATOR) in GRAPH.  NULL
 * with an error for a configuration Loom does not build. */
LoomGan    *loom_gan_new              (LoomGraph *graph, const LoomGanConfig *config,
                                       gboolean discriminator, GError **error);
void        loom_gan_free             (LoomGan *gan);
const LoomGanConfig *loom_gan_get_config (LoomGan *gan);

/* G applied to Z (dcgan: N×latent×1×1; texture: N×latent×h×w; pix2pix:
 * N×(classes + latent)×H×W, the one-hot labels then the noise, H and W
 * multiples of 2^levels — once per graph): an image N×channels×H×W in
 * [−1, 1].  TRAINING uses batch statistics and updates
 * the running ones with MOMENTUM (see loom_graph_batch_norm); else the
 * running ones. */
LoomTensor *loom_gan_generate_layer   (LoomGan *gan, LoomTensor *z, gboolean training,
                                       float momentum);
/* D's logits for X (dcgan: N×1×1×1; texture: N×1×h×w, one a patch;
 * pix2pix: X is N×(classes + channels)×H×W, labels then image), with
 * batch statistics.  FROZEN: through detached weights, so the loss
 * trains G through D without training D. */
LoomTensor *loom_gan_judge_layer      (LoomGan *gan, LoomTensor *x, gboolean frozen);

/* The image side for a DCGAN, the size of G's output for noise of H × W
 * (texture), and the noise side a texture of SIDE needs (rounded up). */
guint       loom_gan_image_side       (const LoomGanConfig *config);
guint       loom_gan_noise_side       (const LoomGanConfig *config, guint side);

/* Once the graph is compiled: fresh weights from SEED (convolutions
 * N(0, 0.02), norms γ = 1, β = 0, running variance 1), */
gboolean    loom_gan_init             (LoomGan *gan, guint32 seed, GError **error);
/* weights from a file (its architecture must match; D's tensors are
 * needed only if this GAN has D), or into one (architecture in the
 * metadata). */
gboolean    loom_gan_load             (LoomGan *gan, LoomWeights *weights, GError **error);
gboolean    loom_gan_store            (LoomGan *gan, LoomWeights *weights, GError **error);
/* As store and load, with AVERAGES (parallel to
 * loom_gan_generator_parameters): the file's generator.* tensors are the
 * averages (what generation uses), and training.generator.* the live
 * weights (to resume training).  Loading a file without training.* starts
 * both from generator.*. */
gboolean    loom_gan_store_averaged   (LoomGan *gan, GPtrArray *averages, LoomWeights *weights,
                                       GError **error);
gboolean    loom_gan_load_averaged    (LoomGan *gan, GPtrArray *averages, LoomWeights *weights,
                                       GError **error);
/* The configuration a weights file describes, checked. */
gboolean    loom_gan_config_from_weights (LoomWeights *weights, LoomGanConfig *config,
                                          GError **error);
/* G's trainable parameters (not its running statistics), in table order:
 * what an exponential moving average follows.  Free the array only. */
GPtrArray  *loom_gan_generator_parameters (LoomGan *gan);

G_END_DECLS
