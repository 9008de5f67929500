/* Internal structure of layers and models (src/nn/). Each layer type is a
 * table of {Keras type name, name prefix, build, call}; build creates the
 * weights for the input shapes and computes the output shape, call runs it
 * on a batch with public ops only. */
#ifndef TC_NN_LAYER_H
#define TC_NN_LAYER_H

#include "../core/internal.h"
#include "tensorcook/nn.h"
#include "tensorcook/rnn.h"

#define TC_LAYER_MAX_WEIGHTS 8 /* Bidirectional(LSTM with peepholes) holds 8 */
#define TC_LAYER_MAX_INPUTS 8

typedef struct {
    int ndim;
    int64_t d[TC_MAX_DIMS];
} tc_shp; /* a shape without the batch axis */

typedef struct tc_layer_ops_ {
    const char *type;    /* Keras class name */
    const char *prefix;  /* generated names: prefix, prefix_1, ... */
    tc_status (*build)(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng);
    tc_tensor *(*call)(tc_layer *l, int n_in, tc_tensor *const *x, bool training);
    /* optional: the type for these inputs, for layers whose Keras class
     * depends on the input rank (GlobalAveragePooling1D/2D/3D) */
    const struct tc_layer_ops_ *(*retype)(const tc_layer *l, int n_in, const tc_shp *in);
} tc_layer_ops;

struct tc_layer {
    const tc_layer_ops *ops;
    char name[64];
    bool trainable, built;
    bool owned;             /* placed in a graph or model, which frees it */
    uint64_t born;          /* constructor clock time (see tc_layer_ctor_error) */
    const void *creator;    /* the thread that made it (its clock) */
    tc_layer *orphan_prev, *orphan_next; /* in the list of layers no model holds yet */
    int n_weights;
    tc_tensor *w[TC_LAYER_MAX_WEIGHTS];
    char wname[TC_LAYER_MAX_WEIGHTS][48]; /* "kernel", "bias", "forward_lstm/kernel", ... */
    bool w_trainable[TC_LAYER_MAX_WEIGHTS];
    tc_shp out;
    int built_n_in;         /* the inputs it was built for (a shared layer must get the same) */
    tc_shp built_in[TC_LAYER_MAX_INPUTS];
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
    tc_layer *inner[2];     /* Bidirectional: the forward and backward layers (their weights are in w) */
};

tc_layer *tc_layer_alloc(const tc_layer_ops *ops, const char *name);
/* A layer constructor's error: like tc_error, and also remembered (with the
 * time on a per-thread clock of constructor calls) so that tc_sequential can
 * report it: a NULL in a NULL-terminated layer list hides the layers after it. */
void tc_layer_ctor_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True (once) when a constructor failed after clock time `since`; its
 * message and clock time. */
bool tc_layer_failed_since(uint64_t since, char *msg, size_t size, uint64_t *when);
/* Frees a layer whether or not a model holds it (models and graphs use it). */
void tc_layer_destroy(tc_layer *l);
/* A graph now holds l (it leaves the list of unheld layers). */
void tc_layer_adopt(tc_layer *l);
/* Frees the layers this thread made after `since` that no model holds: the
 * ones a failed constructor's NULL hid from tc_sequential. */
void tc_layer_free_orphans_since(uint64_t since);
/* Checks shared by the constructors; false after tc_layer_ctor_error. */
bool tc_layer_check_name(const char *type, const char *name);
bool tc_layer_check_activation(const char *type, tc_activation a);
/* Adds weight i (long-lived, zero) named kind; returns it or NULL. */
tc_tensor *tc_layer_add_weight(tc_layer *l, const char *kind, int ndim, const int64_t *shape, bool trainable);
/* Keras' glorot_uniform for a kernel whose last axis is the output. */
void tc_glorot_uniform(tc_tensor *w, tc_rng *rng);
char *tc_shp_str(const tc_shp *s, char *buf, size_t size); /* "(None, 28, 28, 32)" */

#endif
