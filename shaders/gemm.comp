#version 450
// C = alpha · op(A) · op(B) + beta · C (row-major, packed), tiled.
//
// A workgroup of WG_X × WG_Y invocations owns a (WG_Y·RM) × (WG_X·RN) tile
// of C; each invocation accumulates RM × RN outputs in registers.  Its rows
// and columns are strided by WG_Y and WG_X, so neighbouring invocations read
// neighbouring columns of B (coalesced on GPUs, vector loads on lavapipe).
// With SHARED, K is walked in BK-deep slices staged in shared memory; without
// it every invocation reads A and B directly (better on CPU drivers).
// Workgroups loop over tiles, so a capped grid still covers C.

layout(constant_id = 0) const uint WG_X = 16;
layout(constant_id = 1) const uint WG_Y = 16;
layout(constant_id = 2) const uint RM = 4;
layout(constant_id = 3) const uint RN = 4;
layout(constant_id = 4) const bool SHARED = true;
layout(constant_id = 5) const uint BK = 16;

layout(local_size_x_id = 0, local_size_y_id = 1) in;

layout(push_constant) uniform Params
{
  uint  M, N, K;
  uint  trans_a, trans_b;
  float alpha, beta;
} p;

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

const uint TM = WG_Y * RM;
const uint TN = WG_X * RN;

shared float a_tile[SHARED ? BK * TM : 1];   // [k][m]
shared float b_tile[SHARED ? BK * TN : 1];   // [k][n]

// Element strides of op(A) (row, k) and op(B) (k, col): transposes cost no branch.
uint a_row_stride () { return p.trans_a != 0 ? 1 : p.K; }
uint a_k_stride () { return p.trans_a != 0 ? p.M : 1; }
uint b_k_stride () { return p.trans_b != 0 ? 1 : p.N; }
uint b_col_stride () { return p.trans_b != 0 ? p.K : 1; }

void main ()
{
  const uint tx = gl_LocalInvocationID.x;
  const uint ty = gl_LocalInvocationID.y;
  const uint tiles_n = (p.N + TN - 1) / TN;
  const uint tiles_m = (p.M + TM - 1) / TM;
  const uint ars = a_row_stride (), aks = a_k_stride ();
  const uint bks = b_k_stride (), bcs = b_col_stride ();

  for (uint tile_m = gl_WorkGroupID.y; tile_m < tiles_m; tile_m += gl_NumWorkGroups.y)
    for (uint tile_n = gl_WorkGroupID.x; tile_n < tiles_n; tile_n += gl_NumWorkGroups.x)
      {
        const uint row0 = tile_m * TM + ty;
        const uint col0 = tile_n * TN + tx;
        float acc[RM][RN];

        for (uint i = 0; i < RM; i++)
          for (uint j = 0; j < RN; j++)
            acc[i][j] = 0.0;

        if (SHARED)
          {
            const uint n_threads = WG_X * WG_Y;
            const uint me = ty * WG_X + tx;

            for (uint k0 = 0; k0 < p.K; k0 += BK)
              {
                // Out-of-range elements load as zero, so edges need no branches below.
                // Neighbouring invocations load neighbouring addresses
                // (coalesced) whichever way A and B are stored.
                for (uint e = me; e < BK * TM; e += n_threads)
                  {
                    uint kk = aks == 1 ? e % BK : e / TM;
                    uint mm = aks == 1 ? e / BK : e % TM;
                    uint row = tile_m * TM + mm, k = k0 + kk;
                    a_tile[kk * TM + mm] = (row < p.M && k < p.K) ? a[row * ars + k * aks] : 0.0;
                  }
                for (uint e = me; e < BK * TN; e += n_threads)
                  {
                    uint kk = bcs == 1 ? e / TN : e % BK;
                    uint nn = bcs == 1 ? e % TN : e / BK;
                    uint col = tile_n * TN + nn, k = k0 + kk;
                    b_tile[kk * TN + nn] = (col < p.N && k < p.K) ? b[k * bks + col * bcs] : 0.0;
                  }
                barrier ();
                for (uint kk = 0; kk < BK; kk++)
                  {
                    float av[RM], bv[RN];
                    for (uint i = 0; i < RM; i++)
                      av[i] = a_tile[kk * TM + ty + i * WG_Y];
                    for (uint j = 0; j < RN; j++)
                      bv[j] = b_tile[kk * TN + tx + j * WG_X];
                    for (uint i = 0; i < RM; i++)
                      for (uint j = 0; j < RN; j++)
                        acc[i][j] = fma (av[i], bv[j], acc[i][j]);
                  }
                barrier ();
              }
          }
        else
          {
            // Clamp indices instead of branching; clamped results are never stored.
            uint a_at[RM], b_at[RN];
            for (uint i = 0; i < RM; i++)
              a_at[i] = min (row0 + i * WG_Y, p.M - 1) * ars;
            for (uint j = 0; j < RN; j++)
              b_at[j] = min (col0 + j * WG_X, p.N - 1) * bcs;
            for (uint k = 0; k < p.K; k++)
              {
                float av[RM], bv[RN];
                for (uint i = 0; i < RM; i++)
                  av[i] = a[a_at[i] + k * aks];
                for (uint j = 0; j < RN; j++)
                  bv[j] = b[k * bks + b_at[j]];
                for (uint i = 0; i < RM; i++)
                  for (uint j = 0; j < RN; j++)
                    acc[i][j] = fma (av[i], bv[j], acc[i][j]);
              }
          }

        for (uint i = 0; i < RM; i++)
          {
            uint row = row0 + i * WG_Y;
            if (row >= p.M)
              break;
            for (uint j = 0; j < RN; j++)
              {
                uint col = col0 + j * WG_X;
                if (col >= p.N)
                  break;
                uint at = row * p.N + col;
                float v = p.alpha * acc[i][j];
                // beta = 0 never reads C, which may hold NaN.
                c[at] = p.beta != 0.0 ? fma (p.beta, c[at], v) : v;
              }
          }
      }
}
