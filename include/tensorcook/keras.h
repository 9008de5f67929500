/* Keras HDF5 files (.h5): weights written by Keras' save_weights and the
 * Keras application files, and full-model files (save: a model_config JSON
 * attribute and the weights in the group model_weights).
 *
 * Layers are matched to the file's layers by name (tc_layer_name equals the
 * Keras layer name), or by position among the layers that have weights
 * (Keras' load_weights without by_name). Within a layer, weights are matched
 * by the last part of their stored name (kernel, bias, gamma, ...; the
 * Keras 1 names block1_conv1_W_1:0 and block1_conv1_b_1:0 read as kernel and
 * bias), and by position when the names say nothing; shapes are always
 * checked. Files without keras_version are Keras 1: their LSTM (12 arrays,
 * gates i, c, f, o) and GRU (9 arrays) weights are joined into Keras 2's
 * three. See docs/keras.md. */
#ifndef TENSORCOOK_KERAS_H
#define TENSORCOOK_KERAS_H

#include "core.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    bool by_order;      /* Keras' fallback: match layers with weights by position, not by name */
    bool skip_missing;  /* layers of the model absent from the file are left as they are
                           (e.g. a notop file into a model with a new top) */
    bool skip_extra;    /* layers of the file absent from the model are ignored, as Keras'
                           load_weights(by_name=True) does (e.g. c3d-keras' fc8 when only
                           the clip features up to fc7 are built) */
} tc_keras_load_opts;

/* Loads a Keras weight file (save_weights / application files) or the
 * model_weights group of a full-model file into m by layer name. Any missing
 * layer, extra layer or shape mismatch: ONE error listing every mismatch,
 * and nothing changed. o may be NULL. */
tc_status tc_load_keras_weights(tc_model *m, const char *path, const tc_keras_load_opts *o);
/* Writes m's weights in the layout Keras' load_weights reads (layer_names,
 * weight_names, nested datasets, keras_version, backend). Atomic (tmp +
 * rename). */
tc_status tc_save_keras_weights(const tc_model *m, const char *path);
/* A full-model .h5 (root attribute model_config, JSON): builds the
 * Sequential/functional model from the layers tensorcook has, then loads its
 * weights. Unsupported layer classes or options: one error naming them. */
tc_model *tc_load_keras_model(const char *path);

/* ---- inspecting a file (tensorcook keras info) ---------------------------------
 * Opening reads the layer table (names, weight names and shapes, the layer
 * classes of a model_config), not the weight values. */
typedef struct tc_keras_file tc_keras_file;
tc_keras_file *tc_keras_open(const char *path);
void tc_keras_close(tc_keras_file *f);
const char *tc_keras_file_version(const tc_keras_file *f);  /* keras_version; "1" when absent */
const char *tc_keras_file_backend(const tc_keras_file *f);  /* "tensorflow", ...; NULL when absent */
/* The model_config's class ("Sequential", "Model", "Functional"), NULL for a weight-only file. */
const char *tc_keras_file_model_class(const tc_keras_file *f);
int tc_keras_file_layer_count(const tc_keras_file *f);      /* layer_names, in order */
const char *tc_keras_file_layer_name(const tc_keras_file *f, int i);
/* The layer's class from model_config, NULL when the file has none. */
const char *tc_keras_file_layer_class(const tc_keras_file *f, int i);
int tc_keras_file_weight_count(const tc_keras_file *f, int i);
const char *tc_keras_file_weight_name(const tc_keras_file *f, int i, int j); /* as stored: "fc1/kernel:0" */
int tc_keras_file_weight_shape(const tc_keras_file *f, int i, int j, int64_t *shape); /* ndim, -1 on error */
int64_t tc_keras_file_param_count(const tc_keras_file *f);

#ifdef __cplusplus
}
#endif
#endif
