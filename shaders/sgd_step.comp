#version 450
#extension GL_GOOGLE_include_directive : require
#include "optimizer.glsl"

void main ()
{
  const float lr = scalars[0];

  FOR_EACH_ELEMENT (i)
    {
      float g = grad[i] + p.weight_decay * param[i];
      float v = p.momentum * state1[i] + g;
      state1[i] = v;
      param[i] -= lr * v;
    }
}
