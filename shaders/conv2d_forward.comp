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

void main ()
{
  const uint rows = p.K, cols = p.N * p.P * p.Q, depth = p.C * p.R * p.S;
  const uint tiles_m = (rows + TM - 1) / TM, tiles_n = (cols + TN - 1) / TN;

  for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
    for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
      {
        tile_multiply (tile_m, tile_n, rows, cols, 0, depth);
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
