/* pad, tile and expand: the index-map family. Each output axis has a map
 * from output index to input index (or "the constant", for constant
 * padding), so out[o] = x[map_0[o_0], ..., map_k[o_k]].
 *
 * The maps are stored as element offsets into the packed input. Trailing
 * axes are merged into one row map (offsets add up), which is cut into runs
 * of constant step: step 1 is a memcpy, step 0 a fill (edge padding,
 * broadcast), step -1 a reflection, and constant runs a fill with the value.
 * Forward splits rows of the output over the pool (disjoint writes).
 * Backward adds every output gradient into its input position. Tile,
 * expand, edge and reflect send several outputs to one input, so the order
 * of the additions is fixed: output rows are grouped by the input row they
 * feed, each group belongs to one thread and adds its rows in output order,
 * which is the serial order: bit-identical sums for any thread count. */
#include "shape_internal.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int64_t out, len;   /* positions [out, out+len) of the row */
    int64_t src, step;  /* input offsets src + i*step; src < 0: the constant */
} run;

typedef struct {
    int nd;                          /* axes after merging (>= 1), 0 when the result is empty */
    int64_t oshape[TC_MAX_DIMS];
    int64_t *map[TC_MAX_DIMS];       /* per axis: offset into packed x, or -1 for the constant */
    run *runs;                       /* of the last (row) axis */
    int64_t nruns;
    const tc_scalar *x;              /* packed input (forward only) */
    tc_tensor *y;                    /* forward only */
    tc_scalar value;
} index_map;

/* Rows are merged up to ROW_MERGE (values) so that runs are long, and up to
 * ROW_MERGE_SHORT while the last axis is shorter than ROW_SHORT; beyond that
 * rows stay separate, which is what the pool splits. */
#define ROW_MERGE 4096
#define ROW_SHORT 128
#define ROW_MERGE_SHORT (1 << 18)

/* Turn per-axis input indices (idx[d][o], -1: constant) into the merged form. */
static bool build_map(index_map *m, int r, const int64_t *oshape, int64_t *const *idx, const int64_t *xstride)
{
    if (tc_shape_numel(r, oshape) == 0) {
        m->nd = 0;
        return true;
    }
    if (r == 0) { /* a scalar: one axis of length 1 */
        int64_t zero = 0;
        return build_map(m, 1, (int64_t[]){1}, (int64_t *const[]){&zero}, (int64_t[]){0});
    }
    m->nd = r;
    for (int d = 0; d < r; d++) {
        m->oshape[d] = oshape[d];
        m->map[d] = tc_arena_alloc(sizeof(int64_t) * (size_t)oshape[d]);
        if (!m->map[d]) return false;
        for (int64_t o = 0; o < oshape[d]; o++) m->map[d][o] = idx[d][o] < 0 ? -1 : idx[d][o] * xstride[d];
    }
    /* merge the last axis into the one before while rows stay short */
    while (m->nd > 1) {
        int64_t merged_len = m->oshape[m->nd - 2] * m->oshape[m->nd - 1];
        if (merged_len > ROW_MERGE && (m->oshape[m->nd - 1] >= ROW_SHORT || merged_len > ROW_MERGE_SHORT)) break;
        int p = m->nd - 2, l = m->nd - 1;
        int64_t np = m->oshape[p], nl = m->oshape[l];
        int64_t *merged = tc_arena_alloc(sizeof(int64_t) * (size_t)(np * nl));
        if (!merged) return false;
        for (int64_t o = 0; o < np; o++)
            for (int64_t i = 0; i < nl; i++)
                merged[o * nl + i] = m->map[p][o] < 0 || m->map[l][i] < 0 ? -1 : m->map[p][o] + m->map[l][i];
        m->map[p] = merged;
        m->oshape[p] = np * nl;
        m->nd--;
    }
    /* cut the row map into runs of constant step */
    const int64_t *row = m->map[m->nd - 1];
    int64_t len = m->oshape[m->nd - 1];
    m->runs = tc_arena_alloc(sizeof(run) * (size_t)len);
    if (!m->runs) return false;
    m->nruns = 0;
    for (int64_t j = 0; j < len;) {
        run u = {.out = j, .src = row[j], .step = 0};
        int64_t k = j + 1;
        if (row[j] < 0) {
            while (k < len && row[k] < 0) k++;
        } else if (k < len && row[k] >= 0) {
            u.step = row[k] - row[j];
            while (k < len && row[k] >= 0 && row[k] - row[k - 1] == u.step) k++;
        }
        u.len = k - j;
        m->runs[m->nruns++] = u;
        j = k;
    }
    return true;
}

/* Offset of an outer row's input row, or -1 when the row is all constant. */
static int64_t outer_offset(const index_map *m, const int64_t *oidx)
{
    int64_t off = 0;
    for (int d = 0; d < m->nd - 1; d++) {
        int64_t s = m->map[d][oidx[d]];
        if (s < 0) return -1;
        off += s;
    }
    return off;
}

static void unravel_outer(const index_map *m, int64_t r, int64_t *oidx)
{
    for (int d = m->nd - 2; d >= 0; d--) {
        oidx[d] = r % m->oshape[d];
        r /= m->oshape[d];
    }
}

static void next_outer(const index_map *m, int64_t *oidx)
{
    for (int d = m->nd - 2; d >= 0; d--) {
        if (++oidx[d] < m->oshape[d]) return;
        oidx[d] = 0;
    }
}

static void forward_rows(void *ctx, int64_t begin, int64_t end)
{
    const index_map *m = ctx;
    int64_t len = m->oshape[m->nd - 1], oidx[TC_MAX_DIMS] = {0};
    unravel_outer(m, begin, oidx);
    for (int64_t r = begin; r < end; r++, next_outer(m, oidx)) {
        tc_scalar *y = m->y->data + r * len;
        int64_t base = outer_offset(m, oidx);
        if (base < 0) {
            for (int64_t i = 0; i < len; i++) y[i] = m->value;
            continue;
        }
        const tc_scalar *x = m->x + base;
        for (int64_t k = 0; k < m->nruns; k++) {
            const run *u = &m->runs[k];
            tc_scalar *d = y + u->out;
            if (u->src < 0) {
                for (int64_t i = 0; i < u->len; i++) d[i] = m->value;
            } else if (u->step == 1) {
                memcpy(d, x + u->src, sizeof(tc_scalar) * (size_t)u->len);
            } else if (u->step == 0) {
                tc_scalar v = x[u->src];
                for (int64_t i = 0; i < u->len; i++) d[i] = v;
            } else {
                const tc_scalar *s = x + u->src;
                for (int64_t i = 0; i < u->len; i++) d[i] = s[i * u->step];
            }
        }
    }
}

static tc_tensor *run_index_map(int op, tc_tensor *x, tc_tensor *y, index_map *m)
{
    if (m->nd > 0) {
        m->y = y;
        int64_t len = m->oshape[m->nd - 1], rows = tc_numel(y) / len;
        if (tc_numel(y) < TC_SHAPE_PARALLEL_MIN)
            forward_rows(m, 0, rows);
        else
            tc_parallel_for(rows, 1 + TC_SHAPE_PARALLEL_MIN / 4 / len, forward_rows, m);
    }
    m->x = NULL;
    m->y = NULL;
    tc_node *nd = tc_record(op, y, 1, &x, sizeof *m);
    if (nd) memcpy(nd->saved, m, sizeof *m);
    return y;
}

/* Adds one output row of the gradient (g) into its input row (dx). */
static void add_row(const index_map *m, tc_scalar *dx, const tc_scalar *g)
{
    for (int64_t k = 0; k < m->nruns; k++) {
        const run *u = &m->runs[k];
        if (u->src < 0) continue;
        const tc_scalar *s = g + u->out;
        tc_scalar *d = dx + u->src;
        if (u->step == 1)
            for (int64_t i = 0; i < u->len; i++) d[i] += s[i];
        else
            for (int64_t i = 0; i < u->len; i++) d[i * u->step] += s[i];
    }
}

typedef struct { int64_t base, row; } keyed_row;

static int by_base_then_row(const void *a, const void *b)
{
    const keyed_row *x = a, *y = b;
    if (x->base != y->base) return x->base < y->base ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct {
    const index_map *m;
    const keyed_row *rows;   /* sorted by (base, row) */
    const int64_t *first;    /* group g: rows[first[g] .. first[g+1]) share one base */
    tc_scalar *gx;
    const tc_scalar *gy;
    int64_t len;
} backward_job;

/* Each group owns one input row (distinct bases touch disjoint input
 * values: a base is a multiple of the span of the row axes) and adds its
 * output rows in ascending order, exactly as the serial loop does. */
static void backward_groups(void *ctx, int64_t begin, int64_t end)
{
    const backward_job *j = ctx;
    for (int64_t g = begin; g < end; g++)
        for (int64_t p = j->first[g]; p < j->first[g + 1]; p++)
            add_row(j->m, j->gx + j->rows[p].base, j->gy + j->rows[p].row * j->len);
}

static tc_status index_map_backward(tc_node *nd, const tc_tensor *gy)
{
    const index_map *m = nd->saved;
    tc_tensor *gx = tc_grad_for(nd->inputs[0]);
    if (!gx || m->nd == 0) return TC_OK;
    int64_t len = m->oshape[m->nd - 1], rows = tc_numel(gy) / len, oidx[TC_MAX_DIMS] = {0};
    keyed_row *keyed = NULL;
    int64_t *first = NULL;
    if (tc_numel(gy) >= TC_SHAPE_PARALLEL_MIN && rows > 1 && tc_num_threads() > 1) {
        keyed = tc_arena_alloc(sizeof(keyed_row) * (size_t)rows);
        first = tc_arena_alloc(sizeof(int64_t) * (size_t)(rows + 1));
    }
    if (!keyed || !first) { /* small (or no memory for the plan): serially, in output order */
        for (int64_t r = 0; r < rows; r++, next_outer(m, oidx)) {
            int64_t base = outer_offset(m, oidx);
            if (base >= 0) add_row(m, gx->data + base, gy->data + r * len);
        }
        return TC_OK;
    }
    int64_t n = 0, ngroups = 0;
    for (int64_t r = 0; r < rows; r++, next_outer(m, oidx)) {
        int64_t base = outer_offset(m, oidx);
        if (base >= 0) keyed[n++] = (keyed_row){base, r};
    }
    qsort(keyed, (size_t)n, sizeof *keyed, by_base_then_row);
    for (int64_t p = 0; p < n; p++)
        if (p == 0 || keyed[p].base != keyed[p - 1].base) first[ngroups++] = p;
    first[ngroups] = n;
    backward_job j = {m, keyed, first, gx->data, gy->data, len};
    tc_parallel_for(ngroups, 1 + TC_SHAPE_PARALLEL_MIN / 4 / (len * (n / (ngroups + 1) + 1)), backward_groups, &j);
    return TC_OK;
}
tc_status tc_backward_pad(tc_node *n, const tc_tensor *gy) { return index_map_backward(n, gy); }
tc_status tc_backward_tile(tc_node *n, const tc_tensor *gy) { return index_map_backward(n, gy); }
tc_status tc_backward_expand(tc_node *n, const tc_tensor *gy) { return index_map_backward(n, gy); }

/* Per-axis index arrays in the arena (none for an empty result, whose maps
 * are never built; one entry more so that no allocation has size 0). */
static bool alloc_idx(int r, const int64_t *oshape, int64_t **idx)
{
    if (tc_shape_numel(r, oshape) == 0) {
        for (int d = 0; d < r; d++) idx[d] = NULL;
        return true;
    }
    for (int d = 0; d < r; d++)
        if (!(idx[d] = tc_arena_alloc(sizeof(int64_t) * (size_t)(oshape[d] + 1)))) return false;
    return true;
}

tc_tensor *tc_pad(tc_tensor *x, const int64_t *before, const int64_t *after, tc_pad_mode mode, tc_scalar value)
{
    TC_CHECK(x, TC_ERR_ARG, "pad: input is NULL");
    TC_CHECK((before && after) || x->ndim == 0, TC_ERR_ARG, "pad: pads_before or pads_after is NULL for input %s",
             TC_SHP(x));
    TC_CHECK(mode == TC_PAD_CONSTANT || mode == TC_PAD_REFLECT || mode == TC_PAD_EDGE, TC_ERR_ARG,
             "pad: unknown mode %d for input %s", (int)mode, TC_SHP(x));
    int r = x->ndim;
    int64_t oshape[TC_MAX_DIMS], xstride[TC_MAX_DIMS], *idx[TC_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        int64_t n = x->shape[d];
        TC_CHECK(before[d] >= 0 && after[d] >= 0, TC_ERR_ARG, "pad: negative padding %lld/%lld on axis %d of %s",
                 (long long)before[d], (long long)after[d], d, TC_SHP(x));
        TC_CHECK(before[d] <= INT32_MAX && after[d] <= INT32_MAX, TC_ERR_SHAPE,
                 "pad: padding %lld/%lld on axis %d of %s is too large", (long long)before[d], (long long)after[d], d,
                 TC_SHP(x));
        /* reflect does not repeat the edge, so it can mirror at most n-1 values */
        TC_CHECK(mode != TC_PAD_REFLECT || (before[d] < n && after[d] < n) || (before[d] == 0 && after[d] == 0),
                 TC_ERR_SHAPE, "pad: reflect padding %lld/%lld on axis %d of %s must be below the size %lld",
                 (long long)before[d], (long long)after[d], d, TC_SHP(x), (long long)n);
        TC_CHECK(mode != TC_PAD_EDGE || n > 0 || (before[d] == 0 && after[d] == 0), TC_ERR_SHAPE,
                 "pad: edge padding %lld/%lld of the empty axis %d of %s", (long long)before[d], (long long)after[d], d,
                 TC_SHP(x));
        oshape[d] = n + before[d] + after[d];
    }
    tc_contiguous_strides(r, x->shape, xstride);
    index_map m = {.value = value};
    tc_tensor *y = tc_result(r, oshape); /* first: it checks the size */
    if (!y || !alloc_idx(r, oshape, idx)) return NULL;
    for (int d = 0; d < r && idx[d]; d++) { /* idx NULL: empty result */
        int64_t n = x->shape[d];
        for (int64_t o = 0; o < oshape[d]; o++) {
            int64_t i = o - before[d];
            if (i < 0 || i >= n) {
                if (mode == TC_PAD_CONSTANT) i = -1;
                else if (mode == TC_PAD_EDGE) i = i < 0 ? 0 : n - 1;
                else i = i < 0 ? -i : 2 * (n - 1) - i; /* reflect without repeating the edge */
            }
            idx[d][o] = i;
        }
    }
    if (!build_map(&m, r, oshape, idx, xstride)) return NULL;
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_pad, x, y, &m) : NULL;
}

tc_tensor *tc_tile(tc_tensor *x, const int64_t *repeats)
{
    TC_CHECK(x, TC_ERR_ARG, "tile: input is NULL");
    TC_CHECK(repeats || x->ndim == 0, TC_ERR_ARG, "tile: repeats is NULL for input %s", TC_SHP(x));
    int r = x->ndim;
    int64_t oshape[TC_MAX_DIMS], xstride[TC_MAX_DIMS], *idx[TC_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        TC_CHECK(repeats[d] >= 0, TC_ERR_ARG, "tile: negative repeat %lld on axis %d of %s", (long long)repeats[d], d,
                 TC_SHP(x));
        TC_CHECK(x->shape[d] == 0 || repeats[d] <= INT32_MAX / x->shape[d], TC_ERR_SHAPE,
                 "tile: %lld repeats of axis %d of %s is too large", (long long)repeats[d], d, TC_SHP(x));
        oshape[d] = x->shape[d] * repeats[d];
    }
    tc_contiguous_strides(r, x->shape, xstride);
    index_map m = {0};
    tc_tensor *y = tc_result(r, oshape); /* first: it checks the size */
    if (!y || !alloc_idx(r, oshape, idx)) return NULL;
    for (int d = 0; d < r && idx[d]; d++)
        for (int64_t o = 0; o < oshape[d]; o++) idx[d][o] = o % x->shape[d];
    if (!build_map(&m, r, oshape, idx, xstride)) return NULL;
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_tile, x, y, &m) : NULL;
}

tc_tensor *tc_expand(tc_tensor *x, int ndim, const int64_t *shape)
{
    TC_CHECK(x, TC_ERR_ARG, "expand: input is NULL");
    TC_CHECK(ndim >= 0 && ndim <= TC_MAX_DIMS && (shape || ndim == 0), TC_ERR_ARG,
             "expand: bad target rank %d (or NULL shape) for input %s", ndim, TC_SHP(x));
    /* NumPy's broadcast_to when the target has every axis; ONNX Expand: the
     * result is the broadcast of both shapes (the target may be shorter or
     * have 1s where x does not) */
    int r = ndim > x->ndim ? ndim : x->ndim;
    int64_t oshape[TC_MAX_DIMS], xshape[TC_MAX_DIMS], xstride[TC_MAX_DIMS], pst[TC_MAX_DIMS], *idx[TC_MAX_DIMS];
    tc_contiguous_strides(x->ndim, x->shape, pst);
    char b[TC_SHAPE_STR_MAX];
    for (int d = 0; d < r; d++) {
        int dx = d - (r - x->ndim), dt = d - (r - ndim);
        int64_t nx = dx >= 0 ? x->shape[dx] : 1, nt = dt >= 0 ? shape[dt] : 1;
        TC_CHECK(nt >= 0, TC_ERR_SHAPE, "expand: negative size in target %s for input %s",
                 tc_dims_str(ndim, shape, b, sizeof b), TC_SHP(x));
        TC_CHECK(nx == nt || nx == 1 || nt == 1, TC_ERR_SHAPE,
                 "expand: input %s cannot broadcast to %s (axis %d: %lld vs %lld)", TC_SHP(x),
                 tc_dims_str(ndim, shape, b, sizeof b), d, (long long)nx, (long long)nt);
        xshape[d] = nx;
        oshape[d] = nx == 1 ? nt : nx;
        xstride[d] = dx >= 0 ? pst[dx] : 0;
    }
    index_map m = {0};
    tc_tensor *y = tc_result(r, oshape); /* first: it checks the size */
    if (!y || !alloc_idx(r, oshape, idx)) return NULL;
    for (int d = 0; d < r && idx[d]; d++)
        for (int64_t o = 0; o < oshape[d]; o++) idx[d][o] = xshape[d] == 1 ? 0 : o;
    if (!build_map(&m, r, oshape, idx, xstride)) return NULL;
    m.x = tc_packed(x);
    return m.x ? run_index_map(TC_OP_expand, x, y, &m) : NULL;
}
