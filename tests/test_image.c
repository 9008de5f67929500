/* Images: JPEG/PNG decoding and Pillow-equal resizing against Pillow's own
 * results (tests/fixtures/gen_image.py), encoding round trips, image
 * folders in Keras' order, the background batcher, and bad files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const char *const FILES[] = {"photo.jpg", "grey.jpg", "rgb.png", "grey.png", "rgba.png",
                                    "la.png", "palette.png", "interlaced.png", "rgb16.png", "grey16.png"};
static const int SIZES[][2] = {{11, 17}, {40, 50}, {23, 9}, {1, 1}, {8, 31}, {7, 5}};

static void key_of(const char *file, char *key, size_t n)
{
    snprintf(key, n, "%s", file);
    char *dot = strchr(key, '.');
    if (dot) *dot = '_';
}

/* exact equality: Pillow's pixels are integers */
static void assert_equal_image(const tc_tensor *a, const tc_tensor *e, const char *what)
{
    if (!a || !e) fail_msg("%s: missing (%s)", what, tc_last_error());
    char sa[TC_SHAPE_STR_MAX], se[TC_SHAPE_STR_MAX];
    if (!tc_same_shape(a, e))
        fail_msg("%s: shape %s vs Pillow %s", what, tc_shape_str(a, sa, sizeof sa), tc_shape_str(e, se, sizeof se));
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < tc_numel(a); i++)
        if (a->data[i] != e->data[i]) {
            if (first < 0) first = i;
            bad++;
        }
    if (bad) fail_msg("%s: %lld of %lld values differ from Pillow (first at %lld: %g vs %g)", what, (long long)bad,
                      (long long)tc_numel(a), (long long)first, a->data[first], e->data[first]);
}

static void test_decode_equals_pillow(void **state)
{
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("image/decoded.tcfx"));
    tc_assert_ok(fx);
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
        char path[512], key[64];
        snprintf(path, sizeof path, "%s/image/%s", TC_FIXTURES, FILES[i]);
        key_of(FILES[i], key, sizeof key);
        tc_tensor *img = tc_image_load(path);
        assert_equal_image(img, tc_fixture_get(fx, key), FILES[i]);
        tc_tensor_free(img);
    }
    tc_fixture_free(fx);
    tc_step_reset();
}

static void test_resize_equals_pillow(void **state)
{
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("image/resized.tcfx"));
    tc_assert_ok(fx);
    const char *files[] = {"photo.jpg", "rgba.png", "palette.png"};
    int checked = 0;
    for (int f = 0; f < 3; f++) {
        char path[512], key[64];
        snprintf(path, sizeof path, "%s/image/%s", TC_FIXTURES, files[f]);
        key_of(files[f], key, sizeof key);
        for (size_t s = 0; s < sizeof SIZES / sizeof *SIZES; s++)
            for (int m = 0; m < 2; m++) {
                char name[128];
                snprintf(name, sizeof name, "%s_%s_%dx%d", key, m ? "bilinear" : "nearest", SIZES[s][0], SIZES[s][1]);
                if (!tc_fixture_has(fx, name)) continue;
                tc_tensor *r = tc_image_load_resized(path, SIZES[s][0], SIZES[s][1], m ? TC_INTERP_BILINEAR : TC_INTERP_NEAREST);
                assert_equal_image(r, tc_fixture_get(fx, name), name);
                tc_tensor_free(r);
                checked++;
            }
    }
    assert_int_equal(checked, 6 * 2 + 2 + 2);
    tc_fixture_free(fx);
    tc_step_reset();
}

/* darknet's dog.jpg (768x576) shrunk to the zoo's sizes: row and column sums
 * of every channel equal Pillow's (any differing pixel would show) */
static void test_dog_sums_equal_pillow(void **state)
{
    const char *dog = "/usr/share/darknet/data/dog.jpg";
    if (access(dog, R_OK) != 0) {
        print_message("skipped: %s missing (Debian package darknet)\n", dog);
        return;
    }
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("image/dog_sums.tcfx"));
    tc_assert_ok(fx);
    const int sizes[] = {224, 299, 256};
    for (int s = 0; s < 4; s++)
        for (int m = 0; m < 2; m++) {
            if (s == 3 && m == 1) continue;
            tc_tensor *r = s == 3 ? tc_image_load(dog)
                                  : tc_image_load_resized(dog, sizes[s], sizes[s], m ? TC_INTERP_BILINEAR : TC_INTERP_NEAREST);
            tc_assert_ok(r);
            int64_t h = r->shape[0], w = r->shape[1];
            tc_tensor *rows = tc_zeros(TC_SHAPE(h, 3)), *cols = tc_zeros(TC_SHAPE(w, 3));
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) {
                        rows->data[y * 3 + c] += r->data[(y * w + x) * 3 + c];
                        cols->data[x * 3 + c] += r->data[(y * w + x) * 3 + c];
                    }
            char rn[64], cn[64];
            if (s == 3) snprintf(rn, sizeof rn, "dog_rows"), snprintf(cn, sizeof cn, "dog_cols");
            else {
                snprintf(rn, sizeof rn, "dog_%s_%d_rows", m ? "bilinear" : "nearest", sizes[s]);
                snprintf(cn, sizeof cn, "dog_%s_%d_cols", m ? "bilinear" : "nearest", sizes[s]);
            }
            assert_equal_image(rows, tc_fixture_get(fx, rn), rn);
            assert_equal_image(cols, tc_fixture_get(fx, cn), cn);
            tc_tensor_free(r);
            tc_step_reset();
        }
    tc_fixture_free(fx);
}

static char tmpdir[256];

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void test_encode_round_trip(void **state)
{
    tc_tensor *img = tc_tensor_new(TC_SHAPE(9, 13, 3));
    for (int64_t i = 0; i < tc_numel(img); i++) img->data[i] = (tc_scalar)((i * 37) % 256);
    char png[300], jpg[300];
    snprintf(png, sizeof png, "%s/round.png", tmpdir);
    snprintf(jpg, sizeof jpg, "%s/round.jpg", tmpdir);
    assert_int_equal(tc_image_save(png, img), TC_OK);
    tc_tensor *back = tc_image_load(png);
    assert_equal_image(back, img, "png round trip");
    tc_tensor_free(back);
    /* JPEG is lossy: a smooth image comes back close at quality 100 */
    for (int64_t y = 0; y < 9; y++)
        for (int64_t x = 0; x < 13; x++)
            for (int c = 0; c < 3; c++) img->data[(y * 13 + x) * 3 + c] = (tc_scalar)(60 + 8 * x + 5 * y + 20 * c);
    assert_int_equal(tc_image_save_jpeg(jpg, img, 100), TC_OK);
    back = tc_image_load(jpg);
    tc_assert_ok(back);
    tc_assert_close(back, img, 0, 6);
    tc_tensor_free(back);
    /* grey and RGBA PNGs decode to RGB (grey replicated, alpha dropped) */
    tc_tensor *grey = tc_tensor_new(TC_SHAPE(2, 3, 1)), *rgba = tc_tensor_new(TC_SHAPE(2, 3, 4));
    for (int i = 0; i < 6; i++) grey->data[i] = (tc_scalar)(i * 40);
    for (int i = 0; i < 24; i++) rgba->data[i] = (tc_scalar)(i * 10);
    assert_int_equal(tc_image_save(png, grey), TC_OK);
    back = tc_image_load(png);
    tc_assert_ok(back);
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++) assert_true(back->data[i * 3 + c] == grey->data[i]);
    tc_tensor_free(back);
    assert_int_equal(tc_image_save(png, rgba), TC_OK);
    back = tc_image_load(png);
    tc_assert_ok(back);
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++) assert_true(back->data[i * 3 + c] == rgba->data[i * 4 + c]);
    tc_tensor_free(back);
    assert_int_not_equal(tc_image_save(jpg, rgba), TC_OK);
    assert_int_not_equal(tc_image_save("x.bmp", img), TC_OK);
    tc_tensor_free(grey);
    tc_tensor_free(rgba);
    tc_tensor_free(img);
}

static void test_bad_files(void **state)
{
    char path[300];
    size_t n;
    char src[512];
    snprintf(src, sizeof src, "%s/image/photo.jpg", TC_FIXTURES);
    unsigned char *jpg = read_bytes(src, &n);
    /* truncated JPEG: the first half of the file */
    snprintf(path, sizeof path, "%s/half.jpg", tmpdir);
    write_bytes(path, jpg, n / 2);
    tc_assert_error(tc_image_load(path), "half.jpg", "truncated");
    /* header only: the markers before the scan */
    snprintf(path, sizeof path, "%s/header.jpg", tmpdir);
    write_bytes(path, jpg, 20);
    tc_assert_error(tc_image_load(path), "header.jpg", "JPEG");
    write_bytes(path, jpg, 3);
    tc_assert_error(tc_image_load(path), "header.jpg", "JPEG");
    free(jpg);
    snprintf(src, sizeof src, "%s/image/rgb.png", TC_FIXTURES);
    unsigned char *png = read_bytes(src, &n);
    snprintf(path, sizeof path, "%s/cut.png", tmpdir);
    write_bytes(path, png, n - 30);
    tc_assert_error(tc_image_load(path), "cut.png", "PNG");
    write_bytes(path, png, 8); /* the signature only */
    tc_assert_error(tc_image_load(path), "cut.png", "truncated");
    png[40] ^= 0x55; /* a corrupt chunk: the CRC fails */
    write_bytes(path, png, n);
    tc_assert_error(tc_image_load(path), "cut.png", "PNG");
    free(png);
    snprintf(path, sizeof path, "%s/notes.jpg", tmpdir);
    write_bytes(path, "hello, world\n", 13);
    tc_assert_error(tc_image_load(path), "notes.jpg", "not a JPEG or PNG");
    snprintf(path, sizeof path, "%s/empty.png", tmpdir);
    write_bytes(path, "", 0);
    tc_assert_error(tc_image_load(path), "empty.png", "empty");
    tc_assert_error(tc_image_load("/nonexistent/x.jpg"), "/nonexistent/x.jpg", "cannot open");
    tc_assert_error(tc_image_load(tmpdir), tmpdir);
}

/* a folder of small PNGs: cls/<class>/... with a nested folder and a non-image */
static void make_folder(const char *root, const char *const *classes, int n_classes, int per_class)
{
    mkdir(root, 0755);
    for (int c = 0; c < n_classes; c++) {
        char d[400], p[500];
        snprintf(d, sizeof d, "%s/%s", root, classes[c]);
        mkdir(d, 0755);
        for (int i = 0; i < per_class; i++) {
            tc_tensor *img = tc_tensor_new(TC_SHAPE(6 + i, 5, 3));
            for (int64_t k = 0; k < tc_numel(img); k++) img->data[k] = (tc_scalar)(c * 100 + (k % 5) * 10 + i);
            snprintf(p, sizeof p, "%s/img%d.%s", d, i, i % 2 ? "PNG" : "png");
            assert_int_equal(tc_image_save(p, img), TC_OK);
            tc_tensor_free(img);
        }
        snprintf(p, sizeof p, "%s/readme.txt", d);
        write_bytes(p, "not an image", 12);
    }
}

static void test_folder_order_and_batches(void **state)
{
    char root[300], sub[400], p[500];
    snprintf(root, sizeof root, "%s/train", tmpdir);
    const char *classes[] = {"dogs", "cats", "birds"};
    make_folder(root, classes, 3, 3);
    snprintf(sub, sizeof sub, "%s/cats/a_sub", root); /* os.walk: cats, cats/a_sub after cats' own files */
    mkdir(sub, 0755);
    tc_tensor *img = tc_tensor_new(TC_SHAPE(4, 4, 3));
    snprintf(p, sizeof p, "%s/z.png", sub);
    assert_int_equal(tc_image_save(p, img), TC_OK);
    tc_tensor_free(img);
    tc_image_folder *f = tc_image_folder_open(root, &(tc_image_folder_opts){.height = 4, .width = 3, .rescale = 1.0 / 255,
                                                                            .flip_lr = true});
    tc_assert_ok(f);
    assert_int_equal(tc_image_folder_classes(f), 3);
    assert_string_equal(tc_image_folder_class_name(f, 0), "birds");
    assert_string_equal(tc_image_folder_class_name(f, 1), "cats");
    assert_string_equal(tc_image_folder_class_name(f, 2), "dogs");
    assert_int_equal(tc_image_folder_size(f), 10);
    /* Keras: sorted(os.walk) by folder, then sorted names ("img1.PNG" < "img0.png"? no: 'i' == 'i', '1' > '0') */
    assert_true(strstr(tc_image_folder_path(f, 3), "cats/img0.png") != NULL);
    assert_true(strstr(tc_image_folder_path(f, 4), "cats/img1.PNG") != NULL);
    assert_true(strstr(tc_image_folder_path(f, 6), "cats/a_sub/z.png") != NULL);
    assert_int_equal(tc_image_folder_label(f, 6), 1);
    assert_int_equal(tc_image_folder_label(f, 9), 2);
    tc_tensor *one = tc_image_folder_image(f, 0);
    tc_assert_ok(one);
    assert_int_equal(one->shape[0], 4);
    assert_true(one->data[0] >= 0 && one->data[0] <= 1);
    tc_tensor_free(one);
    /* batches: every image once per epoch, same order for the same seed */
    for (int run = 0; run < 2; run++) {
        tc_image_batcher *b = tc_image_batcher_new(f, 4, true, 11);
        tc_assert_ok(b);
        assert_int_equal(tc_image_batcher_batches_per_epoch(b), 3);
        for (int epoch = 0; epoch < 2; epoch++) {
            int counts[3] = {0}, rows = 0;
            tc_tensor *x, *y;
            int r;
            while ((r = tc_image_batcher_next(b, &x, &y)) == 1) {
                assert_int_equal(x->shape[1], 4);
                assert_int_equal(x->shape[3], 3);
                for (int64_t i = 0; i < y->shape[0]; i++) counts[(int)y->data[i]]++;
                rows += (int)x->shape[0];
            }
            assert_int_equal(r, 0);
            assert_int_equal(rows, 10);
            assert_int_equal(counts[0], 3);
            assert_int_equal(counts[1], 4);
            assert_int_equal(counts[2], 3);
        }
        tc_image_batcher_free(b);
    }
    tc_dataset *all = tc_image_folder_load_all(f);
    tc_assert_ok(all);
    assert_int_equal(all->x->shape[0], 10);
    assert_string_equal(all->class_names[2], "dogs");
    tc_dataset_free(all);
    /* a broken image is reported by the batch that meets it, naming it */
    snprintf(p, sizeof p, "%s/dogs/broken.png", root);
    write_bytes(p, "\x89PNG\r\n\x1a\n", 8);
    tc_image_folder *g = tc_image_folder_open(root, &(tc_image_folder_opts){.height = 4, .width = 3});
    tc_assert_ok(g);
    tc_image_batcher *b = tc_image_batcher_new(g, 4, false, 1);
    tc_tensor *x, *y;
    int r;
    while ((r = tc_image_batcher_next(b, &x, &y)) == 1) {}
    assert_int_equal(r, -1);
    assert_non_null(strstr(tc_last_error(), "broken.png"));
    tc_image_batcher_free(b);
    tc_image_folder_free(g);
    tc_image_folder_free(f);
}

static void test_folder_errors(void **state)
{
    char root[300];
    tc_image_folder_opts o = {.height = 8, .width = 8};
    snprintf(root, sizeof root, "%s/empty", tmpdir);
    mkdir(root, 0755);
    tc_assert_error(tc_image_folder_open(root, &o), root, "no class subfolders");
    char sub[400];
    snprintf(sub, sizeof sub, "%s/only", root);
    mkdir(sub, 0755);
    tc_assert_error(tc_image_folder_open(root, &o), root, "no .jpg");
    snprintf(root, sizeof root, "%s/one", tmpdir);
    make_folder(root, (const char *[]){"cats"}, 1, 2);
    tc_assert_error(tc_image_folder_open(root, &o), root, "1 class folder", "cats");
    tc_assert_error(tc_image_folder_open("/nonexistent/dir", &o), "/nonexistent/dir", "cannot open");
}

/* every crasher the fuzzers found stays a regression test: it must decode
 * or fail cleanly (under the sanitizers, without a report) */
static void test_fuzz_regressions(void **state)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/../fuzz/regressions-image", TC_FIXTURES);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        tc_tensor *img = tc_image_load(p);
        if (img) tc_tensor_free(img);
        else assert_non_null(strstr(tc_last_error(), de->d_name));
        n++;
    }
    closedir(d);
    print_message("%d fuzz regression files decoded or refused cleanly\n", n);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_test_image_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_equals_pillow), cmocka_unit_test(test_resize_equals_pillow),
        cmocka_unit_test(test_dog_sums_equal_pillow), cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_bad_files), cmocka_unit_test(test_folder_order_and_batches),
        cmocka_unit_test(test_folder_errors), cmocka_unit_test(test_fuzz_regressions),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    tc_shutdown();
    return rc;
}
