/* Finite-difference gradient checks (double precision) for sum, mean and max
 * over random shapes and random sets of axes (negative ones, keepdims both
 * ways, naxes 0 = all), including the patterns with several reduced groups.
 * The blocked paths of large sums are checked against a plain double sum in
 * test_reduce.c. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef struct { int which, naxes; int axes[4]; bool keep; } red_ctx;
static tc_tensor *build_reduce(tc_tensor **in, void *ctx)
{
    red_ctx *c = ctx;
    tc_tensor *(*fn[])(tc_tensor *, int, const int *, bool) = {tc_sum, tc_mean, tc_max};
    return fn[c->which](in[0], c->naxes, c->axes, c->keep);
}

static void fixed_cases(void **state)
{
    (void)state;
    red_ctx cases[] = {{0, 0, {0}, false}, {0, 1, {1}, true}, {0, 2, {0, -1}, false}, {1, 1, {-2}, false},
                       {1, 2, {0, 2}, true}, {1, 0, {0}, true}, {2, 1, {2}, false}, {2, 2, {0, 1}, true},
                       {2, 0, {0}, false}, {2, 2, {-1, 0}, false}, {0, 3, {2, 0, 1}, true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(3, 4, 5), -1, 1); /* distinct values: no ties */
        tc_tensor *in[1] = {x};
        tc_gradcheck(build_reduce, &cases[c], 1, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

static void random_shapes_and_axes(void **state)
{
    (void)state;
    for (int trial = 0; trial < 30; trial++) {
        int r = 1 + (int)tc_rng_below(&rng, 4);
        int64_t shape[4];
        for (int d = 0; d < r; d++) shape[d] = 1 + (int64_t)tc_rng_below(&rng, 4);
        red_ctx c = {(int)tc_rng_below(&rng, 3), 0, {0}, tc_rng_below(&rng, 2) == 1};
        for (int d = 0; d < r; d++)
            if (tc_rng_below(&rng, 2)) c.axes[c.naxes++] = tc_rng_below(&rng, 2) ? d : d - r; /* negative too */
        tc_tensor *in[1] = {tc_test_uniform(&rng, r, shape, -1, 1)};
        tc_gradcheck(build_reduce, &c, 1, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

int main(void)
{
    rng = tc_rng_new(27);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_cases),
        cmocka_unit_test(random_shapes_and_axes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
