/* The part every optimizer shares: options and their defaults, slots
 * (created lazily per parameter, long-lived so that checkpoints can read and
 * write them), learning-rate decay, clipping and the step. A model's
 * parameters live in one flat block (src/nn/model.c); their slots then live
 * in flat blocks of the same layout, and the step runs one rule's loop over
 * each stretch of consecutive trainable parameters (the whole model when
 * nothing is frozen). Loose tensors (an image being optimised, hand-made
 * parameters) get slots of their own, keyed by address, and a loop each.
 * The rules themselves are in sgd.c, adam.c and rmsprop.c. */
#include "optim_internal.h"

#include <math.h>
#include <stdlib.h>

static const char *const kind_names[3] = {"sgd", "adam", "rmsprop"};
static const char *const slot_names[3][TC_OPTIM_MAX_SLOTS] = {{"momentum"}, {"m", "v"}, {"ms", "mom", "mg"}};

static const char *kind_name(tc_optimizer_kind k) { return (unsigned)k <= TC_OPT_RMSPROP ? kind_names[k] : "optimizer"; }

/* Checks one option; on failure sets an error naming the optimizer and the option. */
#define OPT_CHECK(cond, field, rule)                                                                        \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            tc_error(TC_ERR_ARG, "optimizer_new (%s): %s %g must be %s", kind_name(kind), #field, (double)o.field, \
                     rule);                                                                                 \
            return NULL;                                                                                    \
        }                                                                                                   \
    } while (0)

tc_optimizer *tc_optimizer_new(tc_optimizer_kind kind, const tc_optim_opts *opts)
{
    if ((unsigned)kind > TC_OPT_RMSPROP) {
        tc_error(TC_ERR_ARG, "optimizer_new: unknown kind %d", (int)kind);
        return NULL;
    }
    tc_optim_opts o = opts ? *opts : (tc_optim_opts){0};
    /* !(x >= 0) also rejects NaN */
    OPT_CHECK(o.lr >= 0 && isfinite(o.lr), lr, ">= 0 and finite");
    OPT_CHECK(o.momentum >= 0 && isfinite(o.momentum), momentum, ">= 0 and finite");
    OPT_CHECK(o.beta1 >= 0 && o.beta1 < 1, beta1, "in [0, 1)");
    OPT_CHECK(o.beta2 >= 0 && o.beta2 < 1, beta2, "in [0, 1)");
    OPT_CHECK(o.eps >= 0, eps, ">= 0");
    OPT_CHECK(o.decay >= 0 && o.decay < 1, decay, "in [0, 1)");
    OPT_CHECK(o.weight_decay >= 0, weight_decay, ">= 0");
    OPT_CHECK(o.clip_norm >= 0, clip_norm, ">= 0 (0: no clipping)");
    OPT_CHECK(o.clip_value >= 0, clip_value, ">= 0 (0: no clipping)");
    OPT_CHECK(o.lr_decay_rate >= 0, lr_decay_rate, ">= 0 (0: no decay)");
    if (o.lr_decay_rate > 0 && o.lr_decay_steps <= 0) {
        tc_error(TC_ERR_ARG, "optimizer_new (%s): lr_decay_steps %lld must be > 0 with lr_decay_rate %g", kind_name(kind),
                 (long long)o.lr_decay_steps, o.lr_decay_rate);
        return NULL;
    }
    if (kind == TC_OPT_SGD && o.nesterov && o.momentum == 0) {
        tc_error(TC_ERR_ARG, "optimizer_new (sgd): Nesterov needs momentum > 0 (momentum %g)", o.momentum);
        return NULL;
    }
    if (o.lr == 0) o.lr = kind == TC_OPT_SGD ? 0.01 : 0.001;
    if (o.beta1 == 0) o.beta1 = 0.9;
    if (o.beta2 == 0) o.beta2 = 0.999;
    if (o.eps == 0) o.eps = kind == TC_OPT_ADAM ? 1e-8 : 1e-10;
    if (o.decay == 0) o.decay = 0.9;
    tc_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt) {
        tc_error(TC_ERR_MEMORY, "optimizer_new: out of memory");
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
        for (int k = 0; k < TC_OPTIM_MAX_SLOTS; k++) tc_tensor_free(opt->entries[i].slot[k]);
    free(opt->entries);
    for (int i = 0; i < opt->n_blocks; i++)
        for (int k = 0; k < TC_OPTIM_MAX_SLOTS; k++) tc_block_free(opt->blocks[i].slot[k]);
    free(opt->blocks);
    free(opt);
}

/* The slot blocks of a block of weights (created on first use). */
static tc_block_entry *block_entry_for(tc_optimizer *opt, const tc_block *weights)
{
    for (int i = 0; i < opt->n_blocks; i++)
        if (opt->blocks[i].weights == weights) return &opt->blocks[i];
    tc_block_entry *g = realloc(opt->blocks, sizeof *g * (size_t)(opt->n_blocks + 1));
    if (!g) {
        tc_error(TC_ERR_MEMORY, "%s: out of memory for slots", kind_name(opt->kind));
        return NULL;
    }
    opt->blocks = g;
    tc_block_entry fresh = {.weights = weights};
    for (int k = 0; k < tc_optimizer_slot_count(opt); k++) {
        fresh.slot[k] = tc_block_new(tc_block_length(weights));
        if (!fresh.slot[k]) {
            for (int j = 0; j < k; j++) tc_block_free(fresh.slot[j]);
            return NULL;
        }
        /* TF 1.x: RMSprop's mean square starts at one (padding too: harmless, its gradient is 0) */
        if (opt->kind == TC_OPT_RMSPROP && k == 0)
            for (int64_t i = 0; i < tc_block_length(weights); i++) tc_block_values(fresh.slot[k])[i] = 1;
    }
    opt->blocks[opt->n_blocks] = fresh;
    return &opt->blocks[opt->n_blocks++];
}

/* tf.train.exponential_decay with global_step = updates done so far */
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
    if (!opt || !(lr >= 0) || !isfinite(lr)) {
        tc_error(TC_ERR_ARG, "optimizer_set_lr: %s (lr %g must be >= 0 and finite)", opt ? "bad lr" : "optimizer is NULL", lr);
        return;
    }
    opt->o.lr = lr;
}

int64_t tc_optimizer_steps(const tc_optimizer *opt) { return opt ? opt->steps : 0; }

void tc_optimizer_set_steps(tc_optimizer *opt, int64_t steps)
{
    if (!opt || steps < 0) {
        tc_error(TC_ERR_ARG, "optimizer_set_steps: %s (steps %lld)", opt ? "steps must be >= 0" : "optimizer is NULL",
                 (long long)steps);
        return;
    }
    opt->steps = steps;
}

tc_optimizer_kind tc_optimizer_get_kind(const tc_optimizer *opt) { return opt ? opt->kind : TC_OPT_SGD; }
const tc_optim_opts *tc_optimizer_opts(const tc_optimizer *opt) { return opt ? &opt->o : NULL; }

/* Plain SGD keeps no state; RMSprop keeps "mg" only when centered. */
int tc_optimizer_slot_count(const tc_optimizer *opt)
{
    if (!opt) return 0;
    switch (opt->kind) {
    case TC_OPT_SGD: return opt->o.momentum > 0 ? 1 : 0;
    case TC_OPT_ADAM: return 2;
    default: return opt->o.centered ? 3 : 2;
    }
}

const char *tc_optimizer_slot_name(const tc_optimizer *opt, int slot)
{
    return opt && slot >= 0 && slot < tc_optimizer_slot_count(opt) ? slot_names[opt->kind][slot] : NULL;
}

/* The slots of param (created on first use); NULL + error on failure.
 * hint: where param was last time (the index in the step's list). */
static tc_slot_entry *entry_for(tc_optimizer *opt, const tc_tensor *param, int hint)
{
    const char *name = kind_name(opt->kind);
    tc_slot_entry *e = NULL;
    if (hint >= 0 && hint < opt->n_entries && opt->entries[hint].param == param) e = &opt->entries[hint];
    for (int i = 0; !e && i < opt->n_entries; i++)
        if (opt->entries[i].param == param) e = &opt->entries[i];
    if (e) {
        /* the same address with another shape: a freed parameter's memory reused */
        if (e->slot[0] && !tc_same_shape(e->slot[0], param)) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            tc_error(TC_ERR_SHAPE, "%s: parameter %s does not match its slots %s (a different tensor at the same address?)",
                     name, tc_shape_str(param, a, sizeof a), tc_shape_str(e->slot[0], b, sizeof b));
            return NULL;
        }
        return e;
    }
    if (opt->n_entries == opt->cap_entries) {
        int cap = opt->cap_entries ? opt->cap_entries * 2 : 32;
        tc_slot_entry *g = realloc(opt->entries, sizeof *g * (size_t)cap);
        if (!g) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory for slots", name);
            return NULL;
        }
        opt->entries = g;
        opt->cap_entries = cap;
    }
    tc_slot_entry fresh = {.param = param};
    /* a parameter of a block: its slots are views of the block's slot blocks */
    tc_block_entry *be = param->block ? block_entry_for(opt, param->block) : NULL;
    if (param->block && !be) return NULL;
    for (int k = 0; be && k < tc_optimizer_slot_count(opt); k++) {
        fresh.slot[k] = tc_block_view(be->slot[k], param->offset, param->ndim, param->shape);
        if (!fresh.slot[k]) {
            for (int j = 0; j < k; j++) tc_tensor_free(fresh.slot[j]);
            return NULL;
        }
    }
    for (int k = 0; !be && k < tc_optimizer_slot_count(opt); k++) {
        fresh.slot[k] = tc_tensor_new(param->ndim, param->shape);
        if (!fresh.slot[k]) {
            for (int j = 0; j < k; j++) tc_tensor_free(fresh.slot[j]);
            return NULL;
        }
    }
    if (opt->kind == TC_OPT_RMSPROP && !be) tc_fill(fresh.slot[0], 1); /* TF 1.x: the mean square starts at one */
    opt->entries[opt->n_entries] = fresh;
    return &opt->entries[opt->n_entries++];
}

tc_tensor *tc_optimizer_slot(tc_optimizer *opt, const tc_tensor *param, int slot)
{
    if (!opt || !param) {
        tc_error(TC_ERR_ARG, "optimizer_slot: %s is NULL", opt ? "parameter" : "optimizer");
        return NULL;
    }
    if (slot < 0 || slot >= tc_optimizer_slot_count(opt)) {
        tc_error(TC_ERR_ARG, "optimizer_slot: slot %d out of range: %s has %d slots (parameter %s)", slot,
                 kind_name(opt->kind), tc_optimizer_slot_count(opt), TC_SHP(param));
        return NULL;
    }
    tc_slot_entry *e = entry_for(opt, param, -1);
    return e ? e->slot[slot] : NULL;
}

void tc_zero_grads(int n, tc_tensor *const *params)
{
    for (int i = 0; params && i < n; i++)
        if (params[i]) tc_zero_grad(params[i]);
}

static tc_range_fn const rules[3] = {tc_sgd_update, tc_adam_update, tc_rmsprop_update};

tc_status tc_optimizer_step(tc_optimizer *opt, int n, tc_tensor *const *params)
{
    if (!opt) return tc_error(TC_ERR_ARG, "optimizer_step: optimizer is NULL");
    const char *name = kind_name(opt->kind);
    if (n < 0 || (n > 0 && !params)) return tc_error(TC_ERR_ARG, "%s step: %d parameters but the array is %s", name, n, params ? "given" : "NULL");
    /* check everything and create every slot before changing anything */
    for (int i = 0; i < n; i++) {
        tc_tensor *p = params[i];
        if (!tc_optim_has_update(p)) continue; /* frozen or unused */
        char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
        if (!(p->flags & TC_LONG_LIVED) || !tc_is_contiguous(p))
            return tc_error(TC_ERR_ARG, "%s step: parameter %d %s must be a contiguous tensor made with tc_tensor_new", name,
                            i, tc_shape_str(p, a, sizeof a));
        if (!tc_same_shape(p, p->grad) || !tc_is_contiguous(p->grad))
            return tc_error(TC_ERR_SHAPE, "%s step: parameter %d is %s but its gradient is %s", name, i,
                            tc_shape_str(p, a, sizeof a), tc_shape_str(p->grad, b, sizeof b));
        if (tc_optimizer_slot_count(opt) && !entry_for(opt, p, i)) return tc_last_status();
    }
    tc_update_job j = {.o = &opt->o, .lr = tc_optimizer_lr(opt), .clip_scale = 1, .t = opt->steps + 1};
    if (opt->o.clip_norm > 0) {
        double norm = tc_optim_global_norm(n, params, opt->o.clip_value);
        if (norm < 0) return tc_last_status();
        if (norm > opt->o.clip_norm) j.clip_scale = opt->o.clip_norm / norm;
    }
    /* stretches of consecutive parameters of one block with their gradients
     * in its companion: one loop each over the flat buffers */
    for (int i = 0; i < n;) {
        tc_tensor *p = params[i];
        if (!tc_optim_has_update(p)) {
            i++;
            continue;
        }
        tc_block_entry *be = NULL;
        if (p->block && p->grad->block == tc_block_companion(p->block)) be = block_entry_for(opt, p->block);
        if (be) {
            int64_t lo = p->offset, hi = lo + tc_numel(p);
            int k = i + 1;
            for (; k < n; k++) {
                tc_tensor *q = params[k];
                int64_t next = (hi + TC_BLOCK_ALIGN - 1) / TC_BLOCK_ALIGN * TC_BLOCK_ALIGN;
                if (!tc_optim_has_update(q) || q->block != p->block || q->grad->block != p->grad->block ||
                    q->offset != next)
                    break;
                hi = next + tc_numel(q);
            }
            j.p = tc_block_values(p->block) + lo;
            j.g = tc_block_values(p->grad->block) + lo;
            for (int s = 0; s < TC_OPTIM_MAX_SLOTS; s++) j.s[s] = be->slot[s] ? tc_block_values(be->slot[s]) + lo : NULL;
            /* the padding between parameters has zero values and gradients: every rule leaves it at zero */
            tc_parallel_for(hi - lo, 1 << 14, rules[opt->kind], &j);
            i = k;
            continue;
        }
        j.p = p->data;
        j.g = p->grad->data;
        tc_slot_entry *e = tc_optimizer_slot_count(opt) ? entry_for(opt, p, i) : NULL;
        for (int k = 0; k < TC_OPTIM_MAX_SLOTS; k++) j.s[k] = e && e->slot[k] ? e->slot[k]->data : NULL;
        tc_parallel_for(tc_numel(p), 1 << 14, rules[opt->kind], &j);
        i++;
    }
    opt->steps++;
    return TC_OK;
}
