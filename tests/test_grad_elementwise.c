/* Finite-difference gradient checks (double precision) for the element-wise
 * ops, activations, softmax family and reductions. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef tc_tensor *(*bin_fn)(tc_tensor *, tc_tensor *);
typedef tc_tensor *(*un_fn)(tc_tensor *);

static tc_tensor *build_binary(tc_tensor **in, void *ctx) { return (*(bin_fn *)ctx)(in[0], in[1]); }
static tc_tensor *build_unary(tc_tensor **in, void *ctx) { return (*(un_fn *)ctx)(in[0]); }

static void binary_ops_with_broadcasting(void **state)
{
    bin_fn fns[] = {tc_add, tc_sub, tc_mul, tc_div, tc_maximum, tc_minimum, tc_pow};
    struct { int na; int64_t a[4]; int nb; int64_t b[4]; } shapes[] = {
        {2, {3, 4}, 2, {3, 4}},       /* same shape */
        {2, {3, 4}, 1, {4}},          /* rank difference */
        {3, {2, 1, 4}, 3, {1, 3, 1}}, /* size-1 axes on both sides */
        {1, {1}, 3, {2, 3, 2}},       /* scalar-like */
        {0, {0}, 2, {2, 3}},          /* a true scalar */
    };
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            /* positive operands away from 0 so div and pow are smooth, and
             * distinct values so max/min have no ties */
            tc_tensor *in[2] = {tc_test_uniform(&rng, shapes[s].na, shapes[s].a, 0.5, 2.0),
                                tc_test_uniform(&rng, shapes[s].nb, shapes[s].b, 0.5, 2.0)};
            tc_gradcheck(build_binary, &fns[f], 2, in, NULL, 1e-6, 1e-6);
            tc_arena_reset();
        }
}

static tc_tensor *leaky(tc_tensor *x) { return tc_leaky_relu(x, 0.2); }
static tc_tensor *elu(tc_tensor *x) { return tc_elu(x, 1.3); }
static tc_tensor *hsig(tc_tensor *x) { return tc_hard_sigmoid(x, 0.2, 0.5); }
static tc_tensor *clip(tc_tensor *x) { return tc_clip(x, -0.5, 0.7); }
static tc_tensor *adds(tc_tensor *x) { return tc_add_scalar(x, 3); }
static tc_tensor *muls(tc_tensor *x) { return tc_mul_scalar(x, -2.5); }
static tc_tensor *pows(tc_tensor *x) { return tc_pow_scalar(tc_abs(x), 1.7); }
static tc_tensor *logabs(tc_tensor *x) { return tc_log(tc_abs(x)); }
static tc_tensor *sqrtabs(tc_tensor *x) { return tc_sqrt(tc_abs(x)); }
static tc_tensor *sm0(tc_tensor *x) { return tc_softmax(x, 0); }
static tc_tensor *sm1(tc_tensor *x) { return tc_softmax(x, -1); }
static tc_tensor *lsm1(tc_tensor *x) { return tc_log_softmax(x, 1); }
static tc_tensor *lsm2(tc_tensor *x) { return tc_log_softmax(x, -1); }

static void unary_ops(void **state)
{
    un_fn fns[] = {tc_exp, logabs, sqrtabs, tc_abs, tc_neg, tc_square, clip, adds, muls, pows, tc_relu, leaky,
                   elu, tc_tanh, tc_sigmoid, hsig, tc_softplus, sm0, sm1, lsm1, lsm2};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(3, 4, 5), -3, 3);
        /* keep values away from the kinks of relu, abs, clip, hard sigmoid */
        for (int64_t i = 0; i < tc_numel(x); i++) {
            double v = x->data[i];
            if (fabs(v) < 0.05) x->data[i] += 0.1;
            if (fabs(v + 0.5) < 0.02 || fabs(v - 0.7) < 0.02 || fabs(v + 2.5) < 0.02 || fabs(v - 2.5) < 0.02)
                x->data[i] += 0.05;
        }
        tc_tensor *in[1] = {x};
        tc_gradcheck(build_unary, &fns[f], 1, in, NULL, 1e-6, 1e-6);
        tc_arena_reset();
    }
}

typedef struct { int n; int axes[3]; bool keep; int which; } red_ctx;
static tc_tensor *build_reduce(tc_tensor **in, void *ctx)
{
    red_ctx *c = ctx;
    tc_tensor *(*fn[])(tc_tensor *, int, const int *, bool) = {tc_sum, tc_mean, tc_max};
    return fn[c->which](in[0], c->n, c->axes, c->keep);
}

static void reductions(void **state)
{
    red_ctx cases[] = {{0, {0}, false, 0}, {1, {1}, true, 0}, {2, {0, -1}, false, 0}, {1, {-2}, false, 1},
                       {2, {0, 2}, true, 1}, {0, {0}, true, 1}, {1, {2}, false, 2}, {2, {0, 1}, true, 2},
                       {0, {0}, false, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(3, 4, 5), -1, 1); /* distinct values: no ties */
        tc_tensor *in[1] = {x};
        tc_gradcheck(build_reduce, &cases[c], 1, in, NULL, 1e-6, 1e-6);
        tc_arena_reset();
    }
}

int main(void)
{
    rng = tc_rng_new(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_ops_with_broadcasting),
        cmocka_unit_test(unary_ops),
        cmocka_unit_test(reductions),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
