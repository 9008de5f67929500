/* Reductions over any set of axes: sum, mean, max (gradient to the first
 * maximum), and argmax. The input is walked once in row-major order with
 * each element added into its output cell, so the order of additions, and
 * the result, never depends on the thread count. Sums accumulate in double. */
#include "../core/internal.h"

#include <math.h>

typedef struct {
    int ndim;
    int64_t shape[TC_MAX_DIMS];     /* input shape */
    int64_t ostride[TC_MAX_DIMS];   /* output strides per input axis (0: reduced) */
    int64_t out_n, count;           /* output size, elements per output cell */
    const tc_scalar *x;
    int64_t *argmax;                /* max: input offset of each output's maximum */
} reduce_plan;

static tc_tensor *plan(const char *name, tc_tensor *x, int naxes, const int *axes, bool keepdims, reduce_plan *p)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    TC_CHECK(naxes >= 0 && (naxes == 0 || axes), TC_ERR_ARG, "%s: axes is NULL for input %s", name, TC_SHP(x));
    bool red[TC_MAX_DIMS] = {0};
    for (int i = 0; i < naxes; i++) {
        int a = tc_axis(axes[i], x->ndim);
        TC_CHECK(a >= 0, TC_ERR_ARG, "%s: axis %d is out of range for input %s", name, axes[i], TC_SHP(x));
        TC_CHECK(!red[a], TC_ERR_ARG, "%s: axis %d given twice for input %s", name, axes[i], TC_SHP(x));
        red[a] = true;
    }
    if (naxes == 0)
        for (int i = 0; i < x->ndim; i++) red[i] = true;
    int64_t oshape[TC_MAX_DIMS], full[TC_MAX_DIMS];
    int on = 0;
    p->ndim = x->ndim;
    p->count = 1;
    for (int i = 0; i < x->ndim; i++) {
        p->shape[i] = x->shape[i];
        full[i] = red[i] ? 1 : x->shape[i];
        if (red[i]) p->count *= x->shape[i];
        if (!red[i] || keepdims) oshape[on++] = red[i] ? 1 : x->shape[i];
    }
    int64_t fs[TC_MAX_DIMS];
    tc_contiguous_strides(x->ndim, full, fs);
    for (int i = 0; i < x->ndim; i++) p->ostride[i] = red[i] ? 0 : fs[i];
    p->out_n = tc_shape_numel(x->ndim, full);
    p->x = tc_packed(x);
    tc_tensor *y = tc_result(on, oshape);
    return p->x ? y : NULL;
}

/* calls body(input offset e, output offset o) over the whole input in order */
#define WALK(p, e, o, body)                                              \
    do {                                                                 \
        int64_t idx_[TC_MAX_DIMS] = {0}, o = 0, n_ = tc_shape_numel((p)->ndim, (p)->shape); \
        for (int64_t e = 0; e < n_; e++) {                               \
            body;                                                        \
            for (int d_ = (p)->ndim - 1; d_ >= 0; d_--) {                \
                idx_[d_]++;                                              \
                o += (p)->ostride[d_];                                   \
                if (idx_[d_] < (p)->shape[d_]) break;                    \
                o -= idx_[d_] * (p)->ostride[d_];                        \
                idx_[d_] = 0;                                            \
            }                                                            \
        }                                                                \
    } while (0)

static tc_tensor *sum_like(const char *name, int op, tc_tensor *x, int naxes, const int *axes, bool keepdims, bool mean)
{
    reduce_plan p;
    tc_tensor *y = plan(name, x, naxes, axes, keepdims, &p);
    if (!y) return NULL;
    double *acc = tc_arena_alloc(sizeof(double) * (size_t)(p.out_n + 1));
    if (!acc) return NULL;
    memset(acc, 0, sizeof(double) * (size_t)p.out_n);
    if (p.count == tc_shape_numel(p.ndim, p.shape) && p.out_n == 1) {
        int64_t n = p.count;
        for (int64_t e = 0; e < n; e++) acc[0] += p.x[e];
    } else {
        WALK(&p, e, o, acc[o] += p.x[e]);
    }
    double scale = mean ? (p.count ? 1.0 / (double)p.count : NAN) : 1.0;
    for (int64_t i = 0; i < p.out_n; i++) y->data[i] = (tc_scalar)(acc[i] * scale);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

static void sum_like_backward(tc_node *n, const tc_tensor *gy, bool mean)
{
    const reduce_plan *p = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    tc_scalar scale = mean ? (tc_scalar)(1.0 / (double)p->count) : 1;
    const tc_scalar *g = gy->data;
    tc_scalar *d = gx->data;
    WALK(p, e, o, d[e] += g[o] * scale);
}

tc_tensor *tc_sum(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    return sum_like("sum", TC_OP_sum, x, naxes, axes, keepdims, false);
}
tc_tensor *tc_mean(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    return sum_like("mean", TC_OP_mean, x, naxes, axes, keepdims, true);
}
void tc_backward_sum(tc_node *n, const tc_tensor *gy) { sum_like_backward(n, gy, false); }
void tc_backward_mean(tc_node *n, const tc_tensor *gy) { sum_like_backward(n, gy, true); }

tc_tensor *tc_max(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    reduce_plan p;
    tc_tensor *y = plan("max", x, naxes, axes, keepdims, &p);
    if (!y) return NULL;
    TC_CHECK(p.count > 0, TC_ERR_SHAPE, "max: reducing an empty axis of %s", TC_SHP(x));
    p.argmax = tc_arena_alloc(sizeof(int64_t) * (size_t)(p.out_n + 1));
    if (!p.argmax) return NULL;
    for (int64_t i = 0; i < p.out_n; i++) p.argmax[i] = -1;
    /* strict > keeps the first maximum; NaN wins so that it propagates */
    WALK(&p, e, o, {
        if (p.argmax[o] < 0 || p.x[e] > y->data[o] || (isnan((double)p.x[e]) && !isnan((double)y->data[o]))) {
            y->data[o] = p.x[e];
            p.argmax[o] = e;
        }
    });
    tc_node *nd = tc_record(TC_OP_max, y, 1, &x, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

void tc_backward_max(tc_node *n, const tc_tensor *gy)
{
    const reduce_plan *p = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    for (int64_t i = 0; i < p->out_n; i++) gx->data[p->argmax[i]] += gy->data[i];
}

tc_tensor *tc_argmax(tc_tensor *x, int axis, bool keepdims, bool select_last)
{
    TC_CHECK(x, TC_ERR_ARG, "argmax: input is NULL");
    int a = tc_axis(axis, x->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "argmax: axis %d is out of range for input %s", axis, TC_SHP(x));
    TC_CHECK(x->shape[a] > 0, TC_ERR_SHAPE, "argmax: axis %d of %s is empty", axis, TC_SHP(x));
    int64_t outer = tc_shape_numel(a, x->shape), len = x->shape[a];
    int64_t inner = tc_shape_numel(x->ndim - a - 1, x->shape + a + 1);
    int64_t oshape[TC_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != a || keepdims) oshape[on++] = i == a ? 1 : x->shape[i];
    tc_tensor *y = tc_result(on, oshape);
    const tc_scalar *xd = tc_packed(x);
    if (!y || !xd) return NULL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const tc_scalar *line = xd + o * len * inner + in;
            int64_t best = 0;
            for (int64_t k = 1; k < len; k++) {
                tc_scalar v = line[k * inner], b = line[best * inner];
                if (v > b || (select_last && v == b)) best = k;
            }
            y->data[o * inner + in] = (tc_scalar)best;
        }
    return y; /* piecewise constant: never recorded */
}
