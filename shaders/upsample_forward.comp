#version 450
#extension GL_GOOGLE_include_directive : require
#include "upsample.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

void main ()
{
  const uint oh = p.h * p.scale, ow = p.w * p.scale, total = p.planes * oh * ow;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint plane = t / (oh * ow);
      int o = int (t / ow % oh), q = int (t % ow);
      // The inputs an output reads lie within one pixel of o / scale.
      int h0 = max (o / int (p.scale) - 1, 0), h1 = min (o / int (p.scale) + 2, int (p.h));
      int w0 = max (q / int (p.scale) - 1, 0), w1 = min (q / int (p.scale) + 2, int (p.w));
      float sum = 0.0;
      for (int h = h0; h < h1; h++)
        {
          float wh = tap_weight (o, h, int (p.h));
          for (int w = w0; w < w1; w++)
            sum += wh * tap_weight (q, w, int (p.w)) * x[(plane * p.h + uint (h)) * p.w + uint (w)];
        }
      y[t] = sum;
    }
}
