// Shared by the pooling kernels: LoomPoolParams and the first maximum of a
// window (compute/ops/pool.h).  The includer binds the input as x.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params
{
  uint planes, h, w, p, q;
  uint kernel, stride, pad;
  uint max;
} p;

// Index inside plane BASE's input of window (op, oq)'s first maximum, or -1.
int window_argmax (uint base, uint op, uint oq)
{
  int best = -1;
  float top = 0.0;
  for (uint r = 0; r < p.kernel; r++)
    for (uint s = 0; s < p.kernel; s++)
      {
        int h = int (op * p.stride + r) - int (p.pad), w = int (oq * p.stride + s) - int (p.pad);
        if (h < 0 || w < 0 || h >= int (p.h) || w >= int (p.w))
          continue;
        float v = x[base + uint (h) * p.w + uint (w)];
        if (best < 0 || v > top)
          {
            best = h * int (p.w) + w;
            top = v;
          }
      }
  return best;
}
