/* Shape ops: slices (views), concat, split, and the index-map family (pad,
 * tile, expand: out[o] = x[map_0[o_0], ..., map_k[o_k]], or a constant where
 * a map says -1), and gather. Backward passes scatter-add in a fixed order. */
#include "../core/internal.h"

/* ---- slices: strided views ------------------------------------------------------- */
typedef struct {
    int64_t offset;                  /* of the view's first element in x's packed layout */
    int64_t strides[TC_MAX_DIMS];    /* in x's packed layout */
} slice_saved;

static tc_tensor *make_slice(tc_tensor *x, const int64_t *starts, const int64_t *lens, const int64_t *steps)
{
    int64_t shape[TC_MAX_DIMS], strides[TC_MAX_DIMS], off = x->offset, poff = 0, pst[TC_MAX_DIMS];
    tc_contiguous_strides(x->ndim, x->shape, pst);
    slice_saved s = {0};
    for (int d = 0; d < x->ndim; d++) {
        shape[d] = lens[d];
        strides[d] = x->strides[d] * steps[d];
        off += starts[d] * x->strides[d];
        poff += starts[d] * pst[d];
        s.strides[d] = pst[d] * steps[d];
    }
    s.offset = poff;
    tc_tensor *y = tc_view_of(x->storage, off, x->ndim, shape, strides);
    if (!y) return NULL;
    tc_node *nd = tc_record(TC_OP_slice, y, 1, &x, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_slice(tc_node *n, const tc_tensor *gy)
{
    const slice_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    int64_t gst[TC_MAX_DIMS];
    tc_contiguous_strides(gy->ndim, gy->shape, gst);
    tc_strided_apply(gy->ndim, gy->shape, gx->data + s->offset, s->strides, gy->data, gst, true);
}

tc_tensor *tc_slice(tc_tensor *x, const int64_t *starts, const int64_t *ends, const int64_t *steps)
{
    TC_CHECK(x, TC_ERR_ARG, "slice: input is NULL");
    TC_CHECK(starts && ends, TC_ERR_ARG, "slice: starts or ends is NULL for input %s", TC_SHP(x));
    int64_t st[TC_MAX_DIMS], len[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        int64_t n = x->shape[d], step = steps ? steps[d] : 1, b = starts[d], e = ends[d];
        TC_CHECK(step != 0, TC_ERR_ARG, "slice: step 0 on axis %d of %s", d, TC_SHP(x));
        /* Python's rules: negative indices count from the end, then clamp */
        if (b < 0) b += n;
        if (e < 0) e += n;
        if (step > 0) {
            b = b < 0 ? 0 : b > n ? n : b;
            e = e < 0 ? 0 : e > n ? n : e;
            len[d] = e > b ? (e - b + step - 1) / step : 0;
        } else {
            b = b < -1 ? -1 : b > n - 1 ? n - 1 : b;
            e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
            len[d] = b > e ? (b - e + (-step) - 1) / (-step) : 0;
        }
        st[d] = len[d] ? b : 0;
        sp[d] = step;
    }
    return make_slice(x, st, len, sp);
}

tc_tensor *tc_narrow(tc_tensor *x, int axis, int64_t start, int64_t length)
{
    TC_CHECK(x, TC_ERR_ARG, "narrow: input is NULL");
    int a = tc_axis(axis, x->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "narrow: axis %d is out of range for input %s", axis, TC_SHP(x));
    TC_CHECK(start >= 0 && length >= 0 && start + length <= x->shape[a], TC_ERR_SHAPE,
             "narrow: [%lld, %lld) is outside axis %d of %s", (long long)start, (long long)(start + length), axis,
             TC_SHP(x));
    int64_t st[TC_MAX_DIMS] = {0}, len[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) len[d] = x->shape[d], sp[d] = 1;
    st[a] = start;
    len[a] = length;
    return make_slice(x, st, len, sp);
}

tc_status tc_split(tc_tensor *x, int axis, int n, const int64_t *sizes, tc_tensor **outs)
{
    if (!x || !sizes || !outs || n < 1) return tc_error(TC_ERR_ARG, "split: NULL input, sizes or outputs, or n < 1");
    int a = tc_axis(axis, x->ndim);
    if (a < 0) return tc_error(TC_ERR_ARG, "split: axis %d is out of range for input %s", axis, TC_SHP(x));
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0) return tc_error(TC_ERR_ARG, "split: negative size %lld", (long long)sizes[i]);
        total += sizes[i];
    }
    if (total != x->shape[a])
        return tc_error(TC_ERR_SHAPE, "split: sizes add up to %lld but axis %d of %s has %lld", (long long)total, axis,
                        TC_SHP(x), (long long)x->shape[a]);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        outs[i] = tc_narrow(x, a, at, sizes[i]);
        if (!outs[i]) return tc_last_status();
        at += sizes[i];
    }
    return TC_OK;
}

/* ---- concat ------------------------------------------------------------------------- */
typedef struct { int axis; } concat_saved;

tc_tensor *tc_concat(int n, tc_tensor *const *xs, int axis)
{
    TC_CHECK(n >= 1 && xs, TC_ERR_ARG, "concat: no inputs");
    for (int i = 0; i < n; i++) TC_CHECK(xs[i], TC_ERR_ARG, "concat: input %d is NULL", i);
    int a = tc_axis(axis, xs[0]->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "concat: axis %d is out of range for input %s", axis, TC_SHP(xs[0]));
    int64_t shape[TC_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[a] = 0;
    for (int i = 0; i < n; i++) {
        bool ok = xs[i]->ndim == xs[0]->ndim;
        for (int d = 0; ok && d < xs[0]->ndim; d++) ok = d == a || xs[i]->shape[d] == xs[0]->shape[d];
        TC_CHECK(ok, TC_ERR_SHAPE, "concat: input %d has shape %s but input 0 has %s (axis %d)", i, TC_SHP(xs[i]),
                 TC_SHP(xs[0]), axis);
        shape[a] += xs[i]->shape[a];
    }
    tc_tensor *y = tc_result(xs[0]->ndim, shape);
    if (!y) return NULL;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        tc_strided_apply(xs[i]->ndim, xs[i]->shape, y->data + at * y->strides[a], y->strides, xs[i]->data,
                         xs[i]->strides, false);
        at += xs[i]->shape[a];
    }
    tc_node *nd = tc_record(TC_OP_concat, y, n, xs, sizeof(concat_saved));
    if (nd) ((concat_saved *)nd->saved)->axis = a;
    return y;
}

void tc_backward_concat(tc_node *n, const tc_tensor *gy)
{
    int a = ((concat_saved *)n->saved)->axis;
    int64_t at = 0, gst[TC_MAX_DIMS];
    tc_contiguous_strides(gy->ndim, gy->shape, gst);
    for (int i = 0; i < n->n_inputs; i++) {
        tc_tensor *x = n->inputs[i], *gx = tc_grad_for(x);
        if (gx)
            tc_strided_apply(x->ndim, x->shape, gx->data, gx->strides, gy->data + at * gst[a], gst, true);
        at += x->shape[a];
    }
}

/* ---- index maps: pad, tile, expand ---------------------------------------------------- */
typedef struct {
    int ndim;                      /* output rank (== input rank after padding with 1s) */
    int64_t oshape[TC_MAX_DIMS];
    int64_t *map[TC_MAX_DIMS];     /* per output axis: input index, or -1 for the constant */
    int64_t xstride[TC_MAX_DIMS];  /* packed input strides (rank-aligned) */
    const tc_scalar *x;
    tc_scalar value;
} index_map;

static tc_tensor *run_index_map(int op, tc_tensor *x, index_map *m)
{
    tc_tensor *y = tc_result(m->ndim, m->oshape);
    if (!y) return NULL;
    int64_t n = tc_numel(y), idx[TC_MAX_DIMS] = {0};
    int r = m->ndim;
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0;
        bool constant = false;
        for (int d = 0; d < r; d++) {
            int64_t s = m->map[d][idx[d]];
            if (s < 0) constant = true;
            off += s * m->xstride[d];
        }
        y->data[e] = constant ? m->value : m->x[off];
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < m->oshape[d]) break;
            idx[d] = 0;
        }
    }
    tc_node *nd = tc_record(op, y, 1, &x, sizeof *m);
    if (nd) memcpy(nd->saved, m, sizeof *m);
    return y;
}

static void index_map_backward(tc_node *nd, const tc_tensor *gy)
{
    const index_map *m = nd->saved;
    tc_tensor *gx = tc_grad_for(nd->inputs[0]);
    if (!gx) return;
    int64_t n = tc_numel(gy), idx[TC_MAX_DIMS] = {0};
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0;
        bool constant = false;
        for (int d = 0; d < m->ndim; d++) {
            int64_t s = m->map[d][idx[d]];
            if (s < 0) constant = true;
            off += s * m->xstride[d];
        }
        if (!constant) gx->data[off] += gy->data[e];
        for (int d = m->ndim - 1; d >= 0; d--) {
            if (++idx[d] < m->oshape[d]) break;
            idx[d] = 0;
        }
    }
}
void tc_backward_pad(tc_node *n, const tc_tensor *gy) { index_map_backward(n, gy); }
void tc_backward_tile(tc_node *n, const tc_tensor *gy) { index_map_backward(n, gy); }
void tc_backward_expand(tc_node *n, const tc_tensor *gy) { index_map_backward(n, gy); }

static bool map_alloc(index_map *m)
{
    for (int d = 0; d < m->ndim; d++) {
        m->map[d] = tc_arena_alloc(sizeof(int64_t) * (size_t)(m->oshape[d] + 1));
        if (!m->map[d]) return false;
    }
    return true;
}

tc_tensor *tc_pad(tc_tensor *x, const int64_t *before, const int64_t *after, tc_pad_mode mode, tc_scalar value)
{
    TC_CHECK(x, TC_ERR_ARG, "pad: input is NULL");
    TC_CHECK(before && after, TC_ERR_ARG, "pad: pads are NULL for input %s", TC_SHP(x));
    TC_CHECK(mode == TC_PAD_CONSTANT || mode == TC_PAD_REFLECT || mode == TC_PAD_EDGE, TC_ERR_ARG,
             "pad: unknown mode %d", (int)mode);
    index_map m = {.ndim = x->ndim, .value = value};
    for (int d = 0; d < x->ndim; d++) {
        int64_t n = x->shape[d];
        TC_CHECK(before[d] >= 0 && after[d] >= 0, TC_ERR_ARG, "pad: negative padding on axis %d of %s", d, TC_SHP(x));
        TC_CHECK(mode != TC_PAD_REFLECT || (before[d] < n && after[d] < n) || (before[d] == 0 && after[d] == 0),
                 TC_ERR_SHAPE, "pad: reflect padding of %lld/%lld on axis %d of %s needs pads below the size %lld",
                 (long long)before[d], (long long)after[d], d, TC_SHP(x), (long long)n);
        TC_CHECK(mode != TC_PAD_EDGE || n > 0 || (before[d] == 0 && after[d] == 0), TC_ERR_SHAPE,
                 "pad: edge padding of the empty axis %d of %s", d, TC_SHP(x));
        m.oshape[d] = n + before[d] + after[d];
    }
    tc_contiguous_strides(x->ndim, x->shape, m.xstride);
    if (!map_alloc(&m)) return NULL;
    for (int d = 0; d < x->ndim; d++) {
        int64_t n = x->shape[d];
        for (int64_t o = 0; o < m.oshape[d]; o++) {
            int64_t i = o - before[d];
            if (i < 0 || i >= n) {
                if (mode == TC_PAD_CONSTANT) i = -1;
                else if (mode == TC_PAD_EDGE) i = i < 0 ? 0 : n - 1;
                else i = i < 0 ? -i : 2 * (n - 1) - i; /* reflect without repeating the edge */
            }
            m.map[d][o] = i;
        }
    }
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_pad, x, &m) : NULL;
}

tc_tensor *tc_tile(tc_tensor *x, const int64_t *repeats)
{
    TC_CHECK(x, TC_ERR_ARG, "tile: input is NULL");
    TC_CHECK(repeats || x->ndim == 0, TC_ERR_ARG, "tile: repeats is NULL for input %s", TC_SHP(x));
    index_map m = {.ndim = x->ndim};
    for (int d = 0; d < x->ndim; d++) {
        TC_CHECK(repeats[d] >= 0, TC_ERR_ARG, "tile: negative repeat %lld on axis %d of %s", (long long)repeats[d], d,
                 TC_SHP(x));
        m.oshape[d] = x->shape[d] * repeats[d];
    }
    tc_contiguous_strides(x->ndim, x->shape, m.xstride);
    if (!map_alloc(&m)) return NULL;
    for (int d = 0; d < x->ndim; d++)
        for (int64_t o = 0; o < m.oshape[d]; o++) m.map[d][o] = o % x->shape[d];
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_tile, x, &m) : NULL;
}

tc_tensor *tc_expand(tc_tensor *x, int ndim, const int64_t *shape)
{
    TC_CHECK(x, TC_ERR_ARG, "expand: input is NULL");
    TC_CHECK(ndim >= 0 && ndim <= TC_MAX_DIMS && (shape || ndim == 0), TC_ERR_ARG, "expand: bad target rank %d", ndim);
    /* ONNX/NumPy: the result shape is the broadcast of both shapes */
    int r = ndim > x->ndim ? ndim : x->ndim;
    index_map m = {.ndim = r};
    int64_t xs[TC_MAX_DIMS], pst[TC_MAX_DIMS];
    tc_contiguous_strides(x->ndim, x->shape, pst);
    char b[TC_SHAPE_STR_MAX];
    for (int d = 0; d < r; d++) {
        int dx = d - (r - x->ndim), dt = d - (r - ndim);
        int64_t nx = dx >= 0 ? x->shape[dx] : 1, nt = dt >= 0 ? shape[dt] : 1;
        TC_CHECK(nx == nt || nx == 1 || nt == 1, TC_ERR_SHAPE, "expand: %s cannot broadcast to %s", TC_SHP(x),
                 tc_dims_str(ndim, shape, b, sizeof b));
        xs[d] = nx;
        m.oshape[d] = nx == 1 ? nt : nx;
        m.xstride[d] = dx >= 0 ? pst[dx] : 0;
    }
    if (!map_alloc(&m)) return NULL;
    for (int d = 0; d < r; d++)
        for (int64_t o = 0; o < m.oshape[d]; o++) m.map[d][o] = xs[d] == 1 ? 0 : o;
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_expand, x, &m) : NULL;
}

/* ---- gather -------------------------------------------------------------------------- */
typedef struct {
    int64_t outer, len, inner, nidx;
    int64_t *idx; /* normalised indices */
} gather_saved;

tc_tensor *tc_gather(tc_tensor *table, tc_tensor *indices, int axis)
{
    TC_CHECK(table && indices, TC_ERR_ARG, "gather: %s is NULL", table ? "indices" : "table");
    int a = tc_axis(axis, table->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "gather: axis %d is out of range for table %s", axis, TC_SHP(table));
    TC_CHECK(table->ndim - 1 + indices->ndim <= TC_MAX_DIMS, TC_ERR_SHAPE, "gather: result of table %s and indices %s has too many dimensions", TC_SHP(table), TC_SHP(indices));
    gather_saved s = {tc_shape_numel(a, table->shape), table->shape[a],
                      tc_shape_numel(table->ndim - a - 1, table->shape + a + 1), tc_numel(indices), NULL};
    s.idx = tc_arena_alloc(sizeof(int64_t) * (size_t)(s.nidx + 1));
    const tc_scalar *iv = tc_packed(indices);
    if (!s.idx || !iv) return NULL;
    for (int64_t i = 0; i < s.nidx; i++) {
        double v = (double)iv[i];
        int64_t k = (int64_t)v;
        TC_CHECK((double)k == v, TC_ERR_ARG, "gather: index %g at position %lld is not a whole number", v, (long long)i);
        if (k < 0) k += s.len;
        TC_CHECK(k >= 0 && k < s.len, TC_ERR_ARG, "gather: index %lld at position %lld is out of range for axis %d of table %s",
                 (long long)v, (long long)i, axis, TC_SHP(table));
        s.idx[i] = k;
    }
    int64_t shape[TC_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < a; d++) shape[r++] = table->shape[d];
    for (int d = 0; d < indices->ndim; d++) shape[r++] = indices->shape[d];
    for (int d = a + 1; d < table->ndim; d++) shape[r++] = table->shape[d];
    tc_tensor *y = tc_result(r, shape);
    const tc_scalar *t = tc_packed(table);
    if (!y || !t) return NULL;
    for (int64_t o = 0; o < s.outer; o++)
        for (int64_t i = 0; i < s.nidx; i++)
            memcpy(y->data + (o * s.nidx + i) * s.inner, t + (o * s.len + s.idx[i]) * s.inner,
                   sizeof(tc_scalar) * (size_t)s.inner);
    tc_node *nd = tc_record(TC_OP_gather, y, 2, (tc_tensor *[]){table, indices}, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_gather(tc_node *n, const tc_tensor *gy)
{
    const gather_saved *s = n->saved;
    tc_tensor *gt = tc_grad_for(n->inputs[0]);
    if (!gt) return; /* indices get no gradient */
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t i = 0; i < s->nidx; i++)
            tc_accumulate(gt->data + (o * s->len + s->idx[i]) * s->inner, gy->data + (o * s->nidx + i) * s->inner,
                          s->inner);
}
