/* AVX-512 6 x 32 SGEMM micro-kernel: 12 zmm accumulators, per k step two
 * loads of B and six broadcasts of A (gemm_pack.c packs the panels). The k
 * loop is unrolled by four with the panels prefetched a few steps ahead
 * and C's tile prefetched before the loop. Each accumulator lane still sums
 * its products in k order, one FMA per step. */
#include "gemm_pack.h"

#include <immintrin.h>

/* One k step of the 6 x 32 tile: B's two vectors of step q, then row i's
 * value of step q, A_AT(i, q), broadcast into both of row i's accumulators
 * (A_BASE(q) declares what A_AT reads). The three kernels below differ only
 * in where A_AT reads. */
#define STEP_WITH(q, A_BASE, A_AT)                                                                               \
    do {                                                                                                         \
        const __m512 b0 = _mm512_load_ps(b + (q) * 32), b1 = _mm512_load_ps(b + (q) * 32 + 16);                 \
        A_BASE(q);                                                                                               \
        __m512 x;                                                                                                \
        x = _mm512_set1_ps(A_AT(0, q)); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);   \
        x = _mm512_set1_ps(A_AT(1, q)); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);   \
        x = _mm512_set1_ps(A_AT(2, q)); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);   \
        x = _mm512_set1_ps(A_AT(3, q)); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);   \
        x = _mm512_set1_ps(A_AT(4, q)); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);   \
        x = _mm512_set1_ps(A_AT(5, q)); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);   \
    } while (0)

#define ZERO_TILE()                                                                                              \
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),                     \
           c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),                     \
           c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),                     \
           c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps()

static inline __attribute__((always_inline)) void prefetch_c(const float *c, int64_t ldc)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
}

/* C = alpha * acc + (first ? beta * C : C), with beta == 0 never reading C's values */
#define STORE_TILE()                                                                                             \
    do {                                                                                                         \
        __m512 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};                          \
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                                            \
        for (int i = 0; i < 6; i++)                                                                              \
            for (int h = 0; h < 2; h++) {                                                                        \
                float *cp = c + i * ldc + h * 16;                                                                \
                __m512 old = _mm512_loadu_ps(cp);                                                                \
                if (first) old = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, old);                       \
                _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, acc[i * 2 + h], old));                                  \
            }                                                                                                    \
    } while (0)

/* the packed strip: step q of row i at a[q * 6 + i] */
#define PACKED_BASE(q) const float *ap = a + (q) * 6
#define A_STEP(i, q) ap[i]

void tc_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6 + 16), _MM_HINT_T0);
        STEP_WITH(0, PACKED_BASE, A_STEP);
        STEP_WITH(1, PACKED_BASE, A_STEP);
        STEP_WITH(2, PACKED_BASE, A_STEP);
        STEP_WITH(3, PACKED_BASE, A_STEP);
        a += 4 * 6;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, PACKED_BASE, A_STEP);
        a += 6;
        b += 32;
    }
    STORE_TILE();
}

/* The same tile with A read in place: six rows of a row-major A (k
 * contiguous, leading dimension lda) instead of a packed strip. For a
 * product with few columns (N = 64: each A strip served two tiles) packing
 * A cost a tenth of the time; here each broadcast reads row i's next value
 * itself. The FMAs, their order and the values are those of the packed
 * kernel on the strip pack_a would have made: the same bits. */
#define NO_BASE(q) (void)0
#define A_ROWS(i, q) a##i[q]

void tc_sgemm_kernel_avx512_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    const float *a0 = a, *a1 = a + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        STEP_WITH(0, NO_BASE, A_ROWS);
        STEP_WITH(1, NO_BASE, A_ROWS);
        STEP_WITH(2, NO_BASE, A_ROWS);
        STEP_WITH(3, NO_BASE, A_ROWS);
        a0 += 4, a1 += 4, a2 += 4, a3 += 4, a4 += 4, a5 += 4;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, NO_BASE, A_ROWS);
        a0++, a1++, a2++, a3++, a4++, a5++;
        b += 32;
    }
    STORE_TILE();
}

/* The same with op(A) = A^T read in place: k step p of the six rows is
 * the six contiguous floats at a + p * lda (the packed strip's layout, with
 * a stride of lda instead of 6), so the kernel gradient's P^T needs no
 * transposing copy. Same FMAs, order and values: the same bits. */
#define COLS_BASE(q) const float *ap = a + (q) * lda

void tc_sgemm_kernel_avx512_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(b + 8 * 32 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 9 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 10 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 11 * lda), _MM_HINT_T0);
        STEP_WITH(0, COLS_BASE, A_STEP);
        STEP_WITH(1, COLS_BASE, A_STEP);
        STEP_WITH(2, COLS_BASE, A_STEP);
        STEP_WITH(3, COLS_BASE, A_STEP);
        a += 4 * lda;
        b += 4 * 32;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, COLS_BASE, A_STEP);
        a += lda;
        b += 32;
    }
    STORE_TILE();
}
