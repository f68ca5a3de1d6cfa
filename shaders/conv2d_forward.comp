#version 450
// y = conv(x, w) + bias as an implicit GEMM: rows are output channels k,
// columns output pixels (n, p, q), the reduction runs over taps (r, s) and
// input channels c, in that order.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };

#define CONV_INPUT
#include "conv.glsl"

// Reduction index e = (r·S + s)·C + c.
float load_a (uint k, uint e)
{
  uint c = e % p.c, rs = e / p.c;
  return w[(k * p.c + c) * p.r * p.s + rs];
}
float load_b (uint e, uint col)
{
  uint c = e % p.c, rs = e / p.c, pq = col % (p.p * p.q);
  return padded_input (col / (p.p * p.q), c, pq / p.q, pq % p.q, rs / p.s, rs % p.s);
}
bool a_rows_contiguous () { return false; }
bool b_cols_contiguous () { return true; }

#include "tile.glsl"

// tile.glsl's register path written out for convolution (lavapipe): the
// tap (r, s) outside, input channels inside, so padding is resolved once per
// tap and column, and the inner loop is two strided loads and RM·RN fmas.
void direct_multiply (uint tile_m, uint tile_n, uint rows, uint cols)
{
  const uint hw = p.h * p.w, crs = p.c * p.r * p.s;
  uint w_at[RM], x_at[RN];
  int h0[RN], w0[RN];

  for (uint i = 0; i < RM; i++)
    {
      w_at[i] = min (tile_row (tile_m, i), rows - 1) * crs;
      for (uint j = 0; j < RN; j++)
        acc[i][j] = 0.0;
    }
  for (uint j = 0; j < RN; j++)
    {
      uint col = min (tile_col (tile_n, j), cols - 1);
      uint n = col / (p.p * p.q), pq = col % (p.p * p.q);
      x_at[j] = n * p.c * hw;
      h0[j] = int ((pq / p.q) * p.stride_h) - int (p.pad_h);
      w0[j] = int ((pq % p.q) * p.stride_w) - int (p.pad_w);
    }
  for (uint r = 0; r < p.r; r++)
    for (uint s = 0; s < p.s; s++)
      {
        uint at[RN];
        float keep[RN];   // 0 where the tap reads zero padding
        for (uint j = 0; j < RN; j++)
          {
            int h = pad_index (h0[j] + int (r * p.dil_h), int (p.h));
            int w = pad_index (w0[j] + int (s * p.dil_w), int (p.w));
            keep[j] = h < 0 || w < 0 ? 0.0 : 1.0;
            at[j] = x_at[j] + uint (max (h, 0)) * p.w + uint (max (w, 0));
          }
        uint tap = r * p.s + s;
        for (uint c = 0; c < p.c; c++)
          {
            float av[RM], bv[RN];
            for (uint i = 0; i < RM; i++)
              av[i] = w[w_at[i] + c * p.r * p.s + tap];
            for (uint j = 0; j < RN; j++)
              bv[j] = x[at[j] + c * hw] * keep[j];
            for (uint i = 0; i < RM; i++)
              for (uint j = 0; j < RN; j++)
                acc[i][j] = fma (av[i], bv[j], acc[i][j]);
          }
      }
}

void main ()
{
  const uint rows = p.k, cols = p.n * p.p * p.q, depth = p.c * p.r * p.s;
  const uint tiles_m = (rows + TM - 1) / TM, tiles_n = (cols + TN - 1) / TN;

  for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
    for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
      {
        if (SHARED)
          tile_multiply (tile_m, tile_n, rows, cols, 0, depth);
        else
          direct_multiply (tile_m, tile_n, rows, cols);
        for (uint i = 0; i < RM; i++)
          for (uint j = 0; j < RN; j++)
            {
              uint k = tile_row (tile_m, i), col = tile_col (tile_n, j);
              if (k < rows && col < cols)
                {
                  uint n = col / (p.p * p.q), pq = col % (p.p * p.q);
                  y[(n * p.k + k) * p.p * p.q + pq] = acc[i][j] + (p.has_bias != 0 ? bias[k] : 0.0);
                }
            }
      }
}
