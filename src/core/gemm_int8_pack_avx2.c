/* int8 GEMM: rows of A quantised to u8 and packed in AVX2 registers
 * (gemm_lowp.h has the arithmetic; the skeleton, shared with the AVX-512
 * version, is gemm_int8_pack.h). The same operations, in the same order, as
 * tc_lowp_quantize_row's scalar loop: the range with compares (exact,
 * whatever the order; vminps(v, lo) is v < lo ? v : lo, as the scalar
 * loop), then per value r = x * inv, r +/- 0.5, truncation, + zp, clamped
 * to 0..255; so the bytes are the scalar ones (test_lowp's reference
 * quantises with the scalar function). The scalar loop and its byte
 * scatter were about a fifth of an int8 product on the AVX2 paths. */
#include "gemm_int8_pack.h"
#include "gemm_lowp.h"

#include <immintrin.h>

/* lanes < n (0..8) set */
static inline __m256i first_lanes(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void row_range(const float *x, int64_t k, float *lo, float *hi)
{
    __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        const __m256 v = _mm256_loadu_ps(x + p);
        vlo = _mm256_min_ps(v, vlo);
        vhi = _mm256_max_ps(v, vhi);
    }
    if (p < k) {
        const __m256 v = _mm256_maskload_ps(x + p, first_lanes(k - p)); /* zeros past k: the range includes 0 anyway */
        vlo = _mm256_min_ps(v, vlo);
        vhi = _mm256_max_ps(v, vhi);
    }
    _Alignas(32) float l[8], h[8];
    _mm256_store_ps(l, vlo);
    _mm256_store_ps(h, vhi);
    tc_lowp_fold_range(l, h, 8, lo, hi);
}

/* 32 values from p -> 8 quads */
static inline __attribute__((always_inline)) void quads32(const float *x, int64_t k, int64_t p, float inv, int32_t z,
                                                          uint32_t *q)
{
    /* after packs_epi32 / packus_epi16 the 32-bit lanes hold quads 0 2 4 6 | 1 3 5 7 of the 32 values */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256 vinv = _mm256_set1_ps(inv), half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
    const __m256i vz = _mm256_set1_epi32(z), v0 = _mm256_setzero_si256(), v255 = _mm256_set1_epi32(255);
    __m256i qv[4];
    for (int g = 0; g < 4; g++) {
        const int64_t p0 = p + 8 * g;
        const int64_t n = k - p0 < 0 ? 0 : k - p0 < 8 ? k - p0 : 8;
        const __m256i m = first_lanes(n);
        const __m256 r = _mm256_mul_ps(_mm256_maskload_ps(x + (p0 < k ? p0 : 0), m), vinv);
        const __m256 t = _mm256_add_ps(r, _mm256_blendv_ps(half, mhalf, _mm256_cmp_ps(r, _mm256_setzero_ps(), _CMP_LT_OQ)));
        __m256i v = _mm256_add_epi32(_mm256_cvttps_epi32(t), vz);
        v = _mm256_min_epi32(_mm256_max_epi32(v, v0), v255);
        qv[g] = _mm256_and_si256(v, m); /* past k: 0, as the scalar packing */
    }
    /* 0..255 survive both saturating packs unchanged */
    const __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(qv[0], qv[1]), _mm256_packs_epi32(qv[2], qv[3]));
    _mm256_store_si256((__m256i *)q, _mm256_permutevar8x32_epi32(b, order));
}

void tc_lowp_int8_pack_a_avx2(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, int mr, uint32_t *d,
                              float *sa, int32_t *zp)
{
    tc_lowp_int8_pack_rows(a, lda, h, k, kp, mr, d, sa, zp, 8, row_range, quads32);
}
