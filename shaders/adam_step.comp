#version 450
#extension GL_GOOGLE_include_directive : require
#include "optimizer.glsl"

void main ()
{
  const float lr = scalars[0], bias1 = scalars[1], bias2 = scalars[2];

  FOR_EACH_ELEMENT (i)
    {
      float g = grad[i];
      float m = p.beta1 * state1[i] + (1.0 - p.beta1) * g;
      float v = p.beta2 * state2[i] + (1.0 - p.beta2) * g * g;
      float w = param[i] * (1.0 - lr * p.weight_decay);
      state1[i] = m;
      state2[i] = v;
      param[i] = w - lr / bias1 * m / (sqrt (v) / sqrt (bias2) + p.eps);
    }
}
