#version 450
// y[n][k][i] = labels[n][i] == k (compute/ops/one_hot.c).  One invocation
// per label pixel, all its planes.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint n, classes, hw; } p;

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Labels { float labels[]; };

void main ()
{
  const uint total = p.n * p.hw;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint n = t / p.hw, i = t % p.hw;
      float label = labels[t];

      for (uint k = 0u; k < p.classes; k++)
        y[(n * p.classes + k) * p.hw + i] = label == float (k) ? 1.0 : 0.0;
    }
}
