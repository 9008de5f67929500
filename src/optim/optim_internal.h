/* Shared by the optimizer sources (not installed): the optimizer object,
 * its per-parameter slots, and the per-range update kernels of each rule. */
#ifndef TC_OPTIM_INTERNAL_H
#define TC_OPTIM_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/optim.h"

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

/* The gradient an update rule sees: clipped by value, rescaled by the
 * global norm, plus L2 regularisation (PyTorch's order: weight decay is
 * added after clipping, inside the step). Parameters' ->grad are not changed. */
static inline tc_scalar tc_optim_grad(const tc_update_job *j, int64_t i)
{
    tc_scalar g = j->g[i];
    if (j->o->clip_value > 0) {
        tc_scalar v = (tc_scalar)j->o->clip_value;
        g = g > v ? v : g < -v ? -v : g;
    }
    if (j->clip_scale != 1) g *= (tc_scalar)j->clip_scale;
    return g + (tc_scalar)j->o->weight_decay * j->p[i];
}

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
