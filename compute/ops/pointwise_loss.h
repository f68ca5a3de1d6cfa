/* The pointwise losses of LoomLoss and their derivatives in y, in C (the
 * reference and the CPU kernels); shaders/pointwise_loss.glsl has the same. */
#pragma once

#include <math.h>

#include <glib.h>

/* The op's kinds: LoomLoss's values, which the graph checks
 * (graph/losses.c), and the shader's numbers. */
enum
{
  LOOM_POINTWISE_MSE,
  LOOM_POINTWISE_L1,
  LOOM_POINTWISE_BCE_WITH_LOGITS,
  LOOM_POINTWISE_HINGE,
  LOOM_POINTWISE_LINEAR,
  LOOM_N_POINTWISE_LOSSES
};

static inline float
loom_pointwise_loss (guint32 kind, float y, float t)
{
  switch (kind)
    {
    case LOOM_POINTWISE_MSE: return (y - t) * (y - t);
    case LOOM_POINTWISE_L1: return fabsf (y - t);
    case LOOM_POINTWISE_BCE_WITH_LOGITS: return fmaxf (y, 0.0f) - y * t + log1pf (expf (-fabsf (y)));
    case LOOM_POINTWISE_HINGE: return fmaxf (0.0f, 1.0f - t * y);
    case LOOM_POINTWISE_LINEAR: return -t * y;
    default: return NAN;
    }
}

/* d loss / dy, with PyTorch's choices at kinks (sign(0) = 0). */
static inline float
loom_pointwise_loss_derivative (guint32 kind, float y, float t)
{
  switch (kind)
    {
    case LOOM_POINTWISE_MSE: return 2.0f * (y - t);
    case LOOM_POINTWISE_L1: return y > t ? 1.0f : y < t ? -1.0f : 0.0f;
    case LOOM_POINTWISE_BCE_WITH_LOGITS: return 1.0f / (1.0f + expf (-y)) - t;
    case LOOM_POINTWISE_HINGE: return 1.0f - t * y > 0.0f ? -t : 0.0f;
    case LOOM_POINTWISE_LINEAR: return -t;
    default: return NAN;
    }
}
