/* ONNX export (tc_onnx_export): every layer type of nn/ and every recipe
 * model is exported at opsets 13 and 17, re-imported with our importer and
 * (and the model zoo's architectures, narrow) run on the same inputs (outputs within 1e-5 relative of the model's own),
 * and every file written is checked with the onnx package's checker
 * (check_model full_check=True and strict shape inference, Debian's
 * python3-onnx: tests/fixtures/check_onnx_export.py), which also runs
 * each file with an evaluator written from the ONNX operator specification
 * (tests/fixtures/onnx_eval.py: NumPy, PyTorch's functional convolutions,
 * the spec's LSTM/GRU/RNN equations) on the same inputs and compares with
 * the model's outputs, independently of our importer. Weights are
 * randomised first (biases and batch-norm statistics are not left at
 * their zero/one defaults), so that a gate or bias put in the wrong place
 * changes the outputs. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensorcook/models.h"
#include "tensorcook/onnx.h"
#include "tensorcook/rnn.h"
#include "tensorcook/tensorcook.h"
#include "tensorcook/autograd.h"

static char dir[64];
static char files[96][160];
static int n_files;

/* vectors (biases, scales, batch-norm statistics) uniform in [-0.5, 0.5),
 * variances in [0.5, 1.5); kernels uniform with variance 1/fan_in, so
 * that deep models keep values near 1 and float rounding stays small */
static void randomise(tc_model *m, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    for (int i = 0; i < tc_model_param_count(m); i++) {
        tc_tensor *p = tc_model_param(m, i);
        bool var = strstr(tc_model_param_name(m, i), "moving_variance") != NULL;
        int64_t n = tc_numel(p), fan_in = p->ndim >= 2 ? n / p->shape[p->ndim - 1] : 0;
        float lim = fan_in ? (float)sqrt(3.0 / (double)fan_in) : 0.5f;
        tc_rng_uniform(&r, p->data, n, var ? 0.5f : -lim, var ? 1.5f : lim);
    }
}

static int opsets[5] = {13, 17}, n_opsets = 2; /* the opsets roundtrip exports at */

/* Exports m at each opset, re-imports, and compares all outputs. */
static void roundtrip(tc_model *m, const char *name, int n_in, tc_tensor **inputs)
{
    tc_tensor *want[8];
    int n_out = 0;
    while (tc_model_output_shape(m, n_out, NULL) >= 0) n_out++;
    assert_int_equal(tc_model_forward_multi(m, n_in, inputs, false, n_out, want), TC_OK);
    for (int k = 0; k < n_opsets; k++) {
        int opset = opsets[k];
        assert_true(n_files < 96);
        snprintf(files[n_files], sizeof files[0], "%s/%s_%d.onnx", dir, name, opset);
        const char *path = files[n_files++];
        if (tc_onnx_export(m, path, opset) != TC_OK) fail_msg("%s: %s", name, tc_last_error());
        tc_onnx_model *om = tc_onnx_load(path);
        tc_assert_ok(om);
        assert_int_equal(tc_onnx_input_count(om), n_in);
        assert_int_equal(tc_onnx_output_count(om), n_out);
        tc_tensor *xs[8], *ys[8];
        for (int i = 0; i < n_in; i++) xs[i] = tc_onnx_export_layout(inputs[i], true);
        /* inputs and the model's outputs for the independent evaluator
         * (check_onnx_export.py); once: the two opsets' graphs are the same */
        char data[200], pb[240];
        snprintf(data, sizeof data, "%s.data", path);
        assert_int_equal(opset == 13 ? mkdir(data, 0755) : 0, 0);
        for (int i = 0; opset == 13 && i < n_in; i++) {
            snprintf(pb, sizeof pb, "%s/input_%d.pb", data, i);
            assert_int_equal(tc_onnx_write_tensor_file(pb, xs[i], tc_onnx_input_dtype(om, i), tc_onnx_input_name(om, i)), TC_OK);
        }
        for (int j = 0; opset == 13 && j < n_out; j++) {
            snprintf(pb, sizeof pb, "%s/output_%d.pb", data, j);
            assert_int_equal(tc_onnx_write_tensor_file(pb, tc_onnx_export_layout(want[j], true), TC_ONNX_FLOAT, tc_onnx_output_name(om, j)), TC_OK);
        }
        if (tc_onnx_run(om, n_in, xs, n_out, ys) != TC_OK) fail_msg("%s (opset %d): %s", name, opset, tc_last_error());
        for (int j = 0; j < n_out; j++) {
            tc_tensor *got = tc_onnx_export_layout(ys[j], false);
            tc_assert_close(got, want[j], 1e-5, 1e-6);
        }
        tc_onnx_free(om);
    }
    tc_step_reset();
}

static tc_tensor *uniform(int ndim, const int64_t *shape, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    return tc_test_uniform(&r, ndim, shape, -1, 1);
}

static tc_tensor *ids(int64_t batch, int64_t len, int64_t vocab, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    tc_tensor *t = tc_zeros(TC_SHAPE(batch, len));
    for (int64_t i = 0; i < batch * len; i++) t->data[i] = (tc_scalar)(tc_rng_u32(&r) % (uint32_t)vocab);
    return t;
}

static void dense_and_activations(void **state)
{
    (void)state;
    tc_model *m = tc_sequential("dense", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 7, .act = TC_RELU, .input_dim = 6}),
        tc_dense(&(tc_dense_opts){.units = 5, .act = TC_SIGMOID}),
        tc_dense(&(tc_dense_opts){.units = 5, .act = TC_TANH, .no_bias = true}),
        tc_dense(&(tc_dense_opts){.units = 4, .act = TC_ELU}),
        tc_dropout_layer(0.3, NULL),
        tc_dense(&(tc_dense_opts){.units = 4, .act = TC_SOFTPLUS}),
        tc_dense(&(tc_dense_opts){.units = 4, .act = TC_LEAKY_RELU}),
        tc_activation_layer(TC_TANH, NULL),
        tc_dense(&(tc_dense_opts){.units = 3, .act = TC_SOFTMAX}),
        NULL});
    tc_assert_ok(m);
    randomise(m, 1);
    roundtrip(m, "dense", 1, (tc_tensor *[]){uniform(TC_SHAPE(3, 6), 2)});
    tc_model_free(m);
}

/* two heads over one trunk: Flatten (channels-last order) and global pooling, joined */
static void conv2d_layers(void **state)
{
    (void)state;
    n_opsets = 5; /* this model at every opset, 13 to 17 */
    memcpy(opsets, (int[]){13, 17, 14, 15, 16}, sizeof opsets);
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 3, (int64_t[]){11, 13, 3}, "image");
    tc_value v = tc_graph_call(g, tc_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 3, .stride = 2, .padding = TC_SAME, .act = TC_RELU}), 1, &x);
    v = tc_graph_call(g, tc_conv2d(&(tc_conv_opts){.filters = 5, .kernel_dims = {2, 3}, .dilations = {1, 2}}), 1, &v);
    v = tc_graph_call(g, tc_batchnorm(&(tc_batchnorm_opts){.eps = 1e-3}), 1, &v);
    v = tc_graph_call(g, tc_zero_padding2d(1, 0, 2, 1, NULL), 1, &v);
    tc_value a = tc_graph_call(g, tc_maxpool2d(&(tc_pool_opts){.pool = 2, .padding = TC_SAME}), 1, &v);
    tc_value b = tc_graph_call(g, tc_avgpool2d(&(tc_pool_opts){.pool = 3, .stride = 2, .padding = TC_SAME}), 1, &v);
    v = tc_graph_call(g, tc_add_layer(NULL), 2, (tc_value[]){a, b});
    tc_value d = tc_graph_call(g, tc_depthwise_conv2d(&(tc_conv_opts){.kernel = 3, .depth_multiplier = 2, .padding = TC_SAME, .act = TC_TANH}), 1, &v);
    tc_value s = tc_graph_call(g, tc_separable_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 2, .padding = TC_SAME}), 1, &v);
    v = tc_graph_call(g, tc_concatenate(-1, NULL), 2, (tc_value[]){d, s});
    tc_value soft = tc_graph_call(g, tc_activation_layer(TC_SOFTMAX, NULL), 1, &v); /* over the channels */
    tc_value f = tc_graph_call(g, tc_flatten_layer(NULL), 1, &v);
    f = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 3}), 1, &f);
    tc_value p = tc_graph_call(g, tc_global_avgpool(NULL), 1, &v);
    tc_value q = tc_graph_call(g, tc_global_maxpool(NULL), 1, &v);
    tc_value h = tc_graph_call(g, tc_concatenate(-1, NULL), 3, (tc_value[]){f, p, q});
    tc_model *m = tc_graph_model(g, "conv2d", 1, &x, 2, (tc_value[]){h, soft});
    tc_assert_ok(m);
    randomise(m, 3);
    roundtrip(m, "conv2d", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 11, 13, 3), 4)});
    n_opsets = 2;
    tc_model_free(m);
}

static void conv1d_layers(void **state)
{
    (void)state;
    tc_model *m = tc_sequential_with_input("conv1d", 2, (int64_t[]){13, 3}, (tc_layer *[]){
        tc_conv1d(&(tc_conv_opts){.filters = 4, .kernel = 3, .padding = TC_CAUSAL, .dilation = 2, .act = TC_RELU}),
        tc_conv1d(&(tc_conv_opts){.filters = 5, .kernel = 2, .stride = 2, .padding = TC_SAME}),
        tc_batchnorm(NULL),
        tc_maxpool1d(&(tc_pool_opts){.pool = 2, .stride = 1}),
        tc_avgpool1d(&(tc_pool_opts){.pool = 2, .padding = TC_SAME}),
        tc_global_maxpool(NULL),
        tc_dense(&(tc_dense_opts){.units = 2}),
        NULL});
    tc_assert_ok(m);
    randomise(m, 5);
    roundtrip(m, "conv1d", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 13, 3), 6)});
    /* a sequence output of a convolution (rank 3: back in tensorcook's layout) */
    tc_model *c = tc_sequential_with_input("conv1d_seq", 2, (int64_t[]){7, 2}, (tc_layer *[]){
        tc_conv1d(&(tc_conv_opts){.filters = 3, .kernel = 2, .padding = TC_SAME}), tc_global_avgpool(NULL),
        tc_repeat_vector(4, NULL), tc_conv1d(&(tc_conv_opts){.filters = 2, .kernel = 3}), NULL});
    tc_assert_ok(c);
    randomise(c, 7);
    roundtrip(c, "conv1d_seq", 1, (tc_tensor *[]){uniform(TC_SHAPE(3, 7, 2), 8)});
    tc_model_free(m);
    tc_model_free(c);
}

static void conv3d_layers(void **state)
{
    (void)state;
    tc_model *m = tc_sequential_with_input("conv3d", 4, (int64_t[]){4, 5, 6, 2}, (tc_layer *[]){
        tc_conv3d(&(tc_conv_opts){.filters = 3, .kernel = 2, .padding = TC_SAME, .act = TC_RELU}),
        tc_zero_padding3d((int[]){0, 1, 1, 0, 1, 1}, NULL),
        tc_maxpool3d(&(tc_pool_opts){.pool_dims = {1, 2, 2}}),
        tc_avgpool3d(&(tc_pool_opts){.pool = 2, .stride = 1, .padding = TC_SAME}),
        tc_conv3d(&(tc_conv_opts){.filters = 2, .kernel_dims = {2, 1, 2}, .strides = {1, 2, 1}}),
        NULL});
    tc_assert_ok(m);
    randomise(m, 9);
    roundtrip(m, "conv3d", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 4, 5, 6, 2), 10)}); /* a rank-5 output: NCDHW */
    tc_model_free(m);
}

static void embedding_reshape(void **state)
{
    (void)state;
    tc_model *m = tc_sequential("embedding", (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 11, .output_dim = 4, .input_length = 6}),
        tc_reshape_layer(3, (int64_t[]){3, -1, 4}, NULL),
        tc_reshape_layer(2, (int64_t[]){12, 2}, NULL),
        tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 3, .act = TC_SOFTMAX}),
        NULL});
    tc_assert_ok(m);
    randomise(m, 11);
    roundtrip(m, "embedding", 1, (tc_tensor *[]){ids(3, 6, 11, 12)});
    tc_model_free(m);
}

/* Masking's zeroed steps (its mask reaches no layer that reads masks) */
static void masking_values(void **state)
{
    (void)state;
    tc_model *m = tc_sequential_with_input("masking", 2, (int64_t[]){5, 3}, (tc_layer *[]){
        tc_masking(0.5, NULL), tc_dense(&(tc_dense_opts){.units = 4, .act = TC_TANH}),
        tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2}), NULL), NULL});
    tc_assert_ok(m);
    randomise(m, 27);
    tc_tensor *x = uniform(TC_SHAPE(2, 5, 3), 28);
    for (int k = 0; k < 3; k++) x->data[1 * 3 + k] = x->data[(5 + 4) * 3 + k] = 0.5f; /* two masked steps */
    x->data[2 * 3 + 1] = 0.5f;                                                         /* one value only: kept */
    roundtrip(m, "masking", 1, &x);
    tc_model_free(m);
}

static void recurrent_layers(void **state)
{
    (void)state;
    const int64_t T = 5, F = 3, B = 2;
    tc_model *m = tc_sequential_with_input("rnns", 2, (int64_t[]){T, F}, (tc_layer *[]){
        tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true, .unit_forget_bias = true, .forget_bias = 0.25}),
        tc_gru_layer(&(tc_rnn_opts){.units = 3, .return_sequences = true, .reset_after = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true, .go_backwards = true}),
        tc_simple_rnn_layer(&(tc_rnn_opts){.units = 3, .return_sequences = true, .act = TC_RELU}),
        tc_lstm_layer(&(tc_rnn_opts){.units = 3, .return_sequences = true, .peephole = true, .go_backwards = true}),
        tc_lstm_layer(&(tc_rnn_opts){.units = 2, .return_sequences = true, .hard_sigmoid = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 2, .return_sequences = true, .hard_sigmoid = true, .reset_after = true}),
        tc_bidirectional(tc_lstm_layer(&(tc_rnn_opts){.units = 3, .return_sequences = true}), NULL),
        tc_bidirectional(tc_gru_layer(&(tc_rnn_opts){.units = 2, .reset_after = true}), NULL),
        tc_dense(&(tc_dense_opts){.units = 2}),
        NULL});
    tc_assert_ok(m);
    randomise(m, 13);
    roundtrip(m, "rnns", 1, (tc_tensor *[]){uniform(TC_SHAPE(B, T, F), 14)});
    tc_model_free(m);

    /* initial states and return_state (functional), SimpleRNN's last output */
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 2, (int64_t[]){T, F}, "x");
    tc_value h0 = tc_graph_input(g, 1, (int64_t[]){4}, "h0");
    tc_value c0 = tc_graph_input(g, 1, (int64_t[]){4}, "c0");
    tc_value o[3];
    tc_graph_call_multi(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true, .return_state = true}), 3,
                        (tc_value[]){x, h0, c0}, 3, o);
    tc_value bo[5];
    tc_graph_call_multi(g, tc_bidirectional(tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_state = true}), NULL), 5,
                        (tc_value[]){o[0], o[1], o[2], h0, c0}, 5, bo);
    tc_value gs[2];
    tc_graph_call_multi(g, tc_gru_layer(&(tc_rnn_opts){.units = 4, .return_state = true}), 2, (tc_value[]){o[0], h0}, 2, gs);
    tc_value s = tc_graph_call(g, tc_simple_rnn_layer(&(tc_rnn_opts){.units = 2, .act = TC_LINEAR}), 1, &x);
    tc_model *f = tc_graph_model(g, "states", 3, (tc_value[]){x, h0, c0}, 7, (tc_value[]){bo[0], bo[1], bo[4], o[2], gs[0], gs[1], s});
    tc_assert_ok(f);
    randomise(f, 15);
    n_opsets = 5;
    roundtrip(f, "states", 3, (tc_tensor *[]){uniform(TC_SHAPE(B, T, F), 16), uniform(TC_SHAPE(B, 4), 17),
                                                uniform(TC_SHAPE(B, 4), 18)});
    n_opsets = 2;
    tc_model_free(f);

    /* ids read as one-hot rows (input_vocab), as the char-RNN */
    tc_model *v = tc_sequential("vocab", (tc_layer *[]){
        tc_lstm_layer(&(tc_rnn_opts){.units = 3, .input_vocab = 6, .input_shape = {T}, .return_sequences = true}),
        tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 6}), NULL), NULL});
    tc_assert_ok(v);
    randomise(v, 19);
    roundtrip(v, "vocab", 1, (tc_tensor *[]){ids(B, T, 6, 20)});
    tc_model_free(v);
}

static void time_distributed_layers(void **state)
{
    (void)state;
    tc_model *m = tc_sequential_with_input("time_distributed", 4, (int64_t[]){3, 6, 5, 2}, (tc_layer *[]){
        tc_time_distributed(tc_conv2d(&(tc_conv_opts){.filters = 3, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}), NULL),
        tc_time_distributed(tc_maxpool2d(&(tc_pool_opts){.pool = 2}), NULL),
        tc_time_distributed(tc_flatten_layer(NULL), NULL),
        tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true}),
        tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2, .act = TC_SOFTMAX}), NULL),
        NULL});
    tc_assert_ok(m);
    randomise(m, 21);
    roundtrip(m, "time_distributed", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 3, 6, 5, 2), 22)});
    tc_model_free(m);
}

static void attention_layers(void **state)
{
    (void)state;
    tc_graph *g = tc_graph_new();
    tc_value q = tc_graph_input(g, 2, (int64_t[]){4, 6}, "query");
    tc_value v = tc_graph_input(g, 2, (int64_t[]){5, 3}, "value");
    tc_value k = tc_graph_input(g, 2, (int64_t[]){5, 6}, "key");
    tc_value a = tc_graph_call(g, tc_attention_layer(true, false, NULL), 3, (tc_value[]){q, v, k});
    tc_value b = tc_graph_call(g, tc_additive_attention_layer(true, false, NULL), 3, (tc_value[]){q, v, k});
    tc_value c = tc_graph_call(g, tc_attention_layer(false, true, NULL), 2, (tc_value[]){q, q}); /* causal self-attention */
    tc_value d = tc_graph_call(g, tc_additive_attention_layer(false, true, NULL), 2, (tc_value[]){q, q});
    tc_model *m = tc_graph_model(g, "attention", 3, (tc_value[]){q, v, k}, 4, (tc_value[]){a, b, c, d});
    tc_assert_ok(m);
    randomise(m, 23);
    roundtrip(m, "attention", 3, (tc_tensor *[]){uniform(TC_SHAPE(2, 4, 6), 24), uniform(TC_SHAPE(2, 5, 3), 25),
                                                   uniform(TC_SHAPE(2, 5, 6), 26)});
    tc_model_free(m);
}

/* the recipes' models, small */
static void recipe_models(void **state)
{
    (void)state;
    tc_model *mn = tc_mnist_cnn(&(tc_mnist_cnn_opts){.filters1 = 4, .filters2 = 6, .hidden = 16});
    tc_assert_ok(mn);
    randomise(mn, 31);
    roundtrip(mn, "mnist", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 28, 28, 1), 32)});
    tc_model_free(mn);
    tc_model *cf = tc_cifar10_cnn(&(tc_cifar10_cnn_opts){.filters1 = 4, .filters2 = 6, .hidden = 16});
    tc_assert_ok(cf);
    randomise(cf, 33);
    roundtrip(cf, "cifar10", 1, (tc_tensor *[]){uniform(TC_SHAPE(2, 32, 32, 3), 34)});
    tc_model_free(cf);
    tc_model *cr = tc_charrnn_model(&(tc_charrnn_opts){.vocab = 9, .seq_len = 6, .layers = 2, .units = 8});
    tc_assert_ok(cr);
    randomise(cr, 35);
    roundtrip(cr, "charrnn", 1, (tc_tensor *[]){ids(2, 6, 9, 36)});
    tc_model_free(cr);
    tc_model *fc = tc_seq2seq_gru(&(tc_seq2seq_gru_opts){.series = 2, .past = 6, .future = 4, .units = 5, .layers = 2});
    tc_assert_ok(fc);
    randomise(fc, 37);
    roundtrip(fc, "forecast", 2, (tc_tensor *[]){uniform(TC_SHAPE(2, 6, 2), 38), uniform(TC_SHAPE(2, 4, 2), 39)});
    tc_model_free(fc);
    tc_model *c3 = tc_c3d(&(tc_c3d_opts){.frames = 16, .height = 16, .width = 16, .classes = 3, .width_divisor = 32});
    tc_assert_ok(c3);
    randomise(c3, 40);
    roundtrip(c3, "c3d", 1, (tc_tensor *[]){uniform(TC_SHAPE(1, 16, 16, 16, 3), 41)});
    tc_model_free(c3);
}

/* the model zoo's architectures, narrow and small: ResNet50 (ZeroPadding2D,
 * BatchNormalization, Add), InceptionV3 (scale-less BatchNormalization,
 * channel Concatenate, SAME average pooling), Xception (SeparableConv2D) */
static void zoo_models(void **state)
{
    (void)state;
    static const struct {
        tc_zoo_arch arch;
        const char *name;
        int64_t size;
        bool top;
    } cases[] = {{TC_ZOO_VGG16, "vgg16", 32, false}, {TC_ZOO_RESNET50, "resnet50", 32, true},
                 {TC_ZOO_INCEPTION_V3, "inception_v3", 75, true}, {TC_ZOO_XCEPTION, "xception", 71, true}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tc_model *m = tc_zoo_model(cases[k].arch, &(tc_zoo_opts){.include_top = cases[k].top, .pooling = TC_ZOO_POOL_AVG,
                                                                 .classes = 5, .height = cases[k].size, .width = cases[k].size,
                                                                 .width_div = 16});
        tc_assert_ok(m);
        randomise(m, 50 + k);
        roundtrip(m, cases[k].name, 1, (tc_tensor *[]){uniform(TC_SHAPE(1, cases[k].size, cases[k].size, 3), 60 + k)});
        tc_model_free(m);
    }
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* an untranslatable model: one line naming the layer, no file */
static void refusals(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/refused.onnx", dir);
    tc_model *m = tc_sequential_with_input("masked", 2, (int64_t[]){4, 3}, (tc_layer *[]){
        tc_masking(0, "pad_mask"), tc_lstm_layer(&(tc_rnn_opts){.units = 2}), NULL});
    tc_assert_ok(m);
    assert_int_not_equal(tc_onnx_export(m, path, 13), TC_OK);
    tc_assert_error(NULL, "refused.onnx", "pad_mask", "Masking");
    assert_null(strchr(tc_last_error(), '\n'));
    assert_false(exists(path));
    tc_model_free(m);

    tc_model *e = tc_sequential("mask_zero", (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 5, .output_dim = 2, .input_length = 4, .mask_zero = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 2, .name = "reader"}), NULL});
    tc_assert_ok(e);
    assert_int_not_equal(tc_onnx_export(e, path, 17), TC_OK);
    tc_assert_error(NULL, "reader", "GRU", "mask");
    assert_false(exists(path));
    tc_model_free(e);

    tc_model *s = tc_sequential_with_input("softmax_rnn", 2, (int64_t[]){4, 3}, (tc_layer *[]){
        tc_simple_rnn_layer(&(tc_rnn_opts){.units = 2, .act = TC_SOFTMAX, .name = "odd"}), NULL});
    tc_assert_ok(s);
    assert_int_not_equal(tc_onnx_export(s, path, 13), TC_OK);
    tc_assert_error(NULL, "odd", "SimpleRNN", "softmax");
    assert_false(exists(path));

    for (int opset = 11; opset <= 18; opset += 7) {
        assert_int_not_equal(tc_onnx_export(s, path, opset), TC_OK);
        tc_assert_error(NULL, "opset", "13 to 17");
        assert_false(exists(path));
    }
    tc_model_free(s);
}

/* the onnx package's checker on every file written above */
static void onnx_checker(void **state)
{
    (void)state;
    assert_true(n_files > 0);
    char *cmd = malloc(200 + 170 * (size_t)n_files);
    assert_non_null(cmd);
    size_t used = (size_t)sprintf(cmd, "/usr/bin/python3 %s/check_onnx_export.py", TC_FIXTURES);
    for (int i = 0; i < n_files; i++) used += (size_t)sprintf(cmd + used, " %s", files[i]);
    int rc = system(cmd);
    free(cmd);
    assert_int_equal(rc, 0);
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "onnx_export") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dense_and_activations),   cmocka_unit_test(conv2d_layers),    cmocka_unit_test(conv1d_layers),
        cmocka_unit_test(conv3d_layers),           cmocka_unit_test(embedding_reshape), cmocka_unit_test(masking_values),
        cmocka_unit_test(recurrent_layers),        cmocka_unit_test(time_distributed_layers),
        cmocka_unit_test(attention_layers),        cmocka_unit_test(recipe_models),    cmocka_unit_test(zoo_models),
        cmocka_unit_test(refusals),                cmocka_unit_test(onnx_checker),
    };
    if (getenv("TC_KEEP")) { /* keep the files to look at */
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        printf("files kept in %s\n", dir);
        return rc;
    }
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
