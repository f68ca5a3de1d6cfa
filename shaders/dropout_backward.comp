#version 450
// out = in · mask / (1 − p): the mask from Philox at (seed, stream, i).
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint  n;
  float p;
  float scale;
  uint  stream;
} p;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float v[]; };
layout(std430, binding = 2) readonly buffer Seed { float seed[]; };   // 32 raw bits

void main ()
{
  const uint s = floatBitsToUint (seed[0]);

  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    o[i] = uniform_of (philox_draw (s, p.stream, i).x) >= p.p ? v[i] * p.scale : 0.0;
}
