/* int8-weight row-vector panels on 256-bit registers (layout: gemv_int8.h).
 *   - AVX-VNNI (VEX vpdpbusd, a target attribute: called only where the CPU
 *     has it): 8 columns x 4 rows per instruction, 8 named accumulators.
 *   - AVX2 alone: vpmaddubsw adds two u8 x s8 products into a saturating
 *     int16, and 2 x 255 x 127 (the stored u = xq + 128) overflows it; but
 *     the symmetric xq = u - 128 has |xq| <= 127, so |xq| times sign(xq) q
 *     (vpsignb) pairs stay within 2 x 127 x 127 = 32,258: exact. vpmaddwd
 *     by ones adds the pairs into int32, giving per column the exact sum
 *     sum_k xq_k q_kj, i.e. the VNNI kernels' sum less the zero point
 *     (the caller skips that subtraction): the same integer, the same bits.
 *     4 ALU operations per 32 weights (was 6 with int16 widening + vpmaddwd).
 *   - weight-only: as the AVX-512 kernel, 8 columns a register, one sum per
 *     column (see below). */
#include "gemv_int8.h"

#include <immintrin.h>
#include <string.h>

#define PANEL 64

#define LDW(o) _mm256_load_si256((const __m256i *)(w + (o)))

/* the dot kernels' eight sums: lane l of sum c is column 8c + l */
static inline __attribute__((always_inline)) void store_sums(int32_t *acc, __m256i a0, __m256i a1, __m256i a2,
                                                             __m256i a3, __m256i a4, __m256i a5, __m256i a6,
                                                             __m256i a7)
{
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 8), a1);
    _mm256_storeu_si256((__m256i *)(acc + 16), a2);
    _mm256_storeu_si256((__m256i *)(acc + 24), a3);
    _mm256_storeu_si256((__m256i *)(acc + 32), a4);
    _mm256_storeu_si256((__m256i *)(acc + 40), a5);
    _mm256_storeu_si256((__m256i *)(acc + 48), a6);
    _mm256_storeu_si256((__m256i *)(acc + 56), a7);
}

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
    store_sums(acc, a0, a1, a2, a3, a4, a5, a6, a7);
}

/* xs = the four input bytes as signed xq (xu - 128: the top bit flipped),
 * xa = |xq| (u8); weights times sign(xq) (vpsignb), so vpmaddubsw's products
 * are xq q and a pair is at most 2 x 127 x 127 = 32,258 < 32,767: exact. */
#define SDOT(c, o) a##c = _mm256_add_epi32(a##c, _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(LDW(o), xs)), ones))

void tc_gemv_i8dot_panel_avx2(const int8_t *w, const uint8_t *xu, int64_t k4, int32_t *acc)
{
    const __m256i ones = _mm256_set1_epi16(1), top = _mm256_set1_epi8((char)0x80);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t r = 0; r < k4; r += 4, w += 4 * PANEL) {
        int32_t u;
        memcpy(&u, xu + r, 4);
        const __m256i xs = _mm256_xor_si256(_mm256_set1_epi32(u), top), xa = _mm256_abs_epi8(xs);
        SDOT(0, 0), SDOT(1, 32), SDOT(2, 64), SDOT(3, 96), SDOT(4, 128), SDOT(5, 160), SDOT(6, 192), SDOT(7, 224);
    }
    store_sums(acc, a0, a1, a2, a3, a4, a5, a6, a7);
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
