/* Video I/O: frames written through libav with a lossless codec (PNG in
 * Matroska) come back exactly; MPEG-4 in MP4 (lossy) comes back close; rate
 * conversion picks the frames shown at each output time; numbered-frame
 * folders sort by number; clips; one-line errors naming the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[256];

static const char *in_dir(const char *file)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return path;
}

/* A smooth moving pattern (so resizing and lossy codecs stay close). */
static tc_tensor *pattern(int T, int H, int W)
{
    tc_tensor *v = tc_tensor_new(4, (int64_t[]){T, H, W, 3});
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++)
                    v->data[(((int64_t)t * H + y) * W + x) * 3 + c] =
                        (tc_scalar)floor(127.5 + 100 * sin(0.1 * (x + 2 * t) + 0.07 * y + 2.0 * c));
    return v;
}

static int setup_all(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tc_test_video_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return -1;
    tc_shutdown();
    return 0;
}

static double mean_abs_diff(const tc_tensor *a, const tc_tensor *b)
{
    int64_t n = tc_numel(a);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)a->data[i] - (double)b->data[i]);
    return s / (double)n;
}

static void test_lossless_round_trip(void **state)
{
    (void)state;
    tc_tensor *v = pattern(20, 24, 32);
    assert_int_equal(tc_video_save(in_dir("png.mkv"), v, 10, "png"), TC_OK);
    tc_tensor *r = tc_video_load(in_dir("png.mkv"), &(tc_video_opts){0});
    tc_assert_ok(r);
    assert_int_equal(r->ndim, 4);
    assert_int_equal(r->shape[0], 20);
    assert_int_equal(r->shape[1], 24);
    assert_int_equal(r->shape[2], 32);
    tc_assert_close(r, v, 0, 0);
    /* max_frames stops early */
    tc_tensor *few = tc_video_load(in_dir("png.mkv"), &(tc_video_opts){.max_frames = 5});
    tc_assert_ok(few);
    assert_int_equal(few->shape[0], 5);
    assert_memory_equal(few->data, v->data, 5 * 24 * 32 * 3 * sizeof(tc_scalar));
    tc_tensor_free(few);
    tc_tensor_free(r);
    tc_tensor_free(v);
}

static void test_frame_rate_conversion(void **state)
{
    (void)state;
    tc_tensor *v = pattern(20, 24, 32);
    assert_int_equal(tc_video_save(in_dir("rate.mkv"), v, 10, "png"), TC_OK);
    /* 10 fps -> 5 fps: output time k/5 shows input frame 2k */
    tc_tensor *r = tc_video_load(in_dir("rate.mkv"), &(tc_video_opts){.fps = 5});
    tc_assert_ok(r);
    assert_int_equal(r->shape[0], 10);
    int64_t fb = 24 * 32 * 3;
    for (int k = 0; k < 10; k++) assert_memory_equal(r->data + k * fb, v->data + 2 * k * fb, (size_t)fb * sizeof(tc_scalar));
    tc_tensor_free(r);
    /* 10 fps -> 20 fps: every frame twice */
    r = tc_video_load(in_dir("rate.mkv"), &(tc_video_opts){.fps = 20});
    tc_assert_ok(r);
    assert_in_range(r->shape[0], 39, 40);
    for (int k = 0; k < r->shape[0]; k++) assert_memory_equal(r->data + k * fb, v->data + (k / 2) * fb, (size_t)fb * sizeof(tc_scalar));
    tc_tensor_free(r);
    tc_tensor_free(v);
}

static void test_mpeg4_and_resize(void **state)
{
    (void)state;
    tc_tensor *v = pattern(16, 64, 64);
    assert_int_equal(tc_video_save(in_dir("clip.mp4"), v, 25, "mpeg4"), TC_OK);
    tc_tensor *r = tc_video_load(in_dir("clip.mp4"), NULL);
    tc_assert_ok(r);
    assert_int_equal(r->shape[0], 16);
    double d = mean_abs_diff(r, v);
    printf("mpeg4 mean abs diff %.3f\n", d);
    assert_true(d < 6.0); /* lossy 4:2:0 coding of a smooth pattern */
    tc_tensor_free(r);
    /* resized by swscale's bilinear: close to Pillow-style bilinear of the original */
    r = tc_video_load(in_dir("clip.mp4"), &(tc_video_opts){.height = 32, .width = 32});
    tc_assert_ok(r);
    assert_int_equal(r->shape[1], 32);
    assert_int_equal(r->shape[2], 32);
    tc_tensor *f0 = tc_tensor_from(3, (int64_t[]){64, 64, 3}, v->data);
    tc_tensor *want = tc_image_resize(f0, 32, 32, TC_INTERP_BILINEAR);
    tc_tensor *got = tc_tensor_from(3, (int64_t[]){32, 32, 3}, r->data);
    assert_true(mean_abs_diff(got, want) < 8.0);
    tc_tensor_free(f0);
    tc_tensor_free(want);
    tc_tensor_free(got);
    tc_tensor_free(r);
    tc_tensor_free(v);
}

static void test_frame_folder(void **state)
{
    (void)state;
    tc_tensor *v = pattern(12, 16, 20);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/frames", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    int64_t fb = 16 * 20 * 3;
    for (int t = 0; t < 12; t++) {
        char p[400];
        snprintf(p, sizeof p, "%s/img_%d.png", sub, t + 1); /* img_10 sorts after img_9 */
        tc_tensor *f = tc_tensor_from(3, (int64_t[]){16, 20, 3}, v->data + t * fb);
        assert_int_equal(tc_image_save(p, f), TC_OK);
        tc_tensor_free(f);
    }
    tc_tensor *r = tc_video_load_frames(sub, NULL);
    tc_assert_ok(r);
    tc_assert_close(r, v, 0, 0);
    tc_tensor_free(r);
    r = tc_video_load_frames(sub, &(tc_video_opts){.min_frames = 16});
    tc_assert_error(r, "frames", "fewer than the 16");
    tc_tensor_free(v);
}

static void test_clips(void **state)
{
    (void)state;
    tc_tensor *v = pattern(40, 8, 8);
    tc_tensor *c = tc_video_clips(v, 16, 3, "v");
    tc_assert_ok(c);
    assert_int_equal(c->ndim, 5);
    assert_int_equal(c->shape[0], 3);
    assert_int_equal(c->shape[1], 16);
    int64_t fb = 8 * 8 * 3, clip = 16 * fb;
    assert_memory_equal(c->data, v->data, (size_t)clip * sizeof(tc_scalar));
    assert_memory_equal(c->data + clip, v->data + 12 * fb, (size_t)clip * sizeof(tc_scalar));
    assert_memory_equal(c->data + 2 * clip, v->data + 24 * fb, (size_t)clip * sizeof(tc_scalar));
    tc_tensor_free(c);
    tc_tensor *s = tc_tensor_new(4, (int64_t[]){10, 8, 8, 3});
    tc_assert_error(tc_video_clips(s, 16, 1, "short.mp4"), "short.mp4", "10 frames", "fewer than the 16");
    tc_tensor_free(s);
    tc_tensor_free(v);
}

static void test_bad_files(void **state)
{
    (void)state;
    tc_tensor *v = pattern(10, 16, 16);
    assert_int_equal(tc_video_save(in_dir("ten.mp4"), v, 25, "mpeg4"), TC_OK);
    tc_assert_error(tc_video_load(in_dir("ten.mp4"), &(tc_video_opts){.min_frames = 16}), "ten.mp4", "10 frames, fewer than the 16");
    /* truncated to its first 300 bytes: no frame decodes */
    unsigned char *data;
    size_t size;
    assert_int_equal(tc_read_file(in_dir("ten.mp4"), 0, &data, &size), TC_OK);
    assert_true(size > 300);
    tc_tensor *t = tc_video_decode(data, 300, "cut.mp4", NULL);
    tc_assert_error(t, "video cut.mp4");
    free(data);
    const char text[] = "this is not a video file at all, only some words in ASCII.";
    tc_assert_error(tc_video_decode(text, sizeof text, "words.mp4", NULL), "video words.mp4");
    tc_assert_error(tc_video_decode(text, 0, "none.mkv", NULL), "video none.mkv", "empty");
    tc_assert_error(tc_video_load(in_dir("nothing-here.mp4"), NULL), "nothing-here.mp4");
    assert_int_not_equal(access(in_dir("odd.mp4"), F_OK), 0);
    tc_tensor *odd = pattern(2, 15, 16);
    assert_int_not_equal(tc_video_save(in_dir("odd.mp4"), odd, 25, "mpeg4"), TC_OK);
    assert_int_not_equal(access(in_dir("odd.mp4"), F_OK), 0); /* no partial output */
    tc_tensor_free(odd);
    tc_tensor_free(v);
}

/* Every crasher the fuzzer found stays a regression input. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s/../fuzz/regressions/video/ 2>/dev/null > %s/list.txt", TC_FIXTURES, dir);
    if (system(cmd) != 0) return;
    FILE *l = fopen(in_dir("list.txt"), "r");
    char name[400];
    while (l && fgets(name, sizeof name, l)) {
        name[strcspn(name, "\n")] = 0;
        char path[1024];
        snprintf(path, sizeof path, "%s/../fuzz/regressions/video/%s", TC_FIXTURES, name);
        tc_tensor *x = tc_video_load(path, &(tc_video_opts){.height = 16, .width = 16, .max_frames = 32});
        /* oom-*: a damaged MP4 whose sample table asks libav for 2 GB: refused
         * (TC_VIDEO_MAX_ALLOC), so the file is reported, not decoded */
        if (!strncmp(name, "oom-", 4)) {
            assert_null(x);
            assert_non_null(strstr(tc_last_error(), name));
        }
        tc_tensor_free(x);
    }
    if (l) fclose(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossless_round_trip), cmocka_unit_test(test_frame_rate_conversion),
        cmocka_unit_test(test_mpeg4_and_resize), cmocka_unit_test(test_frame_folder),
        cmocka_unit_test(test_clips), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
