#version 450
// Each crop of a batch sampled from its source through its own affine map:
// the image bilinearly (edges repeated), the labels by the nearest pixel
// (outside the source: unlabelled), after an optional elastic shift
// (compute/ops/affine_sample.c).  One invocation per output pixel.
#extension GL_GOOGLE_include_directive : require
#include "philox.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params { uint batch, channels, size, image_floats, label_floats; } p;

layout(std430, binding = 0) writeonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Labels { float labels[]; };
layout(std430, binding = 2) readonly buffer Images { float images[]; };
layout(std430, binding = 3) readonly buffer LabelMaps { float label_maps[]; };
layout(std430, binding = 4) readonly buffer Maps { float maps[]; };

const uint CELLS = 4u, KNOTS = CELLS + 1u, FLOATS = 12u;

vec2 knot (uint seed, float amplitude, uint k)
{
  uvec2 d = philox_draw (seed, 0xE1A5u, k);
  return vec2 (amplitude * (2.0 * uniform_of (d.x) - 1.0), amplitude * (2.0 * uniform_of (d.y) - 1.0));
}

// The field at output pixel (u, v): the four knots around it, eased.
vec2 elastic_shift (uint m, uint n, uint u, uint v)
{
  uint seed = floatBitsToUint (maps[m + 11u]);
  float amplitude = maps[m + 10u], scale = float (CELLS) / float (max (n, 2u) - 1u);
  float gx = float (u) * scale, gy = float (v) * scale;
  uint kx = min (uint (gx), CELLS - 1u), ky = min (uint (gy), CELLS - 1u);
  float tx = gx - float (kx), ty = gy - float (ky);
  vec2 k00 = knot (seed, amplitude, ky * KNOTS + kx), k01 = knot (seed, amplitude, ky * KNOTS + kx + 1u);
  vec2 k10 = knot (seed, amplitude, (ky + 1u) * KNOTS + kx);
  vec2 k11 = knot (seed, amplitude, (ky + 1u) * KNOTS + kx + 1u);

  tx = tx * tx * (3.0 - 2.0 * tx);
  ty = ty * ty * (3.0 - 2.0 * ty);
  vec2 top = k00 + tx * (k01 - k00), bottom = k10 + tx * (k11 - k10);
  return top + ty * (bottom - top);
}

void main ()
{
  const uint n = p.size, total = p.batch * n * n;

  for (uint t = gl_GlobalInvocationID.x; t < total; t += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
    {
      uint i = t / (n * n), v = t / n % n, u = t % n, m = i * FLOATS;
      uint image = floatBitsToUint (maps[m + 6]), lab = floatBitsToUint (maps[m + 7]);
      int w = int (floatBitsToUint (maps[m + 8])), h = int (floatBitsToUint (maps[m + 9]));
      float sx = maps[m] * float (u) + maps[m + 1] * float (v) + maps[m + 4];
      float sy = maps[m + 2] * float (u) + maps[m + 3] * float (v) + maps[m + 5];
      if (maps[m + 10u] != 0.0)
        {
          vec2 d = elastic_shift (m, n, u, v);
          sx += d.x;
          sy += d.y;
        }
      float fx = floor (sx), fy = floor (sy), ax = sx - fx, ay = sy - fy;
      int x0 = clamp (int (fx), 0, w - 1), x1 = clamp (int (fx) + 1, 0, w - 1);
      int y0 = clamp (int (fy), 0, h - 1), y1 = clamp (int (fy) + 1, 0, h - 1);
      int rx = int (floor (sx + 0.5)), ry = int (floor (sy + 0.5));
      // Sides below 2^16 keep w·h in 32 bits; the rest is divided, not multiplied.
      bool sized = w > 0 && h > 0 && w < 65536 && h < 65536;
      bool valid = sized && image <= p.image_floats
                && (p.image_floats - image) / p.channels >= uint (w * h);
      bool labelled = sized && lab <= p.label_floats && p.label_floats - lab >= uint (w * h);

      for (uint c = 0; c < p.channels; c++)
        {
          if (!valid)
            {
              x[(i * p.channels + c) * n * n + v * n + u] = 0.0;
              continue;
            }
          uint plane = image + c * uint (w * h);
          float a = images[plane + uint (y0 * w + x0)], b = images[plane + uint (y0 * w + x1)];
          float d = images[plane + uint (y1 * w + x0)], e = images[plane + uint (y1 * w + x1)];
          float top = a + ax * (b - a), bottom = d + ax * (e - d);
          x[(i * p.channels + c) * n * n + v * n + u] = top + ay * (bottom - top);
        }
      labels[t] = !labelled || rx < 0 || ry < 0 || rx >= w || ry >= h
                ? -1.0 : label_maps[lab + uint (ry * w + rx)];
    }
}
