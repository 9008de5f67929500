/* conv_thin_direct.h's kernels for AVX-512: forward tiles of 14 pixels x 32
 * output channels (28 accumulators of 32 zmm), kernel-gradient tiles of 14
 * taps x 32 channels, input-gradient tiles of 12 pixel-channels. */
#include "conv_thin_direct.h"

#ifndef TC_DOUBLE
#include <immintrin.h>
#include <stdbool.h>

#define VW 16
#define VEC __m512
#define MASK_T __mmask16
#define MASK_OF(n) ((__mmask16)((1u << (n)) - 1))
#define LOADU(ptr) _mm512_loadu_ps(ptr)
#define STOREU(ptr, v) _mm512_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm512_maskz_loadu_ps(m, ptr)
#define STOREM(ptr, m, v) _mm512_mask_storeu_ps(ptr, m, v)
#define BCAST(ptr) _mm512_set1_ps(*(ptr))
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SET0() _mm512_setzero_ps()
#define HSUM(v) _mm512_reduce_add_ps(v)
#define SUFFIX(name) name##_avx512
#define FWD_PIX 14
#define DW_TAPS 14
#define DX_PIX 12
#include "conv_thin_direct.inc"
#endif
