/* Dense, Flatten, Reshape, Dropout, Activation, Embedding, BatchNormalization,
 * Concatenate and Add. */
#include "layer.h"

#include <stdlib.h>

static tc_status one_input(tc_layer *l, int n_in)
{
    return n_in == 1 ? TC_OK : tc_error(TC_ERR_ARG, "%s (%s): takes 1 input, given %d", l->name, l->ops->type, n_in);
}

/* ---- Dense --------------------------------------------------------------------- */
static tc_status dense_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    char b[96];
    if (in->ndim < 1) return tc_error(TC_ERR_SHAPE, "%s (Dense): input %s has no feature axis", l->name, tc_shp_str(in, b, sizeof b));
    int64_t fin = in->d[in->ndim - 1];
    tc_tensor *k = tc_layer_add_weight(l, "kernel", 2, (int64_t[]){fin, l->o.dense.units}, true);
    if (!k) return tc_last_status();
    tc_glorot_uniform(k, rng);
    if (!l->o.dense.no_bias && !tc_layer_add_weight(l, "bias", 1, (int64_t[]){l->o.dense.units}, true)) return tc_last_status();
    *out = *in;
    out->d[out->ndim - 1] = l->o.dense.units;
    return TC_OK;
}
static tc_tensor *dense_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    return tc_activate(tc_linear(x[0], l->w[0], l->o.dense.no_bias ? NULL : l->w[1]), l->act);
}
/* masks pass: Dense acts on each step of a sequence */
static const tc_layer_ops dense_ops = {"Dense", "dense", dense_build, dense_call, .mask_rule = TC_MASK_PASS};

tc_layer *tc_dense(const tc_dense_opts *o)
{
    if (!o || o->units < 1 || o->input_dim < 0) {
        tc_layer_ctor_error("Dense: units must be at least 1 (given %d) and input_dim at least 0 (given %d)", o ? o->units : 0,
                            o ? o->input_dim : 0);
        return NULL;
    }
    if (!tc_layer_check_activation("Dense", o->act)) return NULL;
    tc_layer *l = tc_layer_alloc(&dense_ops, o->name);
    if (!l) return NULL;
    l->o.dense = *o;
    l->o.dense.name = NULL;
    l->act = o->act;
    if (o->input_dim > 0) {
        l->has_input_shape = true;
        l->input_shape = (tc_shp){1, {o->input_dim}};
    }
    return l;
}

/* ---- Flatten / Reshape ------------------------------------------------------------- */
static tc_status flatten_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    out->ndim = 1;
    out->d[0] = tc_shape_numel(in->ndim, in->d);
    return TC_OK;
}
static tc_tensor *flatten_call(tc_layer *l, int n, tc_tensor *const *x, bool training) { return tc_flatten(x[0], 1); }
static const tc_layer_ops flatten_ops = {"Flatten", "flatten", flatten_build, flatten_call};
tc_layer *tc_flatten_layer(const char *name) { return tc_layer_alloc(&flatten_ops, name); }

static tc_status reshape_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    int64_t n = tc_shape_numel(in->ndim, in->d), known = 1;
    int infer = -1;
    *out = l->o.reshape;
    for (int i = 0; i < out->ndim; i++) {
        if (out->d[i] == -1) infer = i;
        else known *= out->d[i];
    }
    if (infer >= 0 && known > 0 && n % known == 0) out->d[infer] = n / known;
    char a[96], b[96];
    if (tc_shape_numel(out->ndim, out->d) != n)
        return tc_error(TC_ERR_SHAPE, "%s (Reshape): cannot reshape %s into %s", l->name, tc_shp_str(in, a, sizeof a),
                        tc_shp_str(&l->o.reshape, b, sizeof b));
    return TC_OK;
}
static tc_tensor *reshape_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    int64_t shape[TC_MAX_DIMS];
    shape[0] = x[0]->shape[0];
    for (int i = 0; i < l->out[0].ndim; i++) shape[1 + i] = l->out[0].d[i];
    return tc_reshape(x[0], l->out[0].ndim + 1, shape);
}
static const tc_layer_ops reshape_ops = {"Reshape", "reshape", reshape_build, reshape_call};
tc_layer *tc_reshape_layer(int ndim, const int64_t *shape, const char *name)
{
    if (ndim < 1 || ndim >= TC_MAX_DIMS || !shape) {
        tc_layer_ctor_error("Reshape: target rank %d (1 to %d without the batch axis)", ndim, TC_MAX_DIMS - 1);
        return NULL;
    }
    int unknown = 0;
    for (int i = 0; i < ndim; i++) {
        unknown += shape[i] == -1;
        if (shape[i] == 0 || shape[i] < -1 || unknown > 1) {
            tc_layer_ctor_error("Reshape: target dimension %d is %lld (sizes must be positive, one -1 allowed)", i,
                                (long long)shape[i]);
            return NULL;
        }
    }
    tc_layer *l = tc_layer_alloc(&reshape_ops, name);
    if (!l) return NULL;
    l->o.reshape.ndim = ndim;
    memcpy(l->o.reshape.d, shape, sizeof(int64_t) * (size_t)ndim);
    return l;
}

/* ---- Dropout / Activation --------------------------------------------------------------- */
static tc_status same_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    *out = *in;
    /* each dropout layer draws from its own stream of the model's seed */
    l->dropout_rng = tc_rng_new(tc_rng_u32(rng) ^ ((uint64_t)tc_rng_u32(rng) << 32));
    l->has_rng = true;
    return TC_OK;
}
static tc_tensor *dropout_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    return tc_dropout(x[0], (tc_scalar)l->o.rate, training, &l->dropout_rng);
}
static const tc_layer_ops dropout_ops = {"Dropout", "dropout", same_build, dropout_call, .mask_rule = TC_MASK_PASS};
tc_layer *tc_dropout_layer(double rate, const char *name)
{
    if (!(rate >= 0 && rate < 1)) {
        tc_layer_ctor_error("Dropout: rate %g must be in [0, 1)", rate);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&dropout_ops, name);
    if (l) l->o.rate = rate;
    return l;
}

static tc_tensor *activation_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    return tc_activate(x[0], l->act);
}
static const tc_layer_ops activation_ops = {"Activation", "activation", same_build, activation_call,
                                            .mask_rule = TC_MASK_PASS};
tc_layer *tc_activation_layer(tc_activation a, const char *name)
{
    if (!tc_layer_check_activation("Activation", a)) return NULL;
    tc_layer *l = tc_layer_alloc(&activation_ops, name);
    if (l) l->act = a;
    return l;
}

/* ---- Embedding ------------------------------------------------------------------------------ */
static tc_status embedding_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    tc_tensor *t = tc_layer_add_weight(l, "embeddings", 2, (int64_t[]){l->o.emb.input_dim, l->o.emb.output_dim}, true);
    if (!t) return tc_last_status();
    tc_rng_uniform(rng, t->data, tc_numel(t), -0.05f, 0.05f); /* Keras' default */
    *out = *in;
    if (out->ndim + 1 >= TC_MAX_DIMS) return tc_error(TC_ERR_SHAPE, "%s (Embedding): input rank too high", l->name);
    out->d[out->ndim++] = l->o.emb.output_dim;
    return TC_OK;
}
static tc_status embedding_masks(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    out_from[0] = l->o.emb.mask_zero ? self : -1;
    return TC_OK;
}
static tc_status embedding_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training,
                               tc_tensor **y, tc_tensor **ymask)
{
    y[0] = tc_gather(l->w[0], x[0], 0); /* tc_gather checks that the ids are in range */
    if (!y[0]) return tc_last_status();
    if (l->o.emb.mask_zero && !(ymask[0] = tc_mask_where_not(x[0], 0, false))) return tc_last_status();
    return TC_OK;
}
static const tc_layer_ops embedding_ops = {"Embedding", "embedding", embedding_build, NULL, NULL, TC_MASK_OWN,
                                          embedding_masks, embedding_run};
tc_layer *tc_embedding(const tc_embedding_opts *o)
{
    if (!o || o->input_dim < 1 || o->output_dim < 1 || o->input_length < 0) {
        tc_layer_ctor_error("Embedding: input_dim (%d) and output_dim (%d) must be at least 1, input_length (%lld) at least 0",
                            o ? o->input_dim : 0, o ? o->output_dim : 0, (long long)(o ? o->input_length : 0));
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&embedding_ops, o->name);
    if (!l) return NULL;
    l->o.emb = *o;
    l->o.emb.name = NULL;
    if (o->input_length > 0) {
        l->has_input_shape = true;
        l->input_shape = (tc_shp){1, {o->input_length}};
    }
    return l;
}

/* ---- BatchNormalization ---------------------------------------------------------------------- */
static tc_status bn_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (one_input(l, n_in)) return tc_last_status();
    int64_t c = in->ndim ? in->d[in->ndim - 1] : 1;
    /* Keras' order, leaving out gamma (scale=False) and beta (center=False) */
    tc_tensor *g = l->o.bn.no_scale ? NULL : tc_layer_add_weight(l, "gamma", 1, &c, true);
    tc_tensor *b = l->o.bn.no_center ? NULL : tc_layer_add_weight(l, "beta", 1, &c, true);
    tc_tensor *m = tc_layer_add_weight(l, "moving_mean", 1, &c, false);
    tc_tensor *v = tc_layer_add_weight(l, "moving_variance", 1, &c, false);
    if ((!g && !l->o.bn.no_scale) || (!b && !l->o.bn.no_center) || !m || !v) return tc_last_status();
    if (g) tc_fill(g, 1);
    tc_fill(v, 1);
    *out = *in;
    return TC_OK;
}
static tc_tensor *bn_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    int k = 0;
    tc_tensor *g = l->o.bn.no_scale ? NULL : l->w[k++];
    tc_tensor *b = l->o.bn.no_center ? NULL : l->w[k++];
    /* a frozen BatchNormalization runs in inference mode, like Keras 2 */
    return tc_batch_norm(x[0], g, b, l->w[k], l->w[k + 1], training && l->trainable, (tc_scalar)l->o.bn.momentum,
                         (tc_scalar)l->o.bn.eps);
}
static const tc_layer_ops bn_ops = {"BatchNormalization", "batch_normalization", bn_build, bn_call,
                                    .mask_rule = TC_MASK_PASS};
tc_layer *tc_batchnorm(const tc_batchnorm_opts *o)
{
    tc_batchnorm_opts d = o ? *o : (tc_batchnorm_opts){0};
    if (d.momentum == 0) d.momentum = 0.99;
    if (d.eps == 0) d.eps = 1e-3;
    if (!(d.momentum > 0 && d.momentum < 1) || !(d.eps > 0)) {
        tc_layer_ctor_error("BatchNormalization: momentum %g must be in (0, 1) and eps %g positive", d.momentum, d.eps);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&bn_ops, d.name);
    if (!l) return NULL;
    d.name = NULL;
    l->o.bn = d;
    return l;
}

/* ---- Concatenate / Add -------------------------------------------------------------------------- */
static tc_status concat_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (n_in < 1) return tc_error(TC_ERR_ARG, "%s (Concatenate): no inputs", l->name);
    int r = in[0].ndim + 1; /* with the batch axis */
    int axis = l->o.axis < 0 ? l->o.axis + r : l->o.axis;
    if (axis < 1 || axis >= r) return tc_error(TC_ERR_ARG, "%s (Concatenate): axis %d for inputs of rank %d", l->name, l->o.axis, r);
    *out = in[0];
    out->d[axis - 1] = 0;
    char a[96], b[96];
    for (int i = 0; i < n_in; i++) {
        bool ok = in[i].ndim == in[0].ndim;
        for (int d = 0; ok && d < in[0].ndim; d++) ok = d == axis - 1 || in[i].d[d] == in[0].d[d];
        if (!ok)
            return tc_error(TC_ERR_SHAPE, "%s (Concatenate): input %d %s does not fit input 0 %s on axis %d", l->name, i,
                            tc_shp_str(&in[i], a, sizeof a), tc_shp_str(&in[0], b, sizeof b), axis);
        out->d[axis - 1] += in[i].d[axis - 1];
    }
    l->o.axis = axis;
    return TC_OK;
}
static tc_status concat_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                            tc_tensor **ymask)
{
    if (!(y[0] = tc_concat(n, x, l->o.axis))) return tc_last_status();
    return tc_mask_merge(n, x, mask, l->o.axis, &ymask[0]);
}
static const tc_layer_ops concat_ops = {"Concatenate", "concatenate", concat_build, NULL, NULL, TC_MASK_OWN,
                                        tc_mask_from_any, concat_run};
tc_layer *tc_concatenate(int axis, const char *name)
{
    tc_layer *l = tc_layer_alloc(&concat_ops, name);
    if (l) l->o.axis = axis;
    return l;
}

static tc_status add_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (n_in < 2) return tc_error(TC_ERR_ARG, "%s (Add): needs at least 2 inputs, given %d", l->name, n_in);
    char a[96], b[96];
    for (int i = 1; i < n_in; i++)
        if (in[i].ndim != in[0].ndim || memcmp(in[i].d, in[0].d, sizeof(int64_t) * (size_t)in[0].ndim))
            return tc_error(TC_ERR_SHAPE, "%s (Add): input %d %s differs from input 0 %s", l->name, i,
                            tc_shp_str(&in[i], a, sizeof a), tc_shp_str(&in[0], b, sizeof b));
    *out = in[0];
    return TC_OK;
}
static tc_status add_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                         tc_tensor **ymask)
{
    tc_tensor *sum = x[0];
    for (int i = 1; i < n; i++) sum = tc_add(sum, x[i]);
    if (!(y[0] = sum)) return tc_last_status();
    return tc_mask_merge(n, x, mask, -1, &ymask[0]);
}
static const tc_layer_ops add_ops = {"Add", "add", add_build, NULL, NULL, TC_MASK_OWN, tc_mask_from_any, add_run};
tc_layer *tc_add_layer(const char *name) { return tc_layer_alloc(&add_ops, name); }
