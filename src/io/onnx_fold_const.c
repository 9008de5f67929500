/* Constant and Identity nodes folded away at load (tc_onnx_prepare_inference).
 *
 * PyTorch's export leaves MobileNet-v2 with 70 Constant nodes (each Clip's
 * 0 and 6) and 39 Identity nodes (biases that several Convs share, one
 * Identity per extra reader): 109 of its 209 nodes. Each one ran at every
 * inference: a Constant copied its value into the step, an Identity passed
 * its input on; 0.17 ms of the 5.2 ms a batch-1 image took on one thread,
 * in node dispatch, step allocations and (for Constant) a copy.
 *
 *  - A Constant's value becomes its output's initializer (the tensor the
 *    node decoded at load, handed over): readers get it as they get any
 *    initializer, load_scalar and the chains see a value known at load.
 *  - An Identity's readers read its input instead.
 * Both nodes are then skipped. Same values, same bits: nothing is computed
 * differently. A value that is a graph output (which must stay a step
 * tensor of the run's own) or that a subgraph captures by name is left to
 * its node. */
#include "onnx_run.h"

static bool is_op(const onnx_node *n, const char *op)
{
    const char *d = n->proto->domain;
    return n->op && !n->prep_error && !n->skip && n->proto->op_type && !strcmp(n->proto->op_type, op) &&
           (!d || !d[0] || !strcmp(d, "ai.onnx"));
}

/* v is a graph output or read by a subgraph of some node */
static bool pinned(const tc_onnx_model *m, int v)
{
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] == v) return true;
    for (int k = 0; k < m->n_nodes; k++)
        for (int b = 0; b < 2; b++) {
            const tc_onnx_model *sub = m->nodes[k].sub[b];
            for (int i = 0; sub && i < sub->n_values; i++)
                if (sub->values[i].outer == v) return true;
        }
    return false;
}

int tc_onnx_fold_constants(tc_onnx_model *m)
{
    int folded = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        onnx_node *n = &m->nodes[k];
        if (n->n_out != 1 || n->out[0] < 0 || pinned(m, n->out[0])) continue;
        int v = n->out[0];
        if (is_op(n, "Constant") && n->n_in == 0 && !m->values[v].init) {
            tc_onnx_dtype dt;
            tc_tensor *t = tc_onnx_constant_take(n, &dt);
            if (!t) continue;
            t->name = m->values[v].name;
            m->values[v].init = t; /* freed with the model's values */
            m->values[v].dtype = dt;
            m->values[v].producer = -1;
        } else if (is_op(n, "Identity") && n->n_in == 1 && n->in[0] >= 0) {
            for (int j = k + 1; j < m->n_nodes; j++)
                for (int i = 0; i < m->nodes[j].n_in; i++)
                    if (m->nodes[j].in[i] == v) m->nodes[j].in[i] = n->in[0];
        } else {
            continue;
        }
        n->skip = true;
        folded++;
    }
    return folded;
}
