/* Adam as torch.optim.Adam (amsgrad off): bias-corrected moments and eps
 * outside the square root:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * in tc_scalar arithmetic (tc_adam_elem); the AVX2 / AVX-512 kernels give the
 * same bits 8 / 16 elements at a time (the update was ~11% of a C3D step as
 * a scalar loop in double). */
#include "optim_internal.h"

#include <math.h>

void tc_adam_update(void *job, int64_t lo, int64_t hi)
{
    const tc_update_job *j = job;
    const tc_optim_opts *o = j->o;
    tc_adam_consts k = {
        .b1 = (tc_scalar)o->beta1,
        .c1 = 1 - (tc_scalar)o->beta1,
        .b2 = (tc_scalar)o->beta2,
        .c2 = 1 - (tc_scalar)o->beta2,
        .eps = (tc_scalar)o->eps,
        .step = (tc_scalar)(j->lr / (1 - pow(o->beta1, (double)j->t))),
        .bc2_sqrt = (tc_scalar)sqrt(1 - pow(o->beta2, (double)j->t)),
    };
#ifndef TC_DOUBLE
    switch (tc_isa()) {
    case TC_ISA_AVX512: tc_adam_update_avx512(j, &k, lo, hi); return;
    case TC_ISA_AVX2: tc_adam_update_avx2(j, &k, lo, hi); return;
    default: break;
    }
#endif
    tc_scalar *p = j->p, *m = j->s[0], *v = j->s[1];
    for (int64_t i = lo; i < hi; i++) tc_adam_elem(&k, tc_optim_grad(j, i), p + i, m + i, v + i);
}
