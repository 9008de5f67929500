/* Checkpoints (round trip, mismatch listing, corrupt and truncated files,
 * atomic writes), fit on a small synthetic task (loss falls, resuming is
 * exact), and the metric logs (CSV, TensorBoard records with valid CRCs). */
#define _GNU_SOURCE
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static tc_model *small_model(int hidden)
{
    tc_nn_seed(3);
    return tc_sequential_with_input("small", 1, (int64_t[]){4}, (tc_layer *[]){
        tc_dense(&(tc_dense_opts){.units = hidden, .act = TC_TANH}), tc_batchnorm(NULL),
        tc_dense(&(tc_dense_opts){.units = 3}), NULL});
}

/* 3 classes by the sign pattern of two features */
static tc_dataset *synthetic(int n, uint64_t seed)
{
    tc_dataset *d = calloc(1, sizeof *d);
    d->x = tc_tensor_new(TC_SHAPE(n, 4));
    d->y = tc_tensor_new(TC_SHAPE(n));
    d->classes = 3;
    tc_rng r = tc_rng_new(seed);
    tc_rng_normal(&r, d->x->data, n * 4, 0, 1);
    for (int i = 0; i < n; i++) {
        tc_scalar a = d->x->data[i * 4], b = d->x->data[i * 4 + 1];
        d->y->data[i] = a > 0 ? (b > 0 ? 0 : 1) : 2;
    }
    return d;
}

static void checkpoints(void **state)
{
    tc_model *m = small_model(8), *m2 = small_model(8), *other = small_model(5);
    tc_optimizer *opt = tc_adam(0.01), *opt2 = tc_adam(0.01);
    tc_dataset *d = synthetic(64, 1);
    assert_int_equal(tc_fit(m, d, &(tc_fit_opts){.iterations = 5, .batch = 16, .optimizer = opt}, NULL), TC_OK);
    assert_int_equal(tc_save_model(p("m.tcck"), m, opt), TC_OK);
    assert_int_equal(tc_load_model(p("m.tcck"), m2, opt2), TC_OK);
    for (int i = 0; i < tc_model_param_count(m); i++)
        assert_memory_equal(tc_model_param(m, i)->data, tc_model_param(m2, i)->data,
                            sizeof(tc_scalar) * (size_t)tc_numel(tc_model_param(m, i)));
    assert_int_equal(tc_optimizer_steps(opt2), 5);
    /* resuming continues exactly: the same next step from both */
    assert_int_equal(tc_fit(m, d, &(tc_fit_opts){.iterations = 3, .batch = 16, .optimizer = opt, .seed = 9}, NULL), TC_OK);
    assert_int_equal(tc_fit(m2, d, &(tc_fit_opts){.iterations = 3, .batch = 16, .optimizer = opt2, .seed = 9}, NULL), TC_OK);
    for (int i = 0; i < tc_model_param_count(m); i++)
        assert_memory_equal(tc_model_param(m, i)->data, tc_model_param(m2, i)->data,
                            sizeof(tc_scalar) * (size_t)tc_numel(tc_model_param(m, i)));
    /* a different model: every mismatch in one message, nothing loaded */
    tc_scalar before = tc_model_param(other, 0)->data[0];
    assert_int_not_equal(tc_load_model(p("m.tcck"), other, NULL), TC_OK);
    assert_non_null(strstr(tc_last_error(), "dense/kernel is [4, 8] in the file but [4, 5] in the model"));
    assert_non_null(strstr(tc_last_error(), "batch_normalization/gamma"));
    assert_true(tc_model_param(other, 0)->data[0] == before);
    /* corrupt and truncated files */
    FILE *f = fopen(p("m.tcck"), "r+b");
    fseek(f, 40, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    tc_assert_error(tc_checkpoint_load(p("m.tcck")), "m.tcck", "checksum");
    assert_int_equal(truncate(p("m.tcck"), 30), 0);
    tc_assert_error(tc_checkpoint_load(p("m.tcck")), "m.tcck");
    tc_assert_error(tc_checkpoint_load(p("none.tcck")), "none.tcck", "cannot open");
    /* an unwritable target leaves no file behind */
    assert_int_not_equal(tc_save_model("/nonexistent/dir/x.tcck", m, NULL), TC_OK);
    assert_non_null(strstr(tc_last_error(), "/nonexistent/dir/x.tcck"));
    tc_optimizer_free(opt);
    tc_optimizer_free(opt2);
    tc_model_free(m);
    tc_model_free(m2);
    tc_model_free(other);
    tc_dataset_free(d);
}

static void fit_learns_and_logs(void **state)
{
    tc_model *m = small_model(16);
    tc_optimizer *opt = tc_adam(0.02);
    tc_dataset *d = synthetic(400, 2);
    double loss0, acc0;
    assert_int_equal(tc_evaluate(m, d, TC_LOSS_SPARSE_CE, 50, 0, &loss0, &acc0), TC_OK);
    tc_fit_result r;
    assert_int_equal(tc_fit(m, d, &(tc_fit_opts){.epochs = 15, .batch = 32, .optimizer = opt, .validation_split = 0.25,
                                                 .csv_path = p("m.csv"), .tensorboard_dir = p("tb"),
                                                 .plot_prefix = p("plot"), .early_stopping_patience = 50}, &r),
                     TC_OK);
    double loss1, acc1;
    assert_int_equal(tc_evaluate(m, d, TC_LOSS_SPARSE_CE, 50, 0, &loss1, &acc1), TC_OK);
    print_message("loss %.3f -> %.3f, accuracy %.3f -> %.3f\n", loss0, loss1, acc0, acc1);
    assert_true(loss1 < loss0 * 0.5);
    assert_true(acc1 > 0.9);
    assert_true(r.val_accuracy > 0.85);
    assert_int_equal(tc_dataset_size(d), 400); /* the split worked on a copy */
    /* CSV: a header and one row per epoch (evaluation at the end of each) */
    FILE *f = fopen(p("m.csv"), "r");
    assert_non_null(f);
    char line[256];
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    while (fgets(line, sizeof line, f)) rows++;
    fclose(f);
    assert_true(rows >= 15);
    struct stat st;
    assert_int_equal(stat(p("plot_loss.png"), &st), 0);
    assert_int_equal(stat(p("plot_accuracy.png"), &st), 0);
    /* the predictions of tc_predict are the model's */
    tc_tensor *pr = tc_predict(m, d->x, 64);
    tc_assert_ok(pr);
    assert_int_equal(pr->shape[0], 400);
    tc_tensor_free(pr);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(d);
}

static uint32_t crc32c(const uint8_t *q, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= q[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void tensorboard_records_parse(void **state)
{
    tc_metrics rows[2] = {{10, 1, 0.5, 0.8, NAN, NAN, 1}, {20, 1, 0.25, 0.9, 0.3, 0.85, 2}};
    assert_int_equal(tc_write_tensorboard(p("tb2"), 2, rows), TC_OK);
    char cmd[300], name[300];
    snprintf(cmd, sizeof cmd, "ls %s/events.out.tfevents.*", p("tb2"));
    FILE *ls = popen(cmd, "r");
    assert_non_null(fgets(name, sizeof name, ls));
    pclose(ls);
    name[strcspn(name, "\n")] = '\0';
    FILE *f = fopen(name, "rb");
    assert_non_null(f);
    int records = 0;
    uint64_t len;
    while (fread(&len, 8, 1, f) == 1) {
        uint32_t lc, dc;
        assert_int_equal(fread(&lc, 4, 1, f), 1);
        uint32_t c = crc32c((uint8_t *)&len, 8);
        assert_int_equal(lc, ((c >> 15) | (c << 17)) + 0xa282ead8u);
        uint8_t *data = malloc(len);
        assert_int_equal(fread(data, 1, len, f), len);
        assert_int_equal(fread(&dc, 4, 1, f), 1);
        c = crc32c(data, len);
        assert_int_equal(dc, ((c >> 15) | (c << 17)) + 0xa282ead8u);
        if (records == 0) assert_non_null(memmem(data, len, "brain.Event:2", 13));
        free(data);
        records++;
    }
    fclose(f);
    assert_int_equal(records, 1 + 2 + 4); /* version, 2 scalars, 4 scalars */
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tc_train_test_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoints),
        cmocka_unit_test(fit_learns_and_logs),
        cmocka_unit_test(tensorboard_records_parse),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    tc_shutdown();
    return rc;
}
