/* Finite-difference gradient checks (double precision) for the shape ops. */
#include "testutil.h"

#include <string.h>

static tc_rng rng;

static tc_tensor *b_slice(tc_tensor **in, void *c)
{
    /* negative step on a transposed view, clamped ends */
    tc_tensor *t = tc_transpose(in[0], (int[]){1, 0, 2});
    return tc_slice(t, (int64_t[]){-1, 0, 4}, (int64_t[]){-100, 3, 0}, (int64_t[]){-2, 1, -3});
}
static tc_tensor *b_narrow_split(tc_tensor **in, void *c)
{
    tc_tensor *parts[3];
    if (tc_split(in[0], 1, 3, (int64_t[]){1, 0, 2}, parts) != TC_OK) return NULL;
    return tc_mul(tc_narrow(parts[2], 2, 1, 3), tc_narrow(parts[0], 2, 0, 3));
}
static tc_tensor *b_concat(tc_tensor **in, void *c)
{
    tc_tensor *xs[3] = {in[0], tc_transpose(in[1], (int[]){0, 2, 1}), in[0]};
    return tc_concat(3, xs, -2);
}
static tc_tensor *b_concat1(tc_tensor **in, void *c) { return tc_concat(1, in, 0); }
static tc_tensor *b_pad(tc_tensor **in, void *c)
{
    int mode = *(int *)c;
    return tc_pad(in[0], (int64_t[]){1, 0, 2}, (int64_t[]){2, 1, 3}, (tc_pad_mode)mode, 0.5);
}
static tc_tensor *b_tile(tc_tensor **in, void *c) { return tc_tile(in[0], (int64_t[]){2, 1, 3}); }
static tc_tensor *b_expand(tc_tensor **in, void *c) { return tc_expand(in[0], 4, (int64_t[]){2, 3, 1, 5}); }
static tc_tensor *b_gather0(tc_tensor **in, void *c)
{
    tc_scalar ids[] = {2, 0, -1, 2, 2, 1};
    return tc_gather(in[0], tc_copy_of(ids, TC_SHAPE(2, 3)), 0);
}
static tc_tensor *b_gather1(tc_tensor **in, void *c)
{
    tc_scalar ids[] = {3, 3, 0};
    return tc_gather(in[0], tc_copy_of(ids, TC_SHAPE(3)), 1);
}

static void shape_ops(void **state)
{
    struct { tc_build_fn fn; int n; int64_t a[3]; int64_t b[3]; int mode; } cases[] = {
        {b_slice, 1, {3, 4, 5}, {0}, 0},
        {b_narrow_split, 1, {2, 3, 4}, {0}, 0},
        {b_concat, 2, {2, 3, 4}, {2, 4, 3}, 0},
        {b_concat1, 1, {2, 3, 1}, {0}, 0},
        {b_pad, 1, {3, 4, 4}, {0}, TC_PAD_CONSTANT},
        {b_pad, 1, {3, 4, 4}, {0}, TC_PAD_REFLECT},
        {b_pad, 1, {3, 4, 4}, {0}, TC_PAD_EDGE},
        {b_tile, 1, {2, 1, 3}, {0}, 0},
        {b_expand, 1, {3, 1, 5}, {0}, 0},
        {b_gather0, 1, {3, 4, 1}, {0}, 0},
        {b_gather1, 1, {2, 4, 3}, {0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_tensor *in[2] = {tc_test_uniform(&rng, 3, cases[i].a, -1, 1),
                            cases[i].n > 1 ? tc_test_uniform(&rng, 3, cases[i].b, -1, 1) : NULL};
        tc_gradcheck(cases[i].fn, &cases[i].mode, cases[i].n, in, NULL, 1e-6, 1e-6);
        tc_arena_reset();
    }
}

static void values_and_errors(void **state)
{
    tc_scalar v[6] = {0, 1, 2, 3, 4, 5};
    tc_tensor *x = tc_copy_of(v, TC_SHAPE(2, 3));
    tc_tensor *r = tc_pad(x, (int64_t[]){0, 2}, (int64_t[]){0, 2}, TC_PAD_REFLECT, 0);
    tc_scalar expect[14] = {2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4, 5, 4, 3};
    tc_assert_close(r, tc_copy_of(expect, TC_SHAPE(2, 7)), 0, 0);
    tc_tensor *s = tc_slice(x, (int64_t[]){1, 2}, (int64_t[]){-3, -4}, (int64_t[]){-1, -2});
    tc_scalar es[4] = {5, 3, 2, 0};
    tc_assert_close(s, tc_copy_of(es, TC_SHAPE(2, 2)), 0, 0);
    tc_assert_error(tc_concat(2, (tc_tensor *[]){x, tc_zeros(TC_SHAPE(3, 3))}, 1), "concat", "[3, 3]", "[2, 3]");
    tc_assert_error(tc_pad(x, (int64_t[]){0, 3}, (int64_t[]){0, 0}, TC_PAD_REFLECT, 0), "pad", "reflect", "[2, 3]");
    tc_assert_error(tc_slice(x, (int64_t[]){0, 0}, (int64_t[]){1, 1}, (int64_t[]){1, 0}), "slice", "step 0");
    tc_assert_error(tc_gather(x, tc_full(TC_SHAPE(1), 2), 0), "gather", "index 2", "[2, 3]");
    tc_assert_error(tc_expand(x, 2, (int64_t[]){4, 3}), "expand", "[2, 3]", "[4, 3]");
    tc_tensor *parts[2];
    assert_int_not_equal(tc_split(x, 1, 2, (int64_t[]){1, 1}, parts), TC_OK);
    assert_non_null(strstr(tc_last_error(), "split"));
    tc_arena_reset();
}

int main(void)
{
    rng = tc_rng_new(11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape_ops),
        cmocka_unit_test(values_and_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
