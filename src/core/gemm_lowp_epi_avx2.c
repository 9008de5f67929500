/* The reduced-precision GEMM's epilogue (gemm_lowp.h) on AVX2 registers, 8
 * columns at a time (masked loads and stores at the edge): in scalar C it
 * was about a third of an int8 product on the AVX2 paths (as it was on
 * AVX-512, gemm_lowp_epi_avx512.c). The same formula and rounding steps as
 * the C and AVX-512 epilogues (separate multiplies and adds, no FMA), so
 * every path keeps the same bits:
 *   v = (alpha * sa[i]) * scale[j] * (float)(acc - zp[i] * colsum[j])   (int8)
 *   v = alpha * acc                                                      (bf16)
 *   c = (bias ? bias[j] : beta == 0 ? 0 : beta * c) + v. */
#include "gemm_lowp.h"

#include <immintrin.h>

static inline __m256 base_of(const float *bias, float beta, const float *c, __m256i m)
{
    if (bias) return _mm256_maskload_ps(bias, m);
    if (beta == 0) return _mm256_setzero_ps();
    return _mm256_mul_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(c, m));
}

void tc_lowp_epilogue_avx2(bool int8, const void *tile, int nr, int64_t h, int64_t w, const float *sa,
                           const int32_t *zp, const float *scale, const int32_t *colsum, float alpha,
                           const float *bias, float beta, float *c, int64_t ldc)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t i = 0; i < h; i++) {
        float *cr = c + i * ldc;
        const __m256 ra = _mm256_set1_ps(int8 ? alpha * sa[i] : alpha);
        const __m256i rz = _mm256_set1_epi32(int8 ? zp[i] : 0);
        for (int64_t j = 0; j < w; j += 8) {
            const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w - j < 8 ? w - j : 8)), lane);
            __m256 v;
            if (int8) {
                const __m256i acc = _mm256_sub_epi32(_mm256_maskload_epi32((const int *)tile + i * nr + j, m),
                                                     _mm256_mullo_epi32(rz, _mm256_maskload_epi32(colsum + j, m)));
                v = _mm256_mul_ps(_mm256_mul_ps(ra, _mm256_maskload_ps(scale + j, m)), _mm256_cvtepi32_ps(acc));
            } else {
                v = _mm256_mul_ps(ra, _mm256_maskload_ps((const float *)tile + i * nr + j, m));
            }
            const __m256 b = base_of(bias ? bias + j : NULL, beta, cr + j, m);
            _mm256_maskstore_ps(cr + j, m, _mm256_add_ps(b, v));
        }
    }
}
