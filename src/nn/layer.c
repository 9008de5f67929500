/* What every layer shares: allocation, weights, names, initialisers. */
#include "layer.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

static _Thread_local uint64_t ctor_clock, last_failure;
static _Thread_local char failure_message[512];

void tc_layer_ctor_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure_message, sizeof failure_message, fmt, ap);
    va_end(ap);
    last_failure = ++ctor_clock;
    tc_error(TC_ERR_ARG, "%s", failure_message);
}

static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static tc_layer *orphans;

static void orphan_unlink(tc_layer *l)
{
    if (l->orphan_prev) l->orphan_prev->orphan_next = l->orphan_next;
    else if (orphans == l) orphans = l->orphan_next;
    if (l->orphan_next) l->orphan_next->orphan_prev = l->orphan_prev;
    l->orphan_prev = l->orphan_next = NULL;
}

void tc_layer_adopt(tc_layer *l)
{
    pthread_mutex_lock(&orphans_lock);
    orphan_unlink(l);
    pthread_mutex_unlock(&orphans_lock);
    l->owned = true;
}

void tc_layer_free_orphans_since(uint64_t since)
{
    for (;;) {
        pthread_mutex_lock(&orphans_lock);
        tc_layer *l = orphans;
        while (l && !(l->creator == (const void *)&ctor_clock && l->born > since)) l = l->orphan_next;
        pthread_mutex_unlock(&orphans_lock);
        if (!l) return;
        tc_layer_free(l);
    }
}

bool tc_layer_failed_since(uint64_t since, char *msg, size_t size, uint64_t *when)
{
    if (!last_failure || last_failure <= since) return false;
    if (when) *when = last_failure;
    if (msg && size) snprintf(msg, size, "%s", failure_message);
    last_failure = 0;
    return true;
}

bool tc_layer_check_name(const char *type, const char *name)
{
    if (name && strlen(name) >= sizeof ((tc_layer *)0)->name) {
        tc_layer_ctor_error("%s: name '%.40s...' is longer than %d characters", type, name,
                            (int)sizeof ((tc_layer *)0)->name - 1);
        return false;
    }
    if (name && (!name[0] || strchr(name, '/'))) {
        tc_layer_ctor_error("%s: name '%s' must be non-empty and without '/' (weights are named LAYER/WEIGHT)", type, name);
        return false;
    }
    return true;
}

bool tc_layer_check_activation(const char *type, tc_activation a)
{
    if ((unsigned)a > TC_LEAKY_RELU) {
        tc_layer_ctor_error("%s: unknown activation %d", type, (int)a);
        return false;
    }
    return true;
}

tc_layer *tc_layer_alloc(const tc_layer_ops *ops, const char *name)
{
    if (!tc_layer_check_name(ops->type, name)) return NULL;
    tc_layer *l = calloc(1, sizeof *l);
    if (!l) {
        tc_layer_ctor_error("%s: out of memory", ops->type);
        return NULL;
    }
    l->ops = ops;
    l->born = ++ctor_clock;
    l->creator = &ctor_clock; /* thread-local: a different address per thread */
    pthread_mutex_lock(&orphans_lock);
    l->orphan_next = orphans;
    if (orphans) orphans->orphan_prev = l;
    orphans = l;
    pthread_mutex_unlock(&orphans_lock);
    l->trainable = true;
    if (name) snprintf(l->name, sizeof l->name, "%s", name);
    return l;
}

tc_tensor *tc_layer_add_weight(tc_layer *l, const char *kind, int ndim, const int64_t *shape, bool trainable)
{
    if (l->n_weights == TC_LAYER_MAX_WEIGHTS) {
        tc_error(TC_ERR_STATE, "%s: too many weights", l->name);
        return NULL;
    }
    tc_tensor *w = tc_tensor_new(ndim, shape);
    if (!w) return NULL;
    int i = l->n_weights++;
    l->w[i] = w;
    snprintf(l->wname[i], sizeof l->wname[i], "%s", kind);
    l->w_trainable[i] = trainable;
    return w;
}

void tc_glorot_uniform(tc_tensor *w, tc_rng *rng)
{
    int64_t rf = 1;
    for (int d = 0; d < w->ndim - 2; d++) rf *= w->shape[d];
    double fan_in = (double)(w->ndim >= 2 ? w->shape[w->ndim - 2] : 1) * (double)rf;
    double fan_out = (double)w->shape[w->ndim - 1] * (double)rf;
    double limit = sqrt(6.0 / (fan_in + fan_out));
    tc_rng_uniform(rng, w->data, tc_numel(w), (tc_scalar)-limit, (tc_scalar)limit);
}

char *tc_shp_str(const tc_shp *s, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(None");
    for (int i = 0; i < s->ndim && used < size; i++) used += (size_t)snprintf(buf + used, size - used, ", %lld", (long long)s->d[i]);
    if (used < size) snprintf(buf + used, size - used, ")");
    return buf;
}

const char *tc_layer_name(const tc_layer *l) { return l ? l->name : NULL; }
const char *tc_layer_type(const tc_layer *l) { return l ? l->ops->type : NULL; }
void tc_layer_set_trainable(tc_layer *l, bool trainable)
{
    if (l) l->trainable = trainable;
}
bool tc_layer_trainable(const tc_layer *l) { return l && l->trainable; }

int tc_layer_output_shape(const tc_layer *l, int64_t *shape) { return tc_layer_output_shape_at(l, 0, shape); }
int tc_layer_output_count(const tc_layer *l) { return l && l->built ? l->n_out : 0; }
int tc_layer_output_shape_at(const tc_layer *l, int k, int64_t *shape)
{
    if (!l || !l->built || k < 0 || k >= l->n_out) return -1;
    for (int i = 0; shape && i < l->out[k].ndim; i++) shape[i] = l->out[k].d[i];
    return l->out[k].ndim;
}

int64_t tc_layer_param_count(const tc_layer *l)
{
    int64_t n = 0;
    for (int i = 0; l && i < l->n_weights; i++) n += tc_numel(l->w[i]);
    return n;
}
int tc_layer_weight_count(const tc_layer *l) { return l ? l->n_weights : 0; }
tc_tensor *tc_layer_weight(const tc_layer *l, int i) { return l && i >= 0 && i < l->n_weights ? l->w[i] : NULL; }
const char *tc_layer_weight_name(const tc_layer *l, int i) { return l && i >= 0 && i < l->n_weights ? l->wname[i] : NULL; }
const tc_layer *tc_layer_wrapped(const tc_layer *l) { return l ? l->inner[0] : NULL; }

void tc_layer_free(tc_layer *l)
{
    if (!l) return;
    if (l->owned) { /* its model frees it; freeing it here would break the model */
        tc_error(TC_ERR_STATE, "layer_free: layer %s (%s) belongs to a model", l->name, l->ops->type);
        return;
    }
    tc_layer_destroy(l);
}

void tc_layer_destroy(tc_layer *l)
{
    if (!l) return;
    pthread_mutex_lock(&orphans_lock);
    orphan_unlink(l);
    pthread_mutex_unlock(&orphans_lock);
    for (int k = 0; k < 2; k++) tc_layer_destroy(l->inner[k]); /* their weights are l's */
    for (int i = 0; i < l->n_weights; i++) tc_tensor_free(l->w[i]);
    free(l);
}

const char *tc_activation_name(tc_activation a)
{
    static const char *names[] = {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "softplus", "leaky_relu"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "unknown";
}

tc_tensor *tc_activate(tc_tensor *x, tc_activation a)
{
    switch (a) {
    case TC_LINEAR: return x;
    case TC_RELU: return tc_relu(x);
    case TC_SIGMOID: return tc_sigmoid(x);
    case TC_TANH: return tc_tanh(x);
    case TC_SOFTMAX: return tc_softmax(x, -1);
    case TC_ELU: return tc_elu(x, 1);
    case TC_SOFTPLUS: return tc_softplus(x);
    case TC_LEAKY_RELU: return tc_leaky_relu(x, 0.3f); /* Keras' default alpha */
    }
    tc_error(TC_ERR_ARG, "activation: unknown activation %d", (int)a);
    return NULL;
}

tc_rng *tc_layer_rng(tc_layer *l) { return l && l->has_rng ? &l->dropout_rng : NULL; }
