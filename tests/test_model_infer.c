/* tc_model_prepare_inference (src/nn/model_infer.c): the folded and fused
 * run of ResNet50 and InceptionV3 (a quarter of their width, small inputs,
 * random weights and BatchNormalization statistics far from identity)
 * equals the plain run to 1e-5 relative, on the output and on inner values
 * (one of them inside a fused chain, which then runs as it is); the counts
 * say how many BatchNormalizations were folded and the run counter shows
 * the fused path ran; the folded kernels' packed panels give the same bits
 * as packing per call (on the direct path); with the default conv
 * algorithm (auto) the packed 3x3 kernels run as Winograd, within 1e-5 of
 * the plain run; 1 and 2 threads give the same bits; weights, summary
 * counts, training runs and runs recording weight gradients are left alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* BatchNormalization statistics and scales away from 0 / 1, so a wrong fold shows */
static void randomise_bn(tc_model *m, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    for (int i = 0; i < tc_model_layer_count(m); i++) {
        tc_layer *l = tc_model_layer_at(m, i);
        if (strcmp(tc_layer_type(l), "BatchNormalization")) continue;
        for (int w = 0; w < tc_layer_weight_count(l); w++) {
            tc_tensor *t = tc_layer_weight(l, w);
            const char *n = tc_layer_weight_name(l, w);
            if (!strcmp(n, "gamma")) tc_rng_uniform(&r, t->data, tc_numel(t), 0.6f, 1.4f);
            else if (!strcmp(n, "beta")) tc_rng_uniform(&r, t->data, tc_numel(t), -0.3f, 0.3f);
            else if (!strcmp(n, "moving_mean")) tc_rng_uniform(&r, t->data, tc_numel(t), -0.3f, 0.3f);
            else tc_rng_uniform(&r, t->data, tc_numel(t), 0.4f, 1.8f);
        }
    }
}

static int count_type(const tc_model *m, const char *type)
{
    int n = 0;
    for (int i = 0; i < tc_model_layer_count(m); i++) n += !strcmp(tc_layer_type(tc_model_layer_at(m, i)), type);
    return n;
}

/* max |a - b| / max |b| */
static double rel_diff(const tc_tensor *a, const tc_tensor *b)
{
    assert_non_null(a);
    assert_int_equal(tc_numel(a), tc_numel(b));
    tc_scalar *x = malloc(sizeof *x * (size_t)tc_numel(a)), *y = malloc(sizeof *y * (size_t)tc_numel(b));
    assert_int_equal(tc_read_values(a, x), TC_OK); /* any layout */
    assert_int_equal(tc_read_values(b, y), TC_OK);
    double d = 0, s = 0;
    for (int64_t i = 0; i < tc_numel(a); i++) {
        d = fmax(d, fabs((double)x[i] - (double)y[i]));
        s = fmax(s, fabs((double)y[i]));
    }
    free(x);
    free(y);
    assert_true(s > 0 && isfinite(s));
    return d / s;
}

static tc_tensor *keep(tc_tensor *t)
{
    assert_non_null(t);
    tc_tensor *k = tc_tensor_new(t->ndim, t->shape);
    assert_int_equal(tc_read_values(t, k->data), TC_OK);
    return k;
}

typedef struct {
    tc_zoo_arch arch;
    int64_t side;
    const char *inner;  /* an inner layer's output (a chain's last call) */
    const char *in_bn;  /* a BatchNormalization inside a chain */
} icase;

static void check_case(const icase *c)
{
    tc_set_num_threads(2);
    tc_nn_seed(3);
    tc_model *m = tc_zoo_model(c->arch, &(tc_zoo_opts){.include_top = false, .pooling = TC_ZOO_POOL_AVG,
                                                       .height = c->side, .width = c->side, .width_div = 4});
    assert_non_null(m);
    randomise_bn(m, 11);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(2, c->side, c->side, 3));
    tc_rng r = tc_rng_new(5);
    tc_rng_uniform(&r, x->data, tc_numel(x), -1, 1);
    int64_t trainable0, frozen0, total0 = tc_model_count_params(m, &trainable0, &frozen0);

    bool was = tc_set_grad_enabled(false);
    /* the bit checks below are the direct path's (packed == unpacked);
     * auto's Winograd on the packs is checked on its own further down */
    tc_conv_set_algorithm(TC_CONV_DIRECT);
    tc_tensor *plain = keep(tc_model_forward(m, x, false));
    tc_tensor *plain_inner = keep(tc_model_forward_to(m, x, c->inner, false));
    tc_tensor *plain_bn = keep(tc_model_forward_to(m, x, c->in_bn, false));
    tc_step_reset();

    int folded = -1, fused = -1;
    assert_int_equal(tc_model_prepare_inference(m, &folded, &fused), TC_OK);
    /* every BatchNormalization of these models follows a convolution */
    assert_int_equal(folded, count_type(m, "BatchNormalization"));
    assert_true(fused > 0);
    assert_int_equal(tc_model_inference_fused_runs(m), 0);
    int64_t trainable1, frozen1;
    assert_int_equal(tc_model_count_params(m, &trainable1, &frozen1), total0);
    assert_int_equal(trainable1, trainable0);
    assert_int_equal(frozen1, frozen0);

    tc_tensor *fast2 = keep(tc_model_forward(m, x, false));
    int64_t runs = tc_model_inference_fused_runs(m);
    assert_int_equal(runs, folded); /* each chain starts at a folded convolution and ran once */
    tc_step_reset();

    /* each folded kernel was packed once: without the packs, the same bits */
    assert_int_equal(tc_model_inference_use_packed(m, false), 0);
    tc_tensor *unpacked = keep(tc_model_forward(m, x, false));
    assert_int_equal(tc_model_inference_fused_runs(m), 2 * runs);
    assert_memory_equal(unpacked->data, fast2->data, sizeof(tc_scalar) * (size_t)tc_numel(fast2));
    assert_int_equal(tc_model_inference_use_packed(m, true), folded);
    tc_step_reset();
    double d = rel_diff(fast2, plain);
    printf("%s: %d folded, %d fused, output rel diff %.2e\n", tc_zoo_arch_name(c->arch), folded, fused, d);
    assert_true(d <= 1e-5);
    assert_true(rel_diff(tc_model_forward_to(m, x, c->inner, false), plain_inner) <= 1e-5);
    /* a value inside a chain: asked for, so that chain runs as it is (the earlier ones fused) */
    int64_t before = tc_model_inference_fused_runs(m);
    assert_true(rel_diff(tc_model_forward_to(m, x, c->in_bn, false), plain_bn) <= 1e-5);
    assert_true(tc_model_inference_fused_runs(m) > before);
    tc_step_reset();

    /* the same bits on 1 thread */
    tc_set_num_threads(1);
    tc_tensor *fast1 = keep(tc_model_forward(m, x, false));
    assert_memory_equal(fast1->data, fast2->data, sizeof(tc_scalar) * (size_t)tc_numel(fast1));
    tc_set_num_threads(2);
    tc_step_reset();

    /* auto (the default): the packed chains' 3x3 kernels run as Winograd
     * with the kernel kept, within 1e-5 of the plain run, the same bits on
     * 1 and 2 threads */
    tc_conv_set_algorithm(TC_CONV_AUTO);
    const int64_t wino0 = tc_conv_winograd_runs();
    tc_tensor *auto2 = keep(tc_model_forward(m, x, false));
    assert_true(tc_conv_winograd_runs() > wino0);
    assert_true(rel_diff(auto2, plain) <= 1e-5);
    tc_set_num_threads(1);
    tc_tensor *auto1 = keep(tc_model_forward(m, x, false));
    tc_set_num_threads(2);
    assert_memory_equal(auto1->data, auto2->data, sizeof(tc_scalar) * (size_t)tc_numel(auto1));
    tc_conv_set_algorithm(TC_CONV_DIRECT);
    tc_tensor_free(auto1);
    tc_tensor_free(auto2);
    tc_step_reset();

    /* a gradient for the input: the chains run fused on the folded kernels, without the packs */
    for (int i = 0; i < tc_model_layer_count(m); i++) tc_layer_set_trainable(tc_model_layer_at(m, i), false);
    tc_model_refresh_trainable(m);
    tc_set_grad_enabled(true);
    tc_tensor *xg = tc_tensor_new(x->ndim, x->shape);
    memcpy(xg->data, x->data, sizeof(tc_scalar) * (size_t)tc_numel(x));
    tc_set_requires_grad(xg, true);
    before = tc_model_inference_fused_runs(m);
    tc_tensor *yg = tc_model_forward(m, xg, false);
    assert_non_null(yg);
    assert_int_equal(tc_model_inference_fused_runs(m), before + runs);
    tc_tensor *ygv = keep(yg);
    assert_memory_equal(ygv->data, fast2->data, sizeof(tc_scalar) * (size_t)tc_numel(fast2));
    tc_tensor_free(ygv);
    tc_tensor *ones = tc_tensor_new(yg->ndim, yg->shape);
    for (int64_t i = 0; i < tc_numel(ones); i++) ones->data[i] = 1;
    assert_int_equal(tc_backward_with(yg, ones), TC_OK);
    assert_non_null(xg->grad);
    double gs = 0;
    for (int64_t i = 0; i < tc_numel(xg); i++) gs += fabs((double)xg->grad->data[i]);
    assert_true(gs > 0 && isfinite(gs));
    tc_step_reset();
    tc_tensor_free(ones);
    tc_tensor_free(xg);
    for (int i = 0; i < tc_model_layer_count(m); i++) tc_layer_set_trainable(tc_model_layer_at(m, i), true);
    tc_model_refresh_trainable(m);
    tc_set_grad_enabled(false);

    /* gradients for the weights: the chains run as they are */
    tc_set_grad_enabled(true);
    before = tc_model_inference_fused_runs(m);
    tc_tensor *g = tc_model_forward(m, x, false);
    assert_non_null(g);
    assert_int_equal(tc_model_inference_fused_runs(m), before);
    assert_true(rel_diff(g, plain) <= 1e-5);
    tc_step_reset();
    tc_set_grad_enabled(false);

    /* a training run (which updates the moving statistics) discards the
     * rewrite: its folded copies would be stale; later runs are plain ones */
    assert_non_null(tc_model_forward(m, x, true));
    tc_step_reset();
    assert_int_equal(tc_model_inference_fused_runs(m), 0);
    assert_non_null(tc_model_forward(m, x, false));
    assert_int_equal(tc_model_inference_fused_runs(m), 0);
    tc_step_reset();
    tc_set_grad_enabled(was);

    tc_tensor_free(x);
    tc_tensor_free(plain);
    tc_tensor_free(plain_inner);
    tc_tensor_free(plain_bn);
    tc_tensor_free(fast1);
    tc_tensor_free(fast2);
    tc_tensor_free(unpacked);
    tc_model_free(m);
    tc_conv_set_algorithm(TC_CONV_AUTO);
    tc_step_reset();
}

static void test_resnet50(void **state)
{
    check_case(&(icase){TC_ZOO_RESNET50, 64, "conv4_block2_out", "conv3_block1_2_bn"});
}

static void test_inception_v3(void **state)
{
    check_case(&(icase){TC_ZOO_INCEPTION_V3, 75, "mixed5", "batch_normalization_20"});
}

/* VGG's convolutions carry their ReLU: nothing to fold, the model is left without chains */
static void test_nothing_to_fold(void **state)
{
    tc_model *m = tc_zoo_model(TC_ZOO_VGG16, &(tc_zoo_opts){.include_top = false, .height = 32, .width = 32, .width_div = 16});
    assert_non_null(m);
    int folded = -1, fused = -1;
    assert_int_equal(tc_model_prepare_inference(m, &folded, &fused), TC_OK);
    assert_int_equal(folded, 0);
    assert_int_equal(fused, 0);
    tc_model_free(m);
    assert_int_equal(tc_model_prepare_inference(NULL, NULL, NULL), TC_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet50),
        cmocka_unit_test(test_inception_v3),
        cmocka_unit_test(test_nothing_to_fold),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
