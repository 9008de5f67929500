/* Loaders on small files written here in the real formats, and every
 * bad-input case of the issue: truncated IDX, wrong magic, count mismatch,
 * CIFAR size not a multiple of a record, missing folder. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static const char *p(const char *name)
{
    static char buf[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_idx(const char *path, int ndims, const int *dims, const uint8_t *data, size_t n, bool gz, size_t cut)
{
    uint8_t head[16] = {0, 0, 8, (uint8_t)ndims};
    size_t hn = 4;
    for (int d = 0; d < ndims; d++) {
        head[hn++] = (uint8_t)(dims[d] >> 24), head[hn++] = (uint8_t)(dims[d] >> 16);
        head[hn++] = (uint8_t)(dims[d] >> 8), head[hn++] = (uint8_t)dims[d];
    }
    size_t total = hn + n - cut;
    uint8_t *all = malloc(hn + n);
    memcpy(all, head, hn);
    memcpy(all + hn, data, n);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, all, (unsigned)total);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(all, 1, total, f);
        fclose(f);
    }
    free(all);
}

static void mnist_files(const char *prefix, int n, bool gz, size_t cut_images, int labels_n)
{
    uint8_t img[5 * 4 * 3], lab[8];
    for (int i = 0; i < n * 12; i++) img[i] = (uint8_t)(i * 7);
    for (int i = 0; i < labels_n; i++) lab[i] = (uint8_t)(i % 10);
    char a[100], b[100];
    snprintf(a, sizeof a, "%s-images-idx3-ubyte%s", prefix, gz ? ".gz" : "");
    snprintf(b, sizeof b, "%s-labels-idx1-ubyte%s", prefix, gz ? ".gz" : "");
    write_idx(p(a), 3, (int[]){n, 4, 3}, img, (size_t)n * 12, gz, cut_images);
    write_idx(p(b), 1, (int[]){labels_n}, lab, (size_t)labels_n, gz, 0);
}

static void idx_round_trip_and_errors(void **state)
{
    mnist_files("train", 5, true, 0, 5);
    tc_dataset *d = tc_load_mnist(dir, "train");
    tc_assert_ok(d);
    assert_int_equal(d->x->shape[0], 5);
    assert_int_equal(d->x->shape[1], 4);
    assert_int_equal(d->x->shape[3], 1);
    assert_true(fabs(d->x->data[3] - 21 / 255.0) < 1e-6);
    assert_true(d->y->data[4] == 4);
    tc_dataset_free(d);
    mnist_files("t10k", 3, false, 0, 3); /* raw files */
    d = tc_load_mnist(dir, "t10k");
    tc_assert_ok(d);
    assert_int_equal(d->x->shape[0], 3);
    tc_dataset_free(d);
    mnist_files("t10k", 3, false, 5, 3); /* truncated images */
    tc_assert_error(tc_load_mnist(dir, "t10k"), "t10k-images-idx3-ubyte", "truncated");
    mnist_files("t10k", 3, true, 5, 3); /* a complete gzip stream of a truncated IDX file */
    tc_assert_error(tc_load_mnist(dir, "t10k"), "t10k-images-idx3-ubyte.gz", "truncated");
    mnist_files("t10k", 3, true, 0, 3);
    assert_int_equal(truncate(p("t10k-images-idx3-ubyte.gz"), 30), 0); /* a gzip stream cut short */
    tc_assert_error(tc_load_mnist(dir, "t10k"), "t10k-images-idx3-ubyte.gz", "truncated");
    unlink(p("t10k-images-idx3-ubyte.gz"));
    unlink(p("t10k-labels-idx1-ubyte.gz"));
    mnist_files("t10k", 3, false, 0, 3);
    FILE *g = fopen(p("t10k-labels-idx1-ubyte"), "ab");
    fputc(7, g); /* one label more than the header says */
    fclose(g);
    tc_assert_error(tc_load_mnist(dir, "t10k"), "t10k-labels-idx1-ubyte", "longer than");
    mnist_files("t10k", 3, false, 0, 2); /* 3 images, 2 labels */
    tc_assert_error(tc_load_mnist(dir, "t10k"), "3 images", "2 labels");
    FILE *f = fopen(p("t10k-images-idx3-ubyte"), "wb");
    fwrite("\x00\x00\x08\x01\x00\x00\x00\x01", 1, 8, f); /* a labels magic in an images file */
    fclose(f);
    tc_assert_error(tc_load_mnist(dir, "t10k"), "t10k-images-idx3-ubyte", "wrong magic number");
    tc_assert_error(tc_load_mnist("/nonexistent/mnist", "train"), "/nonexistent/mnist", "no such folder");
}

static void cifar_files(void **state)
{
    uint8_t rec[3073 * 3];
    for (int r = 0; r < 3; r++) {
        rec[r * 3073] = (uint8_t)(r + 2);
        for (int i = 1; i < 3073; i++) rec[r * 3073 + i] = (uint8_t)(i % 251);
    }
    FILE *f = fopen(p("test_batch.bin"), "wb");
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
    f = fopen(p("batches.meta.txt"), "w");
    fprintf(f, "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    fclose(f);
    tc_dataset *d = tc_load_cifar10(dir, false);
    tc_assert_ok(d);
    assert_int_equal(d->x->shape[0], 3);
    assert_true(d->y->data[1] == 3);
    assert_string_equal(d->class_names[9], "truck");
    /* CHW -> HWC: pixel 1 of the green plane is byte 1 + 1024 + 1 */
    assert_true(fabs(d->x->data[1 * 3 + 1] - ((1 + 1024 + 1) % 251) / 255.0) < 1e-6);
    tc_normalizer nz = {0};
    assert_int_equal(tc_normalizer_fit(&nz, d), TC_OK);
    assert_int_equal(tc_normalizer_apply(&nz, d), TC_OK);
    tc_normalizer_free(&nz);
    tc_dataset_free(d);
    f = fopen(p("test_batch.bin"), "ab");
    fwrite("xyz", 1, 3, f); /* no longer a multiple of 3073 */
    fclose(f);
    tc_assert_error(tc_load_cifar10(dir, false), "test_batch.bin", "not a multiple");
    tc_assert_error(tc_load_cifar10(dir, true), "data_batch_1.bin", "cannot open");
}

static void batcher_and_augmentation(void **state)
{
    tc_dataset *d = calloc(1, sizeof *d);
    d->x = tc_tensor_new(TC_SHAPE(10, 2, 2, 1));
    d->y = tc_tensor_new(TC_SHAPE(10));
    for (int i = 0; i < 10; i++) {
        d->y->data[i] = (tc_scalar)i;
        for (int k = 0; k < 4; k++) d->x->data[i * 4 + k] = (tc_scalar)i;
    }
    tc_batcher *b = tc_batcher_new(d, 4, true, false, 7, NULL);
    for (int epoch = 0; epoch < 2; epoch++) {
        int seen[10] = {0}, batches = 0;
        tc_tensor *x, *y;
        while (tc_batcher_next(b, &x, &y)) {
            batches++;
            for (int64_t r = 0; r < y->shape[0]; r++) {
                seen[(int)y->data[r]]++;
                assert_true(x->data[r * 4] == y->data[r]); /* rows stay paired */
            }
        }
        assert_int_equal(batches, 3);
        for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
    }
    tc_batcher_free(b);
    /* augmentation is a pure function of the seed */
    tc_tensor *img = tc_tensor_new(TC_SHAPE(2, 8, 8, 3)), *img2 = tc_tensor_new(TC_SHAPE(2, 8, 8, 3));
    for (int64_t i = 0; i < tc_numel(img); i++) img->data[i] = img2->data[i] = (tc_scalar)(i % 17);
    tc_rng r1 = tc_rng_new(5), r2 = tc_rng_new(5);
    tc_augment_opts o = {.flip_lr = true, .max_rotation_degrees = 25};
    assert_int_equal(tc_augment_batch(img, &o, &r1), TC_OK);
    assert_int_equal(tc_augment_batch(img2, &o, &r2), TC_OK);
    assert_memory_equal(img->data, img2->data, sizeof(tc_scalar) * (size_t)tc_numel(img));
    tc_tensor_free(img);
    tc_tensor_free(img2);
    tc_dataset *tail;
    assert_int_equal(tc_dataset_split(d, 0.2, &tail), TC_OK);
    assert_int_equal(tc_dataset_size(d), 8);
    assert_true(tail->y->data[0] == 8);
    tc_dataset_free(tail);
    tc_dataset_free(d);
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "data_test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idx_round_trip_and_errors),
        cmocka_unit_test(cifar_files),
        cmocka_unit_test(batcher_and_augmentation),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
