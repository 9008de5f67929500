/* libFuzzer target: the TensorFlow GraphDef reader must reject any byte
 * string cleanly, and a graph it accepts must have every input resolved to
 * a node and an order where producers come first; the model loader on top
 * (operators looked up, input counts checked, constants decoded) must also
 * fail cleanly or give a model whose constants match their shapes; and
 * running it (every placeholder fed a small image, each of the first nodes
 * fetched in turn) must compute or fail cleanly, never crash.
 * Build: cmake -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang (see tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/tf_internal.h"
#include "tensorcook/autograd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_graph *g;
    if (tc_tf_graph_read_memory(data, size, "/nonexistent/fuzz.pb", &g) != TC_OK) return 0;
    int *place = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!place) abort();
    for (int i = 0; i < g->n_nodes; i++) place[g->order[i]] = i;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->n_inputs[i]; k++) {
            int p = g->inputs[i][k].node;
            if (p < 0 || p >= g->n_nodes || place[p] >= place[i]) abort();
        }
    free(place);
    tc_tf_graph_free(g);
    tc_tf_model *m = tc_tf_load_memory(data, size, "/nonexistent/fuzz.pb");
    if (m) {
        for (int i = 0; i < tc_tf_node_count(m); i++)
            if (!tc_tf_node_name(m, i) || !tc_tf_node_op(m, i)) abort();
        (void)tc_tf_param_count(m);
        int n_in = tc_tf_input_count(m) < 8 ? tc_tf_input_count(m) : 8;
        const char *feed[8];
        tc_tensor *x[8];
        tc_set_grad_enabled(false);
        for (int k = 0; k < n_in; k++) {
            feed[k] = tc_tf_node_name(m, tc_tf_input_node(m, k));
            x[k] = tc_full(TC_SHAPE(1, 5, 4, 3), 0.5f);
        }
        for (int i = 0; i < tc_tf_node_count(m) && i < 32; i++) {
            const char *fetch = tc_tf_node_name(m, i);
            tc_tensor *y;
            (void)tc_tf_run(m, n_in, feed, x, 1, &fetch, &y);
        }
        tc_step_reset();
        tc_tf_free(m);
    }
    return 0;
}
