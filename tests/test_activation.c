/* Activations and softmax / log-softmax against PyTorch (fixtures written by
 * tests/fixtures/gen_elementwise.py: forward and input gradients), stability
 * at large |x|, bad inputs and thread-count independence. */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef tc_tensor *(*un_fn)(tc_tensor *);

/* Loads elementwise/NAME.tcfx, runs build on its inputs (made to require
 * gradients), compares the output and, after backward with "gout", every
 * "grad:NAME" with PyTorch's. */
static void check_case(const char *name, int n, const char *const *inputs,
                       tc_tensor *(*build)(tc_tensor **ins, void *ctx), void *ctx, double rtol, double atol)
{
    char path[512];
    snprintf(path, sizeof path, "%s/elementwise/%s.tcfx", TC_FIXTURES, name);
    tc_check_fixture_case(path, name, n, inputs, build, ctx, rtol, atol);
}

static tc_tensor *build_unary(tc_tensor **in, void *ctx) { return (*(un_fn *)ctx)(in[0]); }

static tc_tensor *leaky(tc_tensor *x) { return tc_leaky_relu(x, 0.2f); }
static tc_tensor *elu(tc_tensor *x) { return tc_elu(x, 1.3f); }
static tc_tensor *hsig(tc_tensor *x) { return tc_hard_sigmoid(x, 0.2f, 0.5f); }
static tc_tensor *sm0(tc_tensor *x) { return tc_softmax(x, 0); }
static tc_tensor *sm1(tc_tensor *x) { return tc_softmax(x, 1); }
static tc_tensor *smm1(tc_tensor *x) { return tc_softmax(x, -1); }
static tc_tensor *lsm0(tc_tensor *x) { return tc_log_softmax(x, 0); }
static tc_tensor *lsm1(tc_tensor *x) { return tc_log_softmax(x, 1); }
static tc_tensor *lsmm1(tc_tensor *x) { return tc_log_softmax(x, -1); }

static void against_pytorch(void **state)
{
    (void)state;
    struct { const char *name; un_fn fn; double rtol, atol; } ops[] = {
        {"relu", tc_relu, 1e-5, 1e-6}, {"leaky_relu", leaky, 1e-5, 1e-6}, {"elu", elu, 1e-5, 1e-6},
        {"tanh", tc_tanh, 1e-5, 1e-6}, {"sigmoid", tc_sigmoid, 1e-5, 1e-6},
        {"hard_sigmoid", hsig, 1e-5, 1e-6}, {"softplus", tc_softplus, 1e-5, 1e-6},
        {"softmax_axis0", sm0, 1e-5, 1e-6}, {"softmax_axis1", sm1, 1e-5, 1e-6},
        {"softmax_axis-1", smm1, 1e-5, 1e-6}, {"log_softmax_axis0", lsm0, 1e-5, 1e-5},
        {"log_softmax_axis1", lsm1, 1e-5, 1e-5}, {"log_softmax_axis-1", lsmm1, 1e-5, 1e-5},
        /* rows offset by +-1000: a naive exp overflows */
        {"softmax_large", smm1, 1e-5, 1e-6}, {"log_softmax_large", lsmm1, 1e-5, 1e-4},
    };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        check_case(ops[o].name, 1, (const char *[]){"x"}, build_unary, &ops[o].fn, ops[o].rtol, ops[o].atol);
}

/* no inf or NaN at extreme inputs, and the right limits */
static void extreme_values(void **state)
{
    (void)state;
    tc_tensor *x = tc_copy_of((tc_scalar[]){-1e4f, -200, 200, 1e4f}, TC_SHAPE(4));
    tc_tensor *sp = tc_softplus(x), *sg = tc_sigmoid(x), *th = tc_tanh(x), *el = tc_elu(x, 1);
    tc_assert_ok(sp);
    tc_assert_ok(sg);
    tc_assert_ok(th);
    tc_assert_ok(el);
    tc_assert_close(sp, tc_copy_of((tc_scalar[]){0, 0, 200, 1e4f}, TC_SHAPE(4)), 1e-6, 1e-30);
    tc_assert_close(sg, tc_copy_of((tc_scalar[]){0, 0, 1, 1}, TC_SHAPE(4)), 0, 1e-30);
    tc_assert_close(th, tc_copy_of((tc_scalar[]){-1, -1, 1, 1}, TC_SHAPE(4)), 0, 0);
    tc_assert_close(el, tc_copy_of((tc_scalar[]){-1, -1, 200, 1e4f}, TC_SHAPE(4)), 1e-7, 0);
    tc_tensor *z = tc_copy_of((tc_scalar[]){1e4f, 0, -1e4f, 1e4f}, TC_SHAPE(2, 2));
    tc_tensor *s = tc_softmax(z, 0), *ls = tc_log_softmax(z, 1);
    tc_assert_close(s, tc_copy_of((tc_scalar[]){1, 0, 0, 1}, TC_SHAPE(2, 2)), 0, 1e-30);
    tc_assert_close(ls, tc_copy_of((tc_scalar[]){0, -1e4f, -2e4f, 0}, TC_SHAPE(2, 2)), 1e-6, 0);
    tc_step_reset();
}

/* an axis that is not the last one, with more columns than one unit holds
 * (column chunks), agrees with the same data transposed to the last axis */
static void softmax_columns_match_lines(void **state)
{
    (void)state;
    tc_rng rng = tc_rng_new(5);
    for (int log = 0; log < 2; log++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(7, 150), -5, 5);
        tc_tensor *xt = tc_contiguous(tc_transpose(x, (int[]){1, 0})); /* [150, 7] */
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(xt, true);
        tc_tensor *a = log ? tc_log_softmax(x, 0) : tc_softmax(x, 0);
        tc_tensor *b = log ? tc_log_softmax(xt, -1) : tc_softmax(xt, -1);
        tc_tensor *g = tc_test_uniform(&rng, TC_SHAPE(7, 150), -1, 1);
        assert_int_equal(tc_backward_with(a, g), TC_OK);
        assert_int_equal(tc_backward_with(b, tc_contiguous(tc_transpose(g, (int[]){1, 0}))), TC_OK);
        tc_assert_close(a, tc_contiguous(tc_transpose(b, (int[]){1, 0})), 1e-6, 1e-7);
        tc_assert_close(x->grad, tc_contiguous(tc_transpose(xt->grad, (int[]){1, 0})), 1e-5, 1e-6);
        tc_step_reset();
    }
}

static void bad_inputs(void **state)
{
    (void)state;
    un_fn fns[] = {tc_relu, tc_tanh, tc_sigmoid, tc_softplus};
    const char *names[] = {"relu", "tanh", "sigmoid", "softplus"};
    for (int i = 0; i < 4; i++) tc_assert_error(fns[i](NULL), names[i], "NULL");
    tc_assert_error(tc_leaky_relu(NULL, 0.1f), "leaky_relu", "NULL");
    tc_assert_error(tc_elu(NULL, 1), "elu", "NULL");
    tc_assert_error(tc_hard_sigmoid(NULL, 0.2f, 0.5f), "hard_sigmoid", "NULL");
    tc_assert_error(tc_softmax(NULL, 0), "softmax", "NULL");
    tc_assert_error(tc_log_softmax(NULL, 0), "log_softmax", "NULL");
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3));
    tc_assert_error(tc_softmax(x, 2), "softmax", "axis 2", "[2, 3]");
    tc_assert_error(tc_softmax(x, -3), "softmax", "axis -3", "[2, 3]");
    tc_assert_error(tc_log_softmax(x, 5), "log_softmax", "axis 5", "[2, 3]");
    tc_assert_error(tc_softmax(tc_scalar_tensor(1), 0), "softmax", "axis 0");
    tc_step_reset();
}

/* large inputs split over threads: bit-identical with 1 and 2 threads */
static void same_bits_for_any_thread_count(void **state)
{
    (void)state;
    tc_tensor *keep[2][3];
    int threads0 = tc_num_threads();
    for (int run = 0; run < 2; run++) {
        tc_set_num_threads(run ? 2 : 1);
        tc_rng rng = tc_rng_new(21);
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(40, 70, 30), -4, 4);
        tc_set_requires_grad(x, true);
        tc_tensor *y = tc_add(tc_add(tc_softmax(x, 1), tc_log_softmax(x, -1)),
                              tc_mul(tc_elu(x, 1), tc_add(tc_sigmoid(x), tc_softplus(x))));
        tc_tensor *g = tc_test_uniform(&rng, y->ndim, y->shape, -1, 1);
        assert_int_equal(tc_backward_with(y, g), TC_OK);
        keep[run][0] = tc_tensor_keep(y), keep[run][1] = tc_tensor_keep(x->grad);
        keep[run][2] = tc_tensor_keep(tc_tanh(tc_relu(x)));
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(keep[0][i]->data, keep[1][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(keep[0][i]));
        tc_tensor_free(keep[0][i]), tc_tensor_free(keep[1][i]);
    }
}

/* the relu backprop modifiers: same forward, same tape; backward follows
 * the mode set when tc_backward runs, and the mode is restored after */
static void relu_grad_modes(void **state)
{
    (void)state;
    const tc_scalar xv[6] = {-2, -1, 0.5f, 1, 3, -0.5f}, gv[6] = {1, -1, 2, -3, 0.25f, 4};
    const tc_scalar want[3][6] = {
        {0, 0, 2, -3, 0.25f, 0},    /* plain: g where x > 0 */
        {0, 0, 2, 0, 0.25f, 0},     /* guided: where x > 0 and g > 0 */
        {1, 0, 2, 0, 0.25f, 4},     /* rectified: where g > 0 */
    };
    for (int mode = 0; mode < 3; mode++) {
        tc_tensor *x = tc_tensor_from(TC_SHAPE(6), xv);
        tc_set_requires_grad(x, true);
        tc_tensor *y = tc_relu(x); /* recorded in plain mode: the mode is read at backward */
        tc_tensor *g = tc_tensor_from(TC_SHAPE(6), gv);
        tc_relu_grad_mode was = tc_set_relu_grad_mode((tc_relu_grad_mode)mode);
        assert_int_equal(was, TC_RELU_GRAD_PLAIN);
        assert_int_equal(tc_backward_with(y, g), TC_OK);
        assert_int_equal(tc_set_relu_grad_mode(was), (tc_relu_grad_mode)mode);
        for (int i = 0; i < 6; i++) assert_float_equal(x->grad->data[i], want[mode][i], 0);
        for (int i = 0; i < 6; i++) assert_float_equal(y->data[i], xv[i] > 0 ? xv[i] : 0, 0);
        tc_tensor_free(g), tc_tensor_free(x);
        tc_step_reset();
    }
    /* other activations ignore the mode */
    tc_tensor *x = tc_tensor_from(TC_SHAPE(6), xv);
    tc_set_requires_grad(x, true);
    tc_tensor *y = tc_leaky_relu(x, 0.5f);
    tc_tensor *g = tc_tensor_from(TC_SHAPE(6), gv);
    tc_relu_grad_mode was = tc_set_relu_grad_mode(TC_RELU_GRAD_GUIDED);
    assert_int_equal(tc_backward_with(y, g), TC_OK);
    tc_set_relu_grad_mode(was);
    for (int i = 0; i < 6; i++) assert_float_equal(x->grad->data[i], xv[i] > 0 ? gv[i] : 0.5f * gv[i], 0);
    tc_tensor_free(g), tc_tensor_free(x);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_pytorch),
        cmocka_unit_test(extreme_values),
        cmocka_unit_test(softmax_columns_match_lines),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(same_bits_for_any_thread_count),
        cmocka_unit_test(relu_grad_modes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
