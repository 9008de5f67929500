/* Adam and RMSprop for AVX2 + FMA: 8 elements per vector (update_simd.inc). */
#include "optim_internal.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

#define VW 8
#define VEC __m256
#define LOADU(ptr) _mm256_loadu_ps(ptr)
#define STOREU(ptr, v) _mm256_storeu_ps(ptr, v)
#define SET1(v) _mm256_set1_ps(v)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define FNMA(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define MUL(a, b) _mm256_mul_ps(a, b)
#define ADD(a, b) _mm256_add_ps(a, b)
#define SUB(a, b) _mm256_sub_ps(a, b)
#define DIV(a, b) _mm256_div_ps(a, b)
#define SQRT(a) _mm256_sqrt_ps(a)
#define MIN(a, b) _mm256_min_ps(a, b)
#define MAX(a, b) _mm256_max_ps(a, b)
#define SUFFIX(name) name##_avx2
#include "update_simd.inc"
#endif
