#version 450
// out = in summed over the dimensions not kept: a workgroup per output
// value, a tree reduction in shared memory (deterministic, no atomics).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uvec4 dims; uint keep; } p;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float v[]; };

shared float partial[gl_WorkGroupSize.x];

void main ()
{
  const uint me = gl_LocalInvocationID.x, threads = gl_WorkGroupSize.x;
  uint od[4], id[4], stride[4];
  uint outs = 1, count = 1;

  for (int d = 0; d < 4; d++)
    {
      id[d] = p.dims[d];
      od[d] = (p.keep >> d & 1u) != 0u ? id[d] : 1u;
      outs *= od[d];
      count *= (p.keep >> d & 1u) != 0u ? 1u : id[d];
    }
  stride[3] = 1u;
  for (int d = 2; d >= 0; d--)
    stride[d] = stride[d + 1] * id[d + 1];

  for (uint k = gl_WorkGroupID.x; k < outs; k += gl_NumWorkGroups.x)
    {
      uint base = 0u, rest = k;
      float sum = 0.0;

      for (int d = 3; d >= 0; d--)
        if ((p.keep >> d & 1u) != 0u)
          {
            base += rest % od[d] * stride[d];
            rest /= od[d];
          }
      for (uint t = me; t < count; t += threads)
        {
          uint index = base, i = t;

          for (int d = 3; d >= 0; d--)
            if ((p.keep >> d & 1u) == 0u)
              {
                index += i % id[d] * stride[d];
                i /= id[d];
              }
          sum += v[index];
        }
      partial[me] = sum;
      barrier ();
      for (uint half_ = threads / 2; half_ > 0; half_ /= 2)
        {
          if (me < half_)
            partial[me] += partial[me + half_];
          barrier ();
        }
      if (me == 0)
        o[k] = partial[0];
      barrier ();
    }
}
