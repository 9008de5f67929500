/* bf16-weight row-vector panel for AVX2 + FMA: the AVX-512F kernel's sums
 * (gemv_bf16_avx512.c) on 256-bit registers. A 32-byte load is 8 columns
 * of a row pair; the even row is each 32-bit lane shifted left by 16, the
 * odd row the lane with its low half cleared. Eight named accumulators
 * hold the panel's 64 outputs over the whole K (the plain C loop this
 * replaces ran scalar in the baseline x86-64 build, ~10x slower). */
#include "gemv_bf16.h"

#include <immintrin.h>

#define PANEL 64

#define EVEN(v) _mm256_castsi256_ps(_mm256_slli_epi32((v), 16))
#define ODD(v) _mm256_castsi256_ps(_mm256_and_si256((v), hi))
#define LD(c) _mm256_load_si256((const __m256i *)(w + 16 * (c)))
/* row r then row r + 1 into sum c: row order, as the other kernels */
#define PAIR(c) a##c = _mm256_fmadd_ps(x1, ODD(v##c), _mm256_fmadd_ps(x0, EVEN(v##c), a##c))
#define LAST(c) a##c = _mm256_fmadd_ps(x0, EVEN(LD(c)), a##c)

void tc_gemv_bf16_panel_avx2(const uint16_t *w, const float *x, int64_t k, float *y)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
    int64_t r = 0;
    for (; r + 1 < k; r += 2, w += 2 * PANEL) {
        __m256 x0 = _mm256_set1_ps(x[r]), x1 = _mm256_set1_ps(x[r + 1]);
        __m256i v0 = LD(0), v1 = LD(1), v2 = LD(2), v3 = LD(3);
        PAIR(0), PAIR(1), PAIR(2), PAIR(3);
        __m256i v4 = LD(4), v5 = LD(5), v6 = LD(6), v7 = LD(7);
        PAIR(4), PAIR(5), PAIR(6), PAIR(7);
    }
    if (r < k) { /* odd K: the last pair's second row is padding */
        __m256 x0 = _mm256_set1_ps(x[r]);
        LAST(0), LAST(1), LAST(2), LAST(3), LAST(4), LAST(5), LAST(6), LAST(7);
    }
    /* lane l of sum c is column 8c + l */
    _mm256_storeu_ps(y, a0);
    _mm256_storeu_ps(y + 8, a1);
    _mm256_storeu_ps(y + 16, a2);
    _mm256_storeu_ps(y + 24, a3);
    _mm256_storeu_ps(y + 32, a4);
    _mm256_storeu_ps(y + 40, a5);
    _mm256_storeu_ps(y + 48, a6);
    _mm256_storeu_ps(y + 56, a7);
}
