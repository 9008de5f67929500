/* Shared by the WaveNet sources (not installed): a named parameter list,
 * the model structs, and Glorot-uniform initialisation. */
#ifndef TC_WAVENET_INTERNAL_H
#define TC_WAVENET_INTERNAL_H

#include "tensorcook/wavenet.h"

typedef struct {
    int n, cap;
    tc_tensor **t;
    char **names;
} tc_param_list;

/* A long-lived zero tensor named `name` that requires a gradient; NULL on failure. */
tc_tensor *tc_param_list_add(tc_param_list *l, const char *name, int ndim, const int64_t *shape);
void tc_param_list_free(tc_param_list *l);
int tc_param_list_find(const tc_param_list *l, const char *name);
int64_t tc_param_list_numel(const tc_param_list *l);
tc_status tc_param_list_put(tc_checkpoint *ck, const tc_param_list *l, const char *prefix);
tc_status tc_param_list_get(const tc_checkpoint *ck, tc_param_list *l, const char *prefix, const char *what);
/* Keras' glorot_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
void tc_wavenet_glorot(tc_rng *r, tc_tensor *t, int64_t fan_in, int64_t fan_out);

/* Per layer of the stack: indices into the parameter list (-1: absent). */
typedef struct {
    int dilation;
    int dil_kernel, dil_bias, gc_kernel, lc_kernel, res_kernel, res_bias, skip_kernel, skip_bias;
} tc_wavenet_layer;

struct tc_wavenet {
    tc_wavenet_opts o;
    int n_layers;             /* blocks * layers */
    tc_wavenet_layer *layer;
    int embedding, post1_kernel, post1_bias, post2_kernel, post2_bias;
    tc_param_list p;
};

struct tc_wavenet_encoder {
    tc_wavenet_encoder_opts o;
    tc_param_list p;
};

#endif
