/* Element-wise arithmetic against PyTorch (fixtures written by
 * tests/fixtures/gen_elementwise.py: forward and input gradients), bad
 * inputs, strided inputs, and thread-count independence. */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef tc_tensor *(*bin_fn)(tc_tensor *, tc_tensor *);
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

static tc_tensor *build_binary(tc_tensor **in, void *ctx) { return (*(bin_fn *)ctx)(in[0], in[1]); }
static tc_tensor *build_unary(tc_tensor **in, void *ctx) { return (*(un_fn *)ctx)(in[0]); }

static void binary_against_pytorch(void **state)
{
    (void)state;
    struct { const char *name; bin_fn fn; } ops[] = {
        {"add", tc_add}, {"sub", tc_sub}, {"mul", tc_mul}, {"div", tc_div},
        {"pow", tc_pow}, {"maximum", tc_maximum}, {"minimum", tc_minimum},
    };
    const char *pairs[] = {"bc", "same", "zerod", "row"};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", ops[o].name, pairs[p]);
            check_case(name, 2, (const char *[]){"a", "b"}, build_binary, &ops[o].fn, 1e-5, 1e-6);
        }
}

static tc_tensor *adds(tc_tensor *x) { return tc_add_scalar(x, 2.5f); }
static tc_tensor *muls(tc_tensor *x) { return tc_mul_scalar(x, -1.75f); }
static tc_tensor *pows(tc_tensor *x) { return tc_pow_scalar(x, 1.7f); }
static tc_tensor *pow3(tc_tensor *x) { return tc_pow_scalar(x, 3); }
static tc_tensor *clip(tc_tensor *x) { return tc_clip(x, -0.5f, 0.7f); }

static void unary_against_pytorch(void **state)
{
    (void)state;
    struct { const char *name; un_fn fn; } ops[] = {
        {"add_scalar", adds}, {"mul_scalar", muls}, {"pow_scalar", pows}, {"pow_scalar_int", pow3},
        {"exp", tc_exp}, {"log", tc_log}, {"sqrt", tc_sqrt}, {"abs", tc_abs}, {"neg", tc_neg},
        {"square", tc_square}, {"clip", clip},
    };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        check_case(ops[o].name, 1, (const char *[]){"x"}, build_unary, &ops[o].fn, 1e-5, 1e-6);
}

static void bad_inputs(void **state)
{
    (void)state;
    tc_tensor *a = tc_zeros(TC_SHAPE(2, 3)), *b = tc_zeros(TC_SHAPE(4)), *c = tc_zeros(TC_SHAPE(3, 1, 2));
    tc_assert_error(tc_add(a, b), "add", "[2, 3]", "[4]");
    tc_assert_error(tc_sub(b, a), "sub", "[4]", "[2, 3]");
    tc_assert_error(tc_mul(a, c), "mul", "[2, 3]", "[3, 1, 2]");
    tc_assert_error(tc_div(a, b), "div", "[2, 3]", "[4]");
    tc_assert_error(tc_pow(a, b), "pow", "[2, 3]", "[4]");
    tc_assert_error(tc_maximum(a, b), "maximum", "[2, 3]", "[4]");
    tc_assert_error(tc_minimum(a, b), "minimum", "[2, 3]", "[4]");
    tc_assert_error(tc_add(NULL, b), "add", "NULL");
    tc_assert_error(tc_mul(a, NULL), "mul", "NULL");
    tc_assert_error(tc_add_scalar(NULL, 1), "add_scalar", "NULL");
    tc_assert_error(tc_mul_scalar(NULL, 1), "mul_scalar", "NULL");
    tc_assert_error(tc_pow_scalar(NULL, 1), "pow_scalar", "NULL");
    un_fn unary[] = {tc_exp, tc_log, tc_sqrt, tc_abs, tc_neg, tc_square};
    const char *names[] = {"exp", "log", "sqrt", "abs", "neg", "square"};
    for (int i = 0; i < 6; i++) tc_assert_error(unary[i](NULL), names[i], "NULL");
    tc_assert_error(tc_clip(NULL, 0, 1), "clip", "NULL");
    tc_assert_error(tc_clip(a, 1, 0), "clip", "[2, 3]");
    /* an error propagates through a chain */
    tc_assert_error(tc_exp(tc_add(a, b)), "exp");
    tc_step_reset();
}

static void shapes_and_values(void **state)
{
    (void)state;
    /* rank difference and size-1 axes on both sides: [2,1,3] + [4,1] -> [2,4,3] */
    tc_tensor *a = tc_copy_of((tc_scalar[]){1, 2, 3, 4, 5, 6}, TC_SHAPE(2, 1, 3));
    tc_tensor *b = tc_copy_of((tc_scalar[]){10, 20, 30, 40}, TC_SHAPE(4, 1));
    tc_tensor *y = tc_add(a, b);
    tc_assert_ok(y);
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 4);
    assert_int_equal(y->shape[2], 3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                assert_true(tc_get(y, (int64_t[]){i, j, k}) == (tc_scalar)(1 + 3 * i + k + 10 * (j + 1)));
    /* 0-d with 0-d stays 0-d */
    tc_tensor *s = tc_mul(tc_scalar_tensor(3), tc_scalar_tensor(4));
    tc_assert_ok(s);
    assert_int_equal(s->ndim, 0);
    assert_true(s->data[0] == 12);
    /* empty tensors broadcast to empty results */
    tc_tensor *e = tc_add(tc_zeros(TC_SHAPE(0, 3)), tc_zeros(TC_SHAPE(1, 3)));
    tc_assert_ok(e);
    assert_int_equal(tc_numel(e), 0);
    tc_step_reset();
}

/* inputs that are strided views (a transpose) give the same values and
 * gradients as their contiguous copies */
static void strided_inputs(void **state)
{
    (void)state;
    tc_rng rng = tc_rng_new(3);
    tc_tensor *base = tc_test_uniform(&rng, TC_SHAPE(5, 4), 0.5, 2);
    tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(4, 1), 0.5, 2);
    tc_set_requires_grad(base, true);
    tc_tensor *t = tc_transpose(base, (int[]){1, 0}); /* [4, 5] view */
    tc_tensor *y = tc_sqrt(tc_mul(t, b));
    tc_tensor *c = tc_contiguous(tc_transpose(tc_copy_of(base->data, TC_SHAPE(5, 4)), (int[]){1, 0}));
    tc_tensor *y2 = tc_sqrt(tc_mul(c, b));
    tc_assert_close(y, y2, 0, 0);
    assert_int_equal(tc_backward_with(y, tc_full(TC_SHAPE(4, 5), 1)), TC_OK);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) {
            double v = (double)base->data[i * 4 + j] * b->data[j];
            assert_true(fabs((double)base->grad->data[i * 4 + j] - 0.5 * b->data[j] / sqrt(v)) < 1e-5);
        }
    tc_step_reset();
}

/* one tensor as both operands of a large op (split across threads): both
 * gradients land in the same buffer */
static void same_tensor_both_sides(void **state)
{
    (void)state;
    tc_rng rng = tc_rng_new(9);
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(300, 333), -2, 2);
    tc_set_requires_grad(x, true);
    tc_tensor *m = tc_mul(x, x), *d = tc_sub(x, x); /* in this order: backward sees sub first, 1 - 1 = 0 */
    tc_tensor *y = tc_add(m, d);
    assert_int_equal(tc_backward_with(y, tc_full(TC_SHAPE(300, 333), 1)), TC_OK);
    for (int64_t i = 0; i < tc_numel(x); i++) {
        if (y->data[i] != x->data[i] * x->data[i]) fail_msg("x*x element %lld", (long long)i);
        if (x->grad->data[i] != 2 * x->data[i])
            fail_msg("d(x*x)/dx element %lld: %.9g for x = %.9g", (long long)i, (double)x->grad->data[i], (double)x->data[i]);
    }
    tc_step_reset();
}

/* nothing is recorded when no input requires a gradient */
static void no_recording_without_grad(void **state)
{
    (void)state;
    tc_tensor *a = tc_full(TC_SHAPE(3), 2), *b = tc_full(TC_SHAPE(3), 3);
    size_t before = tc_tape_length();
    tc_tensor *y = tc_exp(tc_add(a, b));
    tc_assert_ok(y);
    assert_int_equal(tc_tape_length(), before);
    assert_false(tc_requires_grad(y));
    tc_step_reset();
}

/* large broadcasting ops: values and gradients are bit-identical with 1 and
 * 2 threads (broadcast gradients are reduced in a fixed order) */
static void same_bits_for_any_thread_count(void **state)
{
    (void)state;
    tc_tensor *keep[2][4];
    int threads0 = tc_num_threads();
    for (int run = 0; run < 2; run++) {
        tc_set_num_threads(run ? 2 : 1);
        tc_rng rng = tc_rng_new(11); /* the same inputs in both runs */
        tc_tensor *a = tc_test_uniform(&rng, TC_SHAPE(64, 33, 40), 0.5, 2);
        tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(33, 1), 0.5, 2);
        tc_tensor *c = tc_test_uniform(&rng, TC_SHAPE(40), 0.5, 2);
        tc_set_requires_grad(a, true), tc_set_requires_grad(b, true), tc_set_requires_grad(c, true);
        tc_tensor *y = tc_div(tc_maximum(tc_mul(tc_add(a, b), c), tc_sub(b, c)), tc_pow(c, b));
        tc_tensor *g = tc_test_uniform(&(tc_rng){5, 0}, y->ndim, y->shape, -1, 1);
        assert_int_equal(tc_backward_with(y, g), TC_OK);
        keep[run][0] = tc_tensor_keep(y), keep[run][1] = tc_tensor_keep(a->grad);
        keep[run][2] = tc_tensor_keep(b->grad), keep[run][3] = tc_tensor_keep(c->grad);
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tc_numel(keep[0][i]), tc_numel(keep[1][i]));
        assert_memory_equal(keep[0][i]->data, keep[1][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(keep[0][i]));
        tc_tensor_free(keep[0][i]), tc_tensor_free(keep[1][i]);
    }
}

/* a seed of more than 128K values (copied in blocks over the pool by
 * tc_backward_with, a last part block included) and a strided one (copied
 * element by element) reach the graph unchanged, at 1 and 2 threads:
 * d(x + x)/dx = 2 g exactly */
static void large_seed_copied_whole(void **state)
{
    (void)state;
    int threads0 = tc_num_threads();
    for (int run = 0; run < 4; run++) {
        tc_set_num_threads(run % 2 ? 2 : 1);
        const int64_t r = 257, c = 1031; /* 264,967 values: 4 blocks of 64K and a part one */
        tc_rng rng = tc_rng_new(21);
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(r, c), -1, 1);
        tc_set_requires_grad(x, true);
        tc_tensor *y = tc_add(x, x);
        tc_tensor *g = tc_test_uniform(&rng, TC_SHAPE(run < 2 ? r : c, run < 2 ? c : r), -3, 3);
        tc_tensor *seed = run < 2 ? g : tc_transpose(g, (int[]){1, 0});
        assert_int_equal(tc_backward_with(y, seed), TC_OK);
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) {
                const tc_scalar v = run < 2 ? g->data[i * c + j] : g->data[j * r + i];
                if (x->grad->data[i * c + j] != 2 * v)
                    fail_msg("run %d: gradient (%lld, %lld) %.9g, seed %.9g", run, (long long)i, (long long)j,
                             (double)x->grad->data[i * c + j], (double)v);
            }
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_against_pytorch),
        cmocka_unit_test(unary_against_pytorch),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(shapes_and_values),
        cmocka_unit_test(strided_inputs),
        cmocka_unit_test(same_tensor_both_sides),
        cmocka_unit_test(no_recording_without_grad),
        cmocka_unit_test(same_bits_for_any_thread_count),
        cmocka_unit_test(large_seed_copied_whole),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
