/* GloVe / word2vec text word vectors: both layouts, max_words, and each
 * bad input (wrong vector length names file:line, bad numbers, empty). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensorcook/word_vectors.h"

static char path[64];

static void write_text(const char *s)
{
    snprintf(path, sizeof path, "/tmp/test_wv_%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void test_glove(void **state)
{
    (void)state;
    write_text("the 0.5 -1.25 3e-2\nred 1 2 3\r\ncube -0.125 0 7");
    tc_word_vectors wv;
    assert_int_equal(tc_word_vectors_read(path, 0, &wv), TC_OK);
    assert_int_equal(wv.n, 3);
    assert_int_equal(wv.dim, 3);
    assert_string_equal(wv.word[2], "cube");
    assert_true(wv.vec[0] == 0.5f && wv.vec[1] == -1.25f && wv.vec[2] == 3e-2f);
    assert_true(wv.vec[6] == -0.125f && wv.vec[8] == 7.0f);
    assert_int_equal(tc_word_vectors_find(&wv, "red"), 1);
    assert_int_equal(tc_word_vectors_find(&wv, "blue"), -1);
    tc_word_vectors_free(&wv);
    assert_int_equal(tc_word_vectors_read(path, 2, &wv), TC_OK);
    assert_int_equal(wv.n, 2);
    tc_word_vectors_free(&wv);
    unlink(path);
}

static void test_word2vec_header(void **state)
{
    (void)state;
    write_text("2 2\nleft 1 2\nright 3 4\n");
    tc_word_vectors wv;
    assert_int_equal(tc_word_vectors_read(path, 0, &wv), TC_OK);
    assert_int_equal(wv.n, 2);
    assert_int_equal(wv.dim, 2);
    assert_true(wv.vec[3] == 4.0f);
    tc_word_vectors_free(&wv);
    /* the header's dim binds the first vector too */
    write_text("2 3\nleft 1 2\n");
    assert_int_equal(tc_word_vectors_read(path, 0, &wv), TC_ERR_FORMAT);
    assert_non_null(strstr(tc_last_error(), ":2:"));
    unlink(path);
}

static void expect_error(const char *text, const char *needle)
{
    write_text(text);
    tc_word_vectors wv;
    assert_int_equal(tc_word_vectors_read(path, 0, &wv), TC_ERR_FORMAT);
    assert_non_null(strstr(tc_last_error(), path));
    if (!strstr(tc_last_error(), needle)) fail_msg("%s lacks %s", tc_last_error(), needle);
    assert_null(wv.word);
    unlink(path);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    expect_error("a 1 2 3\nb 1 2 3\nc 1 2\n", ":3: 2 values where every vector has 3");
    expect_error("", "empty");
    expect_error("a 1 x\n", ":1: value 2 is not a finite number");
    expect_error("a 1 nan\n", ":1: value 2");
    expect_error("a 1 2\n\nb 1 2\n", ":2: empty line");
    expect_error("word\n", ":1: a word without a vector");
    tc_word_vectors wv;
    assert_int_equal(tc_word_vectors_read("/nonexistent/glove.txt", 0, &wv), TC_ERR_IO);
}

/* Inputs kept from fuzzing (tests/fuzz/regressions/word_vectors/): each
 * reads, or fails with an error naming the file; never a crash. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    char cmd[1024], list[64];
    snprintf(list, sizeof list, "/tmp/test_wv_list_%d.txt", (int)getpid());
    snprintf(cmd, sizeof cmd, "ls %s/../fuzz/regressions/word_vectors/ > %s", TC_FIXTURES, list);
    assert_int_equal(system(cmd), 0);
    FILE *l = fopen(list, "r");
    assert_non_null(l);
    char name[400];
    int n = 0;
    while (fgets(name, sizeof name, l)) {
        name[strcspn(name, "\n")] = 0;
        if (!strcmp(name, "README")) continue;
        char file[1024];
        snprintf(file, sizeof file, "%s/../fuzz/regressions/word_vectors/%s", TC_FIXTURES, name);
        tc_word_vectors wv;
        if (tc_word_vectors_read(file, 0, &wv) == TC_OK) {
            assert_true(wv.n > 0 && wv.dim > 0);
            tc_word_vectors_free(&wv);
        } else {
            if (!strstr(tc_last_error(), name)) fail_msg("%s: error without the file name: %s", name, tc_last_error());
            assert_null(wv.word);
        }
        n++;
    }
    fclose(l);
    unlink(list);
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glove),
        cmocka_unit_test(test_word2vec_header),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
