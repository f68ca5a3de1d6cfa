#version 450
// y = a + b or a · b, each input read at its own (broadcast) strides.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uvec4 dims;
  uvec4 a_strides, b_strides;
  uint mul;
} p;

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

void main ()
{
  const uint total = p.dims.x * p.dims.y * p.dims.z * p.dims.w;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint w = t % p.dims.w, h = t / p.dims.w % p.dims.z;
      uint c = t / (p.dims.w * p.dims.z) % p.dims.y, n = t / (p.dims.w * p.dims.z * p.dims.y);
      uvec4 at = uvec4 (n, c, h, w);
      float va = a[at.x * p.a_strides.x + at.y * p.a_strides.y
                   + at.z * p.a_strides.z + at.w * p.a_strides.w];
      float vb = b[at.x * p.b_strides.x + at.y * p.b_strides.y
                   + at.z * p.b_strides.z + at.w * p.b_strides.w];
      y[t] = p.mul != 0u ? va * vb : va + vb;
    }
}
