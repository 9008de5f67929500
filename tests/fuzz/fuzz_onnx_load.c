/* libFuzzer target: the ONNX loader must reject any byte string cleanly,
 * and a model it accepts must run or fail cleanly on zero inputs of its
 * declared shapes (which exercises every operator's attribute parsing at
 * load and its checks when it runs).
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "tensorcook/tensorcook.h"
#include "tensorcook/onnx.h"

/* zero inputs of the declared shapes (symbolic dims 1), when they are small */
static void try_run(tc_onnx_model *m)
{
    int n = tc_onnx_input_count(m), nout = tc_onnx_output_count(m);
    if (n > 16 || nout > 16 || tc_onnx_node_count(m) > 64) return;
    tc_tensor *in[16], *out[16];
    for (int i = 0; i < n; i++) {
        int64_t dims[TC_MAX_DIMS], total = 1;
        int r = tc_onnx_input_shape(m, i, dims);
        if (r < 0 || r > TC_MAX_DIMS) return;
        for (int d = 0; d < r; d++) {
            if (dims[d] < 0) dims[d] = 1;
            if (dims[d] > 64) return;
            total *= dims[d];
        }
        if (total > 4096) return;
        in[i] = tc_zeros(r, dims);
        if (!in[i]) return;
    }
    bool g = tc_set_grad_enabled(false);
    tc_onnx_run(m, n, in, nout, out);
    tc_set_grad_enabled(g);
}

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
        for (int i = 0; i < tc_onnx_node_count(m); i++) tc_onnx_node_supported(m, i);
        char line[256]; /* what `onnx info` lists, subgraphs included */
        for (int k = 0, n = tc_onnx_unsupported(m, 0, line, sizeof line); k < n && k < 16; k++)
            tc_onnx_unsupported(m, k, line, sizeof line);
        tc_onnx_param_count(m);
        try_run(m);
        tc_onnx_free(m);
    }
    tc_step_reset();
    return 0;
}
