/* SGD as torch.optim.SGD (dampening 0): with momentum the buffer is
 *   buf = momentum * buf + g          (buf starts at zero, so the first
 *                                      buffer is g, as in PyTorch)
 * and the step uses buf, or g + momentum * buf with Nesterov. */
#include "optim_internal.h"

void tc_sgd_update(void *job, int64_t lo, int64_t hi)
{
    const tc_update_job *j = job;
    tc_scalar lr = (tc_scalar)j->lr, mu = (tc_scalar)j->o->momentum;
    tc_scalar *p = j->p, *buf = j->s[0];
    if (mu == 0) {
        for (int64_t i = lo; i < hi; i++) p[i] -= lr * tc_optim_grad(j, i);
        return;
    }
    bool nesterov = j->o->nesterov;
    for (int64_t i = lo; i < hi; i++) {
        tc_scalar g = tc_optim_grad(j, i);
        buf[i] = mu * buf[i] + g;
        p[i] -= lr * (nesterov ? g + mu * buf[i] : buf[i]);
    }
}
