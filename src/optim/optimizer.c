/* Optimizers. One flat loop per parameter for each rule; the common part
 * (L2 regularisation, clipping, learning-rate decay, slots) is shared.
 *   SGD      PyTorch's torch.optim.SGD (momentum buffer starts as the first
 *            gradient; Nesterov uses g + momentum * buf)
 *   Adam     PyTorch's torch.optim.Adam (bias-corrected, eps outside the sqrt)
 *   RMSprop  TensorFlow 1.x's RMSPropOptimizer: ms starts at ONE,
 *            ms = decay*ms + (1-decay)*g^2, mom = momentum*mom + lr*g/sqrt(ms+eps),
 *            p -= mom (centered: ms - mg^2 under the sqrt)
 * Clipping follows tf.clip_by_global_norm: g *= clip / max(norm, clip). */
#include "../core/internal.h"
#include "tensorcook/optim.h"

#include <math.h>
#include <stdlib.h>

#define MAX_SLOTS 3

typedef struct {
    const tc_tensor *param;
    tc_tensor *slot[MAX_SLOTS];
    bool started; /* slots hold state (SGD's momentum buffer starts as the first gradient) */
} slot_entry;

struct tc_optimizer {
    tc_optimizer_kind kind;
    tc_optim_opts o;
    int64_t steps;
    slot_entry *entries;
    int n_entries, cap_entries;
};

static const char *slot_names[3][MAX_SLOTS] = {{"momentum"}, {"m", "v"}, {"ms", "mom", "mg"}};
static const int slot_counts[3] = {1, 2, 3};

tc_optimizer *tc_optimizer_new(tc_optimizer_kind kind, const tc_optim_opts *opts)
{
    if ((unsigned)kind > TC_OPT_RMSPROP) {
        tc_error(TC_ERR_ARG, "optimizer: unknown kind %d", (int)kind);
        return NULL;
    }
    tc_optim_opts o = opts ? *opts : (tc_optim_opts){0};
    if (o.lr < 0 || o.momentum < 0 || o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1 || o.eps < 0 ||
        o.decay < 0 || o.decay >= 1 || o.weight_decay < 0 || o.clip_norm < 0 || o.clip_value < 0 ||
        o.lr_decay_rate < 0 || (o.lr_decay_rate > 0 && o.lr_decay_steps <= 0)) {
        tc_error(TC_ERR_ARG, "optimizer: invalid options (lr %g, momentum %g, beta1 %g, beta2 %g, eps %g, decay %g, "
                             "weight_decay %g, clip_norm %g, clip_value %g, lr_decay_rate %g, lr_decay_steps %lld)",
                 o.lr, o.momentum, o.beta1, o.beta2, o.eps, o.decay, o.weight_decay, o.clip_norm, o.clip_value,
                 o.lr_decay_rate, (long long)o.lr_decay_steps);
        return NULL;
    }
    if (o.lr == 0) o.lr = kind == TC_OPT_SGD ? 0.01 : 0.001;
    if (o.beta1 == 0) o.beta1 = 0.9;
    if (o.beta2 == 0) o.beta2 = 0.999;
    if (o.eps == 0) o.eps = kind == TC_OPT_ADAM ? 1e-8 : 1e-10;
    if (o.decay == 0) o.decay = 0.9;
    tc_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt) {
        tc_error(TC_ERR_MEMORY, "optimizer: out of memory");
        return NULL;
    }
    opt->kind = kind;
    opt->o = o;
    return opt;
}

tc_optimizer *tc_sgd(double lr, double momentum, bool nesterov)
{
    return tc_optimizer_new(TC_OPT_SGD, &(tc_optim_opts){.lr = lr, .momentum = momentum, .nesterov = nesterov});
}
tc_optimizer *tc_adam(double lr) { return tc_optimizer_new(TC_OPT_ADAM, &(tc_optim_opts){.lr = lr}); }
tc_optimizer *tc_rmsprop(double lr, double decay, double momentum, double eps)
{
    return tc_optimizer_new(TC_OPT_RMSPROP, &(tc_optim_opts){.lr = lr, .decay = decay, .momentum = momentum, .eps = eps});
}

void tc_optimizer_free(tc_optimizer *opt)
{
    if (!opt) return;
    for (int i = 0; i < opt->n_entries; i++)
        for (int k = 0; k < MAX_SLOTS; k++) tc_tensor_free(opt->entries[i].slot[k]);
    free(opt->entries);
    free(opt);
}

double tc_optimizer_lr(const tc_optimizer *opt)
{
    if (!opt) return 0;
    double lr = opt->o.lr;
    if (opt->o.lr_decay_rate > 0) {
        double e = (double)opt->steps / (double)opt->o.lr_decay_steps;
        if (opt->o.lr_staircase) e = floor(e);
        lr *= pow(opt->o.lr_decay_rate, e);
    }
    return lr;
}
void tc_optimizer_set_lr(tc_optimizer *opt, double lr)
{
    if (opt && lr >= 0) opt->o.lr = lr;
}
int64_t tc_optimizer_steps(const tc_optimizer *opt) { return opt ? opt->steps : 0; }
void tc_optimizer_set_steps(tc_optimizer *opt, int64_t steps)
{
    if (opt && steps >= 0) opt->steps = steps;
}
tc_optimizer_kind tc_optimizer_get_kind(const tc_optimizer *opt) { return opt ? opt->kind : TC_OPT_SGD; }
const tc_optim_opts *tc_optimizer_opts(const tc_optimizer *opt) { return opt ? &opt->o : NULL; }
int tc_optimizer_slot_count(const tc_optimizer *opt) { return opt ? slot_counts[opt->kind] : 0; }
const char *tc_optimizer_slot_name(const tc_optimizer *opt, int slot)
{
    return opt && slot >= 0 && slot < slot_counts[opt->kind] ? slot_names[opt->kind][slot] : NULL;
}

static slot_entry *entry_for(tc_optimizer *opt, const tc_tensor *param, int hint)
{
    if (hint >= 0 && hint < opt->n_entries && opt->entries[hint].param == param) return &opt->entries[hint];
    for (int i = 0; i < opt->n_entries; i++)
        if (opt->entries[i].param == param) return &opt->entries[i];
    if (opt->n_entries == opt->cap_entries) {
        int cap = opt->cap_entries ? opt->cap_entries * 2 : 32;
        slot_entry *g = realloc(opt->entries, sizeof *g * (size_t)cap);
        if (!g) {
            tc_error(TC_ERR_MEMORY, "optimizer: out of memory");
            return NULL;
        }
        opt->entries = g;
        opt->cap_entries = cap;
    }
    slot_entry *e = &opt->entries[opt->n_entries++];
    memset(e, 0, sizeof *e);
    e->param = param;
    for (int k = 0; k < slot_counts[opt->kind]; k++) {
        e->slot[k] = tc_tensor_new(param->ndim, param->shape);
        if (!e->slot[k]) return NULL;
        if (opt->kind == TC_OPT_RMSPROP && k == 0) tc_fill(e->slot[k], 1); /* TF 1.x: ms starts at one */
    }
    return e;
}

tc_tensor *tc_optimizer_slot(tc_optimizer *opt, const tc_tensor *param, int slot)
{
    if (!opt || !param || slot < 0 || slot >= slot_counts[opt->kind]) {
        tc_error(TC_ERR_ARG, "optimizer_slot: bad optimizer, parameter or slot %d", slot);
        return NULL;
    }
    slot_entry *e = entry_for(opt, param, -1);
    if (!e) return NULL;
    e->started = true; /* the caller may restore state into it */
    return e->slot[slot];
}

void tc_zero_grads(int n, tc_tensor *const *params)
{
    for (int i = 0; params && i < n; i++) tc_zero_grad(params[i]);
}

double tc_clip_grad_norm(int n, tc_tensor *const *params, double max_norm)
{
    if ((!params && n) || n < 0 || max_norm < 0) {
        tc_error(TC_ERR_ARG, "clip_grad_norm: bad arguments (n %d, max_norm %g)", n, max_norm);
        return -1;
    }
    double sq = 0;
    for (int i = 0; i < n; i++) {
        if (!params[i] || !params[i]->grad) continue;
        const tc_scalar *g = params[i]->grad->data;
        int64_t len = tc_numel(params[i]->grad);
        for (int64_t k = 0; k < len; k++) sq += (double)g[k] * g[k];
    }
    double norm = sqrt(sq);
    if (max_norm > 0 && norm > max_norm) {
        tc_scalar scale = (tc_scalar)(max_norm / norm);
        for (int i = 0; i < n; i++) {
            if (!params[i] || !params[i]->grad) continue;
            tc_scalar *g = params[i]->grad->data;
            int64_t len = tc_numel(params[i]->grad);
            for (int64_t k = 0; k < len; k++) g[k] *= scale;
        }
    }
    return norm;
}

tc_status tc_clip_grad_value(int n, tc_tensor *const *params, double v)
{
    if ((!params && n) || n < 0 || v < 0) return tc_error(TC_ERR_ARG, "clip_grad_value: bad arguments (n %d, value %g)", n, v);
    for (int i = 0; i < n; i++) {
        if (!params[i] || !params[i]->grad) continue;
        tc_scalar *g = params[i]->grad->data;
        int64_t len = tc_numel(params[i]->grad);
        for (int64_t k = 0; k < len; k++) g[k] = g[k] > v ? (tc_scalar)v : g[k] < -v ? (tc_scalar)-v : g[k];
    }
    return TC_OK;
}

typedef struct {
    const tc_optimizer *opt;
    tc_scalar *p;
    const tc_scalar *g;
    tc_scalar *s0, *s1, *s2;
    double lr, bc1, bc2;
    bool first;
} update_job;

static void update_range(void *ctx, int64_t lo, int64_t hi)
{
    const update_job *j = ctx;
    const tc_optim_opts *o = &j->opt->o;
    tc_scalar wd = (tc_scalar)o->weight_decay, lr = (tc_scalar)j->lr, mu = (tc_scalar)o->momentum;
    switch (j->opt->kind) {
    case TC_OPT_SGD:
        for (int64_t i = lo; i < hi; i++) {
            tc_scalar g = j->g[i] + wd * j->p[i];
            if (mu > 0) {
                j->s0[i] = j->first ? g : mu * j->s0[i] + g;
                g = o->nesterov ? g + mu * j->s0[i] : j->s0[i];
            }
            j->p[i] -= lr * g;
        }
        break;
    case TC_OPT_ADAM: {
        tc_scalar b1 = (tc_scalar)o->beta1, b2 = (tc_scalar)o->beta2, eps = (tc_scalar)o->eps;
        tc_scalar step = (tc_scalar)(j->lr / j->bc1), sbc2 = (tc_scalar)sqrt(j->bc2);
        for (int64_t i = lo; i < hi; i++) {
            tc_scalar g = j->g[i] + wd * j->p[i];
            j->s0[i] = b1 * j->s0[i] + (1 - b1) * g;
            j->s1[i] = b2 * j->s1[i] + (1 - b2) * g * g;
            j->p[i] -= step * j->s0[i] / ((tc_scalar)sqrt(j->s1[i]) / sbc2 + eps);
        }
        break;
    }
    case TC_OPT_RMSPROP: {
        tc_scalar rho = (tc_scalar)o->decay, eps = (tc_scalar)o->eps;
        for (int64_t i = lo; i < hi; i++) {
            tc_scalar g = j->g[i] + wd * j->p[i];
            j->s0[i] = rho * j->s0[i] + (1 - rho) * g * g;
            tc_scalar denom = j->s0[i];
            if (o->centered) {
                j->s2[i] = rho * j->s2[i] + (1 - rho) * g;
                denom -= j->s2[i] * j->s2[i];
            }
            j->s1[i] = mu * j->s1[i] + lr * g / (tc_scalar)sqrt(denom + eps);
            j->p[i] -= j->s1[i];
        }
        break;
    }
    }
}

tc_status tc_optimizer_step(tc_optimizer *opt, int n, tc_tensor *const *params)
{
    if (!opt) return tc_error(TC_ERR_ARG, "optimizer_step: optimizer is NULL");
    if (n < 0 || (n && !params)) return tc_error(TC_ERR_ARG, "optimizer_step: %d parameters but the array is NULL", n);
    for (int i = 0; i < n; i++)
        if (params[i] && params[i]->grad && !(params[i]->flags & TC_LONG_LIVED))
            return tc_error(TC_ERR_ARG, "optimizer_step: parameter %d %s is a step tensor; parameters are made with tc_tensor_new",
                            i, TC_SHP(params[i]));
    if (opt->o.clip_value > 0) tc_clip_grad_value(n, params, opt->o.clip_value);
    if (opt->o.clip_norm > 0) tc_clip_grad_norm(n, params, opt->o.clip_norm);
    double lr = tc_optimizer_lr(opt);
    int64_t t = opt->steps + 1;
    for (int i = 0; i < n; i++) {
        tc_tensor *p = params[i];
        if (!p || !(p->flags & TC_REQUIRES_GRAD) || !p->grad) continue; /* frozen or unused */
        slot_entry *e = entry_for(opt, p, i);
        if (!e) return tc_last_status();
        bool first = !e->started;
        e->started = true;
        update_job j = {opt, p->data, p->grad->data, e->slot[0] ? e->slot[0]->data : NULL,
                        e->slot[1] ? e->slot[1]->data : NULL, e->slot[2] ? e->slot[2]->data : NULL, lr,
                        1 - pow(opt->o.beta1, (double)t), 1 - pow(opt->o.beta2, (double)t), first};
        tc_parallel_for(tc_numel(p), 1 << 15, update_range, &j);
    }
    opt->steps = t;
    return TC_OK;
}
