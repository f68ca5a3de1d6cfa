#version 450
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer DLogits { float dlogits[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer Labels { float labels[]; };
layout(std430, binding = 3) readonly buffer Weights { float weights[]; };
layout(std430, binding = 4) readonly buffer Norm { float norm[]; };  // Σ weights, for the mean

#include "cross_entropy.glsl"

void main ()
{
  FOR_EACH_PIXEL (i)
    {
      float w, log_norm;
      int y = pixel_class (i, w, log_norm);
      uint n = i / p.hw, j = i % p.hw, base = n * p.k * p.hw + j;
      float s = p.mean != 0 ? w / norm[0] : w;
      for (uint c = 0; c < p.k; c++)
        dlogits[base + c * p.hw] = y < 0 ? 0.0
          : s * (exp (logits[base + c * p.hw] - log_norm) - (int (c) == y ? 1.0 : 0.0));
    }
}
