#version 450
#extension GL_GOOGLE_include_directive : require
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };

void main ()
{
  FOR_EACH_ELEMENT (i)
    dst[i] = p.alpha;
}
