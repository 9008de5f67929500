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

/* Full vectors are read, added to under the mask and written whole (the
 * lanes that did not win are written back unchanged; they belong to this
 * call's channels): a masked store would stall the next output's load of
 * the same cells (no store forwarding) when windows overlap. */
void tc_pool_max_bwd_avx512(TC_POOL_MAX_BWD_ARGS)
{
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) {
        __m512 gv = _mm512_loadu_ps(g + c);
        __m512i iv = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(idx + c)));
        for (int64_t i = 0; i < n; i++) {
            __mmask16 k = _mm512_cmpeq_epi32_mask(iv, _mm512_set1_epi32(tap[i]));
            if (!k) continue;
            float *d = gx + off[i] + c;
            __m512 dv = _mm512_loadu_ps(d);
            _mm512_storeu_ps(d, _mm512_mask_add_ps(dv, k, dv, gv));
        }
    }
    if (c < C) {
        __mmask16 m = tail_mask(C - c);
        __m512 gv = _mm512_maskz_loadu_ps(m, g + c);
        __m512i iv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, idx + c));
        for (int64_t i = 0; i < n; i++) {
            __mmask16 k = _mm512_mask_cmpeq_epi32_mask(m, iv, _mm512_set1_epi32(tap[i]));
            if (!k) continue;
            float *d = gx + off[i] + c;
            _mm512_mask_storeu_ps(d, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, d), gv));
        }
    }
}
#endif
