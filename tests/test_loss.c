/* Losses against PyTorch (tests/fixtures/gen_loss_optim.py): values and the
 * gradients of logits, soft labels, targets and weights for every
 * reduction; extreme logits; bad input. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-6
#define ATOL 1e-6

typedef tc_tensor *(*loss_fn)(tc_fixture *fx, tc_tensor **in);

/* Loads the case, marks `inputs` as requiring gradients, runs fn, backward
 * with the fixture's upstream gradient, and compares loss and d_<input>. */
static void check_case(const char *file, loss_fn fn, const char *const *inputs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/loss/%s.tcfx", TC_FIXTURES, file);
    tc_fixture *fx = tc_fixture_load(path);
    if (!fx) fail_msg("%s: %s", file, tc_last_error());
    tc_tensor *in[4] = {0};
    int n = 0;
    for (; inputs[n]; n++) {
        in[n] = tc_fixture_get(fx, inputs[n]);
        tc_set_requires_grad(in[n], true);
    }
    tc_tensor *loss = fn(fx, in);
    if (!loss) fail_msg("%s: %s", file, tc_last_error());
    print_message("%s\n", file);
    tc_assert_close(loss, tc_fixture_get(fx, "loss"), RTOL, ATOL);
    assert_int_equal(tc_backward_with(loss, tc_fixture_get(fx, "gy")), TC_OK);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "d_%s", inputs[i]);
        if (!in[i]->grad) fail_msg("%s: no gradient for %s", file, inputs[i]);
        tc_assert_close(in[i]->grad, tc_fixture_get(fx, name), RTOL, ATOL);
    }
    tc_fixture_free(fx);
    tc_step_reset();
}

#define FX(name) tc_fixture_get(fx, name)
static tc_tensor *sparse_mean(tc_fixture *fx, tc_tensor **in)
{
    return tc_sparse_softmax_cross_entropy(in[0], FX("labels"), NULL, TC_REDUCE_MEAN);
}
static tc_reduction red_of(const char *s)
{
    return !strcmp(s, "mean") ? TC_REDUCE_MEAN : !strcmp(s, "sum") ? TC_REDUCE_SUM : !strcmp(s, "none") ? TC_REDUCE_NONE
                                                                                                     : TC_REDUCE_WEIGHTED_MEAN;
}
static tc_reduction current;
static tc_tensor *sparse_w(tc_fixture *fx, tc_tensor **in)
{
    return tc_sparse_softmax_cross_entropy(in[0], FX("labels"), in[1], current);
}
static tc_tensor *sparse_masked(tc_fixture *fx, tc_tensor **in)
{
    return tc_sparse_softmax_cross_entropy(in[0], FX("labels"), FX("mask"), TC_REDUCE_WEIGHTED_MEAN);
}
static tc_tensor *soft(tc_fixture *fx, tc_tensor **in) { return tc_softmax_cross_entropy(in[0], in[1], in[2], current); }
static tc_tensor *bce(tc_fixture *fx, tc_tensor **in) { return tc_sigmoid_cross_entropy(in[0], in[1], in[2], current); }
static tc_tensor *bce_fixed_w(tc_fixture *fx, tc_tensor **in)
{
    return tc_sigmoid_cross_entropy(in[0], in[1], FX("w"), current);
}
static tc_tensor *mse(tc_fixture *fx, tc_tensor **in) { return tc_mse(in[0], in[1], current); }
static tc_tensor *l2(tc_fixture *fx, tc_tensor **in) { return tc_l2_loss(in[0]); }

static void softmax_cross_entropy_vs_torch(void **state)
{
    check_case("ce_sparse_mean", sparse_mean, (const char *[]){"z", NULL});
    const char *reds[] = {"mean", "sum", "weighted_mean", "none"};
    for (int r = 0; r < 4; r++) {
        char file[64];
        snprintf(file, sizeof file, "ce_sparse_w_%s", reds[r]);
        current = red_of(reds[r]);
        check_case(file, sparse_w, (const char *[]){"z", "w", NULL});
    }
    check_case("ce_sparse_masked", sparse_masked, (const char *[]){"z", NULL});
    for (int r = 0; r < 4; r++) {
        if (r == 2) continue;
        char file[64];
        snprintf(file, sizeof file, "ce_soft_%s", reds[r]);
        current = red_of(reds[r]);
        check_case(file, soft, (const char *[]){"z", "y", NULL});
    }
    current = TC_REDUCE_WEIGHTED_MEAN;
    check_case("ce_soft_w_weighted_mean", soft, (const char *[]){"z", "y", "w", NULL});
}

static void elementwise_losses_vs_torch(void **state)
{
    const char *reds[] = {"mean", "sum", "none"};
    for (int r = 0; r < 3; r++) {
        char file[64];
        current = red_of(reds[r]);
        snprintf(file, sizeof file, "bce_%s", reds[r]);
        check_case(file, bce, (const char *[]){"x", "t", NULL});
        snprintf(file, sizeof file, "mse_%s", reds[r]);
        check_case(file, mse, (const char *[]){"p", "t", NULL});
    }
    current = TC_REDUCE_MEAN;
    check_case("bce_w_mean", bce_fixed_w, (const char *[]){"x", "t", NULL});
    current = TC_REDUCE_WEIGHTED_MEAN;
    check_case("bce_w_weighted_mean", bce, (const char *[]){"x", "t", "w", NULL});
    check_case("l2", l2, (const char *[]){"x", NULL});
}

/* Logits of +-1e30 and all-zero weights stay finite. */
static void extremes(void **state)
{
    tc_tensor *z = tc_copy_of((tc_scalar[]){1e30f, 0, -1e30f, -1e30f, -1e30f, 5}, TC_SHAPE(2, 3));
    tc_set_requires_grad(z, true);
    tc_tensor *l = tc_sparse_softmax_cross_entropy(z, tc_copy_of((tc_scalar[]){0, 2}, TC_SHAPE(2)), NULL, TC_REDUCE_SUM);
    tc_assert_ok(l);
    assert_true(isfinite(l->data[0]) && fabs(l->data[0]) < 1e-6);
    assert_int_equal(tc_backward(l), TC_OK);
    for (int i = 0; i < 6; i++) assert_true(isfinite(z->grad->data[i]));
    tc_tensor *x = tc_copy_of((tc_scalar[]){80, -80, 1000, -1000}, TC_SHAPE(4));
    tc_tensor *b = tc_sigmoid_cross_entropy(x, tc_copy_of((tc_scalar[]){1, 0, 0, 1}, TC_SHAPE(4)), NULL, TC_REDUCE_NONE);
    tc_assert_ok(b);
    assert_true(b->data[0] < 1e-6 && b->data[1] < 1e-6 && fabs(b->data[2] - 1000) < 1e-3 && fabs(b->data[3] - 1000) < 1e-3);
    tc_tensor *w0 = tc_zeros(TC_SHAPE(2));
    tc_tensor *m = tc_sparse_softmax_cross_entropy(z, tc_copy_of((tc_scalar[]){1, 1}, TC_SHAPE(2)), w0, TC_REDUCE_WEIGHTED_MEAN);
    tc_assert_ok(m);
    assert_true(m->data[0] == 0);
    tc_step_reset();
}

/* The loss value and gradient do not depend on the thread count (rows run in parallel). */
static void same_bits_for_any_thread_count(void **state)
{
    tc_rng rng = tc_rng_new(5);
    tc_scalar *out[2];
    int64_t n = 3000, C = 37;
    for (int t = 0; t < 2; t++) {
        tc_set_num_threads(t + 1);
        tc_rng r = rng;
        tc_tensor *z = tc_test_uniform(&r, TC_SHAPE(n, C), -4, 4), *lab = tc_empty(TC_SHAPE(n));
        for (int64_t i = 0; i < n; i++) lab->data[i] = (tc_scalar)(i % C);
        tc_set_requires_grad(z, true);
        tc_tensor *l = tc_sparse_softmax_cross_entropy(z, lab, NULL, TC_REDUCE_MEAN);
        assert_int_equal(tc_backward(l), TC_OK);
        out[t] = malloc(sizeof(tc_scalar) * (size_t)(n * C + 1));
        out[t][0] = l->data[0];
        memcpy(out[t] + 1, z->grad->data, sizeof(tc_scalar) * (size_t)(n * C));
        tc_step_reset();
    }
    assert_memory_equal(out[0], out[1], sizeof(tc_scalar) * (size_t)(n * C + 1));
    free(out[0]);
    free(out[1]);
    tc_set_num_threads(2);
}

static void bad_input(void **state)
{
    tc_tensor *z = tc_zeros(TC_SHAPE(4, 3));
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_full(TC_SHAPE(4), 3), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "label 3", "3 classes", "[4, 3]");
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_full(TC_SHAPE(4), -1), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "label -1");
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_full(TC_SHAPE(4), 0.5), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "label 0.5");
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_zeros(TC_SHAPE(5)), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "[5]", "[4, 3]");
    tc_assert_error(tc_sparse_softmax_cross_entropy(z, tc_zeros(TC_SHAPE(4)), tc_zeros(TC_SHAPE(3)), TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "weights [3]", "[4]");
    tc_assert_error(tc_sparse_softmax_cross_entropy(NULL, tc_zeros(TC_SHAPE(4)), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "logits", "NULL");
    tc_assert_error(tc_sparse_softmax_cross_entropy(tc_zeros(TC_SHAPE(4, 0)), tc_zeros(TC_SHAPE(4)), NULL, TC_REDUCE_MEAN),
                    "sparse_softmax_cross_entropy", "[4, 0]", "no classes");
    tc_assert_error(tc_softmax_cross_entropy(z, tc_zeros(TC_SHAPE(4, 2)), NULL, TC_REDUCE_MEAN), "softmax_cross_entropy",
                    "[4, 3]", "[4, 2]");
    tc_assert_error(tc_softmax_cross_entropy(z, NULL, NULL, TC_REDUCE_MEAN), "softmax_cross_entropy", "labels is NULL");
    tc_assert_error(tc_softmax_cross_entropy(z, z, tc_zeros(TC_SHAPE(4, 3)), TC_REDUCE_MEAN), "softmax_cross_entropy",
                    "weights [4, 3]", "[4]");
    tc_assert_error(tc_softmax_cross_entropy(z, z, NULL, (tc_reduction)9), "softmax_cross_entropy", "reduction 9");
    tc_assert_error(tc_sigmoid_cross_entropy(z, tc_zeros(TC_SHAPE(3, 4)), NULL, TC_REDUCE_MEAN), "sigmoid_cross_entropy",
                    "[4, 3]", "[3, 4]");
    tc_assert_error(tc_sigmoid_cross_entropy(z, z, tc_zeros(TC_SHAPE(4)), TC_REDUCE_MEAN), "sigmoid_cross_entropy",
                    "weights [4]", "[4, 3]");
    tc_assert_error(tc_mse(z, tc_zeros(TC_SHAPE(12)), TC_REDUCE_MEAN), "mse", "[4, 3]", "[12]");
    tc_assert_error(tc_mse(z, NULL, TC_REDUCE_MEAN), "mse", "NULL");
    tc_assert_error(tc_mse(z, z, TC_REDUCE_WEIGHTED_MEAN), "mse", "WEIGHTED_MEAN", "[4, 3]");
    tc_assert_error(tc_l2_loss(NULL), "l2_loss", "NULL");
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(softmax_cross_entropy_vs_torch),
        cmocka_unit_test(elementwise_losses_vs_torch),
        cmocka_unit_test(extremes),
        cmocka_unit_test(same_bits_for_any_thread_count),
        cmocka_unit_test(bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
