/* Sigmoid and tanh that the compiler can vectorise (built on tc_vexp):
 * shared by the activation ops and the fused recurrent cells. */
#ifndef TC_VMATH_H
#define TC_VMATH_H

#include "broadcast.h"

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
