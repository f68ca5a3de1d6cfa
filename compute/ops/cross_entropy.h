/* Per-pixel softmax cross-entropy, as PyTorch's F.cross_entropy on N×K×H×W
 * logits and N×H×W labels (class numbers stored as floats): pixels whose
 * label is IGNORE count for nothing; class weights scale each pixel's loss
 * and, for the mean, the divisor. */
#pragma once

#include <math.h>

#include "op.h"

typedef struct
{
  guint32 n, k, hw;
  gint32  ignore;               /* the label of unlabelled pixels */
  guint32 has_weights;          /* else every class weighs 1 */
  guint32 mean;                 /* backward: divide by the weight sum bound as "norm" */
} LoomCrossEntropyParams;

gsize    loom_ce_lengths_pixels (const LoomCrossEntropyParams *p);
guint    loom_ce_vk_spec        (const LoomLimits *limits, guint32 *spec);
void     loom_ce_vk_groups      (const void *params, const guint32 *spec,
                                 const LoomLimits *limits, guint32 *groups);
double   loom_ce_flops          (const void *params);
gboolean loom_ce_test_case      (guint index, GRand *rand, void *params);
/* Labels in [-1, K) (−1 ignored), positive class weights and norm. */
void     loom_ce_test_inputs    (const LoomCrossEntropyParams *p, float *labels,
                                 float *weights, float *norm);

/* The class of pixel I (sample n, pixel j), or -1 when ignored or out of
 * range; weight and log-softmax normaliser through the pointers. */
static inline gint64
loom_ce_pixel (const LoomCrossEntropyParams *p, const float *logits, const float *labels,
               const float *weights, gsize i, float *weight, float *log_norm)
{
  gsize n = i / p->hw, j = i % p->hw;
  const float *z = logits + n * p->k * p->hw + j;
  float label = labels[i], top = -INFINITY;
  double sum = 0.0;
  gint64 y = (gint64) label;

  if (label != (float) y || y == p->ignore || y < 0 || y >= p->k)
    return -1;
  for (gsize c = 0; c < p->k; c++)
    top = fmaxf (top, z[c * p->hw]);
  for (gsize c = 0; c < p->k; c++)
    sum += exp ((double) z[c * p->hw] - top);
  *log_norm = top + (float) log (sum);
  *weight = p->has_weights ? weights[y] : 1.0f;
  return y;
}
