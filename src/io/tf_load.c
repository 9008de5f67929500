/* Loading a TensorFlow frozen graph as a tensorcook model: the GraphDef
 * read and ordered (tf_graph_read.c), every node's translation looked up
 * and its input count checked, the constants decoded once (they are the
 * weights), the Placeholders listed. All checks happen here, so a graph
 * that loads fails later only on a shape that does not fit. */
#include "tf_internal.h"

#include <stdlib.h>
#include <string.h>

void tc_tf_free(tc_tf_model *m)
{
    if (!m) return;
    if (m->konst)
        for (int i = 0; i < m->g->n_nodes; i++) tc_tensor_free(m->konst[i]);
    free(m->konst);
    free(m->op);
    free(m->input_nodes);
    tc_tf_graph_free(m->g);
    free(m->path);
    free(m);
}

static int value_inputs(const tf_graph *g, int i)
{
    int n = 0;
    for (int k = 0; k < g->n_inputs[i]; k++) n += !g->inputs[i][k].control;
    return n;
}

static tc_status prepare(tc_tf_model *m)
{
    const tf_graph *g = m->g;
    int n = g->n_nodes;
    m->op = calloc((size_t)(n ? n : 1), sizeof *m->op);
    m->konst = calloc((size_t)(n ? n : 1), sizeof *m->konst);
    m->input_nodes = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!m->op || !m->konst || !m->input_nodes) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    for (int i = 0; i < n; i++) {
        const Tctf__NodeDef *d = g->def->node[i];
        const tf_op_entry *e = tc_tf_op_lookup(d->op);
        if (!e)
            return tc_error(TC_ERR_UNSUPPORTED, "%s: node '%s': operator '%s' is not supported (see docs/tf_graph.md)",
                            m->path, d->name, d->op);
        int k = value_inputs(g, i);
        if (k < e->min_in || (e->max_in >= 0 && k > e->max_in))
        {
            char want[48];
            if (e->max_in < 0) snprintf(want, sizeof want, "%d or more", e->min_in);
            else if (e->max_in == e->min_in) snprintf(want, sizeof want, "%d", e->min_in);
            else snprintf(want, sizeof want, "%d to %d", e->min_in, e->max_in);
            return tc_error(TC_ERR_FORMAT, "%s: node '%s' (%s) has %d inputs; it takes %s", m->path, d->name, d->op, k,
                            want);
        }
        for (int j = 0; j < g->n_inputs[i]; j++)
            if (!g->inputs[i][j].control && g->inputs[i][j].output != 0) {
                const Tctf__NodeDef *p = g->def->node[g->inputs[i][j].node];
                /* every translated op has one output, but for FusedBatchNorm's
                 * statistics, which an inference graph does not read */
                return tc_error(TC_ERR_UNSUPPORTED, "%s: node '%s' reads output %d of '%s' (%s); only output 0 is computed",
                                m->path, d->name, g->inputs[i][j].output, p->name, p->op);
            }
        m->op[i] = e;
        if (!strcmp(d->op, "Const")) {
            char who[300];
            snprintf(who, sizeof who, "node '%.200s'", d->name);
            const Tctf__AttrValue *v = tc_tf_attr(d, "value");
            if (!v || v->value_case != TCTF__ATTR_VALUE__VALUE_TENSOR)
                return tc_error(TC_ERR_FORMAT, "%s: %s (Const) has no 'value' tensor", m->path, who);
            if (!(m->konst[i] = tc_tf_decode_tensor(v->tensor, m->path, who))) return tc_last_status();
        } else if (!strcmp(d->op, "Placeholder")) {
            m->input_nodes[m->n_inputs++] = i;
        }
    }
    return TC_OK;
}

tc_tf_model *tc_tf_load_memory(const void *data, size_t size, const char *name)
{
    tc_tf_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(name ? name : "graph"))) {
        free(m);
        tc_error(TC_ERR_MEMORY, "%s: out of memory", name ? name : "graph");
        return NULL;
    }
    if (tc_tf_graph_read_memory(data, size, m->path, &m->g) != TC_OK || prepare(m) != TC_OK) {
        tc_tf_free(m);
        return NULL;
    }
    return m;
}

tc_tf_model *tc_tf_load(const char *path)
{
    unsigned char *data;
    size_t size;
    if (tc_read_file(path, (size_t)2 << 30, &data, &size) != TC_OK) return NULL;
    tc_tf_model *m = tc_tf_load_memory(data, size, path);
    free(data);
    return m;
}

int tc_tf_node_count(const tc_tf_model *m) { return m ? m->g->n_nodes : 0; }

const char *tc_tf_node_name(const tc_tf_model *m, int i)
{
    return m && i >= 0 && i < m->g->n_nodes ? m->g->def->node[i]->name : NULL;
}

const char *tc_tf_node_op(const tc_tf_model *m, int i)
{
    return m && i >= 0 && i < m->g->n_nodes ? m->g->def->node[i]->op : NULL;
}

int tc_tf_find(const tc_tf_model *m, const char *name)
{
    if (!m || !name) return -1;
    size_t len = strlen(name);
    if (len > 2 && !strcmp(name + len - 2, ":0")) len -= 2; /* "name:0": the node's one output */
    for (int i = 0; i < m->g->n_nodes; i++) {
        const char *n = m->g->def->node[i]->name;
        if (strlen(n) == len && !strncmp(n, name, len)) return i;
    }
    return -1;
}

int tc_tf_input_count(const tc_tf_model *m) { return m ? m->n_inputs : 0; }

int tc_tf_input_node(const tc_tf_model *m, int i) { return m && i >= 0 && i < m->n_inputs ? m->input_nodes[i] : -1; }

int tc_tf_input_shape(const tc_tf_model *m, int i, int64_t dims[TC_MAX_DIMS])
{
    int node = tc_tf_input_node(m, i);
    if (node < 0) return -1;
    const Tctf__AttrValue *v = tc_tf_attr(m->g->def->node[node], "shape");
    if (!v || v->value_case != TCTF__ATTR_VALUE__VALUE_SHAPE || !v->shape || v->shape->unknown_rank ||
        v->shape->n_dim > TC_MAX_DIMS)
        return -1;
    for (size_t d = 0; d < v->shape->n_dim; d++) dims[d] = v->shape->dim[d]->size < 0 ? -1 : v->shape->dim[d]->size;
    return (int)v->shape->n_dim;
}

int64_t tc_tf_param_count(const tc_tf_model *m)
{
    int64_t n = 0;
    for (int i = 0; m && i < m->g->n_nodes; i++)
        if (m->konst[i]) {
            const Tctf__AttrValue *v = tc_tf_attr(m->g->def->node[i], "value");
            if (v->tensor->dtype == TCTF__DATA_TYPE__DT_FLOAT) n += tc_numel(m->konst[i]);
        }
    return n;
}
