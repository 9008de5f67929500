/* Checkpoints: bit-exact round trips (parameters, batch-norm statistics,
 * optimizer slots, dropout generator, extra scalars and tensors), exact
 * resumption of training, one error listing every name/shape mismatch,
 * bad files (missing, wrong magic, truncated, corrupt) and atomic writes. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *path_in_dir(const char *file)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, file);
    return buf[k];
}

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* Dense -> BatchNorm -> Dropout -> Dense: trainable weights, non-trainable
 * moving statistics and a dropout generator, all part of the state. */
static tc_model *small_model(uint64_t seed)
{
    tc_nn_seed(seed);
    tc_model *m = tc_sequential("small", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 6, .act = TC_RELU, .input_dim = 5}),
        tc_batchnorm(NULL),
        tc_dropout_layer(0.3, NULL),
        tc_dense(&(tc_dense_opts){.units = 3}),
        NULL});
    tc_nn_seed(42);
    return m;
}

/* Steps first .. first+n-1, each on its own fixed batch. */
static void train_steps(tc_model *m, tc_optimizer *opt, int first, int n)
{
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    for (int s = first; s < first + n; s++) {
        tc_rng r = tc_rng_new(1000 + (uint64_t)s);
        tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(8, 5), -1, 1);
        tc_tensor *y = tc_zeros(TC_SHAPE(8));
        for (int i = 0; i < 8; i++) y->data[i] = (tc_scalar)((i + s) % 3);
        tc_zero_grads(np, params);
        tc_tensor *loss = tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), y, NULL, TC_REDUCE_MEAN);
        tc_assert_ok(loss);
        assert_int_equal(tc_backward(loss), TC_OK);
        assert_int_equal(tc_optimizer_step(opt, np, params), TC_OK);
        tc_step_reset();
    }
}

static void assert_same_params_(const tc_model *a, const tc_model *b, int line)
{
    assert_int_equal(tc_model_param_count(a), tc_model_param_count(b));
    for (int i = 0; i < tc_model_param_count(a); i++) {
        const tc_tensor *p = tc_model_param(a, i), *q = tc_model_param(b, i);
        assert_string_equal(tc_model_param_name(a, i), tc_model_param_name(b, i));
        assert_true(tc_same_shape(p, q));
        if (memcmp(p->data, q->data, sizeof(tc_scalar) * (size_t)tc_numel(p)))
            fail_msg("line %d: parameter %s differs", line, tc_model_param_name(a, i));
    }
}

#define assert_same_params(a, b) assert_same_params_((a), (b), __LINE__)

static void round_trip_is_bit_exact(void **state)
{
    tc_model *m = small_model(42);
    tc_assert_ok(m);
    tc_optimizer *opt = tc_adam(1e-2);
    train_steps(m, opt, 0, 3); /* moving stats, Adam's m and v, steps = 3 */
    assert_true(tc_model_param_by_name(m, "batch_normalization/moving_mean")->data[0] != 0);

    tc_checkpoint *extra = tc_checkpoint_new();
    assert_int_equal(tc_checkpoint_put_scalar(extra, "epoch", 7), TC_OK);
    assert_int_equal(tc_checkpoint_put_scalar(extra, "step", 123456789012.0), TC_OK); /* > 2^24: needs float64 */
    assert_int_equal(tc_checkpoint_put_scalar(extra, "lr", 0.1), TC_OK);
    tc_tensor *hist = tc_tensor_from(TC_SHAPE(3), (tc_scalar[]){0.5f, 0.25f, -1.0f / 3});
    assert_int_equal(tc_checkpoint_put(extra, "loss_history", hist), TC_OK);
    const char *path = path_in_dir("round.tcck");
    assert_int_equal(tc_checkpoint_save_model(m, opt, path, extra), TC_OK);

    /* another seed: every value must come from the file */
    tc_model *m2 = small_model(7);
    tc_optimizer *opt2 = tc_adam(1e-2);
    assert_true(memcmp(tc_model_param(m, 0)->data, tc_model_param(m2, 0)->data, sizeof(tc_scalar) * 30) != 0);
    tc_checkpoint *got = NULL;
    assert_int_equal(tc_checkpoint_load_model(m2, opt2, path, &got), TC_OK);
    assert_same_params(m, m2);
    assert_int_equal(tc_optimizer_steps(opt2), 3);
    for (int i = 0; i < tc_model_param_count(m); i++) {
        if (!tc_model_param_trainable(m, i)) continue;
        for (int s = 0; s < tc_optimizer_slot_count(opt); s++) {
            tc_tensor *a = tc_optimizer_slot(opt, tc_model_param(m, i), s);
            tc_tensor *b = tc_optimizer_slot(opt2, tc_model_param(m2, i), s);
            assert_int_equal(memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a)), 0);
        }
    }
    double v;
    assert_true(tc_checkpoint_get_scalar(got, "epoch", &v));
    assert_true(v == 7);
    assert_true(tc_checkpoint_get_scalar(got, "step", &v));
    assert_true(v == 123456789012.0);
    assert_true(tc_checkpoint_get_scalar(got, "lr", &v));
    assert_true(v == 0.1);
    assert_false(tc_checkpoint_get_scalar(got, "missing", &v));
    const tc_tensor *h = tc_checkpoint_get(got, "loss_history");
    assert_non_null(h);
    assert_int_equal(memcmp(h->data, hist->data, sizeof(tc_scalar) * 3), 0);
    assert_int_equal(tc_checkpoint_count(got), 4);

    /* the file itself: model parameters under their Keras names */
    tc_checkpoint *raw = tc_checkpoint_load(path);
    tc_assert_ok(raw);
    assert_non_null(tc_checkpoint_get(raw, "batch_normalization/moving_variance"));
    assert_non_null(tc_checkpoint_get(raw, "optimizer/dense/kernel/m"));
    assert_non_null(tc_checkpoint_get(raw, "extra/epoch"));
    assert_null(tc_checkpoint_get(raw, "optimizer/batch_normalization/moving_mean/m")); /* not trainable */
    tc_checkpoint_free(raw);
    tc_checkpoint_free(got);
    tc_checkpoint_free(extra);
    tc_tensor_free(hist);
    tc_optimizer_free(opt);
    tc_optimizer_free(opt2);
    tc_model_free(m);
    tc_model_free(m2);
    tc_step_reset();
}

/* 2 steps, save, load into a fresh model and optimizer, 2 more steps: the
 * same bits as 4 uninterrupted steps (dropout masks included). */
static void resumed_training_matches(void **state)
{
    tc_model *a = small_model(42);
    tc_optimizer *oa = tc_sgd(0.1, 0.9, false);
    train_steps(a, oa, 0, 4);

    tc_model *b = small_model(42);
    tc_optimizer *ob = tc_sgd(0.1, 0.9, false);
    train_steps(b, ob, 0, 2);
    const char *path = path_in_dir("resume.tcck");
    assert_int_equal(tc_save_model(path, b, ob), TC_OK);
    train_steps(b, ob, 2, 2);
    assert_same_params(a, b);

    tc_model *c = small_model(99);
    tc_optimizer *oc = tc_sgd(0.1, 0.9, false);
    assert_int_equal(tc_load_model(path, c, oc), TC_OK);
    train_steps(c, oc, 2, 2);
    assert_same_params(a, c);
    assert_int_equal(tc_optimizer_steps(oc), 4);

    /* without the optimizer state the run differs (momentum restarts): the
     * comparison above is not trivially true */
    tc_model *d = small_model(99);
    tc_optimizer *od = tc_sgd(0.1, 0.9, false);
    assert_int_equal(tc_load_model(path, d, NULL), TC_OK);
    train_steps(d, od, 2, 2);
    tc_tensor *pa = tc_model_param(a, 0), *pd = tc_model_param(d, 0);
    assert_true(memcmp(pa->data, pd->data, sizeof(tc_scalar) * (size_t)tc_numel(pa)) != 0);
    tc_optimizer_free(oa), tc_optimizer_free(ob), tc_optimizer_free(oc), tc_optimizer_free(od);
    tc_model_free(a), tc_model_free(b), tc_model_free(c), tc_model_free(d);
    tc_step_reset();
}

static void mismatches_are_listed_together(void **state)
{
    tc_model *saved = tc_sequential("saved", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 3, .input_dim = 4}),
        tc_dense(&(tc_dense_opts){.units = 2}),
        NULL});
    const char *path = path_in_dir("mismatch.tcck");
    assert_int_equal(tc_save_model(path, saved, NULL), TC_OK);
    /* dense: 4->5 instead of 4->3; no dense_1; a new layer "head" */
    tc_model *other = tc_sequential("other", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 5, .input_dim = 4}),
        tc_dense(&(tc_dense_opts){.units = 2, .name = "head"}),
        NULL});
    tc_assert_ok(other);
    tc_tensor *k = tc_model_param_by_name(other, "dense/kernel");
    tc_scalar before = k->data[0];
    assert_int_equal(tc_load_model(path, other, NULL), TC_ERR_SHAPE);
    tc_assert_error(NULL, path, "model 'other'", "6 mismatches",
                    "dense/kernel is [4, 3] in the file but [4, 5] in the model",
                    "dense/bias is [3] in the file but [5] in the model",
                    "missing head/kernel [5, 2]", "missing head/bias [2]",
                    "unexpected dense_1/kernel [3, 2]", "unexpected dense_1/bias [2]");
    assert_true(k->data[0] == before); /* nothing changed */
    /* the same model loads */
    tc_model *same = tc_sequential("same", (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = 3, .input_dim = 4}),
        tc_dense(&(tc_dense_opts){.units = 2}),
        NULL});
    assert_int_equal(tc_load_model(path, same, NULL), TC_OK);
    assert_same_params(saved, same);
    tc_model_free(saved), tc_model_free(other), tc_model_free(same);
    tc_step_reset();
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void bad_files_are_detected(void **state)
{
    tc_model *m = small_model(42);
    const char *good = path_in_dir("good.tcck");
    assert_int_equal(tc_save_model(good, m, NULL), TC_OK);
    FILE *f = fopen(good, "rb");
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof buf);

    const char *missing = path_in_dir("nope/none.tcck");
    assert_int_not_equal(tc_load_model(missing, m, NULL), TC_OK);
    tc_assert_error(NULL, missing, "cannot open");

    const char *bad = path_in_dir("bad.tcck");
    static const char junk[] = "PK\x03\x04 not a checkpoint at all";
    write_bytes(bad, junk, sizeof junk);
    assert_int_equal(tc_load_model(bad, m, NULL), TC_ERR_FORMAT);
    tc_assert_error(NULL, bad, "bad magic");

    write_bytes(bad, buf, 0);
    assert_null(tc_checkpoint_load(bad));
    tc_assert_error(NULL, bad, "bad magic");

    for (size_t cut = 8; cut < n; cut += n / 7) { /* truncated anywhere */
        write_bytes(bad, buf, cut);
        assert_null(tc_checkpoint_load(bad));
        tc_assert_error(NULL, bad, "truncated");
    }
    unsigned char flipped[sizeof buf];
    memcpy(flipped, buf, n);
    flipped[n / 2] ^= 0x10; /* one bit inside the data */
    write_bytes(bad, flipped, n);
    assert_null(tc_checkpoint_load(bad));
    tc_assert_error(NULL, bad, "checksum mismatch");

    memcpy(flipped, buf, n);
    flipped[4] = 99; /* a future version */
    write_bytes(bad, flipped, n);
    assert_null(tc_checkpoint_load(bad));
    tc_assert_error(NULL, bad, "unsupported format version 99");
    tc_model_free(m);
    tc_step_reset();
}

static void writes_are_atomic(void **state)
{
    tc_model *m = small_model(42);
    int before = files_in_dir();
    /* a folder that does not exist: an error naming the path, no file */
    const char *nowhere = path_in_dir("no/such/folder/x.tcck");
    assert_int_equal(tc_save_model(nowhere, m, NULL), TC_ERR_IO);
    tc_assert_error(NULL, nowhere, "cannot write");
    assert_int_equal(files_in_dir(), before);

    /* the target is a folder, so the final rename fails after the data was
     * written: the temporary file must be gone */
    const char *sub = path_in_dir("a_folder");
    assert_int_equal(mkdir(sub, 0700), 0);
    before = files_in_dir();
    assert_int_equal(tc_save_model(sub, m, NULL), TC_ERR_IO);
    tc_assert_error(NULL, sub, "write failed");
    assert_int_equal(files_in_dir(), before);
    rmdir(sub);

    /* replacing an existing checkpoint leaves exactly the new one */
    const char *path = path_in_dir("replace.tcck");
    assert_int_equal(tc_save_model(path, m, NULL), TC_OK);
    before = files_in_dir();
    tc_model_param(m, 0)->data[0] = 12.5f;
    assert_int_equal(tc_save_model(path, m, NULL), TC_OK);
    assert_int_equal(files_in_dir(), before);
    tc_model *back = small_model(3);
    assert_int_equal(tc_load_model(path, back, NULL), TC_OK);
    assert_true(tc_model_param(back, 0)->data[0] == 12.5f);
    tc_model_free(m), tc_model_free(back);
    tc_step_reset();
}

static void checkpoint_sets(void **state)
{
    tc_checkpoint *ck = tc_checkpoint_new();
    tc_tensor *a = tc_tensor_from(TC_SHAPE(2, 2), (tc_scalar[]){1, 2, 3, 4});
    assert_int_equal(tc_checkpoint_put(ck, "a", a), TC_OK);
    /* a strided view is stored in its logical order */
    tc_tensor *at = tc_transpose(a, (int[]){1, 0});
    assert_int_equal(tc_checkpoint_put(ck, "a_t", at), TC_OK);
    assert_int_equal(tc_checkpoint_put(ck, "a", tc_full(TC_SHAPE(1), 9)), TC_OK); /* replaces */
    assert_int_equal(tc_checkpoint_count(ck), 2);
    assert_true(tc_checkpoint_get(ck, "a")->data[0] == 9);
    assert_true(tc_checkpoint_get(ck, "a_t")->data[1] == 3);
    assert_string_equal(tc_checkpoint_name(ck, 1), "a_t");
    assert_null(tc_checkpoint_name(ck, 2));
    assert_int_equal(tc_checkpoint_put(ck, "", a), TC_ERR_ARG);
    assert_int_equal(tc_checkpoint_put(NULL, "x", a), TC_ERR_ARG);
    assert_int_equal(tc_checkpoint_put(ck, "x", NULL), TC_ERR_ARG);
    assert_int_equal(tc_checkpoint_save(ck, NULL), TC_ERR_ARG);
    const char *path = path_in_dir("set.tcck");
    assert_int_equal(tc_checkpoint_save(ck, path), TC_OK);
    tc_checkpoint *back = tc_checkpoint_load(path);
    tc_assert_ok(back);
    assert_int_equal(tc_checkpoint_count(back), 2);
    tc_tensor *expected = tc_tensor_from(TC_SHAPE(2, 2), (tc_scalar[]){1, 3, 2, 4});
    tc_assert_close(tc_checkpoint_get(back, "a_t"), expected, 0, 0);
    tc_tensor_free(expected);
    assert_int_equal(tc_checkpoint_save_model(NULL, NULL, path, NULL), TC_ERR_ARG);
    tc_checkpoint_free(back);
    tc_checkpoint_free(ck);
    tc_tensor_free(a);
    tc_step_reset();
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/tc_ckptXXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_bit_exact),
        cmocka_unit_test(resumed_training_matches),
        cmocka_unit_test(mismatches_are_listed_together),
        cmocka_unit_test(bad_files_are_detected),
        cmocka_unit_test(writes_are_atomic),
        cmocka_unit_test(checkpoint_sets),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    tc_shutdown();
    return rc;
}
