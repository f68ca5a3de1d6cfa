#version 450
// Running statistics, as PyTorch: the unbiased variance goes in.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) buffer RunningMean { float running_mean[]; };
layout(std430, binding = 1) buffer RunningVar { float running_var[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, binding = 3) readonly buffer Var { float var[]; };

#include "batch_norm.glsl"

void main ()
{
  const float count = float (p.n * p.hw);
  const float unbias = count > 1.0 ? count / (count - 1.0) : 1.0;

  for (uint c = gl_GlobalInvocationID.x; c < p.c; c += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean[c];
      running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * var[c] * unbias;
    }
}
