/* The max-pooling loops of pool_max.h for AVX2: 8 channels per vector, two
 * vectors per step for independent compare/blend chains, the channel tail
 * through masked loads and stores. */
#include "pool_max.h"

#ifndef TC_DOUBLE
#include <immintrin.h>
#include <string.h>

static inline __m256i tail_mask(int64_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? left : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* all-ones lanes where v is greater than best or NaN (PyTorch's rule) */
static inline __m256 takes(__m256 v, __m256 best)
{
    return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* the low byte of each of 8 int32 lanes, as 8 bytes */
static inline uint64_t low_bytes(__m256i v)
{
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i b = _mm256_shuffle_epi8(v, pick);
    return (uint64_t)(uint32_t)_mm256_extract_epi32(b, 0) | (uint64_t)(uint32_t)_mm256_extract_epi32(b, 4) << 32;
}

void tc_pool_max_fwd_avx2(TC_POOL_MAX_FWD_ARGS)
{
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) {
        __m256 b0 = _mm256_loadu_ps(x + off[0] + c), b1 = _mm256_loadu_ps(x + off[0] + c + 8);
        __m256 i0 = _mm256_castsi256_ps(_mm256_set1_epi32(tap[0])), i1 = i0;
        for (int64_t i = 1; i < n; i++) {
            __m256 v0 = _mm256_loadu_ps(x + off[i] + c), v1 = _mm256_loadu_ps(x + off[i] + c + 8);
            __m256 k0 = takes(v0, b0), k1 = takes(v1, b1), t = _mm256_castsi256_ps(_mm256_set1_epi32(tap[i]));
            b0 = _mm256_blendv_ps(b0, v0, k0), b1 = _mm256_blendv_ps(b1, v1, k1);
            i0 = _mm256_blendv_ps(i0, t, k0), i1 = _mm256_blendv_ps(i1, t, k1);
        }
        _mm256_storeu_ps(y + c, b0);
        _mm256_storeu_ps(y + c + 8, b1);
        if (idx) {
            uint64_t w0 = low_bytes(_mm256_castps_si256(i0)), w1 = low_bytes(_mm256_castps_si256(i1));
            memcpy(idx + c, &w0, 8);
            memcpy(idx + c + 8, &w1, 8);
        }
    }
    for (; c < C; c += 8) {
        __m256i m = tail_mask(C - c);
        __m256 b = _mm256_maskload_ps(x + off[0] + c, m);
        __m256 bi = _mm256_castsi256_ps(_mm256_set1_epi32(tap[0]));
        for (int64_t i = 1; i < n; i++) {
            __m256 v = _mm256_maskload_ps(x + off[i] + c, m), k = takes(v, b);
            b = _mm256_blendv_ps(b, v, k);
            bi = _mm256_blendv_ps(bi, _mm256_castsi256_ps(_mm256_set1_epi32(tap[i])), k);
        }
        _mm256_maskstore_ps(y + c, m, b);
        if (idx) {
            uint64_t w = low_bytes(_mm256_castps_si256(bi));
            memcpy(idx + c, &w, (size_t)(C - c < 8 ? C - c : 8));
        }
    }
}

void tc_pool_max_gather_avx2(TC_POOL_MAX_GATHER_ARGS)
{
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) { /* two vectors per step: two independent add chains */
        __m256 a0 = add ? _mm256_loadu_ps(gx + c) : _mm256_setzero_ps();
        __m256 a1 = add ? _mm256_loadu_ps(gx + c + 8) : _mm256_setzero_ps();
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *ix = idx + roff[i] + c;
            const float *gv = g + roff[i] + c;
            __m256i t = _mm256_set1_epi32(tap[i]);
            __m128i b = _mm_loadu_si128((const __m128i *)ix);
            __m256 k0 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(b), t));
            __m256 k1 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)), t));
            /* a blend, not a + (k & g): an existing -0 must stay -0 where nothing wins */
            a0 = _mm256_blendv_ps(a0, _mm256_add_ps(a0, _mm256_loadu_ps(gv)), k0);
            a1 = _mm256_blendv_ps(a1, _mm256_add_ps(a1, _mm256_loadu_ps(gv + 8)), k1);
        }
        _mm256_storeu_ps(gx + c, a0);
        _mm256_storeu_ps(gx + c + 8, a1);
    }
    for (; c < C; c += 8) {
        int64_t left = C - c < 8 ? C - c : 8;
        __m256i m = tail_mask(left);
        __m256 a = add ? _mm256_maskload_ps(gx + c, m) : _mm256_setzero_ps();
        for (int64_t i = 0; i < n; i++) {
            uint64_t w = 0;
            memcpy(&w, idx + roff[i] + c, (size_t)left);
            __m256i iv = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)w));
            __m256i k = _mm256_and_si256(m, _mm256_cmpeq_epi32(iv, _mm256_set1_epi32(tap[i])));
            a = _mm256_blendv_ps(a, _mm256_add_ps(a, _mm256_maskload_ps(g + roff[i] + c, m)), _mm256_castsi256_ps(k));
        }
        if (left == 8) _mm256_storeu_ps(gx + c, a);
        else _mm256_maskstore_ps(gx + c, m, a);
    }
}
#endif
