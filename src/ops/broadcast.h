/* Helpers shared by elementwise.c and reduce.c: summing a contiguous tensor
 * over a set of axes with a fixed order of additions (the reduction of a
 * broadcast operand's gradient is the same operation as tc_sum). */
#ifndef TC_BROADCAST_H
#define TC_BROADCAST_H

#include "../core/internal.h"

#include <math.h>
#include <string.h>

/* out (the input's shape with the `reduced` axes removed, contiguous) =
 * scale * sum of x over those axes, or += when accumulate. The result is the
 * same bits for any thread count: work is split in blocks whose size depends
 * only on the shape, and partial sums (in double) are combined in block
 * order. Allocates scratch from the calling thread's arena; false on failure. */
bool tc_reduce_sum_into(const tc_scalar *x, int ndim, const int64_t *shape, const bool *reduced, double scale,
                        tc_scalar *out, bool accumulate);

#define TC_ELEMENTWISE_GRAIN 32768

/* for (i = 0; i < n; i++) { ... }, written as fixed-length blocks of TC_VEC and
 * a tail: GCC's -O2 cost model vectorises only loops whose trip count it
 * knows, so this is what makes the element loops SIMD (with restrict
 * pointers in the enclosing function). */
#define TC_VEC 16
#define TC_FOR_VEC(i, n, ...)                                                        \
    do {                                                                             \
        int64_t i##_blk_ = 0, i##_n_ = (n);                                          \
        for (; i##_blk_ + TC_VEC <= i##_n_; i##_blk_ += TC_VEC)                      \
            for (int i##_k_ = 0; i##_k_ < TC_VEC; i##_k_++) {                        \
                int64_t i = i##_blk_ + i##_k_;                                       \
                __VA_ARGS__;                                                         \
            }                                                                        \
        for (int64_t i = i##_blk_; i < i##_n_; i++) { __VA_ARGS__; }                 \
    } while (0)

/* exp that the compiler can vectorise (libm's is a call per element): in
 * float, 2^n * p(r) with n = round(x / ln 2), r = x - n ln 2 (two-part
 * ln 2) and a degree-7 Taylor polynomial on |r| <= ln2/2 (truncation
 * < 1e-8 relative; about 1-2 ulp in all). 2^n is applied as two factors so
 * that overflow to inf and underflow through the denormals to 0 happen in
 * the final multiply, as IEEE arithmetic does them. NaN stays NaN. In double
 * (the gradient-check build): libm. */
#ifdef TC_DOUBLE
static inline tc_scalar tc_vexp(tc_scalar x) { return exp(x); }
#else
static inline float tc_vexp(float x)
{
    float xc = x != x ? 0.0f : x < -104.0f ? -104.0f : x > 89.0f ? 89.0f : x;
    float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;    /* ln 2 = 0.693359375 - 2.12194440e-4 */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t ni = (int32_t)n, n1 = ni >> 1, n2 = ni - n1; /* each in [-75, 64] */
    int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return x != x ? x : p * s1 * s2;
}
#endif

#endif
