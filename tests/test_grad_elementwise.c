/* Finite-difference gradient checks (double precision) for the element-wise
 * arithmetic ops: binary ops on fixed and random broadcasting shapes
 * (size-1 axes on either side, rank differences, 0-d), and the unary math ops. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef tc_tensor *(*bin_fn)(tc_tensor *, tc_tensor *);
typedef tc_tensor *(*un_fn)(tc_tensor *);

static tc_tensor *build_binary(tc_tensor **in, void *ctx) { return (*(bin_fn *)ctx)(in[0], in[1]); }
static tc_tensor *build_unary(tc_tensor **in, void *ctx) { return (*(un_fn *)ctx)(in[0]); }

static bin_fn binary_fns[] = {tc_add, tc_sub, tc_mul, tc_div, tc_maximum, tc_minimum, tc_pow};
#define N_BINARY (sizeof binary_fns / sizeof binary_fns[0])

/* positive operands away from 0 so div and pow are smooth; random values are
 * distinct, so max/min see no ties */
static void check_pair(int na, const int64_t *sa, int nb, const int64_t *sb)
{
    for (size_t f = 0; f < N_BINARY; f++) {
        tc_tensor *in[2] = {tc_test_uniform(&rng, na, sa, 0.5, 2.0), tc_test_uniform(&rng, nb, sb, 0.5, 2.0)};
        tc_gradcheck(build_binary, &binary_fns[f], 2, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

static void binary_fixed_shapes(void **state)
{
    (void)state;
    struct { int na; int64_t a[4]; int nb; int64_t b[4]; } shapes[] = {
        {2, {3, 4}, 2, {3, 4}},       /* same shape */
        {2, {3, 4}, 1, {4}},          /* rank difference (bias) */
        {3, {2, 1, 4}, 3, {1, 3, 1}}, /* size-1 axes on both sides */
        {1, {1}, 3, {2, 3, 2}},       /* scalar-like */
        {0, {0}, 2, {2, 3}},          /* a true scalar */
        {3, {2, 3, 1}, 0, {0}},       /* scalar on the right */
        {4, {2, 1, 3, 1}, 2, {1, 4}}, /* rank difference and size 1 on both: [2, 1, 3, 4] */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_pair(shapes[s].na, shapes[s].a, shapes[s].nb, shapes[s].b);
}

/* random broadcast-compatible pairs: ranks 0..4, sizes 1..4, with each
 * operand's axes randomly set to 1 and leading axes randomly dropped */
static void binary_random_shapes(void **state)
{
    (void)state;
    for (int trial = 0; trial < 12; trial++) {
        int r = (int)tc_rng_below(&rng, 5);
        int64_t full[4], sa[4], sb[4];
        for (int d = 0; d < r; d++) full[d] = 1 + (int64_t)tc_rng_below(&rng, 4);
        int da = r ? (int)tc_rng_below(&rng, (uint64_t)r + 1) : 0, db = 0;
        if (da == 0 && r) db = (int)tc_rng_below(&rng, (uint64_t)r + 1); /* drop leading axes of one side */
        for (int d = 0; d < r; d++) {
            int64_t x = full[d], y = full[d];
            uint64_t k = tc_rng_below(&rng, 3); /* 0: both full, 1: a is 1, 2: b is 1 */
            if (k == 1) x = 1;
            if (k == 2) y = 1;
            sa[d] = x, sb[d] = y;
        }
        check_pair(r - da, sa + da, r - db, sb + db);
    }
}

static tc_tensor *clip(tc_tensor *x) { return tc_clip(x, -0.5, 0.7); }
static tc_tensor *adds(tc_tensor *x) { return tc_add_scalar(x, 3); }
static tc_tensor *muls(tc_tensor *x) { return tc_mul_scalar(x, -2.5); }
static tc_tensor *pows(tc_tensor *x) { return tc_pow_scalar(tc_abs(x), 1.7); }
static tc_tensor *pow3(tc_tensor *x) { return tc_pow_scalar(x, 3); }
static tc_tensor *powm(tc_tensor *x) { return tc_pow_scalar(tc_abs(x), -0.5); }
static tc_tensor *logabs(tc_tensor *x) { return tc_log(tc_abs(x)); }
static tc_tensor *sqrtabs(tc_tensor *x) { return tc_sqrt(tc_abs(x)); }

static void unary_math(void **state)
{
    (void)state;
    un_fn fns[] = {tc_exp, logabs, sqrtabs, tc_abs, tc_neg, tc_square, clip, adds, muls, pows, pow3, powm};
    int64_t shapes[][3] = {{3, 4, 5}, {7, 1, 2}, {1, 1, 1}};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
        for (int s = 0; s < 3; s++) {
            tc_tensor *x = tc_test_uniform(&rng, 3, shapes[s], -3, 3);
            /* keep values away from the kinks of abs (0) and clip (-0.5, 0.7) */
            for (int64_t i = 0; i < tc_numel(x); i++) {
                double v = x->data[i];
                if (fabs(v) < 0.05) x->data[i] += 0.1;
                if (fabs(v + 0.5) < 0.02 || fabs(v - 0.7) < 0.02) x->data[i] += 0.05;
            }
            tc_tensor *in[1] = {x};
            tc_gradcheck(build_unary, &fns[f], 1, in, NULL, 1e-6, 1e-6);
            tc_step_reset();
        }
}

/* an operand used twice (both sides of a binary op) accumulates both gradients */
static tc_tensor *self_mul(tc_tensor **in, void *ctx) { (void)ctx; return tc_mul(in[0], tc_exp(in[0])); }
static tc_tensor *same_operand(tc_tensor **in, void *ctx)
{
    (void)ctx;
    return tc_add(tc_div(tc_mul(in[0], in[0]), tc_add_scalar(tc_abs(in[0]), 1)), tc_maximum(in[0], in[0]));
}
static tc_tensor *chain(tc_tensor **in, void *ctx)
{
    (void)ctx;
    return tc_div(tc_sub(in[0], in[1]), tc_add_scalar(tc_square(tc_maximum(in[0], in[1])), 1));
}

static void compositions(void **state)
{
    (void)state;
    tc_tensor *x[2] = {tc_test_uniform(&rng, TC_SHAPE(4, 3), -1, 1), tc_test_uniform(&rng, TC_SHAPE(3), -1, 1)};
    tc_gradcheck(self_mul, NULL, 1, x, NULL, 1e-6, 1e-6);
    tc_gradcheck(chain, NULL, 2, x, NULL, 1e-6, 1e-6);
    tc_gradcheck(same_operand, NULL, 1, x, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_fixed_shapes),
        cmocka_unit_test(binary_random_shapes),
        cmocka_unit_test(unary_math),
        cmocka_unit_test(compositions),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
