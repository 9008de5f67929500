/* The shortcuts of the gradients into an image (style transfer, DeepDream,
 * visualisation), in float, on every instruction set and 1 and 2 threads:
 * - tc_gram against double loops (x^T x, its lower blocks mirrored; dx = x (dG + dG^T)), bit-identical
 *   for 1 and 2 threads;
 * - a first gradient written in place (average pooling with disjoint windows,
 *   the activations) equals the zero-fill-and-add path it replaces, taken
 *   when the input is a long-lived leaf (whose gradient always accumulates). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* a long-lived copy of a step tensor: its gradient takes the accumulating path */
static tc_tensor *long_lived(const tc_tensor *t)
{
    tc_tensor *c = tc_tensor_new(t->ndim, t->shape);
    tc_assert_ok(c);
    memcpy(c->data, t->data, sizeof(tc_scalar) * (size_t)tc_numel(t));
    return c;
}

static void assert_same_values(const tc_tensor *a, const tc_tensor *b, const char *what, int threads)
{
    assert_int_equal(tc_numel(a), tc_numel(b));
    for (int64_t i = 0; i < tc_numel(a); i++)
        if (!(a->data[i] == b->data[i]))
            fail_msg("%s (%s, %d threads): element %lld is %.9g, the accumulating path gives %.9g", what,
                     tc_isa_name(tc_isa()), threads, (long long)i, (double)a->data[i], (double)b->data[i]);
}

static void gram_against_loops(void **state)
{
    (void)state;
    struct { int nd; int64_t s[4]; } cases[] = {
        {4, {1, 7, 5, 3}}, {4, {1, 37, 29, 19}}, {2, {300, 70}}, {3, {1, 3, 65}}, {2, {1, 1}}, {4, {1, 19, 25, 33}},
        {2, {40, 130}}, /* three column blocks: two below the diagonal copied */
    };
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            tc_rng rng = tc_rng_new(11 + c);
            tc_tensor *x = tc_test_uniform(&rng, cases[c].nd, cases[c].s, -1, 1);
            int64_t n = cases[c].s[cases[c].nd - 1], m = tc_numel(x) / n;
            tc_tensor *gy = tc_test_uniform(&rng, 2, (int64_t[]){n, n}, -1, 1); /* not symmetric */
            double *g = calloc((size_t)(n * n), sizeof *g), *dx = calloc((size_t)(m * n), sizeof *dx);
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < n; j++)
                    for (int64_t r = 0; r < m; r++) g[i * n + j] += (double)x->data[r * n + i] * x->data[r * n + j];
            for (int64_t r = 0; r < m; r++)
                for (int64_t j = 0; j < n; j++)
                    for (int64_t i = 0; i < n; i++)
                        dx[r * n + j] += (double)x->data[r * n + i] * ((double)gy->data[i * n + j] + gy->data[j * n + i]);
            tc_tensor *kept[2][2];
            for (int threads = 1; threads <= 2; threads++) {
                tc_set_num_threads(threads);
                x->grad = NULL;
                tc_set_requires_grad(x, true);
                tc_tensor *y = tc_gram(x);
                tc_assert_ok(y);
                assert_int_equal(y->ndim, 2);
                assert_int_equal(y->shape[0], n);
                assert_int_equal(y->shape[1], n);
                assert_int_equal(tc_backward_with(y, gy), TC_OK);
                for (int64_t i = 0; i < n * n; i++)
                    if (fabs(y->data[i] - g[i]) > 1e-4 * (1 + fabs(g[i])))
                        fail_msg("%s case %zu: G[%lld] is %.9g, loops %.9g", tc_isa_name(tc_isa()), c, (long long)i,
                                 (double)y->data[i], g[i]);
                for (int64_t i = 0; i < m * n; i++)
                    if (fabs(x->grad->data[i] - dx[i]) > 1e-4 * (1 + fabs(dx[i])))
                        fail_msg("%s case %zu: dx[%lld] is %.9g, loops %.9g", tc_isa_name(tc_isa()), c, (long long)i,
                                 (double)x->grad->data[i], dx[i]);
                kept[threads - 1][0] = y, kept[threads - 1][1] = x->grad;
            }
            for (int i = 0; i < 2; i++)
                if (memcmp(kept[0][i]->data, kept[1][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(kept[0][i])) != 0)
                    fail_msg("%s case %zu: %s differs between 1 and 2 threads", tc_isa_name(tc_isa()), c, i ? "dx" : "G");
            free(g), free(dx);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* the gradient of op(x) for x a step tensor (written in place) and for a
 * long-lived copy (zero-filled and added to): the same values */
typedef tc_tensor *(*unary_op)(tc_tensor *x, const void *ctx);

static void fresh_equals_accumulated(unary_op op, const void *ctx, int nd, const int64_t *shape, uint64_t seed,
                                     const char *what)
{
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        tc_rng rng = tc_rng_new(seed);
        tc_tensor *x = tc_test_uniform(&rng, nd, shape, -2, 2), *leaf = long_lived(x);
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(leaf, true);
        tc_tensor *h = tc_mul_scalar(x, 1); /* an intermediate: its first gradient is written */
        tc_tensor *y = op(h, ctx), *yl = op(leaf, ctx);
        tc_assert_ok(y);
        tc_assert_ok(yl);
        tc_tensor *gy = tc_test_uniform(&rng, y->ndim, y->shape, -1, 1);
        assert_int_equal(tc_backward_with(y, gy), TC_OK);
        tc_tensor *written = h->grad; /* the next backward forgets it (the data stays until the reset) */
        assert_non_null(written);
        assert_int_equal(tc_backward_with(yl, gy), TC_OK);
        assert_same_values(written, leaf->grad, what, threads);
        tc_tensor_free(leaf);
        tc_step_reset();
    }
    tc_set_num_threads(2);
}

static tc_tensor *avg_op(tc_tensor *x, const void *ctx) { return tc_avg_pool(x, ctx); }

static void avg_pool_disjoint_windows(void **state)
{
    (void)state;
    struct { int nd; int64_t s[5]; tc_pool_params p; } cases[] = {
        {4, {1, 9, 11, 5}, {.kernel = {2, 2}}},                                 /* VGG's 2x2 / 2, odd sides */
        {4, {2, 8, 7, 3}, {.kernel = {2, 3}, .stride = {3, 4}}},                /* gaps between windows */
        {4, {1, 7, 9, 17}, {.kernel = {2, 2}, .padding = TC_SAME}},
        {4, {1, 7, 9, 2}, {.kernel = {3, 3}, .stride = {3, 3}, .padding = TC_EXPLICIT, .pad_before = {1, 1},
                           .pad_after = {1, 0}, .count_include_pad = true}},
        {4, {1, 6, 7, 2}, {.kernel = {2, 2}, .ceil_mode = true}},
        {3, {2, 9, 3}, {.kernel = {3}}},
        {5, {1, 4, 5, 4, 2}, {.kernel = {2, 2, 2}, .stride = {2, 2, 3}}},
        {4, {1, 150, 200, 64}, {.kernel = {2, 2}}},                             /* enough lines for both threads */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        fresh_equals_accumulated(avg_op, &cases[c].p, cases[c].nd, cases[c].s, 3 + c, "avg_pool");
}

static tc_tensor *relu_op(tc_tensor *x, const void *ctx) { return tc_relu(x); }
static tc_tensor *leaky_op(tc_tensor *x, const void *ctx) { return tc_leaky_relu(x, 0.3); }
static tc_tensor *sigmoid_op(tc_tensor *x, const void *ctx) { return tc_sigmoid(x); }
static tc_tensor *tanh_op(tc_tensor *x, const void *ctx) { return tc_tanh(x); }
static tc_tensor *hsig_op(tc_tensor *x, const void *ctx) { return tc_hard_sigmoid(x, 0.2, 0.5); }

static void activations(void **state)
{
    (void)state;
    unary_op ops[] = {relu_op, leaky_op, sigmoid_op, tanh_op, hsig_op};
    const char *names[] = {"relu", "leaky_relu", "sigmoid", "tanh", "hard_sigmoid"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        fresh_equals_accumulated(ops[k], NULL, 2, (int64_t[]){3, 37}, 5 + k, names[k]);
        fresh_equals_accumulated(ops[k], NULL, 3, (int64_t[]){7, 101, 131}, 9 + k, names[k]);
    }
    /* guided and rectified backprop (relu's modifiers) on the written path too */
    for (int mode = TC_RELU_GRAD_GUIDED; mode <= TC_RELU_GRAD_RECTIFIED; mode++) {
        tc_set_relu_grad_mode((tc_relu_grad_mode)mode);
        fresh_equals_accumulated(relu_op, NULL, 2, (int64_t[]){5, 333}, 21 + (uint64_t)mode, "relu modifier");
    }
    tc_set_relu_grad_mode(TC_RELU_GRAD_PLAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gram_against_loops),
        cmocka_unit_test(avg_pool_disjoint_windows),
        cmocka_unit_test(activations),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
