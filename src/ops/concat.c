/* concat: inputs placed one after the other along an axis. Contiguous
 * inputs (up to CONCAT_ROWS_MAX of them) are copied row by row of the
 * result: row r (the axes before the concat axis) is the inputs' rows r one
 * after the other, and the rows are split over the pool in one region, so
 * each thread writes whole result rows once. Inception-v3 joins four branch
 * outputs channels-last per pixel: one input at a time cost four regions and
 * four passes over the result, each writing a strip of every pixel (at 2
 * threads its Concats took 3x their 1-thread CPU time). Other inputs go
 * through the shared strided copy one at a time (memcpy runs, split over the
 * pool when large). Backward copies the blocks of the output gradient back,
 * adding into each input's gradient. */
#include "shape_internal.h"

#define CONCAT_ROWS_MAX 64

typedef struct {
    int n;
    int64_t row;                            /* values in one result row */
    tc_scalar *y;
    const tc_scalar *x[CONCAT_ROWS_MAX];
    int64_t run[CONCAT_ROWS_MAX];           /* values of input i in one row */
} concat_rows_job;

static void concat_rows(void *ctx, int64_t lo, int64_t hi)
{
    const concat_rows_job *j = ctx;
    for (int64_t r = lo; r < hi; r++) {
        tc_scalar *d = j->y + r * j->row;
        for (int i = 0; i < j->n; i++) {
            memcpy(d, j->x[i] + r * j->run[i], sizeof(tc_scalar) * (size_t)j->run[i]);
            d += j->run[i];
        }
    }
}

/* the row-by-row copy when every input is contiguous; false: not taken */
static bool concat_by_rows(int n, tc_tensor *const *xs, int a, tc_tensor *y)
{
    if (n > CONCAT_ROWS_MAX || !tc_is_contiguous(y)) return false;
    concat_rows_job j = {.n = n, .row = y->strides[a] * y->shape[a], .y = y->data};
    for (int i = 0; i < n; i++) {
        if (!tc_is_contiguous(xs[i])) return false;
        j.x[i] = xs[i]->data;
        j.run[i] = xs[i]->shape[a] * y->strides[a];
    }
    int64_t rows = tc_shape_numel(a, y->shape), total = rows * j.row;
    if (total == 0) return true;
    if (total < TC_SHAPE_PARALLEL_MIN)
        concat_rows(&j, 0, rows);
    else
        tc_parallel_for(rows, 1 + TC_SHAPE_PARALLEL_MIN / 4 / j.row, concat_rows, &j);
    return true;
}

typedef struct { int axis; } concat_saved;

tc_tensor *tc_concat(int n, tc_tensor *const *xs, int axis)
{
    TC_CHECK(n >= 1 && xs, TC_ERR_ARG, "concat: no inputs (n = %d)", n);
    for (int i = 0; i < n; i++) TC_CHECK(xs[i], TC_ERR_ARG, "concat: input %d of %d is NULL", i, n);
    const tc_tensor *x0 = xs[0];
    int a = tc_axis(axis, x0->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "concat: axis %d is out of range for input 0 %s", axis, TC_SHP(x0));
    int64_t shape[TC_MAX_DIMS];
    memcpy(shape, x0->shape, sizeof shape);
    shape[a] = 0;
    for (int i = 0; i < n; i++) {
        bool ok = xs[i]->ndim == x0->ndim;
        for (int d = 0; ok && d < x0->ndim; d++) ok = d == a || xs[i]->shape[d] == x0->shape[d];
        TC_CHECK(ok, TC_ERR_SHAPE, "concat: input %d has shape %s but input 0 has %s (sizes must match except on axis %d)",
                 i, TC_SHP(xs[i]), TC_SHP(x0), axis);
        TC_CHECK(shape[a] <= INT64_MAX / 2 - xs[i]->shape[a], TC_ERR_SHAPE, "concat: result too large on axis %d", axis);
        shape[a] += xs[i]->shape[a];
    }
    tc_tensor *y = tc_result(x0->ndim, shape);
    if (!y) return NULL;
    bool done = concat_by_rows(n, xs, a, y);
    int64_t at = 0;
    for (int i = 0; i < n && !done; i++) {
        tc_shape_copy(xs[i]->ndim, xs[i]->shape, y->data + at * y->strides[a], y->strides, xs[i]->data,
                      xs[i]->strides, false);
        at += xs[i]->shape[a];
    }
    tc_node *nd = tc_record(TC_OP_concat, y, n, xs, sizeof(concat_saved));
    if (nd) ((concat_saved *)nd->saved)->axis = a;
    return y;
}

tc_status tc_backward_concat(tc_node *n, const tc_tensor *gy)
{
    int a = ((const concat_saved *)n->saved)->axis;
    int64_t at = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        tc_tensor *x = n->inputs[i], *gx = tc_grad_for(x);
        if (gx) tc_shape_copy(x->ndim, x->shape, gx->data, gx->strides, gy->data + at * gy->strides[a], gy->strides, true);
        at += x->shape[a];
    }
    return TC_OK;
}
