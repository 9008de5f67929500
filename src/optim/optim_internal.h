/* Shared by the optimizer sources (not installed): the optimizer object,
 * its per-parameter slots, and the per-range update kernels of each rule. */
#ifndef TC_OPTIM_INTERNAL_H
#define TC_OPTIM_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/optim.h"

#include <math.h>

#define TC_OPTIM_MAX_SLOTS 3

/* The state of one parameter, keyed by the parameter's address. */
typedef struct {
    const tc_tensor *param;
    tc_tensor *slot[TC_OPTIM_MAX_SLOTS]; /* long-lived, the parameter's shape */
} tc_slot_entry;

/* The state of a flat block of parameters (a model's weights): one slot
 * block per slot, in the weights' layout; the parameters' entries are views
 * into them. */
typedef struct {
    const tc_block *weights;
    tc_block *slot[TC_OPTIM_MAX_SLOTS];
} tc_block_entry;

struct tc_optimizer {
    tc_optimizer_kind kind;
    tc_optim_opts o;
    int64_t steps;
    tc_slot_entry *entries;
    int n_entries, cap_entries;
    tc_block_entry *blocks;
    int n_blocks;
};

/* One parameter's update over [lo, hi): everything a kernel reads. */
typedef struct {
    const tc_optim_opts *o;
    tc_scalar *p;
    const tc_scalar *g;
    tc_scalar *s[TC_OPTIM_MAX_SLOTS];
    double lr;          /* after decay */
    double clip_scale;  /* global-norm factor, 1 when not clipping */
    int64_t t;          /* 1-based number of this update (Adam's bias correction) */
} tc_update_job;

/* Fused multiply-add and square root in tc_scalar's precision. The update
 * rules spell out every a*b+c as TC_OPT_FMA so that the scalar loops and the
 * vector kernels (update_avx2.c, update_avx512.c) do the same rounding steps
 * whatever the compiler contracts: every ISA gives the same bits. */
#ifdef TC_DOUBLE
#define TC_OPT_FMA fma
#define TC_OPT_SQRT sqrt
#else
#define TC_OPT_FMA fmaf
#define TC_OPT_SQRT sqrtf
#endif

/* The gradient an update rule sees: clipped by value, rescaled by the
 * global norm, plus L2 regularisation (PyTorch's order: weight decay is
 * added after clipping, inside the step; skipped when 0, as PyTorch does).
 * Parameters' ->grad are not changed. The vector kernels repeat these steps
 * in this order (NaN gradients pass the clip unchanged). */
static inline tc_scalar tc_optim_grad(const tc_update_job *j, int64_t i)
{
    tc_scalar g = j->g[i];
    if (j->o->clip_value > 0) {
        tc_scalar v = (tc_scalar)j->o->clip_value;
        g = g > v ? v : g < -v ? -v : g;
    }
    if (j->clip_scale != 1) g *= (tc_scalar)j->clip_scale;
    if (j->o->weight_decay != 0) g = TC_OPT_FMA((tc_scalar)j->o->weight_decay, j->p[i], g);
    return g;
}

/* Per-call constants of Adam (bias corrections folded in) and RMSprop, in
 * tc_scalar, shared by the scalar loops and the vector kernels. */
typedef struct {
    tc_scalar b1, c1, b2, c2, eps, step, bc2_sqrt; /* c1 = 1 - b1, c2 = 1 - b2 */
} tc_adam_consts;
typedef struct {
    tc_scalar rho, c, eps, mu, lr; /* c = 1 - rho */
} tc_rmsprop_consts;

/* One element of Adam, in the order the vector kernels follow:
 *   m = b1 m + c1 g;  v = b2 v + (c2 g) g;  p -= (step m) / (sqrt(v) / bc2_sqrt + eps) */
static inline void tc_adam_elem(const tc_adam_consts *k, tc_scalar g, tc_scalar *p, tc_scalar *m, tc_scalar *v)
{
    tc_scalar mi = TC_OPT_FMA(k->b1, *m, k->c1 * g);
    tc_scalar vi = TC_OPT_FMA(k->b2, *v, (k->c2 * g) * g);
    *m = mi, *v = vi;
    *p = *p - (k->step * mi) / (TC_OPT_SQRT(vi) / k->bc2_sqrt + k->eps);
}

/* One element of RMSprop (mg is NULL when not centered):
 *   ms = rho ms + (c g) g;  mg = rho mg + c g;  mom = mu mom + (lr g) / sqrt(ms - mg mg + eps);  p -= mom */
static inline void tc_rmsprop_elem(const tc_rmsprop_consts *k, tc_scalar g, tc_scalar *p, tc_scalar *ms, tc_scalar *mom,
                                   tc_scalar *mg)
{
    tc_scalar s = TC_OPT_FMA(k->rho, *ms, (k->c * g) * g), den = s;
    *ms = s;
    if (mg) {
        tc_scalar a = TC_OPT_FMA(k->rho, *mg, k->c * g);
        *mg = a;
        den = TC_OPT_FMA(-a, a, s);
    }
    tc_scalar u = TC_OPT_FMA(k->mu, *mom, (k->lr * g) / TC_OPT_SQRT(den + k->eps));
    *mom = u;
    *p = *p - u;
}

/* Vector kernels of Adam and RMSprop over [lo, hi) (float builds; the
 * callers pick one by tc_isa()); the same bits as the scalar loops. */
void tc_adam_update_avx2(const tc_update_job *j, const tc_adam_consts *k, int64_t lo, int64_t hi);
void tc_adam_update_avx512(const tc_update_job *j, const tc_adam_consts *k, int64_t lo, int64_t hi);
void tc_rmsprop_update_avx2(const tc_update_job *j, const tc_rmsprop_consts *k, int64_t lo, int64_t hi);
void tc_rmsprop_update_avx512(const tc_update_job *j, const tc_rmsprop_consts *k, int64_t lo, int64_t hi);

/* Update rules, in sgd.c, adam.c and rmsprop.c (tc_range_fn over elements). */
void tc_sgd_update(void *job, int64_t lo, int64_t hi);
void tc_adam_update(void *job, int64_t lo, int64_t hi);
void tc_rmsprop_update(void *job, int64_t lo, int64_t hi);

/* Whether the optimizer updates p: it requires a gradient and has one. */
static inline bool tc_optim_has_update(const tc_tensor *p)
{
    return p && (p->flags & TC_REQUIRES_GRAD) && p->grad;
}

/* Global L2 norm of the gradients of the parameters that have an update,
 * after clipping each value to [-clip_value, clip_value] when clip_value > 0.
 * Summed in fixed blocks, in order: the same bits for any thread count.
 * Returns -1 (error set) when out of memory. */
double tc_optim_global_norm(int n, tc_tensor *const *params, double clip_value);

#endif
