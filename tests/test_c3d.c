/* C3D: the full model's parameter count (79,991,015 with the 487-class head,
 * as c3d-keras' summary), layer names of the c3d-keras layout, and a small C3D
 * (widths / 16, 16x32x32 clips) against an independent PyTorch implementation
 * (tests/fixtures/gen_c3d.py): logits, loss and every parameter's gradient;
 * the same weights from a c3d-keras .h5 (h5py-written) loaded by layer name
 * give PyTorch's logits, and fc7's clip features without the 487-way head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorcook/keras.h"
#include "testutil.h"

static int setup_all(void **state)
{
    (void)state;
    return tc_test_generate("c3d", "gen_c3d.py");
}

static int teardown_all(void **state)
{
    (void)state;
    if (tc_test_generated_cleanup() != 0) return -1;
    tc_shutdown();
    return 0;
}

static void test_full_size_parameter_count(void **state)
{
    (void)state;
    tc_model *m = tc_c3d(NULL);
    tc_assert_ok(m);
    int64_t trainable = 0, frozen = 0;
    assert_int_equal(tc_model_count_params(m, &trainable, &frozen), 79991015);
    assert_int_equal(trainable, 79991015);
    const char *names[] = {"conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b", "fc6", "fc7", "fc8"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) assert_non_null(tc_model_layer(m, names[i]));
    int64_t shape[8];
    assert_int_equal(tc_layer_output_shape(tc_model_layer(m, "pool5"), shape), 4);
    assert_int_equal(shape[0], 1);
    assert_int_equal(shape[1], 4);
    assert_int_equal(shape[2], 4);
    assert_int_equal(shape[3], 512);
    tc_model_free(m);
}

static void test_small_matches_pytorch(void **state)
{
    (void)state;
    tc_fixture *fx = tc_fixture_load(tc_test_at("c3d_small.tcfx"));
    tc_assert_ok(fx);
    tc_model *m = tc_c3d(&(tc_c3d_opts){.frames = 16, .height = 32, .width = 32, .classes = 5, .width_divisor = 16});
    tc_assert_ok(m);
    int n = tc_model_param_count(m);
    for (int i = 0; i < n; i++) {
        char key[200];
        snprintf(key, sizeof key, "param:%s", tc_model_param_name(m, i));
        tc_tensor *v = tc_fixture_get(fx, key);
        tc_tensor *p = tc_model_param(m, i);
        assert_int_equal(tc_numel(v), tc_numel(p));
        memcpy(p->data, v->data, (size_t)tc_numel(p) * sizeof(tc_scalar));
    }
    tc_tensor *logits = tc_model_forward(m, tc_fixture_get(fx, "x"), false);
    tc_assert_ok(logits);
    tc_assert_close(logits, tc_fixture_get(fx, "logits"), 1e-4, 1e-5);
    tc_tensor *loss = tc_sparse_softmax_cross_entropy(logits, tc_fixture_get(fx, "labels"), NULL, TC_REDUCE_MEAN);
    tc_assert_ok(loss);
    tc_assert_close(loss, tc_fixture_get(fx, "loss"), 1e-5, 1e-5);
    assert_int_equal(tc_backward(loss), TC_OK);
    for (int i = 0; i < n; i++) {
        char key[200];
        snprintf(key, sizeof key, "grad:%s", tc_model_param_name(m, i));
        tc_tensor *p = tc_model_param(m, i);
        assert_non_null(p->grad);
        tc_assert_close(p->grad, tc_fixture_get(fx, key), 1e-3, 1e-5);
    }
    tc_step_reset();
    tc_model_free(m);
    tc_fixture_free(fx);
}

static tc_model *small(int classes, bool no_top, const char *top_name)
{
    return tc_c3d(&(tc_c3d_opts){.frames = 16, .height = 32, .width = 32, .classes = classes, .width_divisor = 16,
                                 .no_top = no_top, .top_name = top_name});
}

static void test_keras_h5_weights_match_pytorch(void **state)
{
    (void)state;
    tc_fixture *fx = tc_fixture_load(tc_test_at("c3d_small.tcfx"));
    tc_assert_ok(fx);
    tc_model *m = small(5, false, NULL);
    tc_assert_ok(m);
    /* strict: every layer with weights by name, nothing left over */
    assert_int_equal(tc_load_keras_weights(m, tc_test_at("c3d_small.h5"), NULL), TC_OK);
    tc_tensor *logits = tc_model_forward(m, tc_fixture_get(fx, "x"), false);
    tc_assert_ok(logits);
    tc_assert_close(logits, tc_fixture_get(fx, "logits"), 1e-4, 1e-5);
    tc_step_reset();
    tc_model_free(m);

    /* the c3d-rnn features: up to fc7, the file's fc8 ignored only when asked */
    m = small(5, true, NULL);
    tc_assert_ok(m);
    assert_int_not_equal(tc_load_keras_weights(m, tc_test_at("c3d_small.h5"), NULL), TC_OK);
    assert_non_null(strstr(tc_last_error(), "unexpected layer fc8"));
    assert_int_equal(tc_load_keras_weights(m, tc_test_at("c3d_small.h5"), &(tc_keras_load_opts){.skip_extra = true}), TC_OK);
    tc_tensor *fc7 = tc_model_forward_to(m, tc_fixture_get(fx, "x"), "fc7", false);
    tc_assert_ok(fc7);
    tc_assert_close(fc7, tc_fixture_get(fx, "fc7"), 1e-4, 1e-5);
    tc_step_reset();
    tc_model_free(m);

    /* other classes: fc8's shape does not fit; a new head under another name does */
    m = small(3, false, NULL);
    tc_assert_ok(m);
    assert_int_not_equal(tc_load_keras_weights(m, tc_test_at("c3d_small.h5"), NULL), TC_OK);
    assert_non_null(strstr(tc_last_error(), "fc8"));
    tc_model_free(m);
    m = small(3, false, "fc8_video");
    tc_assert_ok(m);
    assert_int_equal(tc_load_keras_weights(m, tc_test_at("c3d_small.h5"),
                                           &(tc_keras_load_opts){.skip_missing = true, .skip_extra = true}), TC_OK);
    fc7 = tc_model_forward_to(m, tc_fixture_get(fx, "x"), "fc7", false);
    tc_assert_ok(fc7);
    tc_assert_close(fc7, tc_fixture_get(fx, "fc7"), 1e-4, 1e-5);
    tc_step_reset();
    tc_model_free(m);
    tc_fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_size_parameter_count),
        cmocka_unit_test(test_small_matches_pytorch),
        cmocka_unit_test(test_keras_h5_weights_match_pytorch),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
