#version 450
// mean[c] and the biased var[c] over the N·HW values of channel c (two passes).
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer Mean { float mean[]; };
layout(std430, binding = 1) writeonly buffer Var { float var[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

#include "batch_norm.glsl"

void main ()
{
  const float count = float (p.n * p.hw);

  FOR_EACH_CHANNEL (c)
    {
      float s = 0.0;
      FOR_EACH_OF_CHANNEL (t)
        s += x[channel_at (c, t)];
      float m = workgroup_sum (s) / count;
      float d2 = 0.0;
      FOR_EACH_OF_CHANNEL (t)
        {
          float d = x[channel_at (c, t)] - m;
          d2 += d * d;
        }
      float v = workgroup_sum (d2) / count;
      if (gl_LocalInvocationID.x == 0)
        {
          mean[c] = m;
          var[c] = v;
        }
    }
}
