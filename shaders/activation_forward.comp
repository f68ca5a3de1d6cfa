#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"
#include "activation.glsl"

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    y[i] = activation (p.kind, p.alpha, x[i]);
}
