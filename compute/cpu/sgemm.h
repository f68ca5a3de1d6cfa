/* Single-precision GEMM for the CPU backend's kernels: OpenBLAS runs
 * single-threaded inside Loom's own pool (its idle workers would otherwise
 * spin beside our threads after every call and halve the loops between). */
#pragma once

#include "cpu/threads.h"

G_BEGIN_DECLS

/* C = alpha · op(A) · op(B) + beta · C, row-major, as cblas_sgemm: split
 * over THREADS along the longer side of C. */
void loom_sgemm (LoomThreads *threads, gboolean trans_a, gboolean trans_b,
                 int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);

G_END_DECLS
