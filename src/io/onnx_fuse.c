/* Graph rewriting for inference (tc_onnx_prepare_inference), done once at
 * load:
 *  - BatchNormalization folded into the Conv before it: with
 *    s = scale / sqrt(var + eps), the kernel becomes W[f] * s[f] and the
 *    bias (b[f] - mean[f]) * s[f] + B[f] (computed in double, stored as new
 *    values of the model); the Conv then writes the BatchNormalization's
 *    output and that node is skipped.
 *  - Relu, Clip with constant bounds (initializers or Constant nodes),
 *    Relu then Clip (PyTorch's ReLU6), and an Add of a value computed
 *    earlier (a residual) before them, after a Conv whose output nothing
 *    else reads, become the Conv's fused epilogue (tc_conv_params.act / .residual). Those
 *    run only when the Conv runs without a gradient to record and the
 *    residual has the Conv's output shape; otherwise the nodes run as they
 *    are (onnx_run.c skips an absorbed node only when its Conv fused it).
 *  - A constant zero Pad of the spatial axes only, read by nothing but an
 *    AveragePool without pads of its own (Inception-v3's pool branches:
 *    PyTorch's avg_pool2d(3, 1, 1) exports as Pad + AveragePool), becomes
 *    that pool's pads with count_include_pad: the Pad node never runs, and
 *    its padded copy of the map is neither written nor read again.
 * A node output that is a graph output, read by two nodes or captured by
 * an If/Loop/Scan body is never folded away. */
#include "onnx_block.h"
#include "onnx_run.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* node inputs and graph outputs reading each value */
static int *use_counts(const tc_onnx_model *m)
{
    int *uses = calloc((size_t)m->n_values + 1, sizeof(int));
    if (!uses) return NULL;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] >= 0) uses[m->nodes[k].in[i]]++;
    for (int i = 0; i < m->n_outputs; i++) uses[m->outputs[i]] += 2; /* never folded away */
    /* values that If/Loop/Scan bodies capture by name are read there: never folded away either */
    for (int k = 0; k < m->n_nodes; k++)
        for (int b = 0; b < 2; b++) {
            const tc_onnx_model *sub = m->nodes[k].sub[b];
            for (int i = 0; sub && i < sub->n_values; i++)
                if (sub->values[i].outer >= 0 && sub->values[i].outer < m->n_values) uses[sub->values[i].outer] += 2;
        }
    return uses;
}

/* the one node that reads value v (by input), if exactly one does, not skipped */
static int sole_reader(const tc_onnx_model *m, const int *uses, int v)
{
    if (v < 0 || uses[v] != 1) return -1;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] == v) return m->nodes[k].skip || m->nodes[k].fused_into ? -1 : k;
    return -1;
}

static bool is_op(const onnx_node *n, const char *op)
{
    const char *d = n->proto->domain;
    return n->op && n->proto->op_type && !strcmp(n->proto->op_type, op) && (!d || !d[0] || !strcmp(d, "ai.onnx"));
}

static const tc_tensor *float_init(const tc_onnx_model *m, int v)
{
    return v >= 0 && m->values[v].init && m->values[v].dtype == TC_ONNX_FLOAT ? m->values[v].init : NULL;
}

/* a new initializer value holding t (owned by the model from here on) */
static int add_init(tc_onnx_model *m, tc_tensor *t)
{
    if (m->n_values == m->cap_values) {
        int cap = m->cap_values ? m->cap_values * 2 : 64;
        onnx_value *g = realloc(m->values, sizeof *g * (size_t)cap);
        if (!g) return -1;
        m->values = g;
        m->cap_values = cap;
    }
    if (m->cl_kernels) { /* one slot per value */
        tc_tensor **k = realloc(m->cl_kernels, sizeof *k * (size_t)(m->cap_values + 1));
        if (!k) return -1;
        m->cl_kernels = k;
        for (int i = m->n_values; i <= m->cap_values; i++) k[i] = NULL;
    }
    if (m->conv_packs) { /* the same slots */
        struct onnx_conv_pack *k = realloc(m->conv_packs, sizeof *k * (size_t)(m->cap_values + 1));
        if (!k) return -1;
        m->conv_packs = k;
        for (int i = m->n_values; i <= m->cap_values; i++) k[i] = (struct onnx_conv_pack){0};
    }
    onnx_value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->name = "(folded BatchNormalization)";
    v->producer = -1;
    v->init = t;
    v->dtype = TC_ONNX_FLOAT;
    v->outer = -1;
    return m->n_values++;
}

/* Conv node k followed by BatchNormalization node j: new kernel and bias values */
static tc_status fold_bn(tc_onnx_model *m, int k, int j, bool *folded)
{
    onnx_node *conv = &m->nodes[k], *bn = &m->nodes[j];
    *folded = false;
    if (bn->n_in < 5 || bn->in[0] != conv->out[0] || tc_onnx_attr_int(bn, "training_mode", 0) != 0) return TC_OK;
    for (int i = 1; i < bn->n_out; i++)
        if (bn->out[i] >= 0) return TC_OK; /* running statistics asked for: training */
    const tc_tensor *w = float_init(m, conv->in[1]), *b = conv->n_in > 2 ? float_init(m, conv->in[2]) : NULL;
    const tc_tensor *scale = float_init(m, bn->in[1]), *beta = float_init(m, bn->in[2]);
    const tc_tensor *mean = float_init(m, bn->in[3]), *var = float_init(m, bn->in[4]);
    if (!w || w->ndim < 3 || w->ndim > 5 || !scale || !beta || !mean || !var) return TC_OK;
    if (conv->n_in > 2 && conv->in[2] >= 0 && !b) return TC_OK; /* a bias that is not a constant */
    int64_t F = w->shape[0], per = tc_numel(w) / F;
    if (tc_numel(scale) != F || tc_numel(beta) != F || tc_numel(mean) != F || tc_numel(var) != F ||
        (b && tc_numel(b) != F))
        return TC_OK;
    double eps = tc_onnx_attr_float(bn, "epsilon", 1e-5f);
    tc_tensor *nw = tc_tensor_new(w->ndim, w->shape), *nb = tc_tensor_new(1, &F);
    if (!nw || !nb) {
        tc_tensor_free(nw);
        tc_tensor_free(nb);
        return tc_last_status();
    }
    const tc_scalar *wd = tc_packed(w), *bd = b ? tc_packed(b) : NULL, *sd = tc_packed(scale), *betad = tc_packed(beta),
                    *md = tc_packed(mean), *vd = tc_packed(var);
    for (int64_t f = 0; f < F; f++) {
        double s = (double)sd[f] / sqrt((double)vd[f] + eps);
        for (int64_t i = 0; i < per; i++) nw->data[f * per + i] = (tc_scalar)((double)wd[f * per + i] * s);
        nb->data[f] = (tc_scalar)(((bd ? (double)bd[f] : 0) - (double)md[f]) * s + (double)betad[f]);
    }
    int wv = add_init(m, nw);
    if (wv < 0) {
        tc_tensor_free(nw);
        tc_tensor_free(nb);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    }
    int bv = add_init(m, nb);
    if (bv < 0) {
        tc_tensor_free(nb);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    }
    if (conv->n_in < 3) { /* room for the bias input */
        int *in = realloc(conv->in, sizeof(int) * 3);
        if (!in) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
        conv->in = in;
        conv->n_in = 3;
        if (m->max_io < 3) m->max_io = 3;
    }
    conv->in[1] = wv, conv->in[2] = bv;
    /* the kernel in tensorcook's layout, as prep_conv makes it (re-prepared) */
    free(conv->attrs);
    conv->attrs = NULL;
    tc_step_mark mark = tc_step_get_mark();
    tc_status s = conv->op->prep(m, conv);
    tc_step_release(mark);
    if (s != TC_OK) return s;
    conv->out[0] = bn->out[0];
    m->values[bn->out[0]].producer = k;
    bn->skip = true;
    *folded = true;
    return TC_OK;
}

/* A scalar known at load: an initializer, the output of a Constant node, or
 * of a Cast to float of one (torch.onnx.export without constant folding) */
static bool load_scalar(const tc_onnx_model *m, int v, tc_scalar *out, int depth)
{
    const tc_tensor *t = v >= 0 ? m->values[v].init : NULL;
    if (t) {
        if (tc_numel(t) != 1 || (m->values[v].dtype != TC_ONNX_FLOAT && !depth)) return false;
        tc_read_values(t, out);
        return true;
    }
    if (v < 0 || m->values[v].producer < 0) return false;
    const onnx_node *c = &m->nodes[m->values[v].producer];
    if (is_op(c, "Cast") && depth == 0 && c->n_in == 1 && tc_onnx_attr_int(c, "to", 0) == 1 /* FLOAT */)
        return load_scalar(m, c->in[0], out, 1);
    if (!is_op(c, "Constant")) return false;
    const Onnx__AttributeProto *a = tc_onnx_attr(c, "value");
    if (a && a->t) {
        tc_onnx_dtype dt;
        tc_tensor *d = tc_onnx_decode_tensor(a->t, m->dir, &dt, c->label);
        bool ok = d && (dt == TC_ONNX_FLOAT || depth) && tc_numel(d) == 1;
        if (ok) tc_read_values(d, out);
        tc_tensor_free(d);
        return ok;
    }
    if ((a = tc_onnx_attr(c, "value_float")) && a->has_f) {
        *out = a->f;
        return true;
    }
    return false;
}

/* Clip's bounds when known at load (op_clip's defaults where absent) */
static bool clip_bounds(const tc_onnx_model *m, const onnx_node *n, float *lo, float *hi)
{
    if (!is_op(n, "Clip") || n->prep_error) return false;
    *lo = -FLT_MAX, *hi = FLT_MAX;
    if (m->opset < 11) {
        *lo = tc_onnx_attr_float(n, "min", -FLT_MAX);
        *hi = tc_onnx_attr_float(n, "max", FLT_MAX);
    } else {
        for (int i = 1; i <= 2 && i < n->n_in; i++) {
            tc_scalar v;
            if (n->in[i] < 0) continue;
            if (!load_scalar(m, n->in[i], &v, 0)) return false;
            if (i == 1) *lo = v;
            else *hi = v;
        }
    }
    return !(*lo > *hi); /* else the node reports its own error */
}

/* Relu, Clip, or Relu then Clip from node j on: the activation, the nodes, the last output */
static bool activation_from(const tc_onnx_model *m, const int *uses, int j, onnx_fusion *f)
{
    const onnx_node *n = &m->nodes[j];
    float lo, hi;
    if (is_op(n, "Relu") && n->n_in == 1) {
        f->act = TC_CONV_RELU;
        f->absorbed[f->n_absorbed++] = j;
        f->out_value = n->out[0];
        int c = sole_reader(m, uses, n->out[0]);
        /* relu then clip(lo >= 0): clip alone, but for NaN (which stays NaN instead of becoming 0) */
        if (c >= 0 && clip_bounds(m, &m->nodes[c], &lo, &hi) && lo >= 0) {
            f->act = TC_CONV_CLIP, f->lo = lo, f->hi = hi;
            f->absorbed[f->n_absorbed++] = c;
            f->out_value = m->nodes[c].out[0];
        }
        return true;
    }
    if (clip_bounds(m, n, &lo, &hi)) {
        f->act = TC_CONV_CLIP, f->lo = lo, f->hi = hi;
        f->absorbed[f->n_absorbed++] = j;
        f->out_value = n->out[0];
        return true;
    }
    return false;
}

static tc_status plan_epilogue(tc_onnx_model *m, const int *uses, int k, bool *fused)
{
    onnx_node *conv = &m->nodes[k];
    *fused = false;
    int j = sole_reader(m, uses, conv->out[0]);
    if (j < 0) return TC_OK;
    onnx_fusion f = {.act = TC_CONV_ACT_NONE, .residual = -1, .out_value = -1};
    onnx_node *next = &m->nodes[j];
    if (is_op(next, "Add") && next->n_in == 2 && next->n_out == 1) {
        int r = next->in[0] == conv->out[0] ? next->in[1] : next->in[0];
        if (r < 0 || r == conv->out[0] || m->values[r].producer >= k) return TC_OK; /* not computed yet */
        f.residual = r;
        f.absorbed[f.n_absorbed++] = j;
        f.out_value = next->out[0];
        int a = sole_reader(m, uses, next->out[0]);
        if (a >= 0) activation_from(m, uses, a, &f);
    } else if (!activation_from(m, uses, j, &f)) {
        return TC_OK;
    }
    conv->fusion = malloc(sizeof f);
    if (!conv->fusion) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    *conv->fusion = f;
    for (int i = 0; i < f.n_absorbed; i++) m->nodes[f.absorbed[i]].fused_into = k + 1;
    *fused = true;
    return TC_OK;
}


/* integers known at load (an initializer or a Constant node's tensor); the count, or -1 */
static int load_ints(const tc_onnx_model *m, int v, int64_t *out, int max)
{
    if (v < 0) return -1;
    const tc_tensor *t = m->values[v].init;
    tc_tensor *d = NULL;
    if (!t) {
        if (m->values[v].producer < 0) return -1;
        const onnx_node *c = &m->nodes[m->values[v].producer];
        const Onnx__AttributeProto *a = is_op(c, "Constant") ? tc_onnx_attr(c, "value") : NULL;
        tc_onnx_dtype dt;
        if (!a || !a->t || !(d = tc_onnx_decode_tensor(a->t, m->dir, &dt, c->label))) return -1;
        t = d;
    }
    int64_t k = tc_numel(t);
    tc_scalar vals[2 * TC_MAX_DIMS];
    if (k > max || k > 2 * TC_MAX_DIMS) k = -1;
    else tc_read_values(t, vals);
    for (int64_t i = 0; i < k; i++) out[i] = (int64_t)vals[i];
    tc_tensor_free(d);
    return (int)k;
}

/* Pad node j (constant zeros on the spatial axes of a rank 3-5 value only)
 * folded into the AveragePool that alone reads it */
static bool fold_pad(tc_onnx_model *m, const int *uses, int j)
{
    onnx_node *pad = &m->nodes[j];
    if (!is_op(pad, "Pad") || pad->prep_error || pad->skip || pad->n_in < 1 || pad->n_out != 1 || pad->in[0] < 0)
        return false;
    const char *mode = tc_onnx_attr_string(pad, "mode", "constant");
    if (strcmp(mode, "constant")) return false;
    int64_t pads[2 * TC_MAX_DIMS];
    int k;
    if (m->opset < 11) {
        k = tc_onnx_attr_ints(pad, "pads", pads, 2 * TC_MAX_DIMS);
        if (tc_onnx_attr_float(pad, "value", 0) != 0) return false;
    } else {
        k = pad->n_in > 1 ? load_ints(m, pad->in[1], pads, 2 * TC_MAX_DIMS) : -1;
        tc_scalar v = 0;
        if (pad->n_in > 2 && pad->in[2] >= 0 && (!load_scalar(m, pad->in[2], &v, 1) || v != 0)) return false;
        if (pad->n_in > 3 && pad->in[3] >= 0) return false; /* opset 18's axes */
    }
    int r = k / 2, nsp = r - 2;
    if (k < 0 || k % 2 || nsp < 1 || nsp > 3) return false;
    if (pads[0] || pads[1] || pads[r] || pads[r + 1]) return false; /* batch or channels padded */
    int p = sole_reader(m, uses, pad->out[0]);
    if (p < 0 || !is_op(&m->nodes[p], "AveragePool") || m->nodes[p].n_in < 1 || m->nodes[p].in[0] != pad->out[0])
        return false;
    if (!tc_onnx_avg_pool_take_pads(&m->nodes[p], nsp, pads + 2, pads + r + 2)) return false;
    m->nodes[p].in[0] = pad->in[0];
    pad->skip = true;
    return true;
}

tc_status tc_onnx_prepare_inference(tc_onnx_model *m, int *n_folded, int *n_fused)
{
    if (!m) return tc_error(TC_ERR_ARG, "onnx_prepare_inference: model is NULL");
    int folded = 0, fused = 0;
    tc_onnx_live_forget(m); /* the lifetimes of the graph as it was */
    tc_onnx_fold_constants(m);
    int *uses = use_counts(m);
    if (!uses) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    tc_status s = TC_OK;
    for (int k = 0; k < m->n_nodes && s == TC_OK; k++) {
        onnx_node *n = &m->nodes[k];
        if (!is_op(n, "Conv") || n->prep_error || n->skip || n->n_in < 2 || n->n_out != 1) continue;
        int j = sole_reader(m, uses, n->out[0]);
        bool ok = false;
        if (j >= 0 && is_op(&m->nodes[j], "BatchNormalization") && !m->nodes[j].prep_error) s = fold_bn(m, k, j, &ok);
        folded += ok;
    }
    free(uses);
    if (s != TC_OK) return s;
    uses = use_counts(m); /* the folded Conv outputs are gone */
    if (!uses) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
    for (int k = 0; k < m->n_nodes && s == TC_OK; k++) {
        onnx_node *n = &m->nodes[k];
        if (!is_op(n, "Conv") || n->prep_error || n->skip || n->fused_into || n->fusion || n->n_out != 1) continue;
        bool ok = false;
        s = plan_epilogue(m, uses, k, &ok);
        fused += ok;
    }
    for (int k = 0; k < m->n_nodes && s == TC_OK; k++) fold_pad(m, uses, k);
    free(uses);
    if (s == TC_OK) s = tc_onnx_plan_blocks(m);
    if (n_folded) *n_folded = folded;
    if (n_fused) *n_fused = fused;
    return s;
}
