/* Layers and models: shapes, Keras parameter counts, summaries, names,
 * freezing, inner outputs, functional graphs and shape errors. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* The cookbook's MNIST CNN (RECIPES.md). Keras counts:
 * conv 5*5*1*32+32 = 832; conv 5*5*32*64+64 = 51,264; dense 3136*1024+1024 =
 * 3,212,288; dense 1024*10+10 = 10,250; total 3,274,634. */
static tc_model *mnist_cnn(void)
{
    return tc_sequential("mnist_cnn", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 32, .kernel = 5, .padding = TC_SAME, .act = TC_RELU, .input_shape = {28, 28, 1}}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_conv2d(&(tc_conv_opts){.filters = 64, .kernel = 5, .padding = TC_SAME, .act = TC_RELU}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 1024, .act = TC_RELU}),
        tc_dropout_layer(0.15, NULL),
        tc_dense(&(tc_dense_opts){.units = 10}),
        NULL});
}

static void mnist_summary_matches_keras(void **state)
{
    tc_model *m = mnist_cnn();
    tc_assert_ok(m);
    int64_t t, n;
    assert_int_equal(tc_model_count_params(m, &t, &n), 3274634);
    assert_int_equal(n, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tc_model_summary(m, f);
    fclose(f);
    /* Keras' columns: 29, 26 and 10 characters */
    assert_non_null(strstr(buf, "\n Layer (type)                Output Shape              Param #\n"));
    assert_non_null(strstr(buf, "\n conv2d_1 (Conv2D)           (None, 14, 14, 64)        51,264\n"));
    assert_non_null(strstr(buf, "\n max_pooling2d_1 (MaxPooling (None, 7, 7, 64)          0\n 2D)\n")); /* wrapped */
    assert_non_null(strstr(buf, "(None, 7, 7, 64)"));
    assert_non_null(strstr(buf, "Total params: 3,274,634"));
    assert_non_null(strstr(buf, "dense_1 (Dense)"));
    free(buf);
    assert_non_null(tc_model_param_by_name(m, "dense_1/bias"));
    tc_tensor *x = tc_zeros(TC_SHAPE(3, 28, 28, 1));
    tc_tensor *y = tc_model_forward(m, x, false);
    tc_assert_ok(y);
    assert_int_equal(y->shape[1], 10);
    tc_tensor *feat = tc_model_forward_to(m, x, "max_pooling2d_1", false);
    tc_assert_ok(feat);
    assert_int_equal(feat->shape[1], 7);
    tc_assert_error(tc_model_forward(m, tc_zeros(TC_SHAPE(3, 28, 27, 1)), false), "mnist_cnn", "[3, 28, 27, 1]", "(None, 28, 28, 1)");
    tc_assert_error(tc_model_forward_to(m, x, "nope", false), "no layer named 'nope'");
    tc_model_free(m);
    tc_step_reset();
}

static void batchnorm_and_freezing(void **state)
{
    tc_model *m = tc_sequential_with_input("bn", 1, (int64_t[]){6}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 4, .name = "hidden"}), tc_batchnorm(NULL),
        tc_dense(&(tc_dense_opts){.units = 2, .act = TC_SOFTMAX}), NULL});
    tc_assert_ok(m);
    int64_t t, n;
    /* 6*4+4 = 28; BN 4 gamma + 4 beta trainable, 8 moving stats not; 4*2+2 = 10 */
    assert_int_equal(tc_model_count_params(m, &t, &n), 54);
    assert_int_equal(t, 46);
    assert_int_equal(n, 8);
    tc_layer_set_trainable(tc_model_layer(m, "hidden"), false);
    tc_model_refresh_trainable(m);
    tc_tensor **ps;
    assert_int_equal(tc_model_trainable_params(m, &ps), 4);
    assert_false(tc_requires_grad(tc_model_param_by_name(m, "hidden/kernel")));
    tc_rng r = tc_rng_new(1);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(5, 6), -1, 1);
    tc_tensor *loss = tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), tc_zeros(TC_SHAPE(5)), NULL, TC_REDUCE_MEAN);
    assert_int_equal(tc_backward(loss), TC_OK);
    assert_null(tc_model_param_by_name(m, "hidden/kernel")->grad); /* frozen: no gradient */
    assert_non_null(tc_model_param_by_name(m, "dense/kernel")->grad);
    assert_true(tc_model_param_by_name(m, "batch_normalization/moving_mean")->data[0] != 0); /* updated */
    tc_model_free(m);
    tc_step_reset();
}

static void functional_graph(void **state)
{
    tc_graph *g = tc_graph_new();
    tc_value img = tc_graph_input(g, 1, (int64_t[]){8}, "image");
    tc_value txt = tc_graph_input(g, 1, (int64_t[]){5}, "question");
    tc_value a = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 3, .act = TC_TANH}), 1, &img);
    tc_value e = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = 20, .output_dim = 4}), 1, &txt);
    tc_value f = tc_graph_call(g, tc_flatten_layer(NULL), 1, &e);
    tc_value c = tc_graph_call(g, tc_concatenate(-1, NULL), 2, (tc_value[]){a, f});
    tc_value out = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 2}), 1, &c);
    tc_model *m = tc_graph_model(g, "two_inputs", 2, (tc_value[]){img, txt}, 2, (tc_value[]){out, a});
    tc_assert_ok(m);
    /* 8*3+3 = 27; 20*4 = 80; (3+20)*2+2 = 48 */
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 155);
    tc_tensor *ids = tc_full(TC_SHAPE(2, 5), 7), *outs[2];
    assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){tc_zeros(TC_SHAPE(2, 8)), ids}, false, 2, outs), TC_OK);
    assert_int_equal(outs[0]->shape[1], 2);
    assert_int_equal(outs[1]->shape[1], 3);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    tc_model_summary(m, fp);
    fclose(fp);
    assert_non_null(strstr(buf, "question (InputLayer)"));
    assert_non_null(strstr(buf, "['dense[0][0]',\n"));
    free(buf);
    tc_model_free(m);
    /* a shape error names the layer */
    tc_model *bad = tc_sequential_with_input("bad", 3, (int64_t[]){4, 4, 3}, (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 2, .kernel = 5}), NULL});
    tc_assert_error(bad, "conv2d (Conv2D)", "(None, 4, 4, 3)");
    tc_step_reset();
}

static void conv_family_counts(void **state)
{
    /* DepthwiseConv2D 3x3 on 8 channels, multiplier 2: 3*3*8*2 + 16 = 160;
     * SeparableConv2D 3x3 -> 4: 3*3*16 + 16*4 + 4 = 212; Conv1D k3 16->5: 3*16*5+5 = 245 */
    tc_model *m = tc_sequential_with_input("convs", 3, (int64_t[]){9, 9, 8}, (tc_layer *[]){
        tc_depthwise_conv2d(&(tc_conv_opts){.kernel = 3, .depth_multiplier = 2, .padding = TC_SAME}),
        tc_separable_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 3}),
        tc_avgpool2d(&(tc_pool_opts){.pool = 2, .padding = TC_SAME}),
        tc_global_maxpool(NULL), NULL});
    tc_assert_ok(m);
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 160 + 212);
    tc_tensor *y = tc_model_forward(m, tc_zeros(TC_SHAPE(2, 9, 9, 8)), false);
    tc_assert_ok(y);
    assert_int_equal(y->shape[1], 4);
    tc_model_free(m);
    tc_model *w = tc_sequential_with_input("wave", 2, (int64_t[]){10, 16}, (tc_layer *[]){
        tc_conv1d(&(tc_conv_opts){.filters = 5, .kernel = 3, .dilation = 2, .padding = TC_CAUSAL}), NULL});
    tc_assert_ok(w);
    assert_int_equal(tc_model_count_params(w, NULL, NULL), 245);
    int64_t s[4];
    assert_int_equal(tc_model_output_shape(w, 0, s), 2);
    assert_int_equal(s[0], 10);
    tc_model_free(w);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mnist_summary_matches_keras),
        cmocka_unit_test(batchnorm_and_freezing),
        cmocka_unit_test(functional_graph),
        cmocka_unit_test(conv_family_counts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
