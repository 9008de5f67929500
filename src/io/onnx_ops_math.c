/* ONNX element-wise, activation, softmax and reduction operators. */
#include "onnx_run.h"

#include <float.h>
#include <math.h>



/* ---- binary, broadcasting ------------------------------------------------- */
static tc_tensor *binary(tc_tensor *a, tc_tensor *b, tc_tensor *(*fn)(tc_tensor *, tc_tensor *))
{
    tc_tensor *y = tc_onnx_binary_same_layout(a, b, fn);
    return y ? y : fn(a, b);
}
OP(op_add) { NEED(2); ONNX_TRY(c, out[0] = binary(in[0], in[1], tc_add)); return TC_OK; }
OP(op_sub) { NEED(2); ONNX_TRY(c, out[0] = binary(in[0], in[1], tc_sub)); return TC_OK; }
OP(op_mul) { NEED(2); ONNX_TRY(c, out[0] = binary(in[0], in[1], tc_mul)); return TC_OK; }
OP(op_div)
{
    NEED(2);
    ONNX_TRY(c, out[0] = binary(in[0], in[1], tc_div));
    if (c->in_dtype[0] == TC_ONNX_INT64) { /* integer division truncates */
        tc_tensor *y = tc_contiguous(out[0]);
        ONNX_TRY(c, y);
        for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = truncf(y->data[i]);
        out[0] = y;
    }
    return TC_OK;
}
OP(op_pow)
{
    NEED(2);
    ONNX_TRY(c, out[0] = tc_pow(in[0], in[1]));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

/* Max, Min, Sum, Mean: variadic with broadcasting */
static tc_status variadic(onnx_ctx *c, int n_in, tc_tensor **in, tc_tensor **out,
                          tc_tensor *(*fn)(tc_tensor *, tc_tensor *), bool mean)
{
    if (n_in < 1 || !in[0]) return tc_onnx_fail(c, TC_ERR_ARG, "needs at least one input");
    tc_tensor *acc = in[0];
    for (int i = 1; i < n_in; i++) {
        if (!in[i]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i);
        ONNX_TRY(c, acc = binary(acc, in[i], fn));
    }
    if (mean) ONNX_TRY(c, acc = tc_mul_scalar(acc, (tc_scalar)(1.0 / n_in)));
    else if (n_in == 1) ONNX_TRY(c, acc = tc_mul_scalar(acc, 1)); /* a new value, still on the tape */
    out[0] = acc;
    return TC_OK;
}
OP(op_max) { return variadic(c, n_in, in, out, tc_maximum, false); }
OP(op_min) { return variadic(c, n_in, in, out, tc_minimum, false); }
OP(op_sum) { return variadic(c, n_in, in, out, tc_add, false); }
OP(op_mean) { return variadic(c, n_in, in, out, tc_add, true); }

/* ---- unary ------------------------------------------------------------------ */
typedef tc_tensor *(*unary_fn)(tc_tensor *);
static tc_tensor *call_unary(tc_tensor *x, void *fn) { return (*(unary_fn *)fn)(x); }
static tc_status unary(onnx_ctx *c, int n_in, tc_tensor **in, tc_tensor **out, unary_fn fn)
{
    NEED(1);
    ONNX_TRY(c, out[0] = tc_onnx_unary(in[0], call_unary, &fn));
    return TC_OK;
}
OP(op_relu) { return unary(c, n_in, in, out, tc_relu); }
OP(op_tanh) { return unary(c, n_in, in, out, tc_tanh); }
OP(op_sigmoid) { return unary(c, n_in, in, out, tc_sigmoid); }
OP(op_softplus) { return unary(c, n_in, in, out, tc_softplus); }
OP(op_exp) { return unary(c, n_in, in, out, tc_exp); }
OP(op_log) { return unary(c, n_in, in, out, tc_log); }
OP(op_sqrt) { return unary(c, n_in, in, out, tc_sqrt); }
OP(op_neg) { return unary(c, n_in, in, out, tc_neg); }
OP(op_abs) { return unary(c, n_in, in, out, tc_abs); }

typedef struct { tc_scalar a, b; } two_params;
static tc_tensor *leaky(tc_tensor *x, void *p) { return tc_leaky_relu(x, ((two_params *)p)->a); }
static tc_tensor *elu(tc_tensor *x, void *p) { return tc_elu(x, ((two_params *)p)->a); }
static tc_tensor *hsig(tc_tensor *x, void *p) { return tc_hard_sigmoid(x, ((two_params *)p)->a, ((two_params *)p)->b); }
static tc_tensor *clip(tc_tensor *x, void *p) { return tc_clip(x, ((two_params *)p)->a, ((two_params *)p)->b); }

/* the activations' constants, read once at load */
PREP(prep_leaky_relu)
{
    (void)m;
    two_params *p = ATTRS_NEW(two_params);
    if (!p) return tc_last_status();
    p->a = tc_onnx_attr_float(n, "alpha", 0.01f);
    return TC_OK;
}
PREP(prep_elu)
{
    (void)m;
    two_params *p = ATTRS_NEW(two_params);
    if (!p) return tc_last_status();
    p->a = tc_onnx_attr_float(n, "alpha", 1.0f);
    return TC_OK;
}
PREP(prep_hard_sigmoid)
{
    (void)m;
    two_params *p = ATTRS_NEW(two_params);
    if (!p) return tc_last_status();
    p->a = tc_onnx_attr_float(n, "alpha", 0.2f);
    p->b = tc_onnx_attr_float(n, "beta", 0.5f);
    return TC_OK;
}
PREP(prep_clip)
{
    two_params *p = ATTRS_NEW(two_params);
    if (!p) return tc_last_status();
    p->a = -FLT_MAX, p->b = FLT_MAX;
    if (m->opset < 11) {
        p->a = tc_onnx_attr_float(n, "min", -FLT_MAX);
        p->b = tc_onnx_attr_float(n, "max", FLT_MAX);
    }
    return TC_OK;
}

OP(op_leaky_relu)
{
    NEED(1);
    two_params p = *ATTRS(two_params);
    ONNX_TRY(c, out[0] = tc_onnx_unary(in[0], leaky, &p));
    return TC_OK;
}
OP(op_elu)
{
    NEED(1);
    two_params p = *ATTRS(two_params);
    ONNX_TRY(c, out[0] = tc_onnx_unary(in[0], elu, &p));
    return TC_OK;
}
OP(op_hard_sigmoid)
{
    NEED(1);
    two_params p = *ATTRS(two_params);
    ONNX_TRY(c, out[0] = tc_onnx_unary(in[0], hsig, &p));
    return TC_OK;
}
OP(op_clip)
{
    NEED(1);
    two_params p = *ATTRS(two_params);
    if (c->m->opset >= 11) {
        for (int k = 1; k <= 2; k++) {
            if (n_in <= k || !in[k]) continue;
            if (tc_numel(in[k]) != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "min/max must be scalars");
            tc_scalar v;
            tc_read_values(in[k], &v);
            if (k == 1) p.a = v;
            else p.b = v;
        }
    }
    ONNX_TRY(c, out[0] = tc_onnx_unary(in[0], clip, &p));
    return TC_OK;
}
OP(op_identity)
{
    NEED(1);
    out[0] = in[0];
    return TC_OK;
}
OP(op_dropout)
{
    NEED(1);
    bool training = false;
    double ratio = 0.5;
    if (c->m->opset >= 12) {
        if (n_in > 1 && in[1]) {
            tc_scalar r;
            tc_read_values(in[1], &r);
            ratio = r;
        }
        if (n_in > 2 && in[2]) {
            tc_scalar t;
            tc_read_values(in[2], &t);
            training = t != 0;
        }
    } else {
        ratio = tc_onnx_attr_float(n, "ratio", 0.5f);
    }
    ONNX_TRY(c, out[0] = tc_dropout(in[0], (tc_scalar)ratio, training, NULL));
    if (n_out > 1) { /* the mask: ones where kept */
        tc_tensor *mask = tc_full(in[0]->ndim, in[0]->shape, 1);
        ONNX_TRY(c, mask);
        if (training && ratio > 0) {
            tc_tensor *y = tc_contiguous(out[0]);
            ONNX_TRY(c, y);
            for (int64_t i = 0; i < tc_numel(y); i++) mask->data[i] = y->data[i] != 0;
        }
        out[1] = mask;
        c->out_dtype[1] = TC_ONNX_INT64;
    }
    return TC_OK;
}
/* float rounded to the nearest float16 / bfloat16 (ties to even), as float */
static float round_half(float v)
{
    if (isnan(v) || isinf(v)) return v;
    float a = fabsf(v);
    if (a >= 65520.0f) return v > 0 ? INFINITY : -INFINITY; /* rounds past the largest half */
    int e;
    frexpf(a, &e);             /* a = f * 2^e, f in [0.5, 1) */
    int q = e - 11;            /* the spacing of halves near a: 2^(e-11), at least 2^-24 */
    if (q < -24) q = -24;
    float r = ldexpf(nearbyintf(ldexpf(a, -q)), q);
    return v < 0 ? -r : r;
}

static float round_bfloat16(float v)
{
    if (isnan(v)) return v;
    uint32_t u;
    memcpy(&u, &v, 4);
    u += 0x7fff + ((u >> 16) & 1);
    u &= 0xffff0000u;
    memcpy(&v, &u, 4);
    return v;
}

typedef struct {
    int64_t to;
} cast_attrs;
PREP(prep_cast)
{
    (void)m;
    cast_attrs *a = ATTRS_NEW(cast_attrs);
    if (!a) return tc_last_status();
    a->to = tc_onnx_attr_int(n, "to", 1);
    return TC_OK;
}

static tc_status cast_to(onnx_ctx *c, tc_tensor **in, tc_tensor **out, int64_t to);
OP(op_cast)
{
    NEED(1);
    return cast_to(c, in, out, ATTRS(cast_attrs)->to);
}

/* CastLike: the type of the second input, where the file declares it */
OP(op_cast_like)
{
    NEED(2);
    int v = n->in[1];
    int64_t to = v >= 0 && c->m->values[v].elem_type ? c->m->values[v].elem_type
                                                      : c->in_dtype[1] == TC_ONNX_FLOAT ? 1 : 7;
    return cast_to(c, in, out, to);
}

static tc_status cast_to(onnx_ctx *c, tc_tensor **in, tc_tensor **out, int64_t to)
{
    if (to == 1 || to == 11) {
        ONNX_TRY(c, out[0] = tc_mul_scalar(in[0], 1));
        c->out_dtype[0] = TC_ONNX_FLOAT;
    } else if (to == 10 || to == 16) { /* float16 / bfloat16: rounded to their precision, kept as float */
        tc_tensor *y = tc_result(in[0]->ndim, in[0]->shape);
        ONNX_TRY(c, y);
        tc_read_values(in[0], y->data);
        for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = to == 10 ? round_half(y->data[i]) : round_bfloat16(y->data[i]);
        out[0] = y;
        c->out_dtype[0] = TC_ONNX_FLOAT;
    } else if (to == 6 || to == 7 || to == 5 || to == 3 || to == 2 || to == 4 || to == 9 || to == 12 || to == 13) {
        tc_tensor *y = tc_result(in[0]->ndim, in[0]->shape);
        ONNX_TRY(c, y);
        tc_read_values(in[0], y->data);
        for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = to == 9 ? (y->data[i] != 0) : truncf(y->data[i]);
        out[0] = y;
        c->out_dtype[0] = TC_ONNX_INT64;
    } else {
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "cast to type %lld is not supported", (long long)to);
    }
    return TC_OK;
}

/* ---- softmax family -------------------------------------------------------- */
typedef struct {
    int64_t axis; /* as given: normalised against the input's rank when it runs */
} axis_attrs;
PREP(prep_softmax)
{
    axis_attrs *a = ATTRS_NEW(axis_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", m->opset >= 13 ? -1 : 1);
    return TC_OK;
}

static tc_status softmax_like(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, tc_tensor **out,
                              tc_tensor *(*fn)(tc_tensor *, int), bool negate)
{
    NEED(1);
    tc_tensor *x = in[0];
    if (negate) ONNX_TRY(c, x = tc_neg(x));
    int r = x->ndim;
    if (c->m->opset >= 13) {
        int axis = tc_onnx_axis(c, ATTRS(axis_attrs)->axis, r);
        if (axis < 0) return tc_last_status();
        ONNX_TRY(c, out[0] = fn(x, axis));
        return TC_OK;
    }
    /* before opset 13: coerced to 2-D at axis (default 1) */
    int64_t a = ATTRS(axis_attrs)->axis;
    if (a < 0) a += r;
    if (a < 0 || a > r) return tc_onnx_fail(c, TC_ERR_ARG, "axis %lld out of range for rank %d", (long long)a, r);
    tc_tensor *flat;
    ONNX_TRY(c, flat = tc_flatten(x, (int)a));
    tc_tensor *y;
    ONNX_TRY(c, y = fn(flat, 1));
    ONNX_TRY(c, out[0] = tc_reshape(y, r, x->shape));
    return TC_OK;
}
OP(op_softmax) { return softmax_like(c, n, n_in, in, out, tc_softmax, false); }
OP(op_log_softmax) { return softmax_like(c, n, n_in, in, out, tc_log_softmax, false); }

/* ---- reductions --------------------------------------------------------------- */
typedef struct {
    int n_axes;                /* -1: no axes attribute */
    int64_t axes[TC_MAX_DIMS];
    bool keepdims, noop_with_empty_axes, select_last_index;
    int64_t axis;              /* ArgMax / ArgMin */
} reduce_attrs;
PREP(prep_reduce)
{
    (void)m;
    reduce_attrs *a = ATTRS_NEW(reduce_attrs);
    if (!a) return tc_last_status();
    a->n_axes = tc_onnx_attr_ints(n, "axes", a->axes, TC_MAX_DIMS);
    if (a->n_axes > TC_MAX_DIMS) return tc_onnx_prep_fail(n, TC_ERR_ARG, "axes has %d values (at most %d)", a->n_axes, TC_MAX_DIMS);
    a->keepdims = tc_onnx_attr_int(n, "keepdims", 1) != 0;
    a->noop_with_empty_axes = tc_onnx_attr_int(n, "noop_with_empty_axes", 0) != 0;
    a->select_last_index = tc_onnx_attr_int(n, "select_last_index", 0) != 0;
    a->axis = tc_onnx_attr_int(n, "axis", 0);
    return TC_OK;
}

static tc_status reduce(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, tc_tensor **out,
                        tc_tensor *(*fn)(tc_tensor *, int, const int *, bool))
{
    NEED(1);
    const reduce_attrs *ra = ATTRS(reduce_attrs);
    int64_t axes64[TC_MAX_DIMS];
    int na = ra->n_axes;
    for (int i = 0; i < na && i < TC_MAX_DIMS; i++) axes64[i] = ra->axes[i];
    if (n_in > 1 && in[1]) {
        na = tc_onnx_ints(c, in[1], axes64, TC_MAX_DIMS, "axes");
        if (na < 0) return tc_last_status();
    }
    bool keep = ra->keepdims;
    if (na <= 0) {
        if (na == 0 && ra->noop_with_empty_axes) {
            out[0] = in[0];
            return TC_OK;
        }
        na = 0;
    }
    int axes[TC_MAX_DIMS];
    for (int i = 0; i < na; i++) {
        axes[i] = tc_onnx_axis(c, axes64[i], in[0]->ndim);
        if (axes[i] < 0) return tc_last_status();
    }
    ONNX_TRY(c, out[0] = fn(in[0], na, axes, keep));
    return TC_OK;
}
/* the other reductions, composed (differentiable through their parts) */
static tc_tensor *reduce_min(tc_tensor *x, int na, const int *axes, bool keep)
{
    return tc_neg(tc_max(tc_neg(x), na, axes, keep));
}
static tc_tensor *reduce_sum_square(tc_tensor *x, int na, const int *axes, bool keep)
{
    return tc_sum(tc_square(x), na, axes, keep);
}
static tc_tensor *reduce_l1(tc_tensor *x, int na, const int *axes, bool keep) { return tc_sum(tc_abs(x), na, axes, keep); }
static tc_tensor *reduce_l2(tc_tensor *x, int na, const int *axes, bool keep)
{
    return tc_sqrt(tc_sum(tc_square(x), na, axes, keep));
}
static tc_tensor *reduce_log_sum(tc_tensor *x, int na, const int *axes, bool keep) { return tc_log(tc_sum(x, na, axes, keep)); }
/* log(sum(exp(x - m))) + m with m the maximum: no overflow; the gradient
 * through m cancels, as it should */
static tc_tensor *reduce_log_sum_exp(tc_tensor *x, int na, const int *axes, bool keep)
{
    if (!x) return NULL;
    tc_tensor *mx = tc_max(x, na, axes, true);
    if (!mx) return NULL;
    /* a maximum of -inf or inf (all such values) would give nan: use 0 there */
    bool g = tc_set_grad_enabled(false);
    tc_tensor *safe = tc_contiguous(tc_mul_scalar(mx, 1));
    tc_set_grad_enabled(g);
    if (!safe) return NULL;
    bool finite = true;
    for (int64_t i = 0; i < tc_numel(safe); i++) finite &= isfinite(safe->data[i]) != 0;
    if (!finite) mx = tc_zeros(mx->ndim, mx->shape);
    tc_tensor *y = tc_add(tc_log(tc_sum(tc_exp(tc_sub(x, mx)), na, axes, true)), mx);
    if (!y || keep) return y;
    return tc_sum(y, na, axes, false); /* drop the kept axes (each of size 1) */
}
/* products: the reduced axes first, then one multiply per reduced row */
static tc_tensor *reduce_prod(tc_tensor *x, int na, const int *axes, bool keep)
{
    if (!x) return NULL;
    int r = x->ndim, perm[TC_MAX_DIMS], k = 0;
    bool red[TC_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) red[axes[i] < 0 ? axes[i] + r : axes[i]] = true;
    if (na == 0)
        for (int d = 0; d < r; d++) red[d] = true;
    int64_t rows = 1, shape[TC_MAX_DIMS], kept[TC_MAX_DIMS] = {0};
    int nk = 0;
    for (int d = 0; d < r; d++)
        if (red[d]) perm[k++] = d, rows *= x->shape[d];
    for (int d = 0; d < r; d++)
        if (!red[d]) perm[k++] = d, kept[nk++] = x->shape[d];
    for (int d = 0; d < r; d++) shape[d] = red[d] ? 1 : x->shape[d];
    int64_t rest = tc_shape_numel(nk, kept);
    tc_tensor *t = tc_reshape(tc_transpose(x, perm), 2, (int64_t[]){rows, rest});
    tc_tensor *acc = rows ? tc_narrow(t, 0, 0, 1) : tc_full(2, (int64_t[]){1, rest}, 1);
    for (int64_t i = 1; i < rows && acc; i++) acc = tc_mul(acc, tc_narrow(t, 0, i, 1));
    if (rows == 1) acc = tc_mul_scalar(acc, 1);
    return keep ? tc_reshape(acc, r, shape) : tc_reshape(acc, nk, kept);
}

OP(op_reduce_min) { return reduce(c, n, n_in, in, out, reduce_min); }
OP(op_reduce_sum_square) { return reduce(c, n, n_in, in, out, reduce_sum_square); }
OP(op_reduce_l1) { return reduce(c, n, n_in, in, out, reduce_l1); }
OP(op_reduce_l2) { return reduce(c, n, n_in, in, out, reduce_l2); }
OP(op_reduce_log_sum) { return reduce(c, n, n_in, in, out, reduce_log_sum); }
OP(op_reduce_log_sum_exp) { return reduce(c, n, n_in, in, out, reduce_log_sum_exp); }
OP(op_reduce_prod) { return reduce(c, n, n_in, in, out, reduce_prod); }
OP(op_reduce_mean) { return reduce(c, n, n_in, in, out, tc_mean); }
OP(op_reduce_sum) { return reduce(c, n, n_in, in, out, tc_sum); }
OP(op_reduce_max) { return reduce(c, n, n_in, in, out, tc_max); }
OP(op_argmax)
{
    NEED(1);
    const reduce_attrs *ra = ATTRS(reduce_attrs);
    int axis = tc_onnx_axis(c, ra->axis, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    ONNX_TRY(c, out[0] = tc_argmax(in[0], axis, ra->keepdims, ra->select_last_index));
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_math[] = {
    {"Add", op_add, NULL}, {"Sub", op_sub, NULL}, {"Mul", op_mul, NULL}, {"Div", op_div, NULL}, {"Pow", op_pow, NULL},
    {"Max", op_max, NULL}, {"Min", op_min, NULL}, {"Sum", op_sum, NULL}, {"Mean", op_mean, NULL},
    {"Relu", op_relu, NULL}, {"Tanh", op_tanh, NULL}, {"Sigmoid", op_sigmoid, NULL}, {"Softplus", op_softplus, NULL},
    {"Exp", op_exp, NULL}, {"Log", op_log, NULL}, {"Sqrt", op_sqrt, NULL}, {"Neg", op_neg, NULL}, {"Abs", op_abs, NULL},
    {"LeakyRelu", op_leaky_relu, prep_leaky_relu}, {"Elu", op_elu, prep_elu},
    {"HardSigmoid", op_hard_sigmoid, prep_hard_sigmoid}, {"Clip", op_clip, prep_clip},
    {"Identity", op_identity, NULL}, {"Dropout", op_dropout, NULL}, {"Cast", op_cast, prep_cast}, {"CastLike", op_cast_like, NULL},
    {"Softmax", op_softmax, prep_softmax}, {"LogSoftmax", op_log_softmax, prep_softmax},
    {"ReduceMean", op_reduce_mean, prep_reduce}, {"ReduceSum", op_reduce_sum, prep_reduce},
    {"ReduceMax", op_reduce_max, prep_reduce}, {"ArgMax", op_argmax, prep_reduce},
    {"ReduceMin", op_reduce_min, prep_reduce}, {"ReduceSumSquare", op_reduce_sum_square, prep_reduce},
    {"ReduceL1", op_reduce_l1, prep_reduce}, {"ReduceL2", op_reduce_l2, prep_reduce},
    {"ReduceLogSum", op_reduce_log_sum, prep_reduce}, {"ReduceLogSumExp", op_reduce_log_sum_exp, prep_reduce},
    {"ReduceProd", op_reduce_prod, prep_reduce},
    {NULL, NULL, NULL},
};
