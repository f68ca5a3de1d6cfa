#version 450
// y[n, c, i] += bias[c], in place.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint n, c, hw; } p;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };

void main ()
{
  const uint count = p.n * p.c * p.hw;

  for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    y[i] += bias[i / p.hw % p.c];
}
