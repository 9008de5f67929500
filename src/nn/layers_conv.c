/* Convolution and pooling layers (Keras' Conv1D/2D/3D, DepthwiseConv2D,
 * SeparableConv2D, Max/AveragePooling1D/2D/3D, Global*Pooling). */
#include "layer.h"

static int pick(int one, const int *per_axis, int i, int dflt)
{
    if (per_axis[i] > 0) return per_axis[i];
    return one > 0 ? one : dflt;
}

static tc_conv_params conv_params(const tc_layer *l)
{
    const tc_conv_opts *o = &l->o.conv;
    tc_conv_params p = {.padding = o->padding};
    for (int i = 0; i < l->nsp; i++) {
        p.stride[i] = pick(o->stride, o->strides, i, 1);
        p.dilation[i] = pick(o->dilation, o->dilations, i, 1);
    }
    return p;
}

static tc_status spatial_input(tc_layer *l, int n_in, const tc_shp *in)
{
    char b[96];
    if (n_in != 1) return tc_error(TC_ERR_ARG, "%s (%s): takes 1 input, given %d", l->name, l->ops->type, n_in);
    if (in->ndim != l->nsp + 1)
        return tc_error(TC_ERR_SHAPE, "%s (%s): input %s must have %d spatial axes and channels", l->name, l->ops->type,
                        tc_shp_str(in, b, sizeof b), l->nsp);
    return TC_OK;
}

/* output shape of a convolution-like window over in */
static tc_status conv_out(tc_layer *l, const tc_shp *in, const int64_t *k, const tc_conv_params *p, int64_t f, tc_shp *out)
{
    char b[96];
    out->ndim = in->ndim;
    for (int i = 0; i < l->nsp; i++) {
        out->d[i] = tc_conv_out_size(in->d[i], k[i], p->stride[i], p->dilation[i], p->padding, 0, 0);
        if (out->d[i] < 1)
            return tc_error(TC_ERR_SHAPE, "%s (%s): kernel %lld does not fit input %s on axis %d", l->name, l->ops->type,
                            (long long)k[i], tc_shp_str(in, b, sizeof b), i);
    }
    out->d[l->nsp] = f;
    return TC_OK;
}

static tc_status conv_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (spatial_input(l, n_in, in)) return tc_last_status();
    const tc_conv_opts *o = &l->o.conv;
    int64_t ks[5];
    for (int i = 0; i < l->nsp; i++) ks[i] = pick(o->kernel, o->kernel_dims, i, 1);
    ks[l->nsp] = in->d[l->nsp];
    ks[l->nsp + 1] = o->filters;
    tc_conv_params p = conv_params(l);
    if (conv_out(l, in, ks, &p, o->filters, out)) return tc_last_status();
    tc_tensor *k = tc_layer_add_weight(l, "kernel", l->nsp + 2, ks, true);
    if (!k) return tc_last_status();
    tc_glorot_uniform(k, rng);
    if (!o->no_bias && !tc_layer_add_weight(l, "bias", 1, (int64_t[]){o->filters}, true)) return tc_last_status();
    return TC_OK;
}
static tc_tensor *conv_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_conv_params p = conv_params(l);
    if (l->act == TC_RELU) { /* the conv's epilogue: the same bits as tc_relu after it, one pass less */
        p.act = TC_CONV_RELU;
        return tc_conv(x[0], l->w[0], l->o.conv.no_bias ? NULL : l->w[1], &p);
    }
    return tc_activate(tc_conv(x[0], l->w[0], l->o.conv.no_bias ? NULL : l->w[1], &p), l->act);
}

/* DepthwiseConv2D: Keras kernel [kh, kw, C, M]; our grouped kernel is the same
 * memory viewed as [kh, kw, 1, C*M] (output channel c*M+m reads channel c). */
static tc_status depthwise_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (spatial_input(l, n_in, in)) return tc_last_status();
    const tc_conv_opts *o = &l->o.conv;
    int64_t m = o->depth_multiplier > 0 ? o->depth_multiplier : 1, c = in->d[2];
    int64_t ks[4] = {pick(o->kernel, o->kernel_dims, 0, 1), pick(o->kernel, o->kernel_dims, 1, 1), c, m};
    tc_conv_params p = conv_params(l);
    if (conv_out(l, in, ks, &p, c * m, out)) return tc_last_status();
    tc_tensor *k = tc_layer_add_weight(l, "depthwise_kernel", 4, ks, true);
    if (!k) return tc_last_status();
    tc_glorot_uniform(k, rng);
    if (!o->no_bias && !tc_layer_add_weight(l, "bias", 1, (int64_t[]){c * m}, true)) return tc_last_status();
    return TC_OK;
}
static tc_tensor *depthwise(tc_layer *l, tc_tensor *x, tc_tensor *kernel, tc_tensor *bias)
{
    tc_conv_params p = conv_params(l);
    p.groups = (int)kernel->shape[2];
    tc_tensor *k = tc_reshape(kernel, 4, (int64_t[]){kernel->shape[0], kernel->shape[1], 1, kernel->shape[2] * kernel->shape[3]});
    return tc_conv(x, k, bias, &p);
}
static tc_tensor *depthwise_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    return tc_activate(depthwise(l, x[0], l->w[0], l->o.conv.no_bias ? NULL : l->w[1]), l->act);
}

static tc_status separable_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (spatial_input(l, n_in, in)) return tc_last_status();
    const tc_conv_opts *o = &l->o.conv;
    int64_t m = o->depth_multiplier > 0 ? o->depth_multiplier : 1, c = in->d[2];
    int64_t ks[4] = {pick(o->kernel, o->kernel_dims, 0, 1), pick(o->kernel, o->kernel_dims, 1, 1), c, m};
    tc_conv_params p = conv_params(l);
    if (conv_out(l, in, ks, &p, o->filters, out)) return tc_last_status();
    tc_tensor *dk = tc_layer_add_weight(l, "depthwise_kernel", 4, ks, true);
    tc_tensor *pk = tc_layer_add_weight(l, "pointwise_kernel", 4, (int64_t[]){1, 1, c * m, o->filters}, true);
    if (!dk || !pk) return tc_last_status();
    tc_glorot_uniform(dk, rng);
    tc_glorot_uniform(pk, rng);
    if (!o->no_bias && !tc_layer_add_weight(l, "bias", 1, (int64_t[]){o->filters}, true)) return tc_last_status();
    return TC_OK;
}
static tc_tensor *separable_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_tensor *d = depthwise(l, x[0], l->w[0], NULL);
    return tc_activate(tc_conv(d, l->w[1], l->o.conv.no_bias ? NULL : l->w[2], NULL), l->act);
}

/* ---- the inference rewrite's entry (layer.h) ---- */
int tc_conv_layer_kernel_index(const tc_layer *l)
{
    if (!l || !l->built || l->act != TC_LINEAR) return -1;
    if (l->ops->build == conv_build) return 0;
    if (l->ops->build == separable_build) return 1; /* the pointwise kernel: its last axis is the output */
    return -1;
}

tc_tensor *tc_conv_layer_run(tc_layer *l, tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, tc_conv_act act,
                             tc_tensor *residual, const tc_conv_weights *packed)
{
    tc_conv_params p = conv_params(l);
    p.act = act;
    p.residual = residual;
    p.weights = packed;
    if (l->ops->build == separable_build) {
        tc_conv_params pw = {.act = act, .residual = residual, .weights = packed};
        return tc_conv(depthwise(l, x, l->w[0], NULL), kernel, bias, &pw);
    }
    return tc_conv(x, kernel, bias, &p);
}

static const tc_layer_ops conv1d_ops = {"Conv1D", "conv1d", conv_build, conv_call};
static const tc_layer_ops conv2d_ops = {"Conv2D", "conv2d", conv_build, conv_call};
static const tc_layer_ops conv3d_ops = {"Conv3D", "conv3d", conv_build, conv_call};
static const tc_layer_ops depthwise_ops = {"DepthwiseConv2D", "depthwise_conv2d", depthwise_build, depthwise_call};
static const tc_layer_ops separable_ops = {"SeparableConv2D", "separable_conv2d", separable_build, separable_call};

static tc_layer *conv_layer(const tc_layer_ops *ops, int nsp, const tc_conv_opts *o, bool need_filters)
{
    if (!o || (need_filters && o->filters < 1)) {
        tc_layer_ctor_error("%s: filters must be at least 1", ops->type);
        return NULL;
    }
    if (o->padding == TC_CAUSAL && nsp != 1) {
        tc_layer_ctor_error("%s: causal padding is for Conv1D", ops->type);
        return NULL;
    }
    if (o->padding != TC_VALID && o->padding != TC_SAME && o->padding != TC_CAUSAL) {
        tc_layer_ctor_error("%s: padding must be VALID, SAME or CAUSAL", ops->type);
        return NULL;
    }
    bool ok = o->kernel >= 0 && o->stride >= 0 && o->dilation >= 0 && o->depth_multiplier >= 0;
    for (int i = 0; i < 3; i++) ok = ok && o->kernel_dims[i] >= 0 && o->strides[i] >= 0 && o->dilations[i] >= 0;
    for (int i = 0; i < nsp && ok; i++) ok = pick(o->kernel, o->kernel_dims, i, 0) > 0;
    if (!ok) {
        tc_layer_ctor_error("%s: kernel (given %d) must be set and positive; strides, dilations, depth_multiplier positive or 0 "
                            "(default)", ops->type, o->kernel);
        return NULL;
    }
    for (int i = 0; i < 4; i++)
        if (o->input_shape[i] < 0 || (o->input_shape[0] > 0 && i <= nsp && o->input_shape[i] == 0)) {
            tc_layer_ctor_error("%s: input_shape needs %d positive sizes (spatial..., channels)", ops->type, nsp + 1);
            return NULL;
        }
    if (!tc_layer_check_activation(ops->type, o->act)) return NULL;
    tc_layer *l = tc_layer_alloc(ops, o->name);
    if (!l) return NULL;
    l->o.conv = *o;
    l->o.conv.name = NULL;
    l->nsp = nsp;
    l->act = o->act;
    if (o->input_shape[0] > 0) {
        l->has_input_shape = true;
        l->input_shape.ndim = nsp + 1;
        for (int i = 0; i <= nsp; i++) l->input_shape.d[i] = o->input_shape[i];
    }
    return l;
}
tc_layer *tc_conv1d(const tc_conv_opts *o) { return conv_layer(&conv1d_ops, 1, o, true); }
tc_layer *tc_conv2d(const tc_conv_opts *o) { return conv_layer(&conv2d_ops, 2, o, true); }
tc_layer *tc_conv3d(const tc_conv_opts *o) { return conv_layer(&conv3d_ops, 3, o, true); }
tc_layer *tc_depthwise_conv2d(const tc_conv_opts *o) { return conv_layer(&depthwise_ops, 2, o, false); }
tc_layer *tc_separable_conv2d(const tc_conv_opts *o) { return conv_layer(&separable_ops, 2, o, true); }

/* ---- pooling ----------------------------------------------------------------------------- */
static tc_pool_params pool_params(const tc_layer *l)
{
    const tc_pool_opts *o = &l->o.pool;
    tc_pool_params p = {.padding = o->padding};
    for (int i = 0; i < l->nsp; i++) {
        p.kernel[i] = pick(o->pool, o->pool_dims, i, 2);
        p.stride[i] = pick(o->stride, o->strides, i, p.kernel[i]);
    }
    return p;
}
static tc_status pool_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (spatial_input(l, n_in, in)) return tc_last_status();
    tc_pool_params p = pool_params(l);
    char b[96];
    out->ndim = in->ndim;
    for (int i = 0; i < l->nsp; i++) {
        out->d[i] = p.padding == TC_SAME ? (in->d[i] + p.stride[i] - 1) / p.stride[i]
                    : (in->d[i] >= p.kernel[i] ? (in->d[i] - p.kernel[i]) / p.stride[i] + 1 : 0);
        if (out->d[i] < 1)
            return tc_error(TC_ERR_SHAPE, "%s (%s): window %d does not fit input %s", l->name, l->ops->type, p.kernel[i],
                            tc_shp_str(in, b, sizeof b));
    }
    out->d[l->nsp] = in->d[l->nsp];
    return TC_OK;
}
static tc_tensor *pool_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_pool_params p = pool_params(l);
    return l->is_max ? tc_max_pool(x[0], &p) : tc_avg_pool(x[0], &p);
}
static const tc_layer_ops pool_ops[2][3] = {
    {{"AveragePooling1D", "average_pooling1d", pool_build, pool_call},
     {"AveragePooling2D", "average_pooling2d", pool_build, pool_call},
     {"AveragePooling3D", "average_pooling3d", pool_build, pool_call}},
    {{"MaxPooling1D", "max_pooling1d", pool_build, pool_call},
     {"MaxPooling2D", "max_pooling2d", pool_build, pool_call},
     {"MaxPooling3D", "max_pooling3d", pool_build, pool_call}},
};
static tc_layer *pool_layer(int nsp, bool is_max, const tc_pool_opts *o)
{
    tc_pool_opts d = o ? *o : (tc_pool_opts){0};
    if (d.padding != TC_VALID && d.padding != TC_SAME) {
        tc_layer_ctor_error("%s: padding must be VALID or SAME", pool_ops[is_max][nsp - 1].type);
        return NULL;
    }
    bool ok = d.pool >= 0 && d.stride >= 0;
    for (int i = 0; i < 3; i++) ok = ok && d.pool_dims[i] >= 0 && d.strides[i] >= 0;
    if (!ok) {
        tc_layer_ctor_error("%s: pool sizes and strides must be positive or 0 (default)", pool_ops[is_max][nsp - 1].type);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&pool_ops[is_max][nsp - 1], d.name);
    if (!l) return NULL;
    d.name = NULL;
    l->o.pool = d;
    l->nsp = nsp;
    l->is_max = is_max;
    return l;
}
tc_layer *tc_maxpool1d(const tc_pool_opts *o) { return pool_layer(1, true, o); }
tc_layer *tc_maxpool2d(const tc_pool_opts *o) { return pool_layer(2, true, o); }
tc_layer *tc_maxpool3d(const tc_pool_opts *o) { return pool_layer(3, true, o); }
tc_layer *tc_avgpool1d(const tc_pool_opts *o) { return pool_layer(1, false, o); }
tc_layer *tc_avgpool2d(const tc_pool_opts *o) { return pool_layer(2, false, o); }
tc_layer *tc_avgpool3d(const tc_pool_opts *o) { return pool_layer(3, false, o); }

static tc_status global_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1 || in->ndim < 2 || in->ndim > 4)
        return tc_error(TC_ERR_SHAPE, "%s (%s): input %s must be (spatial..., channels)", l->name, l->ops->type,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    out->ndim = 1;
    out->d[0] = in->d[in->ndim - 1];
    return TC_OK;
}
static tc_tensor *global_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    return l->is_max ? tc_global_max_pool(x[0], false) : tc_global_avg_pool(x[0], false);
}
/* Keras' GlobalAveragePooling1D averages the unmasked steps of a masked
 * sequence (a sequence with every step masked gives zeros, not Keras' 0/0). */
static tc_status gap1d_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                           tc_tensor **ymask)
{
    if (!mask[0]) {
        y[0] = tc_global_avg_pool(x[0], false);
    } else {
        tc_tensor *m = mask[0]; /* [B, T] */
        tc_tensor *kept = tc_mul(x[0], tc_reshape(m, 3, (int64_t[]){m->shape[0], m->shape[1], 1}));
        tc_tensor *count = tc_maximum(tc_sum(m, 1, (int[]){1}, true), tc_scalar_tensor(1));
        y[0] = tc_div(tc_sum(kept, 1, (int[]){1}, false), count);
    }
    return y[0] ? TC_OK : tc_last_status();
}
/* Keras has one class per rank (GlobalAveragePooling2D, ...): the type is
 * chosen when the layer is first called, from its input's rank. */
static const tc_layer_ops *global_retype(const tc_layer *l, int n_in, const tc_shp *in);
static const tc_layer_ops gavg_ops = {"GlobalAveragePooling", "global_average_pooling", global_build, global_call, global_retype};
static const tc_layer_ops gmax_ops = {"GlobalMaxPooling", "global_max_pooling", global_build, global_call, global_retype};
static const tc_layer_ops global_ops[2][3] = {
    {{"GlobalAveragePooling1D", "global_average_pooling1d", global_build, NULL, NULL, TC_MASK_OWN, NULL, gap1d_run},
     {"GlobalAveragePooling2D", "global_average_pooling2d", global_build, global_call},
     {"GlobalAveragePooling3D", "global_average_pooling3d", global_build, global_call}},
    {{"GlobalMaxPooling1D", "global_max_pooling1d", global_build, global_call},
     {"GlobalMaxPooling2D", "global_max_pooling2d", global_build, global_call},
     {"GlobalMaxPooling3D", "global_max_pooling3d", global_build, global_call}},
};
static const tc_layer_ops *global_retype(const tc_layer *l, int n_in, const tc_shp *in)
{
    if (n_in != 1 || in->ndim < 2 || in->ndim > 4) return l->ops; /* global_build reports it */
    return &global_ops[l->is_max][in->ndim - 2];
}
tc_layer *tc_global_avgpool(const char *name) { return tc_layer_alloc(&gavg_ops, name); }
tc_layer *tc_global_maxpool(const char *name)
{
    tc_layer *l = tc_layer_alloc(&gmax_ops, name);
    if (l) l->is_max = true;
    return l;
}
