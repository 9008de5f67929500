/* Layers one by one: Keras weight shapes and parameter counts (computed by
 * hand in the comments), output shapes, initialisers, name generation,
 * forward passes against direct op calls, gradient flow, and errors. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tc_model *one_layer(int ndim, const int64_t *in, tc_layer *l)
{
    tc_model *m = tc_sequential_with_input("one", ndim, in, (tc_layer *[]){l, NULL});
    tc_assert_ok(m);
    return m;
}

static void assert_out_shape(const tc_model *m, int ndim, const int64_t *expected)
{
    int64_t s[8];
    assert_int_equal(tc_model_output_shape(m, 0, s), ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(s[i], expected[i]);
}

static void assert_weight_shape(const tc_model *m, const char *name, int ndim, const int64_t *expected)
{
    tc_tensor *w = tc_model_param_by_name(m, name);
    if (!w) fail_msg("no parameter %s", name);
    assert_int_equal(w->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(w->shape[i], expected[i]);
}

static void layer_shapes_and_counts(void **state)
{
    /* Conv3D 3x3x3, 2 -> 4 channels, VALID on 6x6x6: out 4x4x4x4;
     * 3*3*3*2*4 + 4 = 220 */
    tc_model *m = one_layer(TC_SHAPE(6, 6, 6, 2), tc_conv3d(&(tc_conv_opts){.filters = 4, .kernel = 3}));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 220);
    assert_out_shape(m, TC_SHAPE(4, 4, 4, 4));
    assert_weight_shape(m, "conv3d/kernel", TC_SHAPE(3, 3, 3, 2, 4));
    tc_model_free(m);
    /* Conv2D 3x3 stride 2 SAME on 7x7x3 -> ceil(7/2) = 4; no bias: 3*3*3*5 = 135 */
    m = one_layer(TC_SHAPE(7, 7, 3), tc_conv2d(&(tc_conv_opts){.filters = 5, .kernel = 3, .stride = 2, .padding = TC_SAME,
                                                              .no_bias = true}));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 135);
    assert_out_shape(m, TC_SHAPE(4, 4, 5));
    assert_int_equal(tc_model_param_count(m), 1);
    tc_model_free(m);
    /* Conv2D 3x2 kernel, dilation 2, VALID on 9x9x1: 9-(2*2+1)+1 = 5, 9-(1*2+1)+1 = 7;
     * 3*2*1*6 + 6 = 42 */
    m = one_layer(TC_SHAPE(9, 9, 1), tc_conv2d(&(tc_conv_opts){.filters = 6, .kernel_dims = {3, 2}, .dilation = 2}));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 42);
    assert_out_shape(m, TC_SHAPE(5, 7, 6));
    assert_weight_shape(m, "conv2d/kernel", TC_SHAPE(3, 2, 1, 6));
    tc_model_free(m);
    /* Conv1D kernel 4, CAUSAL keeps the length: 4*3*2 + 2 = 26 */
    m = one_layer(TC_SHAPE(11, 3), tc_conv1d(&(tc_conv_opts){.filters = 2, .kernel = 4, .padding = TC_CAUSAL}));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 26);
    assert_out_shape(m, TC_SHAPE(11, 2));
    tc_model_free(m);
    /* SeparableConv2D 3x3, multiplier 2, 4 -> 7 channels on 5x5x4 VALID -> 3x3x7:
     * depthwise 3*3*4*2 = 72, pointwise 1*1*8*7 = 56, bias 7: 135 */
    m = one_layer(TC_SHAPE(5, 5, 4), tc_separable_conv2d(&(tc_conv_opts){.filters = 7, .kernel = 3, .depth_multiplier = 2}));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 135);
    assert_out_shape(m, TC_SHAPE(3, 3, 7));
    assert_weight_shape(m, "separable_conv2d/depthwise_kernel", TC_SHAPE(3, 3, 4, 2));
    assert_weight_shape(m, "separable_conv2d/pointwise_kernel", TC_SHAPE(1, 1, 8, 7));
    tc_layer *sep = tc_model_layer(m, "separable_conv2d");
    assert_int_equal(tc_layer_weight_count(sep), 3);
    assert_string_equal(tc_layer_weight_name(sep, 2), "bias");
    assert_int_equal(tc_layer_param_count(sep), 135);
    assert_ptr_equal(tc_layer_weight(sep, 1), tc_model_param_by_name(m, "separable_conv2d/pointwise_kernel"));
    tc_model_free(m);
    /* MaxPooling1D pool 3 stride 2: VALID (10-3)/2+1 = 4, SAME ceil(10/2) = 5 */
    m = one_layer(TC_SHAPE(10, 4), tc_maxpool1d(&(tc_pool_opts){.pool = 3, .stride = 2}));
    assert_out_shape(m, TC_SHAPE(4, 4));
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 0);
    tc_model_free(m);
    m = one_layer(TC_SHAPE(10, 4), tc_avgpool1d(&(tc_pool_opts){.pool = 3, .stride = 2, .padding = TC_SAME}));
    assert_out_shape(m, TC_SHAPE(5, 4));
    tc_model_free(m);
    /* pools default to a window of 2 */
    m = one_layer(TC_SHAPE(4, 5, 6, 3), tc_avgpool3d(NULL));
    assert_out_shape(m, TC_SHAPE(2, 2, 3, 3));
    tc_model_free(m);
    m = one_layer(TC_SHAPE(4, 5, 6, 3), tc_maxpool3d(&(tc_pool_opts){.pool_dims = {1, 2, 3}}));
    assert_out_shape(m, TC_SHAPE(4, 2, 2, 3));
    tc_model_free(m);
    /* the global pools take Keras' class for the rank */
    m = one_layer(TC_SHAPE(5, 5, 3), tc_global_avgpool(NULL));
    assert_out_shape(m, TC_SHAPE(3));
    assert_string_equal(tc_layer_type(tc_model_layer_at(m, 0)), "GlobalAveragePooling2D");
    assert_string_equal(tc_layer_name(tc_model_layer_at(m, 0)), "global_average_pooling2d");
    tc_model_free(m);
    m = one_layer(TC_SHAPE(5, 3), tc_global_maxpool(NULL));
    assert_string_equal(tc_layer_type(tc_model_layer_at(m, 0)), "GlobalMaxPooling1D");
    tc_model_free(m);
    /* Embedding 100 x 16 on sequences of 7: 1,600 */
    tc_layer *e = tc_embedding(&(tc_embedding_opts){.input_dim = 100, .output_dim = 16, .input_length = 7});
    m = tc_sequential("emb", (tc_layer *[]){e, NULL});
    tc_assert_ok(m);
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 1600);
    assert_out_shape(m, TC_SHAPE(7, 16));
    assert_weight_shape(m, "embedding/embeddings", TC_SHAPE(100, 16));
    tc_model_free(m);
    /* Reshape with -1, Flatten */
    m = tc_sequential_with_input("rs", 2, (int64_t[]){3, 4}, (tc_layer *[]){
        tc_flatten_layer(NULL), tc_reshape_layer(3, (int64_t[]){2, -1, 2}, NULL), NULL});
    tc_assert_ok(m);
    assert_out_shape(m, TC_SHAPE(2, 3, 2));
    tc_model_free(m);
    /* BatchNormalization on 8 channels: gamma, beta trainable (16),
     * moving_mean, moving_variance not (16) */
    m = one_layer(TC_SHAPE(4, 4, 8), tc_batchnorm(NULL));
    int64_t t, n;
    assert_int_equal(tc_model_count_params(m, &t, &n), 32);
    assert_int_equal(t, 16);
    assert_int_equal(n, 16);
    assert_false(tc_model_param_trainable(m, 2));
    assert_string_equal(tc_model_param_name(m, 3), "batch_normalization/moving_variance");
    tc_model_free(m);
    tc_step_reset();
}

static void initialisers_are_keras_and_seeded(void **state)
{
    tc_layer *const spec[] = {NULL};
    (void)spec;
    tc_model *a = tc_sequential_with_input("a", 1, (int64_t[]){30}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 20}), tc_batchnorm(NULL),
        tc_embedding(&(tc_embedding_opts){.input_dim = 50, .output_dim = 8}), NULL});
    tc_assert_ok(a);
    /* glorot_uniform: limit sqrt(6 / (30 + 20)) */
    double limit = sqrt(6.0 / 50), maxabs = 0;
    tc_tensor *k = tc_model_param_by_name(a, "dense/kernel");
    for (int64_t i = 0; i < tc_numel(k); i++) maxabs = fmax(maxabs, fabs(k->data[i]));
    assert_true(maxabs <= limit && maxabs > 0.9 * limit);
    tc_tensor *b = tc_model_param_by_name(a, "dense/bias");
    for (int64_t i = 0; i < 20; i++) assert_true(b->data[i] == 0);
    assert_true(tc_model_param_by_name(a, "batch_normalization/gamma")->data[5] == 1);
    assert_true(tc_model_param_by_name(a, "batch_normalization/moving_variance")->data[5] == 1);
    assert_true(tc_model_param_by_name(a, "batch_normalization/moving_mean")->data[5] == 0);
    tc_tensor *emb = tc_model_param_by_name(a, "embedding/embeddings");
    maxabs = 0;
    for (int64_t i = 0; i < tc_numel(emb); i++) maxabs = fmax(maxabs, fabs(emb->data[i]));
    assert_true(maxabs <= 0.05 && maxabs > 0.04);
    /* the same seed gives the same model; another seed another one */
    tc_model *same = tc_sequential_with_input("a", 1, (int64_t[]){30}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 20}), tc_batchnorm(NULL),
        tc_embedding(&(tc_embedding_opts){.input_dim = 50, .output_dim = 8}), NULL});
    tc_nn_seed(5);
    tc_model *other = tc_sequential_with_input("a", 1, (int64_t[]){30}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 20}), tc_batchnorm(NULL),
        tc_embedding(&(tc_embedding_opts){.input_dim = 50, .output_dim = 8}), NULL});
    tc_nn_seed(42);
    for (int i = 0; i < tc_model_param_count(a); i++)
        assert_int_equal(memcmp(tc_model_param(a, i)->data, tc_model_param(same, i)->data,
                                sizeof(tc_scalar) * (size_t)tc_numel(tc_model_param(a, i))), 0);
    assert_true(memcmp(k->data, tc_model_param(other, 0)->data, sizeof(tc_scalar) * 600) != 0);
    tc_model_free(a), tc_model_free(same), tc_model_free(other);
}

static void names_are_generated_per_type(void **state)
{
    tc_model *m = tc_sequential_with_input("names", 3, (int64_t[]){8, 8, 1}, (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 2, .kernel = 3, .padding = TC_SAME}),
        tc_conv2d(&(tc_conv_opts){.filters = 2, .kernel = 3, .padding = TC_SAME, .name = "conv2d_1"}),
        tc_conv2d(&(tc_conv_opts){.filters = 2, .kernel = 3, .padding = TC_SAME}),
        tc_maxpool2d(NULL),
        tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 3, .name = "predictions"}),
        tc_dense(&(tc_dense_opts){.units = 3}),
        NULL});
    tc_assert_ok(m);
    const char *expected[] = {"conv2d", "conv2d_1", "conv2d_2", "max_pooling2d", "flatten", "predictions", "dense"};
    assert_int_equal(tc_model_layer_count(m), 7);
    for (int i = 0; i < 7; i++) assert_string_equal(tc_layer_name(tc_model_layer_at(m, i)), expected[i]);
    assert_string_equal(tc_layer_type(tc_model_layer(m, "max_pooling2d")), "MaxPooling2D");
    assert_string_equal(tc_model_param_name(m, 2), "conv2d_1/kernel");
    assert_non_null(tc_model_param_by_name(m, "predictions/bias"));
    assert_null(tc_model_param_by_name(m, "predictions/gamma"));
    assert_null(tc_model_layer(m, "conv2d_3"));
    tc_model_free(m);
    /* a given name used twice is an error naming it */
    tc_model *dup = tc_sequential_with_input("dup", 1, (int64_t[]){4}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 3, .name = "fc"}), tc_dense(&(tc_dense_opts){.units = 3, .name = "fc"}), NULL});
    tc_assert_error(dup, "'fc'", "unique");
}

static void set_values(tc_tensor *t, double scale, double shift)
{
    for (int64_t i = 0; i < tc_numel(t); i++) t->data[i] = (tc_scalar)(scale * sin(1.7 * (double)i + shift));
}

static void forward_matches_direct_ops(void **state)
{
    tc_rng r = tc_rng_new(3);
    /* Conv2D(relu, SAME) -> MaxPool -> Flatten -> Dense(tanh) -> Dense */
    tc_model *m = tc_sequential("direct", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 3, .kernel = 3, .padding = TC_SAME, .act = TC_RELU, .input_shape = {6, 6, 2}}),
        tc_maxpool2d(NULL), tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 5, .act = TC_TANH}),
        tc_dense(&(tc_dense_opts){.units = 2}), NULL});
    tc_assert_ok(m);
    for (int i = 0; i < tc_model_param_count(m); i++) set_values(tc_model_param(m, i), 0.3, i); /* biases too */
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(3, 6, 6, 2), -1, 1);
    tc_tensor *P[6];
    for (int i = 0; i < 6; i++) P[i] = tc_model_param(m, i);
    tc_tensor *c = tc_relu(tc_conv(x, P[0], P[1], &(tc_conv_params){.padding = TC_SAME}));
    tc_tensor *p = tc_max_pool(c, &(tc_pool_params){.kernel = {2, 2}});
    tc_tensor *h = tc_tanh(tc_linear(tc_flatten(p, 1), P[2], P[3]));
    tc_tensor *y = tc_linear(h, P[4], P[5]);
    tc_assert_close(tc_model_forward(m, x, false), y, 1e-6, 1e-6);
    /* the output of an inner layer by name */
    tc_assert_close(tc_model_forward_to(m, x, "dense", false), h, 1e-6, 1e-6);
    tc_assert_close(tc_model_forward_to(m, x, "max_pooling2d", false), p, 0, 0);
    tc_model_free(m);
    tc_step_reset();
}

/* DepthwiseConv2D against loops over Keras' layout: out[.., c*M + m] =
 * sum x[i+di, j+dj, c] * k[di, dj, c, m] + b[c*M + m]. */
static void depthwise_matches_keras_layout(void **state)
{
    const int H = 4, W = 3, C = 2, M = 3, K = 2;
    tc_model *m = one_layer(TC_SHAPE(H, W, C), tc_depthwise_conv2d(&(tc_conv_opts){.kernel = K, .depth_multiplier = M}));
    tc_tensor *k = tc_model_param(m, 0), *b = tc_model_param(m, 1);
    assert_int_equal(k->shape[2], C);
    assert_int_equal(k->shape[3], M);
    set_values(b, 0.5, 2);
    tc_rng r = tc_rng_new(4);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(2, H, W, C), -1, 1);
    tc_tensor *y = tc_model_forward(m, x, false);
    tc_assert_ok(y);
    int OH = H - K + 1, OW = W - K + 1;
    tc_tensor *e = tc_zeros(TC_SHAPE(2, OH, OW, C * M));
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                for (int c = 0; c < C; c++)
                    for (int mm = 0; mm < M; mm++) {
                        double s = b->data[c * M + mm];
                        for (int di = 0; di < K; di++)
                            for (int dj = 0; dj < K; dj++)
                                s += x->data[((n * H + i + di) * W + j + dj) * C + c] * k->data[((di * K + dj) * C + c) * M + mm];
                        e->data[((n * OH + i) * OW + j) * C * M + c * M + mm] = (tc_scalar)s;
                    }
    tc_assert_close(y, e, 1e-5, 1e-6);
    tc_model_free(m);
    tc_step_reset();
}

/* Two branches joined by Add and Concatenate, two outputs. */
static void functional_matches_direct_ops(void **state)
{
    tc_graph *g = tc_graph_new();
    tc_value in = tc_graph_input(g, 1, (int64_t[]){4}, "features");
    tc_layer *shared = tc_dense(&(tc_dense_opts){.units = 3, .name = "shared"});
    tc_value a = tc_graph_call(g, shared, 1, &in);
    tc_value b = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 3, .act = TC_SIGMOID}), 1, &in);
    tc_value s = tc_graph_call(g, tc_add_layer(NULL), 2, (tc_value[]){a, b});
    tc_value again = tc_graph_call(g, shared, 1, &in); /* shared weights: no new parameters */
    tc_value cat = tc_graph_call(g, tc_concatenate(-1, "joined"), 3, (tc_value[]){s, again, in});
    tc_model *m = tc_graph_model(g, "branches", 1, &in, 2, (tc_value[]){cat, s});
    tc_assert_ok(m);
    /* shared 4*3+3 = 15, dense 4*3+3 = 15 */
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 30);
    assert_int_equal(tc_model_layer_count(m), 4);
    int64_t shape[4];
    assert_int_equal(tc_model_output_shape(m, 0, shape), 1);
    assert_int_equal(shape[0], 3 + 3 + 4);
    for (int i = 0; i < tc_model_param_count(m); i++) set_values(tc_model_param(m, i), 0.4, 3 * i);
    tc_rng r = tc_rng_new(5);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(2, 4), -1, 1);
    tc_tensor *outs[2];
    assert_int_equal(tc_model_forward_multi(m, 1, &x, false, 2, outs), TC_OK);
    tc_tensor *ya = tc_linear(x, tc_model_param_by_name(m, "shared/kernel"), tc_model_param_by_name(m, "shared/bias"));
    tc_tensor *yb = tc_sigmoid(tc_linear(x, tc_model_param_by_name(m, "dense/kernel"), tc_model_param_by_name(m, "dense/bias")));
    tc_tensor *ys = tc_add(ya, yb);
    tc_assert_close(outs[1], ys, 1e-6, 1e-7);
    tc_assert_close(outs[0], tc_concat(3, (tc_tensor *[]){ys, ya, x}, 1), 1e-6, 1e-7);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(tc_model_summary(m, f), TC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "Connected to"));
    assert_non_null(strstr(buf, "features (InputLayer)"));
    assert_non_null(strstr(buf, "joined (Concatenate)"));
    /* Keras 2's "Connected to": one input per line, [call of a shared layer][0] */
    assert_non_null(strstr(buf, " ['add[0][0]',\n"));
    assert_non_null(strstr(buf, "  'shared[1][0]',\n"));
    assert_non_null(strstr(buf, "  'features[0][0]']\n"));
    assert_non_null(strstr(buf, "Total params: 30"));
    free(buf);
    /* a model with two outputs needs tc_model_forward_multi */
    tc_assert_error(tc_model_forward(m, x, false), "'branches'", "2 outputs", "tc_model_forward_multi");
    tc_model_free(m);
    tc_step_reset();
}

static void gradients_flow_and_loss_falls(void **state)
{
    /* y = class of the larger of two features */
    tc_model *m = tc_sequential("toy", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 16, .act = TC_RELU, .input_dim = 2}),
        tc_batchnorm(NULL),
        tc_dense(&(tc_dense_opts){.units = 2}), NULL});
    tc_assert_ok(m);
    tc_optimizer *opt = tc_sgd(0.1, 0.9, false);
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    assert_int_equal(np, 6); /* 2 kernels, 2 biases, gamma, beta */
    double first = 0, last = 0;
    for (int step = 0; step < 40; step++) {
        tc_rng r = tc_rng_new((uint64_t)step % 4);
        tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(32, 2), -1, 1);
        tc_tensor *y = tc_zeros(TC_SHAPE(32));
        for (int i = 0; i < 32; i++) y->data[i] = x->data[2 * i] > x->data[2 * i + 1];
        tc_zero_grads(np, params);
        tc_tensor *loss = tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), y, NULL, TC_REDUCE_MEAN);
        tc_assert_ok(loss);
        assert_int_equal(tc_backward(loss), TC_OK);
        for (int i = 0; i < np; i++) {
            assert_non_null(params[i]->grad);
            double norm = 0;
            for (int64_t j = 0; j < tc_numel(params[i]); j++) norm += fabs(params[i]->grad->data[j]);
            assert_true(norm > 0); /* every trainable parameter gets a gradient */
        }
        assert_int_equal(tc_optimizer_step(opt, np, params), TC_OK);
        if (step < 4) first += loss->data[0];
        if (step >= 36) last += loss->data[0];
        tc_step_reset();
    }
    assert_true(last < 0.5 * first);
    tc_optimizer_free(opt);
    tc_model_free(m);
}

static void freezing_moves_counts(void **state)
{
    tc_model *m = tc_sequential_with_input("freeze", 3, (int64_t[]){6, 6, 3}, (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 3, .name = "base"}),
        tc_global_avgpool(NULL), tc_dense(&(tc_dense_opts){.units = 2, .name = "head"}), NULL});
    tc_assert_ok(m);
    /* base 3*3*3*4+4 = 112, head 4*2+2 = 10 */
    int64_t t, n;
    assert_int_equal(tc_model_count_params(m, &t, &n), 122);
    tc_layer_set_trainable(tc_model_layer(m, "base"), false);
    tc_model_refresh_trainable(m);
    assert_int_equal(tc_model_count_params(m, &t, &n), 122);
    assert_int_equal(t, 10);
    assert_int_equal(n, 112);
    assert_false(tc_model_param_trainable(m, 0));
    assert_false(tc_layer_trainable(tc_model_layer(m, "base")));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tc_model_summary(m, f);
    fclose(f);
    assert_non_null(strstr(buf, "Trainable params: 10\n"));
    assert_non_null(strstr(buf, "Non-trainable params: 112\n"));
    free(buf);
    tc_rng r = tc_rng_new(6);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(2, 6, 6, 3), -1, 1);
    tc_tensor *loss = tc_mse(tc_model_forward(m, x, true), tc_zeros(TC_SHAPE(2, 2)), TC_REDUCE_MEAN);
    assert_int_equal(tc_backward(loss), TC_OK);
    assert_null(tc_model_param_by_name(m, "base/kernel")->grad);
    assert_non_null(tc_model_param_by_name(m, "head/kernel")->grad);
    tc_step_reset();
    tc_layer_set_trainable(tc_model_layer(m, "base"), true);
    tc_model_refresh_trainable(m);
    tc_tensor **ps;
    assert_int_equal(tc_model_trainable_params(m, &ps), 4);
    tc_model_free(m);
}

static void errors_name_layer_and_shapes(void **state)
{
    /* constructors */
    tc_assert_error(tc_dense(&(tc_dense_opts){.units = 0}), "Dense", "units");
    tc_assert_error(tc_conv2d(&(tc_conv_opts){.filters = 3}), "Conv2D", "kernel");
    tc_assert_error(tc_conv2d(&(tc_conv_opts){.filters = 3, .kernel = 3, .padding = TC_CAUSAL}), "Conv2D", "causal");
    tc_assert_error(tc_dropout_layer(1.0, NULL), "Dropout", "rate 1");
    tc_assert_error(tc_reshape_layer(2, (int64_t[]){-1, -1}, NULL), "Reshape", "-1");
    tc_assert_error(tc_batchnorm(&(tc_batchnorm_opts){.momentum = 1.5}), "BatchNormalization", "momentum");
    tc_assert_error(tc_dense(&(tc_dense_opts){.units = 2, .name = "a/b"}), "Dense", "'a/b'");
    tc_assert_error(tc_activation_layer((tc_activation)99, NULL), "Activation", "99");
    tc_assert_error(tc_maxpool2d(&(tc_pool_opts){.pool = -2}), "MaxPooling2D");
    /* a failed constructor inside a list is reported instead of a shorter
     * model; the layers after its NULL are freed, a layer made before is not */
    tc_layer *keep = tc_dense(&(tc_dense_opts){.units = 2, .input_dim = 3, .name = "kept"});
    tc_model *m = tc_sequential("cut0", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 0}),
        tc_dense(&(tc_dense_opts){.units = 2}), NULL});
    tc_assert_error(m, "sequential 'cut0'", "constructor failed", "units must be at least 1 (given 0)");
    m = tc_sequential("kept", (tc_layer *[]){keep, NULL});
    tc_assert_ok(m);
    assert_non_null(tc_model_param_by_name(m, "kept/kernel"));
    tc_model_free(m);
    m = tc_sequential("cut", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 4, .input_dim = 3}),
        tc_dense(&(tc_dense_opts){.units = -1}),
        tc_dense(&(tc_dense_opts){.units = 2}), NULL});
    tc_assert_error(m, "sequential 'cut'", "constructor failed", "units must be at least 1 (given -1)");
    /* build-time shape errors name the layer and the shapes */
    m = tc_sequential_with_input("bad", 2, (int64_t[]){3, 4}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 2}), tc_conv2d(&(tc_conv_opts){.filters = 1, .kernel = 2}), NULL});
    tc_assert_error(m, "conv2d (Conv2D)", "(None, 3, 2)");
    m = tc_sequential_with_input("bad", 1, (int64_t[]){12}, (tc_layer *[]){tc_reshape_layer(2, (int64_t[]){5, -1}, NULL), NULL});
    tc_assert_error(m, "reshape (Reshape)", "(None, 12)", "(None, 5, -1)");
    m = tc_sequential("noinput", (tc_layer *[]){tc_flatten_layer(NULL), NULL});
    tc_assert_error(m, "noinput", "input shape");
    tc_graph *g = tc_graph_new();
    tc_value a = tc_graph_input(g, 1, (int64_t[]){4}, "a");
    tc_value b = tc_graph_input(g, 1, (int64_t[]){5}, "b");
    tc_graph_call(g, tc_add_layer("sum"), 2, (tc_value[]){a, b});
    tc_assert_error(tc_graph_model(g, "adds", 1, &a, 1, &a), "sum (Add)", "(None, 5)", "(None, 4)");
    g = tc_graph_new();
    a = tc_graph_input(g, 2, (int64_t[]){4, 3}, "a");
    b = tc_graph_input(g, 2, (int64_t[]){5, 2}, "b");
    tc_graph_call(g, tc_concatenate(-1, NULL), 2, (tc_value[]){a, b});
    tc_assert_error(tc_graph_model(g, "cat", 1, &a, 1, &a), "concatenate (Concatenate)", "(None, 5, 2)", "(None, 4, 3)");
    /* a shared layer must get the inputs it was built for */
    g = tc_graph_new();
    a = tc_graph_input(g, 1, (int64_t[]){4}, "a");
    b = tc_graph_input(g, 1, (int64_t[]){6}, "b");
    tc_layer *d = tc_dense(&(tc_dense_opts){.units = 2});
    tc_graph_call(g, d, 1, &a);
    tc_graph_call(g, d, 1, &b);
    tc_assert_error(tc_graph_model(g, "shared", 1, &a, 1, &a), "dense (Dense)", "(None, 6)", "(None, 4)");
    /* a layer cannot be in two models */
    tc_layer *owned = tc_dense(&(tc_dense_opts){.units = 2, .input_dim = 3});
    tc_model *first = tc_sequential("first", (tc_layer *[]){owned, NULL});
    tc_assert_ok(first);
    tc_assert_error(tc_sequential_with_input("second", 1, (int64_t[]){3}, (tc_layer *[]){owned, NULL}), "another model");
    tc_layer_free(owned); /* refused: the model frees it */
    tc_assert_error(NULL, "layer_free", "belongs to a model");
    /* a graph given up before it became a model */
    g = tc_graph_new();
    a = tc_graph_input(g, 1, (int64_t[]){3}, "a");
    assert_true(tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 2}), 1, &a) > a);
    tc_graph_free(g);
    /* running: wrong input shape, unknown layer */
    tc_assert_error(tc_model_forward(first, tc_zeros(TC_SHAPE(2, 4)), false), "first", "[2, 4]", "(None, 3)");
    tc_assert_error(tc_model_forward_to(first, tc_zeros(TC_SHAPE(2, 3)), "dense_7", false), "dense_7");
    tc_tensor *outs[2];
    assert_int_equal(tc_model_forward_multi(first, 1, (tc_tensor *[]){tc_zeros(TC_SHAPE(2, 3))}, false, 2, outs), TC_ERR_ARG);
    tc_assert_error(NULL, "has 1 outputs");
    tc_assert_error(tc_model_forward(NULL, NULL, false), "NULL");
    assert_int_equal(tc_model_summary(NULL, stdout), TC_ERR_ARG);
    tc_model_free(first);
    /* an old failure does not break the next model */
    tc_assert_error(tc_dense(&(tc_dense_opts){.units = 0}), "Dense");
    m = tc_sequential("fine", (tc_layer *[]){tc_dense(&(tc_dense_opts){.units = 2, .input_dim = 3}), NULL});
    tc_assert_ok(m);
    tc_model_free(m);
    tc_step_reset();
}

/* ZeroPadding3D: zeros around D, H, W of [D, H, W, C]; the values inside
 * unchanged (its backward is tc_pad's, checked in the op tests). */
static void zero_padding3d_pads_around_three_axes(void **state)
{
    (void)state;
    tc_model *m = tc_sequential_with_input("zp3", 4, (int64_t[]){2, 2, 3, 1}, (tc_layer *[]){
        tc_zero_padding3d((const int[6]){0, 1, 1, 1, 2, 0}, "zp"), NULL});
    tc_assert_ok(m);
    int64_t shape[8];
    assert_int_equal(tc_model_output_shape(m, 0, shape), 4);
    assert_int_equal(shape[0], 3);
    assert_int_equal(shape[1], 4);
    assert_int_equal(shape[2], 5);
    tc_scalar v[12];
    for (int i = 0; i < 12; i++) v[i] = (tc_scalar)(i + 1);
    tc_tensor *x = tc_tensor_from(5, (int64_t[]){1, 2, 2, 3, 1}, v);
    x->flags |= TC_REQUIRES_GRAD;
    tc_tensor *y = tc_model_forward(m, x, false);
    tc_assert_ok(y);
    double total = 0;
    for (int64_t i = 0; i < tc_numel(y); i++) total += (double)y->data[i];
    assert_true(fabs(total - 78.0) < 1e-9); /* 1 + ... + 12, zeros elsewhere */
    /* value (d, h, w) = (1, 1, 2) of x sits at (1, 2, 4) of y */
    assert_true(fabs((double)y->data[((1 * 4 + 2) * 5 + 4)] - 12.0) < 1e-9);
    assert_true(fabs((double)y->data[0]) < 1e-12);
    assert_null(tc_zero_padding3d((const int[6]){0, -1, 0, 0, 0, 0}, NULL));
    tc_step_reset();
    tc_tensor_free(x);
    tc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layer_shapes_and_counts),
        cmocka_unit_test(zero_padding3d_pads_around_three_axes),
        cmocka_unit_test(initialisers_are_keras_and_seeded),
        cmocka_unit_test(names_are_generated_per_type),
        cmocka_unit_test(forward_matches_direct_ops),
        cmocka_unit_test(depthwise_matches_keras_layout),
        cmocka_unit_test(functional_matches_direct_ops),
        cmocka_unit_test(gradients_flow_and_loss_falls),
        cmocka_unit_test(freezing_moves_counts),
        cmocka_unit_test(errors_name_layer_and_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
