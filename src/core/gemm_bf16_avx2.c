/* bf16-weight GEMM tile on AVX2 + FMA (gemm_lowp.h): 4 x 16 (half a B
 * strip per call), A kept float, each B row pair widened to float in
 * registers, one FMA per row and element in k order. */
#include "gemm_lowp.h"

#include <immintrin.h>

#define ROW(i)                                                                 \
    do {                                                                       \
        const __m256 xe = _mm256_set1_ps(a[i]), xo = _mm256_set1_ps(a[4 + i]); \
        c##i##0 = _mm256_fmadd_ps(xe, e0, c##i##0);                            \
        c##i##1 = _mm256_fmadd_ps(xe, e1, c##i##1);                            \
        c##i##0 = _mm256_fmadd_ps(xo, o0, c##i##0);                            \
        c##i##1 = _mm256_fmadd_ps(xo, o1, c##i##1);                            \
    } while (0)

void tc_lowp_bf16_wide_avx2(int64_t pairs, const float *a, const uint16_t *b, float *t)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const __m256i himask = _mm256_set1_epi32((int)0xFFFF0000u);
    for (int64_t q = 0; q < pairs; q++, a += 8, b += 64) {
        const __m256i r0 = _mm256_loadu_si256((const void *)b), r1 = _mm256_loadu_si256((const void *)(b + 16));
        const __m256 e0 = _mm256_castsi256_ps(_mm256_slli_epi32(r0, 16));
        const __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(r1, 16));
        const __m256 o0 = _mm256_castsi256_ps(_mm256_and_si256(r0, himask));
        const __m256 o1 = _mm256_castsi256_ps(_mm256_and_si256(r1, himask));
        ROW(0); ROW(1); ROW(2); ROW(3);
    }
    const __m256 acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
    for (int r = 0; r < 8; r++) _mm256_storeu_ps(t + r * 8, acc[r]);
}
