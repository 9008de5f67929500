/* Reductions over any set of axes: sum, mean, max, and argmax.
 *
 * The input's axes are first merged into groups (size-1 axes dropped,
 * neighbours that are both kept or both reduced joined). The usual case has
 * at most one reduced group and is viewed as [O, R, I] (output [O, I]):
 *   - sum: output cells are split across threads, or, when there are few
 *     output cells and many rows, R is cut into blocks whose size depends
 *     only on the shape; each block's partial sums (double) are added in
 *     block order. Either way every output cell sees the same additions in
 *     the same order for any thread count.
 *   - max: each output cell is owned by one thread and scanned in order.
 * Other patterns (several reduced groups: [R, K, R]) give each output cell to
 * one thread, which walks its reduced elements in row-major order.
 *
 * Max ties rule: the gradient of max goes to the FIRST maximum, in row-major
 * order over the reduced axes (strict > while scanning in order). NaN wins,
 * so that it propagates, and then the first NaN gets the gradient. */
#include "broadcast.h"

#include <math.h>

#define SUM_BLOCK 32768   /* elements per unit of work */
#define COL_CHUNK 1024    /* output columns per unit when I > 1 */

typedef struct {
    int n;                              /* merged groups */
    int64_t size[TC_MAX_DIMS];
    int64_t istride[TC_MAX_DIMS];       /* contiguous input strides */
    int64_t ostride[TC_MAX_DIMS];       /* output strides (0: reduced) */
    bool red[TC_MAX_DIMS];
    int64_t numel, out_n, count;        /* input elements, output cells, elements per cell */
    bool simple;                        /* at most one reduced group: [O, R, I] */
    int64_t O, R, I;
} groups;

static void merge_groups(int ndim, const int64_t *shape, const bool *reduced, groups *g)
{
    memset(g, 0, sizeof *g);
    g->numel = tc_shape_numel(ndim, shape);
    g->count = 1;
    for (int d = 0; d < ndim; d++) {
        if (reduced[d]) g->count *= shape[d];
        if (shape[d] == 1) continue;
        if (g->n > 0 && g->red[g->n - 1] == reduced[d]) g->size[g->n - 1] *= shape[d];
        else g->size[g->n] = shape[d], g->red[g->n] = reduced[d], g->n++;
    }
    int64_t is = 1, os = 1;
    for (int k = g->n - 1; k >= 0; k--) {
        g->istride[k] = is;
        is *= g->size[k];
        g->ostride[k] = g->red[k] ? 0 : os;
        if (!g->red[k]) os *= g->size[k];
    }
    g->out_n = os;
    int nred = 0, first_red = -1;
    for (int k = 0; k < g->n; k++)
        if (g->red[k]) nred++, first_red = first_red < 0 ? k : first_red;
    g->simple = nred <= 1;
    g->O = 1, g->R = 1, g->I = 1;
    for (int k = 0; k < g->n; k++) {
        if (g->red[k]) g->R = g->size[k];
        else if (first_red < 0 || k < first_red) g->O *= g->size[k];
        else g->I *= g->size[k];
    }
}

/* ---- sum, simple case ------------------------------------------------------------ */
typedef struct {
    const groups *g;
    const tc_scalar *x;
    tc_scalar *out;
    double *part;       /* [nb][O][I] partial sums when blocked */
    int64_t nb, rb;     /* blocks over R, rows per block */
    double scale;
    bool accumulate;
} sum_job;

static inline double run_sum(const tc_scalar *x, int64_t n)
{
    /* eight independent lanes: a fixed order the compiler can vectorise */
    double l[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) l[k] += (double)x[i + k];
    double s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; i < n; i++) s += (double)x[i];
    return s;
}

static inline void store(tc_scalar *out, double v, bool accumulate)
{
    if (accumulate) *out += (tc_scalar)v;
    else *out = (tc_scalar)v;
}

static void add_row(double *restrict acc, const tc_scalar *restrict row, int64_t n)
{
    TC_FOR_VEC(i, n, acc[i] += (double)row[i]);
}

/* units (o, block): partial sums of rows [b*rb, min(R, (b+1)*rb)) */
static void sum_blocks(void *ctx, int64_t lo, int64_t hi)
{
    sum_job *j = ctx;
    const groups *g = j->g;
    int64_t R = g->R, I = g->I;
    for (int64_t u = lo; u < hi; u++) {
        int64_t o = u / j->nb, b = u % j->nb;
        int64_t r0 = b * j->rb, r1 = r0 + j->rb < R ? r0 + j->rb : R;
        const tc_scalar *x = j->x + o * R * I;
        double *p = j->part + (b * g->O + o) * I;
        if (I == 1) {
            p[0] = run_sum(x + r0, r1 - r0);
            continue;
        }
        for (int64_t i = 0; i < I; i++) p[i] = 0;
        for (int64_t r = r0; r < r1; r++) add_row(p, x + r * I, I);
    }
}

/* output cells [lo, hi): add the blocks' partial sums in block order */
static void sum_combine(void *ctx, int64_t lo, int64_t hi)
{
    sum_job *j = ctx;
    int64_t cells = j->g->O * j->g->I;
    for (int64_t c = lo; c < hi; c++) {
        double s = 0;
        for (int64_t b = 0; b < j->nb; b++) s += j->part[b * cells + c];
        store(j->out + c, s * j->scale, j->accumulate);
    }
}

/* units (o, column chunk) summing all R rows: for many output cells */
static void sum_columns(void *ctx, int64_t lo, int64_t hi)
{
    sum_job *j = ctx;
    const groups *g = j->g;
    int64_t R = g->R, I = g->I, nc = (I + COL_CHUNK - 1) / COL_CHUNK;
    double acc[COL_CHUNK];
    for (int64_t u = lo; u < hi; u++) {
        int64_t o = u / nc, c0 = (u % nc) * COL_CHUNK, w = I - c0 < COL_CHUNK ? I - c0 : COL_CHUNK;
        const tc_scalar *x = j->x + o * R * I + c0;
        for (int64_t i = 0; i < w; i++) acc[i] = 0;
        for (int64_t r = 0; r < R; r++) add_row(acc, x + r * I, w);
        tc_scalar *y = j->out + o * I + c0;
        for (int64_t i = 0; i < w; i++) store(y + i, acc[i] * j->scale, j->accumulate);
    }
}

static void sum_runs(void *ctx, int64_t lo, int64_t hi)
{
    sum_job *j = ctx;
    int64_t R = j->g->R;
    for (int64_t o = lo; o < hi; o++) store(j->out + o, run_sum(j->x + o * R, R) * j->scale, j->accumulate);
}

/* ---- the general case: each output cell walks its reduced elements --------------- */
typedef struct {
    int kept[TC_MAX_DIMS], red[TC_MAX_DIMS], nk, nr;
} axis_split;

static axis_split split_axes(const groups *g)
{
    axis_split a = {.nk = 0, .nr = 0};
    for (int k = 0; k < g->n; k++) {
        if (g->red[k]) a.red[a.nr++] = k;
        else a.kept[a.nk++] = k;
    }
    return a;
}

/* offset in x of output cell c's first element */
static int64_t cell_base(const groups *g, const axis_split *a, int64_t c)
{
    int64_t base = 0;
    for (int q = a->nk - 1; q >= 0; q--) {
        base += (c % g->size[a->kept[q]]) * g->istride[a->kept[q]];
        c /= g->size[a->kept[q]];
    }
    return base;
}

/* advance (idx, off) to the cell's next reduced element, row-major */
static inline void next_reduced(const groups *g, const axis_split *a, int64_t *idx, int64_t *off)
{
    for (int q = a->nr - 1; q >= 0; q--) {
        int k = a->red[q];
        *off += g->istride[k];
        if (++idx[q] < g->size[k]) return;
        *off -= idx[q] * g->istride[k];
        idx[q] = 0;
    }
}

static void sum_general(void *ctx, int64_t lo, int64_t hi)
{
    sum_job *j = ctx;
    const groups *g = j->g;
    axis_split a = split_axes(g);
    for (int64_t c = lo; c < hi; c++) {
        int64_t idx[TC_MAX_DIMS] = {0}, off = cell_base(g, &a, c);
        double s = 0;
        for (int64_t e = 0; e < g->count; e++) {
            s += (double)j->x[off];
            next_reduced(g, &a, idx, &off);
        }
        store(j->out + c, s * j->scale, j->accumulate);
    }
}

static int64_t grain_for(int64_t work_per_unit)
{
    return work_per_unit >= SUM_BLOCK ? 1 : SUM_BLOCK / (work_per_unit > 0 ? work_per_unit : 1);
}

static bool sum_groups(const groups *g, const tc_scalar *x, double scale, tc_scalar *out, bool accumulate)
{
    sum_job j = {.g = g, .x = x, .out = out, .scale = scale, .accumulate = accumulate};
    if (g->out_n == 0) return true;
    if (g->count == 0) { /* empty reduction: 0 */
        for (int64_t c = 0; c < g->out_n; c++) store(out + c, 0, accumulate);
        return true;
    }
    if (!g->simple) {
        tc_parallel_for(g->out_n, grain_for(g->count), sum_general, &j);
        return true;
    }
    int64_t O = g->O, R = g->R, I = g->I;
    if (I == 1 && (O >= 64 || R <= SUM_BLOCK)) {
        tc_parallel_for(O, grain_for(R), sum_runs, &j);
        return true;
    }
    if (I > 1 && (O * I >= 8192 || R * I <= 2 * SUM_BLOCK)) {
        int64_t nc = (I + COL_CHUNK - 1) / COL_CHUNK;
        tc_parallel_for(O * nc, grain_for(R * (I < COL_CHUNK ? I : COL_CHUNK)), sum_columns, &j);
        return true;
    }
    /* few output cells, many rows: fixed-size blocks over R */
    j.rb = I >= SUM_BLOCK ? 1 : SUM_BLOCK / I;
    j.nb = (R + j.rb - 1) / j.rb;
    j.part = tc_arena_alloc(sizeof(double) * (size_t)(j.nb * O * I));
    if (!j.part) return false;
    tc_parallel_for(O * j.nb, 1, sum_blocks, &j);
    tc_parallel_for(O * I, grain_for(j.nb), sum_combine, &j);
    return true;
}

bool tc_reduce_sum_into(const tc_scalar *x, int ndim, const int64_t *shape, const bool *reduced, double scale,
                        tc_scalar *out, bool accumulate)
{
    groups g;
    merge_groups(ndim, shape, reduced, &g);
    return sum_groups(&g, x, scale, out, accumulate);
}

/* ---- argument checks and output shape ----------------------------------------------- */
typedef struct {
    groups g;
    double scale;       /* mean: 1/count */
    int64_t *argmax;    /* max: input offset of each output cell's maximum */
} reduce_saved;

static tc_tensor *plan(const char *name, tc_tensor *x, int naxes, const int *axes, bool keepdims, groups *g)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    TC_CHECK(naxes >= 0 && naxes <= TC_MAX_DIMS, TC_ERR_ARG, "%s: %d axes given for input %s", name, naxes,
             TC_SHP(x));
    TC_CHECK(naxes == 0 || axes, TC_ERR_ARG, "%s: axes is NULL but naxes is %d for input %s", name, naxes,
             TC_SHP(x));
    bool red[TC_MAX_DIMS] = {0};
    for (int i = 0; i < naxes; i++) {
        int a = tc_axis(axes[i], x->ndim);
        TC_CHECK(a >= 0, TC_ERR_ARG, "%s: axis %d is out of range for input %s", name, axes[i], TC_SHP(x));
        TC_CHECK(!red[a], TC_ERR_ARG, "%s: axis %d given twice for input %s", name, axes[i], TC_SHP(x));
        red[a] = true;
    }
    if (naxes == 0)
        for (int i = 0; i < x->ndim; i++) red[i] = true;
    int64_t oshape[TC_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!red[i] || keepdims) oshape[on++] = red[i] ? 1 : x->shape[i];
    merge_groups(x->ndim, x->shape, red, g);
    return tc_result(on, oshape);
}

static tc_tensor *sum_like(const char *name, int op, tc_tensor *x, int naxes, const int *axes, bool keepdims,
                           bool mean)
{
    groups g;
    tc_tensor *y = plan(name, x, naxes, axes, keepdims, &g);
    if (!y) return NULL;
    const tc_scalar *xd = tc_packed(x);
    if (!xd) return NULL;
    double scale = mean ? (g.count ? 1.0 / (double)g.count : NAN) : 1.0;
    if (mean && g.count == 0) { /* mean of nothing: NaN, like NumPy and PyTorch */
        for (int64_t c = 0; c < g.out_n; c++) y->data[c] = (tc_scalar)NAN;
    } else if (!sum_groups(&g, xd, scale, y->data, false)) {
        return NULL;
    }
    tc_node *nd = tc_record(op, y, 1, &x, sizeof(reduce_saved));
    if (nd) {
        reduce_saved *s = nd->saved;
        s->g = g, s->scale = scale;
    }
    return y;
}

/* gx[e] += g[out(e)] * scale over rows of the innermost group, split by rows */
typedef struct {
    const groups *g;
    const tc_scalar *gy;
    tc_scalar *gx;
    tc_scalar scale;
} spread_job;

static void spread_value(tc_scalar *restrict d, tc_scalar v, int64_t n) { TC_FOR_VEC(i, n, d[i] += v); }
static void spread_row(tc_scalar *restrict d, const tc_scalar *restrict src, tc_scalar s, int64_t n)
{
    TC_FOR_VEC(i, n, d[i] += src[i] * s);
}

/* units: pieces of at most SUM_BLOCK elements of the innermost group's rows */
static void spread_rows(void *ctx, int64_t lo, int64_t hi)
{
    spread_job *j = ctx;
    const groups *g = j->g;
    int last = g->n - 1;
    int64_t inner = g->n ? g->size[last] : 1, pieces = (inner + SUM_BLOCK - 1) / SUM_BLOCK;
    bool inner_red = g->n ? g->red[last] : true;
    tc_scalar s = j->scale;
    for (int64_t u = lo; u < hi; u++) {
        int64_t row = u / pieces, c0 = (u % pieces) * SUM_BLOCK;
        int64_t n = inner - c0 < SUM_BLOCK ? inner - c0 : SUM_BLOCK;
        int64_t rem = row, o = 0;
        for (int k = last - 1; k >= 0; k--) {
            o += (rem % g->size[k]) * g->ostride[k];
            rem /= g->size[k];
        }
        tc_scalar *d = j->gx + row * inner + c0;
        if (inner_red) spread_value(d, j->gy[o] * s, n);
        else spread_row(d, j->gy + o + c0, s, n);
    }
}

static tc_status sum_like_backward(tc_node *n, const tc_tensor *gy)
{
    const reduce_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx || s->g.numel == 0) return TC_OK;
    spread_job j = {&s->g, gy->data, gx->data, (tc_scalar)s->scale};
    int64_t inner = s->g.n ? s->g.size[s->g.n - 1] : 1, pieces = (inner + SUM_BLOCK - 1) / SUM_BLOCK;
    tc_parallel_for(s->g.numel / inner * pieces, grain_for(inner < SUM_BLOCK ? inner : SUM_BLOCK), spread_rows, &j);
    return TC_OK;
}

tc_tensor *tc_sum(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    return sum_like("sum", TC_OP_sum, x, naxes, axes, keepdims, false);
}
tc_tensor *tc_mean(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    return sum_like("mean", TC_OP_mean, x, naxes, axes, keepdims, true);
}
tc_status tc_backward_sum(tc_node *n, const tc_tensor *gy) { return sum_like_backward(n, gy); }
tc_status tc_backward_mean(tc_node *n, const tc_tensor *gy) { return sum_like_backward(n, gy); }

/* ---- max ------------------------------------------------------------------------------ */
typedef struct {
    const groups *g;
    const tc_scalar *x;
    tc_scalar *y;
    int64_t *arg;
} max_job;

/* v replaces the best so far: strictly greater (ties keep the first), or
 * the first NaN */
static inline bool beats(tc_scalar v, tc_scalar best) { return v > best || (v != v && best == best); }

/* index of the first maximum (or first NaN) of a contiguous run: the
 * maximum by TC_VEC independent lanes (vectorised), then the first index
 * holding it. c collects v * 0, which is NaN if some v is NaN or infinite:
 * such runs take the plain scan. */
static int64_t first_max(const tc_scalar *restrict x, int64_t n)
{
    int64_t at = 0;
    if (n >= 2 * TC_VEC) {
        tc_scalar l[TC_VEC], c[TC_VEC];
        for (int k = 0; k < TC_VEC; k++) l[k] = x[k], c[k] = x[k] * 0;
        int64_t i = TC_VEC;
        for (; i + TC_VEC <= n; i += TC_VEC)
            for (int k = 0; k < TC_VEC; k++) {
                tc_scalar v = x[i + k];
                c[k] += v * 0;
                l[k] = v > l[k] ? v : l[k];
            }
        tc_scalar m = l[0], chk = 0;
        for (int k = 0; k < TC_VEC; k++) m = l[k] > m ? l[k] : m, chk += c[k];
        for (; i < n; i++) m = x[i] > m ? x[i] : m, chk += x[i] * 0;
        if (chk == 0) {
            while (x[at] != m) at++;
            return at;
        }
    }
    for (int64_t r = 1; r < n; r++)
        if (beats(x[r], x[at])) at = r;
    return at;
}

/* [O, R, I]: units (o, column chunk), each scanning its rows in order */
static void max_simple(void *ctx, int64_t lo, int64_t hi)
{
    max_job *j = ctx;
    const groups *g = j->g;
    int64_t R = g->R, I = g->I, nc = (I + COL_CHUNK - 1) / COL_CHUNK;
    for (int64_t u = lo; u < hi; u++) {
        int64_t o = u / nc, c0 = (u % nc) * COL_CHUNK, w = I - c0 < COL_CHUNK ? I - c0 : COL_CHUNK;
        int64_t base = o * R * I + c0;
        const tc_scalar *x = j->x + base;
        tc_scalar *y = j->y + o * I + c0;
        int64_t *arg = j->arg + o * I + c0;
        if (I == 1) {
            int64_t at = first_max(x, R);
            y[0] = x[at], arg[0] = base + at;
            continue;
        }
        for (int64_t i = 0; i < w; i++) y[i] = x[i], arg[i] = base + i;
        for (int64_t r = 1; r < R; r++) {
            const tc_scalar *row = x + r * I;
            for (int64_t i = 0; i < w; i++)
                if (beats(row[i], y[i])) y[i] = row[i], arg[i] = base + r * I + i;
        }
    }
}

static void max_general(void *ctx, int64_t lo, int64_t hi)
{
    max_job *j = ctx;
    const groups *g = j->g;
    axis_split a = split_axes(g);
    for (int64_t c = lo; c < hi; c++) {
        int64_t idx[TC_MAX_DIMS] = {0}, off = cell_base(g, &a, c), at = off;
        tc_scalar best = j->x[off];
        for (int64_t e = 0; e < g->count; e++) {
            if (beats(j->x[off], best)) best = j->x[off], at = off;
            next_reduced(g, &a, idx, &off);
        }
        j->y[c] = best, j->arg[c] = at;
    }
}

tc_tensor *tc_max(tc_tensor *x, int naxes, const int *axes, bool keepdims)
{
    groups g;
    tc_tensor *y = plan("max", x, naxes, axes, keepdims, &g);
    if (!y) return NULL;
    TC_CHECK(g.count > 0 || g.out_n == 0, TC_ERR_SHAPE, "max: reducing an empty axis of input %s", TC_SHP(x));
    const tc_scalar *xd = tc_packed(x);
    int64_t *arg = tc_arena_alloc(sizeof(int64_t) * (size_t)(g.out_n + 1));
    if (!xd || !arg) return NULL;
    max_job j = {&g, xd, y->data, arg};
    if (g.out_n > 0) {
        if (g.simple) {
            int64_t nc = (g.I + COL_CHUNK - 1) / COL_CHUNK;
            tc_parallel_for(g.O * nc, grain_for(g.R * (g.I < COL_CHUNK ? g.I : COL_CHUNK)), max_simple, &j);
        } else {
            tc_parallel_for(g.out_n, grain_for(g.count), max_general, &j);
        }
    }
    tc_node *nd = tc_record(TC_OP_max, y, 1, &x, sizeof(reduce_saved));
    if (nd) {
        reduce_saved *s = nd->saved;
        s->g = g, s->argmax = arg;
    }
    return y;
}

tc_status tc_backward_max(tc_node *n, const tc_tensor *gy)
{
    const reduce_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    /* each input element is the maximum of at most one output cell */
    for (int64_t i = 0; i < s->g.out_n; i++) gx->data[s->argmax[i]] += gy->data[i];
    return TC_OK;
}

/* ---- argmax ------------------------------------------------------------------------- */
typedef struct {
    int64_t len, inner;
    const tc_scalar *x;
    tc_scalar *y;
    bool last;
} argmax_job;

static void argmax_lines(void *ctx, int64_t lo, int64_t hi)
{
    argmax_job *j = ctx;
    for (int64_t line = lo; line < hi; line++) {
        int64_t o = line / j->inner, in = line % j->inner;
        const tc_scalar *x = j->x + o * j->len * j->inner + in;
        int64_t best = 0;
        for (int64_t k = 1; k < j->len; k++) {
            tc_scalar v = x[k * j->inner], b = x[best * j->inner];
            if (beats(v, b) || (j->last && v == b)) best = k;
        }
        j->y[line] = (tc_scalar)best;
    }
}

tc_tensor *tc_argmax(tc_tensor *x, int axis, bool keepdims, bool select_last)
{
    TC_CHECK(x, TC_ERR_ARG, "argmax: input is NULL");
    int a = tc_axis(axis, x->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "argmax: axis %d is out of range for input %s", axis, TC_SHP(x));
    TC_CHECK(x->shape[a] > 0, TC_ERR_SHAPE, "argmax: axis %d of input %s is empty", axis, TC_SHP(x));
    int64_t oshape[TC_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != a || keepdims) oshape[on++] = i == a ? 1 : x->shape[i];
    tc_tensor *y = tc_result(on, oshape);
    const tc_scalar *xd = tc_packed(x);
    if (!y || !xd) return NULL;
    argmax_job j = {x->shape[a], tc_shape_numel(x->ndim - a - 1, x->shape + a + 1), xd, y->data, select_last};
    tc_parallel_for(tc_numel(y), grain_for(j.len), argmax_lines, &j);
    return y; /* piecewise constant: never recorded */
}
