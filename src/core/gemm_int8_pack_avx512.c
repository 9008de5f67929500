/* int8 GEMM: rows of A quantised to u8 and packed in AVX-512 registers
 * (gemm_lowp.h has the arithmetic). The same operations, in the same
 * order, as tc_lowp_quantize_row's scalar loop: the range with compares
 * (exact, whatever the order), then per value r = x * inv, r +/- 0.5,
 * truncation, + zp, clamped to 0..255; so the packed bytes are the scalar
 * ones (test_lowp's reference quantises with the scalar function). The
 * scalar loop took about as long as the VNNI products on ResNet-50. */
#include "gemm_lowp.h"

#include <immintrin.h>
#include <math.h>

static void row_range(const float *x, int64_t k, float *lo, float *hi)
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
    float a = 0, b = 0;
    for (int i = 0; i < 16; i++) {
        a = l[i] < a ? l[i] : a;
        b = h[i] > b ? h[i] : b;
    }
    *lo = a;
    *hi = b;
}

/* h rows (row stride lda, k contiguous floats) into d = [kp/4][mr] u8 quads;
 * sa[i], zp[i] per row; rows h..mr-1 zero with sa = zp = 0 */
void tc_lowp_int8_pack_a_avx512(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, int mr, uint32_t *d,
                                float *sa, int32_t *zp)
{
    const int64_t quads = kp / 4;
    for (int64_t i = h; i < mr; i++) {
        sa[i] = 0, zp[i] = 0;
        for (int64_t q = 0; q < quads; q++) d[q * mr + i] = 0;
    }
    _Alignas(64) uint32_t tmp[16];
    for (int64_t i = 0; i < h; i++) {
        const float *x = a + i * lda;
        float lo, hi;
        row_range(x, k, &lo, &hi);
        const float s = (hi - lo) / 255.0f;
        if (!(s > 0) || !isfinite(s)) {
            sa[i] = s > 0 ? s : 0, zp[i] = 0;
            for (int64_t q = 0; q < quads; q++) d[q * mr + i] = 0;
            continue;
        }
        const float inv = 1.0f / s, zr = -lo * inv;
        int32_t z = (int32_t)(zr + (zr < 0 ? -0.5f : 0.5f));
        z = z < 0 ? 0 : z > 255 ? 255 : z;
        sa[i] = s, zp[i] = z;
        const __m512 vinv = _mm512_set1_ps(inv), half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
        const __m512i vz = _mm512_set1_epi32(z), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
        for (int64_t p = 0; p < kp; p += 64) {
            /* 64 values -> 64 bytes = 16 quads */
            __m128i bytes[4];
            for (int g = 0; g < 4; g++) {
                const int64_t p0 = p + 16 * g;
                const int64_t n = k - p0 < 0 ? 0 : k - p0 < 16 ? k - p0 : 16;
                const __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
                const __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + (p0 < k ? p0 : 0)), vinv);
                const __m512 t = _mm512_add_ps(r, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ), half, mhalf));
                __m512i qv = _mm512_add_epi32(_mm512_cvttps_epi32(t), vz);
                qv = _mm512_min_epi32(_mm512_max_epi32(qv, v0), v255);
                qv = _mm512_maskz_mov_epi32(m, qv); /* past k: 0, as the scalar packing */
                bytes[g] = _mm512_cvtepi32_epi8(qv);
            }
            _mm_store_si128((__m128i *)tmp, bytes[0]);
            _mm_store_si128((__m128i *)(tmp + 4), bytes[1]);
            _mm_store_si128((__m128i *)(tmp + 8), bytes[2]);
            _mm_store_si128((__m128i *)(tmp + 12), bytes[3]);
            const int64_t nq = (kp - p) / 4 < 16 ? (kp - p) / 4 : 16;
            uint32_t *dq = d + (p / 4) * mr + i;
            for (int64_t q = 0; q < nq; q++) dq[q * mr] = tmp[q];
        }
    }
}
