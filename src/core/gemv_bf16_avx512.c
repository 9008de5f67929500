/* bf16-weight row-vector panel, weights widened in registers (AVX-512F):
 * a bf16 is the top half of a float, so the even row of each lane is the
 * lane shifted left by 16 and the odd row the lane with its low half
 * cleared. Memory-bound like the float kernel, on half the bytes.
 * The four accumulators are named variables, not an array: with an array
 * and a loop over it GCC -O2 kept them on the stack, a store and a reload
 * around every FMA, which made this loop latency-bound at half the speed. */
#include "gemv_bf16.h"

#include <immintrin.h>

#define PANEL 64

#define EVEN(v) _mm512_castsi512_ps(_mm512_slli_epi32((v), 16))
#define ODD(v) _mm512_castsi512_ps(_mm512_and_si512((v), hi))

void tc_gemv_bf16_panel_avx512(const uint16_t *w, const float *x, int64_t k, float *y)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    int64_t r = 0;
    for (; r + 1 < k; r += 2, w += 2 * PANEL) {
        __m512 x0 = _mm512_set1_ps(x[r]), x1 = _mm512_set1_ps(x[r + 1]);
        __m512i v0 = _mm512_load_si512((const void *)w), v1 = _mm512_load_si512((const void *)(w + 32));
        __m512i v2 = _mm512_load_si512((const void *)(w + 64)), v3 = _mm512_load_si512((const void *)(w + 96));
        /* row r then row r + 1 into each sum: row order, as the plain C path */
        a0 = _mm512_fmadd_ps(x1, ODD(v0), _mm512_fmadd_ps(x0, EVEN(v0), a0));
        a1 = _mm512_fmadd_ps(x1, ODD(v1), _mm512_fmadd_ps(x0, EVEN(v1), a1));
        a2 = _mm512_fmadd_ps(x1, ODD(v2), _mm512_fmadd_ps(x0, EVEN(v2), a2));
        a3 = _mm512_fmadd_ps(x1, ODD(v3), _mm512_fmadd_ps(x0, EVEN(v3), a3));
    }
    if (r < k) { /* odd K: the last pair's second row is padding */
        __m512 x0 = _mm512_set1_ps(x[r]);
        a0 = _mm512_fmadd_ps(x0, EVEN(_mm512_load_si512((const void *)w)), a0);
        a1 = _mm512_fmadd_ps(x0, EVEN(_mm512_load_si512((const void *)(w + 32))), a1);
        a2 = _mm512_fmadd_ps(x0, EVEN(_mm512_load_si512((const void *)(w + 64))), a2);
        a3 = _mm512_fmadd_ps(x0, EVEN(_mm512_load_si512((const void *)(w + 96))), a3);
    }
    /* lanes hold columns 0..15 of each 32-element group in order */
    _mm512_storeu_ps(y, a0);
    _mm512_storeu_ps(y + 16, a1);
    _mm512_storeu_ps(y + 32, a2);
    _mm512_storeu_ps(y + 48, a3);
}
