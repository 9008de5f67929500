/* Audio I/O: files written by SciPy's wavfile read as NumPy computes them,
 * resampling against the analytic signal, WAV output read back by SciPy,
 * mu-law against NumPy, and one-line errors on bad files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PY "/usr/bin/python3"

static const char *at(const char *file) { return tc_test_at(file); }

static int setup_all(void **state)
{
    (void)state;
    return tc_test_generate("audio", "gen_audio.py");
}

static int teardown_all(void **state)
{
    (void)state;
    if (tc_test_generated_cleanup() != 0) return -1;
    tc_shutdown();
    return 0;
}

static void check_read(const char *wav, const char *npy, int rate)
{
    int file_rate = 0;
    tc_tensor *x = tc_audio_load(at(wav), 0, &file_rate);
    tc_assert_ok(x);
    tc_tensor *want = tc_npy_load(at(npy));
    tc_assert_ok(want);
    assert_int_equal(file_rate, rate);
    tc_assert_close(x, want, 0, 1e-6);
    tc_tensor_free(x);
    tc_tensor_free(want);
}

static void test_read_mixes_to_mono(void **state)
{
    (void)state;
    check_read("stereo16.wav", "stereo16_mono.npy", 22050);
    check_read("float3.wav", "float3_mono.npy", 8000);
}

static void test_read_from_memory(void **state)
{
    (void)state;
    FILE *f = fopen(at("stereo16.wav"), "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tc_tensor *x = tc_audio_decode(buf, n, "mem.wav", 0, NULL);
    tc_assert_ok(x);
    tc_tensor *want = tc_npy_load(at("stereo16_mono.npy"));
    tc_assert_close(x, want, 0, 1e-6);
    tc_tensor_free(x);
    tc_tensor_free(want);
}

static void test_resample_48k_to_16k(void **state)
{
    (void)state;
    int file_rate = 0;
    tc_tensor *x = tc_audio_load(at("sine48k.wav"), 16000, &file_rate);
    tc_assert_ok(x);
    assert_int_equal(file_rate, 48000);
    tc_tensor *want = tc_npy_load(at("sine16k.npy"));
    int64_t n = x->shape[0];
    assert_true(n >= 15990 && n <= 16000);
    /* the interior (the ends see the filter's edge) matches the 16 kHz sine */
    tc_tensor *a = tc_tensor_keep(tc_narrow(x, 0, 200, 15600));
    tc_tensor *b = tc_tensor_keep(tc_narrow(want, 0, 200, 15600));
    tc_assert_close(a, b, 0, 1e-3);
    tc_step_reset();
    tc_tensor_free(a);
    tc_tensor_free(b);
    tc_tensor_free(x);
    tc_tensor_free(want);
}

static void test_write_read_by_scipy(void **state)
{
    (void)state;
    tc_rng r = tc_rng_new(3);
    tc_tensor *x = tc_tensor_new(1, (int64_t[]){4000});
    tc_rng_uniform(&r, x->data, 4000, -1.2f, 1.2f); /* some beyond [-1, 1]: clipped */
    assert_int_equal(tc_audio_save_wav16(at("written.wav"), x, 16000), TC_OK);
    assert_int_equal(tc_npy_save(at("written_values.npy"), x), TC_OK);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PY " %s/gen_audio.py --check %s", TC_FIXTURES, tc_test_dir());
    assert_int_equal(system(cmd), 0);
    /* and it reads back to within half a 16-bit step */
    tc_tensor *y = tc_audio_load(at("written.wav"), 0, NULL);
    tc_assert_ok(y);
    for (int64_t i = 0; i < 4000; i++) {
        double want = x->data[i] > 1 ? 1 : x->data[i] < -1 ? -1 : x->data[i];
        double got = y->data[i] * 32768.0 / 32767.0;
        if (fabs(got - want) > 0.6 / 32767.0) fail_msg("sample %lld: %g vs %g", (long long)i, got, want);
    }
    tc_tensor_free(x);
    tc_tensor_free(y);
}

static void test_mulaw_matches_numpy(void **state)
{
    (void)state;
    tc_tensor *x = tc_npy_load(at("mulaw_x.npy"));
    tc_tensor *want = tc_npy_load(at("mulaw_classes.npy"));
    tc_assert_ok(x);
    tc_tensor *c = tc_mulaw_encode(x);
    tc_assert_close(c, want, 0, 0);
    tc_tensor *ids = tc_tensor_new(1, (int64_t[]){256});
    for (int i = 0; i < 256; i++) ids->data[i] = (tc_scalar)i;
    tc_tensor *e = tc_mulaw_decode(ids);
    tc_tensor *we = tc_npy_load(at("mulaw_expand.npy"));
    tc_assert_close(e, we, 1e-6, 1e-7);
    /* expanding then companding gives the class back */
    for (int i = 0; i < 256; i++) assert_int_equal(tc_mulaw_encode_sample(tc_mulaw_decode_sample(i)), i);
    tc_tensor_free(x);
    tc_tensor_free(want);
    tc_tensor_free(c);
    tc_tensor_free(ids);
    tc_tensor_free(e);
    tc_tensor_free(we);
}

static void test_bad_files(void **state)
{
    (void)state;
    tc_assert_error(tc_audio_load(at("empty.wav"), 0, NULL), "empty.wav", "empty");
    tc_assert_error(tc_audio_load(at("truncated.wav"), 0, NULL), "truncated.wav", "truncated");
    tc_assert_error(tc_audio_load(at("header_only.wav"), 0, NULL), "header_only.wav");
    tc_assert_error(tc_audio_load(at("random.wav"), 0, NULL), "random.wav", "not a readable sound file");
    tc_assert_error(tc_audio_load(at("missing.wav"), 0, NULL), "missing.wav", "cannot open");
    tc_assert_error(tc_audio_load(tc_test_dir(), 0, NULL), tc_test_dir(), "cannot read");
    tc_assert_error(tc_audio_decode("", 0, "x.wav", 0, NULL), "x.wav", "empty");
    for (const char *m = tc_last_error(); *m; m++) assert_int_not_equal(*m, '\n');
    /* a failed save leaves nothing behind */
    tc_tensor *x = tc_tensor_new(1, (int64_t[]){10});
    assert_int_not_equal(tc_audio_save_wav16("/nonexistent-dir/o.wav", x, 16000), TC_OK);
    assert_non_null(strstr(tc_last_error(), "/nonexistent-dir/o.wav"));
    tc_tensor_free(x);
}

/* Every crasher the fuzzer found stays a regression input. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s/../fuzz/regressions/audio/ 2>/dev/null > %s/list.txt", TC_FIXTURES, tc_test_dir());
    if (system(cmd) != 0) return;
    FILE *l = fopen(at("list.txt"), "r");
    char name[400];
    while (l && fgets(name, sizeof name, l)) {
        name[strcspn(name, "\n")] = 0;
        char path[1024];
        snprintf(path, sizeof path, "%s/../fuzz/regressions/audio/%s", TC_FIXTURES, name);
        tc_tensor *x = tc_audio_load(path, 16000, NULL);
        tc_tensor_free(x);
    }
    if (l) fclose(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_mixes_to_mono), cmocka_unit_test(test_read_from_memory),
        cmocka_unit_test(test_resample_48k_to_16k), cmocka_unit_test(test_write_read_by_scipy),
        cmocka_unit_test(test_mulaw_matches_numpy), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
