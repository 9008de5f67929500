/* Finite-difference gradient checks (double precision) for the shape ops:
 * random shapes and arguments for each op, plus the odd cases (negative
 * steps, size-0 parts, reflect padding of width dim-1, tile with 1s, size-1
 * axes that expand, repeated/negative gather indices, chains of views). */
#include "testutil.h"

#include <string.h>

static tc_rng rng;

static int64_t rand_in(int64_t lo, int64_t hi) { return lo + (int64_t)tc_rng_below(&rng, (uint64_t)(hi - lo + 1)); }

static tc_tensor *rand_tensor(int ndim, const int64_t *shape) { return tc_test_uniform(&rng, ndim, shape, -1, 1); }

typedef struct {
    int64_t a[TC_MAX_DIMS], b[TC_MAX_DIMS], c[TC_MAX_DIMS];
    int axis, mode, n;
    tc_tensor *ids;
} args;

#define CHECK(fn, ctx, n, ...)                                                  \
    do {                                                                        \
        tc_tensor *ins_[] = {__VA_ARGS__};                                      \
        tc_gradcheck(fn, ctx, n, ins_, NULL, 1e-6, 1e-6);                      \
    } while (0)

/* ---- slices and views -------------------------------------------------------------------- */
static tc_tensor *b_slice(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_slice(in[0], g->a, g->b, g->c);
}

static void slices(void **state)
{
    (void)state;
    for (int t = 0; t < 12; t++) {
        int64_t shape[3] = {rand_in(1, 5), rand_in(1, 5), rand_in(1, 4)};
        args g;
        for (int d = 0; d < 3; d++) {
            int64_t n = shape[d];
            g.a[d] = rand_in(-n - 2, n + 2);
            g.b[d] = rand_in(-n - 2, n + 2);
            g.c[d] = rand_in(1, 3) * (tc_rng_below(&rng, 2) ? 1 : -1);
        }
        CHECK(b_slice, &g, 1, rand_tensor(3, shape));
        tc_step_reset();
    }
}

static tc_tensor *b_slice_of_transpose(tc_tensor **in, void *c)
{
    (void)c;
    /* negative steps on a transposed view, clamped ends, then another slice */
    tc_tensor *t = tc_transpose(in[0], (int[]){1, 0, 2});
    tc_tensor *s = tc_slice(t, (int64_t[]){-1, 0, 4}, (int64_t[]){-100, 3, 0}, (int64_t[]){-2, 1, -3});
    return tc_slice(s, (int64_t[]){0, 2, 0}, (int64_t[]){INT64_MAX, INT64_MIN, INT64_MAX}, (int64_t[]){1, -1, 1});
}
static tc_tensor *b_narrow_split(tc_tensor **in, void *c)
{
    (void)c;
    tc_tensor *parts[4];
    if (tc_split(in[0], 1, 4, (int64_t[]){1, 0, 2, 0}, parts) != TC_OK) return NULL;
    /* the size-0 parts join a concat: they must not disturb the gradient */
    tc_tensor *a = tc_mul(tc_narrow(parts[2], 2, 1, 3), tc_narrow(parts[0], -1, -4, 3));
    return tc_concat(3, (tc_tensor *[]){tc_narrow(parts[1], 2, 0, 3), a, tc_narrow(parts[3], 2, 1, 3)}, 1);
}
static tc_tensor *b_view_chain(tc_tensor **in, void *c)
{
    (void)c;
    /* slice -> transpose -> slice -> reshape (which copies: the view is strided) */
    tc_tensor *s = tc_slice(in[0], (int64_t[]){1, 0, 0}, (int64_t[]){4, 5, 3}, (int64_t[]){1, 2, 1});
    tc_tensor *t = tc_transpose(s, (int[]){2, 0, 1});
    tc_tensor *u = tc_slice(t, (int64_t[]){2, -1, 0}, (int64_t[]){-4, -4, 3}, (int64_t[]){-1, -1, 1});
    return tc_reshape(u, 1, (int64_t[]){-1});
}

static void view_chains(void **state)
{
    (void)state;
    CHECK(b_slice_of_transpose, NULL, 1, rand_tensor(TC_SHAPE(3, 4, 5)));
    tc_step_reset();
    CHECK(b_narrow_split, NULL, 1, rand_tensor(TC_SHAPE(2, 3, 4)));
    tc_step_reset();
    CHECK(b_view_chain, NULL, 1, rand_tensor(TC_SHAPE(4, 5, 3)));
    tc_step_reset();
}

/* ---- concat ----------------------------------------------------------------------------- */
static tc_tensor *b_concat_n(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_concat(g->n, in, g->axis);
}
static tc_tensor *b_concat_views(tc_tensor **in, void *c)
{
    (void)c;
    /* a transposed input, and the same input twice (gradients add) */
    tc_tensor *xs[3] = {in[0], tc_transpose(in[1], (int[]){0, 2, 1}), in[0]};
    return tc_concat(3, xs, -2);
}

static void concats(void **state)
{
    (void)state;
    for (int t = 0; t < 8; t++) {
        int64_t base[3] = {rand_in(1, 3), rand_in(1, 3), rand_in(1, 3)};
        args g = {.axis = (int)rand_in(-3, 2), .n = (int)rand_in(1, 3)};
        int a = g.axis < 0 ? g.axis + 3 : g.axis;
        tc_tensor *in[3];
        for (int i = 0; i < g.n; i++) {
            int64_t s[3] = {base[0], base[1], base[2]};
            s[a] = i == 1 ? 0 : rand_in(1, 3); /* a size-0 part in the middle */
            in[i] = rand_tensor(3, s);
        }
        tc_gradcheck(b_concat_n, &g, g.n, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
    args one = {.axis = 0, .n = 1};
    CHECK(b_concat_n, &one, 1, rand_tensor(TC_SHAPE(2, 3, 1)));
    tc_step_reset();
    CHECK(b_concat_views, NULL, 2, rand_tensor(TC_SHAPE(2, 3, 4)), rand_tensor(TC_SHAPE(2, 4, 3)));
    tc_step_reset();
}

/* ---- pad, tile, expand ---------------------------------------------------------------------- */
static tc_tensor *b_pad(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_pad(in[0], g->a, g->b, (tc_pad_mode)g->mode, 0.5);
}
static tc_tensor *b_pad_of_view(tc_tensor **in, void *c)
{
    args *g = c;
    tc_tensor *v = tc_slice(in[0], (int64_t[]){-1, 0, 0}, (int64_t[]){INT64_MIN, INT64_MAX, INT64_MAX},
                            (int64_t[]){-1, 2, 1});
    return tc_pad(v, g->a, g->b, (tc_pad_mode)g->mode, -1);
}

static void pads(void **state)
{
    (void)state;
    for (int mode = TC_PAD_CONSTANT; mode <= TC_PAD_EDGE; mode++)
        for (int t = 0; t < 4; t++) {
            int64_t shape[3] = {rand_in(1, 4), rand_in(2, 4), rand_in(2, 5)};
            args g = {.mode = mode};
            for (int d = 0; d < 3; d++) {
                /* reflect: up to dim-1 (the widest it allows), on every axis */
                int64_t most = mode == TC_PAD_REFLECT ? shape[d] - 1 : 4;
                g.a[d] = t == 0 ? most : rand_in(0, most);
                g.b[d] = t == 0 ? most : rand_in(0, most);
            }
            CHECK(b_pad, &g, 1, rand_tensor(3, shape));
            tc_step_reset();
        }
    args g = {.mode = TC_PAD_REFLECT, .a = {1, 0, 2}, .b = {2, 1, 3}};
    CHECK(b_pad_of_view, &g, 1, rand_tensor(TC_SHAPE(3, 4, 4))); /* view is [3, 2, 4] */
    tc_step_reset();
    g.mode = TC_PAD_EDGE;
    CHECK(b_pad_of_view, &g, 1, rand_tensor(TC_SHAPE(3, 4, 4)));
    tc_step_reset();
}

static tc_tensor *b_tile(tc_tensor **in, void *c) { return tc_tile(in[0], ((args *)c)->a); }
static tc_tensor *b_expand(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_expand(in[0], g->n, g->a);
}
static tc_tensor *b_expand_of_view(tc_tensor **in, void *c)
{
    (void)c;
    /* a column of a transposed matrix, broadcast along a new leading axis */
    tc_tensor *col = tc_narrow(tc_transpose(in[0], (int[]){1, 0}), 1, 2, 1); /* [4, 1] */
    return tc_expand(col, 3, (int64_t[]){3, 4, 5});
}

static void tiles_and_expands(void **state)
{
    (void)state;
    for (int t = 0; t < 5; t++) {
        int64_t shape[3] = {rand_in(1, 3), rand_in(1, 3), rand_in(1, 3)};
        args g = {.a = {rand_in(1, 3), 1, rand_in(1, 3)}}; /* a 1 in the middle always */
        if (t == 0) g.a[0] = g.a[2] = 1;                  /* all ones: a copy */
        CHECK(b_tile, &g, 1, rand_tensor(3, shape));
        tc_step_reset();
    }
    /* NumPy broadcast_to: size-1 axes and new leading axes */
    args e1 = {.n = 4, .a = {2, 3, 4, 5}};
    CHECK(b_expand, &e1, 1, rand_tensor(TC_SHAPE(3, 1, 5)));
    tc_step_reset();
    args e2 = {.n = 3, .a = {2, 3, 4}};
    CHECK(b_expand, &e2, 1, rand_tensor(TC_SHAPE(1, 1)));
    tc_step_reset();
    /* ONNX Expand: target shorter and with 1s where x is bigger */
    args e3 = {.n = 2, .a = {4, 1}};
    CHECK(b_expand, &e3, 1, rand_tensor(TC_SHAPE(3, 1, 5)));
    tc_step_reset();
    args e4 = {.n = 3, .a = {2, 3, 4}}; /* nothing to broadcast: identity */
    CHECK(b_expand, &e4, 1, rand_tensor(TC_SHAPE(2, 3, 4)));
    tc_step_reset();
    CHECK(b_expand_of_view, NULL, 1, rand_tensor(TC_SHAPE(3, 4)));
    tc_step_reset();
}

/* ---- gather ---------------------------------------------------------------------------------- */
static tc_tensor *b_gather(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_gather(in[0], g->ids, g->axis);
}
static tc_tensor *b_gather_view(tc_tensor **in, void *c)
{
    args *g = c;
    return tc_gather(tc_transpose(in[0], (int[]){2, 0, 1}), g->ids, g->axis);
}

static void gathers(void **state)
{
    (void)state;
    tc_scalar ids0[] = {2, 0, -1, 2, 2, 1};            /* repeated and negative */
    tc_scalar ids1[] = {3, 3, 0, -4};
    tc_scalar ids2[] = {-1};
    struct { int64_t shape[3]; int axis; tc_scalar *ids; int nid; int64_t idshape[2]; int idnd; } cases[] = {
        {{3, 4, 1}, 0, ids0, 6, {2, 3}, 2},
        {{2, 4, 3}, 1, ids1, 4, {4}, 1},
        {{2, 4, 3}, -1, ids0, 6, {3, 2}, 2},
        {{3, 2, 2}, 2, ids2, 1, {0}, 0}, /* a 0-d index drops the axis */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        args g = {.axis = cases[i].axis};
        g.ids = tc_copy_of(cases[i].ids, cases[i].idnd, cases[i].idshape);
        CHECK(b_gather, &g, 1, rand_tensor(3, cases[i].shape));
        tc_step_reset();
    }
    /* random embedding lookups with many repeats */
    for (int t = 0; t < 4; t++) {
        int64_t rows = rand_in(1, 6), width = rand_in(1, 4), n = rand_in(1, 12);
        tc_scalar ids[12];
        for (int64_t i = 0; i < n; i++) ids[i] = (tc_scalar)rand_in(-rows, rows - 1);
        args g = {.axis = 0, .ids = tc_copy_of(ids, 1, (int64_t[]){n})};
        CHECK(b_gather, &g, 1, rand_tensor(TC_SHAPE(rows, width)));
        tc_step_reset();
    }
    /* a strided table: gather on axis 1 of a transposed view */
    args g = {.axis = 1, .ids = tc_copy_of(ids1, 1, (int64_t[]){4})};
    CHECK(b_gather_view, &g, 1, rand_tensor(TC_SHAPE(4, 2, 3))); /* view [3, 4, 2] */
    tc_step_reset();
}

/* ---- known values ------------------------------------------------------------------------------- */
static void values(void **state)
{
    (void)state;
    tc_scalar v[6] = {0, 1, 2, 3, 4, 5};
    tc_tensor *x = tc_copy_of(v, TC_SHAPE(2, 3));
    tc_tensor *r = tc_pad(x, (int64_t[]){0, 2}, (int64_t[]){0, 2}, TC_PAD_REFLECT, 0);
    tc_scalar expect[14] = {2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4, 5, 4, 3};
    tc_assert_close(r, tc_copy_of(expect, TC_SHAPE(2, 7)), 0, 0);
    tc_tensor *e = tc_pad(x, (int64_t[]){1, 1}, (int64_t[]){0, 2}, TC_PAD_EDGE, 0);
    tc_scalar ee[18] = {0, 0, 1, 2, 2, 2, 0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5};
    tc_assert_close(e, tc_copy_of(ee, TC_SHAPE(3, 6)), 0, 0);
    tc_tensor *s = tc_slice(x, (int64_t[]){1, 2}, (int64_t[]){-3, -4}, (int64_t[]){-1, -2});
    tc_scalar es[4] = {5, 3, 2, 0};
    tc_assert_close(s, tc_copy_of(es, TC_SHAPE(2, 2)), 0, 0);
    tc_tensor *t = tc_tile(x, (int64_t[]){1, 2});
    tc_scalar et[12] = {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5};
    tc_assert_close(t, tc_copy_of(et, TC_SHAPE(2, 6)), 0, 0);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slices), cmocka_unit_test(view_chains),       cmocka_unit_test(concats),
        cmocka_unit_test(pads),   cmocka_unit_test(tiles_and_expands), cmocka_unit_test(gathers),
        cmocka_unit_test(values),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
