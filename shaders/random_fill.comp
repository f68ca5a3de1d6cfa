#version 450
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint  n;
  uint  normal;
  float a, b;
  uint  stream;
} p;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer Seed { float seed[]; };   // 32 raw bits

void main ()
{
  const uint s = floatBitsToUint (seed[0]);

  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uvec2 r = philox_draw (s, p.stream, i);
      if (p.normal != 0)
        {
          float u1 = float ((r.x >> 8) + 1u) * (1.0 / 16777216.0);
          float u2 = uniform_of (r.y);
          o[i] = p.a + p.b * sqrt (-2.0 * log (u1)) * cos (6.2831853 * u2);
        }
      else
        o[i] = p.a + (p.b - p.a) * uniform_of (r.x);
    }
}
