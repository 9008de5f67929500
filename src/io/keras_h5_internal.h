/* Internal interface of the Keras .h5 code (src/io/keras_h5*.c): the
 * file's layer table, read with HDF5's C library, and the string
 * attributes Keras writes. */
#ifndef TC_IO_KERAS_H5_INTERNAL_H
#define TC_IO_KERAS_H5_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/keras.h"

#include <hdf5.h>
#include <json-c/json.h>

typedef struct {
    char *name;                   /* as in weight_names: "block1_conv1/kernel:0" */
    int ndim;
    int64_t shape[TC_MAX_DIMS];
} kh5_weight;

typedef struct {
    char *name;                   /* from layer_names */
    const char *cls;              /* from model_config (points into the JSON), or NULL */
    int n_weights;
    kh5_weight *w;
} kh5_layer;

struct tc_keras_file {
    char *path;
    hid_t file;
    hid_t root;                   /* the group holding layer_names: "/" or "/model_weights" */
    char *keras_version;          /* "1" when the file has none */
    char *backend;                /* NULL when absent */
    json_object *config;          /* the parsed model_config, or NULL */
    const char *model_class;
    int n_layers;
    kh5_layer *layers;
};

/* Runs with HDF5's automatic error printing off (the library never
 * prints); restores the previous handler. */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} kh5_quiet;
kh5_quiet kh5_quiet_begin(void);
void kh5_quiet_end(kh5_quiet q);
/* HDF5's innermost error description into buf (160 bytes; "" if none); clears the stack. */
const char *kh5_hdf5_reason(char *buf);

/* A string attribute (scalar or 1-D; fixed- or variable-length; ASCII or
 * UTF-8) of obj as *n strings (malloc'd array of malloc'd strings); a
 * numeric attribute with no elements (how Keras stores an empty
 * weight_names list) gives n = 0. Returns NULL with *n = -1 and a message
 * in problem when absent or unreadable; with chunks, also reads Keras'
 * name0, name1, ... split of long lists. */
char **kh5_read_strings(hid_t obj, const char *name, bool chunks, int *n, char *problem, size_t psize);
void kh5_free_strings(char **s, int n);
/* Fixed-length string attributes, as Keras writes them (scalar when
 * n < 0, else a 1-D array of n). */
tc_status kh5_write_strings(hid_t obj, const char *name, const char *const *s, int n);

/* Reads weight j of layer i into dst (numel values, converted to
 * tc_scalar). */
tc_status kh5_read_weight(const tc_keras_file *f, int i, int j, tc_scalar *dst);
int64_t kh5_numel(const kh5_weight *w);
/* The layer of the given name, or -1. */
int kh5_find_layer(const tc_keras_file *f, const char *name);

/* Loads f's weights into m (keras_h5_load.c). */
tc_status kh5_load_into(const tc_keras_file *f, tc_model *m, const tc_keras_load_opts *o);

/* Model building (keras_h5_model.c) from the parsed configuration. */
tc_model *kh5_build_model(const tc_keras_file *f);

#endif
