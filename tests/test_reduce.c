/* Reductions against PyTorch (fixtures written by
 * tests/fixtures/gen_elementwise.py: forward and input gradients, including
 * max with ties where the gradient goes to the first maximum), argmax first
 * and last, bad inputs, and thread-count independence. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct { int which, naxes; int axes[3]; bool keep; } red_spec;

static tc_tensor *build_reduce(tc_tensor **in, void *ctx)
{
    const red_spec *s = ctx;
    tc_tensor *(*fn[])(tc_tensor *, int, const int *, bool) = {tc_sum, tc_mean, tc_max};
    return fn[s->which](in[0], s->naxes, s->naxes ? s->axes : NULL, s->keep);
}

static void against_pytorch(void **state)
{
    (void)state;
    struct { const char *suffix; int naxes; int axes[3]; bool keep; } specs[] = {
        {"all", 0, {0}, false}, {"all_keep", 0, {0}, true}, {"ax1", 1, {1}, false},
        {"ax1_keep", 1, {1}, true}, {"ax0_2", 2, {0, 2}, false}, {"axneg", 2, {-1, -3}, true},
        {"axneg2", 1, {-2}, false},
    };
    const char *ops[] = {"sum", "mean", "max"};
    for (int op = 0; op < 3; op++)
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", ops[op], specs[i].suffix);
            red_spec s = {op, specs[i].naxes, {specs[i].axes[0], specs[i].axes[1], specs[i].axes[2]}, specs[i].keep};
            check_case(name, 1, (const char *[]){"x"}, build_reduce, &s, 1e-5, 1e-6);
        }
}

/* ties: every output's gradient goes to the first maximum (row-major order
 * over the reduced axes); the expected gradients come from NumPy's argmax */
static void max_ties_go_to_the_first(void **state)
{
    (void)state;
    red_spec s1 = {2, 1, {1}, false}, s2 = {2, 2, {0, 2}, true}, s3 = {2, 0, {0}, false};
    check_case("max_ties_ax1", 1, (const char *[]){"x"}, build_reduce, &s1, 0, 0);
    check_case("max_ties_ax0_2", 1, (const char *[]){"x"}, build_reduce, &s2, 0, 0);
    check_case("max_ties_all", 1, (const char *[]){"x"}, build_reduce, &s3, 0, 0);
    /* by hand: [[1, 3, 3], [2, 2, 0]] over axis 1 -> grads [[0, g0, 0], [g1, 0, 0]] */
    tc_tensor *x = tc_copy_of((tc_scalar[]){1, 3, 3, 2, 2, 0}, TC_SHAPE(2, 3));
    tc_set_requires_grad(x, true);
    tc_tensor *y = tc_max(x, 1, (int[]){1}, false);
    assert_int_equal(tc_backward_with(y, tc_copy_of((tc_scalar[]){5, 7}, TC_SHAPE(2))), TC_OK);
    tc_assert_close(x->grad, tc_copy_of((tc_scalar[]){0, 5, 0, 7, 0, 0}, TC_SHAPE(2, 3)), 0, 0);
    tc_step_reset();
}

/* long runs (the vectorised scan): ties, infinities and NaN */
static void max_long_runs(void **state)
{
    (void)state;
    struct { int64_t pos[2]; tc_scalar val[2]; int64_t want; bool nan; } cases[] = {
        {{40, 70}, {5, 5}, 40, false},              /* tie: the first */
        {{70, 41}, {5, 5}, 41, false},
        {{50, 20}, {INFINITY, 3}, 50, false},       /* +inf */
        {{60, 80}, {NAN, NAN}, 60, true},           /* NaN wins, the first one */
        {{99, 3}, {-INFINITY, 2}, 3, false},
        {{0, 99}, {4, 4}, 0, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *x = tc_empty(TC_SHAPE(2, 100));
        for (int64_t i = 0; i < 200; i++) x->data[i] = (tc_scalar)((i * 37) % 101) / 101.0f; /* all < 1 */
        for (int k = 0; k < 2; k++) x->data[100 + cases[c].pos[k]] = cases[c].val[k];
        tc_set_requires_grad(x, true);
        tc_tensor *m = tc_max(x, 1, (int[]){-1}, false);
        tc_assert_ok(m);
        assert_int_equal(tc_backward_with(m, tc_full(TC_SHAPE(2), 1)), TC_OK);
        if (cases[c].nan) assert_true(isnan((double)m->data[1]));
        else assert_true(m->data[1] == x->data[100 + cases[c].want]);
        for (int64_t i = 0; i < 100; i++)
            if (x->grad->data[100 + i] != (i == cases[c].want ? 1 : 0))
                fail_msg("case %zu: gradient at %lld is %g (first maximum at %lld)", c, (long long)i,
                         (double)x->grad->data[100 + i], (long long)cases[c].want);
        tc_tensor *am = tc_argmax(x, 1, false, false);
        assert_true(am->data[1] == (tc_scalar)cases[c].want);
        tc_step_reset();
    }
}

static void argmax_first_and_last(void **state)
{
    (void)state;
    const char *names[] = {"argmax_axis0", "argmax_axis1", "argmax_axis-1"};
    int axes[] = {0, 1, -1};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/elementwise/%s.tcfx", TC_FIXTURES, names[i]);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *x = tc_fixture_get(fx, "in:x");
        tc_set_requires_grad(x, true);
        size_t before = tc_tape_length();
        tc_tensor *first = tc_argmax(x, axes[i], false, false), *last = tc_argmax(x, axes[i], false, true);
        tc_tensor *keep = tc_argmax(x, axes[i], true, false);
        tc_assert_close(first, tc_fixture_get(fx, "first"), 0, 0);
        tc_assert_close(last, tc_fixture_get(fx, "last"), 0, 0);
        tc_assert_close(keep, tc_fixture_get(fx, "first_keep"), 0, 0);
        /* not differentiable: never recorded */
        assert_int_equal(tc_tape_length(), before);
        assert_false(tc_requires_grad(first));
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

static void shapes(void **state)
{
    (void)state;
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3, 4));
    tc_tensor *a = tc_sum(x, 0, NULL, false), *b = tc_sum(x, 0, NULL, true), *c = tc_mean(x, 2, (int[]){-1, 0}, true);
    tc_tensor *d = tc_max(x, 1, (int[]){1}, false), *e = tc_argmax(x, -2, true, false);
    tc_assert_ok(a);
    tc_assert_ok(b);
    tc_assert_ok(c);
    tc_assert_ok(d);
    tc_assert_ok(e);
    assert_int_equal(a->ndim, 0);
    assert_int_equal(b->ndim, 3);
    assert_true(b->shape[0] == 1 && b->shape[1] == 1 && b->shape[2] == 1);
    assert_true(c->ndim == 3 && c->shape[0] == 1 && c->shape[1] == 3 && c->shape[2] == 1);
    assert_true(d->ndim == 2 && d->shape[0] == 2 && d->shape[1] == 4);
    assert_true(e->ndim == 3 && e->shape[0] == 2 && e->shape[1] == 1 && e->shape[2] == 4);
    /* a strided view (transpose) reduces like its contiguous copy */
    tc_rng rng = tc_rng_new(4);
    tc_tensor *r = tc_test_uniform(&rng, TC_SHAPE(3, 5), -1, 1);
    tc_tensor *t = tc_transpose(r, (int[]){1, 0});
    tc_assert_close(tc_sum(t, 1, (int[]){0}, false), tc_sum(r, 1, (int[]){1}, false), 0, 0);
    tc_assert_close(tc_max(t, 1, (int[]){1}, false), tc_max(r, 1, (int[]){0}, false), 0, 0);
    /* NaN propagates through max */
    tc_tensor *n = tc_copy_of((tc_scalar[]){1, NAN, 3}, TC_SHAPE(3));
    assert_true(isnan((double)tc_max(n, 0, NULL, false)->data[0]));
    /* sum of an empty axis is 0 */
    tc_tensor *z = tc_sum(tc_zeros(TC_SHAPE(0, 3)), 1, (int[]){0}, false);
    tc_assert_close(z, tc_zeros(TC_SHAPE(3)), 0, 0);
    tc_step_reset();
}

static void bad_inputs(void **state)
{
    (void)state;
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3));
    tc_assert_error(tc_sum(NULL, 0, NULL, false), "sum", "NULL");
    tc_assert_error(tc_mean(NULL, 0, NULL, false), "mean", "NULL");
    tc_assert_error(tc_max(NULL, 0, NULL, false), "max", "NULL");
    tc_assert_error(tc_argmax(NULL, 0, false, false), "argmax", "NULL");
    tc_assert_error(tc_sum(x, 1, (int[]){2}, false), "sum", "axis 2", "[2, 3]");
    tc_assert_error(tc_mean(x, 1, (int[]){-3}, false), "mean", "axis -3", "[2, 3]");
    tc_assert_error(tc_max(x, 2, (int[]){0, 7}, true), "max", "axis 7", "[2, 3]");
    tc_assert_error(tc_sum(x, 2, (int[]){1, -1}, false), "sum", "twice", "[2, 3]");
    tc_assert_error(tc_sum(x, 1, NULL, false), "sum", "NULL", "[2, 3]");
    tc_assert_error(tc_sum(x, -1, (int[]){0}, false), "sum", "[2, 3]");
    tc_assert_error(tc_argmax(x, 2, false, false), "argmax", "axis 2", "[2, 3]");
    tc_assert_error(tc_max(tc_zeros(TC_SHAPE(0, 3)), 1, (int[]){0}, false), "max", "[0, 3]");
    tc_assert_error(tc_argmax(tc_zeros(TC_SHAPE(0, 3)), 0, false, false), "argmax", "[0, 3]");
    tc_step_reset();
}

/* large inputs take the blocked and column paths: compare with a plain
 * double-precision sum and a plain scan for the max */
static void large_against_plain_loops(void **state)
{
    (void)state;
    struct { int64_t shape[3]; int naxes; int axes[2]; } cases[] = {
        {{1, 1, 100000}, 0, {0}},     /* one long run: blocked */
        {{3, 40000, 1}, 1, {1}},      /* runs of 40000 with few outputs: blocked */
        {{2, 30000, 5}, 1, {1}},      /* [O, R, I] with I > 1, few outputs: blocked rows */
        {{4, 300, 3000}, 1, {-2}},    /* many output columns */
        {{20, 30, 40}, 2, {0, 2}},    /* two reduced groups: general path */
    };
    tc_rng rng = tc_rng_new(8);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tc_tensor *x = tc_test_uniform(&rng, 3, cases[c].shape, -1, 1);
        tc_tensor *s = tc_sum(x, cases[c].naxes, cases[c].axes, true), *m = tc_max(x, cases[c].naxes, cases[c].axes, true);
        tc_assert_ok(s);
        tc_assert_ok(m);
        bool red[3] = {cases[c].naxes == 0, cases[c].naxes == 0, cases[c].naxes == 0};
        for (int k = 0; k < cases[c].naxes; k++) red[(cases[c].axes[k] + 3) % 3] = true;
        int64_t n0 = cases[c].shape[0], n1 = cases[c].shape[1], n2 = cases[c].shape[2];
        int64_t o1 = red[1] ? 1 : n1, o2 = red[2] ? 1 : n2;
        double *want = calloc((size_t)tc_numel(s), sizeof(double));
        double *wmax = malloc(sizeof(double) * (size_t)tc_numel(s));
        for (int64_t i = 0; i < tc_numel(s); i++) wmax[i] = -INFINITY;
        for (int64_t i = 0; i < n0; i++)
            for (int64_t j = 0; j < n1; j++)
                for (int64_t k = 0; k < n2; k++) {
                    int64_t o = ((red[0] ? 0 : i) * o1 + (red[1] ? 0 : j)) * o2 + (red[2] ? 0 : k);
                    double v = x->data[(i * n1 + j) * n2 + k];
                    want[o] += v;
                    wmax[o] = v > wmax[o] ? v : wmax[o];
                }
        for (int64_t i = 0; i < tc_numel(s); i++) {
            if (fabs((double)s->data[i] - want[i]) > 1e-5 * (1 + fabs(want[i])))
                fail_msg("case %zu: sum %lld is %.9g, expected %.9g", c, (long long)i, (double)s->data[i], want[i]);
            if ((double)m->data[i] != wmax[i])
                fail_msg("case %zu: max %lld is %.9g, expected %.9g", c, (long long)i, (double)m->data[i], wmax[i]);
        }
        free(want);
        free(wmax);
        tc_step_reset();
    }
}

/* large reductions split over threads: bit-identical with 1 and 2 threads */
static void same_bits_for_any_thread_count(void **state)
{
    (void)state;
    red_spec specs[] = {{0, 0, {0}, false}, {0, 1, {0}, false}, {1, 1, {1}, true}, {0, 2, {0, 2}, false},
                        {2, 1, {-1}, false}, {2, 1, {0}, false}, {1, 0, {0}, false}};
    int threads0 = tc_num_threads();
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        tc_tensor *keep[2][2];
        for (int run = 0; run < 2; run++) {
            tc_set_num_threads(run ? 2 : 1);
            tc_rng rng = tc_rng_new(31);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(50, 60, 70), -1, 1);
            tc_set_requires_grad(x, true);
            tc_tensor *y = build_reduce(&x, &specs[s]);
            tc_assert_ok(y);
            tc_tensor *g = tc_test_uniform(&rng, y->ndim, y->shape, -1, 1);
            assert_int_equal(tc_backward_with(y, g), TC_OK);
            keep[run][0] = tc_tensor_keep(y), keep[run][1] = tc_tensor_keep(x->grad);
            tc_step_reset();
        }
        for (int i = 0; i < 2; i++) {
            assert_memory_equal(keep[0][i]->data, keep[1][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(keep[0][i]));
            tc_tensor_free(keep[0][i]), tc_tensor_free(keep[1][i]);
        }
    }
    tc_set_num_threads(threads0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_pytorch),
        cmocka_unit_test(max_ties_go_to_the_first),
        cmocka_unit_test(max_long_runs),
        cmocka_unit_test(argmax_first_and_last),
        cmocka_unit_test(shapes),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(large_against_plain_loops),
        cmocka_unit_test(same_bits_for_any_thread_count),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
