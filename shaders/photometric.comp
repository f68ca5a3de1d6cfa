#version 450
// Photometric augmentation per crop (compute/ops/photometric.c says what
// and in which order).  One invocation per output pixel, all channels.
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint batch, channels, size; } p;

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Settings { float s[]; };

// Through a Gaussian of deviation sigma (edges repeated), radius 2·sigma, 3 at most.
float blurred (uint base, uint c, int u, int v, float sigma)
{
  int n = int (p.size);
  uint plane = base + c * p.size * p.size;
  if (sigma <= 0.0)
    return x[plane + uint (v * n + u)];
  int r = min (int (ceil (2.0 * sigma)), 3);
  float sum = 0.0, total = 0.0;
  for (int dv = -r; dv <= r; dv++)
    for (int du = -r; du <= r; du++)
      {
        float w = exp (-float (du * du + dv * dv) / (2.0 * sigma * sigma));
        sum += w * x[plane + uint (clamp (v + dv, 0, n - 1) * n + clamp (u + du, 0, n - 1))];
        total += w;
      }
  return sum / total;
}

void main ()
{
  const uint n = p.size, total = p.batch * n * n;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint i = t / (n * n), at = t % (n * n), m = i * 13u, base = i * p.channels * n * n;
      int u = int (at % n), v = int (at / n);
      float blur = s[m], hue = s[m + 2];
      bool cut = float (u) >= s[m + 8] && float (u) < s[m + 8] + s[m + 10]
              && float (v) >= s[m + 9] && float (v) < s[m + 9] + s[m + 11];
      vec3 rgb = vec3 (0.0);

      if (p.channels == 3u)
        {
          float r = blurred (base, 0u, u, v, blur), g = blurred (base, 1u, u, v, blur);
          float b = blurred (base, 2u, u, v, blur);
          float luma = 0.299 * r + 0.587 * g + 0.114 * b;
          float ci = 0.596 * r - 0.274 * g - 0.322 * b;
          float cq = 0.211 * r - 0.523 * g + 0.312 * b;
          float ch = cos (hue), sh = sin (hue);
          float i2 = s[m + 1] * (ch * ci - sh * cq), q2 = s[m + 1] * (sh * ci + ch * cq);
          rgb = vec3 (luma + 0.956 * i2 + 0.621 * q2, luma - 0.272 * i2 - 0.647 * q2,
                      luma - 1.106 * i2 + 1.703 * q2);
        }
      for (uint c = 0; c < p.channels; c++)
        {
          float val = p.channels == 3u ? rgb[c] : blurred (base, c, u, v, blur);
          val = s[m + 12] + s[m + 3] * (val - s[m + 12]) + s[m + 4];
          if (s[m + 5] != 1.0)
            val = pow (max (val, 0.0), s[m + 5]);
          if (s[m + 6] != 0.0)
            {
              uvec2 d = philox_draw (floatBitsToUint (s[m + 7]), 0x9407u, c * n * n + at);
              float u1 = float ((d.x >> 8) + 1u) * (1.0 / 16777216.0);
              val += s[m + 6] * sqrt (-2.0 * log (u1)) * cos (6.2831853 * uniform_of (d.y));
            }
          y[base + c * n * n + at] = cut ? 0.5 : val;
        }
    }
}
