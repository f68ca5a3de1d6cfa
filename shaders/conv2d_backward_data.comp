#version 450
// dx = ∂L/∂x as an implicit GEMM that gathers (no atomics): rows are input
// channels c, columns input pixels (n, h, w), the reduction runs over taps
// (r, s) and output channels k.  A padded position that mirrors or wraps
// onto (h, w) sends its gradient there too, so each pixel sums over every
// padded coordinate that reads it.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };

#include "conv.glsl"

// The padded coordinates (at most 3) of an axis of SIZE and padding PAD
// that read index I; returns how many.
uint preimages (int i, int size, int pad, out int at[3])
{
  uint n = 0;
  at[n++] = i;
  if (p.pad_mode == 1)
    {
      if (i > 0 && i <= pad)
        at[n++] = -i;
      if (i < size - 1 && i >= size - 1 - pad)
        at[n++] = 2 * (size - 1) - i;
    }
  else if (p.pad_mode == 2)
    {
      if (i >= size - pad)
        at[n++] = i - size;
      if (i < pad)
        at[n++] = i + size;
    }
  return n;
}

// Output index reached from padded coordinate AT through tap T, or -1.
int output_index (int at, uint t, uint dil, uint stride, uint pad, uint size)
{
  int v = at + int (pad) - int (t * dil);
  if (v < 0 || v % int (stride) != 0 || v / int (stride) >= int (size))
    return -1;
  return v / int (stride);
}

// Reduction index e = (r·S + s)·K + k.
float load_a (uint c, uint e)
{
  uint k = e % p.k, rs = e / p.k;
  return w[(k * p.c + c) * p.r * p.s + rs];
}
float load_b (uint e, uint col)
{
  uint k = e % p.k, rs = e / p.k, r = rs / p.s, s = rs % p.s;
  uint n = col / (p.h * p.w), hw = col % (p.h * p.w);
  int hs[3], ws[3];
  uint nh = preimages (int (hw / p.w), int (p.h), int (p.pad_h), hs);
  uint nw = preimages (int (hw % p.w), int (p.w), int (p.pad_w), ws);
  float sum = 0.0;
  for (uint a = 0; a < nh; a++)
    {
      int op = output_index (hs[a], r, p.dil_h, p.stride_h, p.pad_h, p.p);
      if (op < 0)
        continue;
      for (uint b = 0; b < nw; b++)
        {
          int oq = output_index (ws[b], s, p.dil_w, p.stride_w, p.pad_w, p.q);
          if (oq >= 0)
            sum += dy[((n * p.k + k) * p.p + uint (op)) * p.q + uint (oq)];
        }
    }
  return sum;
}
bool a_rows_contiguous () { return false; }
bool b_cols_contiguous () { return true; }

#include "tile.glsl"

void main ()
{
  const uint rows = p.c, cols = p.n * p.h * p.w, depth = p.k * p.r * p.s;
  const uint tiles_m = (rows + TM - 1) / TM, tiles_n = (cols + TN - 1) / TN;

  for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
    for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
      {
        tile_multiply (tile_m, tile_n, rows, cols, 0, depth);
        for (uint i = 0; i < RM; i++)
          for (uint j = 0; j < RN; j++)
            {
              uint c = tile_row (tile_m, i), col = tile_col (tile_n, j);
              if (c < rows && col < cols)
                {
                  uint n = col / (p.h * p.w), hw = col % (p.h * p.w);
                  dx[(n * p.c + c) * p.h * p.w + hw] = acc[i][j];
                }
            }
      }
}
