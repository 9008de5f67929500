/* ONNX indexing operators. Every differentiable one is a pick (a gather of
 * flat indices computed here, src/ops' gather with its backward) from its
 * inputs, so values are copied exactly and gradients flow to the data:
 * GatherElements, GatherND, ScatterElements / Scatter, ScatterND, TopK's
 * values, OneHot, Trilu, Compress, ReverseSequence. CumSum composes a
 * product with a triangular matrix when a gradient is wanted. Indices
 * (TopK, ArgMin) and Hardmax are computed directly (no gradient). */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

/* the packed values of an integer input, as int64 (not recorded) */
static int64_t *int_values(onnx_ctx *c, tc_tensor *t)
{
    int64_t n = tc_numel(t);
    int64_t *v = tc_arena_alloc(sizeof *v * (size_t)(n + 1));
    const tc_scalar *x = tc_packed(t);
    if (!v || (!x && n)) {
        tc_onnx_check(c, NULL);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) v[i] = (int64_t)llround(x[i]);
    return v;
}

static tc_status index_in_range(onnx_ctx *c, int64_t *i, int64_t dim, const char *what)
{
    if (*i < -dim || *i >= dim)
        return tc_onnx_fail(c, TC_ERR_ARG, "%s index %lld is out of range for size %lld", what, (long long)*i, (long long)dim);
    if (*i < 0) *i += dim;
    return TC_OK;
}

/* ---- GatherElements ------------------------------------------------------- */
typedef struct {
    int64_t axis;
    char reduction[8];
} axis_red_attrs;

PREP(prep_axis0)
{
    (void)m;
    axis_red_attrs *a = ATTRS_NEW(axis_red_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", 0);
    const char *r = tc_onnx_attr_string(n, "reduction", "none");
    if (strcmp(r, "none") && strcmp(r, "add") && strcmp(r, "mul") && strcmp(r, "max") && strcmp(r, "min"))
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "reduction '%s'", r);
    snprintf(a->reduction, sizeof a->reduction, "%s", r);
    return TC_OK;
}

/* flat index into data (row-major) of each element of indices along axis */
static int64_t *element_targets(onnx_ctx *c, tc_tensor *data, tc_tensor *indices, int axis)
{
    int r = data->ndim;
    if (indices->ndim != r) {
        tc_onnx_fail(c, TC_ERR_SHAPE, "indices %s and data %s differ in rank", TC_SHP(indices), TC_SHP(data));
        return NULL;
    }
    int64_t *iv = int_values(c, indices);
    if (!iv) return NULL;
    int64_t ds[TC_MAX_DIMS], is[TC_MAX_DIMS];
    tc_onnx_strides(r, data->shape, ds);
    tc_onnx_strides(r, indices->shape, is);
    int64_t n = tc_numel(indices);
    for (int64_t j = 0; j < n; j++) {
        int64_t flat = 0;
        for (int d = 0; d < r; d++) {
            int64_t coord = (j / is[d]) % indices->shape[d];
            if (d == axis) {
                coord = iv[j];
                if (index_in_range(c, &coord, data->shape[d], "gather/scatter") != TC_OK) return NULL;
            } else if (coord >= data->shape[d]) {
                tc_onnx_fail(c, TC_ERR_SHAPE, "indices %s do not fit in data %s", TC_SHP(indices), TC_SHP(data));
                return NULL;
            }
            flat += coord * ds[d];
        }
        iv[j] = flat;
    }
    return iv;
}

OP(op_gather_elements)
{
    (void)n_out;
    NEED(2);
    int axis = tc_onnx_axis(c, ATTRS(axis_red_attrs)->axis, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    int64_t *idx = element_targets(c, in[0], in[1], axis);
    if (!idx) return tc_last_status();
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 1, in, idx, in[1]->ndim, in[1]->shape));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

/* ---- scatter: rows of data replaced or combined with update rows --------
 * data viewed as [rows, width], updates as [n_upd, width], target[k] the
 * row update k goes to. Pass 0 is data; pass p picks, for each row, its p-th
 * update (or a neutral row), and the passes combine with the reduction: a
 * pick per pass, so every value stays differentiable. */
static tc_status scatter_rows(onnx_ctx *c, tc_tensor *data, tc_tensor *updates, int64_t rows, int64_t width,
                              int64_t n_upd, const int64_t *target, const char *reduction, tc_tensor **out)
{
    bool none = !strcmp(reduction, "none");
    int64_t *count = tc_arena_alloc(sizeof *count * (size_t)(rows + 1));
    if (!count) return tc_last_status();
    memset(count, 0, sizeof *count * (size_t)rows);
    int passes = 0;
    for (int64_t k = 0; k < n_upd; k++)
        if (++count[target[k]] > passes) passes = (int)count[target[k]];
    if (none && passes > 1) passes = 1; /* the last update of a row wins */
    int64_t total = rows * width, upd_base = total, neutral = total + n_upd * width;
    tc_tensor *zero_one;
    ONNX_TRY(c, zero_one = tc_scalar_tensor(!strcmp(reduction, "mul") ? 1 : 0));
    tc_tensor *srcs[3] = {data, updates, zero_one};
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    int64_t *seen = tc_arena_alloc(sizeof *seen * (size_t)(rows + 1));
    if (!idx || !seen) return tc_last_status();
    int64_t shape2[2] = {rows, width};
    tc_tensor *acc;
    ONNX_TRY(c, acc = tc_reshape(data, 2, shape2));
    tc_tensor *data2 = acc;
    bool max_min = !strcmp(reduction, "max") || !strcmp(reduction, "min");
    for (int p = 1; p <= passes; p++) {
        /* the p-th update of each row (the last one for "none") */
        for (int64_t r = 0; r < rows; r++) seen[r] = -1;
        memset(count, 0, sizeof *count * (size_t)rows);
        for (int64_t k = 0; k < n_upd; k++) {
            int64_t r = target[k];
            if (none || ++count[r] == p) seen[r] = k;
        }
        for (int64_t r = 0; r < rows; r++)
            for (int64_t w = 0; w < width; w++) {
                int64_t j = r * width + w;
                if (seen[r] >= 0) idx[j] = upd_base + seen[r] * width + w;
                else idx[j] = none || max_min ? j : neutral; /* untouched: data, or the neutral value */
            }
        tc_tensor *pick;
        ONNX_TRY(c, pick = tc_onnx_pick(c, 3, srcs, idx, 2, shape2));
        if (none) acc = pick;
        else if (!strcmp(reduction, "add")) ONNX_TRY(c, acc = tc_add(acc, pick));
        else if (!strcmp(reduction, "mul")) ONNX_TRY(c, acc = tc_mul(acc, pick));
        else if (!strcmp(reduction, "max")) ONNX_TRY(c, acc = tc_maximum(acc, pick));
        else ONNX_TRY(c, acc = tc_minimum(acc, pick));
    }
    if (acc == data2) ONNX_TRY(c, acc = tc_mul_scalar(data2, 1)); /* a new value, still on the tape */
    ONNX_TRY(c, *out = tc_reshape(acc, data->ndim, data->shape));
    return TC_OK;
}

OP(op_scatter_elements)
{
    (void)n_out;
    NEED(3);
    const axis_red_attrs *a = ATTRS(axis_red_attrs);
    int axis = tc_onnx_axis(c, a->axis, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    if (!tc_same_shape(in[1], in[2])) return tc_onnx_fail(c, TC_ERR_SHAPE, "indices %s and updates %s differ", TC_SHP(in[1]), TC_SHP(in[2]));
    int64_t *target = element_targets(c, in[0], in[1], axis);
    if (!target) return tc_last_status();
    c->out_dtype[0] = c->in_dtype[0];
    return scatter_rows(c, in[0], in[2], tc_numel(in[0]), 1, tc_numel(in[2]), target, a->reduction, &out[0]);
}

/* ---- GatherND / ScatterND ------------------------------------------------ */
typedef struct {
    int64_t batch_dims;
    char reduction[8];
} nd_attrs;
PREP(prep_nd)
{
    (void)m;
    nd_attrs *a = ATTRS_NEW(nd_attrs);
    if (!a) return tc_last_status();
    a->batch_dims = tc_onnx_attr_int(n, "batch_dims", 0);
    const char *r = tc_onnx_attr_string(n, "reduction", "none");
    if (strcmp(r, "none") && strcmp(r, "add") && strcmp(r, "mul") && strcmp(r, "max") && strcmp(r, "min"))
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "reduction '%s'", r);
    snprintf(a->reduction, sizeof a->reduction, "%s", r);
    return TC_OK;
}

/* Row of data (viewed [prod(shape[:b+k]), rest]) addressed by each index
 * tuple of indices [..., k], with b leading batch axes. */
static int64_t *nd_rows(onnx_ctx *c, tc_tensor *data, tc_tensor *indices, int b, int64_t *n_tuples, int *k_out)
{
    int q = indices->ndim;
    if (q < 1 || b < 0 || b >= q || b > data->ndim) {
        tc_onnx_fail(c, TC_ERR_SHAPE, "indices %s with batch_dims %d for data %s", TC_SHP(indices), b, TC_SHP(data));
        return NULL;
    }
    int k = (int)indices->shape[q - 1];
    if (b + k > data->ndim) {
        tc_onnx_fail(c, TC_ERR_SHAPE, "index tuples of %d for data %s", k, TC_SHP(data));
        return NULL;
    }
    for (int d = 0; d < b; d++)
        if (indices->shape[d] != data->shape[d]) {
            tc_onnx_fail(c, TC_ERR_SHAPE, "batch axes of indices %s and data %s differ", TC_SHP(indices), TC_SHP(data));
            return NULL;
        }
    int64_t *iv = int_values(c, indices);
    if (!iv) return NULL;
    int64_t tuples = k ? tc_numel(indices) / k : tc_shape_numel(q - 1, indices->shape);
    int64_t per_batch = tuples / (b ? tc_shape_numel(b, indices->shape) : 1);
    int64_t inner_rows = tc_shape_numel(k, data->shape + b);
    int64_t *rows = tc_arena_alloc(sizeof *rows * (size_t)(tuples + 1));
    if (!rows) return NULL;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t r = 0;
        for (int d = 0; d < k; d++) {
            int64_t v = iv[t * k + d];
            if (index_in_range(c, &v, data->shape[b + d], "tuple") != TC_OK) return NULL;
            r = r * data->shape[b + d] + v;
        }
        rows[t] = (per_batch ? t / per_batch : 0) * inner_rows + r;
    }
    *n_tuples = tuples;
    *k_out = k;
    return rows;
}

OP(op_gather_nd)
{
    (void)n_out;
    NEED(2);
    int b = (int)ATTRS(nd_attrs)->batch_dims, k;
    int64_t tuples;
    int64_t *rows = nd_rows(c, in[0], in[1], b, &tuples, &k);
    if (!rows) return tc_last_status();
    int64_t width = tc_shape_numel(in[0]->ndim - b - k, in[0]->shape + b + k);
    int64_t shape[TC_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < in[1]->ndim - 1; d++) shape[r++] = in[1]->shape[d];
    for (int d = b + k; d < in[0]->ndim; d++) shape[r++] = in[0]->shape[d];
    if (r > TC_MAX_DIMS) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "result rank %d", r);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(tuples * width + 1));
    if (!idx) return tc_last_status();
    for (int64_t t = 0; t < tuples; t++)
        for (int64_t w = 0; w < width; w++) idx[t * width + w] = rows[t] * width + w;
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 1, in, idx, r, shape));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

OP(op_scatter_nd)
{
    (void)n_out;
    NEED(3);
    int k;
    int64_t tuples;
    int64_t *rows = nd_rows(c, in[0], in[1], 0, &tuples, &k);
    if (!rows) return tc_last_status();
    int64_t width = tc_shape_numel(in[0]->ndim - k, in[0]->shape + k);
    if (tc_numel(in[2]) != tuples * width)
        return tc_onnx_fail(c, TC_ERR_SHAPE, "updates %s do not fit indices %s and data %s", TC_SHP(in[2]), TC_SHP(in[1]), TC_SHP(in[0]));
    c->out_dtype[0] = c->in_dtype[0];
    return scatter_rows(c, in[0], in[2], tc_shape_numel(k, in[0]->shape), width, tuples, rows, ATTRS(nd_attrs)->reduction, &out[0]);
}

/* ---- TopK, ArgMin, Hardmax ------------------------------------------------- */
typedef struct {
    int64_t axis, k;
    bool largest, sorted, keepdims, select_last;
} topk_attrs;
PREP(prep_topk)
{
    (void)m;
    topk_attrs *a = ATTRS_NEW(topk_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", -1);
    a->k = tc_onnx_attr_int(n, "k", -1); /* opset < 10 */
    a->largest = tc_onnx_attr_int(n, "largest", 1) != 0;
    a->sorted = tc_onnx_attr_int(n, "sorted", 1) != 0;
    return TC_OK;
}

typedef struct {
    const tc_scalar *v;
    int64_t stride;
    bool largest;
} topk_sort;
static _Thread_local topk_sort sort_ctx;
/* larger (or smaller) first; NaN counts as the largest; ties: lower index first */
static int topk_cmp(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    tc_scalar x = sort_ctx.v[a * sort_ctx.stride], y = sort_ctx.v[b * sort_ctx.stride];
    if (x != y && !(isnan(x) && isnan(y))) {
        bool x_first = isnan(x) ? sort_ctx.largest : isnan(y) ? !sort_ctx.largest : sort_ctx.largest ? x > y : x < y;
        return x_first ? -1 : 1;
    }
    return a < b ? -1 : a > b;
}

OP(op_topk)
{
    (void)n_out;
    NEED(1);
    const topk_attrs *a = ATTRS(topk_attrs);
    tc_tensor *x = in[0];
    int axis = tc_onnx_axis(c, a->axis, x->ndim);
    if (axis < 0) return tc_last_status();
    int64_t k = a->k;
    if (c->m->opset >= 10) {
        int64_t kv[1];
        if (n_in < 2 || tc_onnx_ints(c, in[1], kv, 1, "K") != 1) return tc_onnx_fail(c, TC_ERR_ARG, "K must be one value");
        k = kv[0];
    }
    int64_t len = x->shape[axis];
    if (k < 0 || k > len) return tc_onnx_fail(c, TC_ERR_ARG, "K = %lld for axis of size %lld", (long long)k, (long long)len);
    const tc_scalar *xv = tc_packed(x);
    int64_t shape[TC_MAX_DIMS], st[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    shape[axis] = k;
    tc_onnx_strides(x->ndim, x->shape, st);
    int64_t outer = tc_shape_numel(axis, x->shape), inner = st[axis], total = tc_shape_numel(x->ndim, shape);
    int64_t *order = tc_arena_alloc(sizeof *order * (size_t)(len + 1));
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    tc_tensor *ind = tc_result(x->ndim, shape);
    if (!order || !idx || !ind || (!xv && tc_numel(x))) return tc_onnx_check(c, NULL);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t j = 0; j < len; j++) order[j] = j;
            sort_ctx = (topk_sort){xv + o * len * inner + i, inner, a->largest};
            qsort(order, (size_t)len, sizeof *order, topk_cmp);
            for (int64_t j = 0; j < k; j++) {
                int64_t at = (o * k + j) * inner + i;
                ind->data[at] = (tc_scalar)order[j];
                idx[at] = (o * len + order[j]) * inner + i;
            }
        }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 1, &x, idx, x->ndim, shape));
    out[1] = ind;
    c->out_dtype[0] = c->in_dtype[0];
    if (n_out > 1) c->out_dtype[1] = TC_ONNX_INT64;
    return TC_OK;
}

PREP(prep_argmin)
{
    (void)m;
    topk_attrs *a = ATTRS_NEW(topk_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", 0);
    a->keepdims = tc_onnx_attr_int(n, "keepdims", 1) != 0;
    a->select_last = tc_onnx_attr_int(n, "select_last_index", 0) != 0;
    return TC_OK;
}
OP(op_argmin)
{
    (void)n_out;
    NEED(1);
    const topk_attrs *a = ATTRS(topk_attrs);
    int axis = tc_onnx_axis(c, a->axis, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    bool g = tc_set_grad_enabled(false); /* an index: nothing to record */
    tc_tensor *y = tc_argmax(tc_neg(in[0]), axis, a->keepdims, a->select_last);
    tc_set_grad_enabled(g);
    ONNX_TRY(c, out[0] = y);
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

PREP(prep_hardmax)
{
    topk_attrs *a = ATTRS_NEW(topk_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", m->opset >= 13 ? -1 : 1);
    return TC_OK;
}
OP(op_hardmax)
{
    (void)n_out;
    NEED(1);
    tc_tensor *x = in[0];
    int r = x->ndim;
    int64_t outer, len, inner;
    if (c->m->opset >= 13) {
        int axis = tc_onnx_axis(c, ATTRS(topk_attrs)->axis, r);
        if (axis < 0) return tc_last_status();
        outer = tc_shape_numel(axis, x->shape), len = x->shape[axis], inner = tc_shape_numel(r - axis - 1, x->shape + axis + 1);
    } else { /* coerced to 2-D at axis */
        int64_t a = ATTRS(topk_attrs)->axis;
        if (a < 0) a += r;
        if (a < 0 || a > r) return tc_onnx_fail(c, TC_ERR_ARG, "axis out of range for rank %d", r);
        outer = tc_shape_numel((int)a, x->shape), len = tc_shape_numel(r - (int)a, x->shape + a), inner = 1;
    }
    const tc_scalar *xv = tc_packed(x);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_zeros(r, x->shape));
    if (!xv && tc_numel(x)) return tc_onnx_check(c, NULL);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner && len > 0; i++) {
            int64_t best = 0;
            for (int64_t j = 1; j < len; j++)
                if (xv[(o * len + j) * inner + i] > xv[(o * len + best) * inner + i]) best = j;
            y->data[(o * len + best) * inner + i] = 1;
        }
    out[0] = y;
    return TC_OK;
}

/* ---- OneHot, Trilu, Compress, ReverseSequence -------------------------------- */
PREP(prep_axis_m1)
{
    (void)m;
    axis_red_attrs *a = ATTRS_NEW(axis_red_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", -1);
    return TC_OK;
}
OP(op_one_hot)
{
    (void)n_out;
    NEED(3);
    int64_t depth64[1];
    tc_scalar dv;
    if (tc_numel(in[1]) != 1) return tc_onnx_fail(c, TC_ERR_ARG, "depth must be one value");
    tc_read_values(in[1], &dv);
    depth64[0] = (int64_t)dv;
    if (depth64[0] < 1) return tc_onnx_fail(c, TC_ERR_ARG, "depth %lld", (long long)depth64[0]);
    if (tc_numel(in[2]) != 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "values must be [off, on], not %s", TC_SHP(in[2]));
    int r = in[0]->ndim + 1;
    if (r > TC_MAX_DIMS) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "result rank %d", r);
    int axis = tc_onnx_axis(c, ATTRS(axis_red_attrs)->axis, r);
    if (axis < 0) return tc_last_status();
    int64_t depth = depth64[0], shape[TC_MAX_DIMS];
    for (int d = 0, s = 0; d < r; d++) shape[d] = d == axis ? depth : in[0]->shape[s++];
    int64_t *iv = int_values(c, in[0]);
    if (!iv) return tc_last_status();
    int64_t outer = tc_shape_numel(axis, shape), inner = tc_shape_numel(r - axis - 1, shape + axis + 1);
    int64_t total = outer * depth * inner;
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    if (!idx) return tc_last_status();
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < depth; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t v = iv[o * inner + i];
                if (v < 0) v += depth; /* out-of-range indices give all "off" */
                idx[(o * depth + j) * inner + i] = v == j ? 1 : 0;
            }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 1, &in[2], idx, r, shape));
    c->out_dtype[0] = c->in_dtype[2];
    return TC_OK;
}

PREP(prep_trilu)
{
    (void)m;
    topk_attrs *a = ATTRS_NEW(topk_attrs);
    if (!a) return tc_last_status();
    a->largest = tc_onnx_attr_int(n, "upper", 1) != 0;
    return TC_OK;
}
OP(op_trilu)
{
    (void)n_out;
    NEED(1);
    tc_tensor *x = in[0];
    if (x->ndim < 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s has rank below 2", TC_SHP(x));
    int64_t k = 0;
    if (n_in > 1 && in[1]) {
        if (tc_onnx_ints(c, in[1], &k, 1, "k") != 1) return tc_onnx_fail(c, TC_ERR_ARG, "k must be one value");
    }
    bool upper = ATTRS(topk_attrs)->largest;
    int64_t R = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1], total = tc_numel(x);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    tc_tensor *zero;
    ONNX_TRY(c, zero = tc_scalar_tensor(0));
    if (!idx) return tc_last_status();
    for (int64_t j = 0; j < total; j++) {
        int64_t col = j % C, row = (j / C) % R;
        bool keep = upper ? col - row >= k : col - row <= k;
        idx[j] = keep ? j : total;
    }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx, x->ndim, x->shape));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

typedef struct {
    int64_t axis;
    bool has_axis;
} opt_axis_attrs;
PREP(prep_compress)
{
    (void)m;
    opt_axis_attrs *a = ATTRS_NEW(opt_axis_attrs);
    if (!a) return tc_last_status();
    a->has_axis = tc_onnx_attr(n, "axis") != NULL;
    a->axis = tc_onnx_attr_int(n, "axis", 0);
    return TC_OK;
}
OP(op_compress)
{
    (void)n_out;
    NEED(2);
    tc_tensor *x = in[0];
    int axis = 0;
    if (ATTRS(opt_axis_attrs)->has_axis) {
        axis = tc_onnx_axis(c, ATTRS(opt_axis_attrs)->axis, x->ndim);
        if (axis < 0) return tc_last_status();
    } else {
        int64_t len = tc_numel(x);
        ONNX_TRY(c, x = tc_reshape(x, 1, &len));
    }
    const tc_scalar *cv = tc_packed(in[1]);
    int64_t nc = tc_numel(in[1]), kept = 0;
    if (nc > x->shape[axis]) nc = x->shape[axis];
    int64_t *sel = tc_arena_alloc(sizeof *sel * (size_t)(nc + 1));
    if (!sel || (!cv && nc)) return tc_onnx_check(c, NULL);
    for (int64_t i = 0; i < nc; i++)
        if (cv[i] != 0) sel[kept++] = i;
    tc_tensor *ix;
    ONNX_TRY(c, ix = tc_onnx_from_int64(1, &kept, sel));
    if (kept == 0) {
        int64_t shape[TC_MAX_DIMS];
        for (int d = 0; d < x->ndim; d++) shape[d] = d == axis ? 0 : x->shape[d];
        ONNX_TRY(c, out[0] = tc_zeros(x->ndim, shape));
    } else
        ONNX_TRY(c, out[0] = tc_gather(x, ix, axis));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

typedef struct {
    int64_t batch_axis, time_axis;
} revseq_attrs;
PREP(prep_reverse_sequence)
{
    (void)m;
    revseq_attrs *a = ATTRS_NEW(revseq_attrs);
    if (!a) return tc_last_status();
    a->batch_axis = tc_onnx_attr_int(n, "batch_axis", 1);
    a->time_axis = tc_onnx_attr_int(n, "time_axis", 0);
    return TC_OK;
}
OP(op_reverse_sequence)
{
    (void)n_out;
    NEED(2);
    tc_tensor *x = in[0];
    int r = x->ndim;
    int ba = tc_onnx_axis(c, ATTRS(revseq_attrs)->batch_axis, r), ta = tc_onnx_axis(c, ATTRS(revseq_attrs)->time_axis, r);
    if (ba < 0 || ta < 0) return tc_last_status();
    if (ba == ta) return tc_onnx_fail(c, TC_ERR_ARG, "batch_axis and time_axis are the same");
    int64_t *lens = int_values(c, in[1]);
    if (!lens) return tc_last_status();
    if (tc_numel(in[1]) != x->shape[ba]) return tc_onnx_fail(c, TC_ERR_SHAPE, "sequence_lens %s for batch %lld", TC_SHP(in[1]), (long long)x->shape[ba]);
    int64_t st[TC_MAX_DIMS], total = tc_numel(x);
    tc_onnx_strides(r, x->shape, st);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    if (!idx) return tc_last_status();
    for (int64_t j = 0; j < total; j++) {
        int64_t b = (j / st[ba]) % x->shape[ba], t = (j / st[ta]) % x->shape[ta];
        int64_t L = lens[b] < 0 ? 0 : lens[b] > x->shape[ta] ? x->shape[ta] : lens[b];
        idx[j] = t < L ? j + (L - 1 - 2 * t) * st[ta] : j;
    }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 1, &x, idx, r, x->shape));
    c->out_dtype[0] = c->in_dtype[0];
    return TC_OK;
}

/* ---- CumSum ------------------------------------------------------------------ */
typedef struct {
    bool exclusive, reverse;
} cumsum_attrs;
PREP(prep_cumsum)
{
    (void)m;
    cumsum_attrs *a = ATTRS_NEW(cumsum_attrs);
    if (!a) return tc_last_status();
    a->exclusive = tc_onnx_attr_int(n, "exclusive", 0) != 0;
    a->reverse = tc_onnx_attr_int(n, "reverse", 0) != 0;
    return TC_OK;
}
OP(op_cumsum)
{
    (void)n_out;
    NEED(2);
    const cumsum_attrs *a = ATTRS(cumsum_attrs);
    tc_tensor *x = in[0];
    int64_t ax64;
    if (tc_onnx_ints(c, in[1], &ax64, 1, "axis") != 1) return tc_onnx_fail(c, TC_ERR_ARG, "axis must be one value");
    int axis = tc_onnx_axis(c, ax64, x->ndim);
    if (axis < 0) return tc_last_status();
    int64_t len = x->shape[axis];
    c->out_dtype[0] = c->in_dtype[0];
    if (tc_onnx_wants_grad(1, &x)) {
        /* differentiable: the axis last, times a triangular matrix of ones */
        int r = x->ndim, perm[TC_MAX_DIMS], inv[TC_MAX_DIMS];
        for (int d = 0, k = 0; d < r; d++)
            if (d != axis) perm[k++] = d;
        perm[r - 1] = axis;
        for (int d = 0; d < r; d++) inv[perm[d]] = d;
        tc_tensor *tri;
        ONNX_TRY(c, tri = tc_zeros(2, (int64_t[]){len, len}));
        for (int64_t i = 0; i < len; i++)     /* y[j] = sum_i x[i] tri[i][j] */
            for (int64_t j = 0; j < len; j++) {
                bool on = a->reverse ? (a->exclusive ? i > j : i >= j) : (a->exclusive ? i < j : i <= j);
                tri->data[i * len + j] = on;
            }
        ONNX_TRY(c, out[0] = tc_transpose(tc_matmul(tc_transpose(x, perm), tri), inv));
        return TC_OK;
    }
    const tc_scalar *xv = tc_packed(x);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(x->ndim, x->shape));
    if (!xv && tc_numel(x)) return tc_onnx_check(c, NULL);
    int64_t outer = tc_shape_numel(axis, x->shape), inner = tc_shape_numel(x->ndim - axis - 1, x->shape + axis + 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int64_t k = 0; k < len; k++) {
                int64_t j = a->reverse ? len - 1 - k : k, at = (o * len + j) * inner + i;
                if (a->exclusive) {
                    y->data[at] = (tc_scalar)s;
                    s += xv[at];
                } else {
                    s += xv[at];
                    y->data[at] = (tc_scalar)s;
                }
            }
        }
    out[0] = y;
    return TC_OK;
}

/* ---- Unique (flattened or along an axis), MaxUnpool ------------------------- */
typedef struct {
    int64_t axis;
    bool has_axis, sorted;
} unique_attrs;
PREP(prep_unique)
{
    (void)m;
    unique_attrs *a = ATTRS_NEW(unique_attrs);
    if (!a) return tc_last_status();
    a->has_axis = tc_onnx_attr(n, "axis") != NULL;
    a->axis = tc_onnx_attr_int(n, "axis", 0);
    a->sorted = tc_onnx_attr_int(n, "sorted", 1) != 0;
    return TC_OK;
}

typedef struct {
    const tc_scalar *v;
    int64_t len, inner, width; /* slice j: v[(o * len + j) * inner + i] for o < outer, i < inner */
    int64_t outer;
} slices;
static _Thread_local slices uq;
static int cmp_slices(int64_t a, int64_t b)
{
    for (int64_t o = 0; o < uq.outer; o++)
        for (int64_t i = 0; i < uq.inner; i++) {
            tc_scalar x = uq.v[(o * uq.len + a) * uq.inner + i], y = uq.v[(o * uq.len + b) * uq.inner + i];
            if (x != y) return x < y ? -1 : 1;
        }
    return 0;
}
static int cmp_sorted(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    int r = cmp_slices(a, b);
    return r ? r : (a < b ? -1 : a > b);
}

OP(op_unique)
{
    NEED(1);
    const unique_attrs *a = ATTRS(unique_attrs);
    tc_tensor *x = in[0];
    int axis = 0;
    if (a->has_axis) {
        if ((axis = tc_onnx_axis(c, a->axis, x->ndim)) < 0) return tc_last_status();
    } else {
        int64_t len = tc_numel(x);
        ONNX_TRY(c, x = tc_reshape(x, 1, &len));
    }
    int64_t len = x->shape[axis];
    uq = (slices){tc_packed(x), len, tc_shape_numel(x->ndim - axis - 1, x->shape + axis + 1), 0,
                  tc_shape_numel(axis, x->shape)};
    int64_t *order = tc_arena_alloc(sizeof *order * (size_t)(len + 1));
    int64_t *first = tc_arena_alloc(sizeof *first * (size_t)(len + 1));   /* per unique: first index */
    int64_t *count = tc_arena_alloc(sizeof *count * (size_t)(len + 1));
    int64_t *inverse = tc_arena_alloc(sizeof *inverse * (size_t)(len + 1));
    if (!order || !first || !count || !inverse || (!uq.v && tc_numel(x))) return tc_onnx_check(c, NULL);
    for (int64_t j = 0; j < len; j++) order[j] = j;
    qsort(order, (size_t)len, sizeof *order, cmp_sorted); /* equal slices stay in index order */
    int64_t nu = 0;
    for (int64_t k = 0; k < len; k++) {
        if (k == 0 || cmp_slices(order[k - 1], order[k])) first[nu] = order[k], count[nu++] = 0;
        count[nu - 1]++;
        inverse[order[k]] = nu - 1;
    }
    if (!a->sorted) { /* by first occurrence */
        int64_t *rank = tc_arena_alloc(sizeof *rank * (size_t)(nu + 1)), *f2 = tc_arena_alloc(sizeof *f2 * (size_t)(nu + 1));
        int64_t *c2 = tc_arena_alloc(sizeof *c2 * (size_t)(nu + 1)), *pos = tc_arena_alloc(sizeof *pos * (size_t)(nu + 1));
        if (!rank || !f2 || !c2 || !pos) return tc_last_status();
        for (int64_t u = 0; u < nu; u++) rank[u] = u;
        for (int64_t u = 1; u < nu; u++) /* insertion sort of the groups by first index */
            for (int64_t v = u; v > 0 && first[rank[v]] < first[rank[v - 1]]; v--) {
                int64_t t = rank[v];
                rank[v] = rank[v - 1];
                rank[v - 1] = t;
            }
        for (int64_t u = 0; u < nu; u++) f2[u] = first[rank[u]], c2[u] = count[rank[u]], pos[rank[u]] = u;
        for (int64_t j = 0; j < len; j++) inverse[j] = pos[inverse[j]];
        first = f2, count = c2;
    }
    tc_tensor *ix;
    ONNX_TRY(c, ix = tc_onnx_from_int64(1, &nu, first));
    ONNX_TRY(c, out[0] = tc_gather(x, ix, axis)); /* the unique values: a gather, differentiable */
    c->out_dtype[0] = c->in_dtype[0];
    if (n_out > 1) ONNX_TRY(c, out[1] = tc_onnx_from_int64(1, &nu, first));
    if (n_out > 2) ONNX_TRY(c, out[2] = tc_onnx_from_int64(1, &len, inverse));
    if (n_out > 3) ONNX_TRY(c, out[3] = tc_onnx_from_int64(1, &nu, count));
    for (int i = 1; i < n_out; i++) c->out_dtype[i] = TC_ONNX_INT64;
    return TC_OK;
}

typedef struct {
    int nk, ns, np;
    int64_t kernel[3], strides[3], pads[6];
} unpool_attrs;
PREP(prep_max_unpool)
{
    (void)m;
    unpool_attrs *a = ATTRS_NEW(unpool_attrs);
    if (!a) return tc_last_status();
    a->nk = tc_onnx_attr_ints(n, "kernel_shape", a->kernel, 3);
    a->ns = tc_onnx_attr_ints(n, "strides", a->strides, 3);
    a->np = tc_onnx_attr_ints(n, "pads", a->pads, 6);
    if (a->nk < 1 || a->nk > 3) return tc_onnx_prep_fail(n, TC_ERR_ARG, "kernel_shape has %d values", a->nk);
    return TC_OK;
}
/* values placed at their flat indices in a zero tensor: a pick, differentiable in X */
OP(op_max_unpool)
{
    (void)n_out;
    NEED(2);
    const unpool_attrs *a = ATTRS(unpool_attrs);
    tc_tensor *x = in[0];
    int nsp = x->ndim - 2;
    if (nsp != a->nk || (a->ns >= 0 && a->ns != nsp) || (a->np >= 0 && a->np != 2 * nsp))
        return tc_onnx_fail(c, TC_ERR_ARG, "kernel_shape, strides or pads do not fit input %s", TC_SHP(x));
    if (!tc_same_shape(x, in[1])) return tc_onnx_fail(c, TC_ERR_SHAPE, "indices %s for input %s", TC_SHP(in[1]), TC_SHP(x));
    /* indices address the shape the pooling came from; output_shape may be
     * larger (then each index moves to the same coordinates there) */
    int64_t shape[TC_MAX_DIMS], from[TC_MAX_DIMS];
    from[0] = x->shape[0], from[1] = x->shape[1];
    for (int i = 0; i < nsp; i++) {
        int64_t s = a->ns > 0 ? a->strides[i] : 1, p = a->np > 0 ? a->pads[i] + a->pads[i + nsp] : 0;
        from[2 + i] = (x->shape[2 + i] - 1) * s + a->kernel[i] - p;
    }
    memcpy(shape, from, sizeof shape);
    if (n_in > 2 && in[2]) {
        if (tc_onnx_ints(c, in[2], shape, TC_MAX_DIMS, "output_shape") != x->ndim)
            return tc_onnx_fail(c, TC_ERR_ARG, "output_shape must have %d values", x->ndim);
        for (int d = 0; d < x->ndim; d++)
            if (shape[d] < from[d]) return tc_onnx_fail(c, TC_ERR_SHAPE, "output_shape is smaller than the unpooled shape");
    }
    int64_t fst[TC_MAX_DIMS], ost[TC_MAX_DIMS], nfrom = tc_shape_numel(x->ndim, from);
    tc_onnx_strides(x->ndim, from, fst);
    tc_onnx_strides(x->ndim, shape, ost);
    int64_t total = tc_shape_numel(x->ndim, shape), nx = tc_numel(x);
    int64_t *iv = int_values(c, in[1]);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total + 1));
    tc_tensor *zero;
    ONNX_TRY(c, zero = tc_scalar_tensor(0));
    if (!iv || !idx) return tc_last_status();
    for (int64_t j = 0; j < total; j++) idx[j] = nx;
    for (int64_t k = 0; k < nx; k++) {
        if (iv[k] < 0 || iv[k] >= nfrom) return tc_onnx_fail(c, TC_ERR_ARG, "index %lld is outside the output", (long long)iv[k]);
        int64_t at = 0;
        for (int d = 0; d < x->ndim; d++) at += ((iv[k] / fst[d]) % from[d]) * ost[d];
        idx[at] = k;
    }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx, x->ndim, shape));
    return TC_OK;
}

/* ---- NonMaxSuppression -------------------------------------------------------- */
typedef struct {
    bool center;
} nms_attrs;
PREP(prep_nms)
{
    (void)m;
    nms_attrs *a = ATTRS_NEW(nms_attrs);
    if (!a) return tc_last_status();
    a->center = tc_onnx_attr_int(n, "center_point_box", 0) != 0;
    return TC_OK;
}

/* a box as y1 x1 y2 x2 with y1 <= y2, x1 <= x2 */
static void nms_corners(const tc_scalar *b, bool center, double *o)
{
    if (center) {
        o[1] = b[0] - b[2] / 2, o[3] = b[0] + b[2] / 2, o[0] = b[1] - b[3] / 2, o[2] = b[1] + b[3] / 2;
    } else {
        o[0] = fmin(b[0], b[2]), o[2] = fmax(b[0], b[2]), o[1] = fmin(b[1], b[3]), o[3] = fmax(b[1], b[3]);
    }
}
static double nms_iou(const double *a, const double *b)
{
    double h = fmin(a[2], b[2]) - fmax(a[0], b[0]), w = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (h <= 0 || w <= 0) return 0;
    double inter = h * w, uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

OP(op_nms)
{
    (void)n_out;
    NEED(2);
    tc_tensor *boxes = in[0], *scores = in[1];
    if (boxes->ndim != 3 || boxes->shape[2] != 4 || scores->ndim != 3 || scores->shape[0] != boxes->shape[0] ||
        scores->shape[2] != boxes->shape[1])
        return tc_onnx_fail(c, TC_ERR_SHAPE, "boxes %s and scores %s do not fit [B, N, 4] / [B, C, N]", TC_SHP(boxes), TC_SHP(scores));
    int64_t max_out = 0;
    double iou_t = 0, score_t = -INFINITY;
    if (n_in > 2 && in[2] && tc_numel(in[2])) tc_onnx_ints(c, in[2], &max_out, 1, "max_output_boxes_per_class");
    tc_scalar v;
    if (n_in > 3 && in[3] && tc_numel(in[3])) tc_read_values(in[3], &v), iou_t = v;
    if (n_in > 4 && in[4] && tc_numel(in[4])) tc_read_values(in[4], &v), score_t = v;
    int64_t B = boxes->shape[0], N = boxes->shape[1], C = scores->shape[1];
    const tc_scalar *bv = tc_packed(boxes), *sv = tc_packed(scores);
    int64_t cap = B * C * (max_out < N ? max_out : N);
    int64_t *sel = tc_arena_alloc(sizeof *sel * (size_t)(3 * cap + 3));
    int64_t *order = tc_arena_alloc(sizeof *order * (size_t)(N + 1)), *kept = tc_arena_alloc(sizeof *kept * (size_t)(N + 1));
    double *corner = tc_arena_alloc(sizeof *corner * (size_t)(4 * N + 4));
    if (!sel || !order || !kept || !corner || ((!bv || !sv) && N)) return tc_onnx_check(c, NULL);
    int64_t ns = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t i = 0; i < N; i++) nms_corners(bv + (b * N + i) * 4, ATTRS(nms_attrs)->center, corner + 4 * i);
        for (int64_t cl = 0; cl < C; cl++) {
            const tc_scalar *s = sv + (b * C + cl) * N;
            int64_t nc = 0;
            for (int64_t i = 0; i < N; i++)
                if (s[i] > score_t) order[nc++] = i;
            sort_ctx = (topk_sort){s, 1, true}; /* by score, ties by index */
            qsort(order, (size_t)nc, sizeof *order, topk_cmp);
            int64_t nk = 0;
            for (int64_t k = 0; k < nc && nk < max_out; k++) {
                bool keep = true;
                for (int64_t j = 0; j < nk && keep; j++) keep = nms_iou(corner + 4 * order[k], corner + 4 * kept[j]) <= iou_t;
                if (!keep) continue;
                kept[nk++] = order[k];
                sel[3 * ns] = b, sel[3 * ns + 1] = cl, sel[3 * ns + 2] = order[k];
                ns++;
            }
        }
    }
    ONNX_TRY(c, out[0] = tc_onnx_from_int64(2, (int64_t[]){ns, 3}, sel));
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_index[] = {
    {"NonMaxSuppression", op_nms, prep_nms},
    {"Unique", op_unique, prep_unique}, {"MaxUnpool", op_max_unpool, prep_max_unpool},
    {"GatherElements", op_gather_elements, prep_axis0}, {"ScatterElements", op_scatter_elements, prep_axis0},
    {"Scatter", op_scatter_elements, prep_axis0}, {"GatherND", op_gather_nd, prep_nd}, {"ScatterND", op_scatter_nd, prep_nd},
    {"TopK", op_topk, prep_topk}, {"ArgMin", op_argmin, prep_argmin}, {"Hardmax", op_hardmax, prep_hardmax},
    {"OneHot", op_one_hot, prep_axis_m1}, {"Trilu", op_trilu, prep_trilu}, {"Compress", op_compress, prep_compress},
    {"ReverseSequence", op_reverse_sequence, prep_reverse_sequence}, {"CumSum", op_cumsum, prep_cumsum},
    {NULL, NULL, NULL},
};
