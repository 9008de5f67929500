/* Every op family against PyTorch: outputs and input gradients on the
 * fixtures written by tests/fixtures/gen_fixtures.py (float32 here, so
 * tolerances are float32's). */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef tc_tensor *(*build_fn)(tc_fixture *fx, tc_tensor **ins);

/* inputs of a case are the fixture's "in:NAME" tensors, in this order */
typedef struct {
    const char *name;
    const char *inputs[4];
    build_fn build;
    double rtol, atol;
} torch_case;

#define IN(i) ins[i]

static tc_tensor *conv_s2(tc_fixture *fx, tc_tensor **ins)
{
    return tc_conv(IN(0), IN(1), IN(2), &(tc_conv_params){.padding = TC_SAME, .stride = {2, 2}});
}
static tc_tensor *conv_even_dil(tc_fixture *fx, tc_tensor **ins)
{
    return tc_conv(IN(0), IN(1), IN(2), &(tc_conv_params){.padding = TC_SAME, .dilation = {2, 1}});
}
static tc_tensor *conv_dw(tc_fixture *fx, tc_tensor **ins)
{
    return tc_conv(IN(0), IN(1), IN(2), &(tc_conv_params){.padding = TC_SAME, .groups = 3});
}
static tc_tensor *conv_valid(tc_fixture *fx, tc_tensor **ins) { return tc_conv(IN(0), IN(1), IN(2), NULL); }
static tc_tensor *conv_causal(tc_fixture *fx, tc_tensor **ins)
{
    return tc_conv(IN(0), IN(1), IN(2), &(tc_conv_params){.padding = TC_CAUSAL, .dilation = {2}});
}
static tc_tensor *conv3d(tc_fixture *fx, tc_tensor **ins)
{
    return tc_conv(IN(0), IN(1), IN(2), &(tc_conv_params){.padding = TC_SAME, .stride = {1, 2, 1}});
}
static tc_tensor *maxpool_same(tc_fixture *fx, tc_tensor **ins)
{
    return tc_max_pool(IN(0), &(tc_pool_params){.kernel = {3, 3}, .stride = {2, 2}, .padding = TC_SAME});
}
static tc_tensor *avgpool_ex(tc_fixture *fx, tc_tensor **ins)
{
    return tc_avg_pool(IN(0), &(tc_pool_params){.kernel = {3, 3}, .stride = {2, 2}, .padding = TC_EXPLICIT,
                                                 .pad_before = {1, 1}, .pad_after = {1, 1}, .ceil_mode = true});
}
static tc_tensor *avgpool_in(tc_fixture *fx, tc_tensor **ins)
{
    return tc_avg_pool(IN(0), &(tc_pool_params){.kernel = {3, 3}, .stride = {2, 2}, .padding = TC_EXPLICIT,
                                                 .pad_before = {1, 1}, .pad_after = {1, 1}, .ceil_mode = true,
                                                 .count_include_pad = true});
}
static tc_tensor *maxpool3d(tc_fixture *fx, tc_tensor **ins)
{
    return tc_max_pool(IN(0), &(tc_pool_params){.kernel = {2, 2, 2}});
}
static tc_tensor *bn_train(tc_fixture *fx, tc_tensor **ins)
{
    tc_tensor *rm = tc_fixture_get(fx, "running_mean_in"), *rv = tc_fixture_get(fx, "running_var_in");
    tc_tensor *y = tc_batch_norm(IN(0), IN(1), IN(2), rm, rv, true, 0.9, 1e-3);
    tc_assert_close(rm, tc_fixture_get(fx, "running_mean_out"), 1e-5, 1e-6);
    tc_assert_close(rv, tc_fixture_get(fx, "running_var_out"), 1e-5, 1e-6);
    return y;
}
static tc_tensor *lrn5(tc_fixture *fx, tc_tensor **ins) { return tc_lrn(IN(0), 5, 0.02, 0.75, 1.5); }
static tc_tensor *bil_up(tc_fixture *fx, tc_tensor **ins) { return tc_resize_bilinear(IN(0), 5, 7); }
static tc_tensor *bil_down(tc_fixture *fx, tc_tensor **ins) { return tc_resize_bilinear(IN(0), 4, 3); }
static tc_tensor *broadcast(tc_fixture *fx, tc_tensor **ins)
{
    tc_tensor *a = IN(0), *b = IN(1);
    tc_tensor *q = tc_div(tc_mul(tc_add(a, b), tc_sub(a, b)), tc_add_scalar(tc_mul(b, b), 1));
    return tc_sub(tc_add(q, tc_maximum(a, b)), tc_minimum(a, tc_mul_scalar(b, 2)));
}
static tc_tensor *activations(tc_fixture *fx, tc_tensor **ins)
{
    tc_tensor *x = IN(0);
    tc_tensor *parts[8] = {tc_elu(x, 1.3), tc_softplus(x), tc_leaky_relu(x, 0.2), tc_tanh(x), tc_sigmoid(x),
                           tc_hard_sigmoid(x, 1.0 / 6, 0.5), tc_exp(tc_mul_scalar(x, 1.0 / 3)), tc_relu(x)};
    for (int i = 0; i < 8; i++) parts[i] = tc_reshape(parts[i], TC_SHAPE(1, 3, 7));
    return tc_concat(8, parts, 0);
}
static tc_tensor *softmax1(tc_fixture *fx, tc_tensor **ins) { return tc_softmax(IN(0), 1); }
static tc_tensor *logsoftmax(tc_fixture *fx, tc_tensor **ins) { return tc_log_softmax(IN(0), -1); }
static tc_tensor *reductions(tc_fixture *fx, tc_tensor **ins)
{
    tc_tensor *x = IN(0);
    tc_tensor *parts[3] = {tc_sum(x, 2, (int[]){0, 2}, false), tc_reshape(tc_mean(x, 1, (int[]){1}, false), TC_SHAPE(-1)),
                           tc_reshape(tc_max(x, 1, (int[]){-1}, false), TC_SHAPE(-1))};
    return tc_concat(3, parts, 0);
}
static tc_tensor *matmul(tc_fixture *fx, tc_tensor **ins) { return tc_matmul(IN(0), IN(1)); }
static tc_tensor *ce_mean(tc_fixture *fx, tc_tensor **ins)
{
    return tc_sparse_softmax_cross_entropy(IN(0), tc_fixture_get(fx, "labels"), NULL, TC_REDUCE_MEAN);
}
static tc_tensor *ce_wmean(tc_fixture *fx, tc_tensor **ins)
{
    return tc_sparse_softmax_cross_entropy(IN(0), tc_fixture_get(fx, "labels"), tc_fixture_get(fx, "weights"),
                                           TC_REDUCE_WEIGHTED_MEAN);
}
static tc_tensor *ce_soft(tc_fixture *fx, tc_tensor **ins) { return tc_softmax_cross_entropy(IN(0), IN(1), NULL, TC_REDUCE_SUM); }
static tc_tensor *bce(tc_fixture *fx, tc_tensor **ins) { return tc_sigmoid_cross_entropy(IN(0), IN(1), NULL, TC_REDUCE_MEAN); }
static tc_tensor *mse(tc_fixture *fx, tc_tensor **ins) { return tc_mse(IN(0), IN(1), TC_REDUCE_MEAN); }

static const torch_case cases[] = {
    {"conv2d_same_s2", {"x", "w", "b"}, conv_s2, 1e-4, 1e-4},
    {"conv2d_same_even_dilated", {"x", "w", "b"}, conv_even_dil, 1e-4, 1e-4},
    {"conv2d_depthwise_m2", {"x", "w", "b"}, conv_dw, 1e-4, 1e-4},
    {"conv2d_valid_mnist", {"x", "w", "b"}, conv_valid, 1e-4, 1e-3},
    {"conv1d_causal_d2", {"x", "w", "b"}, conv_causal, 1e-4, 1e-4},
    {"conv3d_same", {"x", "w", "b"}, conv3d, 1e-4, 1e-4},
    {"maxpool2d_same_k3s2", {"x"}, maxpool_same, 1e-6, 1e-6},
    {"avgpool2d_ceil_pad_exclude", {"x"}, avgpool_ex, 1e-5, 1e-6},
    {"avgpool2d_ceil_pad_include", {"x"}, avgpool_in, 1e-5, 1e-6},
    {"maxpool3d_s2", {"x"}, maxpool3d, 1e-6, 1e-6},
    {"batchnorm_train", {"x", "g", "b"}, bn_train, 1e-4, 1e-5},
    {"lrn_size5", {"x"}, lrn5, 1e-5, 1e-6},
    {"bilinear_up", {"x"}, bil_up, 1e-5, 1e-6},
    {"bilinear_down", {"x"}, bil_down, 1e-5, 1e-6},
    {"broadcast_ops", {"a", "b"}, broadcast, 1e-5, 1e-5},
    {"activations", {"x"}, activations, 1e-5, 1e-6},
    {"softmax_axis1", {"x"}, softmax1, 1e-5, 1e-6},
    {"log_softmax_last", {"x"}, logsoftmax, 1e-5, 1e-5},
    {"reductions", {"x"}, reductions, 1e-5, 1e-5},
    {"matmul_batched", {"a", "b"}, matmul, 1e-5, 1e-5},
    {"ce_sparse_mean", {"z"}, ce_mean, 1e-5, 1e-6},
    {"ce_sparse_weighted_mean", {"z"}, ce_wmean, 1e-5, 1e-6},
    {"ce_soft_sum", {"z", "y"}, ce_soft, 1e-5, 1e-5},
    {"bce_logits_mean", {"z", "t"}, bce, 1e-5, 1e-6},
    {"mse_mean", {"p", "t"}, mse, 1e-5, 1e-6},
};

static void against_pytorch(void **state)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/torch/%s.tcfx", TC_FIXTURES, cases[c].name);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *ins[4] = {0};
        int n = 0;
        for (; n < 4 && cases[c].inputs[n]; n++) {
            char key[64];
            snprintf(key, sizeof key, "in:%s", cases[c].inputs[n]);
            ins[n] = tc_fixture_get(fx, key);
            tc_set_requires_grad(ins[n], true);
        }
        tc_tensor *y = cases[c].build(fx, ins);
        if (!y) fail_msg("%s: %s", cases[c].name, tc_last_error());
        print_message("%-28s out %s\n", cases[c].name, "checked");
        tc_assert_close_(y, tc_fixture_get(fx, "out"), cases[c].rtol, cases[c].atol, cases[c].name, __FILE__, __LINE__);
        if (tc_backward_with(y, tc_fixture_get(fx, "gout")) != TC_OK) fail_msg("%s: %s", cases[c].name, tc_last_error());
        for (int i = 0; i < n; i++) {
            char key[64];
            snprintf(key, sizeof key, "grad:%s", cases[c].inputs[i]);
            if (!tc_fixture_has(fx, key)) continue;
            char what[128];
            snprintf(what, sizeof what, "%s d/d%s", cases[c].name, cases[c].inputs[i]);
            tc_assert_close_(ins[i]->grad, tc_fixture_get(fx, key), cases[c].rtol * 10, cases[c].atol * 10, what,
                             __FILE__, __LINE__);
        }
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(against_pytorch)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
