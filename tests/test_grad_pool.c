/* Finite-difference gradient checks (double precision) for max and average
 * pooling (1-D to 3-D) and the global pools: the odd cases by name, then
 * random shapes and parameters. Max pooling inputs are a shuffled ramp of
 * distinct values (no ties, far from the step eps). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

static tc_rng rng;

/* a step tensor holding a random permutation of distinct values 0.01 apart */
static tc_tensor *distinct(int ndim, const int64_t *shape)
{
    tc_tensor *x = tc_empty(ndim, shape);
    int64_t n = tc_numel(x);
    int64_t *perm = tc_arena_alloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    tc_rng_shuffle(&rng, perm, n);
    for (int64_t i = 0; i < n; i++) x->data[i] = 0.01 * (double)(perm[i] - n / 2);
    return x;
}

typedef struct {
    tc_pool_params p;
    bool max;
} pool_case;

static tc_tensor *b_pool(tc_tensor **in, void *ctx)
{
    pool_case *c = ctx;
    return c->max ? tc_max_pool(in[0], &c->p) : tc_avg_pool(in[0], &c->p);
}

static void check_case(const char *what, int nd, const int64_t *shape, pool_case *c)
{
    tc_tensor *x = distinct(nd, shape);
    tc_tensor *y = b_pool(&x, c);
    if (!y) fail_msg("%s: %s", what, tc_last_error());
    tc_gradcheck_(b_pool, c, 1, &x, NULL, 1e-6, 1e-6, what, __FILE__, __LINE__);
    tc_step_reset();
}

#define K(...) .kernel = {__VA_ARGS__}
#define S(...) .stride = {__VA_ARGS__}
#define PADS(b, a) .padding = TC_EXPLICIT, .pad_before = {b}, .pad_after = {a}

static void named_cases(void **state)
{
    struct {
        const char *what;
        int nd;
        int64_t shape[5];
        pool_case c;
    } cases[] = {
        {"max 2x2 valid", 4, {2, 5, 5, 3}, {{K(2, 2)}, true}},
        {"max stride > kernel", 4, {1, 8, 7, 2}, {{K(2, 2), S(3, 3)}, true}},
        {"avg stride > kernel", 4, {1, 8, 7, 2}, {{K(2, 3), S(3, 4)}, false}},
        {"max SAME even kernel", 4, {1, 5, 6, 2}, {{K(2, 4), S(1, 1), .padding = TC_SAME}, true}},
        {"avg SAME even kernel", 4, {1, 5, 6, 2}, {{K(4, 2), S(1, 2), .padding = TC_SAME}, false}},
        {"avg SAME even incl", 4, {1, 5, 6, 2}, {{K(4, 2), S(1, 2), .padding = TC_SAME, .count_include_pad = true}, false}},
        {"max SAME_LOWER", 4, {1, 7, 5, 2}, {{K(4, 3), S(3, 2), .padding = TC_SAME_LOWER}, true}},
        {"max dilation", 4, {1, 9, 8, 2}, {{K(3, 2), S(2, 1), .dilation = {2, 3}, PADS(1, 1)}, true}},
        {"max ceil", 4, {1, 6, 7, 2}, {{K(3, 3), S(2, 2), .ceil_mode = true}, true}},
        {"max ceil pad", 4, {1, 6, 7, 2}, {{K(3, 3), S(2, 2), .ceil_mode = true, PADS(1, 1)}, true}},
        {"avg ceil pad excl", 4, {1, 6, 7, 2}, {{K(3, 3), S(2, 2), .ceil_mode = true, PADS(1, 1)}, false}},
        {"avg ceil pad incl", 4, {1, 6, 7, 2},
         {{K(3, 3), S(2, 2), .ceil_mode = true, PADS(1, 1), .count_include_pad = true}, false}},
        {"avg pad incl no ceil", 4, {2, 5, 4, 3}, {{K(3, 2), S(2, 2), PADS(1, 1), .count_include_pad = true}, false}},
        {"max 1-D SAME", 3, {2, 9, 3}, {{K(3), S(2), .padding = TC_SAME}, true}},
        {"avg 1-D SAME_LOWER even", 3, {2, 9, 3}, {{K(4), S(2), .padding = TC_SAME_LOWER}, false}},
        {"max 1-D ceil dilated", 3, {2, 10, 2}, {{K(3), S(3), .dilation = {2}, .ceil_mode = true}, true}},
        {"avg 1-D ceil incl", 3, {2, 8, 3}, {{K(4), S(3), PADS(1, 1), .ceil_mode = true, .count_include_pad = true}, false}},
        {"max 3-D", 5, {1, 4, 5, 4, 2}, {{K(2, 2, 2), S(2, 2, 1)}, true}},
        {"max 3-D SAME dilated", 5, {1, 5, 4, 5, 2}, {{K(2, 2, 3), S(2, 1, 2), .dilation = {2, 1, 1}, .padding = TC_SAME}, true}},
        {"avg 3-D SAME", 5, {1, 4, 5, 4, 2}, {{K(2, 3, 2), .padding = TC_SAME}, false}},
        {"avg 3-D ceil incl", 5, {1, 5, 4, 5, 2},
         {{K(3, 2, 3), S(2, 2, 2), .ceil_mode = true, .count_include_pad = true, .padding = TC_EXPLICIT,
           .pad_before = {1, 0, 1}, .pad_after = {1, 1, 0}}, false}},
        {"kernel 1 stride 2", 4, {1, 5, 5, 2}, {{K(1, 1), S(2, 2)}, true}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(cases[i].what, cases[i].nd, cases[i].shape, &cases[i].c);
}

/* random configurations; those whose windows can miss the input entirely
 * (max over nothing) are redrawn */
static void random_cases(void **state)
{
    int done = 0, tries = 0;
    while (done < 40 && tries < 1000) {
        tries++;
        int nsp = 1 + (int)tc_rng_below(&rng, 3);
        pool_case c = {.max = tc_rng_below(&rng, 2) == 0};
        int64_t shape[5];
        shape[0] = 1 + (int64_t)tc_rng_below(&rng, 2);
        shape[nsp + 1] = 1 + (int64_t)tc_rng_below(&rng, 3);
        c.p.padding = (tc_padding)(int)tc_rng_below(&rng, 4); /* VALID, SAME, SAME_LOWER, EXPLICIT */
        c.p.ceil_mode = tc_rng_below(&rng, 2);
        c.p.count_include_pad = tc_rng_below(&rng, 2);
        for (int i = 0; i < nsp; i++) {
            shape[1 + i] = 2 + (int64_t)tc_rng_below(&rng, nsp == 3 ? 4 : 7);
            c.p.kernel[i] = 1 + (int)tc_rng_below(&rng, 4);
            c.p.stride[i] = (int)tc_rng_below(&rng, 4);
            c.p.dilation[i] = 1 + (int)tc_rng_below(&rng, 2);
            int span = c.max ? (c.p.kernel[i] - 1) * c.p.dilation[i] + 1 : c.p.kernel[i];
            c.p.pad_before[i] = (int64_t)tc_rng_below(&rng, (uint64_t)(span + 1) / 2 + 1);
            c.p.pad_after[i] = (int64_t)tc_rng_below(&rng, (uint64_t)(span + 1) / 2 + 1);
        }
        tc_tensor *x = distinct(nsp + 2, shape);
        tc_tensor *y = b_pool(&x, &c);
        bool ok = y != NULL;
        for (int64_t i = 0; ok && i < tc_numel(y); i++) ok = isfinite(y->data[i]);
        if (ok) {
            char what[256];
            snprintf(what, sizeof what, "random %s %d-D case %d (x %s)", c.max ? "max" : "avg", nsp, done,
                     tc_shape_str(x, (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX));
            tc_gradcheck_(b_pool, &c, 1, &x, NULL, 1e-6, 1e-6, what, __FILE__, __LINE__);
            done++;
        }
        tc_step_reset();
    }
    assert_int_equal(done, 40);
}

typedef struct {
    bool max, keepdims;
} global_case;
static tc_tensor *b_global(tc_tensor **in, void *ctx)
{
    global_case *g = ctx;
    return g->max ? tc_global_max_pool(in[0], g->keepdims) : tc_global_avg_pool(in[0], g->keepdims);
}

static void global_pools(void **state)
{
    const int64_t shapes[3][5] = {{2, 5, 3}, {2, 3, 4, 3}, {1, 2, 3, 2, 4}};
    for (int s = 0; s < 3; s++)
        for (int m = 0; m < 4; m++) {
            global_case g = {m & 1, m >> 1};
            tc_tensor *x = distinct(s + 3, shapes[s]);
            tc_gradcheck(b_global, &g, 1, &x, NULL, 1e-6, 1e-6);
            tc_step_reset();
        }
}

int main(void)
{
    rng = tc_rng_new(314);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_cases),
        cmocka_unit_test(random_cases),
        cmocka_unit_test(global_pools),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
