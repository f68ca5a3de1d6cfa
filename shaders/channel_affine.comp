#version 450
// y[n, c, i] = x[n, c, i] · scale[c] + shift[c]
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint n, c, hw; } p;

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Scale { float scale[]; };
layout(std430, binding = 3) readonly buffer Shift { float shift[]; };

void main ()
{
  const uint count = p.n * p.c * p.hw;

  for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint c = i / p.hw % p.c;
      y[i] = fma (x[i], scale[c], shift[c]);
    }
}
