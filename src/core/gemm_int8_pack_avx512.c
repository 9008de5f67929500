/* int8 GEMM: rows of A quantised to u8 and packed in AVX-512 registers
 * (gemm_lowp.h has the arithmetic; the skeleton, shared with the AVX2
 * version, is gemm_int8_pack.h). The same operations, in the same order, as
 * tc_lowp_quantize_row's scalar loop: the range with compares (exact,
 * whatever the order), then per value r = x * inv, r +/- 0.5, truncation,
 * + zp, clamped to 0..255; so the packed bytes are the scalar ones
 * (test_lowp's reference quantises with the scalar function). The scalar
 * loop took about as long as the VNNI products on ResNet-50. */
#include "gemm_int8_pack.h"
#include "gemm_lowp.h"

#include <immintrin.h>

static inline __attribute__((always_inline)) void row_range(const float *x, int64_t k, float *lo, float *hi)
{
    __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
        const __m512 v = _mm512_loadu_ps(x + p);
        vlo = _mm512_min_ps(v, vlo); /* v < lo ? v : lo, as the scalar loop */
        vhi = _mm512_max_ps(v, vhi);
    }
    if (p < k) {
        const __mmask16 m = (__mmask16)((1u << (k - p)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + p); /* zeros past k: the range includes 0 anyway */
        vlo = _mm512_min_ps(v, vlo);
        vhi = _mm512_max_ps(v, vhi);
    }
    _Alignas(64) float l[16], h[16];
    _mm512_store_ps(l, vlo);
    _mm512_store_ps(h, vhi);
    tc_lowp_fold_range(l, h, 16, lo, hi);
}

/* 64 values from p -> 64 bytes = 16 quads */
static inline __attribute__((always_inline)) void quads64(const float *x, int64_t k, int64_t p, float inv, int32_t z,
                                                          uint32_t *q)
{
    const __m512 vinv = _mm512_set1_ps(inv), half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
    const __m512i vz = _mm512_set1_epi32(z), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
    for (int g = 0; g < 4; g++) {
        const int64_t p0 = p + 16 * g;
        const int64_t n = k - p0 < 0 ? 0 : k - p0 < 16 ? k - p0 : 16;
        const __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
        const __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + (p0 < k ? p0 : 0)), vinv);
        const __m512 t = _mm512_add_ps(r, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ), half, mhalf));
        __m512i qv = _mm512_add_epi32(_mm512_cvttps_epi32(t), vz);
        qv = _mm512_min_epi32(_mm512_max_epi32(qv, v0), v255);
        qv = _mm512_maskz_mov_epi32(m, qv); /* past k: 0, as the scalar packing */
        _mm_store_si128((__m128i *)(q + 4 * g), _mm512_cvtepi32_epi8(qv));
    }
}

void tc_lowp_int8_pack_a_avx512(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, int mr, uint32_t *d,
                                float *sa, int32_t *zp)
{
    tc_lowp_int8_pack_rows(a, lda, h, k, kp, mr, d, sa, zp, 16, row_range, quads64);
}
