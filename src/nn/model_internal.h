/* The structure of models (model.c), shared with the inference rewrite
 * (model_infer.c). Private to src/nn/. */
#ifndef TC_NN_MODEL_INTERNAL_H
#define TC_NN_MODEL_INTERNAL_H

#include "layer.h"

#define MAX_IO 8

typedef struct {
    tc_layer *layer;
    int n_in;
    int in[TC_LAYER_MAX_INPUTS]; /* value ids */
    int first_out, n_out;        /* its outputs are the values first_out .. first_out + n_out - 1 */
} call;

typedef struct {
    tc_shp shape;
    int call;                    /* the call that makes it; -1: a model input */
    int slot;                    /* which output of that call */
    int mask_from;               /* the call whose layer made the mask it carries; -1: no mask */
} value;

struct tc_graph {
    int n_values;
    value *values;
    char (*input_names)[64];
    int n_calls;
    call *calls;
    int n_inputs;                /* values 0 .. n_inputs-1 are inputs, in order */
    bool failed;
};

struct tc_model {
    char name[64];
    bool sequential;
    tc_graph g;
    int n_inputs, n_outputs;
    int inputs[MAX_IO], outputs[MAX_IO];
    int n_layers;
    tc_layer **layers;           /* distinct layers, in call order */
    int n_params;
    tc_tensor **params;
    char (*param_names)[sizeof ((tc_layer *)0)->name + sizeof ((tc_layer *)0)->wname[0]]; /* "LAYER/WEIGHT", never cut */
    int n_trainable;
    tc_tensor **trainable;
    tc_block *weights, *grads;   /* every parameter, and every parameter's gradient, in one flat block each */
    struct tc_infer_plan *infer; /* tc_model_prepare_inference's rewrite, or NULL */
};

/* ---- the inference rewrite (model_infer.c) ---- */
/* Which calls of a run (of calls [0, end), asking for the n_want values
 * want besides the model's outputs) the rewrite replaces: run_as[c] is -1
 * for a call that runs as it is, -2 for one that is skipped (its work is
 * done by a later call's fused convolution), or c itself for the call that
 * runs the fused convolution in its place. NULL: no rewrite applies (no
 * plan, or a training run, which also discards the plan: see nn.h). */
int *tc_infer_schedule(tc_model *m, bool training, int end, int n_want, const int *want);
/* Runs the fused convolution that ends at call c (run_as[c] == c). */
tc_tensor *tc_infer_run(tc_model *m, int c, tc_tensor *const *val);
void tc_infer_free(struct tc_infer_plan *p);

#endif
