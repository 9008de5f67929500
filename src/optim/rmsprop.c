/* RMSprop as TensorFlow 1.x's tf.train.RMSPropOptimizer (ApplyRMSProp,
 * ApplyCenteredRMSProp). Slot "ms" starts at ONE (TF 1.x's ones_initializer),
 * "mom" and "mg" at zero:
 *   ms  = decay ms + (1-decay) g^2
 *   mg  = decay mg + (1-decay) g                  (centered only)
 *   mom = momentum mom + lr g / sqrt(ms - mg^2 + eps)
 *   p  -= mom
 * in tc_scalar arithmetic (tc_rmsprop_elem); the AVX2 / AVX-512 kernels give
 * the same bits 8 / 16 elements at a time. */
#include "optim_internal.h"

void tc_rmsprop_update(void *job, int64_t lo, int64_t hi)
{
    const tc_update_job *j = job;
    const tc_optim_opts *o = j->o;
    tc_rmsprop_consts k = {
        .rho = (tc_scalar)o->decay,
        .c = 1 - (tc_scalar)o->decay,
        .eps = (tc_scalar)o->eps,
        .mu = (tc_scalar)o->momentum,
        .lr = (tc_scalar)j->lr,
    };
#ifndef TC_DOUBLE
    switch (tc_isa()) {
    case TC_ISA_AVX512: tc_rmsprop_update_avx512(j, &k, lo, hi); return;
    case TC_ISA_AVX2: tc_rmsprop_update_avx2(j, &k, lo, hi); return;
    default: break;
    }
#endif
    tc_scalar *p = j->p, *ms = j->s[0], *mom = j->s[1], *mg = o->centered ? j->s[2] : NULL;
    for (int64_t i = lo; i < hi; i++)
        tc_rmsprop_elem(&k, tc_optim_grad(j, i), p + i, ms + i, mom + i, mg ? mg + i : NULL);
}
