/* conv_colsum.h's column sums for AVX2 (8 columns per vector, the column
 * tail through masked loads and stores). */
#include "conv_colsum.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

#define VW 8
#define VEC __m256
#define MASK_T __m256i
#define TAIL(left) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADU(ptr) _mm256_loadu_ps(ptr)
#define STOREU(ptr, v) _mm256_storeu_ps(ptr, v)
#define LOADM(ptr, m) _mm256_maskload_ps(ptr, m)
#define STOREM(ptr, m, v) _mm256_maskstore_ps(ptr, m, v)
#define ADD(a, b) _mm256_add_ps(a, b)
#define SUFFIX(name) name##_avx2
#include "conv_colsum.inc"
#endif
