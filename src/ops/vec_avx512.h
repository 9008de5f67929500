/* The float vector vocabulary of the ".inc" line kernels (conv_colsum.inc,
 * conv_depthwise_line.inc) for AVX-512F: 16 lanes, tails through mask
 * registers. Included by one ISA's .c file before its .inc. */
#ifndef TC_OPS_VEC_AVX512_H
#define TC_OPS_VEC_AVX512_H
#include <immintrin.h>

#define VW 16
#define VEC __m512
#define MASK_T __mmask16
#define TAIL(left) ((__mmask16)((1u << (left)) - 1))
#define LOADU(ptr) _mm512_loadu_ps(ptr)
#define STOREU(ptr, v) _mm512_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm512_maskz_loadu_ps(m, ptr)
#define STOREM(ptr, m, v) _mm512_mask_storeu_ps(ptr, m, v)
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SET0() _mm512_setzero_ps()
#define SET1(v) _mm512_set1_ps(v)
#define MAX(a, b) _mm512_max_ps(a, b)
#define MIN(a, b) _mm512_min_ps(a, b)
#define SUFFIX(name) name##_avx512
#endif
