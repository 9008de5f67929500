/* int8 GEMM tile with AVX512-VNNI (gemm_lowp.h): 12 x 32, each vpdpbusd
 * lane adds the four products u8 a[4q..4q+3] * s8 b[4q..4q+3][j] to its
 * int32 sum (exact: no saturation in the non-"s" form, and the sums stay
 * below 2^31 for the K the panel allows). 2 loads of B, 12 broadcasts of
 * A, 24 vpdpbusd per step of four rows of K. */
#include "gemm_lowp.h"

#include <immintrin.h>

#define ROW(i, x0, x1)                                          \
    do {                                                        \
        const __m512i x = _mm512_set1_epi32((int)a[i]);         \
        x0 = _mm512_dpbusd_epi32(x0, x, b0);                    \
        x1 = _mm512_dpbusd_epi32(x1, x, b1);                    \
    } while (0)

void tc_lowp_int8_avx512vnni(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t)
{
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00,
            c80 = c00, c81 = c00, c90 = c00, c91 = c00, cA0 = c00, cA1 = c00, cB0 = c00, cB1 = c00;
    for (int64_t q = 0; q < quads; q++, a += 12, b += 128) {
        _mm_prefetch((const char *)(b + 8 * 128), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * 128 + 64), _MM_HINT_T0);
        const __m512i b0 = _mm512_load_si512((const void *)b), b1 = _mm512_load_si512((const void *)(b + 64));
        ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21); ROW(3, c30, c31);
        ROW(4, c40, c41); ROW(5, c50, c51); ROW(6, c60, c61); ROW(7, c70, c71);
        ROW(8, c80, c81); ROW(9, c90, c91); ROW(10, cA0, cA1); ROW(11, cB0, cB1);
    }
    const __m512i acc[24] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
                             c60, c61, c70, c71, c80, c81, c90, c91, cA0, cA1, cB0, cB1};
    for (int r = 0; r < 24; r++) _mm512_store_si512((void *)(t + r * 16), acc[r]);
}
