// Shared by the upsampling kernels (compute/ops/upsample.h).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint planes, h, w, scale, bilinear;
} p;

// How much input index I of an axis of SIZE contributes to output O.
float tap_weight (int o, int i, int size)
{
  if (p.bilinear == 0)
    return o / int (p.scale) == i ? 1.0 : 0.0;
  float src = max ((float (o) + 0.5) / float (p.scale) - 0.5, 0.0);
  int i0 = int (src), i1 = min (i0 + 1, size - 1);
  float frac = src - float (i0);
  return (i0 == i ? 1.0 - frac : 0.0) + (i1 == i ? frac : 0.0);
}
