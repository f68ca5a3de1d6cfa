#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
#include "activation.glsl"

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    dx[i] = dy[i] * activation_derivative (p.kind, p.alpha, x[i]);
}
