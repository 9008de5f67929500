/* TensorFlow operators as tensorcook operations. TF's NHWC images and HWIO
 * kernels are tensorcook's own layout, and TF's SAME padding (extra pad at
 * the end) is tc_padding's TC_SAME, so most translations only read
 * attributes. Operands that TF passes as tensors (axes, shapes, paddings)
 * arrive as float tensors of whole numbers. */
#include "tf_internal.h"
#include "tensorcook/ops.h"

#include <math.h>
#include <string.h>

/* The whole-number values of an operand (an axis, a shape): count, or -1. */
static int ints_of(tf_ctx *c, const tc_tensor *t, int64_t *out, int max, const char *what)
{
    if (!t) return -1;
    int64_t n = tc_numel(t);
    if (n > max) {
        tc_tf_fail(c, TC_ERR_UNSUPPORTED, "%s has %lld values (at most %d)", what, (long long)n, max);
        return -1;
    }
    tc_scalar v[64];
    if (tc_read_values(t, v) != TC_OK) return -1;
    for (int64_t i = 0; i < n; i++) {
        if (v[i] != floor(v[i])) {
            tc_tf_fail(c, TC_ERR_ARG, "%s holds %g, not a whole number", what, (double)v[i]);
            return -1;
        }
        out[i] = (int64_t)v[i];
    }
    return (int)n;
}

static int axis_of(tf_ctx *c, int64_t axis, int rank)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
        tc_tf_fail(c, TC_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, rank);
        return -1;
    }
    return (int)a;
}

static bool nhwc(tf_ctx *c)
{
    if (tc_tf_attr_is(c->def, "data_format", "NHWC", "NHWC")) return true;
    tc_tf_fail(c, TC_ERR_UNSUPPORTED, "only data_format NHWC is supported");
    return false;
}

/* strides / dilations / ksize: [1, h, w, 1] (NHWC), default all 1. */
static bool spatial_list(tf_ctx *c, const char *key, int out[2])
{
    int64_t v[4] = {1, 1, 1, 1};
    int n = tc_tf_attr_ints(c->def, key, v, 4);
    if (n == -1) n = 4, v[0] = v[1] = v[2] = v[3] = 1;
    if (n != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 1 << 20 || v[2] > 1 << 20) {
        tc_tf_fail(c, TC_ERR_UNSUPPORTED, "%s must be [1, h, w, 1] with h, w >= 1", key);
        return false;
    }
    out[0] = (int)v[1], out[1] = (int)v[2];
    return true;
}

/* padding: SAME, VALID, or EXPLICIT with explicit_paddings (8 values). */
static bool padding_of(tf_ctx *c, tc_padding *p, int64_t before[3], int64_t after[3])
{
    if (tc_tf_attr_is(c->def, "padding", "SAME", NULL)) *p = TC_SAME;
    else if (tc_tf_attr_is(c->def, "padding", "VALID", NULL)) *p = TC_VALID;
    else if (tc_tf_attr_is(c->def, "padding", "EXPLICIT", NULL)) {
        int64_t e[8];
        if (tc_tf_attr_ints(c->def, "explicit_paddings", e, 8) != 8 || e[0] || e[1] || e[6] || e[7]) {
            tc_tf_fail(c, TC_ERR_UNSUPPORTED, "EXPLICIT padding needs explicit_paddings of 8 values, none on N or C");
            return false;
        }
        for (int k = 0; k < 2; k++) {
            before[k] = e[2 + 2 * k], after[k] = e[3 + 2 * k];
            if (before[k] < 0 || after[k] < 0) {
                tc_tf_fail(c, TC_ERR_ARG, "negative explicit padding");
                return false;
            }
        }
        *p = TC_EXPLICIT;
    } else {
        tc_tf_fail(c, TC_ERR_UNSUPPORTED, "padding must be SAME, VALID or EXPLICIT");
        return false;
    }
    return true;
}

static bool conv_params(tf_ctx *c, tc_conv_params *p)
{
    memset(p, 0, sizeof *p);
    return nhwc(c) && spatial_list(c, "strides", p->stride) && spatial_list(c, "dilations", p->dilation) &&
           padding_of(c, &p->padding, p->pad_before, p->pad_after);
}

static tc_tensor *checked(tf_ctx *c, tc_tensor *y)
{
    if (!y) {
        char inner[1024];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_tf_fail(c, tc_last_status() ? tc_last_status() : TC_ERR_ARG, "%s", inner);
    }
    return y;
}

static tc_tensor *rank_is(tf_ctx *c, tc_tensor *x, int rank, const char *what)
{
    if (x && x->ndim != rank) {
        char s[TC_SHAPE_STR_MAX];
        tc_tf_fail(c, TC_ERR_SHAPE, "%s must have rank %d, has shape %s", what, rank, tc_shape_str(x, s, sizeof s));
        return NULL;
    }
    return x;
}

/* Results are capped at 2^28 values, as constants are: a few bytes of graph
 * (splat constants broadcast against each other, a Pad) must not ask for
 * gigabytes. */
#define TF_MAX_RESULT ((double)(1 << 28))

static bool fits(tf_ctx *c, double values, const char *what)
{
    if (values <= TF_MAX_RESULT) return true;
    tc_tf_fail(c, TC_ERR_UNSUPPORTED, "%s would hold %.3g values (at most 2^28)", what, values);
    return false;
}

/* the size of NumPy broadcasting's result (shape errors are the op's to report) */
static bool broadcast_fits(tf_ctx *c, const tc_tensor *a, const tc_tensor *b)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    double n = 1;
    for (int d = 0; d < r; d++) {
        int64_t x = d < r - a->ndim ? 1 : a->shape[d - (r - a->ndim)], y = d < r - b->ndim ? 1 : b->shape[d - (r - b->ndim)];
        n *= (double)(x > y ? x : y);
    }
    return fits(c, n, "the result");
}

/* A window op's padded input, N * (H + pads) * (W + pads) * C, within the
 * cap (huge kernels or dilations with SAME padding would pad the input to
 * gigabytes). */
static bool window_fits(tf_ctx *c, const tc_tensor *x, const int64_t *k, const int *stride, const int *dil,
                        tc_padding pad, const int64_t *before, const int64_t *after)
{
    double n = (double)x->shape[0] * (double)x->shape[3];
    for (int a = 0; a < 2; a++) {
        double in = (double)x->shape[1 + a], extent = (double)(k[a] - 1) * (dil ? dil[a] : 1) + 1, padded = in;
        if (pad == TC_SAME) {
            double out = ceil(in / stride[a]);
            padded = fmax((out - 1) * stride[a] + extent, in);
        } else if (pad == TC_EXPLICIT) {
            padded = in + (double)before[a] + (double)after[a];
        }
        n *= padded;
    }
    return fits(c, n, "the padded input");
}

/* ---- sources and element-wise ---------------------------------------------------- */
static tc_tensor *op_placeholder(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n, (void)in;
    tc_tf_fail(c, TC_ERR_ARG, "the placeholder is not fed");
    return NULL;
}

static tc_tensor *op_const(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n, (void)in;
    return c->m->konst[c->node];
}

static tc_tensor *op_identity(tf_ctx *c, int n, tc_tensor **in) { (void)c, (void)n; return in[0]; }
static tc_tensor *op_relu(tf_ctx *c, int n, tc_tensor **in) { (void)n; return checked(c, tc_relu(in[0])); }
static tc_tensor *op_relu6(tf_ctx *c, int n, tc_tensor **in) { (void)n; return checked(c, tc_clip(in[0], 0, 6)); }
static tc_tensor *op_sigmoid(tf_ctx *c, int n, tc_tensor **in) { (void)n; return checked(c, tc_sigmoid(in[0])); }
static tc_tensor *op_tanh(tf_ctx *c, int n, tc_tensor **in) { (void)n; return checked(c, tc_tanh(in[0])); }
static tc_tensor *op_add(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    return broadcast_fits(c, in[0], in[1]) ? checked(c, tc_add(in[0], in[1])) : NULL;
}

static tc_tensor *op_sub(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    return broadcast_fits(c, in[0], in[1]) ? checked(c, tc_sub(in[0], in[1])) : NULL;
}

static tc_tensor *op_mul(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    return broadcast_fits(c, in[0], in[1]) ? checked(c, tc_mul(in[0], in[1])) : NULL;
}

static tc_tensor *op_softmax(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    return checked(c, tc_softmax(in[0], -1));
}

static tc_tensor *op_bias_add(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    if (!nhwc(c) || !rank_is(c, in[1], 1, "the bias")) return NULL;
    if (in[0]->ndim < 1 || in[0]->shape[in[0]->ndim - 1] != in[1]->shape[0])
        return tc_tf_fail(c, TC_ERR_SHAPE, "a bias of %lld values for %lld channels", (long long)in[1]->shape[0],
                          in[0]->ndim ? (long long)in[0]->shape[in[0]->ndim - 1] : 0LL),
               NULL;
    return checked(c, tc_add(in[0], in[1]));
}

/* ---- convolution, pooling, normalisation ------------------------------------------ */
static tc_tensor *op_conv2d(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    tc_conv_params p;
    if (!conv_params(c, &p) || !rank_is(c, in[0], 4, "the input") || !rank_is(c, in[1], 4, "the filter") ||
        !window_fits(c, in[0], in[1]->shape, p.stride, p.dilation, p.padding, p.pad_before, p.pad_after))
        return NULL;
    return checked(c, tc_conv(in[0], in[1], NULL, &p));
}

/* TF's depthwise filter [kh, kw, C, M] gives output channel c*M + m from
 * input channel c: tensorcook's grouped layout [kh, kw, 1, C*M] in the same
 * memory order. */
static tc_tensor *op_depthwise(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    tc_conv_params p;
    if (!conv_params(c, &p) || !rank_is(c, in[0], 4, "the input") || !rank_is(c, in[1], 4, "the filter")) return NULL;
    const int64_t *k = in[1]->shape;
    if (k[2] != in[0]->shape[3])
        return tc_tf_fail(c, TC_ERR_SHAPE, "a filter for %lld channels on an input of %lld", (long long)k[2],
                          (long long)in[0]->shape[3]),
               NULL;
    if (k[2] > 1 << 30) return tc_tf_fail(c, TC_ERR_SHAPE, "too many channels"), NULL;
    if (!window_fits(c, in[0], k, p.stride, p.dilation, p.padding, p.pad_before, p.pad_after)) return NULL;
    p.groups = (int)k[2];
    tc_tensor *w = tc_reshape(in[1], TC_SHAPE(k[0], k[1], 1, k[2] * k[3]));
    return checked(c, tc_conv(in[0], w, NULL, &p));
}

static tc_tensor *pool(tf_ctx *c, tc_tensor *x, bool avg)
{
    tc_pool_params p = {0};
    if (!nhwc(c) || !rank_is(c, x, 4, "the input") || !spatial_list(c, "ksize", p.kernel) ||
        !spatial_list(c, "strides", p.stride) || !padding_of(c, &p.padding, p.pad_before, p.pad_after))
        return NULL;
    p.count_include_pad = false; /* TF's SAME average divides by the taps inside the input */
    int64_t k[2] = {p.kernel[0], p.kernel[1]};
    if (!window_fits(c, x, k, p.stride, NULL, p.padding, p.pad_before, p.pad_after)) return NULL;
    return checked(c, avg ? tc_avg_pool(x, &p) : tc_max_pool(x, &p));
}

static tc_tensor *op_max_pool(tf_ctx *c, int n, tc_tensor **in) { (void)n; return pool(c, in[0], false); }
static tc_tensor *op_avg_pool(tf_ctx *c, int n, tc_tensor **in) { (void)n; return pool(c, in[0], true); }

/* TF: sqr_sum[c] = sum over [c - r, c + r] of x^2, y = x / (bias + alpha *
 * sqr_sum)^beta; tc_lrn divides alpha by the window 2r + 1. */
static tc_tensor *op_lrn(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    int64_t r = tc_tf_attr_int(c->def, "depth_radius", 5);
    if (r < 0 || r > 1 << 16) return tc_tf_fail(c, TC_ERR_ARG, "depth_radius %lld", (long long)r), NULL;
    int size = (int)(2 * r + 1);
    double alpha = tc_tf_attr_float(c->def, "alpha", 1), beta = tc_tf_attr_float(c->def, "beta", 0.5),
           bias = tc_tf_attr_float(c->def, "bias", 1);
    if (!rank_is(c, in[0], 4, "the input")) return NULL;
    return checked(c, tc_lrn(in[0], size, (tc_scalar)(alpha * size), (tc_scalar)beta, (tc_scalar)bias));
}

/* Inference only: (x - mean) / sqrt(variance + epsilon) * scale + offset. */
static tc_tensor *op_fused_bn(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    if (!nhwc(c)) return NULL;
    if (tc_tf_attr_bool(c->def, "is_training", true))
        return tc_tf_fail(c, TC_ERR_UNSUPPORTED, "is_training is true; a frozen inference graph has false"), NULL;
    for (int k = 1; k < 5; k++)
        if (!rank_is(c, in[k], 1, k == 1 ? "scale" : k == 2 ? "offset" : k == 3 ? "mean" : "variance")) return NULL;
    double eps = tc_tf_attr_float(c->def, "epsilon", 1e-4f);
    return checked(c, tc_batch_norm(in[0], in[1], in[2], in[3], in[4], false, 0, (tc_scalar)eps));
}

/* ---- shapes ------------------------------------------------------------------------------ */
static tc_tensor *concat(tf_ctx *c, int n, tc_tensor **xs, const tc_tensor *axis_t)
{
    int64_t a;
    int k = ints_of(c, axis_t, &a, 1, "the axis");
    if (k < 0) return NULL;
    if (k != 1) return tc_tf_fail(c, TC_ERR_ARG, "the axis must be one value"), NULL;
    int axis = axis_of(c, a, xs[0]->ndim);
    if (axis < 0) return NULL;
    return checked(c, n == 1 ? xs[0] : tc_concat(n, xs, axis));
}

static tc_tensor *op_concat(tf_ctx *c, int n, tc_tensor **in) { return concat(c, n - 1, in + 1, in[0]); }
static tc_tensor *op_concat_v2(tf_ctx *c, int n, tc_tensor **in) { return concat(c, n - 1, in, in[n - 1]); }

static tc_tensor *op_matmul(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    tc_tensor *a = rank_is(c, in[0], 2, "a"), *b = rank_is(c, in[1], 2, "b");
    if (!a || !b) return NULL;
    static const int t[2] = {1, 0};
    if (tc_tf_attr_bool(c->def, "transpose_a", false)) a = tc_transpose(a, t);
    if (tc_tf_attr_bool(c->def, "transpose_b", false)) b = tc_transpose(b, t);
    if (!fits(c, (double)a->shape[0] * (double)b->shape[1], "the result")) return NULL;
    return checked(c, tc_matmul(a, b));
}

static tc_tensor *op_reshape(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    int64_t shape[TC_MAX_DIMS];
    int r = ints_of(c, in[1], shape, TC_MAX_DIMS, "the shape");
    if (r < 0) return NULL;
    return checked(c, tc_reshape(in[0], r, shape));
}

static tc_tensor *op_squeeze(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    tc_tensor *x = in[0];
    int64_t dims[TC_MAX_DIMS], shape[TC_MAX_DIMS];
    int nd = tc_tf_attr_ints(c->def, "squeeze_dims", dims, TC_MAX_DIMS);
    if (nd > TC_MAX_DIMS) return tc_tf_fail(c, TC_ERR_ARG, "%d squeeze_dims", nd), NULL;
    bool drop[TC_MAX_DIMS] = {0};
    for (int k = 0; k < nd; k++) {
        int a = axis_of(c, dims[k], x->ndim);
        if (a < 0) return NULL;
        if (x->shape[a] != 1) return tc_tf_fail(c, TC_ERR_SHAPE, "dimension %d is %lld, not 1", a, (long long)x->shape[a]), NULL;
        drop[a] = true;
    }
    int r = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!(nd > 0 ? drop[d] : x->shape[d] == 1)) shape[r++] = x->shape[d];
    return checked(c, tc_reshape(x, r, shape));
}

static tc_tensor *op_mean(tf_ctx *c, int n, tc_tensor **in)
{
    (void)n;
    int64_t ax[TC_MAX_DIMS];
    int k = ints_of(c, in[1], ax, TC_MAX_DIMS, "the reduction indices");
    if (k < 0) return NULL;
    if (k == 0) return in[0]; /* TF: no axes reduces nothing (tc_mean would reduce all) */
    int axes[TC_MAX_DIMS];
    for (int i = 0; i < k; i++)
        if ((axes[i] = axis_of(c, ax[i], in[0]->ndim)) < 0) return NULL;
    return checked(c, tc_mean(in[0], k, axes, tc_tf_attr_bool(c->def, "keep_dims", false)));
}

/* Pad and PadV2: paddings [rank, 2] (before, after per axis), zeros or the
 * constant_values input. */
static tc_tensor *op_pad(tf_ctx *c, int n, tc_tensor **in)
{
    tc_tensor *x = in[0];
    int64_t p[2 * TC_MAX_DIMS], before[TC_MAX_DIMS], after[TC_MAX_DIMS];
    int k = ints_of(c, in[1], p, 2 * TC_MAX_DIMS, "the paddings");
    if (k < 0) return NULL;
    if (k != 2 * x->ndim) return tc_tf_fail(c, TC_ERR_SHAPE, "%d paddings for rank %d (needs [rank, 2])", k, x->ndim), NULL;
    double out_n = 1; /* capped: the fuzzer's oom-a3ae94d5 asked for 2.7e8 values */
    for (int d = 0; d < x->ndim; d++) {
        before[d] = p[2 * d], after[d] = p[2 * d + 1];
        if (before[d] < 0 || after[d] < 0) return tc_tf_fail(c, TC_ERR_ARG, "negative padding"), NULL;
        out_n *= (double)x->shape[d] + (double)before[d] + (double)after[d];
    }
    if (!fits(c, out_n, "the result")) return NULL;
    tc_scalar value = 0;
    if (n > 2) {
        if (tc_numel(in[2]) != 1) return tc_tf_fail(c, TC_ERR_SHAPE, "constant_values must be one value"), NULL;
        if (tc_read_values(in[2], &value) != TC_OK) return NULL;
    }
    return checked(c, tc_pad(x, before, after, TC_PAD_CONSTANT, value));
}

const tf_op_entry tc_tf_ops[] = {
    {"Placeholder", 0, 0, op_placeholder},
    {"Const", 0, 0, op_const},
    {"Identity", 1, 1, op_identity},
    {"Conv2D", 2, 2, op_conv2d},
    {"DepthwiseConv2dNative", 2, 2, op_depthwise},
    {"BiasAdd", 2, 2, op_bias_add},
    {"Relu", 1, 1, op_relu},
    {"Relu6", 1, 1, op_relu6},
    {"Sigmoid", 1, 1, op_sigmoid},
    {"Tanh", 1, 1, op_tanh},
    {"Softmax", 1, 1, op_softmax},
    {"MaxPool", 1, 1, op_max_pool},
    {"AvgPool", 1, 1, op_avg_pool},
    {"LRN", 1, 1, op_lrn},
    {"FusedBatchNorm", 5, 5, op_fused_bn},
    {"FusedBatchNormV3", 5, 5, op_fused_bn},
    {"Concat", 2, -1, op_concat},
    {"ConcatV2", 2, -1, op_concat_v2},
    {"MatMul", 2, 2, op_matmul},
    {"Reshape", 2, 2, op_reshape},
    {"Squeeze", 1, 1, op_squeeze},
    {"Add", 2, 2, op_add},
    {"AddV2", 2, 2, op_add},
    {"Sub", 2, 2, op_sub},
    {"Mul", 2, 2, op_mul},
    {"Mean", 2, 2, op_mean},
    {"Pad", 2, 2, op_pad},
    {"PadV2", 3, 3, op_pad},
    {NULL, 0, 0, NULL},
};

const tf_op_entry *tc_tf_op_lookup(const char *op)
{
    for (const tf_op_entry *e = tc_tf_ops; e->op; e++)
        if (!strcmp(e->op, op)) return e;
    return NULL;
}
