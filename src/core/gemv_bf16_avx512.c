/* bf16-weight row-vector panel, weights widened in registers (AVX-512F):
 * a bf16 is the top half of a float, so the even row of each lane is the
 * lane shifted left by 16 and the odd row the lane with its low half
 * cleared. Memory-bound like the float kernel, on half the bytes. */
#include "gemv_bf16.h"

#include <immintrin.h>

#define PANEL 64

void tc_gemv_bf16_panel_avx512(const uint16_t *w, const float *x, int64_t k, float *y)
{
    __m512 a[4];
    for (int c = 0; c < 4; c++) a[c] = _mm512_setzero_ps();
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    int64_t r = 0;
    for (; r + 1 < k; r += 2, w += 2 * PANEL) {
        __m512 x0 = _mm512_set1_ps(x[r]), x1 = _mm512_set1_ps(x[r + 1]);
        for (int c = 0; c < 4; c++) {
            __m512i v = _mm512_load_si512((const void *)(w + 32 * c));
            a[c] = _mm512_fmadd_ps(x0, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), a[c]);
            a[c] = _mm512_fmadd_ps(x1, _mm512_castsi512_ps(_mm512_and_si512(v, hi)), a[c]);
        }
    }
    if (r < k) { /* odd K: the last pair's second row is padding */
        __m512 x0 = _mm512_set1_ps(x[r]);
        for (int c = 0; c < 4; c++) {
            __m512i v = _mm512_load_si512((const void *)(w + 32 * c));
            a[c] = _mm512_fmadd_ps(x0, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), a[c]);
        }
    }
    /* lanes hold columns 0..15 of each 32-element group in order */
    for (int c = 0; c < 4; c++) _mm512_storeu_ps(y + 16 * c, a[c]);
}
