/* AVX-512 6 x 32 SGEMM micro-kernel: 12 zmm accumulators, per k step two
 * loads of B and six broadcasts of A (gemm_pack.c packs the panels). The k
 * loop is unrolled by four with the panels prefetched a few steps ahead
 * and C's tile prefetched before the loop. Each accumulator lane still sums
 * its products in k order, one FMA per step. */
#include "gemm_pack.h"

#include <immintrin.h>

#define STEP(q)                                                                                                  \
    do {                                                                                                         \
        const __m512 b0 = _mm512_load_ps(b + (q) * 32), b1 = _mm512_load_ps(b + (q) * 32 + 16);                 \
        const float *ap = a + (q) * 6;                                                                           \
        __m512 x;                                                                                                \
        x = _mm512_set1_ps(ap[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);        \
        x = _mm512_set1_ps(ap[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);        \
        x = _mm512_set1_ps(ap[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);        \
        x = _mm512_set1_ps(ap[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);        \
        x = _mm512_set1_ps(ap[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);        \
        x = _mm512_set1_ps(ap[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);        \
    } while (0)

void tc_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
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
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6 + 16), _MM_HINT_T0);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        a += 4 * 6;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP(0);
        a += 6;
        b += 32;
    }
    __m512 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 6; i++)
        for (int h = 0; h < 2; h++) {
            float *cp = c + i * ldc + h * 16;
            __m512 old = _mm512_loadu_ps(cp);
            if (first) old = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, old);
            _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, acc[i * 2 + h], old));
        }
}

/* The same tile with A read in place: six rows of a row-major A (k
 * contiguous, leading dimension lda) instead of a packed strip. For a
 * product with few columns (N = 64: each A strip served two tiles) packing
 * A cost a tenth of the time; here each broadcast reads row i's next value
 * itself. The FMAs, their order and the values are those of the packed
 * kernel on the strip pack_a would have made: the same bits. */
#define STEP_UA(q)                                                                                               \
    do {                                                                                                         \
        const __m512 b0 = _mm512_load_ps(b + (q) * 32), b1 = _mm512_load_ps(b + (q) * 32 + 16);                 \
        __m512 x;                                                                                                \
        x = _mm512_set1_ps(a0[q]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);        \
        x = _mm512_set1_ps(a1[q]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);        \
        x = _mm512_set1_ps(a2[q]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);        \
        x = _mm512_set1_ps(a3[q]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);        \
        x = _mm512_set1_ps(a4[q]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);        \
        x = _mm512_set1_ps(a5[q]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);        \
    } while (0)

void tc_sgemm_kernel_avx512_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float alpha, float beta, bool first)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    const float *a0 = a, *a1 = a + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),
           c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),
           c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),
           c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        STEP_UA(0);
        STEP_UA(1);
        STEP_UA(2);
        STEP_UA(3);
        a0 += 4, a1 += 4, a2 += 4, a3 += 4, a4 += 4, a5 += 4;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP_UA(0);
        a0++, a1++, a2++, a3++, a4++, a5++;
        b += 32;
    }
    __m512 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 6; i++)
        for (int h = 0; h < 2; h++) {
            float *cp = c + i * ldc + h * 16;
            __m512 old = _mm512_loadu_ps(cp);
            if (first) old = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, old);
            _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, acc[i * 2 + h], old));
        }
}

/* The same with op(A) = A^T read in place: k step p of the six rows is
 * the six contiguous floats at a + p * lda (the packed strip's layout, with
 * a stride of lda instead of 6), so the kernel gradient's P^T needs no
 * transposing copy. Same FMAs, order and values: the same bits. */
#define STEP_UAT(q)                                                                                              \
    do {                                                                                                         \
        const __m512 b0 = _mm512_load_ps(b + (q) * 32), b1 = _mm512_load_ps(b + (q) * 32 + 16);                 \
        const float *ap = a + (q) * lda;                                                                         \
        __m512 x;                                                                                                \
        x = _mm512_set1_ps(ap[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);        \
        x = _mm512_set1_ps(ap[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);        \
        x = _mm512_set1_ps(ap[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);        \
        x = _mm512_set1_ps(ap[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);        \
        x = _mm512_set1_ps(ap[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);        \
        x = _mm512_set1_ps(ap[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);        \
    } while (0)

void tc_sgemm_kernel_avx512_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
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
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 9 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 10 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 11 * lda), _MM_HINT_T0);
        STEP_UAT(0);
        STEP_UAT(1);
        STEP_UAT(2);
        STEP_UAT(3);
        a += 4 * lda;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP_UAT(0);
        a += lda;
        b += 32;
    }
    __m512 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 6; i++)
        for (int h = 0; h < 2; h++) {
            float *cp = c + i * ldc + h * 16;
            __m512 old = _mm512_loadu_ps(cp);
            if (first) old = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, old);
            _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, acc[i * 2 + h], old));
        }
}
