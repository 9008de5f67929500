/* The char-RNN's text loading (src/data/chars.c): UTF-8 decoding (the bad
 * byte offsets are those Python's bytes.decode('utf-8') reports for the
 * same bytes: latin-1, overlong, surrogate, past U+10FFFF, truncated), the
 * vocabulary (Python's sorted(set(text))), the folder
 * reader's order and skips, the vocabulary, the sequences every K
 * characters with their validation split, and bad input: missing, empty,
 * not UTF-8, a folder with no text. */
#include "testutil.h"

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

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void decode_and_encode(void **state)
{
    /* "aé€😀": 1, 2, 3 and 4 bytes */
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    uint32_t *cp;
    size_t n;
    assert_int_equal(tc_utf8_decode("s", (const unsigned char *)s, strlen(s), &cp, &n), TC_OK);
    assert_int_equal(n, 4);
    const uint32_t want[4] = {0x61, 0xE9, 0x20AC, 0x1F600};
    char back[16];
    int len = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cp[i], want[i]);
        len += tc_utf8_encode(cp[i], back + len);
    }
    assert_int_equal(len, (int)strlen(s));
    assert_memory_equal(back, s, (size_t)len);
    free(cp);
    /* Python's bytes.decode('utf-8') rejects each of these, at this byte */
    struct { const char *bytes; size_t n, at; } bad[] = {
        {"caf\xe9 x", 6, 3},        /* latin-1 */
        {"ab\xc0\xaf", 4, 2},        /* overlong '/' */
        {"\xed\xa0\x80", 3, 0},      /* a surrogate */
        {"x\xf4\x90\x80\x80", 5, 1}, /* past U+10FFFF */
        {"xy\xe2\x82", 4, 2},        /* truncated */
        {"\x80", 1, 0},              /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char at[64];
        snprintf(at, sizeof at, "at byte %zu)", bad[i].at);
        assert_int_not_equal(tc_utf8_decode("in.txt", (const unsigned char *)bad[i].bytes, bad[i].n, &cp, &n), TC_OK);
        assert_null(cp);
        tc_assert_error(NULL, "in.txt: not UTF-8", at);
    }
}

static void files_and_folders(void **state)
{
    uint32_t *cp;
    size_t n;
    write_bytes(p("a.txt"), "b\xc3\xa9", 3);
    assert_int_equal(tc_load_utf8_text(p("a.txt"), &cp, &n), TC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cp[1], 0xE9);
    free(cp);
    write_bytes(p("empty.txt"), "", 0);
    assert_int_equal(tc_load_utf8_text(p("empty.txt"), &cp, &n), TC_OK);
    assert_int_equal(n, 0);
    free(cp);
    assert_int_not_equal(tc_load_utf8_text(p("missing.txt"), &cp, &n), TC_OK);
    tc_assert_error(NULL, "missing.txt: cannot open", "No such file");
    assert_int_not_equal(tc_load_utf8_text(dir, &cp, &n), TC_OK);
    tc_assert_error(NULL, "is a folder");
    unsigned char noise[300];
    tc_rng r = tc_rng_new(5);
    for (int i = 0; i < 300; i++) noise[i] = (unsigned char)(tc_rng_u32(&r) | 0x80); /* never valid UTF-8 at byte 0.. */
    noise[0] = 0xFF;
    write_bytes(p("random.bin"), noise, sizeof noise);
    assert_int_not_equal(tc_load_utf8_text(p("random.bin"), &cp, &n), TC_OK);
    tc_assert_error(NULL, "random.bin: not UTF-8", "at byte 0)");

    /* a folder: name order, *.dat / *.u8 / hidden / non-UTF-8 files left out */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/corpus", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *files[][2] = {{"b", "BB"}, {"a", "A"}, {"c.dat", "xx"}, {"d.u8", "yy"}, {".e", "zz"}, {"f", "\xff"}};
    for (int i = 0; i < 6; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", sub, files[i][0]);
        write_bytes(path, files[i][1], strlen(files[i][1]));
    }
    assert_int_equal(tc_load_utf8_folder(sub, &cp, &n), TC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(cp[0], 'A');
    assert_int_equal(cp[1], 'B');
    assert_int_equal(cp[2], 'B');
    free(cp);
    assert_int_not_equal(tc_load_utf8_folder(p("nowhere"), &cp, &n), TC_OK);
    tc_assert_error(NULL, "nowhere: cannot read");
    char empty[128];
    snprintf(empty, sizeof empty, "%s/nothing", dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_int_not_equal(tc_load_utf8_folder(empty, &cp, &n), TC_OK);
    tc_assert_error(NULL, "nothing: no UTF-8 text file");
}

static void vocabulary_and_sequences(void **state)
{
    const char *text = "hello, world! hello again.";
    uint32_t cp[64];
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) cp[i] = (unsigned char)text[i];
    tc_char_vocab *v = tc_char_vocab_of_text(cp, n);
    assert_non_null(v);
    /* sorted(set(text)) in Python */
    const char *want = " !,.adeghilnorw";
    assert_int_equal(v->size, (int)strlen(want));
    for (int i = 0; i < v->size; i++) assert_int_equal(v->chars[i], (unsigned char)want[i]);
    assert_int_equal(tc_char_vocab_id(v, 'h'), strchr(want, 'h') - want);
    assert_int_equal(tc_char_vocab_id(v, 'z'), -1);
    tc_char_vocab *w = tc_char_vocab_new(v->size, v->chars);
    assert_true(tc_char_vocab_equal(v, w));
    tc_char_vocab_free(w);
    tc_assert_error(tc_char_vocab_new(3, (const uint32_t[]){1, 3, 2}), "char_vocab", "entry 2");
    tc_assert_error(tc_char_vocab_new(0, v->chars), "char_vocab");

    /* 26 characters, windows of 5 every 3: (26 - 5 - 1) / 3 + 1 = 7 sequences; 2 of them (0.3) validate */
    tc_dataset *tr, *va;
    assert_int_equal(tc_char_sequences(cp, n, v, 5, 3, 0.3, &tr, &va), TC_OK);
    assert_int_equal(tc_dataset_size(tr), 5);
    assert_int_equal(tc_dataset_size(va), 2);
    assert_int_equal(tr->classes, v->size);
    for (int s = 0; s < 7; s++) {
        tc_dataset *d = s < 5 ? tr : va;
        int row = s < 5 ? s : s - 5;
        for (int t = 0; t < 5; t++) assert_int_equal((int)d->x->data[row * 5 + t], tc_char_vocab_id(v, cp[s * 3 + t]));
        assert_int_equal((int)d->y->data[row], tc_char_vocab_id(v, cp[s * 3 + 5]));
    }
    tc_dataset_free(tr);
    tc_dataset_free(va);
    assert_int_equal(tc_char_sequences(cp, n, v, 5, 3, 0, &tr, &va), TC_OK);
    assert_int_equal(tc_dataset_size(tr), 7);
    assert_null(va);
    tc_dataset_free(tr);
    /* too short, a character the vocabulary lacks, bad arguments */
    assert_int_not_equal(tc_char_sequences(cp, 10, v, 25, 3, 0.05, &tr, &va), TC_OK);
    tc_assert_error(NULL, "10 characters; need at least 26 for one sequence");
    assert_null(tr);
    uint32_t other[8] = {'h', 'e', 'l', 'l', 'o', 'Z', 'h', 'e'};
    assert_int_not_equal(tc_char_sequences(other, 8, v, 3, 1, 0, &tr, &va), TC_OK);
    tc_assert_error(NULL, "U+005A", "not in the vocabulary");
    assert_int_not_equal(tc_char_sequences(cp, n, v, 5, 0, 0, &tr, &va), TC_OK);
    tc_char_vocab_free(v);
    tc_step_reset();
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "chars_test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_and_encode),
        cmocka_unit_test(files_and_folders),
        cmocka_unit_test(vocabulary_and_sequences),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
