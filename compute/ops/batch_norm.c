#include <math.h>

#include "backend.h"
#include "ops/batch_norm.h"

void
loom_bn_vk_groups_each (const void *params, const guint32 *spec,
                        const LoomLimits *limits, guint32 *groups)
{
  const LoomBatchNormParams *p = params;

  groups[0] = loom_groups_1d ((gsize) p->n * p->c * p->hw, spec[0], limits);
  groups[1] = groups[2] = 1;
}

void
loom_bn_vk_groups_channel (const void *params, const guint32 *spec,
                           const LoomLimits *limits, guint32 *groups)
{
  groups[0] = CLAMP (((const LoomBatchNormParams *) params)->c, 1, limits->max_groups[0]);
  groups[1] = groups[2] = 1;
}

double
loom_bn_flops (const void *params)
{
  const LoomBatchNormParams *p = params;

  return 4.0 * p->n * p->c * p->hw;
}

gboolean
loom_bn_test_case (guint index, GRand *rand, void *params)
{
  static const guint32 cases[][3] = { { 2, 1, 1 }, { 2, 3, 7 }, { 4, 5, 100 }, { 1, 70, 33 },
                                      { 3, 2, 4099 } };
  LoomBatchNormParams *p = params;

  if (index >= G_N_ELEMENTS (cases))
    return FALSE;
  *p = (LoomBatchNormParams) { cases[index][0], cases[index][1], cases[index][2], 1e-5f, 0.1f };
  return TRUE;
}

void
loom_bn_positive (const LoomBatchNormParams *p, float *const *b, const int *variances)
{
  for (const int *v = variances; *v >= 0; v++)
    for (gsize c = 0; c < p->c; c++)
      b[*v][c] = 0.1f + fabsf (b[*v][c]);
}

void
loom_bn_cpu (LoomOpRange range, gsize count, const void *params, float *const *b,
             LoomThreads *threads)
{
  /* Per value, or per channel (each a long reduction). */
  loom_op_parallel (threads, count, count > ((const LoomBatchNormParams *) params)->c ? 4096 : 1,
                    range, params, b);
}

#define LANES 8
#define BLOCK 4096              /* values summed in float before going to double */

/* Each sum walks ROWS rows of N values, row i at offset i · STRIDE, and
 * moves its float lanes into double every BLOCK values or so, across rows
 * (a channel's rows of H·W may be short). */
double
loom_bn_sum (const float *v, gsize rows, gsize stride, gsize n)
{
  double total = 0.0;
  float acc[LANES] = { 0 };
  gsize held = 0;

  for (gsize r = 0; r < rows; r++)
    for (gsize b = 0; b < n; b += BLOCK)
      {
        const float *row = v + r * stride;
        gsize end = MIN (n, b + BLOCK), i = b;

        for (; i + LANES <= end; i += LANES)
          for (int j = 0; j < LANES; j++)
            acc[j] += row[i + j];
        for (; i < end; i++)
          acc[0] += row[i];
        held += end - b;
        if (held >= BLOCK || (r + 1 == rows && end == n))
          {
            for (int j = 0; j < LANES; j++)
              total += acc[j], acc[j] = 0.0f;
            held = 0;
          }
      }
  return total;
}

double
loom_bn_sum_sq_dev (const float *v, gsize rows, gsize stride, gsize n, float m)
{
  double total = 0.0;
  float acc[LANES] = { 0 };
  gsize held = 0;

  for (gsize r = 0; r < rows; r++)
    for (gsize b = 0; b < n; b += BLOCK)
      {
        const float *row = v + r * stride;
        gsize end = MIN (n, b + BLOCK), i = b;

        for (; i + LANES <= end; i += LANES)
          for (int j = 0; j < LANES; j++)
            acc[j] += (row[i + j] - m) * (row[i + j] - m);
        for (; i < end; i++)
          acc[0] += (row[i] - m) * (row[i] - m);
        held += end - b;
        if (held >= BLOCK || (r + 1 == rows && end == n))
          {
            for (int j = 0; j < LANES; j++)
              total += acc[j], acc[j] = 0.0f;
            held = 0;
          }
      }
  return total;
}

void
loom_bn_sum_grad (const float *dy, const float *x, gsize rows, gsize stride, gsize n, float m,
                  double *sum_dy, double *sum_dy_dev)
{
  float a1[LANES] = { 0 }, a2[LANES] = { 0 };
  gsize held = 0;

  for (gsize r = 0; r < rows; r++)
    for (gsize b = 0; b < n; b += BLOCK)
      {
        const float *g = dy + r * stride, *v = x + r * stride;
        gsize end = MIN (n, b + BLOCK), i = b;

        for (; i + LANES <= end; i += LANES)
          for (int j = 0; j < LANES; j++)
            {
              a1[j] += g[i + j];
              a2[j] += g[i + j] * (v[i + j] - m);
            }
        for (; i < end; i++)
          {
            a1[0] += g[i];
            a2[0] += g[i] * (v[i] - m);
          }
        held += end - b;
        if (held >= BLOCK || (r + 1 == rows && end == n))
          {
            for (int j = 0; j < LANES; j++)
              {
                *sum_dy += a1[j];
                *sum_dy_dev += a2[j];
                a1[j] = a2[j] = 0.0f;
              }
            held = 0;
          }
      }
}
