/* The AVX-512 6 x 32 tile of gemm_kernel_avx512.c for a right edge tile of
 * w < 32 columns (w > 0), written straight into C with masked loads and
 * stores instead of run_parts' full-tile copy (the F = 16 and 24 1x1
 * convolutions of MobileNet-v2 are all such tiles). For w <= 16 only the
 * first 16 columns are computed: half the FMAs of the full kernel.
 * A's value (i, q) is a[i * si + q * sq]: the packed strip (si 1, sq 6),
 * rows read in place (si lda, sq 1) or A^T in place (si 1, sq lda). B is
 * the packed 32-wide strip (zero padded), step q at b + 32 q.
 * Every element is the packed kernel's: products summed in k order by one
 * FMA per step from zero, then C = alpha * acc + (first ? beta * C : C)
 * by one FMA, so the bits are those of the copy path. */
#include "gemm_pack.h"

#include <immintrin.h>

#define NROW 6

static inline __attribute__((always_inline)) void store_row(float *cp, __m512 acc, __mmask16 m, __m512 va, __m512 vb,
                                                            float beta, bool first)
{
    __m512 old;
    if (!first) old = _mm512_maskz_loadu_ps(m, cp);
    else if (beta == 0) old = _mm512_setzero_ps();
    else old = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m, cp));
    _mm512_mask_storeu_ps(cp, m, _mm512_fmadd_ps(va, acc, old));
}

void tc_sgemm_kernel_avx512_nw(int64_t kc, const float *a, int64_t si, int64_t sq, const float *b, float *c,
                               int64_t ldc, float alpha, float beta, bool first, int w)
{
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const float *a1 = a + si, *a2 = a + 2 * si, *a3 = a + 3 * si, *a4 = a + 4 * si, *a5 = a + 5 * si;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    if (w <= 16) {
        for (int64_t q = 0; q < kc; q++) {
            const __m512 b0 = _mm512_load_ps(b + q * 32);
            const int64_t o = q * sq;
            c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[o]), b0, c0);
            c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[o]), b0, c1);
            c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[o]), b0, c2);
            c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[o]), b0, c3);
            c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[o]), b0, c4);
            c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[o]), b0, c5);
        }
        const __mmask16 m = (__mmask16)((1u << w) - 1);
        __m512 v[NROW] = {c0, c1, c2, c3, c4, c5};
        for (int i = 0; i < NROW; i++) store_row(c + i * ldc, v[i], m, va, vb, beta, first);
        return;
    }
    __m512 d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0, d5 = c0;
    for (int64_t q = 0; q < kc; q++) {
        const __m512 b0 = _mm512_load_ps(b + q * 32), b1 = _mm512_load_ps(b + q * 32 + 16);
        const int64_t o = q * sq;
        __m512 x = _mm512_set1_ps(a[o]);
        c0 = _mm512_fmadd_ps(x, b0, c0), d0 = _mm512_fmadd_ps(x, b1, d0);
        x = _mm512_set1_ps(a1[o]);
        c1 = _mm512_fmadd_ps(x, b0, c1), d1 = _mm512_fmadd_ps(x, b1, d1);
        x = _mm512_set1_ps(a2[o]);
        c2 = _mm512_fmadd_ps(x, b0, c2), d2 = _mm512_fmadd_ps(x, b1, d2);
        x = _mm512_set1_ps(a3[o]);
        c3 = _mm512_fmadd_ps(x, b0, c3), d3 = _mm512_fmadd_ps(x, b1, d3);
        x = _mm512_set1_ps(a4[o]);
        c4 = _mm512_fmadd_ps(x, b0, c4), d4 = _mm512_fmadd_ps(x, b1, d4);
        x = _mm512_set1_ps(a5[o]);
        c5 = _mm512_fmadd_ps(x, b0, c5), d5 = _mm512_fmadd_ps(x, b1, d5);
    }
    const __mmask16 m = (__mmask16)((1u << (w - 16)) - 1);
    __m512 v[NROW] = {c0, c1, c2, c3, c4, c5}, u[NROW] = {d0, d1, d2, d3, d4, d5};
    for (int i = 0; i < NROW; i++) {
        store_row(c + i * ldc, v[i], (__mmask16)0xffff, va, vb, beta, first);
        store_row(c + i * ldc + 16, u[i], m, va, vb, beta, first);
    }
}
