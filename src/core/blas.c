/* The BLAS binding. OpenBLAS always runs on the calling thread; tc_gemm
 * splits a large product into blocks of rows (or columns) of C, one per pool
 * thread. Each element of C is computed by one BLAS call over the whole K,
 * so the result does not depend on the number of threads. */
#include "internal.h"

#include <cblas.h>

void tc_blas_single_thread(void) { openblas_set_num_threads(1); }

void tc_gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    tc_scalar alpha, const tc_scalar *a, int64_t lda,
                    const tc_scalar *b, int64_t ldb, tc_scalar beta,
                    tc_scalar *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    if (m == 1) {
        /* a row vector times a matrix: GEMV, which streams B once instead of
         * packing it (one-step RNN generation, batch-1 dense layers) */
#ifdef TC_DOUBLE
        cblas_dgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (blasint)(trans_b ? n : k), (blasint)(trans_b ? k : n),
                    alpha, b, (blasint)ldb, a, trans_a ? (blasint)lda : 1, beta, c, 1);
#else
        cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (blasint)(trans_b ? n : k), (blasint)(trans_b ? k : n),
                    alpha, b, (blasint)ldb, a, trans_a ? (blasint)lda : 1, beta, c, 1);
#endif
        return;
    }
#ifdef TC_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
#endif
}

typedef struct {
    bool ta, tb, split_rows;
    int64_t m, n, k, lda, ldb, ldc;
    tc_scalar alpha, beta;
    const tc_scalar *a, *b;
    tc_scalar *c;
} gemm_job;

#define GEMM_BLOCK 16 /* split on whole register tiles */

static void gemm_range(void *ctx, int64_t begin, int64_t end)
{
    gemm_job *g = ctx;
    int64_t lo = begin * GEMM_BLOCK;
    int64_t hi = end * GEMM_BLOCK;
    if (g->split_rows) {
        if (hi > g->m) hi = g->m;
        const tc_scalar *a = g->ta ? g->a + lo : g->a + lo * g->lda;
        tc_gemm_serial(g->ta, g->tb, hi - lo, g->n, g->k, g->alpha, a, g->lda, g->b, g->ldb, g->beta,
                       g->c + lo * g->ldc, g->ldc);
    } else {
        if (hi > g->n) hi = g->n;
        const tc_scalar *b = g->tb ? g->b + lo * g->ldb : g->b + lo;
        tc_gemm_serial(g->ta, g->tb, g->m, hi - lo, g->k, g->alpha, g->a, g->lda, b, g->ldb, g->beta,
                       g->c + lo, g->ldc);
    }
}

void tc_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             tc_scalar alpha, const tc_scalar *a, int64_t lda,
             const tc_scalar *b, int64_t ldb, tc_scalar beta,
             tc_scalar *c, int64_t ldc)
{
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (flops < 4e6 || tc_num_threads() == 1) {
        tc_gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    gemm_job g = {trans_a, trans_b, m >= n, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c};
    int64_t blocks = ((g.split_rows ? m : n) + GEMM_BLOCK - 1) / GEMM_BLOCK;
    tc_parallel_for(blocks, 1, gemm_range, &g);
}
