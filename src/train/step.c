/* The training step shared by tc_fit and every custom loop (the recipes'
 * sequence models, image optimisation): loss, backward, update, and the
 * release of everything the step made, in one place. */
#include "tensorcook/autograd.h"
#include "tensorcook/train.h"

#include <math.h>

tc_status tc_train_step(tc_optimizer *opt, int n_params, tc_tensor *const *params, tc_loss_fn fn, void *ctx,
                        double *loss)
{
    if (!opt || !fn || n_params < 0 || (n_params > 0 && !params))
        return tc_error(TC_ERR_ARG, "train_step: needs an optimizer, a loss function and the parameters");
    /* a mark, not a reset: step tensors the caller made before the step
     * (inputs, a recurrent state) stay valid */
    tc_step_mark mark = tc_step_get_mark();
    bool was = tc_set_grad_enabled(true);
    tc_zero_grads(n_params, params);
    tc_tensor *l = fn(ctx);
    tc_status s = TC_OK;
    double value = NAN;
    if (!l) {
        s = tc_last_status() ? tc_last_status()
                             : tc_error(TC_ERR_STATE, "train_step: the loss function returned NULL without an error");
    } else if (tc_numel(l) != 1) {
        s = tc_error(TC_ERR_SHAPE, "train_step: the loss has shape %s; it must have one element",
                     tc_shape_str(l, (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX));
    } else {
        tc_scalar v;
        tc_read_values(l, &v);
        value = v;
        /* checked before the update, so a diverged step leaves the weights as they were */
        if (!isfinite(value))
            s = tc_error(TC_ERR_STATE, "train_step: the loss became %g (learning rate too high?)", value);
        else if ((s = tc_backward(l)) == TC_OK)
            s = tc_optimizer_step(opt, n_params, params);
    }
    if (loss) *loss = value;
    tc_set_grad_enabled(was);
    tc_step_release(mark);
    return s;
}

tc_status tc_model_train_step(tc_model *m, tc_optimizer *opt, tc_loss_fn fn, void *ctx, double *loss)
{
    if (!m) return tc_error(TC_ERR_ARG, "train_step: model is NULL");
    tc_tensor **params;
    int n = tc_model_trainable_params(m, &params);
    return tc_train_step(opt, n, params, fn, ctx, loss);
}
