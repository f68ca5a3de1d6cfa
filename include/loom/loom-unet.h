/* U-Net for segmentation, built on the static graph.
 *
 * DEPTH poolings: encoder level i has BASE·2^i channels (two 3×3
 * convolutions, batch norm, ReLU), max pooling between levels; the decoder
 * upsamples bilinearly, concatenates the encoder's skip, and runs two more
 * convolutions; a 1×1 convolution gives CLASSES logits per pixel.  Tensors
 * are named as the PyTorch twin's state_dict (tools/torch/unet.py), so
 * weights files go both ways:
 *
 *   enc{i}.conv{1,2}.weight, enc{i}.bn{1,2}.{weight,bias,running_mean,running_var}
 *   dec{i}.conv{1,2}.weight, dec{i}.bn{1,2}.…   (i = DEPTH − 1 … 0)
 *   head.weight, head.bias
 *
 * With DEPTH 4, BASE 16, RGB in and 2 classes it has 1 964 114 parameters. */
#pragma once

#include <loom/loom-graph.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

typedef struct
{
  guint in_channels;            /* 3 for RGB, more with extra feature planes */
  guint classes;
  guint depth;                  /* poolings, 1…6 */
  guint base;                   /* channels of the first level */
} LoomUNetConfig;

typedef struct _LoomUNet LoomUNet;

/* Builds the network into GRAPH on X (N×in×H×W, H and W multiples of
 * 2^depth).  TRAINING uses batch statistics (and updates the running ones),
 * else the running ones.  NULL with an error for a bad configuration. */
LoomUNet   *loom_unet_build          (LoomGraph *graph, const LoomUNetConfig *config,
                                      LoomTensor *x, gboolean training, GError **error);
/* The same with the batch norms' running-statistics MOMENTUM (0.1 above;
 * negative: a warm-up, see loom_graph_batch_norm). */
LoomUNet   *loom_unet_build_full     (LoomGraph *graph, const LoomUNetConfig *config,
                                      LoomTensor *x, gboolean training, float momentum,
                                      GError **error);
void        loom_unet_free           (LoomUNet *unet);
/* N×classes×H×W logits. */
LoomTensor *loom_unet_get_logits     (LoomUNet *unet);
const LoomUNetConfig *loom_unet_get_config (LoomUNet *unet);
guint64     loom_unet_count_parameters (const LoomUNetConfig *config);

/* Once the graph is compiled: fresh weights (Kaiming normal for the
 * convolutions, PyTorch's default for the head, γ = 1, β = 0, running
 * variance 1) from SEED, */
gboolean    loom_unet_init           (LoomUNet *unet, guint32 seed, GError **error);
/* weights from a file's tensors (every one checked against the
 * architecture), or the graph's weights into W (with the architecture in
 * its metadata). */
gboolean    loom_unet_load           (LoomUNet *unet, LoomWeights *weights, GError **error);
/* Everything but the head from a U-Net of the same inputs, depth and base
 * and any classes (a pretrained starting point); the head keeps what it
 * had. */
gboolean    loom_unet_load_features  (LoomUNet *unet, LoomWeights *weights, GError **error);
gboolean    loom_unet_store          (LoomUNet *unet, LoomWeights *weights, GError **error);

/* The configuration a weights file describes, checked. */
gboolean    loom_unet_config_from_weights (LoomWeights *weights, LoomUNetConfig *config,
                                           GError **error);

G_END_DECLS
