/* Adam and RMSprop for AVX2: 8 elements per vector, the operations of
 * tc_adam_elem / tc_rmsprop_elem in the same order (explicit FMAs, IEEE
 * sqrt and division), so the bits equal the scalar loops'; the tail runs
 * those scalar functions. */
#include "optim_internal.h"

#ifndef TC_DOUBLE
#include <immintrin.h>

/* tc_optim_grad for 8 elements: max(-v, g) then min(v, .) return g itself
 * when it is NaN, as the scalar clip does. */
static inline __m256 grad(const tc_update_job *j, const float *p, int64_t i)
{
    __m256 g = _mm256_loadu_ps(j->g + i);
    if (j->o->clip_value > 0) {
        float v = (float)j->o->clip_value;
        g = _mm256_min_ps(_mm256_set1_ps(v), _mm256_max_ps(_mm256_set1_ps(-v), g));
    }
    if (j->clip_scale != 1) g = _mm256_mul_ps(g, _mm256_set1_ps((float)j->clip_scale));
    if (j->o->weight_decay != 0) g = _mm256_fmadd_ps(_mm256_set1_ps((float)j->o->weight_decay), _mm256_loadu_ps(p + i), g);
    return g;
}

void tc_adam_update_avx2(const tc_update_job *j, const tc_adam_consts *k, int64_t lo, int64_t hi)
{
    float *p = j->p, *m = j->s[0], *v = j->s[1];
    const __m256 b1 = _mm256_set1_ps(k->b1), c1 = _mm256_set1_ps(k->c1), b2 = _mm256_set1_ps(k->b2), c2 = _mm256_set1_ps(k->c2);
    const __m256 eps = _mm256_set1_ps(k->eps), step = _mm256_set1_ps(k->step), bc2 = _mm256_set1_ps(k->bc2_sqrt);
    int64_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 g = grad(j, p, i);
        __m256 mi = _mm256_fmadd_ps(b1, _mm256_loadu_ps(m + i), _mm256_mul_ps(c1, g));
        __m256 vi = _mm256_fmadd_ps(b2, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(c2, g), g));
        __m256 d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
        __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(step, mi), d));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    for (; i < hi; i++) tc_adam_elem(k, tc_optim_grad(j, i), p + i, m + i, v + i);
}

void tc_rmsprop_update_avx2(const tc_update_job *j, const tc_rmsprop_consts *k, int64_t lo, int64_t hi)
{
    float *p = j->p, *ms = j->s[0], *mom = j->s[1], *mg = j->o->centered ? j->s[2] : NULL;
    const __m256 rho = _mm256_set1_ps(k->rho), c = _mm256_set1_ps(k->c), eps = _mm256_set1_ps(k->eps);
    const __m256 mu = _mm256_set1_ps(k->mu), lr = _mm256_set1_ps(k->lr);
    int64_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 g = grad(j, p, i);
        __m256 s = _mm256_fmadd_ps(rho, _mm256_loadu_ps(ms + i), _mm256_mul_ps(_mm256_mul_ps(c, g), g)), den = s;
        _mm256_storeu_ps(ms + i, s);
        if (mg) {
            __m256 a = _mm256_fmadd_ps(rho, _mm256_loadu_ps(mg + i), _mm256_mul_ps(c, g));
            _mm256_storeu_ps(mg + i, a);
            den = _mm256_fnmadd_ps(a, a, s); /* -(a a) + s, rounded once: fma(-a, a, s) */
        }
        __m256 u = _mm256_fmadd_ps(mu, _mm256_loadu_ps(mom + i),
                               _mm256_div_ps(_mm256_mul_ps(lr, g), _mm256_sqrt_ps(_mm256_add_ps(den, eps))));
        _mm256_storeu_ps(mom + i, u);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), u));
    }
    for (; i < hi; i++) tc_rmsprop_elem(k, tc_optim_grad(j, i), p + i, ms + i, mom + i, mg ? mg + i : NULL);
}
#endif
