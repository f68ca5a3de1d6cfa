#version 450
#extension GL_GOOGLE_include_directive : require
#include "upsample.glsl"

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };

void main ()
{
  const uint oh = p.h * p.scale, ow = p.w * p.scale, total = p.planes * p.h * p.w;
  const int s = int (p.scale);

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint plane = t / (p.h * p.w);
      int h = int (t / p.w % p.h), w = int (t % p.w);
      int o0 = max ((h - 1) * s, 0), o1 = min ((h + 2) * s, int (oh));
      int q0 = max ((w - 1) * s, 0), q1 = min ((w + 2) * s, int (ow));
      float sum = 0.0;
      for (int o = o0; o < o1; o++)
        {
          float wh = tap_weight (o, h, int (p.h));
          if (wh == 0.0)
            continue;
          for (int q = q0; q < q1; q++)
            sum += wh * tap_weight (q, w, int (p.w)) * dy[(plane * oh + uint (o)) * ow + uint (q)];
        }
      dx[t] = sum;
    }
}
