/* ONNX network operators: Conv, the pools, Gemm, MatMul,
 * BatchNormalization, LRN. Channels-first values are viewed channels-last
 * for tensorcook's kernels (a transpose view: free when chained). */
#include "onnx_run.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define OP(name) static tc_status name(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
#define NEED(k)                                                                              \
    do {                                                                                     \
        if (n_in < (k)) return tc_onnx_fail(c, TC_ERR_ARG, "needs %d inputs, has %d", (k), n_in); \
        for (int i_ = 0; i_ < (k); i_++)                                                     \
            if (!in[i_]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i_);     \
    } while (0)

/* auto_pad, pads, strides, dilations shared by Conv and the pools */
typedef struct {
    int nsp;                     /* spatial rank */
    tc_padding padding;
    int64_t before[3], after[3];
    int stride[3], dilation[3];
} window_attrs;

static tc_status read_window(onnx_ctx *c, const Onnx__NodeProto *n, int nsp, window_attrs *w)
{
    if (nsp < 1 || nsp > 3) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "%d spatial dimensions (1 to 3 supported)", nsp);
    memset(w, 0, sizeof *w);
    w->nsp = nsp;
    int64_t v[6];
    for (int i = 0; i < 3; i++) w->stride[i] = w->dilation[i] = 1;
    int k = tc_onnx_attr_ints(n, "strides", v, 3);
    if (k >= 0 && k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "strides has %d values for %d spatial axes", k, nsp);
    for (int i = 0; i < k; i++) w->stride[i] = (int)v[i];
    k = tc_onnx_attr_ints(n, "dilations", v, 3);
    if (k >= 0 && k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "dilations has %d values for %d spatial axes", k, nsp);
    for (int i = 0; i < k; i++) w->dilation[i] = (int)v[i];
    const char *ap = tc_onnx_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER")) w->padding = TC_SAME;
    else if (!strcmp(ap, "SAME_LOWER")) w->padding = TC_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) w->padding = TC_VALID;
    else if (!strcmp(ap, "NOTSET")) {
        w->padding = TC_EXPLICIT;
        k = tc_onnx_attr_ints(n, "pads", v, 6);
        if (k >= 0 && k != 2 * nsp) return tc_onnx_fail(c, TC_ERR_ARG, "pads has %d values for %d spatial axes", k, nsp);
        for (int i = 0; i < nsp && k > 0; i++) w->before[i] = v[i], w->after[i] = v[i + nsp];
    } else
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    return TC_OK;
}

OP(op_conv)
{
    NEED(2);
    tc_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    int nsp = x->ndim - 2;
    window_attrs wa;
    tc_status s = read_window(c, n, nsp, &wa);
    if (s) return s;
    if (w->ndim != x->ndim) return tc_onnx_fail(c, TC_ERR_SHAPE, "weights of rank %d for input of rank %d", w->ndim, x->ndim);
    tc_conv_params p = {.padding = wa.padding, .groups = (int)tc_onnx_attr_int(n, "group", 1)};
    for (int i = 0; i < nsp; i++) {
        p.stride[i] = wa.stride[i];
        p.dilation[i] = wa.dilation[i];
        p.pad_before[i] = wa.before[i];
        p.pad_after[i] = wa.after[i];
    }
    /* ONNX weights [F, C/g, k...] -> tensorcook [k..., C/g, F] */
    int perm[TC_MAX_DIMS];
    for (int i = 0; i < nsp; i++) perm[i] = i + 2;
    perm[nsp] = 1;
    perm[nsp + 1] = 0;
    tc_tensor *kernel, *y;
    ONNX_TRY(c, kernel = tc_transpose(w, perm));
    /* a constant initializer is converted once and kept with the model; a
     * kernel being trained stays a differentiable view */
    int wv = c->node->in[1];
    if (wv >= 0 && c->m->values[wv].init == w && !(w->flags & TC_REQUIRES_GRAD)) {
        if (!c->m->cl_kernels) c->m->cl_kernels = calloc((size_t)c->m->n_values, sizeof(tc_tensor *));
        if (c->m->cl_kernels && !c->m->cl_kernels[wv]) c->m->cl_kernels[wv] = tc_tensor_keep(kernel);
        if (c->m->cl_kernels && c->m->cl_kernels[wv]) kernel = c->m->cl_kernels[wv];
    }
    ONNX_TRY(c, y = tc_conv(tc_onnx_to_cl(x), kernel, b, &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}

static tc_status pool_params(onnx_ctx *c, const Onnx__NodeProto *n, const tc_tensor *x, tc_pool_params *p)
{
    int nsp = x->ndim - 2;
    window_attrs wa;
    tc_status s = read_window(c, n, nsp, &wa);
    if (s) return s;
    int64_t ks[3];
    int k = tc_onnx_attr_ints(n, "kernel_shape", ks, 3);
    if (k != nsp) return tc_onnx_fail(c, TC_ERR_ARG, "kernel_shape has %d values for %d spatial axes", k, nsp);
    memset(p, 0, sizeof *p);
    p->padding = wa.padding;
    p->ceil_mode = tc_onnx_attr_int(n, "ceil_mode", 0) != 0;
    p->count_include_pad = tc_onnx_attr_int(n, "count_include_pad", 0) != 0;
    for (int i = 0; i < nsp; i++) {
        p->kernel[i] = (int)ks[i];
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
static tc_status max_indices(onnx_ctx *c, const Onnx__NodeProto *n, tc_tensor *x, const tc_tensor *y,
                             const tc_pool_params *p, tc_tensor **out)
{
    if (x->ndim != 4) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "Indices output only for 2-D pooling");
    bool column_major = tc_onnx_attr_int(n, "storage_order", 0) != 0;
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

OP(op_gemm)
{
    NEED(2);
    tc_tensor *a = in[0], *b = in[1], *bias = n_in > 2 ? in[2] : NULL;
    if (a->ndim != 2 || b->ndim != 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "A and B must be matrices");
    if (tc_onnx_attr_int(n, "transA", 0)) ONNX_TRY(c, a = tc_transpose(a, (int[]){1, 0}));
    if (tc_onnx_attr_int(n, "transB", 0)) ONNX_TRY(c, b = tc_transpose(b, (int[]){1, 0}));
    float alpha = tc_onnx_attr_float(n, "alpha", 1), beta = tc_onnx_attr_float(n, "beta", 1);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_matmul(a, b));
    if (alpha != 1) ONNX_TRY(c, y = tc_mul_scalar(y, alpha));
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

OP(op_batch_norm)
{
    NEED(5);
    tc_tensor *x = in[0];
    float eps = tc_onnx_attr_float(n, "epsilon", 1e-5f), momentum = tc_onnx_attr_float(n, "momentum", 0.9f);
    bool training = tc_onnx_attr_int(n, "training_mode", 0) != 0;
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

tc_status tc_onnx_op_resize(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);
tc_status tc_onnx_op_upsample(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out);

const onnx_op_entry tc_onnx_ops_nn[] = {
    {"Conv", op_conv}, {"MaxPool", op_max_pool}, {"AveragePool", op_avg_pool},
    {"GlobalAveragePool", op_global_avg_pool}, {"GlobalMaxPool", op_global_max_pool},
    {"Gemm", op_gemm}, {"MatMul", op_matmul}, {"BatchNormalization", op_batch_norm}, {"LRN", op_lrn},
    {"Resize", tc_onnx_op_resize}, {"Upsample", tc_onnx_op_upsample},
    {NULL, NULL},
};
