/* Optimizers: SGD (momentum, Nesterov), Adam, RMSprop (TensorFlow's
 * semantics), with L2 regularisation, clipping by global norm or by value,
 * and exponential learning-rate decay.
 *
 * An optimizer updates parameters (tensors made with tc_tensor_new that
 * require gradients) from their ->grad. Its per-parameter state ("slots":
 * Adam's m and v, momentum buffers) is created on first use, keyed by the
 * parameter's address, and can be read and written for checkpoints.
 *
 * Rules (each one flat loop per parameter, split over the thread pool; the
 * same bits for any thread count):
 *   SGD      torch.optim.SGD, dampening 0: buf = momentum*buf + g;
 *            p -= lr * (nesterov ? g + momentum*buf : buf)
 *   Adam     torch.optim.Adam: bias-corrected, eps outside the sqrt
 *   RMSprop  tf.train.RMSPropOptimizer (TF 1.x): ms starts at ONE,
 *            ms = decay*ms + (1-decay)*g^2; mom = momentum*mom + lr*g/sqrt(ms+eps);
 *            p -= mom (centered: ms - mg^2 under the sqrt, mg the mean gradient)
 * The gradient a rule sees, in this order: ->grad clipped to
 * [-clip_value, clip_value]; times clip_norm / max(global_norm, clip_norm)
 * (tf.clip_by_global_norm, the norm over every updated parameter, after
 * value clipping); plus weight_decay * param (L2, PyTorch's weight_decay).
 * tc_optimizer_step does not change ->grad. */
#ifndef TENSORCOOK_OPTIM_H
#define TENSORCOOK_OPTIM_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TC_OPT_SGD, TC_OPT_ADAM, TC_OPT_RMSPROP } tc_optimizer_kind;

/* Zero fields take the default shown. */
typedef struct {
    double lr;             /* SGD 0.01, Adam 0.001, RMSprop 0.001 */
    double momentum;       /* SGD and RMSprop; default 0 */
    bool nesterov;         /* SGD */
    double beta1, beta2;   /* Adam: 0.9, 0.999 */
    double eps;            /* Adam 1e-8, RMSprop 1e-10 */
    double decay;          /* RMSprop's discounting factor rho: 0.9 */
    bool centered;         /* RMSprop: normalise by the centred second moment */
    double weight_decay;   /* L2 regularisation: adds weight_decay * param to each gradient */
    double clip_norm;      /* > 0: rescale all gradients so their global norm is at most this */
    double clip_value;     /* > 0: clip each gradient element to [-clip_value, clip_value] */
    double lr_decay_rate;  /* > 0: lr * rate^(step / lr_decay_steps), exponential decay */
    int64_t lr_decay_steps;
    bool lr_staircase;     /* integer division in the exponent (TensorFlow's staircase) */
} tc_optim_opts;

typedef struct tc_optimizer tc_optimizer;

tc_optimizer *tc_optimizer_new(tc_optimizer_kind kind, const tc_optim_opts *opts);
/* Shorthands with every other option at its default. */
tc_optimizer *tc_sgd(double lr, double momentum, bool nesterov);
tc_optimizer *tc_adam(double lr);
tc_optimizer *tc_rmsprop(double lr, double decay, double momentum, double eps);
void tc_optimizer_free(tc_optimizer *opt);

/* One update of every parameter that requires a gradient and has one.
 * Parameters without a gradient, or that do not require one (frozen
 * layers), and NULL entries are skipped. Everything is checked (and every
 * slot created) before anything changes: on error nothing is updated. */
tc_status tc_optimizer_step(tc_optimizer *opt, int n, tc_tensor *const *params);
/* Set ->grad of each parameter to zero. */
void tc_zero_grads(int n, tc_tensor *const *params);

/* Learning rate at the current step: lr * rate^(steps / decay_steps)
 * (floor of the exponent with staircase), steps = updates done so far, as
 * tf.train.exponential_decay with global_step. set_lr sets the base lr;
 * set_lr / set_steps with a negative value set an error and change nothing. */
double tc_optimizer_lr(const tc_optimizer *opt);
void tc_optimizer_set_lr(tc_optimizer *opt, double lr);
int64_t tc_optimizer_steps(const tc_optimizer *opt);
void tc_optimizer_set_steps(tc_optimizer *opt, int64_t steps);
tc_optimizer_kind tc_optimizer_get_kind(const tc_optimizer *opt);
const tc_optim_opts *tc_optimizer_opts(const tc_optimizer *opt);

/* State for checkpoints: slot k of a parameter, created (zeros, or TF's
 * initial value) if absent. SGD: "momentum" (none without momentum); Adam:
 * "m", "v"; RMSprop: "ms", "mom", and "mg" when centered. The step count
 * (tc_optimizer_steps) is the rest of the state. */
int tc_optimizer_slot_count(const tc_optimizer *opt);
const char *tc_optimizer_slot_name(const tc_optimizer *opt, int slot);
tc_tensor *tc_optimizer_slot(tc_optimizer *opt, const tc_tensor *param, int slot);

/* Clipping helpers, in place on ->grad of the parameters that require a
 * gradient and have one (the optimizers apply the same clipping without
 * writing ->grad). tc_clip_grad_norm rescales to max_norm when the global
 * norm exceeds it (max_norm 0: only measure) and returns the global norm
 * before clipping, or a negative value on error. */
double tc_clip_grad_norm(int n, tc_tensor *const *params, double max_norm);
tc_status tc_clip_grad_value(int n, tc_tensor *const *params, double clip_value);

#ifdef __cplusplus
}
#endif
#endif
