/* Layout ops: reshape, flatten, transpose (all views when possible) and
 * contiguous (a packed copy). */
#include "ops_internal.h"

tc_tensor *tc_reshape(tc_tensor *x, int ndim, const int64_t *shape)
{
    TC_CHECK_TENSOR("reshape", x);
    TC_CHECK(ndim >= 0 && ndim <= TC_MAX_DIMS && (shape || ndim == 0), TC_ERR_ARG,
             "reshape: bad target rank %d for input %s", ndim, TC_SHP(x));
    int64_t dims[TC_MAX_DIMS], known = 1;
    int infer = -1;
    char b[TC_SHAPE_STR_MAX];
    for (int i = 0; i < ndim; i++) {
        dims[i] = shape[i];
        if (shape[i] == -1) {
            TC_CHECK(infer < 0, TC_ERR_SHAPE, "reshape: more than one -1 in %s",
                     tc_dims_str(ndim, shape, b, sizeof b));
            infer = i;
        } else {
            TC_CHECK(shape[i] >= 0, TC_ERR_SHAPE, "reshape: negative size in %s",
                     tc_dims_str(ndim, shape, b, sizeof b));
            known *= shape[i];
        }
    }
    int64_t n = tc_numel(x);
    if (infer >= 0) {
        TC_CHECK(known > 0 && n % known == 0, TC_ERR_SHAPE, "reshape: cannot reshape %s into %s", TC_SHP(x),
                 tc_dims_str(ndim, shape, b, sizeof b));
        dims[infer] = n / known;
    }
    TC_CHECK(tc_shape_numel(ndim, dims) == n, TC_ERR_SHAPE, "reshape: cannot reshape %s (%lld values) into %s",
             TC_SHP(x), (long long)n, tc_dims_str(ndim, dims, b, sizeof b));
    tc_tensor *y;
    if (tc_is_contiguous(x)) {
        int64_t strides[TC_MAX_DIMS];
        tc_contiguous_strides(ndim, dims, strides);
        y = tc_view_of(x->storage, x->offset, ndim, dims, strides);
    } else {
        y = tc_result(ndim, dims);
        if (y) tc_read_values(x, y->data);
    }
    if (!y) return NULL;
    tc_record(TC_OP_reshape, y, 1, &x, 0);
    return y;
}

tc_status tc_backward_reshape(tc_node *n, const tc_tensor *gy)
{
    bool fresh; /* a first gradient is gy itself, copied (no zero-fill and add) */
    tc_tensor *gx = tc_grad_for_overwrite(n->inputs[0], &fresh);
    if (gx && fresh) memcpy(gx->data, gy->data, sizeof(tc_scalar) * (size_t)tc_numel(gy));
    else if (gx) tc_accumulate(gx->data, gy->data, tc_numel(gy));
    return TC_OK;
}

tc_tensor *tc_flatten(tc_tensor *x, int axis)
{
    TC_CHECK_TENSOR("flatten", x);
    TC_CHECK(axis >= 0 && axis <= x->ndim, TC_ERR_ARG, "flatten: axis %d out of range for %s", axis, TC_SHP(x));
    int64_t outer = tc_shape_numel(axis, x->shape);
    int64_t inner = tc_shape_numel(x->ndim - axis, x->shape + axis);
    return tc_reshape(x, 2, (int64_t[]){outer, inner});
}

tc_tensor *tc_transpose(tc_tensor *x, const int *perm)
{
    TC_CHECK_TENSOR("transpose", x);
    TC_CHECK(perm || x->ndim == 0, TC_ERR_ARG, "transpose: perm is NULL for input %s", TC_SHP(x));
    int seen[TC_MAX_DIMS] = {0};
    int64_t shape[TC_MAX_DIMS], strides[TC_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        TC_CHECK(perm[i] >= 0 && perm[i] < x->ndim && !seen[perm[i]], TC_ERR_ARG,
                 "transpose: perm is not a permutation of the %d axes of %s", x->ndim, TC_SHP(x));
        seen[perm[i]] = 1;
        shape[i] = x->shape[perm[i]];
        strides[i] = x->strides[perm[i]];
    }
    tc_tensor *y = tc_view_of(x->storage, x->offset, x->ndim, shape, strides);
    if (!y) return NULL;
    tc_node *nd = tc_record(TC_OP_transpose, y, 1, &x, sizeof(int) * TC_MAX_DIMS);
    if (nd) memcpy(nd->saved, perm, sizeof(int) * (size_t)x->ndim);
    return y;
}

tc_status tc_backward_transpose(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    const int *perm = n->saved;
    int64_t gy_strides[TC_MAX_DIMS], dst_strides[TC_MAX_DIMS];
    tc_contiguous_strides(gy->ndim, gy->shape, gy_strides);
    for (int i = 0; i < gy->ndim; i++) dst_strides[i] = gx->strides[perm[i]];
    tc_strided_apply(gy->ndim, gy->shape, gx->data, dst_strides, gy->data, gy_strides, true);
    return TC_OK;
}

tc_tensor *tc_contiguous(tc_tensor *x)
{
    TC_CHECK_TENSOR("contiguous", x);
    if (tc_is_contiguous(x)) return x;
    tc_tensor *y = tc_result(x->ndim, x->shape);
    if (!y) return NULL;
    tc_read_values(x, y->data);
    tc_record(TC_OP_contiguous, y, 1, &x, 0);
    return y;
}

tc_status tc_backward_contiguous(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (gx) tc_accumulate(gx->data, gy->data, tc_numel(gy));
    return TC_OK;
}
