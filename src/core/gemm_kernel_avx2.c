/* AVX2+FMA 6 x 16 SGEMM micro-kernel: 12 ymm accumulators, per k step two
 * loads of B and six broadcasts of A (gemm_pack.c packs the panels). The k
 * loop is unrolled by four with the panels prefetched a few steps ahead
 * and C's tile prefetched before the loop, so the two FMA pipes are the
 * only limit while the panels sit in L1/L2. Each accumulator lane still
 * sums its products in k order, one FMA per step. The three kernels (A
 * packed, A read in place, A^T read in place) differ only in where the
 * broadcasts read A: the same FMAs on the same values, the same bits. */
#include "gemm_pack.h"

#include <immintrin.h>

/* One k step of the 6 x 16 tile: B's two vectors of step q, then row i's
 * value of step q, A_AT(i, q), broadcast into both of row i's accumulators
 * (A_BASE(q) declares what A_AT reads). */
#define STEP_WITH(q, A_BASE, A_AT)                                                                               \
    do {                                                                                                         \
        const __m256 b0 = _mm256_load_ps(b + (q) * 16), b1 = _mm256_load_ps(b + (q) * 16 + 8);                  \
        A_BASE(q);                                                                                               \
        __m256 x;                                                                                                \
        x = _mm256_broadcast_ss(&A_AT(0, q)); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); \
        x = _mm256_broadcast_ss(&A_AT(1, q)); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); \
        x = _mm256_broadcast_ss(&A_AT(2, q)); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); \
        x = _mm256_broadcast_ss(&A_AT(3, q)); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31); \
        x = _mm256_broadcast_ss(&A_AT(4, q)); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41); \
        x = _mm256_broadcast_ss(&A_AT(5, q)); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51); \
    } while (0)

#define ZERO_TILE()                                                                                              \
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),                     \
           c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),                     \
           c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),                     \
           c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()

static inline __attribute__((always_inline)) void prefetch_c(const float *c, int64_t ldc)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }
}

/* C = alpha * acc + (first ? beta * C : C), with beta == 0 never reading C's values */
#define STORE_TILE()                                                                                             \
    do {                                                                                                         \
        __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};                          \
        __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);                                            \
        for (int i = 0; i < 6; i++)                                                                              \
            for (int h = 0; h < 2; h++) {                                                                        \
                float *cp = c + i * ldc + h * 8;                                                                 \
                __m256 old = _mm256_loadu_ps(cp);                                                                \
                if (first) old = beta == 0 ? _mm256_setzero_ps() : _mm256_mul_ps(vb, old);                       \
                _mm256_storeu_ps(cp, _mm256_fmadd_ps(va, acc[i * 2 + h], old));                                  \
            }                                                                                                    \
    } while (0)

/* the packed strip: step q of row i at a[q * 6 + i] */
#define PACKED_BASE(q) const float *ap = a + (q) * 6
#define A_STEP(i, q) ap[i]

void tc_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 4; q++) _mm_prefetch((const char *)(b + 8 * 16 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * 6 + 16), _MM_HINT_T0);
        STEP_WITH(0, PACKED_BASE, A_STEP);
        STEP_WITH(1, PACKED_BASE, A_STEP);
        STEP_WITH(2, PACKED_BASE, A_STEP);
        STEP_WITH(3, PACKED_BASE, A_STEP);
        a += 4 * 6;
        b += 4 * 16;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, PACKED_BASE, A_STEP);
        a += 6;
        b += 16;
    }
    STORE_TILE();
}

/* The same tile with A read in place: six rows of a row-major A (k
 * contiguous, leading dimension lda) instead of a packed strip, for
 * products with few column strips where a packed A strip would serve only
 * a few tiles (gemm_pack.c a_in_place). Same FMAs, order and values as the
 * packed kernel on the strip pack_a would have made: the same bits. */
#define NO_BASE(q) (void)0
#define A_ROWS(i, q) a##i[q]

void tc_sgemm_kernel_avx2_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    const float *a0 = a, *a1 = a + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 4; q++) _mm_prefetch((const char *)(b + 8 * 16 + q * 16), _MM_HINT_T0);
        STEP_WITH(0, NO_BASE, A_ROWS);
        STEP_WITH(1, NO_BASE, A_ROWS);
        STEP_WITH(2, NO_BASE, A_ROWS);
        STEP_WITH(3, NO_BASE, A_ROWS);
        a0 += 4, a1 += 4, a2 += 4, a3 += 4, a4 += 4, a5 += 4;
        b += 4 * 16;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, NO_BASE, A_ROWS);
        a0++, a1++, a2++, a3++, a4++, a5++;
        b += 16;
    }
    STORE_TILE();
}

/* The same with op(A) = A^T read in place: k step p of the six rows is the
 * six contiguous floats at a + p * lda (the packed strip's layout with a
 * stride of lda instead of 6): the kernel gradient's P^T needs no
 * transposing copy. Same FMAs, order and values: the same bits. */
#define COLS_BASE(q) const float *ap = a + (q) * lda

void tc_sgemm_kernel_avx2_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                              float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int q = 0; q < 4; q++) _mm_prefetch((const char *)(b + 8 * 16 + q * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 8 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 9 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 10 * lda), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + 11 * lda), _MM_HINT_T0);
        STEP_WITH(0, COLS_BASE, A_STEP);
        STEP_WITH(1, COLS_BASE, A_STEP);
        STEP_WITH(2, COLS_BASE, A_STEP);
        STEP_WITH(3, COLS_BASE, A_STEP);
        a += 4 * lda;
        b += 4 * 16;
    }
    for (; p < kc; p++) {
        STEP_WITH(0, COLS_BASE, A_STEP);
        a += lda;
        b += 16;
    }
    STORE_TILE();
}

/* Packs six rows of A (row-major, k contiguous) into the kernels' k-major
 * 6-wide strip: 8 x 8 transposes in registers (rows 6 and 7 zero), each
 * output step stored as 8 floats of which the next store overwrites the
 * last two (so the strip's buffer needs 2 floats of slack after it). The
 * scalar k-outer copy took ~0.5 ns per float, a third of a conv tile's
 * GEMM time at N = 64. */
void tc_sgemm_pack_a6_avx2(const float *a, int64_t lda, int64_t kc, float *d)
{
    const float *const r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
    tc_sgemm_pack_a6r_avx2(r, kc, d);
}

/* The same from six row pointers anywhere (convolution patches gathered
 * straight from the input, tc_gemm_b_runs) */
void tc_sgemm_pack_a6r_avx2(const float *const r[6], int64_t kc, float *d)
{
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4], *r5 = r[5];
    int64_t p = 0;
    const __m256 z = _mm256_setzero_ps();
    for (; p + 8 <= kc; p += 8) {
        __m256 x0 = _mm256_loadu_ps(r0 + p), x1 = _mm256_loadu_ps(r1 + p), x2 = _mm256_loadu_ps(r2 + p),
               x3 = _mm256_loadu_ps(r3 + p), x4 = _mm256_loadu_ps(r4 + p), x5 = _mm256_loadu_ps(r5 + p);
        __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1), t2 = _mm256_unpacklo_ps(x2, x3),
               t3 = _mm256_unpackhi_ps(x2, x3), t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5),
               t6 = _mm256_unpacklo_ps(z, z), t7 = t6;
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        /* column q (k = p + q) of the 8 x 8 block: rows 0-3 from u, rows 4-7 from u+4 */
        __m256 c0 = _mm256_permute2f128_ps(u0, u4, 0x20), c1 = _mm256_permute2f128_ps(u1, u5, 0x20),
               c2 = _mm256_permute2f128_ps(u2, u6, 0x20), c3 = _mm256_permute2f128_ps(u3, u7, 0x20),
               c4 = _mm256_permute2f128_ps(u0, u4, 0x31), c5 = _mm256_permute2f128_ps(u1, u5, 0x31),
               c6 = _mm256_permute2f128_ps(u2, u6, 0x31), c7 = _mm256_permute2f128_ps(u3, u7, 0x31);
        float *o = d + p * 6;
        _mm256_storeu_ps(o + 0, c0);
        _mm256_storeu_ps(o + 6, c1);
        _mm256_storeu_ps(o + 12, c2);
        _mm256_storeu_ps(o + 18, c3);
        _mm256_storeu_ps(o + 24, c4);
        _mm256_storeu_ps(o + 30, c5);
        _mm256_storeu_ps(o + 36, c6);
        _mm256_storeu_ps(o + 42, c7);
    }
    for (; p < kc; p++) {
        float *o = d + p * 6;
        o[0] = r0[p];
        o[1] = r1[p];
        o[2] = r2[p];
        o[3] = r3[p];
        o[4] = r4[p];
        o[5] = r5[p];
    }
}

/* 8 x 8 transpose of rows r[0..7] at column p into out[q * stride], q = 0..7 */
static inline void transpose8(const float *const r[8], int64_t p, float *out, int64_t stride)
{
    __m256 x0 = _mm256_loadu_ps(r[0] + p), x1 = _mm256_loadu_ps(r[1] + p), x2 = _mm256_loadu_ps(r[2] + p),
           x3 = _mm256_loadu_ps(r[3] + p), x4 = _mm256_loadu_ps(r[4] + p), x5 = _mm256_loadu_ps(r[5] + p),
           x6 = _mm256_loadu_ps(r[6] + p), x7 = _mm256_loadu_ps(r[7] + p);
    __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1), t2 = _mm256_unpacklo_ps(x2, x3),
           t3 = _mm256_unpackhi_ps(x2, x3), t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5),
           t6 = _mm256_unpacklo_ps(x6, x7), t7 = _mm256_unpackhi_ps(x6, x7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(out + 0 * stride, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(out + 1 * stride, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(out + 2 * stride, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(out + 3 * stride, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(out + 4 * stride, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(out + 5 * stride, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(out + 6 * stride, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(out + 7 * stride, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Packs one full strip of op(B) = B^T (nr rows of b, k contiguous, nr a
 * multiple of 8) into d[p * nr + j] by 8 x 8 transposes (the scalar
 * column-by-column copy made a transposed B cost more than the product
 * when M is a few rows). */
void tc_sgemm_pack_bt_avx2(const float *b, int64_t ldb, int64_t kc, int nr, float *d)
{
    for (int jb = 0; jb < nr; jb += 8) {
        const float *r[8];
        for (int j = 0; j < 8; j++) r[j] = b + (int64_t)(jb + j) * ldb;
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) transpose8(r, p, d + p * nr + jb, nr);
        for (; p < kc; p++)
            for (int j = 0; j < 8; j++) d[p * nr + jb + j] = r[j][p];
    }
}

/* Packs six columns of op(A) = A^T (row p of a, six contiguous floats at
 * a + p * lda) into a k-major strip d[p * 6 + i]: one masked 6-float load
 * and one 8-float store a row, the store's last two floats overwritten by
 * the next row (two copies of 16 and 8 bytes a row were 8% of a batch-1
 * res2 3x3 training step). The mask keeps the load inside A; the store may
 * write 2 floats past the strip, as tc_sgemm_pack_a6_avx2 does. */
void tc_sgemm_pack_at6_avx2(const float *a, int64_t lda, int64_t kc, float *d)
{
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        const __m256 x0 = _mm256_maskload_ps(a + (p + 0) * lda, six), x1 = _mm256_maskload_ps(a + (p + 1) * lda, six),
                     x2 = _mm256_maskload_ps(a + (p + 2) * lda, six), x3 = _mm256_maskload_ps(a + (p + 3) * lda, six);
        _mm256_storeu_ps(d + (p + 0) * 6, x0);
        _mm256_storeu_ps(d + (p + 1) * 6, x1);
        _mm256_storeu_ps(d + (p + 2) * 6, x2);
        _mm256_storeu_ps(d + (p + 3) * 6, x3);
    }
    for (; p < kc; p++) _mm256_storeu_ps(d + p * 6, _mm256_maskload_ps(a + p * lda, six));
}
