/* MatConvNet .mat import: a .mat and a Keras .h5 written from the same
 * random VGG19 weights by tests/fixtures/gen_matconvnet.py give the same
 * features (proves the FH x FW x FC x K orientation), the mean image from
 * meta.normalization and normalization, and one-line errors for bad files. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <string.h>

#include "tensorcook/tensorcook.h"

static int setup_all(void **state)
{
    (void)state;
    return tc_test_generate("matconvnet", "gen_matconvnet.py");
}

static int teardown_all(void **state)
{
    (void)state;
    if (tc_test_generated_cleanup() != 0) return -1;
    tc_shutdown();
    return 0;
}

static tc_model *small_vgg19(void)
{
    return tc_zoo_model(TC_ZOO_VGG19, &(tc_zoo_opts){.include_top = false, .height = 32, .width = 32, .width_div = 8});
}

static void same_features(const char *mat)
{
    tc_model *a = small_vgg19(), *b = small_vgg19();
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(tc_load_keras_weights(a, tc_test_at("vgg19.h5"), NULL), TC_OK);
    assert_int_equal(tc_load_matconvnet_weights(b, tc_test_at(mat)), TC_OK);
    tc_tensor *x = tc_tensor_new(4, (int64_t[]){1, 32, 32, 3});
    for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] = (tc_scalar)sin(0.37 * (double)i) * 50;
    tc_tensor *ya = tc_model_forward(a, x, false);
    tc_tensor *yb = tc_model_forward(b, x, false);
    assert_non_null(ya);
    assert_non_null(yb);
    assert_int_equal(tc_numel(ya), tc_numel(yb));
    double maxabs = 0, nz = 0;
    for (int64_t i = 0; i < tc_numel(ya); i++) {
        assert_true(ya->data[i] == yb->data[i]);
        maxabs = fmax(maxabs, fabs((double)ya->data[i]));
        nz += ya->data[i] != 0;
    }
    assert_true(maxabs > 0 && nz > 0); /* features that can tell orientations apart */
    tc_step_reset();
    tc_tensor_free(x);
    tc_model_free(a);
    tc_model_free(b);
}

static void test_compressed_equals_h5(void **state) { (void)state; same_features("vgg19_z.mat"); }
static void test_uncompressed_equals_h5(void **state) { (void)state; same_features("vgg19_u.mat"); }

static void test_mean(void **state)
{
    (void)state;
    double m[3];
    assert_int_equal(tc_matconvnet_mean(tc_test_at("vgg19_z.mat"), m), TC_OK); /* meta.normalization */
    assert_true(fabs(m[0] - 123.68) < 1e-9 && fabs(m[1] - 116.779) < 1e-9 && fabs(m[2] - 103.939) < 1e-9);
    assert_int_equal(tc_matconvnet_mean(tc_test_at("vgg19_u.mat"), m), TC_OK); /* normalization */
    assert_true(fabs(m[2] - 103.939) < 1e-9);
}

static void expect_error(const char *file, const char *words)
{
    tc_model *a = small_vgg19();
    tc_status st = tc_load_matconvnet_weights(a, tc_test_at(file));
    assert_int_not_equal(st, TC_OK);
    assert_non_null(strstr(tc_last_error(), file));
    assert_non_null(strstr(tc_last_error(), words));
    assert_null(strchr(tc_last_error(), '\n'));
    tc_model_free(a);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_error("nolayers.mat", "no cell array 'layers'");
    expect_error("badshape.mat", "kernel 5x5x3x8");
    expect_error("truncated.mat", ".mat");
    expect_error("random.mat", "not a readable MATLAB .mat file");
}

/* The inputs the fuzzer found (tests/fuzz/regressions/matconvnet): each
 * loads or fails with a one-line error naming the file, never crashes;
 * oom-* files (a forged size that libmatio would allocate before reading)
 * are refused by the size check. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    const char *dir = TC_FIXTURES "/../fuzz/regressions/matconvnet";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int seen = 0, oom = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tc_model *a = small_vgg19();
        assert_non_null(a);
        tc_status st = tc_load_matconvnet_weights(a, path);
        if (st != TC_OK) {
            assert_non_null(strstr(tc_last_error(), e->d_name));
            assert_null(strchr(tc_last_error(), '\n'));
        }
        if (!strncmp(e->d_name, "oom-", 4)) {
            assert_int_not_equal(st, TC_OK);
            assert_non_null(strstr(tc_last_error(), "damaged .mat file"));
            double mean[3];
            assert_int_not_equal(tc_matconvnet_mean(path, mean), TC_OK);
            oom++;
        }
        tc_model_free(a);
        tc_step_reset();
        seen++;
    }
    closedir(d);
    assert_true(seen > 0 && oom > 0);
}

/* The size check before libmatio reads: every kind of variable scipy
 * writes passes (compressed or not), forged element counts are refused
 * with one line, in plain and in compressed variables. */
static void test_size_check(void **state)
{
    (void)state;
    double m[3];
    const char *good[] = {"varied_u.mat", "varied_z.mat"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tc_matconvnet_mean(tc_test_at(good[k]), m), TC_OK);
        assert_true(fabs(m[0] - 123.68) < 1e-9 && fabs(m[2] - 103.939) < 1e-9);
    }
    const char *forged[] = {"forged_u.mat", "forged_z.mat"};
    for (int k = 0; k < 2; k++) {
        assert_int_not_equal(tc_matconvnet_mean(tc_test_at(forged[k]), m), TC_OK);
        assert_non_null(strstr(tc_last_error(), forged[k]));
        assert_non_null(strstr(tc_last_error(), "damaged .mat file: an array declares 1610612736 elements"));
        assert_non_null(strstr(tc_last_error(), "in variable meta"));
        assert_null(strchr(tc_last_error(), '\n'));
        expect_error(forged[k], "damaged .mat file");
    }
}

static void test_names(void **state)
{
    (void)state;
    char out[64];
    tc_matconvnet_keras_name("conv4_2", out, sizeof out);
    assert_string_equal(out, "block4_conv2");
    tc_matconvnet_keras_name("fc6", out, sizeof out);
    assert_string_equal(out, "fc6");
    tc_matconvnet_keras_name("conv4_2x", out, sizeof out);
    assert_string_equal(out, "conv4_2x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compressed_equals_h5), cmocka_unit_test(test_uncompressed_equals_h5),
        cmocka_unit_test(test_mean), cmocka_unit_test(test_bad_files), cmocka_unit_test(test_names),
        cmocka_unit_test(test_size_check),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
