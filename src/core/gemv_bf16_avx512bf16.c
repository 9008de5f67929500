/* bf16-weight row-vector panel with AVX512-BF16's vdpbf16ps: each lane adds
 * x[2i] * w[2i][j] + x[2i+1] * w[2i+1][j] with x rounded to bfloat16
 * (nearest even, vcvtne2ps2bf16, 32 rows at a time). */
#include "gemv_bf16.h"

#include <immintrin.h>
#include <string.h>

#define PANEL 64

void tc_gemv_bf16_panel_avx512bf16(const uint16_t *w, const float *x, int64_t k, float *y)
{
    __m512 a[4];
    for (int c = 0; c < 4; c++) a[c] = _mm512_setzero_ps();
    for (int64_t r0 = 0; r0 < k; r0 += 32) {
        float xs[32] = {0};
        int64_t n = k - r0 < 32 ? k - r0 : 32;
        memcpy(xs, x + r0, sizeof(float) * (size_t)n);
        uint32_t xb[16]; /* pair i: rows r0 + 2i (low half) and r0 + 2i + 1 */
        _mm512_storeu_si512((void *)xb, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(xs + 16), _mm512_loadu_ps(xs)));
        for (int64_t i = 0; i < (n + 1) / 2; i++, w += 2 * PANEL) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xb[i]);
            for (int c = 0; c < 4; c++)
                a[c] = _mm512_dpbf16_ps(a[c], xv, (__m512bh)_mm512_load_si512((const void *)(w + 32 * c)));
        }
    }
    for (int c = 0; c < 4; c++) _mm512_storeu_ps(y + 16 * c, a[c]);
}
