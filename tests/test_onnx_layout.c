/* The interpreter's layout shortcuts against NumPy
 * (tests/fixtures/gen_onnx_layout.py, generated at test time): Pad (every
 * mode, channel pads, crops) and Concat of convolution outputs, which run
 * channels-last, give exactly NumPy's values; Gemm with transposed operands,
 * which reads them in place, matches to float rounding. Each case also runs
 * with a gradient to record (the composed path) and must agree with it. */
#include "testutil.h"

#include "tensorcook/onnx.h"

#include <stdio.h>

static int setup(void **state)
{
    (void)state;
    return tc_test_generate("onnx_layout", "gen_onnx_layout.py");
}

static int teardown(void **state)
{
    (void)state;
    return tc_test_generated_cleanup();
}

static tc_tensor *read_pb(const char *name, const char *which)
{
    char p[256];
    snprintf(p, sizeof p, "%s_%s.pb", name, which);
    tc_tensor *f = tc_onnx_read_tensor_file(tc_test_at(p), NULL, NULL);
    tc_assert_ok(f);
    tc_tensor *t = tc_copy_of(f->data, f->ndim, f->shape);
    tc_tensor_free(f);
    return t;
}

static void check(const char *name, double tol)
{
    char p[256];
    snprintf(p, sizeof p, "%s.onnx", name);
    tc_onnx_model *m = tc_onnx_load(tc_test_at(p));
    tc_assert_ok(m);
    tc_tensor *x = read_pb(name, "x"), *ref = read_pb(name, "y"), *y;
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    tc_assert_close(y, ref, tol, tol);
    /* the recorded path (views and ops with backwards) */
    tc_tensor *xg = tc_copy_of(x->data, x->ndim, x->shape), *yg;
    tc_set_requires_grad(xg, true);
    assert_int_equal(tc_onnx_run(m, 1, &xg, 1, &yg), TC_OK);
    tc_assert_close(yg, ref, tol, tol);
    tc_onnx_free(m);
    tc_step_reset();
}

static void pad_after_conv(void **state)
{
    (void)state;
    const char *modes[] = {"constant", "reflect", "edge"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "pad_%s", modes[i]);
        check(name, 0);
        snprintf(name, sizeof name, "pad_%s_crop", modes[i]);
        check(name, 0);
    }
}

static void concat_of_conv_outputs(void **state)
{
    (void)state;
    check("concat_cl", 0);
}

static void gemm_transposed_operands(void **state)
{
    (void)state;
    check("gemm_tb", 1e-5);
    check("gemm_ta_tb", 1e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(pad_after_conv), cmocka_unit_test(concat_of_conv_outputs),
                                       cmocka_unit_test(gemm_transposed_operands)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
