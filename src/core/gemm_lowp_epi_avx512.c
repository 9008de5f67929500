/* The reduced-precision GEMM's epilogue (gemm_lowp.h) on AVX-512 registers,
 * 16 columns at a time (masked at the edge): done in scalar C it cost a
 * quarter of an int8 ResNet-50 and more than the products on MobileNet-v2's
 * 1x1 layers (K of 16 to 96). The same formula as the C epilogue:
 *   v = (alpha * sa[i]) * scale[j] * (float)(acc - zp[i] * colsum[j])   (int8)
 *   v = alpha * acc                                                      (bf16)
 *   c = (bias ? bias[j] : beta == 0 ? 0 : beta * c) + v. */
#include "gemm_lowp.h"

#include <immintrin.h>

static inline __m512 base_of(const float *bias, float beta, const float *c, __mmask16 m)
{
    if (bias) return _mm512_maskz_loadu_ps(m, bias);
    if (beta == 0) return _mm512_setzero_ps();
    return _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c));
}

void tc_lowp_epilogue_avx512(bool int8, const void *tile, int nr, int64_t h, int64_t w, const float *sa,
                             const int32_t *zp, const float *scale, const int32_t *colsum, float alpha,
                             const float *bias, float beta, float *c, int64_t ldc)
{
    for (int64_t i = 0; i < h; i++) {
        float *cr = c + i * ldc;
        const __m512 ra = _mm512_set1_ps(int8 ? alpha * sa[i] : alpha);
        const __m512i rz = _mm512_set1_epi32(int8 ? zp[i] : 0);
        for (int64_t j = 0; j < w; j += 16) {
            const __mmask16 m = (__mmask16)(w - j >= 16 ? 0xFFFF : (1u << (w - j)) - 1);
            __m512 v;
            if (int8) {
                const __m512i acc = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, (const int32_t *)tile + i * nr + j),
                                                     _mm512_mullo_epi32(rz, _mm512_maskz_loadu_epi32(m, colsum + j)));
                v = _mm512_mul_ps(_mm512_mul_ps(ra, _mm512_maskz_loadu_ps(m, scale + j)), _mm512_cvtepi32_ps(acc));
            } else {
                v = _mm512_mul_ps(ra, _mm512_maskz_loadu_ps(m, (const float *)tile + i * nr + j));
            }
            const __m512 b = base_of(bias ? bias + j : NULL, beta, cr + j, m);
            _mm512_mask_storeu_ps(cr + j, m, _mm512_add_ps(b, v));
        }
    }
}
