/* ONNX shape operators: Reshape, Flatten, Transpose, Concat, Squeeze,
 * Unsqueeze, Split, Slice, Shape, Tile, Expand, Gather, Pad, Constant. */
#include "onnx_run.h"

#include <stdlib.h>


/* A step tensor holding integers (dtype INT64 at the ONNX level). */
static tc_tensor *int_tensor(int ndim, const int64_t *shape, const int64_t *v)
{
    tc_tensor *t = tc_result(ndim, shape);
    if (t)
        for (int64_t i = 0; i < tc_numel(t); i++) t->data[i] = (tc_scalar)v[i];
    return t;
}

OP(op_shape)
{
    NEED(1);
    int r = in[0]->ndim;
    int64_t start = tc_onnx_attr_int(n, "start", 0), end = tc_onnx_attr_int(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < start ? start : end > r ? r : end;
    int64_t len = end - start;
    ONNX_TRY(c, out[0] = int_tensor(1, &len, in[0]->shape + start));
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

/* Constant: the value is decoded once at load and copied into each run's
 * step (a consumer may be an in-place-free op, but the copy keeps the
 * model's own tensor out of any tape) */
typedef struct {
    tc_tensor *value;
    tc_onnx_dtype dtype;
} constant_attrs;

static void free_constant(void *p)
{
    constant_attrs *a = p;
    if (a) tc_tensor_free(a->value);
    free(a);
}

PREP(prep_constant)
{
    constant_attrs *a = ATTRS_NEW(constant_attrs);
    if (!a) return tc_last_status();
    n->free_attrs = free_constant;
    const Onnx__AttributeProto *at;
    if ((at = tc_onnx_attr(n, "value")) && at->t) {
        a->value = tc_onnx_decode_tensor(at->t, m->dir, &a->dtype, n->label);
        return a->value ? TC_OK : tc_last_status();
    }
    int64_t len = -1;
    if ((at = tc_onnx_attr(n, "value_float")) && at->has_f) {
        a->dtype = TC_ONNX_FLOAT;
        a->value = tc_tensor_new(0, NULL);
        if (a->value) a->value->data[0] = at->f;
    } else if ((at = tc_onnx_attr(n, "value_int")) && at->has_i) {
        a->dtype = TC_ONNX_INT64;
        a->value = tc_tensor_new(0, NULL);
        if (a->value) a->value->data[0] = (tc_scalar)at->i;
    } else if ((at = tc_onnx_attr(n, "value_floats"))) {
        a->dtype = TC_ONNX_FLOAT;
        len = (int64_t)at->n_floats;
        a->value = tc_tensor_new(1, &len);
        for (int64_t i = 0; a->value && i < len; i++) a->value->data[i] = at->floats[i];
    } else if ((at = tc_onnx_attr(n, "value_ints"))) {
        a->dtype = TC_ONNX_INT64;
        len = (int64_t)at->n_ints;
        a->value = tc_tensor_new(1, &len);
        for (int64_t i = 0; a->value && i < len; i++) a->value->data[i] = (tc_scalar)at->ints[i];
    } else
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "no supported value attribute");
    return a->value ? TC_OK : tc_last_status();
}

tc_tensor *tc_onnx_constant_take(onnx_node *n, tc_onnx_dtype *dtype)
{
    constant_attrs *a = n->attrs;
    if (!a || !a->value || n->prep_error) return NULL;
    tc_tensor *t = a->value;
    a->value = NULL;
    *dtype = a->dtype;
    return t;
}

OP(op_constant)
{
    const constant_attrs *a = ATTRS(constant_attrs);
    ONNX_TRY(c, out[0] = tc_copy_of(a->value->data, a->value->ndim, a->value->shape));
    c->out_dtype[0] = a->dtype;
    return TC_OK;
}

/* one integer attribute, read once at load */
typedef struct {
    int64_t v;
} int_attr;
#define PREP_INT(name, attr, dflt)                          \
    PREP(name)                                              \
    {                                                       \
        (void)m;                                            \
        int_attr *a = ATTRS_NEW(int_attr);                  \
        if (!a) return tc_last_status();                    \
        a->v = tc_onnx_attr_int(n, attr, dflt);             \
        return TC_OK;                                       \
    }
PREP_INT(prep_allowzero, "allowzero", 0)
PREP_INT(prep_axis1, "axis", 1)
PREP_INT(prep_axis0, "axis", 0)

OP(op_reshape)
{
    NEED(2);
    int64_t shape[TC_MAX_DIMS];
    int r = tc_onnx_ints(c, in[1], shape, TC_MAX_DIMS, "shape");
    if (r < 0) return tc_last_status();
    bool allowzero = ATTRS(int_attr)->v != 0;
    for (int i = 0; i < r; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= in[0]->ndim) return tc_onnx_fail(c, TC_ERR_SHAPE, "shape entry %d is 0 but the input has rank %d", i, in[0]->ndim);
            shape[i] = in[0]->shape[i];
        }
    }
    ONNX_TRY(c, out[0] = tc_reshape(in[0], r, shape));
    return TC_OK;
}

OP(op_flatten)
{
    NEED(1);
    int64_t axis = ATTRS(int_attr)->v;
    if (axis < 0) axis += in[0]->ndim;
    if (axis < 0 || axis > in[0]->ndim) return tc_onnx_fail(c, TC_ERR_ARG, "axis out of range for rank %d", in[0]->ndim);
    ONNX_TRY(c, out[0] = tc_flatten(in[0], (int)axis));
    return TC_OK;
}

typedef struct {
    int n_perm;
    int64_t perm[TC_MAX_DIMS];
} perm_attrs;
PREP(prep_transpose)
{
    (void)m;
    perm_attrs *a = ATTRS_NEW(perm_attrs);
    if (!a) return tc_last_status();
    a->n_perm = tc_onnx_attr_ints(n, "perm", a->perm, TC_MAX_DIMS);
    return TC_OK;
}

OP(op_transpose)
{
    NEED(1);
    int r = in[0]->ndim, perm[TC_MAX_DIMS];
    const int64_t *p64 = ATTRS(perm_attrs)->perm;
    int k = ATTRS(perm_attrs)->n_perm;
    if (k >= 0 && k != r) return tc_onnx_fail(c, TC_ERR_ARG, "perm has %d entries for rank %d", k, r);
    for (int i = 0; i < r; i++) perm[i] = k >= 0 ? (int)p64[i] : r - 1 - i;
    ONNX_TRY(c, out[0] = tc_transpose(in[0], perm));
    return TC_OK;
}

/* the most inputs joined channels-last (DenseNet-121's widest Concat has 49) */
#define TC_ONNX_CONCAT_CL_MAX 256

OP(op_concat)
{
    if (n_in < 1) return tc_onnx_fail(c, TC_ERR_ARG, "needs inputs");
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return tc_onnx_fail(c, TC_ERR_ARG, "input %d is missing", i);
    int axis = tc_onnx_axis(c, ATTRS(int_attr)->v, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    /* channels of convolution or pooling outputs (channels-last buffers seen
     * as NCHW): joined channels-last, runs of whole pixels copied, and the
     * result stays channels-last for the convolutions and pools that read it
     * (an NCHW result would be a transposing copy here and another in each
     * reader). The same values either way. */
    if (axis == 1 && in[0]->ndim >= 3 && n_in <= TC_ONNX_CONCAT_CL_MAX) {
        tc_tensor *cl[TC_ONNX_CONCAT_CL_MAX];
        bool any_cl = false;
        for (int i = 0; i < n_in; i++) {
            ONNX_TRY(c, cl[i] = tc_onnx_to_cl(in[i]));
            any_cl = any_cl || tc_is_contiguous(cl[i]);
        }
        if (any_cl) {
            tc_tensor *y;
            ONNX_TRY(c, y = tc_concat(n_in, cl, in[0]->ndim - 1));
            ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
            return TC_OK;
        }
    }
    ONNX_TRY(c, out[0] = tc_concat(n_in, in, axis));
    return TC_OK;
}

static int axes_of(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int64_t *axes)
{
    if (c->m->opset >= 13) return n_in > 1 && in[1] ? tc_onnx_ints(c, in[1], axes, TC_MAX_DIMS, "axes") : 0;
    int k = tc_onnx_attr_ints(n, "axes", axes, TC_MAX_DIMS);
    return k < 0 ? 0 : k;
}

OP(op_squeeze)
{
    NEED(1);
    int64_t axes[TC_MAX_DIMS];
    int na = axes_of(c, n, n_in, in, axes);
    if (na < 0) return tc_last_status();
    int r = in[0]->ndim;
    bool drop[TC_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a = tc_onnx_axis(c, axes[i], r);
        if (a < 0) return tc_last_status();
        if (in[0]->shape[a] != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "axis %d has size %lld, not 1", a, (long long)in[0]->shape[a]);
        drop[a] = true;
    }
    int64_t shape[TC_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < r; i++)
        if (!(na ? drop[i] : in[0]->shape[i] == 1)) shape[k++] = in[0]->shape[i];
    ONNX_TRY(c, out[0] = tc_reshape(in[0], k, shape));
    return TC_OK;
}

OP(op_unsqueeze)
{
    NEED(1);
    int64_t axes[TC_MAX_DIMS];
    int na = axes_of(c, n, n_in, in, axes);
    if (na < 0) return tc_last_status();
    int r = in[0]->ndim + na;
    if (r > TC_MAX_DIMS) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "result rank %d is over %d", r, TC_MAX_DIMS);
    bool ins[TC_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a = tc_onnx_axis(c, axes[i], r);
        if (a < 0) return tc_last_status();
        ins[a] = true;
    }
    int64_t shape[TC_MAX_DIMS];
    for (int i = 0, k = 0; i < r; i++) shape[i] = ins[i] ? 1 : in[0]->shape[k++];
    ONNX_TRY(c, out[0] = tc_reshape(in[0], r, shape));
    return TC_OK;
}

OP(op_split)
{
    NEED(1);
    int axis = tc_onnx_axis(c, tc_onnx_attr_int(n, "axis", 0), in[0]->ndim);
    if (axis < 0) return tc_last_status();
    int64_t *sizes = tc_arena_alloc(sizeof *sizes * (size_t)(n_out + 1));
    if (!sizes) return tc_last_status();
    int k;
    if (c->m->opset >= 13 && n_in > 1 && in[1]) {
        k = tc_onnx_ints(c, in[1], sizes, n_out, "split");
        if (k < 0) return tc_last_status();
    } else if (c->m->opset < 13 && tc_onnx_attr(n, "split")) {
        k = tc_onnx_attr_ints(n, "split", sizes, n_out);
    } else { /* equal parts (the last one smaller if the size does not divide) */
        int64_t dim = in[0]->shape[axis], part = (dim + n_out - 1) / n_out;
        k = n_out;
        for (int i = 0; i < k; i++) {
            int64_t left = dim - part * i;
            sizes[i] = left < part ? (left > 0 ? left : 0) : part;
        }
    }
    if (k != n_out) return tc_onnx_fail(c, TC_ERR_ARG, "split has %d sizes for %d outputs", k, n_out);
    if (tc_split(in[0], axis, k, sizes, out) != TC_OK) return tc_onnx_check(c, NULL);
    return TC_OK;
}

OP(op_slice)
{
    NEED(1);
    int r = in[0]->ndim;
    int64_t st[TC_MAX_DIMS], en[TC_MAX_DIMS], ax[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    int ns, ne, na = -1, np = -1;
    if (c->m->opset < 10) {
        ns = tc_onnx_attr_ints(n, "starts", st, TC_MAX_DIMS);
        ne = tc_onnx_attr_ints(n, "ends", en, TC_MAX_DIMS);
        na = tc_onnx_attr_ints(n, "axes", ax, TC_MAX_DIMS);
    } else {
        NEED(3);
        ns = tc_onnx_ints(c, in[1], st, TC_MAX_DIMS, "starts");
        ne = tc_onnx_ints(c, in[2], en, TC_MAX_DIMS, "ends");
        if (n_in > 3 && in[3]) na = tc_onnx_ints(c, in[3], ax, TC_MAX_DIMS, "axes");
        if (n_in > 4 && in[4]) np = tc_onnx_ints(c, in[4], sp, TC_MAX_DIMS, "steps");
    }
    if (ns < 0 || ne < 0 || ns != ne || (na >= 0 && na != ns) || (np >= 0 && np != ns))
        return tc_onnx_fail(c, TC_ERR_ARG, "starts, ends, axes and steps must have the same length");
    int64_t starts[TC_MAX_DIMS], ends[TC_MAX_DIMS], steps[TC_MAX_DIMS];
    for (int d = 0; d < r; d++) starts[d] = 0, ends[d] = in[0]->shape[d], steps[d] = 1;
    for (int i = 0; i < ns; i++) {
        int a = tc_onnx_axis(c, na >= 0 ? ax[i] : i, r);
        if (a < 0) return tc_last_status();
        int64_t dim = in[0]->shape[a], lo = -(dim + 1);
        /* pre-clamp so that INT64 extremes cannot overflow */
        starts[a] = st[i] < lo ? lo : st[i] > dim ? dim : st[i];
        ends[a] = en[i] < lo ? lo : en[i] > dim ? dim : en[i];
        steps[a] = np >= 0 ? sp[i] : 1;
        if (steps[a] == 0) return tc_onnx_fail(c, TC_ERR_ARG, "step 0 on axis %d", a);
    }
    ONNX_TRY(c, out[0] = tc_slice(in[0], starts, ends, steps));
    return TC_OK;
}

OP(op_tile)
{
    NEED(2);
    int64_t reps[TC_MAX_DIMS];
    int k = tc_onnx_ints(c, in[1], reps, TC_MAX_DIMS, "repeats");
    if (k < 0) return tc_last_status();
    if (k != in[0]->ndim) return tc_onnx_fail(c, TC_ERR_SHAPE, "repeats has %d values for rank %d", k, in[0]->ndim);
    ONNX_TRY(c, out[0] = tc_tile(in[0], reps));
    return TC_OK;
}

OP(op_expand)
{
    NEED(2);
    int64_t shape[TC_MAX_DIMS];
    int k = tc_onnx_ints(c, in[1], shape, TC_MAX_DIMS, "shape");
    if (k < 0) return tc_last_status();
    ONNX_TRY(c, out[0] = tc_expand(in[0], k, shape));
    return TC_OK;
}

OP(op_gather)
{
    NEED(2);
    int axis = tc_onnx_axis(c, ATTRS(int_attr)->v, in[0]->ndim);
    if (axis < 0) return tc_last_status();
    ONNX_TRY(c, out[0] = tc_gather(in[0], in[1], axis));
    return TC_OK;
}

OP(op_pad)
{
    NEED(1);
    int r = in[0]->ndim;
    int64_t pads[2 * TC_MAX_DIMS];
    int k;
    float value = 0;
    const char *mode = tc_onnx_attr_string(n, "mode", "constant");
    char mode_buf[32];
    snprintf(mode_buf, sizeof mode_buf, "%s", mode);
    if (c->m->opset < 11) {
        k = tc_onnx_attr_ints(n, "pads", pads, 2 * TC_MAX_DIMS);
        value = tc_onnx_attr_float(n, "value", 0);
    } else {
        NEED(2);
        k = tc_onnx_ints(c, in[1], pads, 2 * TC_MAX_DIMS, "pads");
        if (n_in > 2 && in[2]) {
            tc_scalar v;
            tc_read_values(in[2], &v);
            value = (float)v;
        }
    }
    if (k != 2 * r) return tc_onnx_fail(c, TC_ERR_ARG, "pads has %d values for rank %d", k, r);
    tc_pad_mode pm = !strcmp(mode_buf, "reflect") ? TC_PAD_REFLECT : !strcmp(mode_buf, "edge") ? TC_PAD_EDGE : TC_PAD_CONSTANT;
    if (strcmp(mode_buf, "constant") && strcmp(mode_buf, "reflect") && strcmp(mode_buf, "edge"))
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "pad mode '%s'", mode_buf);
    /* negative pads crop: slice first, then pad the rest */
    int64_t before[TC_MAX_DIMS], after[TC_MAX_DIMS], starts[TC_MAX_DIMS], ends[TC_MAX_DIMS];
    bool crop = false;
    for (int d = 0; d < r; d++) {
        before[d] = pads[d] > 0 ? pads[d] : 0;
        after[d] = pads[d + r] > 0 ? pads[d + r] : 0;
        starts[d] = pads[d] < 0 ? -pads[d] : 0;
        ends[d] = in[0]->shape[d] + (pads[d + r] < 0 ? pads[d + r] : 0);
        crop |= pads[d] < 0 || pads[d + r] < 0;
    }
    tc_tensor *x = in[0];
    if (crop) ONNX_TRY(c, x = tc_slice(x, starts, ends, NULL));
    tc_tensor *xcl = r >= 3 && !tc_is_contiguous(x) ? tc_onnx_to_cl(x) : NULL;
    if (xcl && tc_is_contiguous(xcl)) {
        /* a channels-last buffer (a convolution's or a pool's output, as
         * Inception-v3's Pad before each AveragePool reads): padded in its own
         * layout, and the result stays channels-last for the pool, instead of
         * a transposing copy here and another in the reader */
        int64_t bcl[TC_MAX_DIMS], acl[TC_MAX_DIMS];
        bcl[0] = before[0], acl[0] = after[0];
        for (int d = 2; d < r; d++) bcl[d - 1] = before[d], acl[d - 1] = after[d];
        bcl[r - 1] = before[1], acl[r - 1] = after[1];
        tc_tensor *y;
        ONNX_TRY(c, y = tc_pad(xcl, bcl, acl, pm, value));
        ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
        return TC_OK;
    }
    ONNX_TRY(c, out[0] = tc_pad(x, before, after, pm, value));
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_shape[] = {
    {"Shape", op_shape, NULL}, {"Constant", op_constant, prep_constant}, {"Reshape", op_reshape, prep_allowzero},
    {"Flatten", op_flatten, prep_axis1}, {"Transpose", op_transpose, prep_transpose}, {"Concat", op_concat, prep_axis0},
    {"Squeeze", op_squeeze, NULL}, {"Unsqueeze", op_unsqueeze, NULL}, {"Split", op_split, NULL},
    {"Slice", op_slice, NULL}, {"Tile", op_tile, NULL}, {"Expand", op_expand, NULL},
    {"Gather", op_gather, prep_axis0}, {"Pad", op_pad, NULL},
    {NULL, NULL, NULL},
};
