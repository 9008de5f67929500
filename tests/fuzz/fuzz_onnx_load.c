/* libFuzzer target: the ONNX loader must reject any byte string cleanly.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"
#include "tensorcook/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_onnx_model *m = tc_onnx_load_memory(data, size, "/nonexistent/fuzz.onnx");
    if (m) {
        /* inspect everything the loader accepted */
        for (int i = 0; i < tc_onnx_input_count(m); i++) {
            int64_t dims[TC_MAX_DIMS];
            tc_onnx_input_shape(m, i, dims);
        }
        for (int i = 0; i < tc_onnx_output_count(m); i++) {
            int64_t dims[TC_MAX_DIMS];
            tc_onnx_output_shape(m, i, dims);
        }
        tc_onnx_param_count(m);
        tc_onnx_free(m);
    }
    tc_step_reset();
    return 0;
}
