/* libFuzzer target: building a model from any model_config text (the JSON
 * attribute of a full-model .h5) must end in a model or one error, never a
 * crash or a leak. Uses the library's internal builder directly, without an
 * HDF5 file around the text.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stdlib.h>
#include <string.h>

#include "io/keras_h5_internal.h"
#include "tensorcook/autograd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    json_object *cfg = json_tokener_parse(text);
    free(text);
    json_object *cls = NULL;
    if (cfg && json_object_is_type(cfg, json_type_object) && json_object_object_get_ex(cfg, "class_name", &cls) &&
        json_object_is_type(cls, json_type_string)) {
        tc_keras_file f = {.path = "fuzz.h5", .file = -1, .root = -1, .keras_version = "2.2.4", .config = cfg,
                           .model_class = json_object_get_string(cls)};
        tc_model *m = kh5_build_model(&f);
        tc_model_free(m);
    }
    if (cfg) json_object_put(cfg);
    tc_step_reset();
    return 0;
}
