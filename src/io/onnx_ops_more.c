/* ONNX activations, element-wise functions, normalisations and losses,
 * each composed of tensorcook ops that have a backward (or tc_math_fn), so
 * every one of them is differentiable and trains: PRelu, Selu, Celu,
 * ThresholdedRelu, Softsign, HardSwish, Shrink, Reciprocal, the
 * trigonometric and hyperbolic functions, Erf, LayerNormalization,
 * InstanceNormalization, MeanVarianceNormalization, NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss, DepthToSpace and SpaceToDepth. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float a, b;
    int64_t i;
    char s[16];
} params;

#define PREP_FLOATS(name, an, ad, bn, bd)                 \
    PREP(name)                                            \
    {                                                     \
        (void)m;                                          \
        params *p = ATTRS_NEW(params);                    \
        if (!p) return tc_last_status();                  \
        p->a = tc_onnx_attr_float(n, an, ad);             \
        p->b = tc_onnx_attr_float(n, bn, bd);             \
        return TC_OK;                                     \
    }
PREP_FLOATS(prep_selu, "alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f)
PREP_FLOATS(prep_celu, "alpha", 1.0f, "-", 0)
PREP_FLOATS(prep_thresholded_relu, "alpha", 1.0f, "-", 0)
PREP_FLOATS(prep_shrink, "lambd", 0.5f, "bias", 0)
PREP_FLOATS(prep_eps, "epsilon", 1e-5f, "-", 0)

/* x where keep, else a second value; a pick, so exact with infinities too */
static tc_tensor *select_or(onnx_ctx *c, tc_tensor *x, tc_tensor *other, const bool *keep)
{
    int64_t total = tc_numel(x);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    if (!idx) return NULL;
    bool scalar = tc_numel(other) == 1;
    for (int64_t j = 0; j < total; j++) idx[j] = keep[j] ? j : total + (scalar ? 0 : j);
    return tc_onnx_pick(c, 2, (tc_tensor *[]){x, other}, idx, x->ndim, x->shape);
}

static bool *mask_of(tc_tensor *x, int kind, float t)
{
    int64_t total = tc_numel(x);
    const tc_scalar *v = tc_packed(x);
    bool *k = tc_arena_alloc(sizeof *k * (size_t)(total + 1));
    if (!k || (!v && total)) return NULL;
    for (int64_t j = 0; j < total; j++) k[j] = kind == 0 ? v[j] > t : kind == 1 ? v[j] < -t : (v[j] >= -t && v[j] <= t);
    return k;
}

OP(op_prelu)
{
    (void)n;
    (void)n_out;
    NEED(2);
    /* relu(x) - slope * relu(-x): exact, slope broadcast (per channel as exported) */
    tc_tensor *x = in[0], *slope = in[1];
    if (slope->ndim == 1 && x->ndim >= 3 && slope->shape[0] == x->shape[1] && slope->shape[0] != x->shape[x->ndim - 1]) {
        int64_t shape[TC_MAX_DIMS] = {0};
        for (int d = 0; d < x->ndim - 1; d++) shape[d] = d == 0 ? slope->shape[0] : 1;
        ONNX_TRY(c, slope = tc_reshape(slope, x->ndim - 1, shape));
    }
    ONNX_TRY(c, out[0] = tc_sub(tc_relu(x), tc_mul(slope, tc_relu(tc_neg(x)))));
    return TC_OK;
}
OP(op_selu)
{
    (void)n_in;
    (void)n_out;
    NEED(1);
    ONNX_TRY(c, out[0] = tc_mul_scalar(tc_elu(in[0], ATTRS(params)->a), ATTRS(params)->b));
    return TC_OK;
}
OP(op_celu)
{
    (void)n_out;
    NEED(1);
    float a = ATTRS(params)->a;
    ONNX_TRY(c, out[0] = tc_mul_scalar(tc_elu(tc_mul_scalar(in[0], 1 / a), 1), a));
    return TC_OK;
}
OP(op_thresholded_relu)
{
    (void)n_out;
    NEED(1);
    bool *keep = mask_of(in[0], 0, ATTRS(params)->a);
    tc_tensor *zero;
    ONNX_TRY(c, zero = tc_scalar_tensor(0));
    if (!keep) return tc_onnx_check(c, NULL);
    ONNX_TRY(c, out[0] = select_or(c, in[0], zero, keep));
    return TC_OK;
}
OP(op_shrink)
{
    (void)n_out;
    NEED(1);
    const params *p = ATTRS(params);
    tc_tensor *x = in[0];
    /* x < -lambd: x + bias; x > lambd: x - bias; else 0 */
    bool *lo = mask_of(x, 1, p->a), *hi = mask_of(x, 0, p->a);
    if (!lo || !hi) return tc_onnx_check(c, NULL);
    int64_t total = tc_numel(x);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    tc_tensor *plus, *minus, *zero;
    ONNX_TRY(c, plus = tc_add_scalar(x, p->b));
    ONNX_TRY(c, minus = tc_add_scalar(x, -p->b));
    ONNX_TRY(c, zero = tc_scalar_tensor(0));
    if (!idx) return tc_last_status();
    for (int64_t j = 0; j < total; j++) idx[j] = lo[j] ? j : hi[j] ? total + j : 2 * total;
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 3, (tc_tensor *[]){plus, minus, zero}, idx, x->ndim, x->shape));
    return TC_OK;
}
OP(op_softsign)
{
    (void)n;
    (void)n_out;
    NEED(1);
    ONNX_TRY(c, out[0] = tc_div(in[0], tc_add_scalar(tc_abs(in[0]), 1)));
    return TC_OK;
}
OP(op_hard_swish)
{
    (void)n;
    (void)n_out;
    NEED(1);
    ONNX_TRY(c, out[0] = tc_mul(in[0], tc_hard_sigmoid(in[0], (tc_scalar)(1.0 / 6), 0.5)));
    return TC_OK;
}
OP(op_reciprocal)
{
    (void)n;
    (void)n_out;
    NEED(1);
    ONNX_TRY(c, out[0] = tc_div(tc_scalar_tensor(1), in[0]));
    return TC_OK;
}

static tc_status math_fn(onnx_ctx *c, int n_in, tc_tensor **in, tc_tensor **out, tc_math_fn_kind k)
{
    NEED(1);
    ONNX_TRY(c, out[0] = tc_math_fn(in[0], k));
    return TC_OK;
}
#define MATH_OP(name, kind) \
    OP(name) { (void)n; (void)n_out; return math_fn(c, n_in, in, out, kind); }
MATH_OP(op_sin, TC_FN_SIN)
MATH_OP(op_cos, TC_FN_COS)
MATH_OP(op_tan, TC_FN_TAN)
MATH_OP(op_asin, TC_FN_ASIN)
MATH_OP(op_acos, TC_FN_ACOS)
MATH_OP(op_atan, TC_FN_ATAN)
MATH_OP(op_sinh, TC_FN_SINH)
MATH_OP(op_cosh, TC_FN_COSH)
MATH_OP(op_asinh, TC_FN_ASINH)
MATH_OP(op_acosh, TC_FN_ACOSH)
MATH_OP(op_atanh, TC_FN_ATANH)
MATH_OP(op_erf, TC_FN_ERF)

/* ---- normalisations ----------------------------------------------------------- */
/* (x - mean) / sqrt(var + eps) over axes (kept), the mean and 1/std too */
static tc_tensor *normalize(tc_tensor *x, int na, const int *axes, float eps, tc_tensor **mean_out, tc_tensor **inv_out)
{
    tc_tensor *mean = tc_mean(x, na, axes, true);
    tc_tensor *d = tc_sub(x, mean);
    tc_tensor *var = tc_mean(tc_square(d), na, axes, true);
    tc_tensor *inv = tc_div(tc_scalar_tensor(1), tc_sqrt(tc_add_scalar(var, eps)));
    if (mean_out) *mean_out = mean;
    if (inv_out) *inv_out = inv;
    return tc_mul(d, inv);
}

PREP(prep_layer_norm)
{
    (void)m;
    params *p = ATTRS_NEW(params);
    if (!p) return tc_last_status();
    p->a = tc_onnx_attr_float(n, "epsilon", 1e-5f);
    p->i = tc_onnx_attr_int(n, "axis", -1);
    return TC_OK;
}
OP(op_layer_norm)
{
    NEED(2);
    tc_tensor *x = in[0];
    int axis = tc_onnx_axis(c, ATTRS(params)->i, x->ndim);
    if (axis < 0) return tc_last_status();
    int axes[TC_MAX_DIMS], na = 0;
    for (int d = axis; d < x->ndim; d++) axes[na++] = d;
    tc_tensor *mean, *inv, *y;
    ONNX_TRY(c, y = normalize(x, na, axes, ATTRS(params)->a, &mean, &inv));
    ONNX_TRY(c, y = tc_mul(y, in[1]));
    if (n_in > 2 && in[2]) ONNX_TRY(c, y = tc_add(y, in[2]));
    out[0] = y;
    if (n_out > 1) out[1] = mean;
    if (n_out > 2) out[2] = inv;
    for (int i = 0; i < n_out; i++) c->out_dtype[i] = TC_ONNX_FLOAT;
    return TC_OK;
}

/* a per-channel [C] vector shaped to broadcast over [N, C, ...] */
static tc_tensor *per_channel(tc_tensor *v, int ndim)
{
    int64_t shape[TC_MAX_DIMS];
    for (int d = 0; d < ndim; d++) shape[d] = d == 1 ? tc_numel(v) : 1;
    return tc_reshape(v, ndim, shape);
}

OP(op_instance_norm)
{
    (void)n_out;
    NEED(3);
    tc_tensor *x = in[0];
    if (x->ndim < 3) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s needs [N, C, spatial...]", TC_SHP(x));
    int axes[TC_MAX_DIMS], na = 0;
    for (int d = 2; d < x->ndim; d++) axes[na++] = d;
    tc_tensor *y;
    ONNX_TRY(c, y = normalize(x, na, axes, ATTRS(params)->a, NULL, NULL));
    ONNX_TRY(c, out[0] = tc_add(tc_mul(y, per_channel(in[1], x->ndim)), per_channel(in[2], x->ndim)));
    return TC_OK;
}

typedef struct {
    int na;
    int64_t axes[TC_MAX_DIMS];
} axes_attrs;
PREP(prep_mvn)
{
    (void)m;
    axes_attrs *a = ATTRS_NEW(axes_attrs);
    if (!a) return tc_last_status();
    a->na = tc_onnx_attr_ints(n, "axes", a->axes, TC_MAX_DIMS);
    if (a->na > TC_MAX_DIMS) return tc_onnx_prep_fail(n, TC_ERR_ARG, "too many axes");
    if (a->na < 0) {
        a->na = 3;
        a->axes[0] = 0, a->axes[1] = 2, a->axes[2] = 3;
    }
    return TC_OK;
}
OP(op_mvn)
{
    (void)n_out;
    NEED(1);
    const axes_attrs *a = ATTRS(axes_attrs);
    int axes[TC_MAX_DIMS];
    for (int i = 0; i < a->na; i++)
        if ((axes[i] = tc_onnx_axis(c, a->axes[i], in[0]->ndim)) < 0) return tc_last_status();
    /* ONNX's definition: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) */
    tc_tensor *x = in[0], *mean = tc_mean(x, a->na, axes, true);
    tc_tensor *var = tc_sub(tc_mean(tc_square(x), a->na, axes, true), tc_square(mean));
    ONNX_TRY(c, out[0] = tc_div(tc_sub(x, mean), tc_add_scalar(tc_sqrt(var), 1e-9f)));
    return TC_OK;
}

/* ---- losses --------------------------------------------------------------------- */
typedef struct {
    int64_t ignore_index;
    bool has_ignore;
    char reduction[8];
} loss_attrs;
PREP(prep_loss)
{
    (void)m;
    loss_attrs *a = ATTRS_NEW(loss_attrs);
    if (!a) return tc_last_status();
    a->has_ignore = tc_onnx_attr(n, "ignore_index") != NULL;
    a->ignore_index = tc_onnx_attr_int(n, "ignore_index", 0);
    const char *r = tc_onnx_attr_string(n, "reduction", "mean");
    if (strcmp(r, "none") && strcmp(r, "sum") && strcmp(r, "mean"))
        return tc_onnx_prep_fail(n, TC_ERR_ARG, "reduction '%s' (none, sum or mean)", r);
    snprintf(a->reduction, sizeof a->reduction, "%s", r);
    return TC_OK;
}

/* -w[t] * input[n, t, d...] per element, reduced: input [N, C, d...] (log
 * probabilities), target [N, d...], weight [C] or NULL; picks, so the loss
 * is differentiable in input (and weight). */
static tc_tensor *nll(onnx_ctx *c, const loss_attrs *a, tc_tensor *x, tc_tensor *target, tc_tensor *weight)
{
    if (x->ndim < 2 || target->ndim != x->ndim - 1) {
        tc_onnx_fail(c, TC_ERR_SHAPE, "input %s and target %s do not fit [N, C, d...] / [N, d...]", TC_SHP(x), TC_SHP(target));
        return NULL;
    }
    int64_t N = x->shape[0], C = x->shape[1], D = tc_shape_numel(x->ndim - 2, x->shape + 2);
    if (target->shape[0] != N || tc_numel(target) != N * D) {
        tc_onnx_fail(c, TC_ERR_SHAPE, "target %s does not fit input %s", TC_SHP(target), TC_SHP(x));
        return NULL;
    }
    const tc_scalar *tv = tc_packed(target);
    int64_t total = N * D;
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    int64_t *widx = tc_arena_alloc(sizeof *widx * (size_t)(total + 1));
    tc_tensor *zero = tc_scalar_tensor(0), *one = tc_scalar_tensor(1);
    if (!idx || !widx || !zero || !one || (!tv && total)) {
        tc_onnx_check(c, NULL);
        return NULL;
    }
    int64_t xn = tc_numel(x), wn = weight ? tc_numel(weight) : 0;
    for (int64_t j = 0; j < total; j++) {
        int64_t t = (int64_t)llround(tv[j]), b = j / D, d = j % D;
        bool ignored = a->has_ignore && t == a->ignore_index;
        if (!ignored && (t < 0 || t >= C)) {
            tc_onnx_fail(c, TC_ERR_ARG, "target %lld is outside [0, %lld)", (long long)t, (long long)C);
            return NULL;
        }
        idx[j] = ignored ? xn : (b * C + t) * D + d;                   /* the zero after x */
        widx[j] = ignored ? (weight ? wn : 0) : (weight ? t : 1);      /* weight[t], 0 or 1 */
    }
    tc_tensor *picked = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx, target->ndim, target->shape);
    tc_tensor *w = weight ? tc_onnx_pick(c, 2, (tc_tensor *[]){weight, zero}, widx, target->ndim, target->shape)
                          : tc_onnx_pick(c, 2, (tc_tensor *[]){zero, one}, widx, target->ndim, target->shape);
    tc_tensor *loss = tc_neg(tc_mul(picked, w));
    if (!loss) return NULL;
    if (!strcmp(a->reduction, "none")) return loss;
    if (!strcmp(a->reduction, "sum")) return tc_sum(loss, 0, NULL, false);
    return tc_div(tc_sum(loss, 0, NULL, false), tc_sum(w, 0, NULL, false));
}

OP(op_nll_loss)
{
    (void)n_out;
    NEED(2);
    ONNX_TRY(c, out[0] = nll(c, ATTRS(loss_attrs), in[0], in[1], n_in > 2 ? in[2] : NULL));
    c->out_dtype[0] = TC_ONNX_FLOAT;
    return TC_OK;
}

OP(op_sce_loss)
{
    NEED(2);
    tc_tensor *logp;
    if (in[0]->ndim < 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "scores %s need [N, C, ...]", TC_SHP(in[0]));
    ONNX_TRY(c, logp = tc_log_softmax(in[0], 1));
    ONNX_TRY(c, out[0] = nll(c, ATTRS(loss_attrs), logp, in[1], n_in > 2 ? in[2] : NULL));
    if (n_out > 1) out[1] = logp;
    for (int i = 0; i < n_out; i++) c->out_dtype[i] = TC_ONNX_FLOAT;
    return TC_OK;
}

/* ---- DepthToSpace / SpaceToDepth: reshape, transpose, reshape --------------- */
PREP(prep_depth_space)
{
    (void)m;
    params *p = ATTRS_NEW(params);
    if (!p) return tc_last_status();
    p->i = tc_onnx_attr_int(n, "blocksize", 0);
    snprintf(p->s, sizeof p->s, "%s", tc_onnx_attr_string(n, "mode", "DCR"));
    if (p->i < 1) return tc_onnx_prep_fail(n, TC_ERR_ARG, "blocksize %lld", (long long)p->i);
    if (strcmp(p->s, "DCR") && strcmp(p->s, "CRD")) return tc_onnx_prep_fail(n, TC_ERR_ARG, "mode '%s'", p->s);
    return TC_OK;
}
OP(op_depth_to_space)
{
    (void)n_out;
    NEED(1);
    tc_tensor *x = in[0];
    int64_t b = ATTRS(params)->i;
    if (x->ndim != 4 || x->shape[1] % (b * b)) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s for blocksize %lld", TC_SHP(x), (long long)b);
    int64_t N = x->shape[0], C = x->shape[1] / (b * b), H = x->shape[2], W = x->shape[3];
    bool dcr = !strcmp(ATTRS(params)->s, "DCR");
    tc_tensor *t;
    if (dcr) ONNX_TRY(c, t = tc_transpose(tc_reshape(x, 6, (int64_t[]){N, b, b, C, H, W}), (int[]){0, 3, 4, 1, 5, 2}));
    else ONNX_TRY(c, t = tc_transpose(tc_reshape(x, 6, (int64_t[]){N, C, b, b, H, W}), (int[]){0, 1, 4, 2, 5, 3}));
    ONNX_TRY(c, out[0] = tc_reshape(t, 4, (int64_t[]){N, C, H * b, W * b}));
    return TC_OK;
}
OP(op_space_to_depth)
{
    (void)n_out;
    NEED(1);
    tc_tensor *x = in[0];
    int64_t b = ATTRS(params)->i;
    if (x->ndim != 4 || x->shape[2] % b || x->shape[3] % b)
        return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s for blocksize %lld", TC_SHP(x), (long long)b);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2] / b, W = x->shape[3] / b;
    tc_tensor *t;
    ONNX_TRY(c, t = tc_transpose(tc_reshape(x, 6, (int64_t[]){N, C, H, b, W, b}), (int[]){0, 3, 5, 1, 2, 4}));
    ONNX_TRY(c, out[0] = tc_reshape(t, 4, (int64_t[]){N, C * b * b, H, W}));
    return TC_OK;
}

/* ---- Det: Gaussian elimination with partial pivoting, in ops ---------------
 * The pivot rows are chosen from the values (a constant permutation, applied
 * as a pick); the eliminations and the product of the pivots are ops with a
 * backward, so the determinant is differentiable. */
OP(op_det)
{
    (void)n;
    (void)n_out;
    NEED(1);
    tc_tensor *x = in[0];
    int r = x->ndim;
    if (r < 2 || x->shape[r - 1] != x->shape[r - 2]) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s is not square", TC_SHP(x));
    int64_t nn = x->shape[r - 1], B = tc_shape_numel(r - 2, x->shape);
    tc_tensor *A, *det = NULL;
    ONNX_TRY(c, A = tc_reshape(x, 3, (int64_t[]){B, nn, nn}));
    tc_tensor *sign, *fix;
    ONNX_TRY(c, sign = tc_full(1, &B, 1));
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(B * nn * nn + 1));
    if (!idx) return tc_last_status();
    for (int64_t k = 0; k < nn; k++) {
        bool g = tc_set_grad_enabled(false);
        tc_tensor *vals = tc_contiguous(tc_mul_scalar(A, 1));
        tc_set_grad_enabled(g);
        ONNX_TRY(c, vals);
        ONNX_TRY(c, fix = tc_zeros(3, (int64_t[]){B, 1, 1}));
        for (int64_t b = 0; b < B; b++) {
            const tc_scalar *m = vals->data + b * nn * nn;
            int64_t p = k;
            for (int64_t i = k + 1; i < nn; i++)
                if (fabs(m[i * nn + k]) > fabs(m[p * nn + k])) p = i;
            if (p != k) sign->data[b] = -sign->data[b];
            if (m[p * nn + k] == 0) fix->data[b] = 1; /* singular: det 0, divide by 1 instead */
            for (int64_t i = 0; i < nn; i++)
                for (int64_t j = 0; j < nn; j++) {
                    int64_t src = i == k ? p : i == p ? k : i;
                    idx[(b * nn + i) * nn + j] = (b * nn + src) * nn + j;
                }
        }
        ONNX_TRY(c, A = tc_onnx_pick(c, 1, &A, idx, 3, (int64_t[]){B, nn, nn}));
        tc_tensor *pivot;
        ONNX_TRY(c, pivot = tc_narrow(tc_narrow(A, 1, k, 1), 2, k, 1)); /* [B, 1, 1] */
        ONNX_TRY(c, det = det ? tc_mul(det, pivot) : pivot);
        if (k + 1 < nn) {
            tc_tensor *row = tc_narrow(A, 1, k, 1), *below = tc_narrow(A, 1, k + 1, nn - k - 1);
            tc_tensor *l = tc_div(tc_narrow(below, 2, k, 1), tc_add(pivot, fix));
            tc_tensor *parts[2] = {tc_narrow(A, 1, 0, k + 1), tc_sub(below, tc_mul(l, row))};
            ONNX_TRY(c, A = tc_concat(2, parts, 1));
        }
    }
    if (!det) ONNX_TRY(c, det = tc_full(3, (int64_t[]){B, 1, 1}, 1)); /* 0 x 0 matrices */
    ONNX_TRY(c, det = tc_mul(tc_reshape(det, 1, &B), sign));
    ONNX_TRY(c, out[0] = tc_reshape(det, r - 2, x->shape));
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_more[] = {
    {"Det", op_det, NULL},
    {"ConvTranspose", tc_onnx_op_conv_transpose, tc_onnx_prep_conv_transpose},
    {"Einsum", tc_onnx_op_einsum, tc_onnx_prep_einsum}, {"GridSample", tc_onnx_op_grid_sample, tc_onnx_prep_grid_sample},
    {"RoiAlign", tc_onnx_op_roi_align, tc_onnx_prep_roi_align},
    {"MaxRoiPool", tc_onnx_op_max_roi_pool, NULL},
    {"DFT", tc_onnx_op_dft, tc_onnx_prep_dft}, {"STFT", tc_onnx_op_stft, tc_onnx_prep_dft},
    {"MelWeightMatrix", tc_onnx_op_mel_weight_matrix, NULL},
    {"PRelu", op_prelu, NULL}, {"Selu", op_selu, prep_selu}, {"Celu", op_celu, prep_celu},
    {"ThresholdedRelu", op_thresholded_relu, prep_thresholded_relu}, {"Shrink", op_shrink, prep_shrink},
    {"Softsign", op_softsign, NULL}, {"HardSwish", op_hard_swish, NULL}, {"Reciprocal", op_reciprocal, NULL},
    {"Sin", op_sin, NULL}, {"Cos", op_cos, NULL}, {"Tan", op_tan, NULL}, {"Asin", op_asin, NULL},
    {"Acos", op_acos, NULL}, {"Atan", op_atan, NULL}, {"Sinh", op_sinh, NULL}, {"Cosh", op_cosh, NULL},
    {"Asinh", op_asinh, NULL}, {"Acosh", op_acosh, NULL}, {"Atanh", op_atanh, NULL}, {"Erf", op_erf, NULL},
    {"LayerNormalization", op_layer_norm, prep_layer_norm}, {"InstanceNormalization", op_instance_norm, prep_eps},
    {"MeanVarianceNormalization", op_mvn, prep_mvn},
    {"NegativeLogLikelihoodLoss", op_nll_loss, prep_loss}, {"SoftmaxCrossEntropyLoss", op_sce_loss, prep_loss},
    {"DepthToSpace", op_depth_to_space, prep_depth_space}, {"SpaceToDepth", op_space_to_depth, prep_depth_space},
    {NULL, NULL, NULL},
};
