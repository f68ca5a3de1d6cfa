#version 450
// dβ[c] = Σ dy, dγ[c] = Σ dy · x̂ over the N·HW values of channel c.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer DBeta { float dbeta[]; };
layout(std430, binding = 1) writeonly buffer DGamma { float dgamma[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) readonly buffer X { float x[]; };
layout(std430, binding = 4) readonly buffer Mean { float mean[]; };
layout(std430, binding = 5) readonly buffer Var { float var[]; };

#include "batch_norm.glsl"

void main ()
{
  FOR_EACH_CHANNEL (c)
    {
      const float rstd = 1.0 / sqrt (var[c] + p.eps);
      float s1 = 0.0, s2 = 0.0;
      FOR_EACH_OF_CHANNEL (t)
        {
          uint i = channel_at (c, t);
          s1 += dy[i];
          s2 += dy[i] * (x[i] - mean[c]) * rstd;
        }
      float b = workgroup_sum (s1);
      float g = workgroup_sum (s2);
      if (gl_LocalInvocationID.x == 0)
        {
          dbeta[c] = b;
          dgamma[c] = g;
        }
    }
}
