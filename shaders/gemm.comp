#version 450
// C = alpha · op(A) · op(B) + beta · C (row-major, packed), tiled by tile.glsl.
#extension GL_GOOGLE_include_directive : require

layout(push_constant) uniform Params
{
  uint  m, n, k;
  uint  trans_a, trans_b;
  float alpha, beta;
} p;

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

float load_a (uint row, uint e)
{
  return p.trans_a != 0 ? a[e * p.m + row] : a[row * p.k + e];
}
float load_b (uint e, uint col)
{
  return p.trans_b != 0 ? b[col * p.k + e] : b[e * p.n + col];
}
bool a_rows_contiguous () { return p.trans_a == 0; }
bool b_cols_contiguous () { return p.trans_b == 0; }

#include "tile.glsl"

void main ()
{
  const uint tiles_n = (p.n + TN - 1) / TN;
  const uint tiles_m = (p.m + TM - 1) / TM;

  // Workgroups loop over tiles, so a capped grid still covers C.
  for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
    for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
      {
        if (SHARED)
          tile_multiply (tile_m, tile_n, p.m, p.n, 0, p.k);
        else
          {
            // tile.glsl's register path, with addresses hoisted out of the
            // K loop by hand (lavapipe, 1024³: 14.7 against 7.1 GFLOP/s).
            // Beware: private globals written at run time cost as much.
            const uint ars = p.trans_a != 0 ? 1 : p.k, aes = p.trans_a != 0 ? p.m : 1;
            const uint bes = p.trans_b != 0 ? 1 : p.n, bcs = p.trans_b != 0 ? p.k : 1;
            uint a_at[RM], b_at[RN];
            for (uint i = 0; i < RM; i++)
              {
                a_at[i] = min (tile_row (tile_m, i), p.m - 1) * ars;
                for (uint j = 0; j < RN; j++)
                  acc[i][j] = 0.0;
              }
            for (uint j = 0; j < RN; j++)
              b_at[j] = min (tile_col (tile_n, j), p.n - 1) * bcs;
            for (uint e = 0; e < p.k; e++)
              {
                float av[RM], bv[RN];
                for (uint i = 0; i < RM; i++)
                  av[i] = a[a_at[i] + e * aes];
                for (uint j = 0; j < RN; j++)
                  bv[j] = b[e * bes + b_at[j]];
                for (uint i = 0; i < RM; i++)
                  for (uint j = 0; j < RN; j++)
                    acc[i][j] = fma (av[i], bv[j], acc[i][j]);
              }
          }
        for (uint i = 0; i < RM; i++)
          for (uint j = 0; j < RN; j++)
            {
              uint row = tile_row (tile_m, i), col = tile_col (tile_n, j);
              if (row < p.m && col < p.n)
                {
                  uint at = row * p.n + col;
                  float v = p.alpha * acc[i][j];
                  // beta = 0 never reads C, which may hold NaN.
                  c[at] = p.beta != 0.0 ? fma (p.beta, c[at], v) : v;
                }
            }
      }
}
