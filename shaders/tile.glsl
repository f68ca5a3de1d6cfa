// A register-blocked matrix-product tile, shared by the GEMM-shaped kernels
// (gemm, and convolutions as implicit GEMMs).
//
// The includer declares, before including this file:
//   float load_a (uint row, uint e);   element (row, e) of the left operand
//   float load_b (uint e, uint col);   element (e, col) of the right operand
//   bool  a_rows_contiguous ();        load_a is contiguous in e (else in row)
//   bool  b_cols_contiguous ();        load_b is contiguous in col (else in e)
// and then calls tile_accumulate for its tiles, reading the result in acc.
//
// A workgroup of WG_X × WG_Y invocations owns a (WG_Y·RM) × (WG_X·RN) tile;
// each invocation accumulates RM × RN outputs.  Its rows and columns are
// strided by WG_Y and WG_X, so neighbouring invocations read neighbouring
// columns (coalesced on GPUs, vector loads on lavapipe).  With SHARED, the
// reduction is walked in BK-deep slices staged in shared memory; without it
// every invocation reads its operands directly (better on CPU drivers).

layout(constant_id = 0) const uint WG_X = 16;
layout(constant_id = 1) const uint WG_Y = 16;
layout(constant_id = 2) const uint RM = 4;
layout(constant_id = 3) const uint RN = 4;
layout(constant_id = 4) const bool SHARED = true;
layout(constant_id = 5) const uint BK = 16;

layout(local_size_x_id = 0, local_size_y_id = 1) in;

const uint TM = WG_Y * RM;
const uint TN = WG_X * RN;

shared float a_tile[SHARED ? BK * TM : 1];   // [e][row]
shared float b_tile[SHARED ? BK * TN : 1];   // [e][col]

float acc[RM][RN];

uint tile_row (uint tile_m, uint i) { return tile_m * TM + gl_LocalInvocationID.y + i * WG_Y; }
uint tile_col (uint tile_n, uint j) { return tile_n * TN + gl_LocalInvocationID.x + j * WG_X; }

// acc = op(A)[tile rows, e_begin..e_end) · op(B)[e_begin..e_end, tile cols],
// for a ROWS × COLS result.  Out-of-range rows and columns are computed on
// clamped or zero data and must not be stored.
void tile_multiply (uint tile_m, uint tile_n, uint rows, uint cols, uint e_begin, uint e_end)
{
  for (uint i = 0; i < RM; i++)
    for (uint j = 0; j < RN; j++)
      acc[i][j] = 0.0;

  if (SHARED)
    {
      const uint n_threads = WG_X * WG_Y;
      const uint me = gl_LocalInvocationID.y * WG_X + gl_LocalInvocationID.x;
      const bool a_fast = a_rows_contiguous ();
      const bool b_fast = b_cols_contiguous ();

      for (uint e0 = e_begin; e0 < e_end; e0 += BK)
        {
          // Neighbouring invocations load neighbouring addresses.
          for (uint t = me; t < BK * TM; t += n_threads)
            {
              uint ee = a_fast ? t % BK : t / TM;
              uint mm = a_fast ? t / BK : t % TM;
              uint row = tile_m * TM + mm, e = e0 + ee;
              a_tile[ee * TM + mm] = (row < rows && e < e_end) ? load_a (row, e) : 0.0;
            }
          for (uint t = me; t < BK * TN; t += n_threads)
            {
              uint ee = b_fast ? t / TN : t % BK;
              uint nn = b_fast ? t % TN : t / BK;
              uint col = tile_n * TN + nn, e = e0 + ee;
              b_tile[ee * TN + nn] = (col < cols && e < e_end) ? load_b (e, col) : 0.0;
            }
          barrier ();
          for (uint ee = 0; ee < BK; ee++)
            {
              float av[RM], bv[RN];
              for (uint i = 0; i < RM; i++)
                av[i] = a_tile[ee * TM + gl_LocalInvocationID.y + i * WG_Y];
              for (uint j = 0; j < RN; j++)
                bv[j] = b_tile[ee * TN + gl_LocalInvocationID.x + j * WG_X];
              for (uint i = 0; i < RM; i++)
                for (uint j = 0; j < RN; j++)
                  acc[i][j] = fma (av[i], bv[j], acc[i][j]);
            }
          barrier ();
        }
    }
  else
    {
      // Clamp instead of branching; clamped results are never stored.
      uint r[RM], c[RN];
      for (uint i = 0; i < RM; i++)
        r[i] = min (tile_row (tile_m, i), rows - 1);
      for (uint j = 0; j < RN; j++)
        c[j] = min (tile_col (tile_n, j), cols - 1);
      for (uint e = e_begin; e < e_end; e++)
        {
          float av[RM], bv[RN];
          for (uint i = 0; i < RM; i++)
            av[i] = load_a (r[i], e);
          for (uint j = 0; j < RN; j++)
            bv[j] = load_b (e, c[j]);
          for (uint i = 0; i < RM; i++)
            for (uint j = 0; j < RN; j++)
              acc[i][j] = fma (av[i], bv[j], acc[i][j]);
        }
    }
}
