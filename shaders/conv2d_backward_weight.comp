#version 450
// Partial weight gradients, a split reduction: slice z of the N·P·Q output
// pixels gives ws[z] = Σ dy[n, k, p, q] · x_padded[n, c, …] as a K × (C·R·S)
// matrix; sum_slices adds the slices up.  Rows are output channels k,
// columns taps (c, r, s) in the layout of w, the reduction runs over the
// slice's pixels.
#extension GL_GOOGLE_include_directive : require

layout(std430, binding = 0) writeonly buffer WS { float ws[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };

#define CONV_INPUT
#include "conv.glsl"

// Reduction index t = n·P·Q + p·Q + q.
float load_a (uint k, uint t)
{
  uint n = t / (p.p * p.q), pq = t % (p.p * p.q);
  return dy[(n * p.k + k) * p.p * p.q + pq];
}
float load_b (uint t, uint col)
{
  uint n = t / (p.p * p.q), pq = t % (p.p * p.q);
  uint c = col / (p.r * p.s), r = col / p.s % p.r, s = col % p.s;
  return padded_input (n, c, pq / p.q, pq % p.q, r, s);
}
bool a_rows_contiguous () { return true; }
bool b_cols_contiguous () { return true; }

#include "tile.glsl"

void main ()
{
  const uint rows = p.k, cols = p.c * p.r * p.s, count = p.n * p.p * p.q;
  const uint tiles_m = (rows + TM - 1) / TM, tiles_n = (cols + TN - 1) / TN;

  for (uint split = gl_WorkGroupID.z; split < p.splits; split += gl_NumWorkGroups.z)
    for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
      for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
        {
          tile_multiply (tile_m, tile_n, rows, cols, slice_begin (split, count, p.splits),
                         slice_begin (split + 1, count, p.splits));
          for (uint i = 0; i < RM; i++)
            for (uint j = 0; j < RN; j++)
              {
                uint k = tile_row (tile_m, i), col = tile_col (tile_n, j);
                if (k < rows && col < cols)
                  ws[(split * rows + k) * cols + col] = acc[i][j];
              }
        }
}
