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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glove),
        cmocka_unit_test(test_word2vec_header),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
