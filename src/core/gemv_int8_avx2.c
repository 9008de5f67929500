/* int8-weight row-vector panels on 256-bit registers (layout: gemv_int8.h).
 *   - AVX-VNNI (VEX vpdpbusd, a target attribute: called only where the CPU
 *     has it): 8 columns x 4 rows per instruction, 8 named accumulators.
 *   - AVX2 alone: no u8 x s8 dot to int32 that cannot saturate (vpmaddubsw
 *     adds two u8 x s8 products into an int16: 2 x 255 x 127 overflows), so
 *     the bytes are widened to int16 (vpmovsxbw for the weights, the input
 *     bytes as int16 values 0..255) and multiplied with vpmaddwd, whose two
 *     products per int32 lane are exact. A 16-byte load widens to 4 columns
 *     x 4 rows; lane 2i holds rows 0+1 of column i, lane 2i+1 rows 2+3. The
 *     panel is done in two halves of 32 columns (8 accumulators each, which
 *     with x fit the 16 ymm registers) and each column's two lanes are added
 *     at the end: integer sums, the bits of the other kernels.
 *   - weight-only: as the AVX-512 kernel, 8 columns a register, one sum per
 *     column (see below). */
#include "gemv_int8.h"

#include <immintrin.h>
#include <string.h>

#define PANEL 64

#define LDW(o) _mm256_load_si256((const __m256i *)(w + (o)))

__attribute__((target("avxvnni"))) void tc_gemv_i8dot_panel_avxvnni(const int8_t *w, const uint8_t *xu, int64_t k4,
                                                                   int32_t *acc)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t r = 0; r < k4; r += 4, w += 4 * PANEL) {
        int32_t u;
        memcpy(&u, xu + r, 4);
        __m256i x = _mm256_set1_epi32(u);
        a0 = _mm256_dpbusd_avx_epi32(a0, x, LDW(0));
        a1 = _mm256_dpbusd_avx_epi32(a1, x, LDW(32));
        a2 = _mm256_dpbusd_avx_epi32(a2, x, LDW(64));
        a3 = _mm256_dpbusd_avx_epi32(a3, x, LDW(96));
        a4 = _mm256_dpbusd_avx_epi32(a4, x, LDW(128));
        a5 = _mm256_dpbusd_avx_epi32(a5, x, LDW(160));
        a6 = _mm256_dpbusd_avx_epi32(a6, x, LDW(192));
        a7 = _mm256_dpbusd_avx_epi32(a7, x, LDW(224));
    }
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 8), a1);
    _mm256_storeu_si256((__m256i *)(acc + 16), a2);
    _mm256_storeu_si256((__m256i *)(acc + 24), a3);
    _mm256_storeu_si256((__m256i *)(acc + 32), a4);
    _mm256_storeu_si256((__m256i *)(acc + 40), a5);
    _mm256_storeu_si256((__m256i *)(acc + 48), a6);
    _mm256_storeu_si256((__m256i *)(acc + 56), a7);
}

#define WIDE(o) _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w + (o))))
#define MADD(c) a##c = _mm256_add_epi32(a##c, _mm256_madd_epi16(WIDE(16 * (c)), x))

void tc_gemv_i8dot_panel_avx2(const int8_t *w0, const uint8_t *xu, int64_t k4, int32_t *acc)
{
    for (int half = 0; half < 2; half++) {
        const int8_t *w = w0 + half * 4 * PANEL / 2;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int64_t r = 0; r < k4; r += 4, w += 4 * PANEL) {
            /* the four input bytes as int16, repeated for each column */
            uint64_t u = (uint64_t)xu[r] | (uint64_t)xu[r + 1] << 16 | (uint64_t)xu[r + 2] << 32 | (uint64_t)xu[r + 3] << 48;
            __m256i x = _mm256_set1_epi64x((long long)u);
            MADD(0), MADD(1), MADD(2), MADD(3), MADD(4), MADD(5), MADD(6), MADD(7);
        }
        _Alignas(32) int32_t t[8][8];
        _mm256_store_si256((__m256i *)t[0], a0), _mm256_store_si256((__m256i *)t[1], a1);
        _mm256_store_si256((__m256i *)t[2], a2), _mm256_store_si256((__m256i *)t[3], a3);
        _mm256_store_si256((__m256i *)t[4], a4), _mm256_store_si256((__m256i *)t[5], a5);
        _mm256_store_si256((__m256i *)t[6], a6), _mm256_store_si256((__m256i *)t[7], a7);
        /* accumulator c covers columns 4c..4c+3 of this half */
        for (int c = 0; c < 8; c++)
            for (int i = 0; i < 4; i++) acc[half * 32 + 4 * c + i] = t[c][2 * i] + t[c][2 * i + 1];
    }
}

#define ROW(v, h) _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32((v), 24 - 8 * (h)), 24))
#define ROW3(v) _mm256_cvtepi32_ps(_mm256_srai_epi32((v), 24))
#define COL(s, c, v) s##c = _mm256_fmadd_ps(x3, ROW3(v), _mm256_fmadd_ps(x2, ROW(v, 2), _mm256_fmadd_ps(x1, ROW(v, 1), _mm256_fmadd_ps(x0, ROW(v, 0), s##c))))
/* 4 rows of x into the eight sums s0..s7, row order */
#define QUAD(s, xp)                                                                                                       \
    do {                                                                                                                  \
        __m256 x0 = _mm256_set1_ps((xp)[0]), x1 = _mm256_set1_ps((xp)[1]), x2 = _mm256_set1_ps((xp)[2]),                  \
               x3 = _mm256_set1_ps((xp)[3]);                                                                              \
        __m256i v0 = LDW(0), v1 = LDW(32), v2 = LDW(64), v3 = LDW(96);                                                    \
        COL(s, 0, v0), COL(s, 1, v1), COL(s, 2, v2), COL(s, 3, v3);                                                       \
        v0 = LDW(128), v1 = LDW(160), v2 = LDW(192), v3 = LDW(224);                                                       \
        COL(s, 4, v0), COL(s, 5, v1), COL(s, 6, v2), COL(s, 7, v3);                                                       \
    } while (0)

/* One pass, one sum per column in row order: 8 accumulators of 8 columns,
 * 32 independent FMAs a row quad, enough to cover the FMA latency on 256-bit
 * registers (the AVX-512 kernel needs its second set of sums for that). */
void tc_gemv_i8w_panel_avx2(const int8_t *w, const float *x, int64_t k, float *acc)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    int64_t r = 0;
    for (; r + 4 <= k; r += 4, w += 4 * PANEL) QUAD(a, x + r);
    if (r < k) { /* the last rows: x padded with zeros (their weights are zero too) */
        float xt[4] = {0};
        memcpy(xt, x + r, sizeof(float) * (size_t)(k - r));
        QUAD(a, xt);
    }
    _mm256_storeu_ps(acc, a0), _mm256_storeu_ps(acc + 8, a1), _mm256_storeu_ps(acc + 16, a2), _mm256_storeu_ps(acc + 24, a3);
    _mm256_storeu_ps(acc + 32, a4), _mm256_storeu_ps(acc + 40, a5), _mm256_storeu_ps(acc + 48, a6), _mm256_storeu_ps(acc + 56, a7);
}
