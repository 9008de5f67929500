/* concat: inputs placed one after the other along an axis. Each input is
 * copied into its block of the result with the shared strided copy (memcpy
 * runs, split over the pool when large); backward copies the blocks of the
 * output gradient back, adding into each input's gradient. */
#include "shape_internal.h"

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
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
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
