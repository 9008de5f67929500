/* Models: a list of layer calls in topological order over symbolic values
 * (the model's inputs, then the outputs of each call: one for most layers,
 * several for an RNN with return_state). A sequential model is the chain of
 * its layers; a functional model is any graph built with tc_graph_*.
 * Building checks every shape, creates the weights and works out which
 * values carry a mask (see layer.h). */
#include "model_internal.h"

#include <stdlib.h>

bool tc_model_is_sequential(const tc_model *m) { return m && m->sequential; }

static uint64_t nn_seed = 42;
void tc_nn_seed(uint64_t seed) { nn_seed = seed; }

/* ---- graphs ------------------------------------------------------------------------- */
tc_graph *tc_graph_new(void)
{
    tc_graph *g = calloc(1, sizeof *g);
    if (!g) tc_error(TC_ERR_MEMORY, "graph: out of memory");
    return g;
}

static void graph_free(tc_graph *g, bool free_layers)
{
    if (!g) return;
    if (free_layers) {
        /* each distinct layer once */
        for (int i = 0; i < g->n_calls; i++) {
            bool seen = false;
            for (int j = 0; j < i; j++) seen |= g->calls[j].layer == g->calls[i].layer;
            if (!seen) tc_layer_destroy(g->calls[i].layer);
        }
    }
    free(g->values);
    free(g->input_names);
    free(g->calls);
}

void tc_graph_free(tc_graph *g)
{
    graph_free(g, true);
    free(g);
}

static int add_value(tc_graph *g, const tc_shp *s, int call, int slot, int mask_from)
{
    value *grown = realloc(g->values, sizeof *grown * (size_t)(g->n_values + 1));
    if (!grown) return -1;
    g->values = grown;
    g->values[g->n_values] = (value){*s, call, slot, mask_from};
    return g->n_values++;
}

tc_value tc_graph_input(tc_graph *g, int ndim, const int64_t *shape, const char *name)
{
    if (!g) return tc_error(TC_ERR_ARG, "graph_input: graph is NULL"), -1;
    if (g->n_calls > 0 || ndim < 0 || ndim >= TC_MAX_DIMS || (ndim && !shape)) {
        g->failed = true;
        tc_error(TC_ERR_ARG, "graph_input: inputs come first, with rank 0 to %d (batch excluded)", TC_MAX_DIMS - 1);
        return -1;
    }
    tc_shp s = {ndim};
    for (int i = 0; i < ndim; i++) s.d[i] = shape[i];
    int v = add_value(g, &s, -1, 0, -1);
    char (*names)[64] = realloc(g->input_names, sizeof *names * (size_t)(g->n_inputs + 1));
    if (v < 0 || !names) {
        g->failed = true;
        tc_error(TC_ERR_MEMORY, "graph_input: out of memory");
        return -1;
    }
    g->input_names = names;
    if (name && name[0]) snprintf(names[g->n_inputs], 64, "%s", name);
    else snprintf(names[g->n_inputs], 64, "input_%d", g->n_inputs + 1); /* Keras' default */
    g->n_inputs++;
    return v;
}

static bool in_graph(const tc_graph *g, const tc_layer *l)
{
    for (int i = 0; i < g->n_calls; i++)
        if (g->calls[i].layer == l) return true;
    return false;
}

/* Keras-style unique name: prefix, prefix_1, prefix_2, ... A given name must
 * not be used by another layer of the model (weights are found by name). */
static tc_status name_layer(tc_graph *g, tc_layer *l)
{
    if (l->name[0]) {
        for (int i = 0; i < g->n_calls; i++)
            if (g->calls[i].layer != l && !strcmp(g->calls[i].layer->name, l->name))
                return tc_error(TC_ERR_ARG, "graph_call: two layers are named '%s' (%s and %s); layer names must be unique "
                                            "in a model", l->name, g->calls[i].layer->ops->type, l->ops->type);
        return TC_OK;
    }
    for (int k = 0;; k++) {
        char cand[64];
        if (k == 0) snprintf(cand, sizeof cand, "%s", l->ops->prefix);
        else snprintf(cand, sizeof cand, "%s_%d", l->ops->prefix, k);
        bool used = false;
        for (int i = 0; i < g->n_calls && !used; i++) used = !strcmp(g->calls[i].layer->name, cand);
        if (!used) {
            memcpy(l->name, cand, sizeof cand);
            return TC_OK;
        }
    }
}

/* After a failed call: the graph is marked failed (tc_graph_model reports it)
 * and the layer is freed unless a graph or model already holds it. */
static tc_status call_failed(tc_graph *g, tc_layer *layer)
{
    tc_status s = tc_last_status();
    g->failed = true;
    if (layer && !layer->owned) tc_layer_free(layer);
    return s ? s : TC_ERR_STATE;
}

/* Which outputs of a call carry a mask, from its inputs' masks and the
 * layer's rule (layer.h). */
static tc_status call_masks(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs, const tc_shp *in,
                            int *out_from)
{
    int in_from[TC_LAYER_MAX_INPUTS];
    for (int i = 0; i < n_inputs; i++) in_from[i] = g->values[inputs[i]].mask_from;
    for (int k = 0; k < layer->n_out; k++) out_from[k] = -1;
    switch (layer->ops->mask_rule) {
    case TC_MASK_PASS:
        out_from[0] = in_from[0];
        return TC_OK;
    case TC_MASK_OWN:
        return layer->ops->masks ? layer->ops->masks(layer, n_inputs, in, in_from, g->n_calls, out_from) : TC_OK;
    case TC_MASK_REFUSE:
        break;
    }
    for (int i = 0; i < n_inputs; i++)
        if (in_from[i] >= 0) {
            char b[96];
            const tc_layer *maker = g->calls[in_from[i]].layer;
            return tc_error(TC_ERR_ARG, "%s (%s): does not support masking, but input %d %s carries the mask made by %s (%s)",
                            layer->name, layer->ops->type, i, tc_shp_str(&in[i], b, sizeof b), maker->name,
                            maker->ops->type);
        }
    return TC_OK;
}

/* Places a call of layer in the graph; its outputs are the values *first ..
 * *first + *count - 1. */
static tc_status graph_call(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs, int *first, int *count)
{
    if (!g || !layer) {
        if (g) g->failed = true;
        if (!g && layer && !layer->owned) tc_layer_free(layer);
        char first_failure[512];
        if (tc_layer_failed_since(0, first_failure, sizeof first_failure, NULL))
            return tc_error(TC_ERR_ARG, "graph_call: layer is NULL: %s", first_failure);
        return tc_error(TC_ERR_ARG, "graph_call: %s is NULL", g ? "layer" : "graph");
    }
    if (layer->owned && !in_graph(g, layer)) {
        g->failed = true;
        return tc_error(TC_ERR_ARG, "graph_call: layer '%s' (%s) already belongs to another model", layer->name,
                        layer->ops->type);
    }
    if (g->failed) return call_failed(g, layer);
    if (n_inputs < 1 || n_inputs > TC_LAYER_MAX_INPUTS || !inputs) {
        tc_error(TC_ERR_ARG, "graph_call: layer %s (%s) given %d inputs (1 to %d)", layer->name[0] ? layer->name : "?",
                 layer->ops->type, n_inputs, TC_LAYER_MAX_INPUTS);
        return call_failed(g, layer);
    }
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= g->n_values) {
            tc_error(TC_ERR_ARG, "graph_call: input %d of layer %s (%s) is not a value of this graph", i,
                     layer->name[0] ? layer->name : "?", layer->ops->type);
            return call_failed(g, layer);
        }
    tc_shp in[TC_LAYER_MAX_INPUTS], out[TC_LAYER_MAX_OUTPUTS] = {{0}};
    for (int i = 0; i < n_inputs; i++) in[i] = g->values[inputs[i]].shape;
    if (!layer->built && layer->ops->retype) layer->ops = layer->ops->retype(layer, n_inputs, in);
    if (name_layer(g, layer) != TC_OK) return call_failed(g, layer);
    if (!layer->built) {
        tc_rng rng = tc_rng_new(nn_seed * 1000003u + (uint64_t)g->n_calls);
        layer->n_out = 1;
        if (layer->ops->build(layer, n_inputs, in, out, &rng) != TC_OK) return call_failed(g, layer);
        layer->built = true;
        memcpy(layer->out, out, sizeof out);
        layer->built_n_in = n_inputs;
        for (int i = 0; i < n_inputs; i++) layer->built_in[i] = in[i];
    } else {
        /* a shared layer: the same weights again, so the inputs must be those it was built for */
        char a[96], b[96];
        bool same = n_inputs == layer->built_n_in;
        for (int i = 0; same && i < n_inputs; i++)
            same = in[i].ndim == layer->built_in[i].ndim &&
                   !memcmp(in[i].d, layer->built_in[i].d, sizeof(int64_t) * (size_t)in[i].ndim);
        if (!same) {
            tc_error(TC_ERR_SHAPE, "%s (%s): shared layer called on %d input(s), the first %s, but built for %d, the first %s",
                     layer->name, layer->ops->type, n_inputs, tc_shp_str(&in[0], a, sizeof a), layer->built_n_in,
                     tc_shp_str(&layer->built_in[0], b, sizeof b));
            return call_failed(g, layer);
        }
    }
    int out_from[TC_LAYER_MAX_OUTPUTS];
    if (call_masks(g, layer, n_inputs, inputs, in, out_from) != TC_OK) return call_failed(g, layer);
    call *grown = realloc(g->calls, sizeof *grown * (size_t)(g->n_calls + 1));
    int v0 = g->n_values;
    bool ok = grown != NULL;
    if (grown) g->calls = grown;
    for (int k = 0; ok && k < layer->n_out; k++) ok = add_value(g, &layer->out[k], g->n_calls, k, out_from[k]) >= 0;
    if (!ok) {
        tc_error(TC_ERR_MEMORY, "graph_call: out of memory");
        return call_failed(g, layer);
    }
    call *c = &g->calls[g->n_calls++];
    c->layer = layer;
    c->n_in = n_inputs;
    for (int i = 0; i < n_inputs; i++) c->in[i] = inputs[i];
    c->first_out = v0;
    c->n_out = layer->n_out;
    tc_layer_adopt(layer);
    *first = v0;
    *count = layer->n_out;
    return TC_OK;
}

tc_value tc_graph_call(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs)
{
    int first, count;
    return graph_call(g, layer, n_inputs, inputs, &first, &count) == TC_OK ? first : -1;
}

int tc_graph_call_multi(tc_graph *g, tc_layer *layer, int n_inputs, const tc_value *inputs, int n_outputs,
                        tc_value *outputs)
{
    if (n_outputs < 0 || (n_outputs && !outputs)) {
        if (g) g->failed = true;
        if (layer && !layer->owned) tc_layer_free(layer);
        tc_error(TC_ERR_ARG, "graph_call_multi: %d outputs asked%s", n_outputs, outputs ? "" : " into NULL");
        return -1;
    }
    int first, count;
    if (graph_call(g, layer, n_inputs, inputs, &first, &count) != TC_OK) return -1;
    if (n_outputs > count) {
        g->failed = true;
        tc_error(TC_ERR_ARG, "graph_call_multi: %s (%s) has %d output%s, %d asked", layer->name, layer->ops->type, count,
                 count == 1 ? "" : "s", n_outputs);
        return -1;
    }
    for (int k = 0; k < n_outputs; k++) outputs[k] = first + k;
    return count;
}

tc_value tc_graph_output(tc_graph *g, tc_value v, int k)
{
    if (!g || g->failed) return -1; /* the first error stands */
    if (v < 0 || v >= g->n_values) {
        g->failed = true;
        tc_error(TC_ERR_ARG, "graph_output: %d is not a value of this graph", v);
        return -1;
    }
    const value *x = &g->values[v];
    int n = x->call < 0 ? 1 : g->calls[x->call].n_out;
    if (k < 0 || k >= n) {
        g->failed = true;
        if (x->call < 0) {
            tc_error(TC_ERR_ARG, "graph_output: input %s has 1 output, output %d asked", g->input_names[v], k);
        } else {
            const tc_layer *l = g->calls[x->call].layer;
            tc_error(TC_ERR_ARG, "graph_output: %s (%s) has %d output%s (0 to %d), output %d asked", l->name, l->ops->type,
                     n, n == 1 ? "" : "s", n - 1, k);
        }
        return -1;
    }
    return x->call < 0 ? v : g->calls[x->call].first_out + k;
}

static void collect_params(tc_model *m)
{
    free(m->params);
    free(m->param_names);
    free(m->trainable);
    m->n_params = 0;
    for (int i = 0; i < m->n_layers; i++) m->n_params += m->layers[i]->n_weights;
    m->params = calloc((size_t)m->n_params + 1, sizeof *m->params);
    m->param_names = calloc((size_t)m->n_params + 1, sizeof *m->param_names);
    m->trainable = calloc((size_t)m->n_params + 1, sizeof *m->trainable);
    m->n_trainable = 0;
    int k = 0;
    for (int i = 0; i < m->n_layers; i++) {
        tc_layer *l = m->layers[i];
        for (int j = 0; j < l->n_weights; j++, k++) {
            m->params[k] = l->w[j];
            snprintf(m->param_names[k], sizeof m->param_names[k], "%s/%s", l->name, l->wname[j]);
            l->w[j]->name = m->param_names[k];
            bool t = l->trainable && l->w_trainable[j];
            tc_set_requires_grad(l->w[j], t);
            if (t) m->trainable[m->n_trainable++] = l->w[j];
        }
    }
}

/* Moves every parameter into one flat block (and their gradients, made on
 * first use, into its companion block), each tensor a view at its own
 * offset, as llm.c's malloc_and_point_parameters: optimizers then keep their
 * state in blocks of the same layout and update the whole model in one loop.
 * Layers keep their tensors; only where the values live changes. */
static bool collate_params(tc_model *m)
{
    int64_t total = 0; /* a tensor listed twice (shared) is placed once; its second share stays unused */
    for (int i = 0; i < m->n_params; i++)
        total += (tc_numel(m->params[i]) + TC_BLOCK_ALIGN - 1) / TC_BLOCK_ALIGN * TC_BLOCK_ALIGN;
    m->weights = tc_block_new(total);
    m->grads = m->weights ? tc_block_new(total) : NULL;
    if (!m->grads) return false;
    tc_block_set_companion(m->weights, m->grads);
    tc_scalar *base = tc_block_values(m->weights);
    int64_t off = 0;
    for (int i = 0; i < m->n_params; i++) {
        tc_tensor *p = m->params[i];
        if (p->block == m->weights) continue; /* listed twice: already placed */
        int64_t n = tc_numel(p);
        tc_read_values(p, base + off); /* any layout */
        if (p->flags & TC_OWNS_DATA) free(p->storage);
        p->flags &= ~TC_OWNS_DATA;
        p->storage = base;
        p->offset = off;
        p->data = base + off;
        tc_contiguous_strides(p->ndim, p->shape, p->strides);
        p->block = m->weights;
        if (p->grad) { /* a gradient from before the model: carried into the block */
            tc_tensor *g = tc_block_view(m->grads, off, p->ndim, p->shape);
            if (!g) return false;
            tc_read_values(p->grad, g->data);
            tc_tensor_free(p->grad);
            p->grad = g;
        }
        off += (n + TC_BLOCK_ALIGN - 1) / TC_BLOCK_ALIGN * TC_BLOCK_ALIGN;
    }
    return true;
}

void tc_model_refresh_trainable(tc_model *m)
{
    if (m) collect_params(m);
}

tc_model *tc_graph_model(tc_graph *g, const char *name, int n_inputs, const tc_value *inputs, int n_outputs,
                         const tc_value *outputs)
{
    if (!g) {
        tc_error(TC_ERR_ARG, "graph_model: graph is NULL");
        return NULL;
    }
    tc_model *m = NULL;
    if (g->failed) goto fail; /* the error of the failed call stands */
    if (n_inputs < 1 || n_inputs > MAX_IO || n_outputs < 1 || n_outputs > MAX_IO || !inputs || !outputs) {
        tc_error(TC_ERR_ARG, "graph_model: 1 to %d inputs and outputs", MAX_IO);
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        tc_error(TC_ERR_MEMORY, "graph_model: out of memory");
        goto fail;
    }
    snprintf(m->name, sizeof m->name, "%s", name ? name : "model");
    m->n_inputs = n_inputs;
    m->n_outputs = n_outputs;
    for (int i = 0; i < n_inputs; i++) {
        if (inputs[i] < 0 || inputs[i] >= g->n_inputs) {
            tc_error(TC_ERR_ARG, "graph_model: input %d is not a graph input", i);
            goto fail;
        }
        m->inputs[i] = inputs[i];
    }
    for (int i = 0; i < n_outputs; i++) {
        if (outputs[i] < 0 || outputs[i] >= g->n_values) {
            tc_error(TC_ERR_ARG, "graph_model: output %d is not a value of the graph", i);
            goto fail;
        }
        m->outputs[i] = outputs[i];
    }
    m->g = *g;
    free(g);
    g = NULL;
    m->layers = calloc((size_t)m->g.n_calls + 1, sizeof *m->layers);
    for (int i = 0; i < m->g.n_calls; i++) {
        bool seen = false;
        for (int j = 0; j < m->n_layers; j++) seen |= m->layers[j] == m->g.calls[i].layer;
        if (!seen) m->layers[m->n_layers++] = m->g.calls[i].layer;
    }
    collect_params(m);
    if (!collate_params(m)) {
        tc_model_free(m);
        return NULL;
    }
    return m;
fail:
    if (g) {
        graph_free(g, true);
        free(g);
    }
    free(m);
    return NULL;
}

/* A constructor that failed left a NULL in the list, which ends it early:
 * report that failure rather than build a shorter model. */
static bool ctor_failed(const char *name, tc_layer *const *layers)
{
    /* failures older than every listed layer belong to some other list */
    uint64_t since = UINT64_MAX;
    for (int i = 0; layers && layers[i]; i++)
        if (layers[i]->born - 1 < since) since = layers[i]->born - 1;
    if (since == UINT64_MAX) since = 0;
    char msg[512];
    uint64_t when;
    if (!tc_layer_failed_since(since, msg, sizeof msg, &when)) return false;
    for (int i = 0; layers && layers[i]; i++)
        if (!layers[i]->owned) tc_layer_free(layers[i]);
    /* the layers after the NULL: made after the list's first layer (or, for
     * a list cut at its start, after the failed constructor) */
    tc_layer_free_orphans_since(since ? since : when - 1);
    tc_error(TC_ERR_ARG, "sequential '%s': a layer constructor failed (its NULL ends the layer list): %s",
             name ? name : "model", msg);
    return true;
}

tc_model *tc_sequential_with_input(const char *name, int ndim, const int64_t *input_shape, tc_layer *const *layers)
{
    if (ctor_failed(name, layers)) return NULL;
    int n = 0;
    while (layers && layers[n]) n++;
    for (int i = 0; i < n; i++)
        if (layers[i]->owned) {
            tc_error(TC_ERR_ARG, "sequential '%s': layer %s (%s) already belongs to another model", name ? name : "model",
                     layers[i]->name, layers[i]->ops->type);
            for (int j = 0; j < n; j++)
                if (!layers[j]->owned) tc_layer_free(layers[j]);
            return NULL;
        }
    tc_graph *g = n ? tc_graph_new() : NULL;
    if (!g) {
        for (int i = 0; i < n; i++) tc_layer_free(layers[i]);
        if (!n) tc_error(TC_ERR_ARG, "sequential '%s': no layers", name ? name : "model");
        return NULL;
    }
    tc_value v = tc_graph_input(g, ndim, input_shape, "input");
    int i = 0;
    for (; i < n && v >= 0; i++) {
        v = tc_graph_call(g, layers[i], 1, &v);
        if (v >= 0 && layers[i]->n_out > 1) { /* as in Keras: one tensor flows from layer to layer */
            tc_error(TC_ERR_ARG, "sequential '%s': %s (%s) has %d outputs (return_state); a sequential model needs "
                                 "layers with one output (build a functional model)", name ? name : "model",
                     layers[i]->name, layers[i]->ops->type, layers[i]->n_out);
            g->failed = true;
            v = -1;
        }
    }
    for (; i < n; i++) /* after a failure: the rest was never placed */
        if (!layers[i]->owned) tc_layer_free(layers[i]);
    tc_value in = 0;
    tc_model *m = tc_graph_model(g, name, 1, &in, 1, &v);
    if (m) m->sequential = true;
    return m;
}

tc_model *tc_sequential(const char *name, tc_layer *const *layers)
{
    if (ctor_failed(name, layers)) return NULL;
    if (!layers || !layers[0]) {
        tc_error(TC_ERR_ARG, "sequential '%s': no layers", name ? name : "model");
        return NULL;
    }
    if (!layers[0]->has_input_shape) {
        for (int i = 0; layers[i]; i++)
            if (!layers[i]->owned) tc_layer_free(layers[i]);
        tc_error(TC_ERR_ARG, "sequential '%s': the first layer gives no input shape (set input_shape/input_dim, or use "
                             "tc_sequential_with_input)", name ? name : "model");
        return NULL;
    }
    tc_shp s = layers[0]->input_shape;
    return tc_sequential_with_input(name, s.ndim, s.d, layers);
}

void tc_model_free(tc_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_layers; i++) tc_layer_destroy(m->layers[i]);
    free(m->layers);
    tc_block_free(m->weights); /* after the layers: their tensors viewed these */
    tc_block_free(m->grads);
    tc_infer_free(m->infer);
    graph_free(&m->g, false);
    free(m->params);
    free(m->param_names);
    free(m->trainable);
    free(m);
}

/* ---- running ------------------------------------------------------------------------------- */
/* Runs calls up to and including call `last` (-1: all) and returns the
 * values; the n_want values want (besides the model's outputs) are the ones
 * asked for: a prepared rewrite never skips them. */
static tc_tensor **run(tc_model *m, int n_inputs, tc_tensor *const *inputs, bool training, int last, int n_want,
                       const int *want)
{
    if (n_inputs != m->n_inputs) {
        tc_error(TC_ERR_ARG, "model '%s': takes %d inputs, given %d", m->name, m->n_inputs, n_inputs);
        return NULL;
    }
    /* the values, then their masks (NULL: none) */
    tc_tensor **val = tc_arena_alloc(sizeof *val * (size_t)(2 * m->g.n_values + 1));
    if (!val) return NULL;
    memset(val, 0, sizeof *val * (size_t)(2 * m->g.n_values));
    tc_tensor **mask = val + m->g.n_values;
    for (int i = 0; i < n_inputs; i++) {
        tc_tensor *x = inputs[i];
        const tc_shp *s = &m->g.values[m->inputs[i]].shape;
        bool ok = x && x->ndim == s->ndim + 1;
        for (int d = 0; ok && d < s->ndim; d++) ok = x->shape[1 + d] == s->d[d];
        if (!ok) {
            char b[96];
            tc_error(TC_ERR_SHAPE, "model '%s': input %d has shape %s, expected %s", m->name, i, x ? TC_SHP(x) : "(null)",
                     tc_shp_str(s, b, sizeof b));
            return NULL;
        }
        val[m->inputs[i]] = x;
    }
    int end = last >= 0 ? last + 1 : m->g.n_calls;
    const int *run_as = tc_infer_schedule(m, training, end, n_want, want);
    for (int c = 0; c < end; c++) {
        const call *k = &m->g.calls[c];
        const tc_layer_ops *ops = k->layer->ops;
        if (run_as && run_as[c] == -2) continue; /* done by a later fused convolution */
        tc_tensor *xs[TC_LAYER_MAX_INPUTS], *ms[TC_LAYER_MAX_INPUTS];
        tc_tensor *ys[TC_LAYER_MAX_OUTPUTS] = {0}, *yms[TC_LAYER_MAX_OUTPUTS] = {0};
        for (int i = 0; i < k->n_in; i++) {
            xs[i] = val[k->in[i]];
            ms[i] = mask[k->in[i]];
        }
        tc_status s = TC_OK;
        if (run_as && run_as[c] == c) {
            ys[0] = tc_infer_run(m, c, val);
        } else if (ops->run) {
            s = ops->run(k->layer, k->n_in, xs, ms, training, ys, yms);
        } else {
            ys[0] = ops->call(k->layer, k->n_in, xs, training);
            if (ops->mask_rule == TC_MASK_PASS) yms[0] = ms[0];
        }
        for (int j = 0; j < k->n_out && s == TC_OK; j++)
            if (!ys[j]) s = tc_last_status() ? tc_last_status() : TC_ERR_ARG;
        if (s != TC_OK) {
            char inner[900];
            snprintf(inner, sizeof inner, "%s", tc_last_error());
            tc_error(s, "layer %s (%s): %s", k->layer->name, ops->type, inner);
            return NULL;
        }
        for (int j = 0; j < k->n_out; j++) {
            val[k->first_out + j] = ys[j];
            mask[k->first_out + j] = m->g.values[k->first_out + j].mask_from >= 0 ? yms[j] : NULL;
        }
    }
    return val;
}

tc_status tc_model_forward_multi(tc_model *m, int n_inputs, tc_tensor *const *inputs, bool training, int n_outputs,
                                 tc_tensor **outputs)
{
    if (!m || !outputs || (n_inputs && !inputs)) return tc_error(TC_ERR_ARG, "model_forward: NULL argument");
    if (n_outputs < 1 || n_outputs > m->n_outputs)
        return tc_error(TC_ERR_ARG, "model '%s': has %d outputs, %d asked", m->name, m->n_outputs, n_outputs);
    tc_tensor **val = run(m, n_inputs, inputs, training, -1, 0, NULL);
    if (!val) return tc_last_status();
    for (int i = 0; i < n_outputs; i++) outputs[i] = val[m->outputs[i]];
    return TC_OK;
}

tc_tensor *tc_model_forward(tc_model *m, tc_tensor *x, bool training)
{
    if (m && (m->n_inputs != 1 || m->n_outputs != 1)) {
        tc_error(TC_ERR_ARG, "model '%s': has %d inputs and %d outputs; use tc_model_forward_multi", m->name, m->n_inputs,
                 m->n_outputs);
        return NULL;
    }
    tc_tensor *y = NULL;
    return tc_model_forward_multi(m, 1, &x, training, 1, &y) == TC_OK ? y : NULL;
}

tc_status tc_model_forward_layers(tc_model *m, tc_tensor *x, int n, const char *const *layer_names, bool training,
                                  tc_tensor **outs)
{
    if (!m || n < 1 || !layer_names || !outs) return tc_error(TC_ERR_ARG, "model_forward_layers: NULL argument");
    int *at = tc_arena_alloc(sizeof *at * (size_t)n);
    if (!at) return tc_last_status() ? tc_last_status() : TC_ERR_MEMORY;
    int deepest = -1;
    for (int i = 0; i < n; i++) {
        at[i] = -1;
        for (int c = 0; layer_names[i] && c < m->g.n_calls; c++)
            if (!strcmp(m->g.calls[c].layer->name, layer_names[i])) at[i] = c;
        if (at[i] < 0)
            return tc_error(TC_ERR_ARG, "model '%s': no layer named '%s'", m->name,
                            layer_names[i] ? layer_names[i] : "(null)");
        if (at[i] > deepest) deepest = at[i];
    }
    int *want = tc_arena_alloc(sizeof *want * (size_t)n);
    if (!want) return tc_last_status() ? tc_last_status() : TC_ERR_MEMORY;
    for (int i = 0; i < n; i++) want[i] = m->g.calls[at[i]].first_out;
    tc_tensor **val = run(m, 1, &x, training, deepest, n, want);
    if (!val) return tc_last_status();
    for (int i = 0; i < n; i++) outs[i] = val[m->g.calls[at[i]].first_out];
    return TC_OK;
}

tc_tensor *tc_model_forward_to(tc_model *m, tc_tensor *x, const char *layer_name, bool training)
{
    if (!m || !layer_name) {
        tc_error(TC_ERR_ARG, "model_forward_to: NULL argument");
        return NULL;
    }
    tc_tensor *y = NULL;
    return tc_model_forward_layers(m, x, 1, &layer_name, training, &y) == TC_OK ? y : NULL;
}

/* ---- inspection ------------------------------------------------------------------------------- */
int tc_model_param_count(const tc_model *m) { return m ? m->n_params : 0; }
tc_tensor *tc_model_param(const tc_model *m, int i) { return m && i >= 0 && i < m->n_params ? m->params[i] : NULL; }
const char *tc_model_param_name(const tc_model *m, int i)
{
    return m && i >= 0 && i < m->n_params ? m->param_names[i] : NULL;
}
bool tc_model_param_trainable(const tc_model *m, int i)
{
    return m && i >= 0 && i < m->n_params && tc_requires_grad(m->params[i]);
}
tc_tensor *tc_model_param_by_name(const tc_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_params; i++)
        if (!strcmp(m->param_names[i], name)) return m->params[i];
    return NULL;
}
int tc_model_trainable_params(tc_model *m, tc_tensor ***params)
{
    if (!m) return 0;
    if (params) *params = m->trainable;
    return m->n_trainable;
}
int64_t tc_model_count_params(const tc_model *m, int64_t *trainable, int64_t *non_trainable)
{
    int64_t t = 0, n = 0;
    for (int i = 0; m && i < m->n_params; i++) {
        if (tc_requires_grad(m->params[i])) t += tc_numel(m->params[i]);
        else n += tc_numel(m->params[i]);
    }
    if (trainable) *trainable = t;
    if (non_trainable) *non_trainable = n;
    return t + n;
}
int tc_model_layer_count(const tc_model *m) { return m ? m->n_layers : 0; }
tc_layer *tc_model_layer_at(const tc_model *m, int i) { return m && i >= 0 && i < m->n_layers ? m->layers[i] : NULL; }
tc_layer *tc_model_layer(const tc_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_layers; i++)
        if (!strcmp(m->layers[i]->name, name)) return m->layers[i];
    return NULL;
}
static int shape_of(const tc_shp *s, int64_t *shape)
{
    for (int i = 0; shape && i < s->ndim; i++) shape[i] = s->d[i];
    return s->ndim;
}
int tc_model_input_shape(const tc_model *m, int i, int64_t *shape)
{
    return m && i >= 0 && i < m->n_inputs ? shape_of(&m->g.values[m->inputs[i]].shape, shape) : -1;
}
int tc_model_output_shape(const tc_model *m, int i, int64_t *shape)
{
    return m && i >= 0 && i < m->n_outputs ? shape_of(&m->g.values[m->outputs[i]].shape, shape) : -1;
}
const char *tc_model_name(const tc_model *m) { return m ? m->name : NULL; }

/* ---- summary ------------------------------------------------------------------------------------- */
static void commas(int64_t v, char *buf, size_t size)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t len = strlen(raw), k = 0;
    for (size_t i = 0; i < len && k + 1 < size; i++) {
        if (i && (len - i) % 3 == 0 && k + 2 < size) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = '\0';
}

/* One table row; a text longer than its column, or with a '\n', goes on
 * over further lines within the column, as in Keras' summary. */
static void print_row(FILE *f, int n, const int *width, const char *const *text)
{
    size_t len[4], done[4] = {0};
    for (int c = 0; c < n; c++) len[c] = strlen(text[c]);
    for (bool more = true; more;) {
        char line[256];
        size_t used = 0;
        more = false;
        for (int c = 0; c < n; c++) {
            /* the first column starts with a blank; each keeps one blank at its end */
            size_t room = (size_t)width[c] - (c ? 1 : 2), take = len[c] - done[c] < room ? len[c] - done[c] : room;
            const char *nl = memchr(text[c] + done[c], '\n', take); /* an explicit line break */
            if (nl) take = (size_t)(nl - (text[c] + done[c]));
            used += (size_t)snprintf(line + used, sizeof line - used, "%s%-*.*s", c ? "" : " ", width[c] - (c ? 0 : 1),
                                     (int)take, text[c] + done[c]);
            done[c] += take;
            if (nl) done[c]++;
            more |= done[c] < len[c];
        }
        while (used > 0 && line[used - 1] == ' ') used--; /* no trailing blanks */
        fprintf(f, "%.*s\n", (int)used, line);
    }
}

/* A call's output shape, or its output shapes as Keras lists them, one per
 * line: "[(None, 5, 8),\n (None, 8),\n (None, 8)]". */
static void output_shapes(const tc_graph *g, const call *k, char *buf, size_t size)
{
    if (k->n_out == 1) {
        tc_shp_str(&g->values[k->first_out].shape, buf, size);
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int j = 0; j < k->n_out && used < size; j++) {
        char one[100];
        used += (size_t)snprintf(buf + used, size - used, "%s%s", j ? ",\n " : "",
                                 tc_shp_str(&g->values[k->first_out + j].shape, one, sizeof one));
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

tc_status tc_model_summary(const tc_model *m, FILE *f)
{
    if (!m || !f) return tc_error(TC_ERR_ARG, "model_summary: NULL %s", m ? "FILE" : "model");
    /* Keras' columns: 65 characters for Sequential, 98 with "Connected to" */
    static const int seq_w[] = {29, 26, 10}, fn_w[] = {32, 21, 12, 33};
    bool fn = !m->sequential;
    const int *w = fn ? fn_w : seq_w, ncol = fn ? 4 : 3;
    int width = 0;
    for (int c = 0; c < ncol; c++) width += w[c];
    char line[160], dline[160];
    memset(line, '_', (size_t)width);
    line[width] = '\0';
    memset(dline, '=', (size_t)width);
    dline[width] = '\0';
    fprintf(f, "Model: \"%s\"\n%s\n", m->name, line);
    print_row(f, ncol, w, (const char *[]){"Layer (type)", "Output Shape", "Param #", "Connected to"});
    fprintf(f, "%s\n", dline);
    char shp[TC_LAYER_MAX_OUTPUTS * 100], cnt[32], lt[160], conn[600];
    int rows = 0, n_rows = (fn ? m->g.n_inputs : 0) + m->g.n_calls;
    for (int i = 0; fn && i < m->g.n_inputs; i++) {
        snprintf(lt, sizeof lt, "%s (InputLayer)", m->g.input_names[i]);
        print_row(f, ncol, w, (const char *[]){lt, tc_shp_str(&m->g.values[i].shape, shp, sizeof shp), "0", "[]"});
        if (++rows < n_rows) fprintf(f, "\n");
    }
    for (int c = 0; c < m->g.n_calls; c++) {
        const call *k = &m->g.calls[c];
        bool first_call = true; /* a shared layer's weights count once */
        for (int j = 0; j < c; j++) first_call &= m->g.calls[j].layer != k->layer;
        snprintf(lt, sizeof lt, "%s (%s)", k->layer->name, k->layer->ops->type);
        commas(first_call ? tc_layer_param_count(k->layer) : 0, cnt, sizeof cnt);
        size_t used = (size_t)snprintf(conn, sizeof conn, "[");
        for (int i = 0; i < k->n_in && used < sizeof conn; i++) {
            int v = k->in[i];
            /* Keras 2: 'layer[node][tensor]', node = which call of a shared layer */
            const value *x = &m->g.values[v];
            const char *src = x->call < 0 ? m->g.input_names[v] : "";
            int node = 0;
            if (x->call >= 0) {
                const tc_layer *from = m->g.calls[x->call].layer;
                src = from->name;
                for (int j = 0; j < x->call; j++) node += m->g.calls[j].layer == from;
            }
            used += (size_t)snprintf(conn + used, sizeof conn - used, "%s'%s[%d][%d]'", i ? ",\n " : "", src, node, x->slot);
        }
        if (used < sizeof conn) snprintf(conn + used, sizeof conn - used, "]");
        output_shapes(&m->g, k, shp, sizeof shp);
        print_row(f, ncol, w, (const char *[]){lt, shp, cnt, conn});
        if (++rows < n_rows) fprintf(f, "\n");
    }
    int64_t t, n, total = tc_model_count_params(m, &t, &n);
    char a[32], b[32], d[32];
    commas(total, a, sizeof a);
    commas(t, b, sizeof b);
    commas(n, d, sizeof d);
    fprintf(f, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n%s\n", dline, a, b, d, line);
    return ferror(f) ? tc_error(TC_ERR_IO, "model_summary: write error") : TC_OK;
}

/* ---- the graph, read back (nn.h) ------------------------------------------------------------ */
int tc_model_input_count(const tc_model *m) { return m ? m->n_inputs : 0; }
int tc_model_output_count(const tc_model *m) { return m ? m->n_outputs : 0; }
int tc_model_input_value(const tc_model *m, int i) { return m && i >= 0 && i < m->n_inputs ? m->inputs[i] : -1; }
int tc_model_output_value(const tc_model *m, int i) { return m && i >= 0 && i < m->n_outputs ? m->outputs[i] : -1; }
const char *tc_model_input_name(const tc_model *m, int i)
{
    return m && i >= 0 && i < m->n_inputs ? m->g.input_names[m->inputs[i]] : NULL;
}
int tc_model_call_count(const tc_model *m) { return m ? m->g.n_calls : 0; }
const tc_layer *tc_model_call(const tc_model *m, int c, int *inputs, int *n_inputs, int *first_out, int *n_out)
{
    if (!m || c < 0 || c >= m->g.n_calls) return NULL;
    const call *k = &m->g.calls[c];
    for (int i = 0; inputs && i < k->n_in; i++) inputs[i] = k->in[i];
    if (n_inputs) *n_inputs = k->n_in;
    if (first_out) *first_out = k->first_out;
    if (n_out) *n_out = k->n_out;
    return k->layer;
}
int tc_model_value_count(const tc_model *m) { return m ? m->g.n_values : 0; }
int tc_model_value_shape(const tc_model *m, int v, int64_t *shape)
{
    return m && v >= 0 && v < m->g.n_values ? shape_of(&m->g.values[v].shape, shape) : -1;
}
int tc_model_value_mask_from(const tc_model *m, int v)
{
    return m && v >= 0 && v < m->g.n_values ? m->g.values[v].mask_from : -1;
}
