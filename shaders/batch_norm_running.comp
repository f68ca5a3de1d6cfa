#version 450
// Running statistics, as PyTorch: the unbiased variance goes in.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) buffer RunningMean { float running_mean[]; };
layout(std430, binding = 1) buffer RunningVar { float running_var[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Var { float var[]; };
layout(std430, binding = 4) readonly buffer Scalars { float scalars[]; };

#include "batch_norm.glsl"

void main ()
{
  const float count = float (p.n * p.hw);
  const float unbias = count > 1.0 ? count / (count - 1.0) : 1.0;
  // A negative momentum: the larger of 1 / runs (scalars[3]) and its magnitude.
  const float m = p.momentum >= 0.0 ? p.momentum : max (1.0 / max (scalars[3], 1.0), -p.momentum);

  for (uint c = gl_GlobalInvocationID.x; c < p.c; c += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      running_mean[c] = (1.0 - m) * running_mean[c] + m * mean[c];
      running_var[c] = (1.0 - m) * running_var[c] + m * var[c] * unbias;
    }
}
