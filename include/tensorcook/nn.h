/* Layers and models (Keras-like). OWNED BY the nn/ work: this first version
 * fixes the contract the training loop (train.h) relies on; the nn/ work
 * adds the layer constructors and may extend, but not change, what is here.
 *
 * A model owns its layers and their parameters (long-lived tensors named
 * "layer_name/kernel", "layer_name/bias", ... like Keras' weight names). */
#ifndef TENSORCOOK_NN_H
#define TENSORCOOK_NN_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_layer tc_layer;
typedef struct tc_model tc_model;

/* Forward pass of a model with one input and one output. training selects
 * dropout and batch-norm behaviour. The result is a step tensor. */
tc_tensor *tc_model_forward(tc_model *m, tc_tensor *x, bool training);
/* Models with several inputs/outputs. */
tc_status tc_model_forward_multi(tc_model *m, int n_inputs, tc_tensor *const *inputs, bool training,
                                 int n_outputs, tc_tensor **outputs);

/* Parameters, in a stable order. Trainable ones require gradients; frozen
 * layers' parameters and non-trainable state (batch-norm running stats)
 * do not. */
int tc_model_param_count(const tc_model *m);
tc_tensor *tc_model_param(const tc_model *m, int i);
const char *tc_model_param_name(const tc_model *m, int i);
bool tc_model_param_trainable(const tc_model *m, int i);
/* Every parameter tensor that requires a gradient (for optimizers); the
 * array is owned by the model and valid until its layers change. */
int tc_model_trainable_params(tc_model *m, tc_tensor ***params);

const char *tc_model_name(const tc_model *m);
void tc_model_free(tc_model *m);

#ifdef __cplusplus
}
#endif
#endif
