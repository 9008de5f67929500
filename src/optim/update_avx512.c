/* Adam and RMSprop for AVX-512: 16 elements per vector, the operations of
 * tc_adam_elem / tc_rmsprop_elem in the same order (explicit FMAs, IEEE
 * sqrt and division), so the bits equal the scalar loops'; the tail runs
 * those scalar functions. */
#include "optim_internal.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

/* tc_optim_grad for 16 elements: max(-v, g) then min(v, .) return g itself
 * when it is NaN, as the scalar clip does. */
static inline __m512 grad(const tc_update_job *j, const float *p, int64_t i)
{
    __m512 g = _mm512_loadu_ps(j->g + i);
    if (j->o->clip_value > 0) {
        float v = (float)j->o->clip_value;
        g = _mm512_min_ps(_mm512_set1_ps(v), _mm512_max_ps(_mm512_set1_ps(-v), g));
    }
    if (j->clip_scale != 1) g = _mm512_mul_ps(g, _mm512_set1_ps((float)j->clip_scale));
    if (j->o->weight_decay != 0) g = _mm512_fmadd_ps(_mm512_set1_ps((float)j->o->weight_decay), _mm512_loadu_ps(p + i), g);
    return g;
}

void tc_adam_update_avx512(const tc_update_job *j, const tc_adam_consts *k, int64_t lo, int64_t hi)
{
    float *p = j->p, *m = j->s[0], *v = j->s[1];
    const __m512 b1 = _mm512_set1_ps(k->b1), c1 = _mm512_set1_ps(k->c1), b2 = _mm512_set1_ps(k->b2), c2 = _mm512_set1_ps(k->c2);
    const __m512 eps = _mm512_set1_ps(k->eps), step = _mm512_set1_ps(k->step), bc2 = _mm512_set1_ps(k->bc2_sqrt);
    int64_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 g = grad(j, p, i);
        __m512 mi = _mm512_fmadd_ps(b1, _mm512_loadu_ps(m + i), _mm512_mul_ps(c1, g));
        __m512 vi = _mm512_fmadd_ps(b2, _mm512_loadu_ps(v + i), _mm512_mul_ps(_mm512_mul_ps(c2, g), g));
        __m512 d = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
        __m512 pi = _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_div_ps(_mm512_mul_ps(step, mi), d));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(p + i, pi);
    }
    for (; i < hi; i++) tc_adam_elem(k, tc_optim_grad(j, i), p + i, m + i, v + i);
}

void tc_rmsprop_update_avx512(const tc_update_job *j, const tc_rmsprop_consts *k, int64_t lo, int64_t hi)
{
    float *p = j->p, *ms = j->s[0], *mom = j->s[1], *mg = j->o->centered ? j->s[2] : NULL;
    const __m512 rho = _mm512_set1_ps(k->rho), c = _mm512_set1_ps(k->c), eps = _mm512_set1_ps(k->eps);
    const __m512 mu = _mm512_set1_ps(k->mu), lr = _mm512_set1_ps(k->lr);
    int64_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 g = grad(j, p, i);
        __m512 s = _mm512_fmadd_ps(rho, _mm512_loadu_ps(ms + i), _mm512_mul_ps(_mm512_mul_ps(c, g), g)), den = s;
        _mm512_storeu_ps(ms + i, s);
        if (mg) {
            __m512 a = _mm512_fmadd_ps(rho, _mm512_loadu_ps(mg + i), _mm512_mul_ps(c, g));
            _mm512_storeu_ps(mg + i, a);
            den = _mm512_fnmadd_ps(a, a, s); /* -(a a) + s, rounded once: fma(-a, a, s) */
        }
        __m512 u = _mm512_fmadd_ps(mu, _mm512_loadu_ps(mom + i),
                               _mm512_div_ps(_mm512_mul_ps(lr, g), _mm512_sqrt_ps(_mm512_add_ps(den, eps))));
        _mm512_storeu_ps(mom + i, u);
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), u));
    }
    for (; i < hi; i++) tc_rmsprop_elem(k, tc_optim_grad(j, i), p + i, ms + i, mom + i, mg ? mg + i : NULL);
}
#endif
