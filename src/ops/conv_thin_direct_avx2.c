/* conv_thin_direct.h's kernels for AVX2 + FMA (16 ymm registers): forward
 * tiles of 6 pixels x 16 output channels (12 accumulators), kernel-gradient
 * tiles of 6 taps x 16 channels, input-gradient tiles of 8 pixel-channels. */
#include "conv_thin_direct.h"

#ifndef TC_DOUBLE
#include <immintrin.h>
#include <stdbool.h>

/* the 8 lanes added pairwise in a fixed order */
static inline __attribute__((always_inline)) float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define VW 8
#define VEC __m256
#define MASK_T __m256i
#define MASK_OF(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADU(ptr) _mm256_loadu_ps(ptr)
#define STOREU(ptr, v) _mm256_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm256_maskload_ps(ptr, m)
#define STOREM(ptr, m, v) _mm256_maskstore_ps(ptr, m, v)
#define BCAST(ptr) _mm256_broadcast_ss(ptr)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ADD(a, b) _mm256_add_ps(a, b)
#define SET0() _mm256_setzero_ps()
#define HSUM(v) hsum256(v)
#define SUFFIX(name) name##_avx2
#define FWD_PIX 6
#define DW_TAPS 6
#define DX_PIX 8
#include "conv_thin_direct.inc"
#endif
