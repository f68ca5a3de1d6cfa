#version 450
// out[c] = Σ_{n, i} in[(n·C + c)·HW + i]: a workgroup per channel, a tree
// reduction in shared memory (deterministic, no atomics).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint n, c, hw; } p;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float v[]; };

shared float partial[gl_WorkGroupSize.x];

void main ()
{
  const uint me = gl_LocalInvocationID.x, threads = gl_WorkGroupSize.x;

  for (uint c = gl_WorkGroupID.x; c < p.c; c += gl_NumWorkGroups.x)
    {
      float sum = 0.0;
      for (uint t = me; t < p.n * p.hw; t += threads)
        sum += v[((t / p.hw) * p.c + c) * p.hw + t % p.hw];
      partial[me] = sum;
      barrier ();
      for (uint half_ = threads / 2; half_ > 0; half_ /= 2)
        {
          if (me < half_)
            partial[me] += partial[me + half_];
          barrier ();
        }
      if (me == 0)
        o[c] = partial[0];
      barrier ();
    }
}
