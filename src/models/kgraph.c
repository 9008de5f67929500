/* Keras-ordered graph building for the zoo (see kgraph.h). */
#include "kgraph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kg_init(kg *g, int width_div)
{
    memset(g, 0, sizeof *g);
    g->div = width_div;
    g->nodes = calloc(64, sizeof *g->nodes);
    if (!g->nodes) {
        g->failed = true;
        snprintf(g->error, sizeof g->error, "zoo: out of memory");
        return;
    }
    g->cap = 64;
    g->n = 1; /* the input */
}

static void fail(kg *g, const char *msg)
{
    if (!g->failed) snprintf(g->error, sizeof g->error, "%s", msg);
    g->failed = true;
}

int kg_call(kg *g, tc_layer *l, int n_in, const int *in)
{
    if (!l) fail(g, tc_last_error());
    bool ok = !g->failed && n_in >= 1 && n_in <= KG_MAX_IN;
    for (int i = 0; ok && i < n_in; i++) ok = in[i] >= 0 && in[i] < g->n;
    if (ok && g->n == g->cap) {
        kg_node *grown = realloc(g->nodes, sizeof *grown * (size_t)g->cap * 2);
        if (grown) g->nodes = grown, g->cap *= 2;
        else fail(g, "zoo: out of memory"), ok = false;
    }
    if (!ok) {
        fail(g, "zoo: a layer call on a failed graph");
        if (l) tc_layer_free(l);
        return -1;
    }
    kg_node *k = &g->nodes[g->n];
    k->layer = l;
    k->n_in = n_in;
    for (int i = 0; i < n_in; i++) k->in[i] = in[i];
    return g->n++;
}

const char *kg_auto(kg *g, const char *prefix, char *buf)
{
    int i = 0;
    while (i < g->n_names && strcmp(g->names[i].prefix, prefix)) i++;
    if (i == g->n_names && i < 16) {
        snprintf(g->names[i].prefix, sizeof g->names[i].prefix, "%s", prefix);
        g->names[i].count = 0;
        g->n_names++;
    }
    int k = i < 16 ? g->names[i].count++ : 0;
    if (k == 0) snprintf(buf, 64, "%s", prefix);
    else snprintf(buf, 64, "%s_%d", prefix, k);
    return buf;
}

/* ---- Keras' ordering ---------------------------------------------------------------------- */
typedef struct {
    const kg *g;
    int *index, *post, n_post, counter;
    bool *done;
} walk;

/* Depth-first from the output: a node gets its traversal index when first
 * met (before its inputs), and joins `post` after them. Iterative, with an
 * explicit stack (ResNet-sized graphs would be fine recursively, but a
 * stack bounds the C stack use whatever the graph). */
static void dfs(walk *w, int out)
{
    int n = w->g->n;
    int *stack = malloc(sizeof *stack * (size_t)n * 2 + sizeof *stack);
    int *next_in = calloc((size_t)n, sizeof *next_in);
    if (!stack || !next_in) {
        free(stack);
        free(next_in);
        return;
    }
    int top = 0;
    stack[top++] = out;
    w->index[out] = w->counter++;
    while (top > 0) {
        int v = stack[top - 1];
        const kg_node *k = &w->g->nodes[v];
        int nin = v == 0 ? 0 : k->n_in;
        if (next_in[v] < nin) {
            int u = k->in[next_in[v]++];
            if (!w->done[u] && w->index[u] < 0) { /* not met yet */
                w->index[u] = w->counter++;
                stack[top++] = u;
            }
            continue;
        }
        top--;
        w->done[v] = true;
        w->post[w->n_post++] = v;
    }
    free(stack);
    free(next_in);
}

typedef struct {
    int depth, index, node;
} ranked;
/* deepest first, then in the order the walk met them (no globals: models may be built on several threads) */
static int by_depth_then_index(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->depth != y->depth) return y->depth - x->depth;
    return x->index - y->index;
}

static void free_nodes(kg *g, int from)
{
    for (int i = from; i < g->n; i++)
        if (g->nodes[i].layer) tc_layer_free(g->nodes[i].layer);
}

tc_model *kg_model(kg *g, const char *name, int64_t h, int64_t w, int out)
{
    tc_model *m = NULL;
    int n = g->n;
    int *index = malloc(sizeof *index * (size_t)n), *post = malloc(sizeof *post * (size_t)n);
    int *depth = calloc((size_t)n, sizeof *depth), *order = malloc(sizeof *order * (size_t)n);
    bool *done = calloc((size_t)n, sizeof *done);
    tc_value *val = malloc(sizeof *val * (size_t)n);
    if (!g->failed && (out < 1 || out >= n)) fail(g, "zoo: no output");
    if (!g->failed && (!index || !post || !depth || !order || !done || !val)) fail(g, "zoo: out of memory");
    if (g->failed) {
        free_nodes(g, 1);
        tc_error(TC_ERR_ARG, "%s", g->error);
        goto done;
    }
    for (int i = 0; i < n; i++) index[i] = -1;
    walk wk = {g, index, post, 0, 0, done};
    dfs(&wk, out);
    /* depths: from the output back, each input one deeper than its deepest consumer */
    for (int p = wk.n_post - 1; p >= 0; p--) {
        int v = post[p];
        for (int i = 0; v && i < g->nodes[v].n_in; i++) {
            int u = g->nodes[v].in[i];
            if (depth[u] < depth[v] + 1) depth[u] = depth[v] + 1;
        }
    }
    int n_order = wk.n_post;
    ranked *rk = malloc(sizeof *rk * (size_t)(n_order + 1));
    if (!rk) {
        free_nodes(g, 1);
        tc_error(TC_ERR_MEMORY, "zoo: out of memory");
        goto done;
    }
    for (int k = 0; k < n_order; k++) rk[k] = (ranked){depth[post[k]], index[post[k]], post[k]};
    qsort(rk, (size_t)n_order, sizeof *rk, by_depth_then_index);
    for (int k = 0; k < n_order; k++) order[k] = rk[k].node;
    free(rk);
    /* nodes the output does not need are not part of the model */
    for (int i = 1; i < n; i++)
        if (!done[i] && g->nodes[i].layer) {
            tc_layer_free(g->nodes[i].layer);
            g->nodes[i].layer = NULL;
        }
    tc_graph *tg = tc_graph_new();
    if (!tg) {
        free_nodes(g, 1);
        goto done;
    }
    for (int k = 0; k < n_order; k++) {
        int v = order[k];
        if (v == 0) {
            val[0] = tc_graph_input(tg, 3, (int64_t[]){h, w, 3}, "input_1");
            continue;
        }
        tc_value ins[KG_MAX_IN];
        for (int i = 0; i < g->nodes[v].n_in; i++) ins[i] = val[g->nodes[v].in[i]];
        val[v] = tc_graph_call(tg, g->nodes[v].layer, g->nodes[v].n_in, ins); /* a failure frees the layer */
        g->nodes[v].layer = NULL;
    }
    m = tc_graph_model(tg, name, 1, &val[0], 1, &val[out]);
done:
    free(index);
    free(post);
    free(depth);
    free(order);
    free(done);
    free(val);
    free(g->nodes);
    g->nodes = NULL;
    return m;
}

/* ---- shorthands ------------------------------------------------------------------------------ */
int kg_conv(kg *g, int x, int filters, int kh, int kw, int stride, tc_padding pad, bool bias, tc_activation act,
            const char *name)
{
    char b[64];
    return kg_call1(g, tc_conv2d(&(tc_conv_opts){.filters = filters, .kernel_dims = {kh, kw}, .stride = stride,
                                                 .padding = pad, .no_bias = !bias, .act = act,
                                                 .name = name ? name : kg_auto(g, "conv2d", b)}), x);
}

int kg_sepconv(kg *g, int x, int filters, int k, const char *name)
{
    char b[64];
    return kg_call1(g, tc_separable_conv2d(&(tc_conv_opts){.filters = filters, .kernel = k, .padding = TC_SAME,
                                                           .no_bias = true,
                                                           .name = name ? name : kg_auto(g, "separable_conv2d", b)}), x);
}

int kg_bn(kg *g, int x, double eps, bool scale, const char *name)
{
    char b[64];
    return kg_call1(g, tc_batchnorm(&(tc_batchnorm_opts){.eps = eps, .no_scale = !scale,
                                                         .name = name ? name : kg_auto(g, "batch_normalization", b)}), x);
}

int kg_act(kg *g, int x, tc_activation a, const char *name)
{
    char b[64];
    return kg_call1(g, tc_activation_layer(a, name ? name : kg_auto(g, "activation", b)), x);
}

int kg_pool(kg *g, int x, bool max, int k, int stride, tc_padding pad, const char *name)
{
    char b[64];
    tc_pool_opts o = {.pool = k, .stride = stride, .padding = pad,
                      .name = name ? name : kg_auto(g, max ? "max_pooling2d" : "average_pooling2d", b)};
    return kg_call1(g, max ? tc_maxpool2d(&o) : tc_avgpool2d(&o), x);
}

int kg_add(kg *g, int a, int b2, const char *name)
{
    char b[64];
    return kg_call(g, tc_add_layer(name ? name : kg_auto(g, "add", b)), 2, (int[]){a, b2});
}

int kg_concat(kg *g, int n, const int *xs, const char *name)
{
    char b[64];
    return kg_call(g, tc_concatenate(-1, name ? name : kg_auto(g, "concatenate", b)), n, xs);
}

int kg_dense(kg *g, int x, int units, tc_activation act, const char *name)
{
    char b[64];
    return kg_call1(g, tc_dense(&(tc_dense_opts){.units = units, .act = act, .name = name ? name : kg_auto(g, "dense", b)}),
                    x);
}

int kg_global_pool(kg *g, int x, bool max, const char *name)
{
    char b[64];
    if (!name) name = kg_auto(g, max ? "global_max_pooling2d" : "global_average_pooling2d", b);
    return kg_call1(g, max ? tc_global_maxpool(name) : tc_global_avgpool(name), x);
}

int kg_gap_top(kg *g, int x, const tc_zoo_opts *o, const char *top_name)
{
    if (o->include_top) {
        x = kg_global_pool(g, x, false, "avg_pool");
        return kg_dense(g, x, o->classes, TC_SOFTMAX, top_name);
    }
    if (o->pooling == TC_ZOO_POOL_AVG) return kg_global_pool(g, x, false, NULL);
    if (o->pooling == TC_ZOO_POOL_MAX) return kg_global_pool(g, x, true, NULL);
    return x;
}
