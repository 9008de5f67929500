/* Finite-difference gradient checks (double precision) of tc_math_fn: every
 * function on random shapes, inside each one's domain (asin/acos/atanh in
 * (-1, 1), acosh above 1, tan away from its poles), and the forward values
 * against libm. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

static tc_tensor *build(tc_tensor **in, void *ctx) { return tc_math_fn(in[0], *(tc_math_fn_kind *)ctx); }

static void every_function(void **state)
{
    (void)state;
    for (int k = TC_FN_SIN; k <= TC_FN_ERF; k++) {
        double lo = -2, hi = 2;
        if (k == TC_FN_ASIN || k == TC_FN_ACOS || k == TC_FN_ATANH) lo = -0.9, hi = 0.9;
        if (k == TC_FN_ACOSH) lo = 1.2, hi = 4;
        if (k == TC_FN_TAN) lo = -1.2, hi = 1.2;
        for (int trial = 0; trial < 3; trial++) {
            int64_t shape[3] = {1 + (int64_t)tc_rng_below(&rng, 4), 1 + (int64_t)tc_rng_below(&rng, 4), 2};
            tc_tensor *x = tc_test_uniform(&rng, 3, shape, lo, hi);
            tc_math_fn_kind kind = (tc_math_fn_kind)k;
            tc_tensor *in[1] = {x};
            tc_gradcheck(build, &kind, 1, in, NULL, 1e-6, 1e-6);
            tc_step_reset();
        }
    }
}

static void values_match_libm(void **state)
{
    (void)state;
    double (*ref[])(double) = {sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, erf};
    for (int k = TC_FN_SIN; k <= TC_FN_ERF; k++) {
        double v = k == TC_FN_ACOSH ? 1.7 : 0.37;
        tc_tensor *x = tc_full(1, (int64_t[]){1}, v);
        tc_tensor *y = tc_math_fn(x, (tc_math_fn_kind)k);
        assert_non_null(y);
        assert_true(fabs(y->data[0] - ref[k](v)) < 1e-15);
        tc_step_reset();
    }
    tc_assert_error(tc_math_fn(NULL, TC_FN_SIN), "sin", "NULL");
    tc_assert_error(tc_math_fn(tc_full(1, (int64_t[]){1}, 0), (tc_math_fn_kind)99), "math_fn", "unknown");
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(23);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_function),
        cmocka_unit_test(values_match_libm),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
