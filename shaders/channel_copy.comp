#version 450
// dst[n, dst_first + i] = src[n, src_first + i] for count channels.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint n, hw;
  uint src_channels, src_first;
  uint dst_channels, dst_first;
  uint count;
} p;

layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };

void main ()
{
  const uint total = p.n * p.count * p.hw;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint j = t % p.hw, plane = t / p.hw, n = plane / p.count, i = plane % p.count;
      dst[(n * p.dst_channels + p.dst_first + i) * p.hw + j]
        = src[(n * p.src_channels + p.src_first + i) * p.hw + j];
    }
}
