/* The AVX-512 micro-kernel for 7 x 32 tiles of a product with few rows
 * whose row count is a multiple of 7: a 7x7 map at batch 1 (ResNet-50's
 * res5 layers, M = 49) fills 7 strips of 7 rows exactly, where 6-row
 * strips need 9 (54 rows, the last with one real row: 9% of the FMAs of
 * the forward and input-gradient products wasted).
 *
 * A: the 6-high strips pack_a / pack_a_runs wrote (a row r of the part at
 * ap + (r / 6) * 6 * kc + r % 6, 6 floats from one k step to the next), so
 * the driver packs A as before and a 7-row strip spans two 6-row strips:
 * a[i] is row i's first value. B: k step q's 32 values at b + q * ldb (a
 * packed strip with ldb = 32, or a row-major op(B) read in place).
 *
 * Bits: each accumulator lane sums its kc products in k order, one FMA per
 * step, from zero, then C = alpha * acc + (first ? beta * C : C): the
 * operations tc_sgemm_kernel_avx512 and _ub do on every element, so which
 * rows share a tile changes no bit (the driver's choice of 6 or 7 rows is
 * a rule of the shape anyway). 14 accumulators, 2 B vectors and a
 * broadcast: 17 of the 32 zmm registers. */
#include "gemm_pack.h"

#include <immintrin.h>

#define ROW(i)                                                                                                   \
    do {                                                                                                         \
        const __m512 x = _mm512_set1_ps(a##i[o]);                                                                \
        c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);                                                               \
        c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);                                                               \
    } while (0)

#define OUT(i)                                                                                                   \
    do {                                                                                                         \
        float *cp = c + (i) * ldc;                                                                               \
        __m512 o0 = _mm512_loadu_ps(cp), o1 = _mm512_loadu_ps(cp + 16);                                          \
        if (first) {                                                                                             \
            o0 = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, o0);                                        \
            o1 = beta == 0 ? _mm512_setzero_ps() : _mm512_mul_ps(vb, o1);                                        \
        }                                                                                                        \
        _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, c##i##0, o0));                                                  \
        _mm512_storeu_ps(cp + 16, _mm512_fmadd_ps(va, c##i##1, o1));                                             \
    } while (0)

void tc_sgemm_kernel_avx512_rows7(int64_t kc, const float *const a[7], const float *b, int64_t ldb, float *c,
                                  int64_t ldc, float alpha, float beta, bool first)
{
    for (int i = 0; i < 7; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5], *a6 = a[6];
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),
           c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),
           c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),
           c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(),
           c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    /* o: the offset of step p in every row's strip (6 floats a step) */
    for (int64_t p = 0, o = 0; p < kc; p++, o += 6, b += ldb) {
        if ((p & 3) == 0) { /* rows of B a few steps ahead (both lines of an unaligned row) */
            _mm_prefetch((const char *)(b + 8 * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 8 * ldb + 31), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 9 * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 9 * ldb + 31), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 10 * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 10 * ldb + 31), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 11 * ldb), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 11 * ldb + 31), _MM_HINT_T0);
        }
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
        ROW(6);
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    (void)vb;
    OUT(0);
    OUT(1);
    OUT(2);
    OUT(3);
    OUT(4);
    OUT(5);
    OUT(6);
}
