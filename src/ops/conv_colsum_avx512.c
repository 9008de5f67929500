/* conv_colsum.h's column sums for AVX-512 (16 columns per vector, the
 * column tail through masks). */
#include "conv_colsum.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

#define VW 16
#define VEC __m512
#define MASK_T __mmask16
#define TAIL(left) ((__mmask16)((1u << (left)) - 1))
#define LOADU(ptr) _mm512_loadu_ps(ptr)
#define STOREU(ptr, v) _mm512_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm512_maskz_loadu_ps(m, ptr)
#define STOREM(ptr, m, v) _mm512_mask_storeu_ps(ptr, m, v)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SUFFIX(name) name##_avx512
#include "conv_colsum.inc"
#endif
