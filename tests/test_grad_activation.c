/* Finite-difference gradient checks (double precision) for the activations
 * and softmax / log-softmax on random shapes and every axis, negative ones
 * included. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef tc_tensor *(*un_fn)(tc_tensor *);
static tc_tensor *build_unary(tc_tensor **in, void *ctx) { return (*(un_fn *)ctx)(in[0]); }

/* on an intermediate: the first backward writes its gradient, the second adds */
static tc_tensor *build_unary_twice(tc_tensor **in, void *ctx)
{
    tc_tensor *h = tc_mul_scalar(in[0], 1);
    return tc_add((*(un_fn *)ctx)(h), tc_mul((*(un_fn *)ctx)(h), h));
}

static tc_tensor *leaky(tc_tensor *x) { return tc_leaky_relu(x, 0.2); }
static tc_tensor *elu(tc_tensor *x) { return tc_elu(x, 1.3); }
static tc_tensor *hsig(tc_tensor *x) { return tc_hard_sigmoid(x, 0.2, 0.5); }

static void pointwise(void **state)
{
    (void)state;
    un_fn fns[] = {tc_relu, leaky, elu, tc_tanh, tc_sigmoid, hsig, tc_softplus};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
        for (int trial = 0; trial < 3; trial++) {
            int64_t shape[3] = {1 + (int64_t)tc_rng_below(&rng, 5), 1 + (int64_t)tc_rng_below(&rng, 5), 3};
            /* wide range: softplus and sigmoid far in their tails too */
            tc_tensor *x = tc_test_uniform(&rng, 3, shape, trial == 2 ? -30 : -4, trial == 2 ? 30 : 4);
            /* away from the kinks of relu (0) and hard sigmoid (+-2.5) */
            for (int64_t i = 0; i < tc_numel(x); i++) {
                double v = x->data[i];
                if (fabs(v) < 0.05) x->data[i] += 0.1;
                if (fabs(fabs(v) - 2.5) < 0.05) x->data[i] += 0.1;
            }
            tc_tensor *in[1] = {x};
            tc_gradcheck(build_unary, &fns[f], 1, in, NULL, 1e-6, 1e-6);
            tc_step_reset();
            tc_tensor *in2[1] = {tc_test_uniform(&rng, 3, shape, -4, 4)};
            for (int64_t i = 0; i < tc_numel(in2[0]); i++) {
                double v = in2[0]->data[i];
                if (fabs(v) < 0.05) in2[0]->data[i] += 0.1;
                if (fabs(fabs(v) - 2.5) < 0.05) in2[0]->data[i] += 0.1;
            }
            tc_gradcheck(build_unary_twice, &fns[f], 1, in2, NULL, 1e-6, 1e-6);
            tc_step_reset();
        }
}

typedef struct { int axis; bool log; } sm_ctx;
static tc_tensor *build_softmax(tc_tensor **in, void *ctx)
{
    sm_ctx *c = ctx;
    return c->log ? tc_log_softmax(in[0], c->axis) : tc_softmax(in[0], c->axis);
}

static void softmax_every_axis(void **state)
{
    (void)state;
    for (int trial = 0; trial < 6; trial++) {
        int r = 1 + (int)tc_rng_below(&rng, 4);
        int64_t shape[4];
        for (int d = 0; d < r; d++) shape[d] = 1 + (int64_t)tc_rng_below(&rng, 4);
        for (int axis = -r; axis < r; axis++)
            for (int log = 0; log < 2; log++) {
                tc_tensor *x = tc_test_uniform(&rng, r, shape, -3, 3);
                /* large offsets: the stable forms must still be exact */
                if (trial == 5) for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] += 500;
                tc_tensor *in[1] = {x};
                sm_ctx c = {axis, log};
                tc_gradcheck(build_softmax, &c, 1, in, NULL, 1e-6, 1e-6);
                tc_step_reset();
            }
    }
}

int main(void)
{
    rng = tc_rng_new(17);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pointwise),
        cmocka_unit_test(softmax_every_axis),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
