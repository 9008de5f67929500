/* The model zoo's architectures against Keras' numbers: parameter totals
 * (and the trainable / non-trainable split) of the five models with and
 * without the top, len(model.layers), the layers at the indices the
 * cookbook uses, output shapes; preprocessing; the ImageNet class index.
 * Every layer's name, class and place against the list Keras' own
 * application code makes (fixtures/zoo/, gen_zoo_layers.py).
 * (Outputs against PyTorch: test_zoo_torch.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

typedef struct {
    tc_zoo_arch arch;
    bool top;
    int64_t total, non_trainable;
    int layers;
    int64_t out[3];
} expect;

/* Keras 2's summary() and len(model.layers) of keras.applications models */
static const expect EXPECT[] = {
    {TC_ZOO_VGG16, true, 138357544, 0, 23, {1000}},
    {TC_ZOO_VGG16, false, 14714688, 0, 19, {7, 7, 512}},
    {TC_ZOO_VGG19, true, 143667240, 0, 26, {1000}},
    {TC_ZOO_VGG19, false, 20024384, 0, 22, {7, 7, 512}},
    {TC_ZOO_RESNET50, true, 25636712, 53120, 177, {1000}},
    {TC_ZOO_RESNET50, false, 23587712, 53120, 175, {7, 7, 2048}},
    {TC_ZOO_INCEPTION_V3, true, 23851784, 34432, 313, {1000}},
    {TC_ZOO_INCEPTION_V3, false, 21802784, 34432, 311, {8, 8, 2048}},
    {TC_ZOO_XCEPTION, true, 22910480, 54528, 134, {1000}},
    {TC_ZOO_XCEPTION, false, 20861480, 54528, 132, {10, 10, 2048}},
};

static const char *name_at(const tc_model *m, int i) { return tc_layer_name(tc_zoo_layer_at(m, i)); }

static void test_counts_and_layers(void **state)
{
    for (size_t k = 0; k < sizeof EXPECT / sizeof *EXPECT; k++) {
        const expect *e = &EXPECT[k];
        tc_model *m = tc_zoo_model(e->arch, &(tc_zoo_opts){.include_top = e->top});
        tc_assert_ok(m);
        int64_t t, n, total = tc_model_count_params(m, &t, &n);
        if (total != e->total || n != e->non_trainable)
            fail_msg("%s top=%d: %lld params (%lld non-trainable), Keras %lld (%lld)", tc_zoo_arch_name(e->arch), e->top,
                     (long long)total, (long long)n, (long long)e->total, (long long)e->non_trainable);
        assert_int_equal(tc_zoo_layer_count(m), e->layers);
        int64_t shape[4];
        int nd = tc_model_output_shape(m, 0, shape);
        assert_int_equal(nd, e->top ? 1 : 3);
        for (int d = 0; d < nd; d++) assert_int_equal(shape[d], e->out[d]);
        assert_null(tc_zoo_layer_at(m, 0)); /* the InputLayer */
        switch (e->arch) {
        case TC_ZOO_VGG16:
            assert_string_equal(name_at(m, 1), "block1_conv1");
            assert_string_equal(name_at(m, 13), "block4_conv3");
            assert_string_equal(name_at(m, 14), "block4_pool"); /* layers[:15] frozen: blocks 1 to 4 */
            assert_string_equal(name_at(m, 15), "block5_conv1");
            if (e->top) {
                assert_string_equal(name_at(m, 19), "flatten");
                assert_string_equal(name_at(m, 22), "predictions");
            }
            break;
        case TC_ZOO_RESNET50:
            assert_string_equal(name_at(m, 2), "conv1_conv");
            assert_string_equal(name_at(m, 12), "conv2_block1_2_relu");
            assert_string_equal(name_at(m, 13), "conv2_block1_0_conv");
            assert_string_equal(name_at(m, 14), "conv2_block1_3_conv");
            assert_string_equal(name_at(m, 15), "conv2_block1_0_bn");
            assert_string_equal(name_at(m, 174), "conv5_block3_out");
            if (e->top) assert_string_equal(name_at(m, 176), "predictions");
            break;
        case TC_ZOO_INCEPTION_V3:
            assert_string_equal(name_at(m, 18), "conv2d_8"); /* the depth order mixes the branches */
            assert_string_equal(name_at(m, 40), "mixed0");
            assert_string_equal(name_at(m, 248), "mixed8");
            assert_string_equal(name_at(m, 249), "conv2d_80");
            assert_string_equal(name_at(m, 310), "mixed10");
            assert_string_equal(tc_zoo_inception_block_of(m, 249), "mixed9");
            assert_string_equal(tc_zoo_inception_block_of(m, 172), "mixed6"); /* the Keras 1 index */
            assert_string_equal(tc_layer_type(tc_zoo_layer_at(m, 2)), "BatchNormalization");
            assert_int_equal(tc_layer_weight_count(tc_zoo_layer_at(m, 2)), 3); /* scale=False: no gamma */
            assert_string_equal(tc_layer_weight_name(tc_zoo_layer_at(m, 2), 0), "beta");
            assert_int_equal(tc_layer_weight_count(tc_zoo_layer_at(m, 1)), 1);  /* no bias */
            break;
        case TC_ZOO_XCEPTION:
            assert_string_equal(name_at(m, 12), "conv2d");
            assert_string_equal(name_at(m, 13), "block2_pool");
            assert_string_equal(name_at(m, 14), "batch_normalization");
            assert_string_equal(name_at(m, 15), "add");
            assert_string_equal(name_at(m, 131), "block14_sepconv2_act");
            break;
        default:
            assert_string_equal(name_at(m, 15), "block4_conv4");
            assert_string_equal(name_at(m, 21), "block5_pool");
            break;
        }
        tc_model_free(m);
    }
}

/* Every model.layers[i] (name and class) equals the list Keras' own
 * application code gives (tests/fixtures/gen_zoo_layers.py runs
 * keras_applications 1.0.8 with a recording stand-in for Keras and orders
 * the layers as Keras' map_graph). keras_applications calls ResNet50's
 * classifier 'probs'; tf.keras and Keras 3 (and tensorcook) 'predictions'. */
static void test_layers_equal_keras_code(void **state)
{
    struct {
        const char *file;
        tc_zoo_arch arch;
        bool keras22;
    } models[] = {{"vgg16", TC_ZOO_VGG16, false}, {"vgg19", TC_ZOO_VGG19, false}, {"resnet50", TC_ZOO_RESNET50, false},
                  {"resnet50_keras22", TC_ZOO_RESNET50, true}, {"inception_v3", TC_ZOO_INCEPTION_V3, false},
                  {"xception", TC_ZOO_XCEPTION, false}};
    for (size_t k = 0; k < sizeof models / sizeof *models; k++)
        for (int top = 1; top >= 0; top--) {
            char path[512];
            snprintf(path, sizeof path, "%s/zoo/%s%s.txt", TC_FIXTURES, models[k].file, top ? "" : "_notop");
            FILE *f = fopen(path, "r");
            if (!f) fail_msg("missing %s", path);
            /* width_div only changes widths, not names or order: cheap models */
            tc_model *m = tc_zoo_model(models[k].arch, &(tc_zoo_opts){.include_top = top, .width_div = 16,
                                                                      .keras22_names = models[k].keras22});
            tc_assert_ok(m);
            long long params = 0;
            assert_int_equal(fscanf(f, "params %lld\n", &params), 1);
            int i, n = 0;
            char name[128], cls[64];
            while (fscanf(f, "%d %127s %63s\n", &i, name, cls) == 3) {
                assert_int_equal(i, n);
                const char *tn = i ? tc_layer_name(tc_zoo_layer_at(m, i)) : "input_1";
                const char *tt = i ? tc_layer_type(tc_zoo_layer_at(m, i)) : "InputLayer";
                if (!tn) fail_msg("%s: Keras has layers[%d] = %s, tensorcook has %d layers", path, i, name, tc_zoo_layer_count(m));
                bool same = !strcmp(tn, name) || (!strcmp(name, "probs") && !strcmp(tn, "predictions"));
                if (!same || strcmp(tt, cls))
                    fail_msg("%s: layers[%d] is %s (%s) in Keras, %s (%s) here", path, i, name, cls, tn, tt);
                n++;
            }
            fclose(f);
            assert_int_equal(n, tc_zoo_layer_count(m));
            tc_model_free(m);
            /* the count from Keras' code is the one the full-width model has (test_counts_and_layers) */
            for (size_t e = 0; e < sizeof EXPECT / sizeof *EXPECT; e++)
                if (EXPECT[e].arch == models[k].arch && EXPECT[e].top == top) assert_int_equal(params, EXPECT[e].total);
        }
}

static void test_summary_and_freezing(void **state)
{
    tc_model *m = tc_zoo_model(TC_ZOO_VGG16, &(tc_zoo_opts){.include_top = false, .height = 256, .width = 256});
    tc_assert_ok(m);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(tc_model_summary(m, f), TC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "block5_pool (MaxPooling2D)"));
    assert_non_null(strstr(buf, "(None, 8, 8, 512)"));
    assert_non_null(strstr(buf, "Total params: 14,714,688"));
    free(buf);
    /* the seed: layers[:15] frozen leaves block5's three convolutions */
    tc_zoo_set_trainable(m, 0, 15, false);
    int64_t t, n;
    tc_model_count_params(m, &t, &n);
    assert_int_equal(t, 3 * (512 * 512 * 9 + 512));
    assert_int_equal(n, 14714688 - t);
    assert_false(tc_layer_trainable(tc_model_layer(m, "block4_conv3")));
    assert_true(tc_layer_trainable(tc_model_layer(m, "block5_conv1")));
    tc_model_free(m);
    /* InceptionV3: layers[249:] trainable = mixed9 and mixed10 */
    m = tc_zoo_model(TC_ZOO_INCEPTION_V3, &(tc_zoo_opts){.include_top = false, .width_div = 8});
    tc_assert_ok(m);
    tc_zoo_set_trainable(m, 0, 249, false);
    assert_false(tc_layer_trainable(tc_model_layer(m, "mixed8")));
    assert_true(tc_layer_trainable(tc_zoo_layer_at(m, 249)));
    tc_model_free(m);
}

/* every architecture runs, at reduced width and small inputs, with the
 * right output shapes; ResNet50 with Keras 2.2's names too */
static void test_forward_shapes(void **state)
{
    struct {
        tc_zoo_arch a;
        int64_t size, out;
        bool old;
    } cases[] = {{TC_ZOO_VGG16, 32, 1, false}, {TC_ZOO_VGG19, 64, 2, false}, {TC_ZOO_RESNET50, 64, 2, false},
                 {TC_ZOO_RESNET50, 64, 2, true}, {TC_ZOO_INCEPTION_V3, 75, 1, false}, {TC_ZOO_XCEPTION, 71, 3, false}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tc_model *m = tc_zoo_model(cases[k].a, &(tc_zoo_opts){.include_top = false, .height = cases[k].size,
                                                              .width = cases[k].size, .width_div = 16,
                                                              .keras22_names = cases[k].old});
        tc_assert_ok(m);
        if (cases[k].old) {
            assert_non_null(tc_model_layer(m, "res2a_branch2a"));
            assert_non_null(tc_model_layer(m, "bn5c_branch2c"));
        }
        tc_tensor *x = tc_full(TC_SHAPE(2, cases[k].size, cases[k].size, 3), 0.5);
        tc_tensor *y = tc_model_forward(m, x, false);
        tc_assert_ok(y);
        assert_int_equal(y->ndim, 4);
        assert_int_equal(y->shape[1], cases[k].out);
        tc_model_free(m);
        tc_step_reset();
    }
    /* pooling and classes */
    tc_model *m = tc_zoo_model(TC_ZOO_XCEPTION, &(tc_zoo_opts){.include_top = false, .pooling = TC_ZOO_POOL_MAX,
                                                               .width_div = 16, .height = 71, .width = 71});
    tc_assert_ok(m);
    int64_t s[4];
    assert_int_equal(tc_model_output_shape(m, 0, s), 1);
    assert_int_equal(s[0], 2048 / 16);
    assert_string_equal(tc_layer_type(tc_zoo_layer_at(m, tc_zoo_layer_count(m) - 1)), "GlobalMaxPooling2D");
    tc_model_free(m);
    m = tc_zoo_model(TC_ZOO_RESNET50, &(tc_zoo_opts){.include_top = true, .classes = 7, .width_div = 16});
    tc_assert_ok(m);
    assert_int_equal(tc_model_output_shape(m, 0, s), 1);
    assert_int_equal(s[0], 7);
    tc_model_free(m);
    tc_assert_error(tc_zoo_model(TC_ZOO_VGG16, &(tc_zoo_opts){.include_top = true, .height = 256, .width = 256}), "vgg16",
                    "224x224");
    tc_assert_error(tc_zoo_model(TC_ZOO_INCEPTION_V3, &(tc_zoo_opts){.height = 60, .width = 60}), "inception_v3",
                    "minimum");
    assert_int_equal(tc_zoo_arch_from_name("InceptionV3"), TC_ZOO_INCEPTION_V3);
    assert_int_equal(tc_zoo_arch_from_name("resnet50"), TC_ZOO_RESNET50);
    assert_int_equal(tc_zoo_arch_from_name("alexnet"), -1);
}

static void test_preprocess(void **state)
{
    tc_tensor *x = tc_copy_of((tc_scalar[]){10, 20, 30, 255, 0, 127.5}, TC_SHAPE(1, 2, 3));
    assert_int_equal(tc_preprocess_input(x, TC_PREPROCESS_CAFFE), TC_OK);
    const double caffe[] = {30 - 103.939, 20 - 116.779, 10 - 123.68, 127.5 - 103.939, 0 - 116.779, 255 - 123.68};
    for (int i = 0; i < 6; i++) assert_true(fabs(x->data[i] - caffe[i]) < 1e-4);
    x = tc_copy_of((tc_scalar[]){0, 127.5, 255}, TC_SHAPE(1, 3));
    assert_int_equal(tc_preprocess_input(x, TC_PREPROCESS_TF), TC_OK);
    assert_true(x->data[0] == -1 && x->data[1] == 0 && x->data[2] == 1);
    assert_int_equal(tc_zoo_preprocess_mode(TC_ZOO_RESNET50), TC_PREPROCESS_CAFFE);
    assert_int_equal(tc_zoo_preprocess_mode(TC_ZOO_XCEPTION), TC_PREPROCESS_TF);
    tc_step_reset();
}

static void test_labels(void **state)
{
    if (access("/usr/share/darknet/data/imagenet.labels.list", R_OK) == 0) {
        tc_labels *l = tc_imagenet_labels_darknet(NULL);
        tc_assert_ok(l);
        assert_int_equal(l->n, 1000);
        assert_string_equal(l->names[0], "tench");
        assert_string_equal(l->ids[0], "n01440764");
        assert_string_equal(l->names[1], "goldfish");
        assert_string_equal(l->names[207], "golden retriever");
        assert_string_equal(l->names[999], "toilet tissue");
        tc_labels_free(l);
    } else {
        print_message("darknet lists missing: skipped the ImageNet index\n");
    }
    char dir[] = "/tmp/tc_test_zoo_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/index.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"0\": [\"n01440764\", \"tench\"], \"2\": [\"n01484850\", \"great_white_shark\"],\n \"1\": [\"n01443537\", \"goldfish\"]}\n", f);
    fclose(f);
    tc_labels *l = tc_labels_load(path);
    tc_assert_ok(l);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->names[2], "great_white_shark");
    assert_string_equal(l->ids[1], "n01443537");
    tc_labels_free(l);
    f = fopen(path, "w");
    fputs("{\"0\": [\"n01440764\", \"tench\"], \"2\": [\"x\", \"y\"]}", f);
    fclose(f);
    tc_assert_error(tc_labels_load(path), path, "class index");
    snprintf(path, sizeof path, "%s/names.txt", dir);
    f = fopen(path, "w");
    fputs("cat\ndog\r\nbird\n\n", f);
    fclose(f);
    l = tc_labels_load(path);
    tc_assert_ok(l);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->names[1], "dog");
    tc_labels_free(l);
    tc_assert_error(tc_imagenet_labels_darknet(dir), "imagenet.labels.list", "cannot open");
    tc_assert_error(tc_labels_load("/nonexistent/labels.txt"), "/nonexistent/labels.txt");
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* avg_pool: the same VGG with 2x2 SAME average pooling closing each block
 * (style transfer's network): shapes on an odd size, each pooling against
 * a naive TF-SAME average (the padded cells not counted) of the layer
 * before it, one pass for several layers equal to separate passes, and the
 * option refused for other architectures. */
static void test_vgg_avg_pool(void **state)
{
    (void)state;
    for (int vgg19 = 0; vgg19 < 2; vgg19++) {
        tc_zoo_arch a = vgg19 ? TC_ZOO_VGG19 : TC_ZOO_VGG16;
        tc_model *m = tc_zoo_model(a, &(tc_zoo_opts){.include_top = false, .height = 35, .width = 42, .width_div = 16,
                                                     .avg_pool = true});
        tc_assert_ok(m);
        assert_int_equal(tc_zoo_layer_count(m), vgg19 ? 22 : 19);
        int64_t s[4];
        assert_int_equal(tc_model_output_shape(m, 0, s), 3);
        assert_int_equal(s[0], 2); /* 35 -> 18 -> 9 -> 5 -> 3 -> 2 (VALID would give 1) */
        assert_int_equal(s[1], 2); /* 42 -> 21 -> 11 -> 6 -> 3 -> 2 */
        tc_tensor *x = tc_tensor_new(4, (int64_t[]){1, 35, 42, 3});
        for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] = (tc_scalar)(40 * sin(0.37 * (double)i));
        const char *last[5] = {"block1_conv2", "block2_conv2", vgg19 ? "block3_conv4" : "block3_conv3",
                               vgg19 ? "block4_conv4" : "block4_conv3", vgg19 ? "block5_conv4" : "block5_conv3"};
        for (int b = 0; b < 5; b++) {
            char pool[32];
            snprintf(pool, sizeof pool, "block%d_pool", b + 1);
            assert_string_equal(tc_layer_type(tc_model_layer(m, pool)), "AveragePooling2D");
            const char *names[2] = {last[b], pool};
            tc_tensor *o[2];
            assert_int_equal(tc_model_forward_layers(m, x, 2, names, false, o), TC_OK);
            tc_tensor *alone = tc_model_forward_to(m, x, pool, false);
            tc_assert_ok(alone);
            const tc_tensor *in = o[0], *y = o[1];
            int64_t H = in->shape[1], W = in->shape[2], C = in->shape[3];
            assert_int_equal(y->shape[1], (H + 1) / 2);
            assert_int_equal(y->shape[2], (W + 1) / 2);
            double worst = 0;
            for (int64_t i = 0; i < y->shape[1]; i++)
                for (int64_t j = 0; j < y->shape[2]; j++)
                    for (int64_t c = 0; c < C; c++) {
                        double sum = 0;
                        int cnt = 0;
                        for (int64_t di = 0; di < 2; di++)
                            for (int64_t dj = 0; dj < 2; dj++)
                                if (2 * i + di < H && 2 * j + dj < W)
                                    sum += in->data[((2 * i + di) * W + 2 * j + dj) * C + c], cnt++;
                        int64_t k = (i * y->shape[2] + j) * C + c;
                        worst = fmax(worst, fabs(sum / cnt - y->data[k]));
                        assert_true(alone->data[k] == y->data[k]);
                    }
            assert_true(worst < 1e-4);
        }
        tc_tensor_free(x);
        tc_model_free(m);
        tc_step_reset();
    }
    tc_assert_error(tc_zoo_model(TC_ZOO_RESNET50, &(tc_zoo_opts){.avg_pool = true, .width_div = 16}), "resnet50",
                    "VGG16 and VGG19 only");
    tc_model *m = tc_zoo_model(TC_ZOO_VGG16, &(tc_zoo_opts){.include_top = false, .height = 32, .width = 32, .width_div = 16});
    tc_assert_ok(m);
    tc_tensor *o[1];
    assert_int_not_equal(tc_model_forward_layers(m, tc_full(TC_SHAPE(1, 32, 32, 3), 1), 1,
                                                 (const char *[]){"block9_conv1"}, false, o),
                         TC_OK);
    assert_non_null(strstr(tc_last_error(), "block9_conv1"));
    tc_model_free(m);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_layers), cmocka_unit_test(test_layers_equal_keras_code),
        cmocka_unit_test(test_summary_and_freezing),
        cmocka_unit_test(test_forward_shapes),   cmocka_unit_test(test_preprocess),
        cmocka_unit_test(test_labels), cmocka_unit_test(test_vgg_avg_pool),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
