#version 450
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

#include "pool.glsl"

void main ()
{
  const uint total = p.planes * p.p * p.q;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint plane = t / (p.p * p.q), op = t / p.q % p.p, oq = t % p.q, base = plane * p.h * p.w;
      if (p.max != 0)
        {
          int at = window_argmax (base, op, oq);
          y[t] = at < 0 ? 0.0 : x[base + uint (at)];
          continue;
        }
      float sum = 0.0;
      for (uint r = 0; r < p.kernel; r++)
        for (uint s = 0; s < p.kernel; s++)
          {
            int h = int (op * p.stride + r) - int (p.pad), w = int (oq * p.stride + s) - int (p.pad);
            if (h >= 0 && w >= 0 && h < int (p.h) && w < int (p.w))
              sum += x[base + uint (h) * p.w + uint (w)];
          }
      y[t] = sum / float (p.kernel * p.kernel);
    }
}
