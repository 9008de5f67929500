/* Finite-difference gradient checks (double precision) for views and matmul. */
#include "testutil.h"

static tc_rng rng;

static tc_tensor *build_matmul(tc_tensor **in, void *ctx) { return tc_matmul(in[0], in[1]); }
static tc_tensor *build_linear(tc_tensor **in, void *ctx) { return tc_linear(in[0], in[1], in[2]); }
static tc_tensor *build_transpose_reshape(tc_tensor **in, void *ctx)
{
    tc_tensor *t = tc_transpose(in[0], (int[]){2, 0, 1});
    tc_tensor *r = tc_reshape(t, TC_SHAPE(4, -1)); /* non-contiguous: copies */
    return tc_matmul(r, in[1]);
}

static void matmul_shapes(void **state)
{
    struct { int na; int64_t a[4]; int nb; int64_t b[4]; } cases[] = {
        {2, {3, 4}, 2, {4, 5}},
        {3, {2, 3, 4}, 2, {4, 2}},          /* batch broadcast of b */
        {3, {2, 3, 4}, 3, {1, 4, 2}},       /* size-1 batch axis */
        {4, {2, 1, 3, 4}, 3, {3, 4, 2}},    /* both broadcast */
        {1, {4}, 2, {4, 3}},                /* vector @ matrix */
        {2, {3, 4}, 1, {4}},                /* matrix @ vector */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *in[2] = {tc_test_uniform(&rng, cases[c].na, cases[c].a, -1, 1),
                            tc_test_uniform(&rng, cases[c].nb, cases[c].b, -1, 1)};
        tc_gradcheck(build_matmul, NULL, 2, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

static void linear_and_views(void **state)
{
    tc_tensor *in[3] = {tc_test_uniform(&rng, TC_SHAPE(2, 3, 5), -1, 1), tc_test_uniform(&rng, TC_SHAPE(5, 4), -1, 1),
                        tc_test_uniform(&rng, TC_SHAPE(4), -1, 1)};
    tc_gradcheck(build_linear, NULL, 3, in, NULL, 1e-6, 1e-6);
    tc_step_reset();
    tc_tensor *in2[2] = {tc_test_uniform(&rng, TC_SHAPE(2, 3, 4), -1, 1), tc_test_uniform(&rng, TC_SHAPE(6, 2), -1, 1)};
    tc_gradcheck(build_transpose_reshape, NULL, 2, in2, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

/* tc_contiguous on strided views (a transpose, a narrowed slice): its copy's backward */
static tc_tensor *build_contiguous_transpose(tc_tensor **in, void *ctx)
{
    return tc_contiguous(tc_transpose(in[0], (int[]){2, 0, 1}));
}
static tc_tensor *build_contiguous_narrow(tc_tensor **in, void *ctx)
{
    return tc_mul(tc_contiguous(tc_narrow(in[0], 1, 1, 3)), tc_contiguous(tc_narrow(in[0], 1, 0, 3)));
}

static void contiguous_copies(void **state)
{
    tc_tensor *in[1] = {tc_test_uniform(&rng, TC_SHAPE(3, 4, 5), -1, 1)};
    tc_gradcheck(build_contiguous_transpose, NULL, 1, in, NULL, 1e-6, 1e-6);
    tc_step_reset();
    tc_tensor *in2[1] = {tc_test_uniform(&rng, TC_SHAPE(2, 5, 3), -1, 1)};
    tc_gradcheck(build_contiguous_narrow, NULL, 1, in2, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

/* gram: x^T x over the last axis; used twice (the second backward adds to
 * the first's dx), and on a transposed view (a packed copy) */
static tc_tensor *build_gram(tc_tensor **in, void *ctx) { return tc_gram(in[0]); }
static tc_tensor *build_gram_twice(tc_tensor **in, void *ctx)
{
    tc_tensor *h = tc_mul_scalar(in[0], 1.5); /* an intermediate: its first gradient is written, the others add */
    return tc_add(tc_gram(h), tc_mul(tc_gram(h), tc_gram(in[0])));
}
static tc_tensor *build_gram_view(tc_tensor **in, void *ctx) { return tc_gram(tc_transpose(in[0], (int[]){1, 0})); }

static void gram_shapes(void **state)
{
    struct { int nd; int64_t s[4]; } cases[] = {{2, {5, 3}}, {4, {1, 3, 2, 4}}, {3, {2, 7, 1}}, {1, {6}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *in[1] = {tc_test_uniform(&rng, cases[c].nd, cases[c].s, -1, 1)};
        tc_gradcheck(build_gram, NULL, 1, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
    tc_tensor *in[1] = {tc_test_uniform(&rng, TC_SHAPE(4, 3), -1, 1)};
    tc_gradcheck(build_gram_twice, NULL, 1, in, NULL, 1e-6, 1e-6);
    tc_step_reset();
    tc_tensor *in2[1] = {tc_test_uniform(&rng, TC_SHAPE(3, 5), -1, 1)};
    tc_gradcheck(build_gram_view, NULL, 1, in2, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(42);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matmul_shapes),
        cmocka_unit_test(linear_and_views),
        cmocka_unit_test(contiguous_copies),
        cmocka_unit_test(gram_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
