/* Batch normalisation, LRN and resizing against PyTorch (fixtures of
 * tests/fixtures/gen_pool_norm.py, float32 tolerances); dropout's mask
 * statistics, seeding and thread invariance; bad input. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

typedef tc_tensor *(*build_fn)(tc_fixture *fx, tc_tensor **ins);
typedef struct {
    const char *name;
    const char *inputs[5];
    build_fn build;
} norm_case;

#define IN(i) ins[i]

/* training: the running statistics start at rm0/rv0 and must end at PyTorch's rm1/rv1 */
static tc_tensor *bn_train(tc_fixture *fx, tc_tensor **ins, double momentum, double eps)
{
    tc_tensor *rm = tc_fixture_get(fx, "rm0"), *rv = tc_fixture_get(fx, "rv0");
    tc_tensor *y = tc_batch_norm(IN(0), IN(1), IN(2), rm, rv, true, (tc_scalar)momentum, (tc_scalar)eps);
    tc_assert_close(rm, tc_fixture_get(fx, "rm1"), 1e-5, 1e-6);
    tc_assert_close(rv, tc_fixture_get(fx, "rv1"), 1e-5, 1e-6);
    return y;
}
static tc_tensor *bn_default(tc_fixture *fx, tc_tensor **ins) { return bn_train(fx, ins, 0.9, 1e-3); }
static tc_tensor *bn_batch1(tc_fixture *fx, tc_tensor **ins) { return bn_train(fx, ins, 0.99, 1e-5); }
static tc_tensor *bn_infer(tc_fixture *fx, tc_tensor **ins)
{
    return tc_batch_norm(IN(0), IN(1), IN(2), IN(3), IN(4), false, 0.9, 1e-3);
}
static tc_tensor *lrn5(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 5, 0.02, 0.75, 1.5); }
static tc_tensor *lrn3(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 3, 0.3, 0.6, 2.0); }
static tc_tensor *lrn4(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 4, 0.2, 0.75, 1.0); }
static tc_tensor *lrn2(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 2, 0.1, 0.5, 1.0); }
static tc_tensor *lrn9(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 9, 0.5, 0.75, 1.0); }
static tc_tensor *bil_up(tc_fixture *fx, tc_tensor **ins) { return tc_resize_bilinear(IN(0), 5, 7); }
static tc_tensor *bil_down(tc_fixture *fx, tc_tensor **ins) { return tc_resize_bilinear(IN(0), 4, 3); }
static tc_tensor *bil_align(tc_fixture *fx, tc_tensor **ins)
{
    return tc_resize(IN(0), (int64_t[]){7, 5}, &(tc_resize_params){TC_RESIZE_LINEAR, TC_COORD_ALIGN_CORNERS});
}
/* PyTorch's 'nearest' is floor(o * in / out): asymmetric coordinates, floor */
static tc_tensor *nn_floor(tc_fixture *fx, tc_tensor **ins, int64_t h, int64_t w)
{
    return tc_resize(IN(0), (int64_t[]){h, w},
                     &(tc_resize_params){TC_RESIZE_NEAREST, TC_COORD_ASYMMETRIC, TC_NEAREST_FLOOR});
}
static tc_tensor *nn_up(tc_fixture *fx, tc_tensor **ins) { return nn_floor(fx, ins, 7, 6); }
static tc_tensor *nn_down(tc_fixture *fx, tc_tensor **ins) { return nn_floor(fx, ins, 3, 5); }
/* 'nearest-exact' is floor((o + 0.5) * in / out): half pixel, rounding halves up */
static tc_tensor *nn_exact(tc_fixture *fx, tc_tensor **ins)
{
    return tc_resize(IN(0), (int64_t[]){8, 3},
                     &(tc_resize_params){TC_RESIZE_NEAREST, TC_COORD_HALF_PIXEL, TC_NEAREST_ROUND_PREFER_CEIL});
}
static tc_tensor *linear1d(tc_fixture *fx, tc_tensor **ins) { return tc_resize(IN(0), (int64_t[]){9}, NULL); }
static tc_tensor *trilinear(tc_fixture *fx, tc_tensor **ins)
{
    return tc_resize(IN(0), (int64_t[]){5, 3, 6}, &(tc_resize_params){TC_RESIZE_LINEAR, TC_COORD_PYTORCH_HALF_PIXEL});
}

static const norm_case cases[] = {
    {"bn_train_4d", {"x", "g", "b"}, bn_default},
    {"bn_train_batch1", {"x", "g", "b"}, bn_batch1},
    {"bn_train_2d", {"x", "g", "b"}, bn_default},
    {"bn_train_3d_conv1d", {"x", "g", "b"}, bn_default},
    {"bn_infer_4d", {"x", "g", "b", "rm", "rv"}, bn_infer},
    {"lrn_size5_4d", {"x"}, lrn5},
    {"lrn_size3_3d", {"x"}, lrn3},
    {"lrn_size4_onnx", {"x"}, lrn4},
    {"lrn_size2_onnx", {"x"}, lrn2},
    {"lrn_size9_wide", {"x"}, lrn9},
    {"resize_bilinear_up", {"x"}, bil_up},
    {"resize_bilinear_down", {"x"}, bil_down},
    {"resize_bilinear_align", {"x"}, bil_align},
    {"resize_nearest_up", {"x"}, nn_up},
    {"resize_nearest_down", {"x"}, nn_down},
    {"resize_nearest_exact", {"x"}, nn_exact},
    {"resize_linear_1d", {"x"}, linear1d},
    {"resize_trilinear", {"x"}, trilinear},
};

static void against_pytorch(void **state)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/norm/%s.tcfx", TC_FIXTURES, cases[c].name);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *ins[5] = {0};
        int n = 0;
        for (; n < 5 && cases[c].inputs[n]; n++) {
            char key[64];
            snprintf(key, sizeof key, "in:%s", cases[c].inputs[n]);
            ins[n] = tc_fixture_get(fx, key);
            tc_set_requires_grad(ins[n], true);
        }
        tc_tensor *y = cases[c].build(fx, ins);
        if (!y) fail_msg("%s: %s", cases[c].name, tc_last_error());
        tc_assert_close_(y, tc_fixture_get(fx, "out"), 1e-5, 1e-5, cases[c].name, __FILE__, __LINE__);
        if (tc_backward_with(y, tc_fixture_get(fx, "gout")) != TC_OK) fail_msg("%s: %s", cases[c].name, tc_last_error());
        for (int i = 0; i < n; i++) {
            char key[64], what[128];
            snprintf(key, sizeof key, "grad:%s", cases[c].inputs[i]);
            snprintf(what, sizeof what, "%s d/d%s", cases[c].name, cases[c].inputs[i]);
            if (!ins[i]->grad) fail_msg("%s: no gradient", what);
            tc_assert_close_(ins[i]->grad, tc_fixture_get(fx, key), 1e-4, 1e-4, what, __FILE__, __LINE__);
        }
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

/* Batch norm, LRN and resize give bit-identical results for 1 and 2 threads,
 * on shapes large enough to be split. */
static void thread_count_invariance(void **state)
{
    tc_tensor *ref[4] = {0};
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        tc_rng r = tc_rng_new(77);
        tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(4, 33, 31, 20), -2, 3);
        tc_tensor *g = tc_test_uniform(&r, TC_SHAPE(20), 0.5, 1.5), *b = tc_test_uniform(&r, TC_SHAPE(20), -1, 1);
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(g, true);
        tc_tensor *y = tc_add(tc_batch_norm(x, g, b, NULL, NULL, true, 0.9, 1e-3), tc_lrn(x, 5, 0.1, 0.75, 1));
        tc_assert_ok(y);
        tc_tensor *z = tc_resize(x, (int64_t[]){50, 17}, &(tc_resize_params){TC_RESIZE_LINEAR, TC_COORD_ALIGN_CORNERS});
        tc_assert_ok(z);
        tc_tensor *w = tc_test_uniform(&r, 4, y->shape, -1, 1), *wz = tc_test_uniform(&r, 4, z->shape, -1, 1);
        tc_tensor *loss = tc_add(tc_sum(tc_mul(y, w), 0, NULL, false), tc_sum(tc_mul(z, wz), 0, NULL, false));
        assert_int_equal(tc_backward(loss), TC_OK);
        tc_tensor *got[4] = {tc_tensor_keep(y), tc_tensor_keep(x->grad), tc_tensor_keep(g->grad), NULL};
        for (int i = 0; i < 3; i++) {
            if (threads == 1) {
                ref[i] = got[i];
            } else {
                tc_assert_close(got[i], ref[i], 0, 0);
                tc_tensor_free(got[i]);
                tc_tensor_free(ref[i]);
            }
        }
        tc_step_reset();
    }
    tc_set_num_threads(2);
}

static void dropout_behaviour(void **state)
{
    const int64_t n = 200003; /* odd length: the last Philox block is partial */
    tc_tensor *x = tc_tensor_new(TC_SHAPE(n)); /* long-lived: survives the arena resets */
    tc_fill(x, 1);
    tc_set_requires_grad(x, true);
    for (int ri = 0; ri < 3; ri++) {
        const double rate = (double[]){0.1, 0.3, 0.75}[ri];
        tc_rng r1 = tc_rng_new(3 + ri), r2 = tc_rng_new(3 + ri);
        tc_set_num_threads(1);
        tc_tensor *a = tc_dropout(x, rate, true, &r1);
        tc_set_num_threads(2);
        tc_tensor *b = tc_dropout(x, rate, true, &r2);
        tc_assert_ok(a);
        tc_assert_ok(b);
        tc_assert_close(a, b, 0, 0); /* the same mask for any thread count */
        assert_true(r1.counter == r2.counter && r1.counter >= (uint64_t)n);
        int64_t kept = 0;
        for (int64_t i = 0; i < n; i++) {
            if (a->data[i] != 0) {
                kept++;
                assert_true(fabs(a->data[i] - 1 / (1 - rate)) < 1e-5);
            }
        }
        /* binomial: 5 standard deviations */
        double sd = sqrt(rate * (1 - rate) / n);
        assert_true(fabs((double)(n - kept) / n - rate) < 5 * sd);
        /* the generator advanced: the next mask differs */
        tc_tensor *c = tc_dropout(x, rate, true, &r1);
        int64_t differ = 0;
        for (int64_t i = 0; i < n; i++) differ += (a->data[i] != 0) != (c->data[i] != 0);
        assert_true(differ > n / 20);
        /* backward uses the forward's mask and scale */
        tc_tensor *gout = tc_full(TC_SHAPE(n), 2);
        assert_int_equal(tc_backward_with(a, gout), TC_OK);
        for (int64_t i = 0; i < n; i++) {
            double want = a->data[i] != 0 ? 2 / (1 - rate) : 0;
            if (fabs(x->grad->data[i] - want) > 1e-5) fail_msg("dropout grad[%lld] = %g, want %g", (long long)i, (double)x->grad->data[i], want);
        }
        tc_zero_grad(x);
        tc_step_reset();
    }
    /* the same seed gives the same mask; another seed another one */
    tc_rng s1 = tc_rng_new(11), s2 = tc_rng_new(11), s3 = tc_rng_new(12);
    tc_tensor *m1 = tc_dropout(x, 0.5, true, &s1), *m2 = tc_dropout(x, 0.5, true, &s2), *m3 = tc_dropout(x, 0.5, true, &s3);
    tc_assert_close(m1, m2, 0, 0);
    int64_t same = 0;
    for (int64_t i = 0; i < n; i++) same += m1->data[i] == m3->data[i];
    assert_true(same < n * 6 / 10);
    /* inference and rate 0: identity */
    assert_ptr_equal(tc_dropout(x, 0.5, false, NULL), x);
    assert_ptr_equal(tc_dropout(x, 0, true, NULL), x);
    /* NULL generator: the default one */
    tc_manual_seed(9);
    tc_tensor *d1 = tc_dropout(x, 0.5, true, NULL);
    tc_manual_seed(9);
    tc_tensor *d2 = tc_dropout(x, 0.5, true, NULL);
    tc_assert_close(d1, d2, 0, 0);
    /* the mask is tc_philox's draws, kept when draw >= rate * 2^32: from a counter
     * that is not a multiple of 4 and whose block numbers cross 2^32 */
    tc_rng u = {.seed = 77, .counter = ((uint64_t)1 << 34) - 37};
    const uint64_t c0 = u.counter;
    const int64_t m = 1001;
    tc_tensor *xm = tc_full(TC_SHAPE(m), 1);
    tc_tensor *dm = tc_dropout(xm, 0.3, true, &u);
    tc_assert_ok(dm);
    for (int64_t i = 0; i < m; i++) {
        uint32_t o[4];
        tc_philox(77, (c0 + (uint64_t)i) / 4, o);
        bool keep = (double)o[(c0 + (uint64_t)i) % 4] >= ceil((double)0.3f * 4294967296.0); /* rate is a float */
        if (keep != (dm->data[i] != 0)) fail_msg("dropout mask[%lld] is not tc_philox's draw", (long long)i);
    }
    tc_tensor_free(x);
    tc_step_reset();
}

static void batch_norm_modes(void **state)
{
    /* inference uses the running statistics and leaves them alone */
    tc_tensor *x = tc_full(TC_SHAPE(2, 3), 4);
    tc_tensor *rm = tc_full(TC_SHAPE(3), 1), *rv = tc_full(TC_SHAPE(3), 9);
    tc_tensor *y = tc_batch_norm(x, NULL, NULL, rm, rv, false, 0.9, 0);
    tc_assert_close(y, tc_full(TC_SHAPE(2, 3), 1), 1e-6, 1e-6);
    tc_assert_close(rm, tc_full(TC_SHAPE(3), 1), 0, 0);
    /* training on a constant batch: output beta, running update with momentum */
    tc_tensor *beta = tc_full(TC_SHAPE(3), 0.5);
    y = tc_batch_norm(x, NULL, beta, rm, rv, true, 0.75, 1e-3);
    tc_assert_close(y, tc_full(TC_SHAPE(2, 3), 0.5), 1e-6, 1e-6);
    tc_assert_close(rm, tc_full(TC_SHAPE(3), 0.75 * 1 + 0.25 * 4), 1e-6, 1e-6);
    tc_assert_close(rv, tc_full(TC_SHAPE(3), 0.75 * 9), 1e-6, 1e-6);
    tc_step_reset();
}

static void bad_input(void **state)
{
    tc_tensor *img = tc_zeros(TC_SHAPE(1, 4, 4, 3)), *c3 = tc_zeros(TC_SHAPE(3)), *c4 = tc_zeros(TC_SHAPE(4));
    /* batch-norm parameters that do not match the channels */
    tc_assert_error(tc_batch_norm(img, c4, NULL, NULL, NULL, true, 0.9, 1e-3), "batch_norm", "gamma", "[4]", "[1, 4, 4, 3]");
    tc_assert_error(tc_batch_norm(img, c3, c4, NULL, NULL, true, 0.9, 1e-3), "batch_norm", "beta", "[4]");
    tc_assert_error(tc_batch_norm(img, NULL, NULL, c3, c4, false, 0.9, 1e-3), "batch_norm", "running_var", "[4]");
    tc_assert_error(tc_batch_norm(img, tc_zeros(TC_SHAPE(1, 3)), NULL, NULL, NULL, true, 0.9, 1e-3), "batch_norm",
                    "gamma", "[1, 3]");
    tc_assert_error(tc_batch_norm(img, NULL, NULL, NULL, NULL, false, 0.9, 1e-3), "batch_norm", "running", "[1, 4, 4, 3]");
    tc_assert_error(tc_batch_norm(img, NULL, NULL, NULL, NULL, true, 0.9, -1), "batch_norm", "epsilon");
    tc_assert_error(tc_batch_norm(img, NULL, NULL, NULL, NULL, true, 1.5, 1e-3), "batch_norm", "momentum");
    tc_assert_error(tc_batch_norm(tc_zeros(TC_SHAPE(0, 3)), NULL, NULL, NULL, NULL, true, 0.9, 1e-3), "batch_norm",
                    "[0, 3]");
    tc_assert_error(tc_batch_norm(NULL, c3, NULL, NULL, NULL, true, 0.9, 1e-3), "batch_norm", "NULL");
    /* LRN */
    tc_assert_error(tc_lrn(img, 0, 1, 1, 1), "lrn", "size 0", "[1, 4, 4, 3]");
    tc_assert_error(tc_lrn(img, -3, 1, 1, 1), "lrn", "size -3");
    tc_assert_error(tc_lrn(NULL, 3, 1, 1, 1), "lrn", "NULL");
    /* dropout */
    tc_assert_error(tc_dropout(img, -0.1, true, NULL), "dropout", "rate", "[1, 4, 4, 3]");
    tc_assert_error(tc_dropout(img, 1.0, true, NULL), "dropout", "rate", "[1, 4, 4, 3]");
    tc_assert_error(tc_dropout(img, NAN, true, NULL), "dropout", "rate");
    tc_assert_error(tc_dropout(NULL, 0.5, true, NULL), "dropout", "NULL");
    /* resize */
    tc_assert_error(tc_resize(tc_zeros(TC_SHAPE(4, 3)), (int64_t[]){2}, NULL), "resize", "[4, 3]");
    tc_assert_error(tc_resize(img, (int64_t[]){0, 3}, NULL), "resize", "[1, 4, 4, 3]");
    tc_assert_error(tc_resize(img, NULL, NULL), "resize", "[1, 4, 4, 3]");
    tc_assert_error(tc_resize(img, (int64_t[]){2, 2}, &(tc_resize_params){.mode = (tc_resize_mode)7}), "resize",
                    "[1, 4, 4, 3]");
    tc_assert_error(tc_resize(NULL, (int64_t[]){2, 2}, NULL), "resize", "NULL");
    tc_assert_error(tc_resize_bilinear(tc_zeros(TC_SHAPE(1, 4, 3)), 2, 2), "resize_bilinear", "[1, 4, 3]");
    tc_assert_error(tc_resize_bilinear(img, -1, 2), "resize", "[1, 4, 4, 3]");
    tc_assert_error(tc_resize_bilinear(NULL, 2, 2), "resize_bilinear", "NULL");
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_pytorch),
        cmocka_unit_test(thread_count_invariance),
        cmocka_unit_test(dropout_behaviour),
        cmocka_unit_test(batch_norm_modes),
        cmocka_unit_test(bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
