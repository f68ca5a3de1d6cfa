#version 450
// out[i] = Σ_s in[s·n + i]: adds up the partial results of a split reduction.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint n, slices; } p;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float v[]; };

void main ()
{
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      float sum = 0.0;
      for (uint s = 0; s < p.slices; s++)
        sum += v[s * p.n + i];
      o[i] = sum;
    }
}
