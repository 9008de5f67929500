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

/* Evaluations every N steps that do not fall on an epoch's last step still
 * drive the end-of-epoch callbacks: the best checkpoint, the epoch line and
 * the result carry the latest validation numbers, not NaN. */
static void mid_epoch_evaluations(void **state)
{
    tc_model *m = small_model(8);
    tc_optimizer *opt = tc_adam(0.02);
    tc_dataset *d = synthetic(64, 4), *v = synthetic(32, 5);
    FILE *log = tmpfile();
    tc_fit_result r;
    unlink(p("best.tcck"));
    assert_int_equal(tc_fit(m, d, &(tc_fit_opts){.epochs = 3, .batch = 16, .optimizer = opt, .validation = v,
                                                 .eval_every = 3, .progress = log,
                                                 .best_checkpoint_path = p("best.tcck")}, &r),
                     TC_OK);
    assert_int_equal(r.steps, 12);
    assert_int_equal(r.epochs, 3);
    assert_true(isfinite(r.val_loss) && isfinite(r.val_accuracy));
    struct stat st;
    assert_int_equal(stat(p("best.tcck"), &st), 0);
    char text[4096] = {0};
    rewind(log);
    size_t got = fread(text, 1, sizeof text - 1, log);
    fclose(log);
    assert_true(got > 0);
    assert_non_null(strstr(text, "epoch 3: loss"));
    assert_null(strstr(text, "nan"));
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(d);
    tc_dataset_free(v);
}

/* Once the arena has grown to a step's size (a first fit), further steps,
 * evaluations included, allocate nothing from the heap through it. */
static void steady_state_steps_do_not_malloc(void **state)
{
    tc_model *m = small_model(16);
    tc_optimizer *opt = tc_adam(0.01);
    tc_dataset *d = synthetic(96, 6), *v = synthetic(40, 7);
    tc_fit_opts o = {.iterations = 4, .batch = 32, .optimizer = opt, .validation = v, .eval_every = 2};
    assert_int_equal(tc_fit(m, d, &o, NULL), TC_OK);
    size_t before = tc_arena_malloc_count();
    o.iterations = 30;
    assert_int_equal(tc_fit(m, d, &o, NULL), TC_OK);
    assert_int_equal(tc_arena_malloc_count(), before);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(d);
    tc_dataset_free(v);
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

/* A protobuf reader for the few Event fields: returns the next field of
 * [*q, end) with its number and wire type, the varint/fixed value in *v and,
 * for length-delimited fields, the payload in [*pp, *pp + *plen). */
static int pb_next(const uint8_t **q, const uint8_t *end, int *wire, uint64_t *v, const uint8_t **pp, size_t *plen)
{
    if (*q >= end) return 0;
    uint64_t k = 0, x = 0;
    for (int sh = 0; *q < end; sh += 7) {
        uint8_t c = *(*q)++;
        k |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) break;
    }
    *wire = (int)(k & 7);
    if (*wire == 0 || *wire == 2) {
        for (int sh = 0; *q < end; sh += 7) {
            uint8_t c = *(*q)++;
            x |= (uint64_t)(c & 0x7f) << sh;
            if (!(c & 0x80)) break;
        }
        if (*wire == 2) {
            assert_true(*q + x <= end);
            *pp = *q, *plen = (size_t)x;
            *q += x;
        }
    } else if (*wire == 1) {
        memcpy(&x, *q, 8), *q += 8;
    } else if (*wire == 5) {
        memcpy(&x, *q, 4), *q += 4;
    } else {
        fail_msg("unexpected wire type %d", *wire);
    }
    *v = x;
    return (int)(k >> 3);
}

typedef struct {
    int64_t step;
    char tag[32];
    float value;
    double wall;
    char version[32];
} tb_event;

static tb_event parse_event(const uint8_t *data, size_t len)
{
    tb_event e = {0};
    const uint8_t *q = data, *pl;
    size_t n;
    uint64_t v;
    int wire, f;
    while ((f = pb_next(&q, data + len, &wire, &v, &pl, &n))) {
        if (f == 1 && wire == 1) memcpy(&e.wall, &v, 8);
        else if (f == 2 && wire == 0) e.step = (int64_t)v;
        else if (f == 3 && wire == 2) memcpy(e.version, pl, n < 31 ? n : 31);
        else if (f == 5 && wire == 2) { /* summary { value { tag, simple_value } } */
            const uint8_t *sq = pl, *vp, *tp;
            size_t vn, tn;
            assert_int_equal(pb_next(&sq, pl + n, &wire, &v, &vp, &vn), 1);
            const uint8_t *vq = vp;
            while ((f = pb_next(&vq, vp + vn, &wire, &v, &tp, &tn))) {
                if (f == 1 && wire == 2) memcpy(e.tag, tp, tn < 31 ? tn : 31);
                else if (f == 2 && wire == 5) memcpy(&e.value, &v, 4);
                else fail_msg("unexpected Summary.Value field %d", f);
            }
        } else fail_msg("unexpected Event field %d (wire %d)", f, wire);
    }
    return e;
}

static void tensorboard_records_parse(void **state)
{
    tc_metrics rows[2] = {{10, 1, 0.5, 0.8, NAN, NAN, 1}, {20, 1, 0.25, 0.9, 0.3, 0.85, 2}};
    assert_int_equal(tc_write_tensorboard(p("tb2"), 2, rows), TC_OK);
    const tb_event want[6] = {{10, "loss", 0.5f},      {10, "accuracy", 0.8f},      {20, "loss", 0.25f},
                              {20, "accuracy", 0.9f}, {20, "val_loss", 0.3f}, {20, "val_accuracy", 0.85f}};
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
        tb_event e = parse_event(data, len);
        assert_true(e.wall > 1.5e9); /* seconds since 1970 */
        if (records == 0) {
            assert_string_equal(e.version, "brain.Event:2");
        } else {
            assert_true(records <= 6);
            const tb_event *w = &want[records - 1];
            assert_int_equal(e.step, w->step);
            assert_string_equal(e.tag, w->tag);
            assert_true(e.value == w->value);
        }
        free(data);
        records++;
    }
    fclose(f);
    assert_int_equal(records, 1 + 2 + 4); /* version, 2 scalars, 4 scalars */
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "train_test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoints),
        cmocka_unit_test(fit_learns_and_logs),
        cmocka_unit_test(mid_epoch_evaluations),
        cmocka_unit_test(steady_state_steps_do_not_malloc),
        cmocka_unit_test(tensorboard_records_parse),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
