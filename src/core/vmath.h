/* Vectorisable exp, sigmoid and tanh for the element loops (libm's are a
 * call per element, which the compiler cannot turn into SIMD): the
 * activation kernels (activation.c) and the batch-1 LSTM step
 * (src/nn/lstm_stepper.c) share them. In double (the gradient-check build)
 * exp and tanh are libm's. */
#ifndef TC_VMATH_H
#define TC_VMATH_H

#include "internal.h"

#include <math.h>
#include <string.h>

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

/* 1 / (1 + e^-v), from e^-|v| so that it never overflows */
static inline tc_scalar tc_vsigmoid(tc_scalar v)
{
    tc_scalar e = tc_vexp(v < 0 ? v : -v); /* e^-|v|: never overflows */
    tc_scalar d = 1 / (1 + e);
    return v >= 0 ? d : e * d;
}

/* tanh(|v|) = (1 - e) / (1 + e), e = e^-2|v|; below 0.55 the difference
 * 1 - e would cancel, so there -expm1(z) / (2 + expm1(z)), z = -2|v|, with
 * expm1 as its Taylor series (|z| < 1.1, degree 12: < 1e-8 relative) */
static inline tc_scalar tc_vtanh(tc_scalar v)
{
#ifdef TC_DOUBLE
    return tanh(v);
#else
    float ax = v < 0 ? -v : v;
    float e = tc_vexp(-2 * ax), big = (1 - e) / (1 + e);
    float z = -2 * (ax < 0.55f ? ax : 0.55f);
    float em = z * (1 + z / 2 * (1 + z / 3 * (1 + z / 4 * (1 + z / 5 * (1 + z / 6 * (1 + z / 7 * (1 + z / 8 *
               (1 + z / 9 * (1 + z / 10 * (1 + z / 11 * (1 + z / 12)))))))))));
    float small = -em / (2 + em);
    float t = ax < 0.55f ? small : big;
    return v < 0 ? -t : (v != v ? v : t);
#endif
}

#endif
