/* The activation functions and their derivatives, in C (the reference and
 * the CPU kernels); shaders/activation.glsl has the same in GLSL. */
#pragma once

#include <math.h>

#include <loom/loom.h>

static inline float
loom_activation (guint32 kind, float slope, float x)
{
  switch (kind)
    {
    case LOOM_ACTIVATION_RELU: return x > 0.0f ? x : 0.0f;
    case LOOM_ACTIVATION_LEAKY_RELU: return x > 0.0f ? x : slope * x;
    case LOOM_ACTIVATION_TANH: return tanhf (x);
    case LOOM_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf (-x));
    case LOOM_ACTIVATION_GELU: return 0.5f * x * (1.0f + erff (x * (float) M_SQRT1_2));
    default: return NAN;
    }
}

/* f'(x), with PyTorch's choices at the kinks (ReLU'(0) = 0). */
static inline float
loom_activation_derivative (guint32 kind, float slope, float x)
{
  switch (kind)
    {
    case LOOM_ACTIVATION_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case LOOM_ACTIVATION_LEAKY_RELU: return x > 0.0f ? 1.0f : slope;
    case LOOM_ACTIVATION_TANH: { float t = tanhf (x); return 1.0f - t * t; }
    case LOOM_ACTIVATION_SIGMOID: { float s = 1.0f / (1.0f + expf (-x)); return s * (1.0f - s); }
    case LOOM_ACTIVATION_GELU:
      return 0.5f * (1.0f + erff (x * (float) M_SQRT1_2))
             + x * expf (-0.5f * x * x) * (float) (0.5 * M_2_SQRTPI * M_SQRT1_2);
    default: return NAN;
    }
}
