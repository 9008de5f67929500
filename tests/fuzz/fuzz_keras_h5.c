/* libFuzzer target: the Keras .h5 reader must reject any byte string with
 * one error and no crash. HDF5 opens files by name, so each input is
 * written to one temporary file of this process, then inspected, loaded
 * as a model and loaded as weights into a small fixed model.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hdf5.h>

#include "tensorcook/tensorcook.h"

static char path[64];
static tc_model *target;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_keras_h5_%ld.h5", (long)getpid());
        target = tc_sequential("fuzz", (tc_layer *[]){
            tc_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 3, .name = "conv2d_1", .input_shape = {8, 8, 3}}),
            tc_batchnorm(&(tc_batchnorm_opts){.name = "batch_normalization_1"}), tc_flatten_layer("flatten_1"),
            tc_dense(&(tc_dense_opts){.units = 5, .name = "dense_1"}), NULL});
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    tc_keras_file *k = tc_keras_open(path);
    if (k) {
        /* touch everything the reader accepted */
        for (int i = 0; i < tc_keras_file_layer_count(k); i++) {
            (void)tc_keras_file_layer_class(k, i);
            for (int j = 0; j < tc_keras_file_weight_count(k, i); j++) {
                int64_t shape[TC_MAX_DIMS];
                tc_keras_file_weight_shape(k, i, j, shape);
            }
        }
        (void)tc_keras_file_param_count(k);
        tc_keras_close(k);
        tc_model *m = tc_load_keras_model(path);
        tc_model_free(m);
        tc_load_keras_weights(target, path, NULL);
        tc_load_keras_weights(target, path, &(tc_keras_load_opts){.by_order = true});
    }
    /* every file, group, dataset and attribute the reader opened is closed */
    if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    unlink(path);
    tc_step_reset();
    return 0;
}
