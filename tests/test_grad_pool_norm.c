/* Finite-difference gradient checks (double precision) for pooling, batch
 * normalisation, LRN, dropout and resizing. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef struct { tc_pool_params p; bool max; } pool_case;
static tc_tensor *b_pool(tc_tensor **in, void *ctx)
{
    pool_case *c = ctx;
    return c->max ? tc_max_pool(in[0], &c->p) : tc_avg_pool(in[0], &c->p);
}

static void pools(void **state)
{
    struct { int nd; int64_t shape[5]; pool_case c; } cases[] = {
        {4, {2, 5, 5, 3}, {{.kernel = {2, 2}}, true}},
        {4, {1, 5, 6, 2}, {{.kernel = {3, 2}, .stride = {2, 2}, .padding = TC_SAME}, true}},
        {4, {1, 6, 6, 2}, {{.kernel = {2, 2}, .stride = {3, 3}}, true}}, /* stride > kernel */
        {4, {1, 7, 7, 2}, {{.kernel = {3, 3}, .stride = {2, 2}, .dilation = {2, 1}, .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 0}}, true}},
        {4, {1, 6, 6, 2}, {{.kernel = {3, 3}, .stride = {2, 2}, .ceil_mode = true}, true}},
        {4, {2, 5, 5, 3}, {{.kernel = {2, 2}, .padding = TC_SAME}, false}},
        {4, {1, 5, 6, 2}, {{.kernel = {3, 3}, .stride = {2, 2}, .padding = TC_SAME}, false}},
        {4, {1, 6, 6, 2}, {{.kernel = {3, 3}, .stride = {2, 2}, .ceil_mode = true, .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}, .count_include_pad = true}, false}},
        {4, {1, 6, 6, 2}, {{.kernel = {3, 3}, .stride = {2, 2}, .ceil_mode = true, .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}}, false}},
        {3, {2, 9, 3}, {{.kernel = {3}, .stride = {2}, .padding = TC_SAME}, true}},
        {3, {2, 9, 3}, {{.kernel = {4}, .stride = {2}, .padding = TC_SAME_LOWER}, false}},
        {5, {1, 4, 5, 4, 2}, {{.kernel = {2, 2, 2}, .stride = {2, 2, 1}}, true}},
        {5, {1, 4, 5, 4, 2}, {{.kernel = {2, 3, 2}, .padding = TC_SAME}, false}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_tensor *x = tc_test_uniform(&rng, cases[i].nd, cases[i].shape, -1, 1); /* distinct: no ties */
        tc_gradcheck(b_pool, &cases[i].c, 1, &x, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

static tc_tensor *b_bn_train(tc_tensor **in, void *ctx)
{
    return tc_batch_norm(in[0], in[1], in[2], NULL, NULL, true, 0.9, 1e-3);
}
static tc_tensor *b_bn_infer(tc_tensor **in, void *ctx)
{
    return tc_batch_norm(in[0], in[1], in[2], in[3], in[4], false, 0.9, 1e-3);
}
static tc_tensor *b_lrn(tc_tensor **in, void *ctx) { return tc_lrn(in[0], *(int *)ctx, 0.3, 0.75, 1.5); }
static tc_tensor *b_dropout(tc_tensor **in, void *ctx)
{
    tc_rng r = tc_rng_new(99); /* the same mask in every pass */
    return tc_dropout(in[0], 0.4, true, &r);
}
static tc_tensor *b_resize(tc_tensor **in, void *ctx)
{
    tc_resize_params *p = ctx;
    return tc_resize(in[0], (int64_t[]){5, 3}, p);
}

static void norms_dropout_resize(void **state)
{
    tc_tensor *in[5] = {tc_test_uniform(&rng, TC_SHAPE(1, 3, 2, 4), -1, 1), tc_test_uniform(&rng, TC_SHAPE(4), 0.5, 1.5),
                        tc_test_uniform(&rng, TC_SHAPE(4), -1, 1), tc_test_uniform(&rng, TC_SHAPE(4), -1, 1),
                        tc_test_uniform(&rng, TC_SHAPE(4), 0.5, 2)};
    tc_gradcheck(b_bn_train, NULL, 3, in, NULL, 1e-6, 1e-6);
    tc_gradcheck(b_bn_infer, NULL, 5, in, NULL, 1e-6, 1e-6);
    for (int size = 1; size <= 4; size++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 3, 5), -2, 2);
        tc_gradcheck(b_lrn, &size, 1, &x, NULL, 1e-6, 1e-6);
    }
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(3, 7), -1, 1);
    tc_gradcheck(b_dropout, NULL, 1, &x, NULL, 1e-6, 1e-6);
    tc_resize_params modes[] = {{TC_RESIZE_LINEAR, TC_COORD_HALF_PIXEL}, {TC_RESIZE_LINEAR, TC_COORD_ALIGN_CORNERS},
                                {TC_RESIZE_NEAREST, TC_COORD_ASYMMETRIC, TC_NEAREST_FLOOR}};
    for (int i = 0; i < 3; i++) {
        tc_tensor *img = tc_test_uniform(&rng, TC_SHAPE(2, 3, 4, 2), -1, 1);
        tc_gradcheck(b_resize, &modes[i], 1, &img, NULL, 1e-6, 1e-6);
    }
    tc_step_reset();
}

static void dropout_statistics_and_errors(void **state)
{
    tc_tensor *x = tc_full(TC_SHAPE(100000), 1);
    tc_rng r1 = tc_rng_new(3), r2 = tc_rng_new(3);
    tc_set_num_threads(1);
    tc_tensor *a = tc_dropout(x, 0.3, true, &r1);
    tc_set_num_threads(2);
    tc_tensor *b = tc_dropout(x, 0.3, true, &r2);
    tc_assert_close(a, b, 0, 0); /* same mask for any thread count */
    int64_t kept = 0;
    for (int64_t i = 0; i < 100000; i++) {
        if (a->data[i] != 0) {
            kept++;
            assert_true(fabs(a->data[i] - 1 / 0.7) < 1e-5);
        }
    }
    assert_true(fabs(kept / 100000.0 - 0.7) < 0.01);
    assert_ptr_equal(tc_dropout(x, 0.3, false, NULL), x); /* inference: identity */
    tc_assert_error(tc_dropout(x, 1.0, true, NULL), "dropout", "rate");
    tc_tensor *img = tc_zeros(TC_SHAPE(1, 4, 4, 3));
    tc_assert_error(tc_max_pool(img, &(tc_pool_params){.kernel = {5, 5}}), "max_pool", "[1, 4, 4, 3]");
    tc_assert_error(tc_max_pool(tc_zeros(TC_SHAPE(4, 3)), &(tc_pool_params){.kernel = {2}}), "max_pool", "[4, 3]");
    tc_assert_error(tc_batch_norm(img, tc_zeros(TC_SHAPE(4)), NULL, NULL, NULL, true, 0.9, 1e-3), "batch_norm", "gamma", "[4]");
    tc_assert_error(tc_lrn(img, 0, 1, 1, 1), "lrn", "size 0");
    /* the seed's pooling sizes */
    tc_tensor *p = tc_max_pool(tc_zeros(TC_SHAPE(1, 28, 28, 1)), &(tc_pool_params){.kernel = {2, 2}, .padding = TC_SAME});
    assert_int_equal(p->shape[1], 14);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(21);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pools),
        cmocka_unit_test(norms_dropout_resize),
        cmocka_unit_test(dropout_statistics_and_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
