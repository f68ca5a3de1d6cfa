// Shared by the batch-norm kernels: LoomBatchNormParams, and a workgroup
// tree reduction for the per-channel ones (local size a power of two).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint  n, c, hw;
  float eps;
  float momentum;
} p;

shared float partial[gl_WorkGroupSize.x];

// The sum of V over the workgroup, in every invocation.
float workgroup_sum (float v)
{
  const uint me = gl_LocalInvocationID.x;
  partial[me] = v;
  barrier ();
  for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2)
    {
      if (me < half_)
        partial[me] += partial[me + half_];
      barrier ();
    }
  float sum = partial[0];
  barrier ();
  return sum;
}

// Index of value t (of the N·HW of channel c) in the N×C×HW tensor.
uint channel_at (uint c, uint t)
{
  return ((t / p.hw) * p.c + c) * p.hw + t % p.hw;
}

#define FOR_EACH_CHANNEL(c) \
  for (uint c = gl_WorkGroupID.x; c < p.c; c += gl_NumWorkGroups.x)
#define FOR_EACH_OF_CHANNEL(t) \
  for (uint t = gl_LocalInvocationID.x; t < p.n * p.hw; t += gl_WorkGroupSize.x)
#define FOR_EACH_VALUE(i) \
  for (uint i = gl_GlobalInvocationID.x; i < p.n * p.c * p.hw; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
