/* A network's parameters as a table: each a graph tensor named and shaped
 * as in its PyTorch twin's state_dict, with how it starts.  Initialising,
 * loading and storing a model are then one loop over its table (U-Net,
 * GANs). */
#pragma once

#include <json-glib/json-glib.h>

#include <loom/loom-graph.h>
#include <loom/loom-unet.h>
#include <loom/loom-weights.h>

G_BEGIN_DECLS

typedef struct
{
  char       *name;
  LoomTensor *tensor;
  guint       n_dims;
  guint64     shape[4];
  LoomInit    init;
  float       scale;            /* LOOM_INIT_NORMAL's deviation, _UNIFORM's bound */
  gboolean    buffer;           /* running statistics, not trained */
} LoomNetParam;

typedef struct
{
  LoomGraph *graph;
  GArray    *params;            /* LoomNetParam, in state_dict order */
} LoomNet;

void        loom_net_init  (LoomNet *net, LoomGraph *graph);
void        loom_net_clear (LoomNet *net);
/* A trainable parameter (or, with BUFFER, running statistics) of PyTorch
 * shape SHAPE (N_DIMS ≤ 4), as a graph tensor of as many values. */
LoomTensor *loom_net_add   (LoomNet *net, const char *name, guint n_dims, const guint64 *shape,
                            LoomInit init, float scale, gboolean buffer);
/* Once compiled: every tensor from Philox, tensor I under SEED + I. */
gboolean    loom_net_fill  (LoomNet *net, guint32 seed, GError **error);
/* Every tensor of the table from WEIGHTS (each must be there, shaped so). */
gboolean    loom_net_load  (LoomNet *net, LoomWeights *weights, GError **error);
/* Every tensor of the table into WEIGHTS. */
gboolean    loom_net_store (LoomNet *net, LoomWeights *weights, GError **error);
/* The architecture object in WEIGHTS' metadata (LOOM_METADATA_ARCHITECTURE;
 * unref it), or NULL with an error. */
JsonObject *loom_net_architecture (LoomWeights *weights, GError **error);
/* O's member NAME as a whole number in [0, 2^20]; FALSE if absent or not one. */
gboolean    loom_net_json_uint (JsonObject *o, const char *name, guint *value);
/* The table's tensor called NAME, or NULL. */
const LoomNetParam *loom_net_find (LoomNet *net, const char *name);

/* The U-Net's layers (models/unet.c) on X, their parameters added to NET
 * named PREFIX + the twin's names: a U-Net inside another model (the
 * label→image generator).  Returns the logits (NULL: the graph's error). */
LoomTensor *loom_unet_layers (LoomNet *net, const char *prefix, const LoomUNetConfig *config,
                              LoomTensor *x, gboolean training, float momentum);
/* The same without the head: the last decoder level's BASE channels at
 * full size (the features a segmentation's pixel head reads). */
LoomTensor *loom_unet_trunk  (LoomNet *net, const char *prefix, const LoomUNetConfig *config,
                              LoomTensor *x, gboolean training, float momentum);
gboolean    loom_unet_check_config (const LoomUNetConfig *config, GError **error);

G_END_DECLS
