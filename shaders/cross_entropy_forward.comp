#version 450
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer Loss { float loss[]; };        // weighted, per pixel
layout(std430, binding = 1) writeonly buffer Weight { float weight_px[]; }; // per pixel, 0 if ignored
layout(std430, binding = 2) readonly buffer Logits { float logits[]; };
layout(std430, binding = 3) readonly buffer Labels { float labels[]; };
layout(std430, binding = 4) readonly buffer Weights { float weights[]; };

#include "cross_entropy.glsl"

void main ()
{
  FOR_EACH_PIXEL (i)
    {
      float w, log_norm;
      int y = pixel_class (i, w, log_norm);
      uint n = i / p.hw, j = i % p.hw;
      loss[i] = y < 0 ? 0.0 : w * (log_norm - logits[(n * p.k + uint (y)) * p.hw + j]);
      weight_px[i] = y < 0 ? 0.0 : w;
    }
}
