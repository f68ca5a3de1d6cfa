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
  uint c = e % p.C, rs = e / p.C;
  return w[(k * p.C + c) * p.R * p.S + rs];
}
float load_b (uint e, uint col)
{
  uint c = e % p.C, rs = e / p.C, pq = col % (p.P * p.Q);
  return padded_input (col / (p.P * p.Q), c, pq / p.Q, pq % p.Q, rs / p.S, rs % p.S);
}
bool a_rows_contiguous () { return false; }
bool b_cols_contiguous () { return true; }

#include "tile.glsl"

// tile.glsl's register path written out for convolution (lavapipe): the
// tap (r, s) outside, input channels inside, so padding is resolved once per
// tap and column, and the inner loop is two strided loads and RM·RN fmas.
void direct_multiply (uint tile_m, uint tile_n, uint rows, uint cols)
{
  const uint hw = p.H * p.W, crs = p.C * p.R * p.S;
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
      uint n = col / (p.P * p.Q), pq = col % (p.P * p.Q);
      x_at[j] = n * p.C * hw;
      h0[j] = int ((pq / p.Q) * p.stride_h) - int (p.pad_h);
      w0[j] = int ((pq % p.Q) * p.stride_w) - int (p.pad_w);
    }
  for (uint r = 0; r < p.R; r++)
    for (uint s = 0; s < p.S; s++)
      {
        uint at[RN];
        float keep[RN];   // 0 where the tap reads zero padding
        for (uint j = 0; j < RN; j++)
          {
            int h = pad_index (h0[j] + int (r * p.dil_h), int (p.H));
            int w = pad_index (w0[j] + int (s * p.dil_w), int (p.W));
            keep[j] = h < 0 || w < 0 ? 0.0 : 1.0;
            at[j] = x_at[j] + uint (max (h, 0)) * p.W + uint (max (w, 0));
          }
        uint tap = r * p.S + s;
        for (uint c = 0; c < p.C; c++)
          {
            float av[RM], bv[RN];
            for (uint i = 0; i < RM; i++)
              av[i] = w[w_at[i] + c * p.R * p.S + tap];
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
  const uint rows = p.K, cols = p.N * p.P * p.Q, depth = p.C * p.R * p.S;
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
                  uint n = col / (p.P * p.Q), pq = col % (p.P * p.Q);
                  y[(n * p.K + k) * p.P * p.Q + pq] = acc[i][j] + (p.has_bias != 0 ? bias[k] : 0.0);
                }
            }
      }
}
