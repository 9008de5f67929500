/* What every layer shares: allocation, weights, names, initialisers. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>

tc_layer *tc_layer_alloc(const tc_layer_ops *ops, const char *name)
{
    tc_layer *l = calloc(1, sizeof *l);
    if (!l) {
        tc_error(TC_ERR_MEMORY, "%s: out of memory", ops->type);
        return NULL;
    }
    l->ops = ops;
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

int tc_layer_output_shape(const tc_layer *l, int64_t *shape)
{
    if (!l || !l->built) return -1;
    for (int i = 0; shape && i < l->out.ndim; i++) shape[i] = l->out.d[i];
    return l->out.ndim;
}

int64_t tc_layer_param_count(const tc_layer *l)
{
    int64_t n = 0;
    for (int i = 0; l && i < l->n_weights; i++) n += tc_numel(l->w[i]);
    return n;
}
int tc_layer_weight_count(const tc_layer *l) { return l ? l->n_weights : 0; }
tc_tensor *tc_layer_weight(const tc_layer *l, int i) { return l && i >= 0 && i < l->n_weights ? l->w[i] : NULL; }

void tc_layer_free(tc_layer *l)
{
    if (!l) return;
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
