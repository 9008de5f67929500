/* ONNX network operators: Conv, the pools, Gemm, MatMul,
 * BatchNormalization, LRN. Channels-first values are viewed channels-last
 * for tensorcook's kernels (a transpose view: free when chained). */
#include "onnx_run.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>


/* auto_pad, pads, strides, dilations shared by Conv and the pools, as the
 * file gives them (parsed once at load; checked against the input's spatial
 * rank when the node runs) */
typedef struct {
    tc_padding padding;
    int n_strides, n_dilations, n_pads, n_kernel;
    int64_t strides[3], dilations[3], pads[6], kernel[3];
} window_spec;

/* auto_pad, pads, strides, dilations for one input */
typedef struct {
    int nsp;                     /* spatial rank */
    tc_padding padding;
    int64_t before[3], after[3];
    int stride[3], dilation[3];
} window_attrs;

static tc_status prep_window(const onnx_node *n, window_spec *w)
{
    w->n_strides = tc_onnx_attr_ints(n, "strides", w->strides, 3);
    w->n_dilations = tc_onnx_attr_ints(n, "dilations", w->dilations, 3);
    w->n_kernel = tc_onnx_attr_ints(n, "kernel_shape", w->kernel, 3);
    const char *ap = tc_onnx_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER")) w->padding = TC_SAME;
    else if (!strcmp(ap, "SAME_LOWER")) w->padding = TC_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) w->padding = TC_VALID;
    else if (!strcmp(ap, "NOTSET")) {
        w->padding = TC_EXPLICIT;
        w->n_pads = tc_onnx_attr_ints(n, "pads", w->pads, 6);
    } else
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    return TC_OK;
}

static tc_status read_window(onnx_ctx *c, const window_spec *s, int nsp, window_attrs *w)
{
    if (nsp < 1 || nsp > 3) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "%d spatial dimensions (1 to 3 supported)", nsp);
    memset(w, 0, sizeof *w);
    w->nsp = nsp;
    w->padding = s->padding;
    for (int i = 0; i < 3; i++) w->stride[i] = w->dilation[i] = 1;
    int k = s->n_strides;
    if (k >= 0 && k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "strides has %d values for %d spatial axes", k, nsp);
    for (int i = 0; i < k; i++) w->stride[i] = (int)s->strides[i];
    k = s->n_dilations;
    if (k >= 0 && k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "dilations has %d values for %d spatial axes", k, nsp);
    for (int i = 0; i < k; i++) w->dilation[i] = (int)s->dilations[i];
    if (s->padding == TC_EXPLICIT) {
        k = s->n_pads;
        if (k >= 0 && k != 2 * nsp) return tc_onnx_fail(c, TC_ERR_ARG, "pads has %d values for %d spatial axes", k, nsp);
        for (int i = 0; i < nsp && k > 0; i++) w->before[i] = s->pads[i], w->after[i] = s->pads[i + nsp];
    }
    return TC_OK;
}

typedef struct {
    window_spec w;
    int groups;
} conv_attrs;

/* ONNX weights [F, C/g, k...] -> tensorcook [k..., C/g, F] (a view) */
static tc_tensor *conv_kernel_view(tc_tensor *w)
{
    int nsp = w->ndim - 2, perm[TC_MAX_DIMS];
    for (int i = 0; i < nsp; i++) perm[i] = i + 2;
    perm[nsp] = 1;
    perm[nsp + 1] = 0;
    return tc_transpose(w, perm);
}

PREP(prep_conv)
{
    conv_attrs *a = ATTRS_NEW(conv_attrs);
    if (!a) return tc_last_status();
    a->groups = (int)tc_onnx_attr_int(n, "group", 1);
    tc_status s = prep_window(n, &a->w);
    if (s) return s;
    /* a constant kernel is converted to tensorcook's layout once, here */
    int wv = n->n_in > 1 ? n->in[1] : -1;
    tc_tensor *w = wv >= 0 ? m->values[wv].init : NULL;
    if (w && w->ndim >= 3 && w->ndim <= 5 && m->values[wv].dtype == TC_ONNX_FLOAT) {
        if (!m->cl_kernels) m->cl_kernels = calloc((size_t)m->n_values, sizeof(tc_tensor *));
        if (!m->cl_kernels) return tc_error(TC_ERR_MEMORY, "%s: out of memory", m->path);
        if (!m->cl_kernels[wv]) {
            bool grad = tc_set_grad_enabled(false);
            m->cl_kernels[wv] = tc_tensor_keep(conv_kernel_view(w));
            tc_set_grad_enabled(grad);
            if (!m->cl_kernels[wv]) return tc_last_status();
        }
    }
    return TC_OK;
}

/* The per-value slots of m->conv_packs (as many as add_init keeps for cl_kernels), or NULL */
static struct onnx_conv_pack *conv_slot(tc_onnx_model *m, int wv)
{
    if (!m->conv_packs) {
        int slots = m->cap_values > m->n_values ? m->cap_values + 1 : m->n_values + 1;
        m->conv_packs = calloc((size_t)slots, sizeof *m->conv_packs);
        if (!m->conv_packs) return NULL;
    }
    return &m->conv_packs[wv];
}

/* The constant kernel cl_kernels[wv] packed for the GEMM once, at its first
 * run (after tc_onnx_prepare_inference has folded BatchNormalization into
 * it); NULL (the unpacked path) when memory is short. Only kernels that do
 * not require a gradient come here, and tc_conv checks again that the pack
 * is this kernel's. */
static const tc_conv_weights *conv_pack(tc_onnx_model *m, int wv, int groups)
{
    struct onnx_conv_pack *s = conv_slot(m, wv);
    if (!s) return NULL;
    if (!s->pack) {
        tc_status before = tc_last_status();
        s->pack = tc_conv_weights_prepare_prec(m->cl_kernels[wv], groups, tc_onnx_precision(m));
        if (!s->pack && before == TC_OK) tc_clear_error();
    }
    return s->pack;
}

/* Whether the converted kernel cl_kernels[wv] may stand for initializer w:
 * not when w requires a gradient (being trained), nor ever again once it
 * has (an optimizer may have changed its values since the copy was made). */
static bool converted_kernel_ok(onnx_ctx *c, int wv, const tc_tensor *w)
{
    tc_onnx_model *m = c->m;
    if (wv < 0 || !m->cl_kernels || !m->cl_kernels[wv] || m->values[wv].init != w) return false;
    struct onnx_conv_pack *s = conv_slot(m, wv);
    if (!s) return false;
    if (w->flags & TC_REQUIRES_GRAD) s->trained = true; /* the copies are kept (a tape may read them), never used */
    return !s->trained;
}

/* The nodes after this Conv that tc_onnx_prepare_inference planned as its
 * epilogue (onnx_fuse.c), when nothing is being recorded for a gradient and
 * the residual has the output's shape; sets c->fused. */
static void fuse_epilogue(onnx_ctx *c, const tc_tensor *x, const tc_tensor *w, tc_tensor *b, const window_attrs *wa,
                          tc_conv_params *p)
{
    const onnx_fusion *f = c->fusion;
    if (!f || c->in_dtype[0] != TC_ONNX_FLOAT ||
        tc_onnx_wants_grad(4, (tc_tensor *const[]){(tc_tensor *)x, (tc_tensor *)w, b, c->residual}))
        return;
    tc_tensor *r = c->residual;
    if (r) {
        if (r->ndim != x->ndim || r->shape[0] != x->shape[0] || r->shape[1] != w->shape[0]) return;
        for (int i = 0; i < wa->nsp; i++)
            if (r->shape[2 + i] != tc_conv_out_size(x->shape[2 + i], w->shape[2 + i], wa->stride[i], wa->dilation[i],
                                                    wa->padding, wa->before[i], wa->after[i]))
                return;
        if (!(p->residual = tc_onnx_to_cl(r))) return;
    }
    p->act = f->act, p->act_lo = f->lo, p->act_hi = f->hi;
    c->fused = true;
}

OP(op_conv)
{
    NEED(2);
    const conv_attrs *a = ATTRS(conv_attrs);
    tc_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    int nsp = x->ndim - 2;
    window_attrs wa;
    tc_status s = read_window(c, &a->w, nsp, &wa);
    if (s) return s;
    if (w->ndim != x->ndim) return tc_onnx_fail(c, TC_ERR_SHAPE, "weights of rank %d for input of rank %d", w->ndim, x->ndim);
    if (c->band && nsp == 2 && wa.padding == TC_EXPLICIT) wa.before[0] = c->band_pad[0], wa.after[0] = c->band_pad[1];
    tc_conv_params p = {.padding = wa.padding, .groups = a->groups};
    for (int i = 0; i < nsp; i++) {
        p.stride[i] = wa.stride[i];
        p.dilation[i] = wa.dilation[i];
        p.pad_before[i] = wa.before[i];
        p.pad_after[i] = wa.after[i];
    }
    /* the kernel converted at load, unless it is being trained (then a
     * differentiable view of the initializer) */
    int wv = n->in[1];
    tc_tensor *kernel = NULL, *y;
    if (converted_kernel_ok(c, wv, w)) {
        kernel = c->m->cl_kernels[wv];
        p.weights = conv_pack(c->m, wv, a->groups);
    } else
        ONNX_TRY(c, kernel = conv_kernel_view(w));
    fuse_epilogue(c, x, w, b, &wa, &p);
    ONNX_TRY(c, y = tc_conv(tc_onnx_to_cl(x), kernel, b, &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}

typedef struct {
    window_spec w;
    bool ceil_mode, count_include_pad, column_major;
} pool_attrs;

PREP(prep_pool)
{
    (void)m;
    pool_attrs *a = ATTRS_NEW(pool_attrs);
    if (!a) return tc_last_status();
    a->ceil_mode = tc_onnx_attr_int(n, "ceil_mode", 0) != 0;
    a->count_include_pad = tc_onnx_attr_int(n, "count_include_pad", 0) != 0;
    a->column_major = tc_onnx_attr_int(n, "storage_order", 0) != 0;
    return prep_window(n, &a->w);
}

bool tc_onnx_avg_pool_take_pads(onnx_node *n, int nsp, const int64_t *before, const int64_t *after)
{
    pool_attrs *a = n->attrs;
    if (!a || n->prep_error || nsp < 1 || nsp > 3 || a->w.padding != TC_EXPLICIT || a->w.n_kernel != nsp) return false;
    if (a->w.n_pads >= 0 && a->w.n_pads != 2 * nsp) return false;
    for (int i = 0; i < 2 * nsp && a->w.n_pads > 0; i++)
        if (a->w.pads[i] != 0) return false;
    for (int i = 0; i < nsp; i++) {
        if (before[i] < 0 || after[i] < 0) return false;
        a->w.pads[i] = before[i], a->w.pads[i + nsp] = after[i];
    }
    a->w.n_pads = 2 * nsp;
    a->count_include_pad = true;
    return true;
}

/* ConvInteger / QLinearConv: the convolution of (x - x_zero_point) and
 * (w - w_zero_point), whole numbers in float32: exact while every sum stays
 * below 2^24 (as for 8-bit inputs and kernels up to about 250 taps) */
static tc_status int_conv(onnx_ctx *c, const onnx_node *n, tc_tensor *x, tc_tensor *xz, tc_tensor *w, tc_tensor *wz,
                          tc_tensor **y)
{
    bool g = tc_set_grad_enabled(false);
    if (xz) x = tc_sub(x, xz);
    if (wz && tc_numel(wz) > 1 && w) /* per output channel */
        wz = tc_reshape(wz, w->ndim, (int64_t[]){tc_numel(wz), 1, 1, 1, 1, 1});
    if (wz) w = tc_sub(w, wz);
    tc_set_grad_enabled(g);
    if (!x || !w) return tc_onnx_check(c, NULL);
    tc_tensor *args[2] = {x, w};
    return op_conv(c, n, 2, args, 1, y);
}

OP(op_conv_integer)
{
    (void)n_out;
    NEED(2);
    tc_status s = int_conv(c, n, in[0], n_in > 2 ? in[2] : NULL, in[1], n_in > 3 ? in[3] : NULL, out);
    c->out_dtype[0] = TC_ONNX_INT64;
    return s;
}

OP(op_qlinear_conv)
{
    (void)n_out;
    NEED(8);
    tc_tensor *acc;
    tc_status s = int_conv(c, n, in[0], in[2], in[3], in[5], &acc);
    if (s) return s;
    if (n_in > 8 && in[8]) { /* int32 bias, added to the accumulator */
        int64_t shape[TC_MAX_DIMS];
        for (int d = 0; d < acc->ndim; d++) shape[d] = d == 1 ? tc_numel(in[8]) : 1;
        bool g = tc_set_grad_enabled(false);
        acc = tc_add(acc, tc_reshape(in[8], acc->ndim, shape));
        tc_set_grad_enabled(g);
        ONNX_TRY(c, acc);
    }
    tc_scalar xs, ys, yz;
    if (tc_numel(in[1]) != 1 || tc_numel(in[6]) != 1 || tc_numel(in[7]) != 1)
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "per-axis input or output scales");
    tc_read_values(in[1], &xs), tc_read_values(in[6], &ys), tc_read_values(in[7], &yz);
    const tc_scalar *ws = tc_packed(in[4]), *av = tc_packed(acc);
    int64_t nws = tc_numel(in[4]), C = acc->shape[1], inner = tc_shape_numel(acc->ndim - 2, acc->shape + 2);
    double lo, hi;
    tc_onnx_quant_range(c, 7, &lo, &hi);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(acc->ndim, acc->shape));
    if (!ws || !av) return tc_onnx_check(c, NULL);
    for (int64_t i = 0; i < tc_numel(y); i++) {
        int64_t ch = (i / inner) % C;
        double mult = (double)xs * (double)ws[nws == 1 ? 0 : ch] / (double)ys;
        y->data[i] = (tc_scalar)tc_onnx_saturate((double)av[i] * mult + yz, lo, hi);
    }
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

static tc_status pool_params(onnx_ctx *c, const onnx_node *n, const tc_tensor *x, tc_pool_params *p)
{
    const pool_attrs *a = ATTRS(pool_attrs);
    int nsp = x->ndim - 2;
    window_attrs wa;
    tc_status s = read_window(c, &a->w, nsp, &wa);
    if (s) return s;
    int k = a->w.n_kernel;
    if (k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "kernel_shape has %d values for %d spatial axes", k, nsp);
    memset(p, 0, sizeof *p);
    p->padding = wa.padding;
    p->ceil_mode = a->ceil_mode;
    p->count_include_pad = a->count_include_pad;
    for (int i = 0; i < nsp; i++) {
        p->kernel[i] = (int)a->w.kernel[i];
        p->stride[i] = wa.stride[i]; /* ONNX's default stride is 1, not the kernel */
        p->dilation[i] = wa.dilation[i];
        p->pad_before[i] = wa.before[i];
        p->pad_after[i] = wa.after[i];
    }
    return TC_OK;
}

/* MaxPool's optional Indices output: the flat NCHW index of each maximum
 * (row-major, or column-major over H, W with storage_order 1), found by
 * scanning the windows again. */
static tc_status max_indices(onnx_ctx *c, const onnx_node *n, tc_tensor *x, const tc_tensor *y,
                             const tc_pool_params *p, tc_tensor **out)
{
    if (x->ndim != 4) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "Indices output only for 2-D pooling");
    bool column_major = ATTRS(pool_attrs)->column_major;
    const tc_scalar *xd = tc_packed(x);
    tc_tensor *yc = tc_contiguous((tc_tensor *)y);
    tc_tensor *idx = tc_result(y->ndim, y->shape);
    ONNX_TRY(c, idx);
    ONNX_TRY(c, yc);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t OH = y->shape[2], OW = y->shape[3];
    int64_t pt = p->pad_before[0], pl = p->pad_before[1];
    if (p->padding == TC_SAME || p->padding == TC_SAME_LOWER) {
        int64_t th = (OH - 1) * p->stride[0] + (p->kernel[0] - 1) * p->dilation[0] + 1 - H;
        int64_t tw = (OW - 1) * p->stride[1] + (p->kernel[1] - 1) * p->dilation[1] + 1 - W;
        th = th > 0 ? th : 0, tw = tw > 0 ? tw : 0;
        pt = p->padding == TC_SAME ? th / 2 : th - th / 2;
        pl = p->padding == TC_SAME ? tw / 2 : tw - tw / 2;
    } else if (p->padding == TC_VALID)
        pt = pl = 0;
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                tc_scalar best = -INFINITY;
                int64_t at = 0;
                for (int kh = 0; kh < p->kernel[0]; kh++)
                    for (int kw = 0; kw < p->kernel[1]; kw++) {
                        int64_t ih = oh * p->stride[0] - pt + kh * p->dilation[0];
                        int64_t iw = ow * p->stride[1] - pl + kw * p->dilation[1];
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        tc_scalar v = xd[(nc * H + ih) * W + iw];
                        /* storage_order 1: the spatial part of the index is column-major */
                        if (v > best) best = v, at = column_major ? (nc * W + iw) * H + ih : (nc * H + ih) * W + iw;
                    }
                idx->data[(nc * OH + oh) * OW + ow] = (tc_scalar)at;
            }
    *out = idx;
    c->out_dtype[1] = TC_ONNX_INT64;
    return TC_OK;
}

OP(op_max_pool)
{
    NEED(1);
    tc_pool_params p;
    tc_status s = pool_params(c, n, in[0], &p);
    if (s) return s;
    tc_tensor *y;
    ONNX_TRY(c, y = tc_max_pool(tc_onnx_to_cl(in[0]), &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    if (n_out > 1) return max_indices(c, n, in[0], out[0], &p, &out[1]);
    return TC_OK;
}

OP(op_avg_pool)
{
    NEED(1);
    tc_pool_params p;
    tc_status s = pool_params(c, n, in[0], &p);
    if (s) return s;
    tc_tensor *y;
    ONNX_TRY(c, y = tc_avg_pool(tc_onnx_to_cl(in[0]), &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}

static tc_status global_pool(onnx_ctx *c, int n_in, tc_tensor **in, tc_tensor **out,
                             tc_tensor *(*fn)(tc_tensor *, bool))
{
    NEED(1);
    if (in[0]->ndim < 3) return tc_onnx_fail(c, TC_ERR_SHAPE, "input of rank %d (need [N, C, spatial...])", in[0]->ndim);
    tc_tensor *y;
    ONNX_TRY(c, y = fn(tc_onnx_to_cl(in[0]), true));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}
OP(op_global_avg_pool) { return global_pool(c, n_in, in, out, tc_global_avg_pool); }
OP(op_global_max_pool) { return global_pool(c, n_in, in, out, tc_global_max_pool); }

/* LpPool's and GlobalLpPool's p: an integer from opset 2, a float in opset 1 */
static float lp_p(const onnx_node *n)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, "p");
    return a && a->has_i ? (float)a->i : a && a->has_f ? a->f : 2.0f;
}

/* (sum over the window of |x|^p)^(1/p): an average pool of |x|^p over
 * windows that count their padding, times the window size; composed of ops
 * with backwards */
OP(op_lp_pool)
{
    NEED(1);
    tc_pool_params p;
    tc_status s = pool_params(c, n, in[0], &p);
    if (s) return s;
    p.count_include_pad = true;
    float e = lp_p(n);
    if (!(e > 0)) return tc_onnx_fail(c, TC_ERR_ARG, "p = %g (must be positive)", e);
    int64_t k = 1;
    for (int i = 0; i < in[0]->ndim - 2; i++) k *= p.kernel[i];
    tc_tensor *y;
    ONNX_TRY(c, y = tc_avg_pool(tc_onnx_to_cl(tc_pow_scalar(tc_abs(in[0]), e)), &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(tc_pow_scalar(tc_mul_scalar(y, (tc_scalar)k), 1.0f / e)));
    return TC_OK;
}

OP(op_global_lp_pool)
{
    NEED(1);
    int r = in[0]->ndim, axes[TC_MAX_DIMS];
    if (r < 3) return tc_onnx_fail(c, TC_ERR_SHAPE, "input of rank %d (need [N, C, spatial...])", r);
    for (int i = 2; i < r; i++) axes[i - 2] = i;
    float e = lp_p(n);
    if (!(e > 0)) return tc_onnx_fail(c, TC_ERR_ARG, "p = %g (must be positive)", e);
    ONNX_TRY(c, out[0] = tc_pow_scalar(tc_sum(tc_pow_scalar(tc_abs(in[0]), e), r - 2, axes, true), 1.0f / e));
    return TC_OK;
}

/* x / ||x||_p along axis (p 1 or 2) */
OP(op_lp_normalization)
{
    NEED(1);
    int64_t e = tc_onnx_attr_int(n, "p", 2);
    if (e != 1 && e != 2) return tc_onnx_fail(c, TC_ERR_ARG, "p = %lld (1 or 2)", (long long)e);
    int ax = tc_onnx_axis(c, tc_onnx_attr_int(n, "axis", -1), in[0]->ndim);
    if (ax < 0) return tc_last_status();
    tc_tensor *norm = e == 1 ? tc_sum(tc_abs(in[0]), 1, &ax, true) : tc_sqrt(tc_sum(tc_mul(in[0], in[0]), 1, &ax, true));
    ONNX_TRY(c, out[0] = tc_div(in[0], norm));
    return TC_OK;
}

typedef struct {
    bool trans_a, trans_b;
    float alpha, beta;
} gemm_attrs;

/* Gemm / MatMul with a constant 2-D B (an initializer nothing trains) under
 * a reduced precision (tc_onnx_set_precision): *y = alpha op(A) op(B)
 * (+ bias [N]) through B packed once in bf16 / int8 (src/core/gemm_lowp.c).
 * A is [M, K] (transposed with trans_a), or for MatMul [..., K] with the
 * leading axes taken as rows. *y stays NULL where this does not apply (fp32,
 * a B that is not a constant, gradients wanted): the float path runs. */
static tc_status dense_lowp(onnx_ctx *c, tc_tensor *a, tc_tensor *b, bool ta, bool tb, float alpha, tc_tensor *bias,
                            tc_tensor **y)
{
    tc_onnx_model *m = c->m;
    const int bv = c->node->in[1];
    *y = NULL;
    if (tc_onnx_precision(m) == TC_PRECISION_FP32 || bv < 0 || m->values[bv].init != b) return TC_OK;
    struct onnx_conv_pack *s = conv_slot(m, bv);
    if (s && (b->flags & TC_REQUIRES_GRAD)) s->trained = true; /* being trained: never packed again */
    if (!s || s->trained || b->ndim != 2 || c->in_dtype[0] != TC_ONNX_FLOAT || (ta && a->ndim != 2) || a->ndim < 2 ||
        tc_onnx_wants_grad(3, (tc_tensor *const[]){a, b, bias}))
        return TC_OK;
    const int64_t K = tb ? b->shape[1] : b->shape[0], N = tb ? b->shape[0] : b->shape[1];
    const int64_t aK = ta ? a->shape[0] : a->shape[a->ndim - 1];
    if (aK != K || !tc_is_contiguous(b)) return TC_OK; /* the float path reports the mismatch */
    if (s->dense && s->dense_tb != tb) return TC_OK; /* one pack per initializer: the other use runs in float */
    if (!s->dense) {
        tc_gemm_b_panel *pb = calloc(1, sizeof *pb);
        if (!pb) return TC_OK;
        if (!tc_gemm_prepare_b_kept_prec(pb, tb, K, N, b->data, b->shape[1], tc_onnx_precision(m))) {
            free(pb);
            tc_clear_error();
            return TC_OK;
        }
        s->dense = pb;
        s->dense_tb = tb;
    }
    tc_tensor *x = tc_contiguous(a);
    if (!x) return tc_onnx_fail(c, tc_last_status(), "%s", tc_last_error());
    int64_t shape[TC_MAX_DIMS];
    int nd = ta ? 2 : a->ndim;
    for (int i = 0; i < nd - 1; i++) shape[i] = ta ? a->shape[1] : a->shape[i];
    shape[nd - 1] = N;
    tc_tensor *out = tc_empty(nd, shape);
    if (!out) return tc_onnx_fail(c, tc_last_status(), "%s", tc_last_error());
    const int64_t M = tc_numel(out) / (N > 0 ? N : 1);
    const tc_tensor *bb = bias ? tc_contiguous(bias) : NULL;
    if (M > 0 && N > 0)
        tc_gemm_b(ta, M, alpha, tc_packed(x), ta ? M : K, s->dense, bb ? tc_packed(bb) : NULL, 0, out->data, N);
    *y = out;
    return TC_OK;
}

PREP(prep_gemm)
{
    (void)m;
    gemm_attrs *a = ATTRS_NEW(gemm_attrs);
    if (!a) return tc_last_status();
    a->trans_a = tc_onnx_attr_int(n, "transA", 0) != 0;
    a->trans_b = tc_onnx_attr_int(n, "transB", 0) != 0;
    a->alpha = tc_onnx_attr_float(n, "alpha", 1);
    a->beta = tc_onnx_attr_float(n, "beta", 1);
    return TC_OK;
}

OP(op_gemm)
{
    NEED(2);
    const gemm_attrs *ga = ATTRS(gemm_attrs);
    tc_tensor *a = in[0], *b = in[1], *bias = n_in > 2 ? in[2] : NULL;
    if (a->ndim != 2 || b->ndim != 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "A and B must be matrices");
    float alpha = ga->alpha, beta = ga->beta;
    tc_tensor *y = NULL;
    int64_t n_cols = b->shape[ga->trans_b ? 0 : 1];
    if (bias && beta == 1 && bias->ndim == 1 && bias->shape[0] == n_cols) { /* C = alpha A B + bias in one pass */
        tc_status st = dense_lowp(c, in[0], in[1], ga->trans_a, ga->trans_b, alpha, bias, &y);
        if (st) return st;
        if (y) {
            out[0] = y;
            return TC_OK;
        }
    }
    tc_status st = dense_lowp(c, in[0], in[1], ga->trans_a, ga->trans_b, alpha, NULL, &y);
    if (st) return st;
    if (!y && tc_is_contiguous(a) && tc_is_contiguous(b) && (ga->trans_a || ga->trans_b) && tc_numel(a) > 0 &&
        tc_numel(b) > 0 && !tc_onnx_wants_grad(3, (tc_tensor *const[]){a, b, bias})) {
        /* the product reads the transposed operand in place (a classifier's
         * [classes, features] weights: 4-8 MB a run that tc_matmul would copy
         * into [features, classes] first); the same sums */
        int64_t M = a->shape[ga->trans_a ? 1 : 0], K = a->shape[ga->trans_a ? 0 : 1];
        int64_t Kb = b->shape[ga->trans_b ? 1 : 0], N = b->shape[ga->trans_b ? 0 : 1];
        if (K != Kb) return tc_onnx_fail(c, TC_ERR_SHAPE, "A %s and B %s do not multiply", TC_SHP(a), TC_SHP(b));
        ONNX_TRY(c, y = tc_result(2, (int64_t[]){M, N}));
        tc_gemm(ga->trans_a, ga->trans_b, M, N, K, 1, a->data, a->shape[1], b->data, b->shape[1], 0, y->data, N);
        if (alpha != 1) ONNX_TRY(c, y = tc_mul_scalar(y, alpha));
    } else if (!y) {
        if (ga->trans_a) ONNX_TRY(c, a = tc_transpose(a, (int[]){1, 0}));
        if (ga->trans_b) ONNX_TRY(c, b = tc_transpose(b, (int[]){1, 0}));
        ONNX_TRY(c, y = tc_matmul(a, b));
        if (alpha != 1) ONNX_TRY(c, y = tc_mul_scalar(y, alpha));
    }
    if (bias && beta != 0) {
        if (beta != 1) ONNX_TRY(c, bias = tc_mul_scalar(bias, beta));
        ONNX_TRY(c, y = tc_add(y, bias));
    }
    out[0] = y;
    return TC_OK;
}

OP(op_matmul)
{
    NEED(2);
    tc_tensor *y = NULL;
    tc_status st = dense_lowp(c, in[0], in[1], false, false, 1, NULL, &y);
    if (st) return st;
    if (y) {
        out[0] = y;
        return TC_OK;
    }
    ONNX_TRY(c, out[0] = tc_matmul(in[0], in[1]));
    return TC_OK;
}

/* mean over every axis but the channel axis (1) of a channels-first value, as [C] */
static tc_tensor *channel_mean(tc_tensor *x)
{
    int axes[TC_MAX_DIMS], k = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != 1) axes[k++] = i;
    return tc_mean(x, k, axes, false);
}

typedef struct {
    float eps, momentum;
    bool training;
} bn_attrs;

PREP(prep_batch_norm)
{
    (void)m;
    bn_attrs *a = ATTRS_NEW(bn_attrs);
    if (!a) return tc_last_status();
    a->eps = tc_onnx_attr_float(n, "epsilon", 1e-5f);
    a->momentum = tc_onnx_attr_float(n, "momentum", 0.9f);
    a->training = tc_onnx_attr_int(n, "training_mode", 0) != 0;
    return TC_OK;
}

OP(op_batch_norm)
{
    NEED(5);
    tc_tensor *x = in[0];
    float eps = ATTRS(bn_attrs)->eps, momentum = ATTRS(bn_attrs)->momentum;
    bool training = ATTRS(bn_attrs)->training;
    if (x->ndim < 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "input of rank %d (need [N, C, ...])", x->ndim);
    tc_tensor *xc = x->ndim >= 3 ? tc_onnx_to_cl(x) : x;
    if (!training) {
        tc_tensor *y;
        ONNX_TRY(c, y = tc_batch_norm(xc, in[1], in[2], in[3], in[4], false, 0, eps));
        out[0] = x->ndim >= 3 ? tc_onnx_from_cl(y) : y;
        return tc_onnx_check(c, out[0]);
    }
    /* training mode: batch statistics; running statistics updated with the
     * biased batch variance (ONNX's definition) */
    tc_tensor *mean, *var, *centered;
    ONNX_TRY(c, mean = channel_mean(x));
    int64_t bshape[TC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) bshape[i] = i == 1 ? x->shape[1] : 1;
    ONNX_TRY(c, centered = tc_sub(x, tc_reshape(mean, x->ndim, bshape)));
    ONNX_TRY(c, var = channel_mean(tc_square(centered)));
    tc_tensor *y;
    ONNX_TRY(c, y = tc_batch_norm(xc, in[1], in[2], mean, var, false, 0, eps));
    ONNX_TRY(c, out[0] = x->ndim >= 3 ? tc_onnx_from_cl(y) : y);
    if (n_out > 1) ONNX_TRY(c, out[1] = tc_add(tc_mul_scalar(in[3], momentum), tc_mul_scalar(mean, 1 - momentum)));
    if (n_out > 2) ONNX_TRY(c, out[2] = tc_add(tc_mul_scalar(in[4], momentum), tc_mul_scalar(var, 1 - momentum)));
    return TC_OK;
}

OP(op_lrn)
{
    NEED(1);
    int64_t size = tc_onnx_attr_int(n, "size", 0);
    if (size <= 0) return tc_onnx_fail(c, TC_ERR_ARG, "size must be positive");
    tc_tensor *y;
    ONNX_TRY(c, y = tc_lrn(tc_onnx_to_cl(in[0]), (int)size, tc_onnx_attr_float(n, "alpha", 1e-4f),
                           tc_onnx_attr_float(n, "beta", 0.75f), tc_onnx_attr_float(n, "bias", 1.0f)));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}




const onnx_op_entry tc_onnx_ops_nn[] = {
    {"Conv", op_conv, prep_conv}, {"MaxPool", op_max_pool, prep_pool}, {"AveragePool", op_avg_pool, prep_pool},
    {"GlobalAveragePool", op_global_avg_pool, NULL}, {"GlobalMaxPool", op_global_max_pool, NULL},
    {"Gemm", op_gemm, prep_gemm}, {"MatMul", op_matmul, NULL}, {"BatchNormalization", op_batch_norm, prep_batch_norm},
    {"LRN", op_lrn, NULL}, {"ConvInteger", op_conv_integer, prep_conv}, {"QLinearConv", op_qlinear_conv, prep_conv},
    {"Resize", tc_onnx_op_resize, tc_onnx_prep_resize}, {"Upsample", tc_onnx_op_upsample, tc_onnx_prep_upsample},
    {"LpPool", op_lp_pool, prep_pool}, {"GlobalLpPool", op_global_lp_pool, NULL},
    {"LpNormalization", op_lp_normalization, NULL},
    {NULL, NULL, NULL},
};
