/* The int8 A packing shared by the scalar quantiser (gemm_lowp.c) and its
 * register versions (gemm_int8_pack_avx2.c, gemm_int8_pack_avx512.c):
 * the per-row scale and zero point, the fold of a vector's lane ranges and
 * the packing skeleton. The skeleton is a template: each ISA file passes its
 * own range and block functions, always inlined, so each object keeps its
 * own straight-line code (no calls per block). Arithmetic: gemm_lowp.h.
 * Private to src/core. */
#ifndef TC_GEMM_INT8_PACK_H
#define TC_GEMM_INT8_PACK_H
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* Round half away from zero with plain float operations (|r| <= 255.5
 * here, where r + 0.5 is exact enough never to cross an integer): the same
 * bits as the vector versions give, without a libm call per value. */
static inline int32_t tc_lowp_round_half_away(float r) { return (int32_t)(r + (r < 0 ? -0.5f : 0.5f)); }

/* A row's scale *sa and zero point *zp from its range lo <= 0 <= hi, and
 * 1 / sa in *inv; false for a row with no usable scale (all zeros, or not
 * finite: the product is then garbage either way), whose bytes are zeros,
 * *sa = max(s, 0) and *zp = 0. */
static inline bool tc_lowp_row_scale(float lo, float hi, float *sa, int32_t *zp, float *inv)
{
    const float s = (hi - lo) / 255.0f;
    if (!(s > 0) || !isfinite(s)) {
        *sa = s > 0 ? s : 0, *zp = 0;
        return false;
    }
    *inv = 1.0f / s;
    int32_t z = tc_lowp_round_half_away(-lo * *inv);
    *sa = s, *zp = z < 0 ? 0 : z > 255 ? 255 : z;
    return true;
}

/* lo = min(0, l[0..n-1]), hi = max(0, h[0..n-1]): a vector loop's lanes
 * folded with compares (exact, whatever the order) */
static inline void tc_lowp_fold_range(const float *l, const float *h, int n, float *lo, float *hi)
{
    float a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        a = l[i] < a ? l[i] : a;
        b = h[i] > b ? h[i] : b;
    }
    *lo = a;
    *hi = b;
}

/* lo = min(0, x[0..k-1]), hi = max(0, x[0..k-1]) */
typedef void (*tc_lowp_range_fn)(const float *x, int64_t k, float *lo, float *hi);
/* values x[p .. p + 4 lanes - 1] (zeros past k) quantised with 1/scale inv
 * and zero point z into `lanes` u8 quads at q (the values past k: 0) */
typedef void (*tc_lowp_quads_fn)(const float *x, int64_t k, int64_t p, float inv, int32_t z, uint32_t *q);

/* h rows (row stride lda, k contiguous floats) into d = [kp/4][mr] u8 quads;
 * sa[i], zp[i] per row; rows h..mr-1 zero with sa = zp = 0. The bytes are
 * tc_lowp_quantize_row's: the same operations, in the same order. */
static inline __attribute__((always_inline)) void tc_lowp_int8_pack_rows(const float *a, int64_t lda, int64_t h,
                                                                        int64_t k, int64_t kp, int mr, uint32_t *d,
                                                                        float *sa, int32_t *zp, int lanes,
                                                                        tc_lowp_range_fn range, tc_lowp_quads_fn quads)
{
    const int64_t nquads = kp / 4;
    for (int64_t i = h; i < mr; i++) {
        sa[i] = 0, zp[i] = 0;
        for (int64_t q = 0; q < nquads; q++) d[q * mr + i] = 0;
    }
    _Alignas(64) uint32_t tmp[16];
    for (int64_t i = 0; i < h; i++) {
        const float *x = a + i * lda;
        float lo, hi, s, inv;
        int32_t z;
        range(x, k, &lo, &hi);
        const bool ok = tc_lowp_row_scale(lo, hi, &s, &z, &inv);
        sa[i] = s, zp[i] = z;
        if (!ok) {
            for (int64_t q = 0; q < nquads; q++) d[q * mr + i] = 0;
            continue;
        }
        for (int64_t p = 0; p < kp; p += 4 * lanes) {
            quads(x, k, p, inv, z, tmp);
            const int64_t nq = (kp - p) / 4 < lanes ? (kp - p) / 4 : lanes;
            uint32_t *dq = d + (p / 4) * mr + i;
            for (int64_t q = 0; q < nq; q++) dq[q * mr] = tmp[q];
        }
    }
}

#endif
