#version 450
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

#include "pool.glsl"

// Windows whose rows (or columns) cover input index I: [lo, hi).
void covering (int i, uint size_out, out int lo, out int hi)
{
  int a = i + int (p.pad) - int (p.kernel) + 1;
  lo = a <= 0 ? 0 : (a + int (p.stride) - 1) / int (p.stride);
  hi = min ((i + int (p.pad)) / int (p.stride) + 1, int (size_out));
}

void main ()
{
  const uint total = p.planes * p.h * p.w;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint plane = t / (p.h * p.w), base = plane * p.h * p.w, obase = plane * p.p * p.q;
      int h = int (t / p.w % p.h), w = int (t % p.w);
      int lo_h, hi_h, lo_w, hi_w;
      covering (h, p.p, lo_h, hi_h);
      covering (w, p.q, lo_w, hi_w);
      float sum = 0.0;
      for (int op = lo_h; op < hi_h; op++)
        for (int oq = lo_w; oq < hi_w; oq++)
          {
            float g = dy[obase + uint (op) * p.q + uint (oq)];
            if (p.max == 0)
              sum += g / float (p.kernel * p.kernel);
            else if (window_argmax (base, uint (op), uint (oq)) == h * int (p.w) + w)
              sum += g;
          }
      dx[t] = sum;
    }
}
