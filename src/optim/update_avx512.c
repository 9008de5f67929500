/* Adam and RMSprop for AVX-512: 16 elements per vector (update_simd.inc). */
#include "optim_internal.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

#define VW 16
#define VEC __m512
#define LOADU(ptr) _mm512_loadu_ps(ptr)
#define STOREU(ptr, v) _mm512_storeu_ps(ptr, v)
#define SET1(v) _mm512_set1_ps(v)
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define FNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define MUL(a, b) _mm512_mul_ps(a, b)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SUB(a, b) _mm512_sub_ps(a, b)
#define DIV(a, b) _mm512_div_ps(a, b)
#define SQRT(a) _mm512_sqrt_ps(a)
#define MIN(a, b) _mm512_min_ps(a, b)
#define MAX(a, b) _mm512_max_ps(a, b)
#define SUFFIX(name) name##_avx512
#include "update_simd.inc"
#endif
