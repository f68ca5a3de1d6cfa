#include <cblas.h>

#include "cpu/sgemm.h"

typedef struct
{
  gboolean     trans_a, trans_b, by_columns;
  int          m, n, k;
  float        alpha, beta;
  const float *a, *b;
  float       *c;
  int          lda, ldb, ldc;
} SgemmJob;

/* Pieces [begin, end) of 16 rows or columns of C. */
static void
sgemm_pieces (gpointer data, gsize begin, gsize end)
{
  const SgemmJob *j = data;
  int first = (int) begin * 16, count;
  const float *a = j->a, *b = j->b;
  float *c = j->c;
  int m = j->m, n = j->n;

  if (j->by_columns)
    {
      count = MIN ((int) end * 16, j->n) - first;
      b += j->trans_b ? (gsize) first * j->ldb : (gsize) first;
      c += first;
      n = count;
    }
  else
    {
      count = MIN ((int) end * 16, j->m) - first;
      a += j->trans_a ? (gsize) first : (gsize) first * j->lda;
      c += (gsize) first * j->ldc;
      m = count;
    }
  cblas_sgemm (CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
               j->trans_b ? CblasTrans : CblasNoTrans, m, n, j->k, j->alpha, a, j->lda,
               b, j->ldb, j->beta, c, j->ldc);
}

void
loom_sgemm (LoomThreads *threads, gboolean trans_a, gboolean trans_b,
            int m, int n, int k, float alpha, const float *a, int lda,
            const float *b, int ldb, float beta, float *c, int ldc)
{
  SgemmJob job = { trans_a, trans_b, n >= m, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc };
  int side = job.by_columns ? n : m;
  /* Pieces under ~1 MFLOP cost more to hand out than they save. */
  gsize grain = MAX ((gsize) 1, ((gsize) 1 << 19) / MAX ((gsize) 16 * (job.by_columns ? m : n) * MAX (k, 1), 1));

  if (m <= 0 || n <= 0)
    return;
  loom_threads_parallel_for (threads, ((gsize) side + 15) / 16, grain, sgemm_pieces, &job);
}
