/* bf16-weight GEMM tile on AVX-512F without BF16 (gemm_lowp.h): 8 x 32,
 * A kept float, each B row pair widened to float in registers (a bf16 is
 * the top half of a float: shift the low element up, mask the high one),
 * one FMA per row and element in k order. */
#include "gemm_lowp.h"

#include <immintrin.h>

#define ROW(i)                                                                 \
    do {                                                                       \
        const __m512 xe = _mm512_set1_ps(a[i]), xo = _mm512_set1_ps(a[8 + i]); \
        c##i##0 = _mm512_fmadd_ps(xe, e0, c##i##0);                            \
        c##i##1 = _mm512_fmadd_ps(xe, e1, c##i##1);                            \
        c##i##0 = _mm512_fmadd_ps(xo, o0, c##i##0);                            \
        c##i##1 = _mm512_fmadd_ps(xo, o1, c##i##1);                            \
    } while (0)

void tc_lowp_bf16_wide_avx512(int64_t pairs, const float *a, const uint16_t *b, float *t)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const __m512i himask = _mm512_set1_epi32((int)0xFFFF0000u);
    for (int64_t q = 0; q < pairs; q++, a += 16, b += 64) {
        const __m512i r0 = _mm512_load_si512((const void *)b), r1 = _mm512_load_si512((const void *)(b + 32));
        const __m512 e0 = _mm512_castsi512_ps(_mm512_slli_epi32(r0, 16));
        const __m512 e1 = _mm512_castsi512_ps(_mm512_slli_epi32(r1, 16));
        const __m512 o0 = _mm512_castsi512_ps(_mm512_and_si512(r0, himask));
        const __m512 o1 = _mm512_castsi512_ps(_mm512_and_si512(r1, himask));
        ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5); ROW(6); ROW(7);
    }
    const __m512 acc[16] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71};
    for (int r = 0; r < 16; r++) _mm512_store_ps(t + r * 16, acc[r]);
}
