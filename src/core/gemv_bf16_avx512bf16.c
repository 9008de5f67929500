/* bf16-weight row-vector panel with AVX512-BF16's vdpbf16ps: each lane adds
 * x[2i] * w[2i][j] + x[2i+1] * w[2i+1][j] with x rounded to bfloat16
 * (nearest even, vcvtne2ps2bf16, 32 rows at a time).
 * The accumulators are named variables, not an array: with an array and a
 * loop over it GCC -O2 kept them on the stack, and the store-reload around
 * every vdpbf16ps made the loop latency-bound at about half the bandwidth.
 * A full block of 32 rows is loaded straight from x; only the last, short
 * one goes through masked loads (zeros past K). */
#include "gemv_bf16.h"

#include <immintrin.h>

#define PANEL 64

void tc_gemv_bf16_panel_avx512bf16(const uint16_t *w, const float *x, int64_t k, float *y)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t r0 = 0; r0 < k; r0 += 32) {
        int64_t n = k - r0 < 32 ? k - r0 : 32;
        __m512 lo, hi;
        if (n == 32) {
            lo = _mm512_loadu_ps(x + r0), hi = _mm512_loadu_ps(x + r0 + 16);
        } else {
            __mmask16 mlo = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
            __mmask16 mhi = (__mmask16)(n <= 16 ? 0 : (1u << (n - 16)) - 1);
            lo = _mm512_maskz_loadu_ps(mlo, x + r0), hi = _mm512_maskz_loadu_ps(mhi, x + r0 + 16);
        }
        /* pair i: rows r0 + 2i (low half) and r0 + 2i + 1 */
        _Alignas(64) uint32_t xb[16];
        _mm512_store_si512((void *)xb, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        for (int64_t i = 0; i < (n + 1) / 2; i++, w += 2 * PANEL) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xb[i]);
            a0 = _mm512_dpbf16_ps(a0, xv, (__m512bh)_mm512_load_si512((const void *)w));
            a1 = _mm512_dpbf16_ps(a1, xv, (__m512bh)_mm512_load_si512((const void *)(w + 32)));
            a2 = _mm512_dpbf16_ps(a2, xv, (__m512bh)_mm512_load_si512((const void *)(w + 64)));
            a3 = _mm512_dpbf16_ps(a3, xv, (__m512bh)_mm512_load_si512((const void *)(w + 96)));
        }
    }
    _mm512_storeu_ps(y, a0);
    _mm512_storeu_ps(y + 16, a1);
    _mm512_storeu_ps(y + 32, a2);
    _mm512_storeu_ps(y + 48, a3);
}
