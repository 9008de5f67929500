/* tc_thin_gemm for AVX-512 (conv_thin.h): register tiles of RB rows x NV
 * vectors of 16 columns, RB * NV = 24 accumulators; the last vector of a
 * column block is masked, so any N works. */
#include "conv_thin.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

static inline __attribute__((always_inline)) void tile(int rb, int nv, int64_t K, const float *A, int64_t ars,
                                                       int64_t aks, const float *B, int64_t ldb, const float *bias,
                                                       bool accumulate, float *C, int64_t ldc, __mmask16 last)
{
    __m512 acc[24];
#pragma GCC unroll 24
    for (int r = 0; r < rb; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : 0xffff;
            acc[r * nv + v] = bias         ? _mm512_maskz_loadu_ps(m, bias + 16 * v)
                              : accumulate ? _mm512_maskz_loadu_ps(m, C + r * ldc + 16 * v)
                                           : _mm512_setzero_ps();
        }
    for (int64_t k = 0; k < K; k++) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) b[v] = _mm512_maskz_loadu_ps(v == nv - 1 ? last : 0xffff, B + k * ldb + 16 * v);
        const float *a = A + k * aks;
#pragma GCC unroll 24
        for (int r = 0; r < rb; r++) {
            __m512 x = _mm512_set1_ps(a[r * ars]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r * nv + v] = _mm512_fmadd_ps(x, b[v], acc[r * nv + v]);
        }
    }
#pragma GCC unroll 24
    for (int r = 0; r < rb; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(C + r * ldc + 16 * v, v == nv - 1 ? last : 0xffff, acc[r * nv + v]);
}

/* the row tails, as compile-time tile heights */
static void rest(int nv, int64_t rows, int64_t K, const float *A, int64_t ars, int64_t aks, const float *B, int64_t ldb,
                 const float *bias, bool accumulate, float *C, int64_t ldc, __mmask16 last)
{
    /* up to 23 rows left: peel tiles of 4, then 1 */
    int64_t m = 0;
    switch (nv) {
    case 1:
        for (; m + 4 <= rows; m += 4) tile(4, 1, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        for (; m < rows; m++) tile(1, 1, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        break;
    case 2:
        for (; m + 4 <= rows; m += 4) tile(4, 2, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        for (; m < rows; m++) tile(1, 2, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        break;
    case 3:
        for (; m + 4 <= rows; m += 4) tile(4, 3, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        for (; m < rows; m++) tile(1, 3, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        break;
    default:
        for (; m + 4 <= rows; m += 4) tile(4, 4, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        for (; m < rows; m++) tile(1, 4, K, A + m * ars, ars, aks, B, ldb, bias, accumulate, C + m * ldc, ldc, last);
        break;
    }
}

void tc_thin_gemm_avx512(TC_THIN_GEMM_ARGS)
{
    for (int64_t n0 = 0; n0 < N; n0 += 64) {
        int64_t cols = N - n0 < 64 ? N - n0 : 64;
        int nv = (int)((cols + 15) / 16);
        __mmask16 last = (__mmask16)(cols % 16 ? (1u << (cols % 16)) - 1 : 0xffff);
        const float *b = B + n0, *bi = bias ? bias + n0 : NULL;
        float *c = C + n0;
        int rb = 24 / nv;
        int64_t m = 0;
        for (; m + rb <= M; m += rb) {
            const float *a = A + m * ars;
            float *cm = c + m * ldc;
            switch (nv) {
            case 1: tile(24, 1, K, a, ars, aks, b, ldb, bi, accumulate, cm, ldc, last); break;
            case 2: tile(12, 2, K, a, ars, aks, b, ldb, bi, accumulate, cm, ldc, last); break;
            case 3: tile(8, 3, K, a, ars, aks, b, ldb, bi, accumulate, cm, ldc, last); break;
            default: tile(6, 4, K, a, ars, aks, b, ldb, bi, accumulate, cm, ldc, last); break;
            }
        }
        if (m < M) rest(nv, M - m, K, A + m * ars, ars, aks, b, ldb, bi, accumulate, c + m * ldc, ldc, last);
    }
}
#endif
