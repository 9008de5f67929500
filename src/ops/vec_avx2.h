/* The float vector vocabulary of the ".inc" line kernels (conv_colsum.inc,
 * conv_depthwise_line.inc) for AVX2 + FMA: 8 lanes, tails through masked
 * loads and stores. Included by one ISA's .c file before its .inc, so every
 * kernel written once in the vocabulary is compiled per ISA. */
#ifndef TC_OPS_VEC_AVX2_H
#define TC_OPS_VEC_AVX2_H
#include <immintrin.h>

#define VW 8
#define VEC __m256
#define MASK_T __m256i
#define TAIL(left) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADU(ptr) _mm256_loadu_ps(ptr)
#define STOREU(ptr, v) _mm256_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm256_maskload_ps(ptr, m)
#define STOREM(ptr, m, v) _mm256_maskstore_ps(ptr, m, v)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ADD(a, b) _mm256_add_ps(a, b)
#define SET0() _mm256_setzero_ps()
#define SET1(v) _mm256_set1_ps(v)
#define MAX(a, b) _mm256_max_ps(a, b)
#define MIN(a, b) _mm256_min_ps(a, b)
#define SUFFIX(name) name##_avx2
#endif
