/* The cookbook's networks in src/models: the layers, names and parameter
 * counts the recipes had (the MNIST and CIFAR-10 CNNs as Keras counts them:
 * 3,274,634 and 2,159,114), output shapes, the char-RNN's checkpoint (a
 * round trip with optimizer state, files in the recipe's earlier layout,
 * files of other models, missing and corrupt files) and the seq2seq GRU. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *p(const char *name)
{
    static char buf[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void cnns(void **state)
{
    tc_model *m = tc_mnist_cnn(NULL);
    tc_assert_ok(m);
    /* conv 5x5x1x32 + 32, 5x5x32x64 + 64, 3136x1024 + 1024, 1024x10 + 10 */
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 832 + 51264 + 3212288 + 10250);
    int64_t out[TC_MAX_DIMS];
    assert_int_equal(tc_model_output_shape(m, 0, out), 1);
    assert_int_equal(out[0], 10);
    const char *names[] = {"conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dropout", "dense_1"};
    assert_int_equal(tc_model_layer_count(m), 8);
    for (int i = 0; i < 8; i++) assert_string_equal(tc_layer_name(tc_model_layer_at(m, i)), names[i]);
    tc_model_free(m);
    m = tc_mnist_cnn(&(tc_mnist_cnn_opts){.classes = 3, .filters1 = 4, .filters2 = 6, .hidden = 8, .height = 12, .width = 8});
    tc_assert_ok(m);
    assert_int_equal(tc_model_count_params(m, NULL, NULL), (25 * 4 + 4) + (25 * 4 * 6 + 6) + (3 * 2 * 6 * 8 + 8) + (8 * 3 + 3));
    tc_model_free(m);
    m = tc_cifar10_cnn(NULL);
    tc_assert_ok(m);
    /* 896 + 18496 + 36928 + 4096x512 + 512 + 5130 */
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 896 + 18496 + 36928 + 2097664 + 5130);
    tc_model_free(m);
}

static void charrnn_model(void **state)
{
    tc_model *m = tc_charrnn_model(&(tc_charrnn_opts){.vocab = 30, .seq_len = 25, .layers = 2, .units = 16});
    tc_assert_ok(m);
    const char *names[] = {"lstm_0/kernel", "lstm_0/recurrent_kernel", "lstm_0/bias", "lstm_1/kernel",
                           "lstm_1/recurrent_kernel", "lstm_1/bias", "dense/kernel", "dense/bias"};
    assert_int_equal(tc_model_param_count(m), 8);
    for (int i = 0; i < 8; i++) assert_string_equal(tc_model_param_name(m, i), names[i]);
    assert_int_equal(tc_model_param_by_name(m, "lstm_0/kernel")->shape[0], 30);
    tc_tensor *bias = tc_model_param_by_name(m, "lstm_1/bias");
    for (int j = 0; j < 64; j++) assert_true(bias->data[j] == (j >= 16 && j < 32 ? 1 : 0)); /* forget gate 1 */
    tc_tensor *ids = tc_zeros(TC_SHAPE(4, 25));
    tc_tensor *y = tc_model_forward(m, ids, true);
    tc_assert_ok(y);
    assert_int_equal(y->shape[0], 4);
    assert_int_equal(y->shape[1], 30);
    tc_model_free(m);
    tc_assert_error(tc_charrnn_model(&(tc_charrnn_opts){.vocab = 0, .seq_len = 25}), "charrnn_model");
    tc_assert_error(tc_charrnn_model(&(tc_charrnn_opts){.vocab = 5, .seq_len = 25, .layers = 9}), "charrnn_model");
    tc_step_reset();
}

static tc_tensor *one_loss(void *ctx)
{
    tc_model *m = ctx;
    tc_tensor *x = tc_copy_of((tc_scalar[]){0, 1, 2, 3, 4, 0, 4, 3, 2, 1, 0, 1}, 2, (int64_t[]){2, 6});
    return tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), tc_copy_of((tc_scalar[]){1, 3}, 1, (int64_t[]){2}),
                                           NULL, TC_REDUCE_MEAN);
}

static void charrnn_checkpoints(void **state)
{
    const uint32_t chars[5] = {' ', 'a', 'b', 0xE9, 0x1F600};
    tc_nn_seed(5);
    tc_model *m = tc_charrnn_model(&(tc_charrnn_opts){.vocab = 5, .seq_len = 6, .layers = 2, .units = 8});
    tc_optimizer *opt = tc_adam(1e-2);
    double loss;
    for (int i = 0; i < 3; i++) assert_int_equal(tc_model_train_step(m, opt, one_loss, m, &loss), TC_OK);
    assert_int_equal(tc_charrnn_save(p("a.tcck"), m, opt, 5, chars, 7), TC_OK);
    int V;
    uint32_t *got;
    double epoch;
    tc_optimizer *opt2 = tc_adam(1e-2);
    tc_model *back = tc_charrnn_load(p("a.tcck"), 6, opt2, &V, &got, &epoch);
    tc_assert_ok(back);
    assert_int_equal(V, 5);
    assert_memory_equal(got, chars, sizeof chars);
    assert_true(epoch == 7);
    assert_int_equal(tc_optimizer_steps(opt2), 3);
    for (int i = 0; i < tc_model_param_count(m); i++) {
        assert_string_equal(tc_model_param_name(m, i), tc_model_param_name(back, i));
        tc_assert_close(tc_model_param(back, i), tc_model_param(m, i), 0, 0);
    }
    /* the next step from either is the same step */
    double l1, l2;
    assert_int_equal(tc_model_train_step(m, opt, one_loss, m, &l1), TC_OK);
    assert_int_equal(tc_model_train_step(back, opt2, one_loss, back, &l2), TC_OK);
    assert_true(l1 == l2);
    for (int i = 0; i < tc_model_param_count(m); i++) tc_assert_close(tc_model_param(back, i), tc_model_param(m, i), 0, 0);
    free(got);
    tc_model_free(back);

    /* the recipe's layout before the layer API: the same weight names, the shape under charrnn/ */
    tc_checkpoint *ck = tc_checkpoint_new();
    for (int i = 0; i < tc_model_param_count(m); i++) tc_checkpoint_put(ck, tc_model_param_name(m, i), tc_model_param(m, i));
    tc_tensor *voc = tc_tensor_new(TC_SHAPE(5));
    for (int i = 0; i < 5; i++) voc->data[i] = (tc_scalar)chars[i];
    tc_checkpoint_put(ck, "charrnn/vocabulary", voc);
    tc_checkpoint_put_scalar(ck, "charrnn/layers", 2);
    tc_checkpoint_put_scalar(ck, "charrnn/units", 8);
    tc_checkpoint_put_scalar(ck, "charrnn/epoch", 2);
    tc_checkpoint_put_scalar(ck, "optimizer/steps", 4);
    assert_int_equal(tc_checkpoint_save(ck, p("old.tcck")), TC_OK);
    back = tc_charrnn_load(p("old.tcck"), 25, NULL, &V, &got, &epoch);
    tc_assert_ok(back);
    assert_true(epoch == 2);
    assert_memory_equal(got, chars, sizeof chars);
    for (int i = 0; i < tc_model_param_count(m); i++) tc_assert_close(tc_model_param(back, i), tc_model_param(m, i), 0, 0);
    free(got);
    tc_model_free(back);
    /* a weight missing from an old file: every mismatch named, with the file */
    tc_checkpoint_put(ck, "lstm_1/kernel", voc);
    assert_int_equal(tc_checkpoint_save(ck, p("old_bad.tcck")), TC_OK);
    tc_assert_error(tc_charrnn_load(p("old_bad.tcck"), 25, NULL, &V, &got, &epoch), "old_bad.tcck", "lstm_1/kernel");
    tc_checkpoint_free(ck);
    tc_tensor_free(voc);

    /* another model's checkpoint, a missing file, a corrupt one */
    tc_model *cnn = tc_mnist_cnn(&(tc_mnist_cnn_opts){.filters1 = 2, .filters2 = 2, .hidden = 4});
    assert_int_equal(tc_save_model(p("cnn.tcck"), cnn, NULL), TC_OK);
    tc_assert_error(tc_charrnn_load(p("cnn.tcck"), 25, NULL, &V, &got, &epoch), "cnn.tcck", "not a charrnn checkpoint");
    tc_assert_error(tc_charrnn_load(p("none.tcck"), 25, NULL, &V, &got, &epoch), "none.tcck");
    FILE *f = fopen(p("a.tcck"), "r+b");
    fseek(f, 100, SEEK_SET);
    fputc(0x5A, f);
    fclose(f);
    tc_assert_error(tc_charrnn_load(p("a.tcck"), 25, NULL, &V, &got, &epoch), "a.tcck");
    tc_model_free(cnn);
    tc_model_free(m);
    tc_optimizer_free(opt);
    tc_optimizer_free(opt2);
    tc_step_reset();
}

static void seq2seq(void **state)
{
    tc_model *m = tc_seq2seq_gru(&(tc_seq2seq_gru_opts){.series = 2});
    tc_assert_ok(m);
    /* 4 GRUs (kernel, recurrent [12, 36], bias [36]) and Dense(2): the recipe's 14 tensors */
    assert_int_equal(tc_model_param_count(m), 14);
    int64_t count = 2 * ((2 * 36 + 12 * 36 + 36) + (12 * 36 + 12 * 36 + 36)) + 12 * 2 + 2;
    assert_int_equal(tc_model_count_params(m, NULL, NULL), count);
    tc_tensor *x = tc_zeros(TC_SHAPE(3, 40, 2)), *z = tc_zeros(TC_SHAPE(3, 40, 2)), *y;
    assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){x, z}, false, 1, &y), TC_OK);
    assert_int_equal(y->ndim, 3);
    assert_int_equal(y->shape[1], 40);
    assert_int_equal(y->shape[2], 2);
    tc_model_free(m);
    tc_assert_error(tc_seq2seq_gru(&(tc_seq2seq_gru_opts){.series = 0}), "seq2seq_gru");
    tc_step_reset();
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "models_test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cnns),
        cmocka_unit_test(charrnn_model),
        cmocka_unit_test(charrnn_checkpoints),
        cmocka_unit_test(seq2seq),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
