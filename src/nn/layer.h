/* Internal structure of layers and models (src/nn/). Each layer type is a
 * table of {Keras type name, name prefix, build, call}; build creates the
 * weights for the input shapes and computes the output shape, call runs it
 * on a batch with public ops only. */
#ifndef TC_NN_LAYER_H
#define TC_NN_LAYER_H

#include "../core/internal.h"
#include "tensorcook/nn.h"
#include "tensorcook/rnn.h"

#define TC_LAYER_MAX_WEIGHTS 4
#define TC_LAYER_MAX_INPUTS 8

typedef struct {
    int ndim;
    int64_t d[TC_MAX_DIMS];
} tc_shp; /* a shape without the batch axis */

typedef struct {
    const char *type;    /* Keras class name */
    const char *prefix;  /* generated names: prefix, prefix_1, ... */
    tc_status (*build)(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng);
    tc_tensor *(*call)(tc_layer *l, int n_in, tc_tensor *const *x, bool training);
} tc_layer_ops;

struct tc_layer {
    const tc_layer_ops *ops;
    char name[64];
    bool trainable, built, owned;
    int n_weights;
    tc_tensor *w[TC_LAYER_MAX_WEIGHTS];
    char wname[TC_LAYER_MAX_WEIGHTS][32]; /* "kernel", "bias", ... */
    bool w_trainable[TC_LAYER_MAX_WEIGHTS];
    tc_shp out;
    bool has_input_shape;
    tc_shp input_shape;     /* from the options of a first layer */
    int nsp;                /* spatial rank of conv / pool layers */
    tc_activation act;
    union {
        tc_dense_opts dense;
        tc_conv_opts conv;
        tc_pool_opts pool;
        tc_embedding_opts emb;
        tc_batchnorm_opts bn;
        double rate;
        int axis;
        tc_shp reshape;
        tc_rnn_opts rnn;
    } o;
    bool is_max;            /* pools */
    tc_rng dropout_rng;
};

tc_layer *tc_layer_alloc(const tc_layer_ops *ops, const char *name);
/* Adds weight i (long-lived, zero) named kind; returns it or NULL. */
tc_tensor *tc_layer_add_weight(tc_layer *l, const char *kind, int ndim, const int64_t *shape, bool trainable);
/* Keras' glorot_uniform for a kernel whose last axis is the output. */
void tc_glorot_uniform(tc_tensor *w, tc_rng *rng);
char *tc_shp_str(const tc_shp *s, char *buf, size_t size); /* "(None, 28, 28, 32)" */

#endif
