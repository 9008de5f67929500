/* The AVX-512 6 x 32 micro-kernel with B read in place: k step q's 32
 * values are the row b + q * ldb of a row-major op(B) (K x N, ldb = N: a
 * convolution's weights W [K, F]) instead of a packed KC x 32 strip.
 *
 * Why: a product with few rows (a 7x7 or 14x14 map at batch 1: M = 49 or
 * 196) uses each value of B only M times, so packing B (a read, a write and
 * a read back of all of W, 9.4 MB for ResNet's 3x3x512x512) cost a fifth of
 * the forward pass. Here the kernel streams W from memory once; the driver
 * (gemm_pack.c, run_part_few_rows) runs all of a part's M strips over one
 * KC x 32 block of B before the next, so the later strips find it in L1/L2.
 *
 * Bits: the FMAs, their order and their operands are those of
 * tc_sgemm_kernel_avx512 on the strip pack_b would have made (each
 * accumulator lane sums its kc products in k order, one FMA per step, then
 * C = alpha * acc + (first ? beta * C : C)): the same bits. */
#include "gemm_pack.h"

#include <immintrin.h>

/* rows of B prefetched ahead: the first M strip over a block reads it from
 * memory (a 2 KB stride for F = 512, which the hardware prefetchers follow
 * late), the later strips from L1/L2. 49 x 512 x 4608 (res5_3x3), time
 * against packing B whole, under load: 4-8 rows 0.77-0.78, 12 rows 0.80,
 * 24 rows 0.90 (further ahead evicts rows not yet used: they share a few
 * cache sets). */
#define B_AHEAD 8

#define STEP(q)                                                                                                  \
    do {                                                                                                         \
        const float *bq = b + (q) * ldb;                                                                         \
        const __m512 b0 = _mm512_loadu_ps(bq), b1 = _mm512_loadu_ps(bq + 16);                                   \
        const float *ap = a + (q) * 6;                                                                           \
        __m512 x;                                                                                                \
        x = _mm512_set1_ps(ap[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);       \
        x = _mm512_set1_ps(ap[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);       \
        x = _mm512_set1_ps(ap[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);       \
        x = _mm512_set1_ps(ap[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);       \
        x = _mm512_set1_ps(ap[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);       \
        x = _mm512_set1_ps(ap[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);       \
    } while (0)

void tc_sgemm_kernel_avx512_ub(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                               float alpha, float beta, bool first)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),
           c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),
           c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),
           c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 4; q++) {
            /* the row's first and last float: both lines of an unaligned row */
            const float *ahead = b + (B_AHEAD + q) * ldb;
            _mm_prefetch((const char *)ahead, _MM_HINT_T0);
            _mm_prefetch((const char *)(ahead + 31), _MM_HINT_T0);
        }
        _mm_prefetch((const char *)(a + 8 * 6), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6 + 16), _MM_HINT_T0);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        a += 4 * 6;
        b += 4 * ldb;
    }
    for (; p < kc; p++) {
        STEP(0);
        a += 6;
        b += ldb;
    }
    __m512 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 6; i++)
        for (int h = 0; h < 2; h++) {
            float *cp = c + i * ldc + h * 16;
            __m512 old = _mm512_loadu_ps(cp);
            if (first) old = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, old);
            _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, acc[i * 2 + h], old));
        }
}
