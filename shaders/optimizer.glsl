// Shared by the optimizer steps: LoomOptimizerParams and the bindings of
// compute/ops/optimizer.h (parameter, two states, gradient, scalars).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint  n;
  float momentum;
  float beta1, beta2, eps;
  float weight_decay;
} p;

layout(std430, binding = 0) buffer Param { float param[]; };
layout(std430, binding = 1) buffer State1 { float state1[]; };
layout(std430, binding = 2) buffer State2 { float state2[]; };
layout(std430, binding = 3) readonly buffer Grad { float grad[]; };
layout(std430, binding = 4) readonly buffer Scalars { float scalars[]; };  // lr, 1−β₁ᵗ, 1−β₂ᵗ

#define FOR_EACH_ELEMENT(i) \
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
