/* Keras' TimeDistributed wrapper: any single-output layer on every step. */
#include "testutil.h"

#include <string.h>

static tc_rng rng;

static tc_tensor *param(tc_model *m, const char *layer, const char *w)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", layer, w);
    tc_tensor *t = tc_model_param_by_name(m, name);
    if (!t) fail_msg("no parameter %s", name);
    return t;
}

/* TimeDistributed(Dense) equals Dense on each step; TimeDistributed(Conv2D) equals the convolution of each frame */
static void time_distributed(void **state)
{
    tc_model *m = tc_sequential_with_input("td", 2, (int64_t[]){4, 3}, (tc_layer *[]){
        tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2, .act = TC_TANH}), NULL), NULL});
    tc_assert_ok(m);
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 3 * 2 + 2);
    tc_tensor *k = param(m, "time_distributed", "kernel"), *b = param(m, "time_distributed", "bias");
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(5, 4, 3), -1, 1), *y = tc_model_forward(m, x, false);
    tc_assert_ok(y);
    assert_int_equal(y->ndim, 3);
    tc_assert_close(y, tc_tanh(tc_linear(x, k, b)), 1e-6, 1e-7);
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(tc_model_summary(m, f), TC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "time_distributed (TimeDist")); /* the type wraps in the 32-column field */
    assert_non_null(strstr(buf, "(None, 4, 2)"));
    tc_model_free(m);
    /* a convolution per video frame: [B, T, H, W, C] */
    tc_model *v = tc_sequential_with_input("video", 4, (int64_t[]){3, 6, 6, 2}, (tc_layer *[]){
        tc_time_distributed(tc_conv2d(&(tc_conv_opts){.filters = 4, .kernel = 3}), "frames"), NULL});
    tc_assert_ok(v);
    tc_tensor *clip = tc_test_uniform(&rng, TC_SHAPE(2, 3, 6, 6, 2), -1, 1), *out = tc_model_forward(v, clip, false);
    tc_assert_ok(out);
    assert_int_equal(out->shape[1], 3);
    assert_int_equal(out->shape[2], 4);
    for (int64_t t = 0; t < 3; t++) {
        tc_tensor *frame = tc_reshape(tc_narrow(clip, 1, t, 1), TC_SHAPE(2, 6, 6, 2));
        tc_tensor *want = tc_conv(frame, param(v, "frames", "kernel"), param(v, "frames", "bias"), &(tc_conv_params){0});
        tc_assert_close(tc_reshape(tc_narrow(out, 1, t, 1), TC_SHAPE(2, 4, 4, 4)), want, 1e-5, 1e-6);
    }
    tc_model_free(v);
    tc_assert_error(tc_sequential_with_input("bad", 1, (int64_t[]){3}, (tc_layer *[]){
                        tc_time_distributed(tc_dense(&(tc_dense_opts){.units = 2}), NULL), NULL}),
                    "TimeDistributed", "(timesteps, ...)");
    tc_step_reset();
}

/* wrapping an RNN (several outputs, masks) is refused with a clear message */
static void refused(void **state)
{
    tc_assert_error(tc_time_distributed(tc_lstm_layer(&(tc_rnn_opts){.units = 3}), NULL), "TimeDistributed", "not LSTM");
    tc_assert_error(tc_time_distributed(NULL, NULL), "TimeDistributed");
}

int main(void)
{
    rng = tc_rng_new(99);
    const struct CMUnitTest tests[] = {cmocka_unit_test(time_distributed), cmocka_unit_test(refused)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
