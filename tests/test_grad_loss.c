/* Finite-difference gradient checks (double precision) for the losses,
 * with every reduction, weights as masks and soft labels. */
#include "testutil.h"

static tc_rng rng;
static tc_scalar labels[6] = {2, 0, 4, 1, 3, 3};
static tc_scalar weights[6] = {1, 0, 2, 1, 0.5, 1};

typedef struct { int which; tc_reduction red; bool weighted; } loss_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    loss_case *c = ctx;
    tc_tensor *w = c->weighted ? tc_copy_of(weights, TC_SHAPE(2, 3)) : NULL;
    switch (c->which) {
    case 0: return tc_sparse_softmax_cross_entropy(in[0], tc_copy_of(labels, TC_SHAPE(2, 3)), w, c->red);
    case 1: return tc_softmax_cross_entropy(in[0], tc_softmax(in[1], -1), w, c->red);
    case 2: return tc_sigmoid_cross_entropy(in[0], tc_sigmoid(in[1]), c->weighted ? tc_copy_of(weights, TC_SHAPE(2, 3)) : NULL, c->red);
    case 3: return tc_mse(in[0], in[1], c->red);
    default: return tc_l2_loss(in[0]);
    }
}

static void losses(void **state)
{
    loss_case cases[] = {{0, TC_REDUCE_MEAN, false}, {0, TC_REDUCE_WEIGHTED_MEAN, true}, {0, TC_REDUCE_NONE, true},
                         {0, TC_REDUCE_SUM, true}, {1, TC_REDUCE_MEAN, true}, {1, TC_REDUCE_NONE, false},
                         {2, TC_REDUCE_MEAN, false}, {2, TC_REDUCE_WEIGHTED_MEAN, true}, {3, TC_REDUCE_MEAN, false},
                         {3, TC_REDUCE_SUM, false}, {4, TC_REDUCE_SUM, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool classes = cases[i].which <= 1;
        tc_tensor *in[2] = {classes ? tc_test_uniform(&rng, TC_SHAPE(2, 3, 5), -3, 3) : tc_test_uniform(&rng, TC_SHAPE(2, 3), -3, 3),
                            classes ? tc_test_uniform(&rng, TC_SHAPE(2, 3, 5), -1, 1) : tc_test_uniform(&rng, TC_SHAPE(2, 3), -1, 1)};
        tc_gradcheck(build, &cases[i], 2, in, NULL, 1e-6, 1e-6);
        tc_arena_reset();
    }
}

static void errors(void **state)
{
    tc_tensor *z = tc_zeros(TC_SHAPE(4, 3));
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_full(TC_SHAPE(4), 3), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "label 3", "[0, 3)");
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_zeros(TC_SHAPE(5)), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "[5]", "[4, 3]");
    tc_assert_error(tc_softmax_cross_entropy(z, tc_zeros(TC_SHAPE(4, 2)), NULL, TC_REDUCE_MEAN),
                    "softmax_cross_entropy", "[4, 3]", "[4, 2]");
    tc_assert_error(tc_mse(z, NULL, TC_REDUCE_MEAN), "mse", "NULL");
    tc_arena_reset();
}

int main(void)
{
    rng = tc_rng_new(31);
    const struct CMUnitTest tests[] = {cmocka_unit_test(losses), cmocka_unit_test(errors)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
