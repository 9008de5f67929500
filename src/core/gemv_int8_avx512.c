/* int8-weight row-vector panels on AVX-512 (layout: gemv_int8.h).
 * The dot kernel is vpdpbusd (AVX512-VNNI, a target attribute: called only
 * where the CPU has it): one instruction multiplies 16 columns x 4 rows of
 * weights by the four input bytes broadcast to every lane and adds the four
 * products to the lane's int32 sum. Two sets of four named accumulators
 * (even and odd row quads) so consecutive vpdpbusd do not wait on each
 * other; integer sums, so the split changes no bit.
 * The weight-only kernel takes row h of each lane's four bytes by a left
 * shift that puts it on top and an arithmetic right shift by 24 (sign
 * extended), converts it to float and FMAs it with x in float. */
#include "gemv_int8.h"

#include <immintrin.h>
#include <string.h>

#define PANEL 64

#define LDW(o) _mm512_load_si512((const void *)(w + (o)))

__attribute__((target("avx512vnni"))) void tc_gemv_i8dot_panel_avx512vnni(const int8_t *w, const uint8_t *xu, int64_t k4,
                                                                         int32_t *acc)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t r = 0;
    for (; r + 8 <= k4; r += 8, w += 8 * PANEL) {
        int32_t u, v;
        memcpy(&u, xu + r, 4), memcpy(&v, xu + r + 4, 4);
        __m512i x0 = _mm512_set1_epi32(u), x1 = _mm512_set1_epi32(v);
        a0 = _mm512_dpbusd_epi32(a0, x0, LDW(0));
        a1 = _mm512_dpbusd_epi32(a1, x0, LDW(64));
        a2 = _mm512_dpbusd_epi32(a2, x0, LDW(128));
        a3 = _mm512_dpbusd_epi32(a3, x0, LDW(192));
        b0 = _mm512_dpbusd_epi32(b0, x1, LDW(256));
        b1 = _mm512_dpbusd_epi32(b1, x1, LDW(320));
        b2 = _mm512_dpbusd_epi32(b2, x1, LDW(384));
        b3 = _mm512_dpbusd_epi32(b3, x1, LDW(448));
    }
    if (r < k4) { /* one quad left */
        int32_t u;
        memcpy(&u, xu + r, 4);
        __m512i x0 = _mm512_set1_epi32(u);
        a0 = _mm512_dpbusd_epi32(a0, x0, LDW(0));
        a1 = _mm512_dpbusd_epi32(a1, x0, LDW(64));
        a2 = _mm512_dpbusd_epi32(a2, x0, LDW(128));
        a3 = _mm512_dpbusd_epi32(a3, x0, LDW(192));
    }
    /* lane l of sum c is column 16c + l */
    _mm512_storeu_si512((void *)acc, _mm512_add_epi32(a0, b0));
    _mm512_storeu_si512((void *)(acc + 16), _mm512_add_epi32(a1, b1));
    _mm512_storeu_si512((void *)(acc + 32), _mm512_add_epi32(a2, b2));
    _mm512_storeu_si512((void *)(acc + 48), _mm512_add_epi32(a3, b3));
}

/* row h (0..3) of each lane's four bytes as float */
#define ROW(v, h) _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32((v), 24 - 8 * (h)), 24))
#define ROW3(v) _mm512_cvtepi32_ps(_mm512_srai_epi32((v), 24))
/* rows 4 quads: 4 rows of x into the sums s0..s3 in row order */
#define QUAD(s, xp)                                                                                                       \
    do {                                                                                                                  \
        __m512i v0 = LDW(0), v1 = LDW(64), v2 = LDW(128), v3 = LDW(192);                                                  \
        __m512 x0 = _mm512_set1_ps((xp)[0]), x1 = _mm512_set1_ps((xp)[1]), x2 = _mm512_set1_ps((xp)[2]),                  \
               x3 = _mm512_set1_ps((xp)[3]);                                                                              \
        s##0 = _mm512_fmadd_ps(x3, ROW3(v0), _mm512_fmadd_ps(x2, ROW(v0, 2), _mm512_fmadd_ps(x1, ROW(v0, 1), _mm512_fmadd_ps(x0, ROW(v0, 0), s##0)))); \
        s##1 = _mm512_fmadd_ps(x3, ROW3(v1), _mm512_fmadd_ps(x2, ROW(v1, 2), _mm512_fmadd_ps(x1, ROW(v1, 1), _mm512_fmadd_ps(x0, ROW(v1, 0), s##1)))); \
        s##2 = _mm512_fmadd_ps(x3, ROW3(v2), _mm512_fmadd_ps(x2, ROW(v2, 2), _mm512_fmadd_ps(x1, ROW(v2, 1), _mm512_fmadd_ps(x0, ROW(v2, 0), s##2)))); \
        s##3 = _mm512_fmadd_ps(x3, ROW3(v3), _mm512_fmadd_ps(x2, ROW(v3, 2), _mm512_fmadd_ps(x1, ROW(v3, 1), _mm512_fmadd_ps(x0, ROW(v3, 0), s##3)))); \
    } while (0)

void tc_gemv_i8w_panel_avx512(const int8_t *w, const float *x, int64_t k, float *acc)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t r = 0;
    for (; r + 8 <= k; r += 8) {
        QUAD(a, x + r);
        w += 4 * PANEL;
        QUAD(b, x + r + 4);
        w += 4 * PANEL;
    }
    if (r < k) { /* the last rows: x padded with zeros to whole quads (their weights are zero too) */
        float xt[8] = {0};
        memcpy(xt, x + r, sizeof(float) * (size_t)(k - r));
        QUAD(a, xt);
        if (r + 4 < k) {
            w += 4 * PANEL;
            QUAD(b, xt + 4);
        }
    }
    _mm512_storeu_ps(acc, _mm512_add_ps(a0, b0));
    _mm512_storeu_ps(acc + 16, _mm512_add_ps(a1, b1));
    _mm512_storeu_ps(acc + 32, _mm512_add_ps(a2, b2));
    _mm512_storeu_ps(acc + 48, _mm512_add_ps(a3, b3));
}
