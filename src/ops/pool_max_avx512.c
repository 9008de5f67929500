/* The max-pooling loops of pool_max.h for AVX-512: 16 channels per vector,
 * two vectors per step for independent compare/blend chains, the channel
 * tail through masks (masked lanes are never read or written). */
#include "pool_max.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

/* greater, or NaN: PyTorch's "val > max || isnan(val)" */
static inline __mmask16 takes(__m512 v, __m512 best)
{
    return _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

void tc_pool_max_fwd_avx512(TC_POOL_MAX_FWD_ARGS)
{
    int64_t c = 0;
    for (; c + 32 <= C; c += 32) {
        __m512 b0 = _mm512_loadu_ps(x + off[0] + c), b1 = _mm512_loadu_ps(x + off[0] + c + 16);
        __m512i i0 = _mm512_set1_epi32(tap[0]), i1 = i0;
        for (int64_t i = 1; i < n; i++) {
            __m512 v0 = _mm512_loadu_ps(x + off[i] + c), v1 = _mm512_loadu_ps(x + off[i] + c + 16);
            __mmask16 k0 = takes(v0, b0), k1 = takes(v1, b1);
            __m512i t = _mm512_set1_epi32(tap[i]);
            b0 = _mm512_mask_mov_ps(b0, k0, v0), b1 = _mm512_mask_mov_ps(b1, k1, v1);
            i0 = _mm512_mask_mov_epi32(i0, k0, t), i1 = _mm512_mask_mov_epi32(i1, k1, t);
        }
        _mm512_storeu_ps(y + c, b0);
        _mm512_storeu_ps(y + c + 16, b1);
        if (idx) {
            _mm_storeu_si128((__m128i *)(idx + c), _mm512_cvtepi32_epi8(i0));
            _mm_storeu_si128((__m128i *)(idx + c + 16), _mm512_cvtepi32_epi8(i1));
        }
    }
    for (; c < C; c += 16) {
        __mmask16 m = tail_mask(C - c);
        __m512 b = _mm512_maskz_loadu_ps(m, x + off[0] + c);
        __m512i bi = _mm512_set1_epi32(tap[0]);
        for (int64_t i = 1; i < n; i++) {
            __m512 v = _mm512_maskz_loadu_ps(m, x + off[i] + c);
            __mmask16 k = takes(v, b);
            b = _mm512_mask_mov_ps(b, k, v);
            bi = _mm512_mask_mov_epi32(bi, k, _mm512_set1_epi32(tap[i]));
        }
        _mm512_mask_storeu_ps(y + c, m, b);
        if (idx) _mm512_mask_cvtepi32_storeu_epi8(idx + c, m, bi);
    }
}

void tc_pool_max_gather_avx512(TC_POOL_MAX_GATHER_ARGS)
{
    int64_t c = 0;
    for (; c + 32 <= C; c += 32) {
        __m512 a0 = add ? _mm512_loadu_ps(gx + c) : _mm512_setzero_ps();
        __m512 a1 = add ? _mm512_loadu_ps(gx + c + 16) : _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *ix = idx + roff[i] + c;
            const float *gv = g + roff[i] + c;
            __m512i t = _mm512_set1_epi32(tap[i]);
            __mmask16 k0 = _mm512_cmpeq_epi32_mask(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)ix)), t);
            __mmask16 k1 = _mm512_cmpeq_epi32_mask(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ix + 16))), t);
            a0 = _mm512_mask_add_ps(a0, k0, a0, _mm512_loadu_ps(gv));
            a1 = _mm512_mask_add_ps(a1, k1, a1, _mm512_loadu_ps(gv + 16));
        }
        _mm512_storeu_ps(gx + c, a0);
        _mm512_storeu_ps(gx + c + 16, a1);
    }
    for (; c < C; c += 16) {
        __mmask16 m = tail_mask(C - c);
        __m512 a = add ? _mm512_maskz_loadu_ps(m, gx + c) : _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i++) {
            __m512i iv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, idx + roff[i] + c));
            __mmask16 k = _mm512_mask_cmpeq_epi32_mask(m, iv, _mm512_set1_epi32(tap[i]));
            a = _mm512_mask_add_ps(a, k, a, _mm512_maskz_loadu_ps(m, g + roff[i] + c));
        }
        _mm512_mask_storeu_ps(gx + c, m, a);
    }
}
#endif
