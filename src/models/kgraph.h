/* A graph builder that emits layer calls in Keras' model.layers order.
 * Keras orders a functional model's layers by depth (the longest path to
 * the output, deepest first) and, within a depth, by the order in which a
 * depth-first walk from the output first meets them (keras/src/ops/
 * function.py map_graph, as keras/engine/network.py before it). The zoo
 * builds each architecture in Keras' creation order (which fixes the
 * automatic names: conv2d, conv2d_1, ...), then kg_model sorts the calls as
 * Keras does and places them in a tc graph in that order, so that
 * tc_model_layer_at(m, i - 1) is Keras' model.layers[i]. */
#ifndef TC_MODELS_KGRAPH_H
#define TC_MODELS_KGRAPH_H

#include "tensorcook/models.h"
#include "tensorcook/nn.h"

#define KG_MAX_IN 4

typedef struct {
    tc_layer *layer; /* NULL for node 0, the input */
    int n_in, in[KG_MAX_IN];
} kg_node;

typedef struct {
    kg_node *nodes;
    int n, cap;
    bool failed;
    char error[1024];
    struct {
        char prefix[40];
        int count;
    } names[16];
    int n_names;
    int div; /* width divisor */
} kg;

/* node 0 is the input */
void kg_init(kg *g, int width_div);
/* A call of l on nodes in[0..n_in-1]; returns its node, -1 after a failure
 * (a NULL layer: its constructor's error is kept; l is freed on failure). */
int kg_call(kg *g, tc_layer *l, int n_in, const int *in);
static inline int kg_call1(kg *g, tc_layer *l, int x) { return kg_call(g, l, 1, &x); }
/* Keras' automatic name for a new layer of this prefix: prefix, prefix_1, ... */
const char *kg_auto(kg *g, const char *prefix, char *buf);
/* Sorts the calls as Keras, builds the model and frees the builder (also on
 * failure). */
tc_model *kg_model(kg *g, const char *name, int64_t h, int64_t w, int out);
/* width: n / div, at least 1 */
static inline int kg_w(const kg *g, int n) { return g->div > 1 ? (n / g->div > 0 ? n / g->div : 1) : n; }

/* ---- layer shorthands (name NULL: the automatic Keras name) ---- */
int kg_conv(kg *g, int x, int filters, int kh, int kw, int stride, tc_padding pad, bool bias, tc_activation act,
            const char *name);
int kg_sepconv(kg *g, int x, int filters, int k, const char *name); /* 3x3 SAME, no bias */
int kg_bn(kg *g, int x, double eps, bool scale, const char *name);
int kg_act(kg *g, int x, tc_activation a, const char *name);
int kg_pool(kg *g, int x, bool max, int k, int stride, tc_padding pad, const char *name);
int kg_add(kg *g, int a, int b, const char *name);
int kg_concat(kg *g, int n, const int *xs, const char *name);
int kg_dense(kg *g, int x, int units, tc_activation act, const char *name);
int kg_global_pool(kg *g, int x, bool max, const char *name);
/* Keras' classifier or pooling ending: include_top -> GAP avg_pool + Dense
 * softmax top_name; else pooling (auto names). */
int kg_gap_top(kg *g, int x, const tc_zoo_opts *o, const char *top_name);

/* the architectures: the output node of the base (or of the top) */
int tc_zoo_vgg(kg *g, int x, bool vgg19, const tc_zoo_opts *o);
int tc_zoo_resnet50(kg *g, int x, const tc_zoo_opts *o);
int tc_zoo_inception_v3(kg *g, int x, const tc_zoo_opts *o);
int tc_zoo_xception(kg *g, int x, const tc_zoo_opts *o);
#endif
