/* int8 GEMM tile with AVX-VNNI (VEX vpdpbusd on ymm; gemm_lowp.h): 6 x 16,
 * half a B strip per call, the same exact u8 x s8 -> int32 sums as the
 * AVX-512 kernel. */
#include "gemm_lowp.h"

#include <immintrin.h>

#define ROW(i, x0, x1)                                        \
    do {                                                      \
        const __m256i x = _mm256_set1_epi32((int)a[i]);       \
        x0 = _mm256_dpbusd_avx_epi32(x0, x, b0);              \
        x1 = _mm256_dpbusd_avx_epi32(x1, x, b1);              \
    } while (0)

void tc_lowp_int8_avxvnni(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t)
{
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t q = 0; q < quads; q++, a += 6, b += 128) {
        const __m256i b0 = _mm256_loadu_si256((const void *)b), b1 = _mm256_loadu_si256((const void *)(b + 32));
        ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21);
        ROW(3, c30, c31); ROW(4, c40, c41); ROW(5, c50, c51);
    }
    const __m256i acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int r = 0; r < 12; r++) _mm256_storeu_si256((void *)(t + r * 8), acc[r]);
}
