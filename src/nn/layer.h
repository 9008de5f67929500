/* Internal structure of layers and models (src/nn/). Each layer type is a
 * table of {Keras type name, name prefix, build, call}; build creates the
 * weights for the input shapes and computes the output shape, call runs it
 * on a batch with public ops only. */
#ifndef TC_NN_LAYER_H
#define TC_NN_LAYER_H

#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/nn.h"
#include "tensorcook/rnn.h"


typedef struct {
    int ndim;
    int64_t d[TC_MAX_DIMS];
} tc_shp; /* a shape without the batch axis */

/* Masks (Keras' masking): a value may carry a [batch, ...] 0/1 mask over
 * all its axes but the last (the features), e.g. [B, T] for a [B, T, F]
 * sequence: 0 marks a padded step. Masking and Embedding(mask_zero) make
 * masks, layers that keep the time axes pass them on, recurrent layers
 * consume them. What a layer does with a masked input: */
typedef enum {
    TC_MASK_REFUSE = 0, /* a build error, as Keras 2's "does not support masking" */
    TC_MASK_PASS,       /* one input, time axes kept: the output carries the input's mask */
    TC_MASK_OWN         /* the layer's masks and run hooks read and make masks */
} tc_mask_rule;

typedef struct tc_layer_ops_ {
    const char *type;    /* Keras class name */
    const char *prefix;  /* generated names: prefix, prefix_1, ... */
    /* out has room for TC_LAYER_MAX_OUTPUTS shapes; a layer with several
     * outputs sets l->n_out (1 before build) */
    tc_status (*build)(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng);
    /* the forward pass of a layer with one output (NULL where run is given) */
    tc_tensor *(*call)(tc_layer *l, int n_in, tc_tensor *const *x, bool training);
    /* optional: the type for these inputs, for layers whose Keras class
     * depends on the input rank (GlobalAveragePooling1D/2D/3D) */
    const struct tc_layer_ops_ *(*retype)(const tc_layer *l, int n_in, const tc_shp *in);
    tc_mask_rule mask_rule;
    /* TC_MASK_OWN, at build time: in_from[i] is the graph call whose layer
     * made input i's mask (-1: none), self this call; fills out_from for
     * each of the l->n_out outputs the same way (preset to -1; a NULL hook:
     * the layer uses the masks up). May refuse with an error. */
    tc_status (*masks)(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from);
    /* optional, instead of call: several outputs and masks. mask[i] is
     * input i's mask or NULL; fills y[0 .. n_out-1] and ymask (NULL: no
     * mask) as the masks hook announced. */
    tc_status (*run)(tc_layer *l, int n_in, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                     tc_tensor **ymask);
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
    int n_out;              /* outputs: 1, or several (an RNN with return_state) */
    tc_shp out[TC_LAYER_MAX_OUTPUTS];
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
        double mask_value;  /* Masking */
        int64_t pad[6];     /* ZeroPadding2D: top, bottom, left, right; ZeroPadding3D: before/after of each of the 3 axes */
        struct {
            bool use_scale, causal;
        } attention;
    } o;
    bool is_max;            /* pools */
    tc_rng dropout_rng;
    bool has_rng;                /* dropout_rng is in use (Dropout, RNN dropout): checkpoints keep its position */
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
/* A model made by tc_sequential: its layers, in order, form a chain (model.c). */
bool tc_model_is_sequential(const tc_model *m);
/* ---- convolution layers for the inference rewrite (layers_conv.c, model_infer.c) ---- */
/* The weight a following BatchNormalization folds into (its last axis is
 * the output channels): 0 for Conv1D/2D/3D, 1 (pointwise) for
 * SeparableConv2D; -1 for any other layer, or one with an activation. */
int tc_conv_layer_kernel_index(const tc_layer *l);
/* The layer's forward on x with that kernel and bias (NULL: none) in place
 * of its own, and the fused epilogue act(y + residual) (tc_conv_params);
 * packed (NULL: none) is that kernel's tc_conv_weights_prepare. */
tc_tensor *tc_conv_layer_run(tc_layer *l, tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, tc_conv_act act,
                             tc_tensor *residual, const tc_conv_weights *packed);
/* ---- masks (layers_mask.c) ---- */
/* 1 where x differs from v: per element, or per feature vector (any of the
 * last axis) with over_features. */
tc_tensor *tc_mask_where_not(tc_tensor *x, tc_scalar v, bool over_features);
/* The mask of a merge of inputs x (Add; Concatenate on axis, of the full
 * tensor) into *merged: NULL when no input has one; a missing mask counts
 * as all ones. Joined along a time axis, the masks are joined too;
 * otherwise a step is kept where every input keeps it (Keras' rule). */
tc_status tc_mask_merge(int n, tc_tensor *const *x, tc_tensor *const *mask, int axis, tc_tensor **merged);
/* A masks hook: the output carries the mask of the first masked input. */
tc_status tc_mask_from_any(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from);

#endif
