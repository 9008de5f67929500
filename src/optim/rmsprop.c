/* RMSprop as TensorFlow 1.x's tf.train.RMSPropOptimizer (ApplyRMSProp,
 * ApplyCenteredRMSProp). Slot "ms" starts at ONE (TF 1.x's ones_initializer),
 * "mom" and "mg" at zero:
 *   ms  = decay ms + (1-decay) g^2
 *   mg  = decay mg + (1-decay) g                  (centered only)
 *   mom = momentum mom + lr g / sqrt(ms - mg^2 + eps)
 *   p  -= mom */
#include "optim_internal.h"

#include <math.h>

void tc_rmsprop_update(void *job, int64_t lo, int64_t hi)
{
    const tc_update_job *j = job;
    const tc_optim_opts *o = j->o;
    tc_scalar rho = (tc_scalar)o->decay, eps = (tc_scalar)o->eps, mu = (tc_scalar)o->momentum;
    tc_scalar lr = (tc_scalar)j->lr;
    tc_scalar *p = j->p, *ms = j->s[0], *mom = j->s[1], *mg = j->s[2];
    for (int64_t i = lo; i < hi; i++) {
        tc_scalar g = tc_optim_grad(j, i);
        ms[i] = rho * ms[i] + (1 - rho) * g * g;
        tc_scalar denom = ms[i];
        if (o->centered) {
            mg[i] = rho * mg[i] + (1 - rho) * g;
            denom -= mg[i] * mg[i];
        }
        mom[i] = mu * mom[i] + lr * g / sqrt(denom + eps);
        p[i] -= mom[i];
    }
}
