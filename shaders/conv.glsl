// Shared by the convolution kernels: LoomConvParams as push constants, and
// where a padded coordinate reads from, and how a reduction over N·P·Q is
// cut into slices (the same partition as compute/ops/conv.c).
layout(push_constant) uniform Params
{
  uint n, c, h, w;
  uint k, r, s;
  uint p, q;
  uint stride_h, stride_w;
  uint pad_h, pad_w;
  uint dil_h, dil_w;
  uint pad_mode;        // 0 zero, 1 reflect, 2 circular
  uint has_bias;
  uint splits;
} p;

// The index padded coordinate I of an axis of SIZE reads, or -1 (a zero).
int pad_index (int i, int size)
{
  if (i >= 0 && i < size)
    return i;
  if (p.pad_mode == 1)
    return i < 0 ? -i : 2 * (size - 1) - i;
  if (p.pad_mode == 2)
    return i < 0 ? i + size : i - size;
  return -1;
}

#ifdef CONV_INPUT
// Input pixel (n, c) read by output (p, q) through tap (r, s), or 0; for
// shaders that bind the input as x.
float padded_input (uint n, uint c, uint op, uint oq, uint r, uint s)
{
  int h = pad_index (int (op * p.stride_h + r * p.dil_h) - int (p.pad_h), int (p.h));
  int w = pad_index (int (oq * p.stride_w + s * p.dil_w) - int (p.pad_w), int (p.w));
  return h < 0 || w < 0 ? 0.0 : x[((n * p.c + c) * p.h + uint (h)) * p.w + uint (w)];
}
#endif

// First index of slice I of COUNT items cut into SLICES.
uint slice_begin (uint i, uint count, uint slices)
{
  return i * (count / slices) + min (i, count % slices);
}
