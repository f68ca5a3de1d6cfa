#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer SumSquares { float x[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    o[i] = 1.0 / max (sqrt (x[i]), p.alpha);
}
