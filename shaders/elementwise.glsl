// Shared by the elementwise ops: the params block of LoomEltParams and a
// grid-stride loop, so a grid capped at the device's limit still covers n.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint  n;
  float alpha;
  uint  kind;
} p;

#define FOR_EACH_ELEMENT(i) \
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
