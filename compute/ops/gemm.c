/* C = alpha · op(A) · op(B) + beta · C, row-major, packed. */

#include "backend.h"
#include "cpu/sgemm.h"
#include "ops/params.h"
#include "ops/tile.h"
#include "gemm.spv.h"

enum { C_, A_, B_ };            /* binding order: output first */

static void
gemm_binding_lengths (const void *params, gsize *lengths)
{
  const LoomGemmParams *p = params;

  lengths[C_] = (gsize) p->m * p->n;
  lengths[A_] = (gsize) p->m * p->k;
  lengths[B_] = (gsize) p->k * p->n;
}

static void
gemm_reference (const void *params, float *const *b)
{
  const LoomGemmParams *p = params;

  for (gsize i = 0; i < p->m; i++)
    for (gsize j = 0; j < p->n; j++)
      {
        double sum = 0.0;
        float *c = &b[C_][i * p->n + j];

        for (gsize l = 0; l < p->k; l++)
          {
            float a = p->trans_a ? b[A_][l * p->m + i] : b[A_][i * p->k + l];
            float v = p->trans_b ? b[B_][j * p->k + l] : b[B_][l * p->n + j];

            sum += (double) a * v;
          }
        /* beta = 0 never reads C, which may hold NaN. */
        *c = (float) (p->alpha * sum + (p->beta != 0.0f ? (double) p->beta * *c : 0.0));
      }
}

static void
gemm_cpu (const void *params, float *const *b, LoomThreads *threads)
{
  const LoomGemmParams *p = params;

  loom_sgemm (threads, p->trans_a, p->trans_b, (int) p->m, (int) p->n, (int) p->k, p->alpha,
              b[A_], (int) MAX (1, p->trans_a ? p->m : p->k),
              b[B_], (int) MAX (1, p->trans_b ? p->k : p->n),
              p->beta, b[C_], (int) p->n);
}

guint
loom_tile_vk_spec (const LoomLimits *limits, guint32 *spec)
{
  /* 16×16 invocations.  CPU drivers: 8×8 outputs each (128×128 tiles),
   * everything in registers, since barriers cost them more than shared
   * memory saves (lavapipe, 1024³: 14.7 GFLOP/s against 8.1 for 4×4 and 4.2
   * with shared memory).  GPUs: 4×8 each (64×128 tiles), K staged in
   * 16-deep shared-memory slices (H100, 4096³: 23.3 TFLOP/s against 17.5
   * for 4×4 and 1.9 for 8×8; BK 8 ties, 32 loses). */
  spec[LOOM_TILE_WG_X] = 16;
  spec[LOOM_TILE_WG_Y] = 16;
  spec[LOOM_TILE_RM] = limits->cpu_like ? 8 : 4;
  spec[LOOM_TILE_RN] = 8;
  spec[LOOM_TILE_SHARED] = limits->cpu_like ? 0 : 1;
  spec[LOOM_TILE_BK] = 16;
  return LOOM_TILE_N_SPEC;
}

void
loom_tile_groups (guint32 rows, guint32 cols, guint32 depth, const guint32 *spec,
                  const LoomLimits *limits, guint32 *groups)
{
  guint32 tile_n = spec[LOOM_TILE_WG_X] * spec[LOOM_TILE_RN];
  guint32 tile_m = spec[LOOM_TILE_WG_Y] * spec[LOOM_TILE_RM];

  groups[0] = CLAMP ((cols + tile_n - 1) / tile_n, 1, limits->max_groups[0]);
  groups[1] = CLAMP ((rows + tile_m - 1) / tile_m, 1, limits->max_groups[1]);
  groups[2] = CLAMP (depth, 1, limits->max_groups[2]);
}

static void
gemm_vk_groups (const void *params, const guint32 *spec,
                const LoomLimits *limits, guint32 *groups)
{
  const LoomGemmParams *p = params;

  loom_tile_groups (p->m, p->n, 1, spec, limits, groups);
}

static double
gemm_flops (const void *params)
{
  const LoomGemmParams *p = params;

  return 2.0 * p->m * p->n * p->k;
}

static gboolean
gemm_test_case (guint index, GRand *rand, void *params)
{
  /* Odd shapes around the 64×64 tile and 16-deep K slices, degenerate ones,
   * and K past 1000. */
  static const guint32 shapes[][3] = {
    { 1, 1, 1 }, { 7, 13, 5 }, { 13, 7, 127 }, { 64, 64, 64 }, { 65, 63, 17 },
    { 127, 129, 13 }, { 1, 1029, 33 }, { 1000, 3, 17 }, { 33, 70, 1031 },
  };
  guint shape = index / 4, variant = index % 4;
  LoomGemmParams *p = params;

  if (shape >= G_N_ELEMENTS (shapes))
    return FALSE;
  p->m = shapes[shape][0];
  p->n = shapes[shape][1];
  p->k = shapes[shape][2];
  p->trans_a = variant & 1;
  p->trans_b = (variant >> 1) & 1;
  p->alpha = (float) g_rand_double_range (rand, -2.0, 2.0);
  p->beta = shape % 2 ? 0.0f : (float) g_rand_double_range (rand, -1.0, 1.0);
  return TRUE;
}

const LoomOp loom_op_gemm = {
  .name = "gemm",
  .n_bindings = 3,
  .read_mask = (1 << A_) | (1 << B_) | (1 << C_), /* C too, when beta ≠ 0 */
  .write_mask = 1 << C_,
  LOOM_OP_SHADER (gemm, LoomGemmParams),
  .tolerance = 1e-5,
  .binding_lengths = gemm_binding_lengths,
  .reference = gemm_reference,
  .cpu = gemm_cpu,
  .vk_spec = loom_tile_vk_spec,
  .vk_groups = gemm_vk_groups,
  .flops = gemm_flops,
  .test_case = gemm_test_case,
};

gboolean
loom_gemm (LoomBuffer *c, LoomBuffer *a, LoomBuffer *b,
           guint m, guint n, guint k, gboolean trans_a, gboolean trans_b,
           float alpha, float beta, GError **error)
{
  LoomGemmParams p = { m, n, k, !!trans_a, !!trans_b, alpha, beta };
  LoomSpan spans[3];

  g_return_val_if_fail (c != NULL && a != NULL && b != NULL, FALSE);
  spans[C_] = (LoomSpan) { c, 0, c->length };
  spans[A_] = (LoomSpan) { a, 0, a->length };
  spans[B_] = (LoomSpan) { b, 0, b->length };
  if (m == 0 || n == 0)
    return TRUE;
  return loom_op_run (&loom_op_gemm, &p, spans, error);
}
