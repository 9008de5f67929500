/* Loading an ONNX model: parse with protobuf-c (which checks every length it
 * reads), decode initializers, resolve every node input to a value, and order
 * the nodes topologically (a cycle or an undefined input is an error). */
#include "onnx_internal.h"

#include <stdlib.h>

/* A model file bigger than this is not an ONNX model protobuf can hold (2 GiB). */
#define ONNX_MAX_FILE ((size_t)2 << 30)

const char *tc_onnx_node_label(const Onnx__NodeProto *n, char *buf, size_t size)
{
    if (n->name && n->name[0]) snprintf(buf, size, "%s node '%s'", n->op_type ? n->op_type : "?", n->name);
    else if (n->n_output && n->output[0]) snprintf(buf, size, "%s node (output '%s')", n->op_type ? n->op_type : "?", n->output[0]);
    else snprintf(buf, size, "%s node", n->op_type ? n->op_type : "?");
    return buf;
}

/* ---- attributes (decoded once at load, see tc_onnx_prepare_node) ------- */
const Onnx__AttributeProto *tc_onnx_attr(const onnx_node *n, const char *name)
{
    for (int i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attr[i].name, name)) return n->attr[i].proto;
    return NULL;
}

int64_t tc_onnx_attr_int(const onnx_node *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float tc_onnx_attr_float(const onnx_node *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

const char *tc_onnx_attr_string(const onnx_node *n, const char *name, const char *dflt)
{
    for (int i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attr[i].name, name)) return n->attr[i].s ? n->attr[i].s : dflt;
    return dflt;
}

int tc_onnx_attr_ints(const onnx_node *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    if (!a) return -1;
    int k = a->n_ints > (size_t)INT32_MAX ? INT32_MAX : (int)a->n_ints;
    for (int i = 0; i < k && i < max; i++) out[i] = a->ints[i];
    return k;
}

int tc_onnx_attr_floats(const onnx_node *n, const char *name, float *out, int max)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    if (!a) return -1;
    int k = a->n_floats > (size_t)INT32_MAX ? INT32_MAX : (int)a->n_floats;
    for (int i = 0; i < k && i < max; i++) out[i] = a->floats[i];
    return k;
}

/* ---- values -------------------------------------------------------------- */
static int find_value(const tc_onnx_model *m, const char *name)
{
    for (int i = m->n_values - 1; i >= 0; i--)
        if (!strcmp(m->values[i].name, name)) return i;
    return -1;
}

static int add_value(tc_onnx_model *m, const char *name, int producer)
{
    if (m->n_values == m->cap_values) {
        int cap = m->cap_values ? m->cap_values * 2 : 64;
        onnx_value *g = realloc(m->values, sizeof *g * (size_t)cap);
        if (!g) return -1;
        m->values = g;
        m->cap_values = cap;
    }
    onnx_value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = producer;
    v->dtype = TC_ONNX_FLOAT;
    v->outer = -1;
    return m->n_values++;
}

/* A name as a node of m sees it: m's own value, or (in a subgraph) a value
 * of an enclosing graph, captured as a value of m that the run fills from
 * the enclosing graph's values. -1 if no scope defines it (yet). */
static int resolve(tc_onnx_model *m, const char *name)
{
    int v = find_value(m, name);
    if (v >= 0 || !m->parent) return v;
    int p = resolve(m->parent, name);
    if (p < 0) return -1;
    v = add_value(m, name, -1);
    if (v < 0) return -2; /* out of memory */
    m->values[v].outer = p;
    m->values[v].dtype = m->parent->values[p].dtype;
    m->values[v].elem_type = m->parent->values[p].elem_type;
    m->values[v].info = m->parent->values[p].info;
    return v;
}

/* Whether name is an output of a node of g. */
static bool produced_in(const Onnx__GraphProto *g, const char *name)
{
    for (size_t j = 0; j < g->n_node; j++)
        for (size_t q = 0; q < g->node[j]->n_output; q++)
            if (g->node[j]->output[q] && !strcmp(g->node[j]->output[q], name)) return true;
    return false;
}

/* Whether the subgraph sub (an attribute of a node of g), and the graphs
 * nested in it, use no name that a node of g produces and m has not
 * defined yet: a control-flow node runs after every value its bodies read
 * from the enclosing scope. */
static bool subgraph_ready(const tc_onnx_model *m, const Onnx__GraphProto *g, const Onnx__GraphProto *sub, int depth)
{
    if (depth > 64) return true; /* absurd nesting fails later, when loaded */
    for (size_t i = 0; i < sub->n_node; i++) {
        const Onnx__NodeProto *np = sub->node[i];
        for (size_t k = 0; k < np->n_input; k++)
            if (np->input[k] && np->input[k][0] && find_value(m, np->input[k]) < 0 && produced_in(g, np->input[k]))
                return false;
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *at = np->attribute[a];
            if (at->g && !subgraph_ready(m, g, at->g, depth + 1)) return false;
            for (size_t q = 0; q < at->n_graphs; q++)
                if (at->graphs[q] && !subgraph_ready(m, g, at->graphs[q], depth + 1)) return false;
        }
    }
    return true;
}

/* The packs made so far are dropped, so the next run packs every constant
 * kernel again in the new precision (subgraphs keep theirs: set it before
 * the first run of a model with subgraphs). */
tc_status tc_onnx_set_precision(tc_onnx_model *m, tc_precision p)
{
    if (!m) return tc_error(TC_ERR_ARG, "onnx: set_precision on a NULL model");
    if (p < TC_PRECISION_FP32 || p > TC_PRECISION_INT8) return tc_error(TC_ERR_ARG, "onnx: unknown precision %d", (int)p);
    if (m->conv_packs && p != m->precision)
        for (int i = 0; i < m->n_values; i++) {
            tc_conv_weights_free(m->conv_packs[i].pack);
            m->conv_packs[i].pack = NULL;
            tc_gemm_b_panel_release(m->conv_packs[i].dense);
            free(m->conv_packs[i].dense);
            m->conv_packs[i].dense = NULL;
        }
    m->precision = p;
    return TC_OK;
}

void tc_onnx_free(tc_onnx_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_values; i++) {
        tc_tensor_free(m->values[i].init);
        if (m->cl_kernels) tc_tensor_free(m->cl_kernels[i]);
        if (m->conv_packs) {
            tc_conv_weights_free(m->conv_packs[i].pack);
            tc_gemm_b_panel_release(m->conv_packs[i].dense);
            free(m->conv_packs[i].dense);
        }
    }
    free(m->cl_kernels);
    free(m->conv_packs);
    free(m->profile);
    tc_onnx_live_forget(m);
    for (int i = 0; i < m->n_nodes; i++) tc_onnx_free_node(&m->nodes[i]);
    free(m->nodes);
    free(m->values);
    free(m->inputs);
    free(m->outputs);
    free(m->inits);
    if (m->proto) onnx__model_proto__free_unpacked(m->proto, NULL);
    free(m->path);
    free(m->dir);
    free(m);
}

static tc_onnx_model *fail(tc_onnx_model *m) { tc_onnx_free(m); return NULL; }

static tc_onnx_dtype elem_dtype(const Onnx__ValueInfoProto *vi)
{
    if (vi && vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && vi->type->tensor_type &&
        vi->type->tensor_type->has_elem_type)
    {
        int t = vi->type->tensor_type->elem_type; /* FLOAT, DOUBLE, FLOAT16, BFLOAT16 travel as float */
        return t == 1 || t == 11 || t == 10 || t == 16 ? TC_ONNX_FLOAT : TC_ONNX_INT64;
    }
    return TC_ONNX_FLOAT;
}

/* Kahn's algorithm over the file's node order: nodes whose inputs are all
 * defined run first, in file order among themselves. */
static bool order_nodes(tc_onnx_model *m, const Onnx__GraphProto *g)
{
    size_t n = g->n_node;
    int *state = calloc(n + 1, sizeof(int)); /* 0 pending, 1 placed */
    m->nodes = calloc(n + 1, sizeof(onnx_node));
    if (!state || !m->nodes) {
        free(state);
        tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
        return false;
    }
    /* every name some node produces */
    size_t placed = 0;
    while (placed < n) {
        bool progress = false;
        for (size_t i = 0; i < n; i++) {
            if (state[i]) continue;
            const Onnx__NodeProto *np = g->node[i];
            bool ready = true;
            for (size_t k = 0; k < np->n_input && ready; k++)
                if (np->input[k] && np->input[k][0]) {
                    int r = resolve(m, np->input[k]);
                    if (r == -2) {
                        free(state);
                        tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
                        return false;
                    }
                    if (r < 0) ready = false;
                }
            for (size_t a = 0; a < np->n_attribute && ready; a++) {
                const Onnx__AttributeProto *at = np->attribute[a];
                if (at->g && !subgraph_ready(m, g, at->g, 0)) ready = false;
                for (size_t q = 0; q < at->n_graphs && ready; q++)
                    if (at->graphs[q] && !subgraph_ready(m, g, at->graphs[q], 0)) ready = false;
            }
            if (!ready) continue;
            onnx_node *nd = &m->nodes[m->n_nodes];
            nd->proto = np;
            nd->n_in = (int)np->n_input;
            nd->n_out = (int)np->n_output;
            if (nd->n_in > m->max_io) m->max_io = nd->n_in;
            if (nd->n_out > m->max_io) m->max_io = nd->n_out;
            nd->in = malloc(sizeof(int) * (np->n_input + 1));
            nd->out = malloc(sizeof(int) * (np->n_output + 1));
            if (!nd->in || !nd->out) {
                free(state);
                tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
                return false;
            }
            for (size_t k = 0; k < np->n_input; k++)
                nd->in[k] = (np->input[k] && np->input[k][0]) ? resolve(m, np->input[k]) : -1;
            for (size_t k = 0; k < np->n_output; k++) {
                nd->out[k] = -1;
                if (np->output[k] && np->output[k][0]) {
                    nd->out[k] = add_value(m, np->output[k], m->n_nodes);
                    if (nd->out[k] < 0) {
                        free(state);
                        tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
                        return false;
                    }
                }
            }
            m->n_nodes++;
            state[i] = 1;
            placed++;
            progress = true;
        }
        if (!progress) {
            /* report the first stuck node and its undefined input */
            for (size_t i = 0; i < n; i++) {
                if (state[i]) continue;
                const Onnx__NodeProto *np = g->node[i];
                for (size_t k = 0; k < np->n_input; k++) {
                    if (!np->input[k] || !np->input[k][0] || resolve(m, np->input[k]) >= 0) continue;
                    bool produced = produced_in(g, np->input[k]);
                    char lb[256];
                    tc_error(TC_ERR_FORMAT, "%s: %s: input '%s' %s", m->path, tc_onnx_node_label(np, lb, sizeof lb),
                             np->input[k], produced ? "depends on a cycle" : "is not defined by any input, initializer or node");
                    free(state);
                    return false;
                }
            }
            free(state);
            tc_error(TC_ERR_FORMAT, "%s: the graph cannot be ordered (a subgraph reads a value that depends on its own node)", m->path);
            return false;
        }
    }
    free(state);
    return true;
}

/* The values and nodes of graph g into m (the main graph, or a subgraph
 * whose m->parent is the enclosing graph's model). */
static bool load_graph(tc_onnx_model *m, const Onnx__GraphProto *g)
{
    if (g->n_sparse_initializer) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", m->path);
        return false;
    }
    m->inits = calloc(g->n_initializer + 1, sizeof(int));
    m->inputs = calloc(g->n_input + 1, sizeof(int));
    m->outputs = calloc(g->n_output + 1, sizeof(int));
    if (!m->inits || !m->inputs || !m->outputs) {
        tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
        return false;
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *tp = g->initializer[i];
        if (!tp->name || !tp->name[0]) {
            tc_error(TC_ERR_FORMAT, "%s: initializer %zu has no name", m->path, i);
            return false;
        }
        int v = add_value(m, tp->name, -1);
        if (v < 0) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
            return false;
        }
        char who[512];
        snprintf(who, sizeof who, "%s: initializer '%s'", m->path, tp->name);
        m->values[v].init = tc_onnx_decode_tensor(tp, m->dir, &m->values[v].dtype, who);
        if (!m->values[v].init) return false;
        m->values[v].init->name = m->values[v].name;
        m->values[v].elem_type = tp->has_data_type ? tp->data_type : 0;
        m->inits[m->n_inits++] = v;
    }
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || !vi->name[0]) {
            tc_error(TC_ERR_FORMAT, "%s: graph input %zu has no name", m->path, i);
            return false;
        }
        int v = find_value(m, vi->name);
        if (v >= 0) { /* an initializer listed as input (old exporters): a default value */
            m->values[v].info = vi;
            continue;
        }
        v = add_value(m, vi->name, -1);
        if (v < 0) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
            return false;
        }
        m->values[v].info = vi;
        m->values[v].dtype = elem_dtype(vi);
        if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && vi->type->tensor_type &&
            vi->type->tensor_type->has_elem_type)
            m->values[v].elem_type = vi->type->tensor_type->elem_type;
        if (vi->type && vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            tc_error(TC_ERR_UNSUPPORTED, "%s: input '%s' is not a tensor", m->path, vi->name);
            return false;
        }
        m->inputs[m->n_inputs++] = v;
    }
    if (!order_nodes(m, g)) return false;
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        int v = vi->name ? resolve(m, vi->name) : -1; /* a subgraph may return an outer value */
        if (v == -2) {
            tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
            return false;
        }
        if (v < 0) {
            tc_error(TC_ERR_FORMAT, "%s: graph output '%s' is not produced by any node", m->path,
                     vi->name ? vi->name : "(unnamed)");
            return false;
        }
        if (!m->values[v].info) m->values[v].info = vi;
        m->outputs[m->n_outputs++] = v;
    }
    /* every node's translation and attributes, once */
    for (int i = 0; i < m->n_nodes; i++)
        if (tc_onnx_prepare_node(m, &m->nodes[i]) != TC_OK) return false;
    return true;
}

static tc_onnx_model *load(const char *path, const uint8_t *data, size_t len)
{
    tc_onnx_model *m = calloc(1, sizeof *m);
    if (!m) {
        tc_error(TC_ERR_MEMORY, "onnx_load: out of memory");
        return NULL;
    }
    m->path = strdup(path);
    m->dir = strdup(path);
    char *slash = strrchr(m->dir, '/');
    if (slash) *slash = '\0';
    else strcpy(m->dir, ".");
    m->proto = onnx__model_proto__unpack(NULL, len, data);
    if (!m->proto) {
        tc_error(TC_ERR_FORMAT, "%s: not a valid ONNX model (truncated or corrupt protobuf)", path);
        return fail(m);
    }
    const Onnx__GraphProto *g = m->proto->graph;
    if (!g) {
        tc_error(TC_ERR_FORMAT, "%s: the model has no graph", path);
        return fail(m);
    }
    m->opset = -1;
    for (size_t i = 0; i < m->proto->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->proto->opset_import[i];
        /* other domains load: their nodes have no translation, so `onnx info`
         * lists them as not supported and running fails on the first one */
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) m->opset = o->has_version ? o->version : 1;
    }
    if (m->opset < 0) m->opset = 1;
    /* opsets 7 to 17 are the target; older models (the ONNX test suite has
     * many opset 1-6 ones) load too, with their legacy attributes handled by
     * the operator translations */
    if (m->opset < 1 || m->opset > 17) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: opset %lld is not supported (1 to 17)", path, (long long)m->opset);
        return fail(m);
    }
    if (!load_graph(m, g)) return fail(m);
    return m;
}

tc_onnx_model *tc_onnx_load_subgraph(tc_onnx_model *parent, const Onnx__GraphProto *g, const char *who)
{
    tc_onnx_model *m = calloc(1, sizeof *m);
    if (!m) {
        tc_error(TC_ERR_MEMORY, "onnx_load: out of memory");
        return NULL;
    }
    m->depth = parent->depth + 1;
    if (m->depth > 64) {
        tc_error(TC_ERR_FORMAT, "%s: %s: subgraphs nest more than 64 deep", parent->path, who);
        return fail(m);
    }
    size_t len = strlen(parent->path) + strlen(who) + 3;
    m->path = malloc(len);
    m->dir = strdup(parent->dir);
    if (!m->path || !m->dir) {
        tc_error(TC_ERR_MEMORY, "onnx_load: out of memory");
        return fail(m);
    }
    snprintf(m->path, len, "%s: %s", parent->path, who);
    m->opset = parent->opset;
    m->parent = parent;
    if (!load_graph(m, g)) return fail(m);
    return m;
}

tc_onnx_model *tc_onnx_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "onnx_load: path is NULL");
        return NULL;
    }
    size_t len;
    unsigned char *buf;
    if (tc_read_file(path, ONNX_MAX_FILE, &buf, &len) != TC_OK) return NULL;
    tc_onnx_model *m = load(path, buf, len);
    free(buf);
    return m;
}

tc_onnx_model *tc_onnx_load_memory(const void *data, size_t len, const char *name)
{
    if (!data && len) {
        tc_error(TC_ERR_ARG, "onnx_load_memory: data is NULL");
        return NULL;
    }
    return load(name ? name : "(memory)", data, len);
}

/* ---- inspection ------------------------------------------------------------ */
int tc_onnx_input_count(const tc_onnx_model *m) { return m ? m->n_inputs : 0; }
int tc_onnx_output_count(const tc_onnx_model *m) { return m ? m->n_outputs : 0; }
const char *tc_onnx_input_name(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_inputs ? m->values[m->inputs[i]].name : NULL;
}
const char *tc_onnx_output_name(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_outputs ? m->values[m->outputs[i]].name : NULL;
}

int tc_onnx_declared_shape(const onnx_value *v, int64_t *dims)
{
    const Onnx__ValueInfoProto *vi = v->info;
    if (!vi || !vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type ||
        !vi->type->tensor_type->shape)
        return -1;
    const Onnx__TensorShapeProto *s = vi->type->tensor_type->shape;
    int r = (int)s->n_dim;
    for (int d = 0; d < r && d < TC_MAX_DIMS; d++)
        dims[d] = s->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? s->dim[d]->dim_value : -1;
    return r;
}

int tc_onnx_input_shape(const tc_onnx_model *m, int i, int64_t dims[TC_MAX_DIMS])
{
    return m && i >= 0 && i < m->n_inputs ? tc_onnx_declared_shape(&m->values[m->inputs[i]], dims) : -1;
}
int tc_onnx_output_shape(const tc_onnx_model *m, int i, int64_t dims[TC_MAX_DIMS])
{
    return m && i >= 0 && i < m->n_outputs ? tc_onnx_declared_shape(&m->values[m->outputs[i]], dims) : -1;
}
tc_onnx_dtype tc_onnx_input_dtype(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_inputs ? m->values[m->inputs[i]].dtype : TC_ONNX_FLOAT;
}
tc_onnx_dtype tc_onnx_output_dtype(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_outputs ? elem_dtype(m->values[m->outputs[i]].info) : TC_ONNX_FLOAT;
}
int64_t tc_onnx_opset(const tc_onnx_model *m) { return m ? m->opset : -1; }
int tc_onnx_node_count(const tc_onnx_model *m) { return m ? m->n_nodes : 0; }
const char *tc_onnx_node_op(const tc_onnx_model *m, int i)
{
    return m && i >= 0 && i < m->n_nodes ? m->nodes[i].proto->op_type : NULL;
}
int64_t tc_onnx_param_count(const tc_onnx_model *m)
{
    int64_t n = 0;
    for (int i = 0; m && i < m->n_inits; i++)
        if (m->values[m->inits[i]].dtype == TC_ONNX_FLOAT) n += tc_numel(m->values[m->inits[i]].init);
    return n;
}
int tc_onnx_initializer_count(const tc_onnx_model *m) { return m ? m->n_inits : 0; }
tc_tensor *tc_onnx_initializer(const tc_onnx_model *m, int i, const char **name)
{
    if (!m || i < 0 || i >= m->n_inits) return NULL;
    if (name) *name = m->values[m->inits[i]].name;
    return m->values[m->inits[i]].init;
}
