/* Finite-difference gradient checks (double precision) for the losses:
 * every reduction, gradients w.r.t. logits, soft labels, targets and
 * weights (masks with zeros too), 1-D to 3-D shapes, strided logits. */
#include "testutil.h"

#include <string.h>

static tc_rng rng;

enum { SPARSE, SOFT, SIGMOID, MSE, L2 };
typedef struct {
    int which;
    tc_reduction red;
    bool weighted;
    int ndim;
    int64_t shape[3];   /* of the logits / input */
    bool transposed;    /* logits given as a transposed (strided) view */
} loss_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    loss_case *c = ctx;
    tc_tensor *w = c->weighted ? in[2] : NULL;
    tc_tensor *x = c->transposed ? tc_transpose(in[0], (int[]){1, 0}) : in[0];
    switch (c->which) {
    case SPARSE: {
        /* fixed class ids for the examples: a function of the position */
        int64_t n = tc_numel(x) / x->shape[x->ndim - 1], C = x->shape[x->ndim - 1];
        tc_tensor *labels = tc_empty(x->ndim - 1, x->shape);
        for (int64_t i = 0; i < n; i++) labels->data[i] = (tc_scalar)((i * 7 + 3) % C);
        return tc_sparse_softmax_cross_entropy(x, labels, w, c->red);
    }
    case SOFT: return tc_softmax_cross_entropy(x, in[1], w, c->red);
    case SIGMOID: return tc_sigmoid_cross_entropy(x, in[1], w, c->red);
    case MSE: return tc_mse(x, in[1], c->red);
    default: return tc_l2_loss(x);
    }
}

static void run_case(loss_case *c)
{
    int64_t shape[3];
    memcpy(shape, c->shape, sizeof shape);
    if (c->transposed) shape[0] = c->shape[1], shape[1] = c->shape[0]; /* stored transposed */
    tc_tensor *in[3];
    in[0] = tc_test_uniform(&rng, c->ndim, shape, -3, 3);
    /* soft labels / targets in (0, 1); weights in (0.2, 2) with one zero (a mask) */
    in[1] = tc_test_uniform(&rng, c->ndim, c->shape, 0.05, 1);
    int wdim = c->which <= SOFT ? c->ndim - 1 : c->ndim;
    in[2] = tc_test_uniform(&rng, wdim, c->shape, 0.2, 2);
    if (c->weighted && tc_numel(in[2]) > 1) in[2]->data[1] = 0;
    bool check[3] = {true, c->which != SPARSE, c->weighted};
    int n = c->which == L2 ? 1 : 3;
    tc_gradcheck(build, c, n, in, check, 1e-6, 1e-6);
    tc_step_reset();
}

static void losses(void **state)
{
    loss_case cases[] = {
        {SPARSE, TC_REDUCE_MEAN, false, 3, {2, 3, 5}},
        {SPARSE, TC_REDUCE_WEIGHTED_MEAN, true, 3, {2, 3, 5}},
        {SPARSE, TC_REDUCE_NONE, true, 2, {4, 3}},
        {SPARSE, TC_REDUCE_SUM, true, 2, {4, 6}, true},
        {SPARSE, TC_REDUCE_MEAN, true, 1, {7}},
        {SOFT, TC_REDUCE_MEAN, true, 3, {2, 3, 4}},
        {SOFT, TC_REDUCE_WEIGHTED_MEAN, true, 2, {5, 3}},
        {SOFT, TC_REDUCE_NONE, false, 2, {3, 6}, true},
        {SOFT, TC_REDUCE_SUM, false, 1, {5}},
        {SIGMOID, TC_REDUCE_MEAN, false, 2, {2, 3}},
        {SIGMOID, TC_REDUCE_WEIGHTED_MEAN, true, 3, {2, 2, 3}},
        {SIGMOID, TC_REDUCE_NONE, true, 1, {5}},
        {SIGMOID, TC_REDUCE_SUM, true, 2, {3, 4}, true},
        {MSE, TC_REDUCE_MEAN, false, 2, {3, 4}},
        {MSE, TC_REDUCE_SUM, false, 3, {2, 1, 3}},
        {MSE, TC_REDUCE_NONE, false, 2, {4, 2}, true},
        {L2, TC_REDUCE_SUM, false, 2, {3, 4}},
        {L2, TC_REDUCE_SUM, false, 2, {3, 2}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Soft labels that are one-hot give the sparse loss and the same gradient. */
static void one_hot_equals_sparse(void **state)
{
    tc_tensor *z = tc_test_uniform(&rng, TC_SHAPE(4, 3), -2, 2);
    tc_set_requires_grad(z, true);
    tc_tensor *oh = tc_zeros(TC_SHAPE(4, 3)), *ids = tc_copy_of((tc_scalar[]){2, 0, 1, 1}, TC_SHAPE(4));
    for (int i = 0; i < 4; i++) oh->data[i * 3 + (int)ids->data[i]] = 1;
    tc_tensor *a = tc_softmax_cross_entropy(z, oh, NULL, TC_REDUCE_MEAN);
    assert_int_equal(tc_backward(a), TC_OK);
    tc_tensor *ga = tc_copy_of(z->grad->data, TC_SHAPE(4, 3));
    z->grad = NULL;
    tc_tensor *b = tc_sparse_softmax_cross_entropy(z, ids, NULL, TC_REDUCE_MEAN);
    assert_int_equal(tc_backward(b), TC_OK);
    tc_assert_close(a, b, 1e-12, 1e-12);
    tc_assert_close(ga, z->grad, 1e-12, 1e-12);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(31);
    const struct CMUnitTest tests[] = {cmocka_unit_test(losses), cmocka_unit_test(one_hot_equals_sparse)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
