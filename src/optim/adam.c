/* Adam as torch.optim.Adam (amsgrad off): bias-corrected moments and eps
 * outside the square root:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
#include "optim_internal.h"

#include <math.h>

void tc_adam_update(void *job, int64_t lo, int64_t hi)
{
    const tc_update_job *j = job;
    const tc_optim_opts *o = j->o;
    tc_scalar b1 = (tc_scalar)o->beta1, b2 = (tc_scalar)o->beta2, eps = (tc_scalar)o->eps;
    tc_scalar step = (tc_scalar)(j->lr / (1 - pow(o->beta1, (double)j->t)));
    tc_scalar bc2_sqrt = (tc_scalar)sqrt(1 - pow(o->beta2, (double)j->t));
    tc_scalar *p = j->p, *m = j->s[0], *v = j->s[1];
    for (int64_t i = lo; i < hi; i++) {
        tc_scalar g = tc_optim_grad(j, i);
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        p[i] -= step * m[i] / (sqrt(v[i]) / bc2_sqrt + eps);
    }
}
