/* The VQA model and its data: the seed's parameter count (13,707,240) and
 * layer names; a small model (the same structure) against an independent
 * PyTorch implementation (tests/fixtures/gen_vqa.py): logits, loss and
 * every gradient, for tanh and for the seed's linear Dense layers; the same
 * bits for 1 and 2 threads; the question reader (tokens, right padding,
 * unknown words), the random vectors, the QA folder reader's errors and
 * the generated shapes set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static tc_vqa_opts small_opts(bool linear)
{
    return (tc_vqa_opts){.image_features = 24, .max_words = 30, .word_dim = 8, .lstm_units = 16, .dense_units = 32,
                         .answers = 10, .linear_dense = linear};
}

static void test_seed_parameter_count(void **state)
{
    (void)state;
    for (int linear = 0; linear < 2; linear++) {
        tc_model *m = tc_vqa_model(&(tc_vqa_opts){.linear_dense = linear});
        tc_assert_ok(m);
        int64_t trainable = 0, frozen = 0;
        assert_int_equal(tc_model_count_params(m, &trainable, &frozen), 13707240);
        assert_int_equal(trainable, 13707240);
        assert_int_equal(frozen, 0);
        const char *names[] = {"lstm_1", "lstm_2", "lstm_3", "reshape_1", "concatenate_1", "dense_1", "dropout_1",
                               "dense_2", "dropout_2", "dense_3", "dropout_3", "dense_4"};
        const int64_t params[] = {1665024, 2099200, 2099200, 0, 0, 4719616, 0, 1049600, 0, 1049600, 0, 1025000};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            tc_layer *l = tc_model_layer(m, names[i]);
            assert_non_null(l);
            assert_int_equal(tc_layer_param_count(l), params[i]);
        }
        int64_t shape[4];
        assert_int_equal(tc_layer_output_shape(tc_model_layer(m, "concatenate_1"), shape), 1);
        assert_int_equal(shape[0], 4608);
        assert_int_equal(tc_model_input_shape(m, 1, shape), 2);
        assert_int_equal(shape[0], 30);
        assert_int_equal(shape[1], 300);
        tc_model_free(m);
    }
    tc_assert_error(tc_vqa_model(&(tc_vqa_opts){.dropout = 1.5}), "vqa", "dropout");
}

static void load_params(tc_model *m, tc_fixture *fx)
{
    int n = tc_model_param_count(m);
    for (int i = 0; i < n; i++) {
        char key[200];
        snprintf(key, sizeof key, "param:%s", tc_model_param_name(m, i));
        tc_tensor *v = tc_fixture_get(fx, key), *p = tc_model_param(m, i);
        assert_int_equal(tc_numel(v), tc_numel(p));
        memcpy(p->data, v->data, (size_t)tc_numel(p) * sizeof(tc_scalar));
    }
}

static void check_case(const char *file, bool linear)
{
    tc_fixture *fx = tc_fixture_load(file);
    tc_assert_ok(fx);
    tc_vqa_opts o = small_opts(linear);
    tc_model *m = tc_vqa_model(&o);
    tc_assert_ok(m);
    load_params(m, fx);
    tc_tensor *in[2] = {tc_fixture_get(fx, "image"), tc_fixture_get(fx, "question")}, *logits;
    /* inference mode: Dropout is the identity, as in the reference */
    assert_int_equal(tc_model_forward_multi(m, 2, in, false, 1, &logits), TC_OK);
    tc_assert_close(logits, tc_fixture_get(fx, "logits"), 1e-5, 1e-6);
    tc_tensor *loss = tc_sparse_softmax_cross_entropy(logits, tc_fixture_get(fx, "labels"), NULL, TC_REDUCE_MEAN);
    tc_assert_ok(loss);
    tc_assert_close(loss, tc_fixture_get(fx, "loss"), 1e-5, 1e-6);
    assert_int_equal(tc_backward(loss), TC_OK);
    for (int i = 0; i < tc_model_param_count(m); i++) {
        char key[200];
        snprintf(key, sizeof key, "grad:%s", tc_model_param_name(m, i));
        tc_tensor *p = tc_model_param(m, i);
        assert_non_null(p->grad);
        tc_assert_close(p->grad, tc_fixture_get(fx, key), 1e-4, 1e-6);
    }
    tc_step_reset();
    tc_model_free(m);
    tc_fixture_free(fx);
}

static void test_small_matches_pytorch(void **state)
{
    (void)state;
    check_case(TC_FIXTURE_PATH("vqa/vqa_small.tcfx"), false);
}

static void test_small_linear_matches_pytorch(void **state)
{
    (void)state;
    check_case(TC_FIXTURE_PATH("vqa/vqa_small_linear.tcfx"), true);
}

/* loss and every gradient of a training-mode step (dropout on), as bits */
static tc_scalar *train_run(int threads, int64_t *n_out)
{
    tc_set_num_threads(threads);
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("vqa/vqa_small.tcfx"));
    tc_vqa_opts o = small_opts(false);
    tc_model *m = tc_vqa_model(&o);
    load_params(m, fx);
    tc_manual_seed(7);
    tc_tensor *in[2] = {tc_fixture_get(fx, "image"), tc_fixture_get(fx, "question")}, *logits;
    assert_int_equal(tc_model_forward_multi(m, 2, in, true, 1, &logits), TC_OK);
    tc_tensor *loss = tc_sparse_softmax_cross_entropy(logits, tc_fixture_get(fx, "labels"), NULL, TC_REDUCE_MEAN);
    assert_int_equal(tc_backward(loss), TC_OK);
    int64_t n = 1;
    for (int i = 0; i < tc_model_param_count(m); i++) n += tc_numel(tc_model_param(m, i));
    tc_scalar *out = malloc(sizeof(tc_scalar) * (size_t)n), *at = out;
    *at++ = loss->data[0];
    for (int i = 0; i < tc_model_param_count(m); i++) {
        tc_tensor *g = tc_model_param(m, i)->grad;
        memcpy(at, g->data, sizeof(tc_scalar) * (size_t)tc_numel(g));
        at += tc_numel(g);
    }
    /* dropout is active in training: the loss differs from inference's */
    assert_true(fabs(out[0] - tc_fixture_get(fx, "loss")->data[0]) > 1e-6);
    tc_step_reset();
    tc_model_free(m);
    tc_fixture_free(fx);
    *n_out = n;
    return out;
}

static void test_same_bits_for_thread_counts(void **state)
{
    (void)state;
    int before = tc_num_threads();
    int64_t n1, n2;
    tc_scalar *a = train_run(1, &n1), *b = train_run(2, &n2);
    tc_set_num_threads(before);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, sizeof(tc_scalar) * (size_t)n1);
    free(a);
    free(b);
}

static void test_question_vectors(void **state)
{
    (void)state;
    char *tok[8];
    int n = tc_question_tokens("What COLOR is the  circle? It's red!", 8, tok);
    const char *want[] = {"what", "color", "is", "the", "circle", "it's", "red"};
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++) {
        assert_string_equal(tok[i], want[i]);
        free(tok[i]);
    }
    assert_int_equal(tc_question_tokens("a b c d e", 3, tok), 3); /* cut at max, as the seed */
    for (int i = 0; i < 3; i++) free(tok[i]);
    const char *words[] = {"what", "color", "circle"};
    tc_word_vectors wv, again;
    assert_int_equal(tc_word_vectors_random(3, words, 4, 9, &wv), TC_OK);
    assert_int_equal(tc_word_vectors_random(3, words, 4, 9, &again), TC_OK);
    assert_memory_equal(wv.vec, again.vec, sizeof(float) * 12);
    tc_scalar q[5 * 4];
    int unknown = -1;
    assert_int_equal(tc_question_vectors(&wv, "what colour, circle?", 5, false, q, &unknown), TC_OK);
    assert_int_equal(unknown, 1);
    for (int d = 0; d < 4; d++) {
        assert_true(q[d] == (tc_scalar)wv.vec[d]);          /* what */
        assert_true(q[4 + d] == 0);                          /* colour: unknown, zeros */
        assert_true(q[8 + d] == (tc_scalar)wv.vec[8 + d]);  /* circle */
        assert_true(q[12 + d] == 0 && q[16 + d] == 0);       /* right padding */
    }
    assert_int_equal(tc_question_vectors(&wv, "what colour, circle?", 5, true, q, &unknown), TC_OK);
    for (int d = 0; d < 4; d++) { /* pre padding: zeros, then what, (colour), circle */
        assert_true(q[d] == 0 && q[4 + d] == 0 && q[12 + d] == 0);
        assert_true(q[8 + d] == (tc_scalar)wv.vec[d]);
        assert_true(q[16 + d] == (tc_scalar)wv.vec[8 + d]);
    }
    tc_word_vectors sub;
    int64_t unk;
    const char *ask[] = {"circle", "nope"};
    assert_int_equal(tc_word_vectors_subset(&wv, 2, ask, &sub, &unk), TC_OK);
    assert_int_equal(unk, 1);
    assert_memory_equal(sub.vec, wv.vec + 8, sizeof(float) * 4);
    assert_true(sub.vec[4] == 0);
    tc_word_vectors_free(&sub);
    tc_word_vectors_free(&wv);
    tc_word_vectors_free(&again);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_qa_folder_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/tc_vqa_XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    tc_assert_error(tc_qa_set_load(dir), dir, "answers.txt");
    snprintf(p, sizeof p, "%s/answers.txt", dir);
    write_text(p, "yes\n\nno\n");
    tc_assert_error(tc_qa_set_load(dir), "answers.txt:2", "empty answer");
    write_text(p, "yes\nno\n");
    snprintf(p, sizeof p, "%s/questions.tsv", dir);
    write_text(p, "a.png\tis it?\tyes\nb.png\tis it?\n");
    tc_assert_error(tc_qa_set_load(dir), "questions.tsv:2", "IMAGE<TAB>QUESTION<TAB>ANSWER");
    write_text(p, "a.png\tis it?\tyes\nb.png\tis it?\tmaybe\n");
    tc_assert_error(tc_qa_set_load(dir), "questions.tsv:2", "'maybe' is not in answers.txt");
    write_text(p, "a.png\tis it?\tyes\nb.png\tis it not?\tno\na.png\tand now?\tno\n");
    tc_qa_set *s = tc_qa_set_load(dir);
    tc_assert_ok(s);
    assert_int_equal(s->n, 3);
    assert_int_equal(s->n_images, 2);
    assert_int_equal(s->image[2], 0);
    assert_int_equal(s->answer[1], 1);
    tc_qa_set_free(s);
    unlink(p);
    snprintf(p, sizeof p, "%s/answers.txt", dir);
    unlink(p);
    rmdir(dir);
}

/* The generated set: every image decodes, every answer is the kind its
 * question asks for, and counts agree with the pictures' shapes. */
static void test_generated_shapes(void **state)
{
    (void)state;
    char dir[] = "/tmp/tc_vqa_gen_XXXXXX", p[300];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(tc_shapes_qa_generate(dir, &(tc_shapes_qa_opts){.images = 12, .size = 64, .seed = 3}), TC_OK);
    tc_qa_set *s = tc_qa_set_load(dir);
    tc_assert_ok(s);
    assert_int_equal(s->n_images, 12);
    assert_int_equal(s->n, 36);
    assert_int_equal(s->n_answers, 14);
    for (int64_t i = 0; i < s->n; i++) {
        const char *q = s->questions[i], *a = s->answers[s->answer[i]];
        if (!strncmp(q, "what color ", 11)) assert_non_null(strstr("red green blue yellow", a));
        else if (!strncmp(q, "what shape ", 11)) assert_non_null(strstr("circle square triangle", a));
        else if (!strncmp(q, "how many ", 9)) assert_non_null(strstr("one two three", a));
        else if (!strncmp(q, "is the ", 7)) assert_true(!strcmp(a, "left") || !strcmp(a, "right"));
        else assert_true(!strncmp(q, "is there ", 9) && (!strcmp(a, "yes") || !strcmp(a, "no")));
    }
    /* "how many": count the connected non-background blobs by their colour
     * pixels in the picture: at least as many distinct saturated areas */
    for (int64_t i = 0; i < s->n_images; i++) {
        tc_tensor *img = tc_image_load(s->images[i]);
        tc_assert_ok(img);
        assert_int_equal(img->shape[0], 64);
        int quads = 0;
        for (int qd = 0; qd < 4; qd++) { /* a shape's quadrant has saturated pixels */
            int sat = 0;
            for (int y = (qd / 2) * 32; y < (qd / 2) * 32 + 32; y++)
                for (int x = (qd % 2) * 32; x < (qd % 2) * 32 + 32; x++) {
                    const tc_scalar *px = img->data + (y * 64 + x) * 3;
                    tc_scalar mx = fmaxf(px[0], fmaxf(px[1], px[2])), mn = fminf(px[0], fminf(px[1], px[2]));
                    sat += mx - mn > 80;
                }
            quads += sat > 20;
        }
        for (int64_t k = 0; k < s->n; k++)
            if (s->image[k] == i && !strncmp(s->questions[k], "how many ", 9)) {
                const char *want[] = {"zero", "one", "two", "three", "four"};
                assert_string_equal(s->answers[s->answer[k]], want[quads]);
            }
        tc_tensor_free(img);
    }
    tc_qa_set_free(s);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_parameter_count),
        cmocka_unit_test(test_small_matches_pytorch),
        cmocka_unit_test(test_small_linear_matches_pytorch),
        cmocka_unit_test(test_same_bits_for_thread_counts),
        cmocka_unit_test(test_question_vectors),
        cmocka_unit_test(test_qa_folder_errors),
        cmocka_unit_test(test_generated_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
