/* tc_thin_gemm for AVX2 + FMA (conv_thin.h): register tiles of RB rows x NV
 * vectors of 8 columns, RB * NV = 12 accumulators (16 ymm registers); the
 * last vector of a column block is read and written through a mask. */
#include "conv_thin.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

static inline __attribute__((always_inline)) __m256 load(const float *p, bool full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

static inline __attribute__((always_inline)) void tile(int rb, int nv, int64_t K, const float *A, int64_t ars,
                                                       int64_t aks, const float *B, int64_t ldb, const float *bias,
                                                       bool accumulate, float *C, int64_t ldc, bool lastfull,
                                                       __m256i mask)
{
    __m256 acc[12];
#pragma GCC unroll 12
    for (int r = 0; r < rb; r++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            bool full = v < nv - 1 || lastfull;
            acc[r * nv + v] = bias         ? load(bias + 8 * v, full, mask)
                              : accumulate ? load(C + r * ldc + 8 * v, full, mask)
                                           : _mm256_setzero_ps();
        }
    for (int64_t k = 0; k < K; k++) {
        __m256 b[2];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) b[v] = load(B + k * ldb + 8 * v, v < nv - 1 || lastfull, mask);
        const float *a = A + k * aks;
#pragma GCC unroll 12
        for (int r = 0; r < rb; r++) {
            __m256 x = _mm256_broadcast_ss(a + r * ars);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[r * nv + v] = _mm256_fmadd_ps(x, b[v], acc[r * nv + v]);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < rb; r++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            if (v < nv - 1 || lastfull) _mm256_storeu_ps(C + r * ldc + 8 * v, acc[r * nv + v]);
            else _mm256_maskstore_ps(C + r * ldc + 8 * v, mask, acc[r * nv + v]);
        }
}

void tc_thin_gemm_avx2(TC_THIN_GEMM_ARGS)
{
    for (int64_t n0 = 0; n0 < N; n0 += 16) {
        int64_t cols = N - n0 < 16 ? N - n0 : 16;
        int nv = cols > 8 ? 2 : 1, tail = (int)(cols - 8 * (nv - 1));
        bool lastfull = tail == 8;
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const float *b = B + n0, *bi = bias ? bias + n0 : NULL;
        float *c = C + n0;
        int64_t m = 0;
        if (nv == 2) {
            for (; m + 6 <= M; m += 6) tile(6, 2, K, A + m * ars, ars, aks, b, ldb, bi, accumulate, c + m * ldc, ldc, lastfull, mask);
            for (; m < M; m++) tile(1, 2, K, A + m * ars, ars, aks, b, ldb, bi, accumulate, c + m * ldc, ldc, lastfull, mask);
        } else {
            for (; m + 12 <= M; m += 12) tile(12, 1, K, A + m * ars, ars, aks, b, ldb, bi, accumulate, c + m * ldc, ldc, lastfull, mask);
            for (; m < M; m++) tile(1, 1, K, A + m * ars, ars, aks, b, ldb, bi, accumulate, c + m * ldc, ldc, lastfull, mask);
        }
    }
}
#endif
