#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer S { float s[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    o[i] = s[0] * x[i];
}
