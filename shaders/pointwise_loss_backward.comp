#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
#include "pointwise_loss.glsl"

layout(std430, binding = 0) writeonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer T { float t[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    dy[i] = p.alpha * pointwise_loss_derivative (p.kind, y[i], t[i]);
}
