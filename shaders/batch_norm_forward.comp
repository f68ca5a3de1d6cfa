#version 450
// y = (x − mean) / √(var + ε) · γ + β, per channel.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Var { float var[]; };
layout(std430, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 5) readonly buffer Beta { float beta[]; };

#include "batch_norm.glsl"

void main ()
{
  FOR_EACH_VALUE (i)
    {
      uint c = i / p.hw % p.c;
      y[i] = (x[i] - mean[c]) / sqrt (var[c] + p.eps) * gamma[c] + beta[c];
    }
}
