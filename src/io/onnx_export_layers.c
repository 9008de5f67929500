/* The exporter's translation of the feed-forward layers of nn/ into ONNX
 * nodes: convolutions and pooling work channels-first (native NCHW Conv
 * nodes, kernels converted to [F, C/groups, k...]); Dense, Flatten,
 * Reshape and Embedding work in tensorcook's layout (Flatten must see the
 * channels last to order the features as the model does). The values
 * convert between the two where a layer needs the other (as_nat / as_cf). */
#include "onnx_export_internal.h"

static int pick(int one, const int *per_axis, int i, int dflt)
{
    if (per_axis[i] > 0) return per_axis[i];
    return one > 0 ? one : dflt;
}

/* Explicit pads [begin..., end...] of a window of span (k-1)*d+1 with
 * stride s that gives out from in: TensorFlow's SAME puts the odd one
 * after, causal puts everything before. */
static void window_pads(int nsp, const int64_t *in, const int64_t *k, const int64_t *s, const int64_t *d, tc_padding p,
                        int64_t *pads)
{
    for (int i = 0; i < nsp; i++) {
        int64_t span = (k[i] - 1) * d[i] + 1, before = 0, after = 0;
        if (p == TC_SAME) {
            int64_t out = (in[i] + s[i] - 1) / s[i], total = (out - 1) * s[i] + span - in[i];
            if (total < 0) total = 0;
            before = total / 2;
            after = total - before;
        } else if (p == TC_CAUSAL) {
            before = span - 1;
        }
        pads[i] = before;
        pads[nsp + i] = after;
    }
}

static tc_status need_inputs(const xlayer_t *l, int n_in, int want)
{
    return n_in == want ? TC_OK : tc_error(TC_ERR_ARG, "%s (%s): %d inputs, expected %d", l->name, l->type, n_in, want);
}

/* channels-first output with its layer's shape */
static void set_cf(xval *out, const xlayer_t *l, int k, const char *name)
{
    memset(out, 0, sizeof *out);
    out->s = l->out[k];
    snprintf(out->cf, sizeof out->cf, "%s", name);
    if (out->s.ndim + 1 <= 2) snprintf(out->nat, sizeof out->nat, "%s", name);
}

static void set_nat(xval *out, const xlayer_t *l, int k, const char *name)
{
    memset(out, 0, sizeof *out);
    out->s = l->out[k];
    snprintf(out->nat, sizeof out->nat, "%s", name);
    if (out->s.ndim + 1 <= 2) snprintf(out->cf, sizeof out->cf, "%s", name);
}

/* the activation on a channels-first value: softmax over the channels (axis 1) */
static tc_status finish_cf(xport *e, const xlayer_t *l, const char *y, xval *out)
{
    if (xact(e, y, l->c.act, 1, &y) != TC_OK) return tc_last_status();
    set_cf(out, l, 0, y);
    return TC_OK;
}

/* ---- Dense ------------------------------------------------------------------------ */
static tc_status dense(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const tc_tensor *k = xw(l, 0);
    const char *y = xop2(e, "MatMul", as_nat(e, in), xinit_f(e, "kernel", 2, k->shape, xfloats(e, k)));
    if (!l->c.dense.no_bias) y = xop2(e, "Add", y, xinit_f(e, "bias", 1, xw(l, 1)->shape, xfloats(e, xw(l, 1))));
    if (xact(e, y, l->c.act, -1, &y) != TC_OK) return tc_last_status();
    set_nat(out, l, 0, y);
    return TC_OK;
}

/* ---- convolutions --------------------------------------------------------------------- */
typedef struct {
    int nsp;
    int64_t k[3], s[3], d[3], pads[6];
} conv_attrs;

static conv_attrs conv_geometry(const xlayer_t *l, const xval *in, const int64_t *k)
{
    const tc_conv_opts *o = &l->c.conv;
    conv_attrs a = {.nsp = l->c.spatial_rank};
    for (int i = 0; i < l->c.spatial_rank; i++) {
        a.k[i] = k[i];
        a.s[i] = pick(o->stride, o->strides, i, 1);
        a.d[i] = pick(o->dilation, o->dilations, i, 1);
    }
    window_pads(l->c.spatial_rank, in->s.d, a.k, a.s, a.d, o->padding, a.pads);
    return a;
}

static const char *conv_node(xport *e, const char *x, const char *w, const char *b, const conv_attrs *a, int64_t group)
{
    const char *y = xname(e, "Conv");
    Onnx__NodeProto *n = xnode(e, "Conv", b ? 3 : 2, (const char *[]){x, w, b}, 1, &y);
    xattr_is(e, n, "kernel_shape", a->nsp, a->k);
    xattr_is(e, n, "strides", a->nsp, a->s);
    xattr_is(e, n, "dilations", a->nsp, a->d);
    xattr_is(e, n, "pads", 2 * a->nsp, a->pads);
    if (group > 1) xattr_i(e, n, "group", group);
    return y;
}

/* kernel [k..., C, F] (channels last) -> ONNX's [F, C, k...] */
static const char *conv_weight(xport *e, const tc_tensor *kt, int nsp)
{
    const float *src = xfloats(e, kt);
    int64_t C = kt->shape[nsp], F = kt->shape[nsp + 1], taps = 1, dims[5] = {F, C};
    for (int i = 0; i < nsp; i++) taps *= kt->shape[i], dims[2 + i] = kt->shape[i];
    float *w = xa(e, sizeof(float) * (size_t)(taps * C * F));
    for (int64_t t = 0; t < taps; t++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t f = 0; f < F; f++) w[(f * C + c) * taps + t] = src[(t * C + c) * F + f];
    return xinit_f(e, "kernel", nsp + 2, dims, w);
}

static const char *bias_of(xport *e, const tc_tensor *b) { return xinit_f(e, "bias", 1, b->shape, xfloats(e, b)); }

static tc_status conv(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const tc_tensor *k = xw(l, 0);
    conv_attrs a = conv_geometry(l, in, k->shape);
    const char *y = conv_node(e, as_cf(e, in), conv_weight(e, k, l->c.spatial_rank), l->c.conv.no_bias ? NULL : bias_of(e, xw(l, 1)), &a, 1);
    return finish_cf(e, l, y, out);
}

/* depthwise kernel [kh, kw, C, M] -> [C*M, 1, kh, kw] with group C: output
 * channel c*M+m reads channel c, as tensorcook's grouped convolution */
static const char *depthwise_node(xport *e, const xlayer_t *l, xval *in, const char *bias)
{
    const tc_tensor *k = xw(l, 0);
    const float *src = xfloats(e, k);
    int64_t kh = k->shape[0], kw = k->shape[1], C = k->shape[2], M = k->shape[3];
    float *w = xa(e, sizeof(float) * (size_t)(kh * kw * C * M));
    for (int64_t t = 0; t < kh * kw; t++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t m = 0; m < M; m++) w[(c * M + m) * kh * kw + t] = src[(t * C + c) * M + m];
    conv_attrs a = conv_geometry(l, in, k->shape);
    return conv_node(e, as_cf(e, in), xinit_f(e, "depthwise_kernel", 4, (int64_t[]){C * M, 1, kh, kw}, w), bias, &a, C);
}

static tc_status depthwise(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    return finish_cf(e, l, depthwise_node(e, l, in, l->c.conv.no_bias ? NULL : bias_of(e, xw(l, 1))), out);
}

static tc_status separable(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const char *d = depthwise_node(e, l, in, NULL);
    conv_attrs a = {.nsp = 2, .k = {1, 1}, .s = {1, 1}, .d = {1, 1}};
    const char *y = conv_node(e, d, conv_weight(e, xw(l, 1), 2), l->c.conv.no_bias ? NULL : bias_of(e, xw(l, 2)), &a, 1);
    return finish_cf(e, l, y, out);
}

/* ---- pooling ------------------------------------------------------------------------------ */
static tc_status pool(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const tc_pool_opts *o = &l->c.pool;
    int64_t k[3], s[3], d[3] = {1, 1, 1}, pads[6];
    for (int i = 0; i < l->c.spatial_rank; i++) {
        k[i] = pick(o->pool, o->pool_dims, i, 2);
        s[i] = pick(o->stride, o->strides, i, (int)k[i]);
    }
    window_pads(l->c.spatial_rank, in->s.d, k, s, d, o->padding, pads);
    const char *op = l->c.is_max ? "MaxPool" : "AveragePool", *x = as_cf(e, in), *y = xname(e, op);
    Onnx__NodeProto *n = xnode(e, op, 1, &x, 1, &y);
    xattr_is(e, n, "kernel_shape", l->c.spatial_rank, k);
    xattr_is(e, n, "strides", l->c.spatial_rank, s);
    xattr_is(e, n, "pads", 2 * l->c.spatial_rank, pads); /* AveragePool: padded cells are not counted, as TensorFlow's SAME */
    set_cf(out, l, 0, y);
    return TC_OK;
}

static tc_status global_pool(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const char *g = xop1(e, l->c.is_max ? "GlobalMaxPool" : "GlobalAveragePool", as_cf(e, in)), *y = xname(e, "Flatten");
    xattr_i(e, xnode(e, "Flatten", 1, &g, 1, &y), "axis", 1);
    set_nat(out, l, 0, y);
    return TC_OK;
}

/* ---- shapes ---------------------------------------------------------------------------------- */
static tc_status flatten(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const char *x = as_nat(e, in), *y = xname(e, "Flatten");
    xattr_i(e, xnode(e, "Flatten", 1, &x, 1, &y), "axis", 1);
    set_nat(out, l, 0, y);
    return TC_OK;
}

static tc_status reshape(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    int64_t shape[TC_MAX_DIMS + 1] = {-1}; /* the batch */
    for (int i = 0; i < l->out[0].ndim; i++) shape[1 + i] = l->out[0].d[i];
    set_nat(out, l, 0, xreshape(e, as_nat(e, in), l->out[0].ndim + 1, shape));
    return TC_OK;
}

static tc_status repeat(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const char *u = xunsqueeze(e, as_nat(e, in), 1);
    set_nat(out, l, 0, xop2(e, "Tile", u, xinit_i64(e, "repeats", 3, (int64_t[]){1, l->c.axis, 1})));
    return TC_OK;
}

static tc_status zero_pad(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    int nsp = in->s.ndim - 1;
    int64_t pads[10] = {0};
    for (int a = 0; a < nsp; a++) {
        pads[2 + a] = l->c.pad[2 * a];              /* before, after the batch and channel axes */
        pads[nsp + 2 + 2 + a] = l->c.pad[2 * a + 1];
    }
    const char *y = xop2(e, "Pad", as_cf(e, in), xinit_i64(e, "pads", 2 * (nsp + 2), pads));
    set_cf(out, l, 0, y);
    return TC_OK;
}

/* ---- elementwise ------------------------------------------------------------------------------ */
/* the layout the value has already (channels-first preferred) */
static bool has_cf(const xval *v) { return v->cf[0] != 0 && v->s.ndim + 1 > 2; }

static tc_status activation(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    bool cf = has_cf(in);
    const char *y;
    if (xact(e, cf ? in->cf : as_nat(e, in), l->c.act, cf ? 1 : -1, &y) != TC_OK) return tc_last_status();
    if (cf) set_cf(out, l, 0, y);
    else set_nat(out, l, 0, y);
    return TC_OK;
}

static tc_status batchnorm(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    int64_t C = in->s.ndim ? in->s.d[in->s.ndim - 1] : 1;
    int k = 0;
    float *ones = xa(e, sizeof(float) * (size_t)C), *zeros = xa(e, sizeof(float) * (size_t)C);
    for (int64_t c = 0; c < C; c++) ones[c] = 1;
    const char *scale = l->c.bn.no_scale ? xinit_f(e, "gamma", 1, &C, ones) : bias_of(e, xw(l, k++));
    const char *beta = l->c.bn.no_center ? xinit_f(e, "beta", 1, &C, zeros) : bias_of(e, xw(l, k++));
    const char *mean = bias_of(e, xw(l, k)), *var = bias_of(e, xw(l, k + 1));
    const char *y = xname(e, "BatchNormalization");
    Onnx__NodeProto *n = xnode(e, "BatchNormalization", 5, (const char *[]){as_cf(e, in), scale, beta, mean, var}, 1, &y);
    xattr_f(e, n, "epsilon", (float)l->c.bn.eps);
    xattr_f(e, n, "momentum", (float)l->c.bn.momentum); /* training only; kept for the record */
    set_cf(out, l, 0, y);
    return TC_OK;
}

static tc_status add(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out)
{
    bool cf = true;
    for (int i = 0; i < n_in; i++) cf &= has_cf(&in[i]);
    const char *y = cf ? in[0].cf : as_nat(e, &in[0]);
    for (int i = 1; i < n_in; i++) y = xop2(e, "Add", y, cf ? in[i].cf : as_nat(e, &in[i])); /* in the model's order */
    if (cf) set_cf(out, l, 0, y);
    else set_nat(out, l, 0, y);
    return TC_OK;
}

static tc_status concat(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out)
{
    int r = in[0].s.ndim + 1, axis = l->c.axis; /* of the full tensor, set at build */
    bool cf = true;
    for (int i = 0; i < n_in; i++) cf &= has_cf(&in[i]);
    const char *xs[TC_LAYER_MAX_INPUTS], *y = xname(e, "Concat");
    for (int i = 0; i < n_in; i++) xs[i] = cf ? in[i].cf : as_nat(e, &in[i]);
    xattr_i(e, xnode(e, "Concat", n_in, xs, 1, &y), "axis", cf ? (axis == r - 1 ? 1 : axis + 1) : axis);
    if (cf) set_cf(out, l, 0, y);
    else set_nat(out, l, 0, y);
    return TC_OK;
}

static tc_status embedding(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const tc_tensor *t = xw(l, 0);
    const char *y = xname(e, "Gather");
    xattr_i(e, xnode(e, "Gather", 2, (const char *[]){xinit_f(e, "embeddings", 2, t->shape, xfloats(e, t)), as_ids(e, in)}, 1, &y),
            "axis", 0);
    set_nat(out, l, 0, y);
    return TC_OK;
}

/* Masking's values: the steps whose features all equal mask_value zeroed,
 * x * sign(max |x - v| over the features). The mask itself is not exported:
 * the layers that read masks refuse a masked input (onnx_export.c). */
static tc_status masking(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    const char *x = as_nat(e, in), *r = xname(e, "ReduceMax");
    float v = (float)l->c.mask_value;
    const char *d = xop1(e, "Abs", xop2(e, "Sub", x, xinit_f(e, "mask_value", 0, NULL, &v)));
    Onnx__NodeProto *n = xnode(e, "ReduceMax", 1, &d, 1, &r);
    xattr_is(e, n, "axes", 1, (int64_t[]){-1}); /* an attribute up to opset 17 */
    xattr_i(e, n, "keepdims", 1);
    set_nat(out, l, 0, xop2(e, "Mul", x, xop1(e, "Sign", r)));
    return TC_OK;
}

/* TimeDistributed: the steps folded into the batch, the inner layer (its
 * weights are the wrapper's), unfolded */
static tc_status time_distributed(xport *e, const xlayer_t *l, xval *in, xval *out)
{
    xlayer_t r;
    if (xlayer_of(tc_layer_wrapped(l->l), &r) != TC_OK) return tc_last_status();
    r.wl = l->wl;
    r.w0 = l->w0;
    r.n_out = 1;
    r.out[0] = (xshape){l->out[0].ndim - 1}; /* the wrapper's output without the time axis */
    for (int i = 1; i < l->out[0].ndim; i++) r.out[0].d[i - 1] = l->out[0].d[i];
    int64_t folded[TC_MAX_DIMS + 1] = {-1}, T = in->s.d[0];
    xval step = {.s = {in->s.ndim - 1}};
    for (int i = 1; i < in->s.ndim; i++) step.s.d[i - 1] = folded[i] = in->s.d[i];
    snprintf(step.nat, sizeof step.nat, "%s", xreshape(e, as_nat(e, in), in->s.ndim, folded));
    if (step.s.ndim + 1 <= 2) snprintf(step.cf, sizeof step.cf, "%s", step.nat);
    xval y[TC_LAYER_MAX_OUTPUTS];
    if (xlayer(e, &r, 1, &step, y) != TC_OK) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        return tc_error(tc_last_status(), "%s (TimeDistributed): %s", l->name, inner);
    }
    int64_t unfolded[TC_MAX_DIMS + 1] = {-1, T};
    for (int i = 0; i < r.out[0].ndim; i++) unfolded[2 + i] = r.out[0].d[i];
    set_nat(out, l, 0, xreshape(e, as_nat(e, &y[0]), r.out[0].ndim + 2, unfolded));
    return TC_OK;
}

tc_status xlayer(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out)
{
    const char *t = l->type;
    bool single = n_in == 1;
    if (!strcmp(t, "Dense") && single) return dense(e, l, in, out);
    if (!strncmp(t, "Conv", 4) && single) return conv(e, l, in, out);
    if (!strcmp(t, "DepthwiseConv2D") && single) return depthwise(e, l, in, out);
    if (!strcmp(t, "SeparableConv2D") && single) return separable(e, l, in, out);
    if ((!strncmp(t, "MaxPooling", 10) || !strncmp(t, "AveragePooling", 14)) && single) return pool(e, l, in, out);
    if (!strncmp(t, "Global", 6) && single) return global_pool(e, l, in, out);
    if (!strcmp(t, "Flatten") && single) return flatten(e, l, in, out);
    if (!strcmp(t, "Reshape") && single) return reshape(e, l, in, out);
    if (!strcmp(t, "RepeatVector") && single) return repeat(e, l, in, out);
    if (!strncmp(t, "ZeroPadding", 11) && single) return zero_pad(e, l, in, out);
    if (!strcmp(t, "Activation") && single) return activation(e, l, in, out);
    if (!strcmp(t, "Dropout") && single) { /* inference: the identity */
        *out = *in;
        return TC_OK;
    }
    if (!strcmp(t, "BatchNormalization") && single) return batchnorm(e, l, in, out);
    if (!strcmp(t, "Embedding") && single) return embedding(e, l, in, out);
    if (!strcmp(t, "Add")) return add(e, l, n_in, in, out);
    if (!strcmp(t, "Concatenate")) return concat(e, l, n_in, in, out);
    if (!strcmp(t, "TimeDistributed") && single) return time_distributed(e, l, in, out);
    if (!strcmp(t, "LSTM") || !strcmp(t, "GRU") || !strcmp(t, "SimpleRNN")) return xrnn(e, l, n_in, in, out);
    if (!strcmp(t, "Bidirectional")) return xbidirectional(e, l, n_in, in, out);
    if (!strcmp(t, "Attention") || !strcmp(t, "AdditiveAttention"))
        return xattention(e, l, !strcmp(t, "AdditiveAttention"), n_in, in, out);
    if (!strcmp(t, "Masking") && single) return masking(e, l, in, out);
    if (need_inputs(l, n_in, 1) != TC_OK) return tc_last_status();
    return tc_error(TC_ERR_UNSUPPORTED, "%s (%s): the ONNX exporter has no translation for this layer type", l->name, t);
}
