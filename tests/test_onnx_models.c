/* Whole models exported by PyTorch run through the ONNX importer and match
 * PyTorch's output to 1e-4 relative: torchvision's ResNet-18, MobileNet-v2,
 * SqueezeNet 1.1, DenseNet-121, Inception-v3 (and VGG-11, a 0.5 GB file,
 * with TENSORCOOK_LONG_TESTS=1 or TC_LONG_TESTS=1), random weights and BatchNormalization
 * statistics, opset 13 with BatchNormalization kept as nodes; and a small
 * U-Net with ConvTranspose layers, which also fine-tunes through the
 * optimizer. The models are exported at test time into a temporary folder by
 * tests/fixtures/gen_onnx_models.py. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensorcook/onnx.h"
#include "tensorcook/optim.h"
#include "../src/core/internal.h" /* tc_arena_position */

static int setup(void **state)
{
    (void)state;
    return tc_test_generate("onnx_models", "gen_onnx_models.py");
}

static int teardown(void **state)
{
    (void)state;
    return tc_test_generated_cleanup();
}

static tc_tensor *read_pb(const char *name, const char *file)
{
    char p[256];
    snprintf(p, sizeof p, "%s/test_data_set_0/%s", name, file);
    tc_tensor *f = tc_onnx_read_tensor_file(tc_test_at(p), NULL, NULL);
    tc_assert_ok(f);
    tc_tensor *t = tc_copy_of(f->data, f->ndim, f->shape);
    tc_tensor_free(f);
    return t;
}

static tc_onnx_model *load(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/model.onnx", name);
    tc_onnx_model *m = tc_onnx_load(tc_test_at(p));
    tc_assert_ok(m);
    return m;
}

/* The model's output equals PyTorch's: |y - ref| <= 1e-4 |ref| + 1e-5 max|ref|
 * element by element; its BatchNormalization nodes are the exporter's */
static void check_model(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/bn_count.txt", name);
    FILE *f = fopen(tc_test_at(p), "r");
    int want_bn = -1;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &want_bn), 1);
    fclose(f);
    tc_onnx_model *m = load(name);
    int bn = 0;
    for (int i = 0; i < tc_onnx_node_count(m); i++) {
        assert_true(tc_onnx_node_supported(m, i));
        bn += !strcmp(tc_onnx_node_op(m, i), "BatchNormalization");
    }
    assert_int_equal(bn, want_bn);
    tc_tensor *x = read_pb(name, "input_0.pb"), *ref = read_pb(name, "output_0.pb"), *y;
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    double mx = 0;
    for (int64_t i = 0; i < tc_numel(ref); i++) mx = fmax(mx, fabs(ref->data[i]));
    tc_assert_close(y, ref, 1e-4, 1e-5 * mx);
    tc_tensor *d = tc_max(tc_abs(tc_sub(y, ref)), 0, NULL, false);
    print_message("%-14s %d nodes (%d BatchNormalization): largest difference %.3g (largest |output| %.3g)\n", name,
                  tc_onnx_node_count(m), bn, d->data[0], mx);
    tc_onnx_free(m);
    tc_step_reset();
}

static void resnet18(void **state) { (void)state, check_model("resnet18"); }
static void mobilenet_v2(void **state) { (void)state, check_model("mobilenet_v2"); }
static void squeezenet1_1(void **state) { (void)state, check_model("squeezenet1_1"); }
static void densenet121(void **state) { (void)state, check_model("densenet121"); }
static void inception_v3(void **state) { (void)state, check_model("inception_v3"); }
static void unet(void **state) { (void)state, check_model("unet"); }

static void vgg11(void **state)
{
    (void)state;
    struct stat st;
    if (stat(tc_test_at("vgg11/model.onnx"), &st) != 0) {
        const char *f1 = getenv("TENSORCOOK_LONG_TESTS"), *f2 = getenv("TC_LONG_TESTS");
        if ((f1 && !strcmp(f1, "1")) || (f2 && !strcmp(f2, "1"))) fail_msg("long tests asked for but vgg11 was not exported");
        print_message("vgg11: a 0.5 GB model, checked with TENSORCOOK_LONG_TESTS=1 (or TC_LONG_TESTS=1)\n");
        skip();
    }
    check_model("vgg11");
}

/* The U-Net fine-tunes: every float initializer trains with Adam towards a
 * target it can learn (the input's first two channels), and the loss falls */
static void unet_fine_tunes(void **state)
{
    (void)state;
    tc_onnx_model *m = load("unet");
    int n = tc_onnx_initializer_count(m), np = 0;
    tc_tensor **params = calloc((size_t)n + 1, sizeof *params);
    assert_non_null(params);
    for (int i = 0; i < n; i++) {
        const char *nm;
        tc_tensor *t = tc_onnx_initializer(m, i, &nm);
        /* BatchNormalization's running statistics stay fixed (inference mode) */
        if (strstr(nm, "running_") || tc_numel(t) < 1) continue;
        tc_set_requires_grad(t, true);
        params[np++] = t;
    }
    assert_true(np >= 20);
    tc_tensor *x = tc_tensor_keep(read_pb("unet", "input_0.pb"));
    tc_tensor *target = tc_tensor_keep(tc_narrow(x, 1, 0, 2));
    tc_optimizer *opt = tc_adam(1e-2);
    assert_non_null(opt);
    double first = 0, last = 0;
    for (int step = 0; step < 20; step++) {
        tc_tensor *y;
        assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
        tc_tensor *loss = tc_mse(y, target, TC_REDUCE_MEAN);
        tc_assert_ok(loss);
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        tc_zero_grads(np, params);
        assert_int_equal(tc_backward(loss), TC_OK);
        assert_int_equal(tc_optimizer_step(opt, np, params), TC_OK);
        tc_step_reset();
    }
    print_message("U-Net fine-tuning (%d parameter tensors, Adam): loss %.4f -> %.4f\n", np, first, last);
    assert_true(last < 0.5 * first);
    tc_optimizer_free(opt);
    tc_tensor_free(x);
    tc_tensor_free(target);
    free(params);
    tc_onnx_free(m);
}

/* Reusing dead intermediates' memory within a run (src/io/onnx_live.c)
 * changes no bit of the output and bumps the arena far less than keeping
 * every intermediate (TENSORCOOK_ONNX_REUSE=0): Concat-heavy DenseNet and
 * Inception-v3 as loaded, MobileNet-v2 with its epilogues fused. (With a
 * gradient to record nothing is reused: unet_fine_tunes trains through that
 * path.) */
static void reuse_matches_keeping_everything(void **state)
{
    (void)state;
    const char *names[] = {"densenet121", "inception_v3", "mobilenet_v2"};
    for (int k = 0; k < 3; k++) {
        tc_onnx_model *m = load(names[k]);
        if (k == 2) assert_int_equal(tc_onnx_prepare_inference(m, NULL, NULL), TC_OK);
        tc_tensor *x = tc_tensor_keep(read_pb(names[k], "input_0.pb")), *y;
        tc_step_reset();
        setenv("TENSORCOOK_ONNX_REUSE", "0", 1);
        assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
        size_t kept = tc_arena_position();
        tc_tensor *ref = tc_tensor_keep(y);
        tc_step_reset();
        unsetenv("TENSORCOOK_ONNX_REUSE");
        for (int rep = 0; rep < (k == 2 ? 2 : 1); rep++) { /* MobileNet's second run finds the plan made */
            assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
            tc_assert_close(y, ref, 0, 0);
            size_t reused = tc_arena_position();
            print_message("%-14s arena bumped by one run: %zu KB keeping every intermediate, %zu KB reusing\n",
                          names[k], kept >> 10, reused >> 10);
            /* MobileNet-v2's test image is small: its few large buffers are a larger share */
            assert_true(k == 2 ? reused < kept : reused < kept * 3 / 5);
            tc_step_reset();
        }
        tc_tensor_free(ref);
        tc_tensor_free(x);
        tc_onnx_free(m);
    }
}

/* 1 and 2 threads give bit-identical outputs */
static void unet_threads_identical(void **state)
{
    (void)state;
    tc_onnx_model *m = load("unet");
    tc_tensor *x = read_pb("unet", "input_0.pb"), *y1, *y2;
    tc_set_num_threads(1);
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y1), TC_OK);
    tc_set_num_threads(2);
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y2), TC_OK);
    tc_assert_close(y1, y2, 0, 0);
    tc_onnx_free(m);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resnet18),     cmocka_unit_test(mobilenet_v2),    cmocka_unit_test(squeezenet1_1),
        cmocka_unit_test(densenet121),  cmocka_unit_test(inception_v3),    cmocka_unit_test(vgg11),
        cmocka_unit_test(unet),         cmocka_unit_test(unet_fine_tunes), cmocka_unit_test(unet_threads_identical),
        cmocka_unit_test(reuse_matches_keeping_everything),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    tc_shutdown();
    return rc;
}
