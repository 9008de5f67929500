/* gather: rows of a table along an axis, chosen by integer-valued indices.
 * The table is seen as [outer, len, inner] (axis in the middle) and the
 * result as [outer, nidx, inner]: each result row is one memcpy of inner
 * values (for axis 0 on a contiguous table, straight from the table's
 * memory: the embedding lookup). Rows are split over the pool.
 *
 * Backward scatter-adds result rows into table rows. Repeated indices send
 * several rows to one table row; to stay bit-identical for any thread
 * count, the indices are grouped by table row (a counting sort that keeps
 * their order) and each table row is owned by one thread, which adds its
 * contributions in index order: the same order as a serial loop. */
#include "shape_internal.h"

typedef struct {
    int64_t outer, len, inner, nidx;
    int64_t *idx;            /* normalised indices, nidx of them */
} gather_saved;

typedef struct {
    const gather_saved *s;
    const tc_scalar *table;
    tc_scalar *y;
} gather_job;

static void gather_rows(void *ctx, int64_t begin, int64_t end)
{
    const gather_job *j = ctx;
    const gather_saved *s = j->s;
    size_t bytes = sizeof(tc_scalar) * (size_t)s->inner;
    if (s->inner == 1) { /* gather along the last axis: single values, no memcpy calls */
        for (int64_t r = begin; r < end; r++) j->y[r] = j->table[(r / s->nidx) * s->len + s->idx[r % s->nidx]];
        return;
    }
    for (int64_t r = begin; r < end; r++) {
        int64_t o = r / s->nidx, i = r % s->nidx;
        memcpy(j->y + r * s->inner, j->table + (o * s->len + s->idx[i]) * s->inner, bytes);
    }
}

tc_tensor *tc_gather(tc_tensor *table, tc_tensor *indices, int axis)
{
    TC_CHECK(table, TC_ERR_ARG, "gather: table is NULL");
    TC_CHECK(indices, TC_ERR_ARG, "gather: indices is NULL for table %s", TC_SHP(table));
    int a = tc_axis(axis, table->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "gather: axis %d is out of range for table %s", axis, TC_SHP(table));
    TC_CHECK(table->ndim - 1 + indices->ndim <= TC_MAX_DIMS, TC_ERR_SHAPE,
             "gather: table %s with indices %s gives more than %d dimensions", TC_SHP(table), TC_SHP(indices),
             TC_MAX_DIMS);
    gather_saved s = {tc_shape_numel(a, table->shape), table->shape[a],
                      tc_shape_numel(table->ndim - a - 1, table->shape + a + 1), tc_numel(indices), NULL};
    int64_t shape[TC_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < a; d++) shape[r++] = table->shape[d];
    for (int d = 0; d < indices->ndim; d++) shape[r++] = indices->shape[d];
    for (int d = a + 1; d < table->ndim; d++) shape[r++] = table->shape[d];
    tc_tensor *y = tc_result(r, shape);
    s.idx = tc_arena_alloc(sizeof(int64_t) * (size_t)(s.nidx + 1));
    const tc_scalar *iv = tc_packed(indices);
    if (!y || !s.idx || !iv) return NULL;
    for (int64_t i = 0; i < s.nidx; i++) {
        double v = (double)iv[i];
        TC_CHECK(v > -9e18 && v < 9e18 && (double)(int64_t)v == v, TC_ERR_ARG,
                 "gather: index %g at position %lld is not a whole number (table %s)", v, (long long)i, TC_SHP(table));
        int64_t k = (int64_t)v;
        TC_CHECK(k >= -s.len && k < s.len, TC_ERR_ARG,
                 "gather: index %lld at position %lld is out of range for axis %d of table %s", (long long)k,
                 (long long)i, axis, TC_SHP(table));
        s.idx[i] = k < 0 ? k + s.len : k;
    }
    const tc_scalar *t = tc_packed(table);
    if (!t) return NULL;
    gather_job j = {&s, t, y->data};
    int64_t rows = s.outer * s.nidx;
    if (rows * s.inner < TC_SHAPE_PARALLEL_MIN)
        gather_rows(&j, 0, rows);
    else
        tc_parallel_for(rows, 1 + TC_SHAPE_PARALLEL_MIN / 4 / (s.inner + 1), gather_rows, &j);
    tc_node *nd = tc_record(TC_OP_gather, y, 2, (tc_tensor *[]){table, indices}, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

/* ---- backward ------------------------------------------------------------------------ */
typedef struct {
    const gather_saved *s;
    const int64_t *rows;     /* distinct table rows that some index chose, ascending */
    const int64_t *first;    /* positions of row u: pos[first[u] .. first[u+1]) */
    const int64_t *pos;      /* index positions grouped by row, ascending within a row */
    int64_t nrows;
    tc_scalar *gt;
    const tc_scalar *gy;
} scatter_job;

/* Work items are (outer, distinct row) pairs: each owns one table row. */
static void scatter_rows(void *ctx, int64_t begin, int64_t end)
{
    const scatter_job *j = ctx;
    const gather_saved *s = j->s;
    int64_t inner = s->inner;
    for (int64_t w = begin; w < end; w++) {
        int64_t o = w / j->nrows, u = w % j->nrows;
        tc_scalar *d = j->gt + (o * s->len + j->rows[u]) * inner;
        for (int64_t p = j->first[u]; p < j->first[u + 1]; p++) {
            const tc_scalar *g = j->gy + (o * s->nidx + j->pos[p]) * inner;
            for (int64_t c = 0; c < inner; c++) d[c] += g[c];
        }
    }
}

tc_status tc_backward_gather(tc_node *n, const tc_tensor *gy)
{
    const gather_saved *s = n->saved;
    tc_tensor *gt = tc_grad_for(n->inputs[0]);
    if (!gt || s->nidx == 0 || s->outer == 0 || s->inner == 0) return TC_OK; /* indices get no gradient */
    /* counting sort of the index positions by table row (stable) */
    int64_t *count = tc_arena_alloc(sizeof(int64_t) * (size_t)(s->len + 1));
    int64_t *pos = tc_arena_alloc(sizeof(int64_t) * (size_t)s->nidx);
    int64_t *rows = tc_arena_alloc(sizeof(int64_t) * (size_t)(s->nidx + 1));
    int64_t *first = tc_arena_alloc(sizeof(int64_t) * (size_t)(s->nidx + 1));
    if (!count || !pos || !rows || !first) return tc_last_status(); /* out of memory: the arena has set the error */
    memset(count, 0, sizeof(int64_t) * (size_t)(s->len + 1));
    for (int64_t i = 0; i < s->nidx; i++) count[s->idx[i] + 1]++;
    int64_t nrows = 0;
    for (int64_t k = 0; k < s->len; k++) {
        if (count[k + 1]) {
            rows[nrows] = k;
            first[nrows] = count[k];
            nrows++;
        }
        count[k + 1] += count[k]; /* count[k]: where row k's positions start */
    }
    first[nrows] = s->nidx;
    for (int64_t i = 0; i < s->nidx; i++) pos[count[s->idx[i]]++] = i;
    scatter_job j = {s, rows, first, pos, nrows, gt->data, gy->data};
    int64_t work = s->outer * nrows;
    if (s->outer * s->nidx * s->inner < TC_SHAPE_PARALLEL_MIN)
        scatter_rows(&j, 0, work);
    else
        tc_parallel_for(work, 1 + TC_SHAPE_PARALLEL_MIN / 4 / (s->inner * (s->nidx / nrows) + 1), scatter_rows, &j);
    return TC_OK;
}
