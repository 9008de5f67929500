/* ONNX comparison, logic, rounding and integer operators, and the small
 * value makers (Size, ConstantOfShape, Range, EyeLike, NonZero). Their
 * results are booleans, integers or piecewise-constant values, so they are
 * computed here directly and never recorded (their gradient is zero);
 * Where and Mod, whose results are differentiable, compose tensorcook ops
 * when a gradient is wanted. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

/* The inputs broadcast to one shape, as packed values (not recorded). */
static int bcast_values(onnx_ctx *c, int n, tc_tensor **xs, int64_t *shape, const tc_scalar **v)
{
    int r = tc_onnx_broadcast_shape(c, n, xs, shape);
    if (r < 0) return -1;
    bool g = tc_set_grad_enabled(false);
    for (int i = 0; i < n; i++) {
        tc_tensor *e = tc_expand(xs[i], r, shape);
        v[i] = e ? tc_packed(e) : NULL;
        if (!v[i]) {
            tc_set_grad_enabled(g);
            tc_onnx_check(c, NULL);
            return -1;
        }
    }
    tc_set_grad_enabled(g);
    return r;
}

typedef enum { B_EQ, B_LT, B_GT, B_LE, B_GE, B_AND, B_OR, B_XOR, B_SHL, B_SHR, B_MOD, B_FMOD } binary_kind;

static double binary_value(binary_kind k, double a, double b)
{
    switch (k) {
    case B_EQ: return a == b;
    case B_LT: return a < b;
    case B_GT: return a > b;
    case B_LE: return a <= b;
    case B_GE: return a >= b;
    case B_AND: return (a != 0) && (b != 0);
    case B_OR: return (a != 0) || (b != 0);
    case B_XOR: return (a != 0) != (b != 0);
    case B_SHL: return b >= 64 ? 0 : (double)((uint64_t)a << (uint64_t)b);
    case B_SHR: return b >= 64 ? 0 : (double)((uint64_t)a >> (uint64_t)b);
    case B_FMOD: return b == 0 ? NAN : fmod(a, b);
    case B_MOD: { /* integer modulo with the divisor's sign (Python's %) */
        int64_t x = (int64_t)a, y = (int64_t)b;
        if (y == 0) return 0;
        int64_t r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        return (double)r;
    }
    }
    return 0;
}

static tc_status binary(onnx_ctx *c, int n_in, tc_tensor **in, tc_tensor **out, binary_kind k, bool bool_out)
{
    NEED(2);
    int64_t shape[TC_MAX_DIMS];
    const tc_scalar *v[2];
    int r = bcast_values(c, 2, in, shape, v);
    if (r < 0) return tc_last_status();
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(r, shape));
    for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = (tc_scalar)binary_value(k, v[0][i], v[1][i]);
    out[0] = y;
    if (bool_out) c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}
OP(op_equal) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_EQ, true); }
OP(op_less) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_LT, true); }
OP(op_greater) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_GT, true); }
OP(op_less_equal) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_LE, true); }
OP(op_greater_equal) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_GE, true); }
OP(op_and) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_AND, true); }
OP(op_or) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_OR, true); }
OP(op_xor) { (void)n; (void)n_out; return binary(c, n_in, in, out, B_XOR, true); }

typedef struct {
    int64_t v;
    bool flag;
} int_flag_attrs;

PREP(prep_bitshift)
{
    (void)m;
    int_flag_attrs *a = ATTRS_NEW(int_flag_attrs);
    if (!a) return tc_last_status();
    const char *dir = tc_onnx_attr_string(n, "direction", "");
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT")) return tc_onnx_prep_fail(n, TC_ERR_ARG, "direction '%s' (LEFT or RIGHT)", dir);
    a->flag = !strcmp(dir, "LEFT");
    return TC_OK;
}
OP(op_bitshift)
{
    (void)n_out;
    return binary(c, n_in, in, out, ATTRS(int_flag_attrs)->flag ? B_SHL : B_SHR, false);
}

PREP(prep_mod)
{
    (void)m;
    int_flag_attrs *a = ATTRS_NEW(int_flag_attrs);
    if (!a) return tc_last_status();
    a->flag = tc_onnx_attr_int(n, "fmod", 0) != 0;
    return TC_OK;
}
OP(op_mod)
{
    (void)n_out;
    NEED(2);
    bool fm = ATTRS(int_flag_attrs)->flag;
    bool is_int = c->in_dtype[0] == TC_ONNX_INT64 && c->in_dtype[1] == TC_ONNX_INT64;
    if (!is_int && !fm) return tc_onnx_fail(c, TC_ERR_ARG, "fmod must be 1 for floating-point inputs");
    if (is_int || !tc_onnx_wants_grad(2, in)) return binary(c, n_in, in, out, is_int && !fm ? B_MOD : B_FMOD, false);
    /* differentiable: a - b * trunc(a / b), the quotient a constant */
    tc_tensor *q;
    bool g = tc_set_grad_enabled(false);
    q = tc_contiguous(tc_div(in[0], in[1]));
    tc_set_grad_enabled(g);
    ONNX_TRY(c, q);
    for (int64_t i = 0; i < tc_numel(q); i++) q->data[i] = trunc(q->data[i]);
    ONNX_TRY(c, out[0] = tc_sub(in[0], tc_mul(in[1], q)));
    return TC_OK;
}

/* ---- unary ----------------------------------------------------------------- */
typedef enum { U_NOT, U_ISNAN, U_ISINF, U_SIGN, U_FLOOR, U_CEIL, U_ROUND } unary_kind;

typedef struct {
    bool neg, pos; /* IsInf */
} isinf_attrs;
PREP(prep_isinf)
{
    (void)m;
    isinf_attrs *a = ATTRS_NEW(isinf_attrs);
    if (!a) return tc_last_status();
    a->neg = tc_onnx_attr_int(n, "detect_negative", 1) != 0;
    a->pos = tc_onnx_attr_int(n, "detect_positive", 1) != 0;
    return TC_OK;
}

static tc_status unary(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, tc_tensor **out, unary_kind k)
{
    NEED(1);
    tc_tensor *y;
    const tc_scalar *x = tc_packed(in[0]);
    ONNX_TRY(c, y = tc_result(in[0]->ndim, in[0]->shape));
    if (!x && tc_numel(y)) return tc_onnx_check(c, NULL);
    for (int64_t i = 0; i < tc_numel(y); i++) {
        tc_scalar v = x[i];
        switch (k) {
        case U_NOT: y->data[i] = v == 0; break;
        case U_ISNAN: y->data[i] = isnan(v) != 0; break;
        case U_ISINF: {
            const isinf_attrs *a = ATTRS(isinf_attrs);
            y->data[i] = isinf(v) && ((v > 0 && a->pos) || (v < 0 && a->neg));
            break;
        }
        case U_SIGN: y->data[i] = (tc_scalar)((v > 0) - (v < 0)); break;
        case U_FLOOR: y->data[i] = floor(v); break;
        case U_CEIL: y->data[i] = ceil(v); break;
        case U_ROUND: y->data[i] = nearbyint(v); break; /* halves to even */
        }
    }
    out[0] = y;
    if (k == U_NOT || k == U_ISNAN || k == U_ISINF) c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}
OP(op_not) { (void)n_out; return unary(c, n, n_in, in, out, U_NOT); }
OP(op_isnan) { (void)n_out; return unary(c, n, n_in, in, out, U_ISNAN); }
OP(op_isinf) { (void)n_out; return unary(c, n, n_in, in, out, U_ISINF); }
OP(op_sign) { (void)n_out; return unary(c, n, n_in, in, out, U_SIGN); }
OP(op_floor) { (void)n_out; return unary(c, n, n_in, in, out, U_FLOOR); }
OP(op_ceil) { (void)n_out; return unary(c, n, n_in, in, out, U_CEIL); }
OP(op_round) { (void)n_out; return unary(c, n, n_in, in, out, U_ROUND); }

/* ---- Where: a pick between the two broadcast operands (differentiable in both) */
OP(op_where)
{
    (void)n;
    (void)n_out;
    NEED(3);
    int64_t shape[TC_MAX_DIMS];
    int r = tc_onnx_broadcast_shape(c, 3, in, shape);
    if (r < 0) return tc_last_status();
    tc_tensor *x, *y, *cond;
    ONNX_TRY(c, x = tc_expand(in[1], r, shape));
    ONNX_TRY(c, y = tc_expand(in[2], r, shape));
    bool g = tc_set_grad_enabled(false);
    cond = tc_expand(in[0], r, shape);
    const tc_scalar *cv = cond ? tc_packed(cond) : NULL;
    tc_set_grad_enabled(g);
    int64_t total = tc_shape_numel(r, shape);
    if (!cv && total) return tc_onnx_check(c, NULL);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    if (!idx) return tc_last_status();
    for (int64_t i = 0; i < total; i++) idx[i] = cv[i] != 0 ? i : total + i;
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 2, (tc_tensor *[]){x, y}, idx, r, shape));
    c->out_dtype[0] = c->in_dtype[1];
    return TC_OK;
}

/* ---- value makers ---------------------------------------------------------- */
OP(op_size)
{
    (void)n;
    (void)n_out;
    NEED(1);
    ONNX_TRY(c, out[0] = tc_scalar_tensor((tc_scalar)tc_numel(in[0])));
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

typedef struct {
    tc_scalar value;
    tc_onnx_dtype dtype;
} fill_attrs;
PREP(prep_constant_of_shape)
{
    fill_attrs *a = ATTRS_NEW(fill_attrs);
    if (!a) return tc_last_status();
    a->dtype = TC_ONNX_FLOAT;
    const Onnx__AttributeProto *at = tc_onnx_attr(n, "value");
    if (at && at->t) {
        tc_tensor *t = tc_onnx_decode_tensor(at->t, m->dir, &a->dtype, n->label);
        if (!t) return tc_last_status();
        bool one = tc_numel(t) == 1;
        if (one) a->value = t->data[0];
        tc_tensor_free(t);
        if (!one) return tc_onnx_prep_fail(n, TC_ERR_ARG, "value must hold one element");
    }
    return TC_OK;
}
OP(op_constant_of_shape)
{
    (void)n_out;
    NEED(1);
    int64_t shape[TC_MAX_DIMS];
    int r = tc_onnx_ints(c, in[0], shape, TC_MAX_DIMS, "shape");
    if (r < 0) return tc_last_status();
    for (int d = 0; d < r; d++)
        if (shape[d] < 0) return tc_onnx_fail(c, TC_ERR_SHAPE, "negative dimension %lld", (long long)shape[d]);
    ONNX_TRY(c, out[0] = tc_full(r, shape, ATTRS(fill_attrs)->value));
    c->out_dtype[0] = ATTRS(fill_attrs)->dtype;
    return TC_OK;
}

OP(op_range)
{
    (void)n;
    (void)n_out;
    NEED(3);
    double v[3];
    for (int i = 0; i < 3; i++) {
        if (tc_numel(in[i]) != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %d must be a scalar", i);
        tc_scalar s;
        tc_read_values(in[i], &s);
        v[i] = s;
    }
    if (v[2] == 0) return tc_onnx_fail(c, TC_ERR_ARG, "delta is 0");
    double cnt = ceil((v[1] - v[0]) / v[2]);
    if (!(cnt < (double)((int64_t)1 << 31))) return tc_onnx_fail(c, TC_ERR_ARG, "%g elements", cnt);
    int64_t len = cnt > 0 ? (int64_t)cnt : 0;
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(1, &len));
    for (int64_t i = 0; i < len; i++) y->data[i] = (tc_scalar)(v[0] + (double)i * v[2]);
    out[0] = y;
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

typedef struct {
    int64_t k, dtype;
} eye_attrs;
PREP(prep_eye_like)
{
    (void)m;
    eye_attrs *a = ATTRS_NEW(eye_attrs);
    if (!a) return tc_last_status();
    a->k = tc_onnx_attr_int(n, "k", 0);
    a->dtype = tc_onnx_attr_int(n, "dtype", -1);
    return TC_OK;
}
OP(op_eye_like)
{
    (void)n_out;
    NEED(1);
    if (in[0]->ndim != 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s is not a matrix", TC_SHP(in[0]));
    const eye_attrs *a = ATTRS(eye_attrs);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_zeros(2, in[0]->shape));
    for (int64_t i = 0; i < y->shape[0]; i++) {
        int64_t j = i + a->k;
        if (j >= 0 && j < y->shape[1]) y->data[i * y->shape[1] + j] = 1;
    }
    out[0] = y;
    if (a->dtype >= 0) c->out_dtype[0] = a->dtype == 1 || a->dtype == 10 || a->dtype == 11 || a->dtype == 16 ? TC_ONNX_FLOAT : TC_ONNX_INT64;
    return TC_OK;
}

OP(op_nonzero)
{
    (void)n;
    (void)n_out;
    NEED(1);
    const tc_scalar *x = tc_packed(in[0]);
    int64_t total = tc_numel(in[0]), nnz = 0, r = in[0]->ndim;
    if (!x && total) return tc_onnx_check(c, NULL);
    for (int64_t i = 0; i < total; i++) nnz += x[i] != 0;
    int64_t shape[2] = {r, nnz}, st[TC_MAX_DIMS];
    tc_onnx_strides((int)r, in[0]->shape, st);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(2, shape));
    for (int64_t i = 0, k = 0; i < total; i++) {
        if (x[i] == 0) continue;
        for (int64_t d = 0; d < r; d++) y->data[d * nnz + k] = (tc_scalar)((i / st[d]) % in[0]->shape[d]);
        k++;
    }
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

/* ---- window functions (opset 17) ------------------------------------------- */
typedef struct {
    bool periodic;
    int64_t dtype;
} window_attrs;
PREP(prep_window)
{
    (void)m;
    window_attrs *a = ATTRS_NEW(window_attrs);
    if (!a) return tc_last_status();
    a->periodic = tc_onnx_attr_int(n, "periodic", 1) != 0;
    a->dtype = tc_onnx_attr_int(n, "output_datatype", 1);
    return TC_OK;
}
static tc_status window(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, tc_tensor **out, double a0, double a1,
                        double a2)
{
    NEED(1);
    int64_t len;
    if (tc_onnx_ints(c, in[0], &len, 1, "size") != 1 || len < 0) return tc_onnx_fail(c, TC_ERR_ARG, "size must be one value >= 0");
    const window_attrs *a = ATTRS(window_attrs);
    double N = a->periodic ? (double)len : (double)len - 1;
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(1, &len));
    for (int64_t i = 0; i < len; i++) {
        double t = N > 0 ? 2 * M_PI * (double)i / N : 0;
        y->data[i] = (tc_scalar)(a0 - a1 * cos(t) + a2 * cos(2 * t));
    }
    out[0] = y;
    c->out_dtype[0] = a->dtype == 1 || a->dtype == 10 || a->dtype == 11 || a->dtype == 16 ? TC_ONNX_FLOAT : TC_ONNX_INT64;
    return TC_OK;
}
OP(op_hann) { (void)n_out; return window(c, n, n_in, in, out, 0.5, 0.5, 0); }
OP(op_hamming) { (void)n_out; return window(c, n, n_in, in, out, 25.0 / 46, 21.0 / 46, 0); }
OP(op_blackman) { (void)n_out; return window(c, n, n_in, in, out, 0.42, 0.5, 0.08); }

/* ---- TfIdfVectorizer over integer n-grams ------------------------------------ */
typedef struct {
    int64_t min_n, max_n, max_skip, n_out;
    int mode; /* 0 TF, 1 IDF, 2 TFIDF */
    int n_counts, n_pool, n_indexes, n_weights;
    int64_t *counts, *pool, *indexes;
    float *weights;
} tfidf_attrs;

static void free_tfidf(void *p)
{
    tfidf_attrs *a = p;
    if (a) free(a->counts), free(a->pool), free(a->indexes), free(a->weights);
    free(a);
}

static int64_t *attr_ints_copy(const onnx_node *n, const char *name, int *count)
{
    const Onnx__AttributeProto *a = tc_onnx_attr(n, name);
    *count = a ? (int)a->n_ints : 0;
    int64_t *v = malloc(sizeof *v * (size_t)(*count + 1));
    if (v)
        for (int i = 0; i < *count; i++) v[i] = a->ints[i];
    return v;
}

PREP(prep_tfidf)
{
    (void)m;
    tfidf_attrs *a = ATTRS_NEW(tfidf_attrs);
    if (!a) return tc_last_status();
    n->free_attrs = free_tfidf;
    a->min_n = tc_onnx_attr_int(n, "min_gram_length", 0);
    a->max_n = tc_onnx_attr_int(n, "max_gram_length", 0);
    a->max_skip = tc_onnx_attr_int(n, "max_skip_count", 0);
    const char *mode = tc_onnx_attr_string(n, "mode", "");
    a->mode = !strcmp(mode, "TF") ? 0 : !strcmp(mode, "IDF") ? 1 : !strcmp(mode, "TFIDF") ? 2 : -1;
    if (tc_onnx_attr(n, "pool_strings")) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "string pools (pool_strings)");
    a->counts = attr_ints_copy(n, "ngram_counts", &a->n_counts);
    a->pool = attr_ints_copy(n, "pool_int64s", &a->n_pool);
    a->indexes = attr_ints_copy(n, "ngram_indexes", &a->n_indexes);
    const Onnx__AttributeProto *w = tc_onnx_attr(n, "weights");
    a->n_weights = w ? (int)w->n_floats : 0;
    a->weights = malloc(sizeof *a->weights * (size_t)(a->n_weights + 1));
    if (!a->counts || !a->pool || !a->indexes || !a->weights) return tc_error(TC_ERR_MEMORY, "%s: out of memory", n->label);
    for (int i = 0; i < a->n_weights; i++) a->weights[i] = w->floats[i];
    if (a->mode < 0) return tc_onnx_prep_fail(n, TC_ERR_ARG, "mode '%s' (TF, IDF or TFIDF)", mode);
    if (a->min_n < 1 || a->max_n < a->min_n || a->max_n > a->n_counts || a->max_skip < 0)
        return tc_onnx_prep_fail(n, TC_ERR_ARG, "gram lengths %lld..%lld for %d ngram_counts", (long long)a->min_n,
                                 (long long)a->max_n, a->n_counts);
    int64_t grams = 0;
    for (int k = 0; k < a->n_counts; k++) {
        int64_t end = k + 1 < a->n_counts ? a->counts[k + 1] : a->n_pool;
        if (a->counts[k] < 0 || end < a->counts[k] || end > a->n_pool || (end - a->counts[k]) % (k + 1))
            return tc_onnx_prep_fail(n, TC_ERR_ARG, "ngram_counts do not split the pool into n-grams");
        grams += (end - a->counts[k]) / (k + 1);
    }
    if (grams != a->n_indexes || (a->n_weights && a->n_weights != a->n_indexes))
        return tc_onnx_prep_fail(n, TC_ERR_ARG, "%lld n-grams but %d ngram_indexes / %d weights", (long long)grams,
                                 a->n_indexes, a->n_weights);
    for (int i = 0; i < a->n_indexes; i++) {
        if (a->indexes[i] < 0 || a->indexes[i] > (1 << 24)) return tc_onnx_prep_fail(n, TC_ERR_ARG, "ngram index %lld", (long long)a->indexes[i]);
        if (a->indexes[i] + 1 > a->n_out) a->n_out = a->indexes[i] + 1;
    }
    return TC_OK;
}

OP(op_tfidf)
{
    (void)n_out;
    NEED(1);
    const tfidf_attrs *a = ATTRS(tfidf_attrs);
    tc_tensor *x = in[0];
    if (x->ndim != 1 && x->ndim != 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s must be [C] or [N, C]", TC_SHP(x));
    int64_t rows = x->ndim == 2 ? x->shape[0] : 1, C = x->shape[x->ndim - 1];
    const tc_scalar *xv = tc_packed(x);
    int64_t *cnt = tc_arena_alloc(sizeof *cnt * (size_t)(a->n_indexes + 1));
    tc_tensor *y;
    ONNX_TRY(c, y = x->ndim == 2 ? tc_zeros(2, (int64_t[]){rows, a->n_out}) : tc_zeros(1, &a->n_out));
    if (!cnt || (!xv && tc_numel(x))) return tc_onnx_check(c, NULL);
    for (int64_t r = 0; r < rows; r++) {
        const tc_scalar *row = xv + r * C;
        memset(cnt, 0, sizeof *cnt * (size_t)a->n_indexes);
        int64_t ordinal = 0;
        for (int64_t g = 1; g <= a->n_counts; g++) {
            int64_t start = a->counts[g - 1], end = g < a->n_counts ? a->counts[g] : a->n_pool, ng = (end - start) / g;
            if (g >= a->min_n && g <= a->max_n)
                for (int64_t skip = 0; skip <= (g == 1 ? 0 : a->max_skip); skip++) /* unigrams once */
                    for (int64_t i = 0; i + (g - 1) * (skip + 1) < C; i++)
                        for (int64_t q = 0; q < ng; q++) {
                            bool match = true;
                            for (int64_t j = 0; j < g && match; j++)
                                match = (int64_t)row[i + j * (skip + 1)] == a->pool[start + q * g + j];
                            if (match) cnt[ordinal + q]++;
                        }
            ordinal += ng;
        }
        for (int i = 0; i < a->n_indexes; i++) {
            double w = a->n_weights ? a->weights[i] : 1, v = a->mode == 0 ? (double)cnt[i] : a->mode == 1 ? (cnt[i] ? w : 0) : (double)cnt[i] * w;
            y->data[r * a->n_out + a->indexes[i]] = (tc_scalar)v;
        }
    }
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_FLOAT;
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_logic[] = {
    {"TfIdfVectorizer", op_tfidf, prep_tfidf},
    {"HannWindow", op_hann, prep_window}, {"HammingWindow", op_hamming, prep_window},
    {"BlackmanWindow", op_blackman, prep_window},
    {"Equal", op_equal, NULL}, {"Less", op_less, NULL}, {"Greater", op_greater, NULL},
    {"LessOrEqual", op_less_equal, NULL}, {"GreaterOrEqual", op_greater_equal, NULL},
    {"And", op_and, NULL}, {"Or", op_or, NULL}, {"Xor", op_xor, NULL}, {"Not", op_not, NULL},
    {"BitShift", op_bitshift, prep_bitshift}, {"Mod", op_mod, prep_mod},
    {"IsNaN", op_isnan, NULL}, {"IsInf", op_isinf, prep_isinf}, {"Sign", op_sign, NULL},
    {"Floor", op_floor, NULL}, {"Ceil", op_ceil, NULL}, {"Round", op_round, NULL},
    {"Where", op_where, NULL}, {"Size", op_size, NULL}, {"ConstantOfShape", op_constant_of_shape, prep_constant_of_shape},
    {"Range", op_range, NULL}, {"EyeLike", op_eye_like, prep_eye_like}, {"NonZero", op_nonzero, NULL},
    {NULL, NULL, NULL},
};
