#version 450
// dx = γ·rstd / M · (M·dy − dβ − x̂·dγ), M = N·HW: the batch statistics'
// own gradients included (training mode).
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Mean { float mean[]; };
layout(std430, binding = 4) readonly buffer Var { float var[]; };
layout(std430, binding = 5) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 6) readonly buffer DBeta { float dbeta[]; };
layout(std430, binding = 7) readonly buffer DGamma { float dgamma[]; };

#include "batch_norm.glsl"

void main ()
{
  const float count = float (p.n * p.hw);

  FOR_EACH_VALUE (i)
    {
      uint c = i / p.hw % p.c;
      float rstd = 1.0 / sqrt (var[c] + p.eps);
      float xhat = (x[i] - mean[c]) * rstd;
      dx[i] = gamma[c] * rstd / count * (count * dy[i] - dbeta[c] - xhat * dgamma[c]);
    }
}
