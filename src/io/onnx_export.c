/* ONNX export of a model built with the layer API (tc_onnx_export): each
 * layer call becomes ONNX nodes (onnx_export_layers.c, onnx_export_rnn.c),
 * weights become initializers, and the ModelProto is written atomically
 * (nothing is written when a layer cannot be translated).
 *
 * Layout: the model's inputs and outputs of rank 4 and 5 (images, volumes)
 * are channels-first, [N, C, H, W] and [N, C, D, H, W], as other tools
 * expect; other ranks keep tensorcook's layout ([N, T, F] sequences, [N, F]
 * vectors). Inside, values are kept channels-first from one convolution to
 * the next and transposed only where a layer needs the channels last
 * (Flatten, Dense, Reshape, the RNNs). The batch axis is symbolic ("N"). */
#include "onnx_export_internal.h"

#include <stdlib.h>

enum { T_FLOAT = 1, T_INT64 = 7 };

static void xport_free(xport *e)
{
    for (size_t i = 0; i < e->n_mem; i++) free(e->mem[i]);
    free(e->mem);
    free(e->node);
    free(e->init);
}

tc_status xlayer_of(const tc_layer *l, xlayer_t *x)
{
    memset(x, 0, sizeof *x);
    if (!l) return tc_error(TC_ERR_ARG, "onnx export: a wrapper without its layer");
    x->l = l;
    x->name = tc_layer_name(l);
    x->type = tc_layer_type(l);
    if (tc_layer_get_config(l, &x->c) != TC_OK) return tc_last_status();
    x->rnn = tc_rnn_layer_opts(l);
    x->go_backwards = x->rnn && x->rnn->go_backwards;
    x->wl = l;
    x->n_out = tc_layer_output_count(l);
    for (int k = 0; k < x->n_out && k < TC_LAYER_MAX_OUTPUTS; k++) x->out[k].ndim = tc_layer_output_shape_at(l, k, x->out[k].d);
    return TC_OK;
}

const tc_tensor *xw(const xlayer_t *x, int k) { return tc_layer_weight(x->wl, x->w0 + k); }

/* layers whose outputs depend on their inputs' masks */
static bool reads_masks(const tc_layer *l)
{
    static const char *const types[] = {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "Attention", "AdditiveAttention",
                                        "GlobalAveragePooling1D"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(tc_layer_type(l), types[i])) return true;
    return false;
}

/* whether value v is read as ids by some call (Embedding, an RNN with input_vocab) */
static bool read_as_ids(const tc_model *m, int v)
{
    for (int c = 0; c < tc_model_call_count(m); c++) {
        int in[TC_LAYER_MAX_INPUTS];
        const tc_layer *l = tc_model_call(m, c, in, NULL, NULL, NULL);
        const tc_rnn_opts *r = tc_rnn_layer_opts(!strcmp(tc_layer_type(l), "Bidirectional") ? tc_layer_wrapped(l) : l);
        bool ids = !strcmp(tc_layer_type(l), "Embedding") || (r && r->input_vocab > 0);
        if (ids && in[0] == v) return true;
    }
    return false;
}

static Onnx__ValueInfoProto *value_info(xport *e, const char *name, int type, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = xa(e, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = xstr(e, name);
    Onnx__TypeProto *tp = xa(e, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = xa(e, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = type;
    Onnx__TensorShapeProto *sp = xa(e, sizeof *sp);
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = xa(e, sizeof *sp->dim * (size_t)(rank + 1));
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = xa(e, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = xstr(e, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        sp->dim[i] = d;
    }
    tt->shape = sp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

/* dims with the batch of a value in the boundary's layout */
static int boundary_dims(const xshape *s, bool cf, int64_t *dims)
{
    int r = s->ndim + 1;
    dims[0] = -1;
    for (int i = 0; i < s->ndim; i++) dims[1 + i] = s->d[i];
    if (cf) {
        dims[1] = s->d[s->ndim - 1];
        for (int i = 0; i < s->ndim - 1; i++) dims[2 + i] = s->d[i];
    }
    return r;
}

static bool name_taken(char (*names)[128], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static xshape value_shape(const tc_model *m, int v)
{
    xshape s = {0};
    s.ndim = tc_model_value_shape(m, v, s.d);
    return s;
}

/* the call that makes value v and which of its outputs it is; -1: a model input */
static int maker(const tc_model *m, int v, int *slot)
{
    for (int c = 0; c < tc_model_call_count(m); c++) {
        int first, n;
        tc_model_call(m, c, NULL, NULL, &first, &n);
        if (v >= first && v < first + n) {
            *slot = v - first;
            return c;
        }
    }
    return -1;
}

static tc_status translate(xport *e, const tc_model *m, Onnx__GraphProto *g)
{
    int nv = tc_model_value_count(m), ni = tc_model_input_count(m), no = tc_model_output_count(m);
    xval *val = xa(e, sizeof *val * (size_t)(nv + 1));
    char (*io_names)[128] = xa(e, sizeof *io_names * (size_t)(ni + no + 1));
    g->n_input = (size_t)ni;
    g->input = xa(e, sizeof *g->input * (size_t)(ni + 1));
    for (int i = 0; i < ni; i++) {
        int v = tc_model_input_value(m, i);
        xval *x = &val[v];
        x->s = value_shape(m, v);
        snprintf(io_names[i], sizeof io_names[i], "%s", tc_model_input_name(m, i));
        int64_t dims[TC_MAX_DIMS + 1];
        x->ids = read_as_ids(m, v);
        bool cf = !x->ids && (x->s.ndim + 1 == 4 || x->s.ndim + 1 == 5);
        int r = boundary_dims(&x->s, cf, dims);
        snprintf(cf ? x->cf : x->nat, sizeof x->nat, "%s", io_names[i]);
        if (r <= 2 && !x->ids) snprintf(x->cf, sizeof x->cf, "%s", io_names[i]);
        g->input[i] = value_info(e, io_names[i], x->ids ? T_INT64 : T_FLOAT, r, dims);
    }
    for (int c = 0; c < tc_model_call_count(m); c++) {
        int ins[TC_LAYER_MAX_INPUTS], n_in, first, n_out;
        const tc_layer *l = tc_model_call(m, c, ins, &n_in, &first, &n_out);
        for (int i = 0; i < n_in && reads_masks(l); i++) {
            int from = tc_model_value_mask_from(m, ins[i]);
            if (from >= 0) {
                const tc_layer *mk = tc_model_call(m, from, NULL, NULL, NULL, NULL);
                return tc_error(TC_ERR_UNSUPPORTED, "%s (%s): input %d carries the mask made by %s (%s); masked steps are not "
                                                    "exported", tc_layer_name(l), tc_layer_type(l), i, tc_layer_name(mk),
                                tc_layer_type(mk));
            }
        }
        xlayer_t x;
        if (xlayer_of(l, &x) != TC_OK) return tc_last_status();
        x.n_out = n_out;
        for (int k = 0; k < n_out; k++) x.out[k] = value_shape(m, first + k);
        xval in[TC_LAYER_MAX_INPUTS], out[TC_LAYER_MAX_OUTPUTS];
        memset(out, 0, sizeof out);
        for (int i = 0; i < n_in; i++) in[i] = val[ins[i]];
        if (xlayer(e, &x, n_in, in, out) != TC_OK) return tc_last_status();
        /* conversions made for this call are kept for the next readers */
        for (int i = 0; i < n_in; i++) val[ins[i]] = in[i];
        for (int j = 0; j < n_out; j++) val[first + j] = out[j];
    }
    g->n_output = (size_t)no;
    g->output = xa(e, sizeof *g->output * (size_t)(no + 1));
    for (int i = 0; i < no; i++) {
        int v = tc_model_output_value(m, i), slot = 0, c = maker(m, v, &slot);
        xshape s = value_shape(m, v);
        char name[128] = "output";
        const char *lname = c >= 0 ? tc_layer_name(tc_model_call(m, c, NULL, NULL, NULL, NULL)) : NULL;
        if (lname && slot == 0) snprintf(name, sizeof name, "%.80s", lname);
        else if (lname) snprintf(name, sizeof name, "%.80s_state%d", lname, slot);
        for (int n = 1; name_taken(io_names, ni + i, name); n++) snprintf(name, sizeof name, "output_%d", n);
        snprintf(io_names[ni + i], sizeof io_names[0], "%s", name);
        bool cf = s.ndim + 1 == 4 || s.ndim + 1 == 5;
        const char *x = cf ? as_cf(e, &val[v]) : as_nat(e, &val[v]);
        xnode(e, "Identity", 1, &x, 1, (const char *[]){name});
        int64_t dims[TC_MAX_DIMS + 1];
        int r = boundary_dims(&s, cf, dims);
        g->output[i] = value_info(e, name, T_FLOAT, r, dims);
    }
    return TC_OK;
}

tc_status tc_onnx_export(const tc_model *m, const char *path, int opset)
{
    if (!m || !path) return tc_error(TC_ERR_ARG, "onnx export: NULL %s", m ? "path" : "model");
    if (opset < 13 || opset > 17)
        return tc_error(TC_ERR_UNSUPPORTED, "%s: opset %d is not supported by the exporter (13 to 17)", path, opset);
    /* on the heap: the out-of-memory jump leaves locals changed since setjmp indeterminate */
    xport *const e = calloc(1, sizeof *e);
    if (!e) return tc_error(TC_ERR_MEMORY, "%s: out of memory while exporting", path);
    e->opset = opset;
    if (setjmp(e->oom)) {
        xport_free(e);
        free(e);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory while exporting", path);
    }
    Onnx__GraphProto *g = xa(e, sizeof *g);
    onnx__graph_proto__init(g);
    g->name = xstr(e, tc_model_name(m));
    if (translate(e, m, g) != TC_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", tc_last_error());
        xport_free(e);
        free(e);
        return tc_error(tc_last_status(), "%s: %s", path, msg);
    }
    g->n_node = e->n_node;
    g->node = e->node;
    g->n_initializer = e->n_init;
    g->initializer = e->init;
    Onnx__OperatorSetIdProto *ops = xa(e, sizeof *ops);
    onnx__operator_set_id_proto__init(ops);
    ops->domain = xstr(e, "");
    ops->has_version = 1;
    ops->version = opset;
    Onnx__ModelProto *mp = xa(e, sizeof *mp);
    onnx__model_proto__init(mp);
    mp->has_ir_version = 1;
    mp->ir_version = opset >= 15 ? 8 : 7; /* the IR version of the ONNX release that brought the opset */
    mp->n_opset_import = 1;
    mp->opset_import = xa(e, sizeof *mp->opset_import);
    mp->opset_import[0] = ops;
    mp->producer_name = xstr(e, "tensorcook");
    mp->producer_version = xstr(e, TC_VERSION_STRING);
    mp->graph = g;
    size_t size = onnx__model_proto__get_packed_size(mp);
    if (size > (size_t)INT32_MAX) { /* protobuf's limit; external data files are not written */
        xport_free(e);
        free(e);
        return tc_error(TC_ERR_UNSUPPORTED, "%s: the model needs %zu bytes, more than one ONNX file holds (2 GiB)", path, size);
    }
    uint8_t *buf = xa(e, size + 1);
    onnx__model_proto__pack(mp, buf);
    tc_status st = tc_write_file_atomic(path, buf, size);
    xport_free(e);
    free(e);
    return st;
}

tc_tensor *tc_onnx_export_layout(tc_tensor *x, bool to_file)
{
    if (!x || (x->ndim != 4 && x->ndim != 5)) return x;
    static const int cf4[4] = {0, 3, 1, 2}, cl4[4] = {0, 2, 3, 1}, cf5[5] = {0, 4, 1, 2, 3}, cl5[5] = {0, 2, 3, 4, 1};
    const int *perm = x->ndim == 4 ? (to_file ? cf4 : cl4) : (to_file ? cf5 : cl5);
    return tc_contiguous(tc_transpose(x, perm));
}
