/* Weights files in the safetensors format: an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range,
 * then the raw little-endian data.  Loom writes F32 tensors and keeps its
 * own description in the header's "__metadata__" (a map of strings):
 *
 *   loom.architecture  JSON: {"name": "unet", …hyper-parameters}
 *   loom.classes       JSON: [{"name": "sky", "color": [r, g, b]}, …] in training order
 *   loom.provenance    JSON: {"data": …, "steps": …, "seed": …, "loom": version}
 *
 * PyTorch reads and writes the same files (tools/torch/loomweights.py).
 * Saving is atomic (a temporary file renamed over the target); loading
 * checks everything and answers a damaged or foreign file with a GError
 * (LOOM_ERROR_BAD_FILE) that says what is wrong, never a crash. */
#pragma once

#include <loom/loom.h>

G_BEGIN_DECLS

#define LOOM_WEIGHTS_MAX_DIMS 8

#define LOOM_METADATA_ARCHITECTURE "loom.architecture"
#define LOOM_METADATA_CLASSES      "loom.classes"
#define LOOM_METADATA_PROVENANCE   "loom.provenance"

typedef struct _LoomWeights LoomWeights;

LoomWeights *loom_weights_new          (void);
void         loom_weights_free         (LoomWeights *weights);

/* Adds a copy of an F32 tensor of N_DIMS dimensions; NAME must be new. */
gboolean     loom_weights_add          (LoomWeights *weights, const char *name, guint n_dims,
                                        const guint64 *shape, const float *data, GError **error);
/* Tensor NAME (owned by WEIGHTS) and its shape, or NULL. */
const float *loom_weights_lookup       (LoomWeights *weights, const char *name, guint *n_dims,
                                        const guint64 **shape);
/* Tensor NAME if it has exactly SHAPE; else NULL and an error that names
 * the tensor, the file's shape and the one wanted. */
const float *loom_weights_expect       (LoomWeights *weights, const char *name, guint n_dims,
                                        const guint64 *shape, GError **error);
/* Tensor names, in file order (owned by WEIGHTS, NULL-terminated). */
const char *const *loom_weights_get_names (LoomWeights *weights);

void         loom_weights_set_metadata (LoomWeights *weights, const char *key, const char *value);
const char  *loom_weights_get_metadata (LoomWeights *weights, const char *key);

gboolean     loom_weights_save         (LoomWeights *weights, const char *path, GError **error);
LoomWeights *loom_weights_load         (const char *path, GError **error);
/* The same checks on bytes in memory (what the fuzzer drives). */
LoomWeights *loom_weights_parse        (const guint8 *bytes, gsize size, GError **error);

G_END_DECLS
