/* bf16 GEMM tile with AVX512-BF16 (gemm_lowp.h): 12 x 32, each vdpbf16ps
 * lane adds a[2q] * b[2q][j] + a[2q+1] * b[2q+1][j] to its float sum, so one
 * step consumes a row pair: 2 loads of B, 12 broadcasts of A (already bf16
 * pairs), 24 vdpbf16ps. The 24 accumulators are named variables (an array
 * kept them on the stack in the bf16 GEMV, gemv_bf16_avx512bf16.c). */
#include "gemm_lowp.h"

#include <immintrin.h>

#define ROW(i, x0, x1)                                                  \
    do {                                                                \
        const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[i]);      \
        x0 = _mm512_dpbf16_ps(x0, x, b0);                               \
        x1 = _mm512_dpbf16_ps(x1, x, b1);                               \
    } while (0)

void tc_lowp_bf16_dot_avx512bf16(int64_t pairs, const uint32_t *a, const uint16_t *b, float *t)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00,
           c81 = c00, c90 = c00, c91 = c00, cA0 = c00, cA1 = c00, cB0 = c00, cB1 = c00;
    for (int64_t q = 0; q < pairs; q++, a += 12, b += 64) {
        _mm_prefetch((const char *)(b + 8 * 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * 64 + 32), _MM_HINT_T0);
        const __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)b);
        const __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + 32));
        ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21); ROW(3, c30, c31);
        ROW(4, c40, c41); ROW(5, c50, c51); ROW(6, c60, c61); ROW(7, c70, c71);
        ROW(8, c80, c81); ROW(9, c90, c91); ROW(10, cA0, cA1); ROW(11, cB0, cB1);
    }
    const __m512 acc[24] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
                            c60, c61, c70, c71, c80, c81, c90, c91, cA0, cA1, cB0, cB1};
    for (int r = 0; r < 24; r++) _mm512_store_ps(t + r * 16, acc[r]);
}

/* h rows of A (row stride lda, k contiguous floats each) rounded to bf16
 * pairs (vcvtne2ps2bf16: nearest even, as tc_lowp_bf16_bits) into
 * d[q * 12 + i], q < kp / 2; rows h..11 and pairs past k are zeros. */
void tc_lowp_bf16_pack_a_avx512bf16(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, uint32_t *d)
{
    const int64_t pairs = kp / 2;
    for (int64_t i = h; i < 12; i++)
        for (int64_t q = 0; q < pairs; q++) d[q * 12 + i] = 0;
    _Alignas(64) uint32_t tmp[16];
    for (int64_t i = 0; i < h; i++) {
        const float *row = a + i * lda;
        for (int64_t k0 = 0; k0 < k; k0 += 32) {
            const int64_t n = k - k0 < 32 ? k - k0 : 32;
            __m512 lo, hi;
            if (n == 32) {
                lo = _mm512_loadu_ps(row + k0), hi = _mm512_loadu_ps(row + k0 + 16);
            } else {
                const __mmask16 mlo = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
                const __mmask16 mhi = (__mmask16)(n <= 16 ? 0 : (1u << (n - 16)) - 1);
                lo = _mm512_maskz_loadu_ps(mlo, row + k0), hi = _mm512_maskz_loadu_ps(mhi, row + k0 + 16);
            }
            /* 32-bit lane t holds elements 2t (low half) and 2t + 1 */
            _mm512_store_si512((void *)tmp, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
            const int64_t np = (n + 1) / 2;
            uint32_t *dq = d + (k0 / 2) * 12 + i;
            for (int64_t t = 0; t < np; t++) dq[t * 12] = tmp[t];
        }
        for (int64_t q = (k + 1) / 2; q < pairs; q++) d[q * 12 + i] = 0;
    }
}
