/* Shape ops, part 1: the strided copy that the family shares, and the views
 * (slice, narrow, split). A view's backward adds the output gradient into
 * the positions of the input's gradient that the view covers.
 * concat is in concat.c; pad, tile and expand in pad.c; gather in gather.c. */
#include "shape_internal.h"

/* ---- strided copy ------------------------------------------------------------------ */
typedef struct {
    int nd;                       /* after merging; >= 1 */
    int64_t shape[TC_MAX_DIMS];
    int64_t ds[TC_MAX_DIMS], ss[TC_MAX_DIMS];
    tc_scalar *dst;
    const tc_scalar *src;
    bool acc;
} copy_job;

/* Rows [begin, end) of the job: a row is the last (merged) axis. */
static void copy_rows(void *ctx, int64_t begin, int64_t end)
{
    const copy_job *j = ctx;
    int last = j->nd - 1;
    int64_t inner = j->shape[last], dsl = j->ds[last], ssl = j->ss[last];
    int64_t idx[TC_MAX_DIMS] = {0}, doff = 0, soff = 0, r = begin;
    for (int d = last - 1; d >= 0; d--) { /* unravel the first row of the chunk */
        idx[d] = r % j->shape[d];
        r /= j->shape[d];
        doff += idx[d] * j->ds[d];
        soff += idx[d] * j->ss[d];
    }
    for (int64_t row = begin; row < end; row++) {
        tc_scalar *d = j->dst + doff;
        const tc_scalar *s = j->src + soff;
        if (dsl == 1 && ssl == 1) {
            if (j->acc)
                for (int64_t i = 0; i < inner; i++) d[i] += s[i];
            else
                memcpy(d, s, sizeof(tc_scalar) * (size_t)inner);
        } else if (j->acc) {
            for (int64_t i = 0; i < inner; i++) d[i * dsl] += s[i * ssl];
        } else {
            for (int64_t i = 0; i < inner; i++) d[i * dsl] = s[i * ssl];
        }
        for (int k = last - 1; k >= 0; k--) {
            doff += j->ds[k];
            soff += j->ss[k];
            if (++idx[k] < j->shape[k]) break;
            doff -= idx[k] * j->ds[k];
            soff -= idx[k] * j->ss[k];
            idx[k] = 0;
        }
    }
}

void tc_shape_copy(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                   const tc_scalar *src, const int64_t *src_strides, bool accumulate)
{
    int64_t n = tc_shape_numel(ndim, shape);
    if (n == 0) return;
    copy_job j = {.nd = 0, .dst = dst, .src = src, .acc = accumulate};
    /* drop size-1 axes, then merge an axis into the previous one when both
     * layouts step over it as one run */
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        int k = j.nd - 1;
        if (k >= 0 && j.ds[k] == dst_strides[d] * shape[d] && j.ss[k] == src_strides[d] * shape[d]) {
            j.shape[k] *= shape[d];
            j.ds[k] = dst_strides[d];
            j.ss[k] = src_strides[d];
            continue;
        }
        j.shape[j.nd] = shape[d];
        j.ds[j.nd] = dst_strides[d];
        j.ss[j.nd] = src_strides[d];
        j.nd++;
    }
    if (j.nd == 0) { /* a single value */
        j.nd = 1;
        j.shape[0] = 1;
        j.ds[0] = j.ss[0] = 1;
    }
    int64_t inner = j.shape[j.nd - 1], rows = n / inner;
    if (n < TC_SHAPE_PARALLEL_MIN)
        copy_rows(&j, 0, rows);
    else
        tc_parallel_for(rows, 1 + TC_SHAPE_PARALLEL_MIN / 4 / inner, copy_rows, &j);
}

/* ---- slices: strided views ------------------------------------------------------------ */
typedef struct {
    int64_t offset;                  /* of the view's first element in x's packed layout */
    int64_t strides[TC_MAX_DIMS];    /* in x's packed layout (the layout of x's gradient) */
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

tc_status tc_backward_slice(tc_node *n, const tc_tensor *gy)
{
    const slice_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    /* distinct view positions are distinct input positions (steps are non-zero) */
    tc_shape_copy(gy->ndim, gy->shape, gx->data + s->offset, s->strides, gy->data, gy->strides, true);
    return TC_OK;
}

tc_tensor *tc_slice(tc_tensor *x, const int64_t *starts, const int64_t *ends, const int64_t *steps)
{
    TC_CHECK(x, TC_ERR_ARG, "slice: input is NULL");
    TC_CHECK((starts && ends) || x->ndim == 0, TC_ERR_ARG, "slice: starts or ends is NULL for input %s", TC_SHP(x));
    int64_t st[TC_MAX_DIMS], len[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        int64_t n = x->shape[d], step = steps ? steps[d] : 1, b = starts[d], e = ends[d];
        TC_CHECK(step != 0, TC_ERR_ARG, "slice: step 0 on axis %d of %s", d, TC_SHP(x));
        TC_CHECK(step != INT64_MIN, TC_ERR_ARG, "slice: step out of range on axis %d of %s", d, TC_SHP(x));
        /* Python's rules: negative indices count from the end, then clamp
         * (pre-clamped so that INT64 extremes cannot overflow) */
        b = b < -n - 1 ? -n - 1 : b > n ? n : b;
        e = e < -n - 1 ? -n - 1 : e > n ? n : e;
        if (b < 0) b += n;
        if (e < 0) e += n;
        if (step > 0) {
            b = b < 0 ? 0 : b;
            e = e < 0 ? 0 : e;
            len[d] = e > b ? (e - b - 1) / step + 1 : 0;
        } else {
            b = b > n - 1 ? n - 1 : b; /* b, e >= -1 here */
            e = e > n - 1 ? n - 1 : e;
            len[d] = b > e ? (b - e - 1) / -step + 1 : 0;
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
    int64_t n = x->shape[a];
    if (start < 0 && start >= -n) start += n; /* like PyTorch: a negative start counts from the end */
    TC_CHECK(start >= 0 && length >= 0 && start <= n && length <= n - start, TC_ERR_SHAPE,
             "narrow: start %lld, length %lld is outside axis %d (size %lld) of %s", (long long)start,
             (long long)length, axis, (long long)n, TC_SHP(x));
    int64_t st[TC_MAX_DIMS] = {0}, len[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) len[d] = x->shape[d], sp[d] = 1;
    st[a] = start;
    len[a] = length;
    return make_slice(x, st, len, sp);
}

tc_status tc_split(tc_tensor *x, int axis, int n, const int64_t *sizes, tc_tensor **outs)
{
    if (!x) return tc_error(TC_ERR_ARG, "split: input is NULL");
    if (!sizes || !outs || n < 1)
        return tc_error(TC_ERR_ARG, "split: %s for input %s", n < 1 ? "n < 1 parts" : "sizes or outs is NULL", TC_SHP(x));
    int a = tc_axis(axis, x->ndim);
    if (a < 0) return tc_error(TC_ERR_ARG, "split: axis %d is out of range for input %s", axis, TC_SHP(x));
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0 || sizes[i] > x->shape[a])
            return tc_error(TC_ERR_SHAPE, "split: size %lld of part %d does not fit axis %d of %s", (long long)sizes[i],
                            i, axis, TC_SHP(x));
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
