/* The encoder-decoder against an independent PyTorch implementation
 * (tests/fixtures/gen_seq2seq.py): the loss and every gradient with each
 * attention kind, input feeding, a bidirectional first layer and padded
 * source and target batches; greedy and beam-search outputs for the same
 * weights; batches, sampling and bad arguments. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensorcook/seq2seq.h"

typedef struct {
    const char *file;
    int layers;
    bool bi;
    tc_attention_kind att;
} fx_case;

static const fx_case cases[] = {
    {"seq2seq/plain.tcfx", 2, false, TC_ATTN_NONE},
    {"seq2seq/luong.tcfx", 2, false, TC_ATTN_LUONG},
    {"seq2seq/scaled_luong_bi.tcfx", 1, true, TC_ATTN_SCALED_LUONG},
    {"seq2seq/bahdanau_bi.tcfx", 2, true, TC_ATTN_BAHDANAU},
    {"seq2seq/normed_bahdanau.tcfx", 2, false, TC_ATTN_NORMED_BAHDANAU},
    {"seq2seq/plain_bi.tcfx", 2, true, TC_ATTN_NONE},
};

/* The model of a case with the fixture's weights; the batch from it. */
static tc_seq2seq *load_case(const fx_case *c, tc_fixture *fx, tc_seq_batch *b)
{
    tc_seq2seq *m = tc_seq2seq_new(&(tc_seq2seq_opts){.src_vocab = 11, .tgt_vocab = 13, .units = 8, .layers = c->layers,
                                                     .bidirectional = c->bi, .attention = c->att});
    tc_assert_ok(m);
    for (int i = 0; i < tc_seq2seq_param_count(m); i++) {
        char key[128];
        snprintf(key, sizeof key, "w:%s", tc_seq2seq_param_name(m, i));
        if (!tc_fixture_has(fx, key)) fail_msg("%s: no fixture weight %s", c->file, key);
        tc_tensor *w = tc_fixture_get(fx, key), *p = tc_seq2seq_param(m, i);
        if (!tc_same_shape(w, p)) fail_msg("%s: %s shapes differ", c->file, key);
        tc_write_values(p, w->data);
    }
    memset(b, 0, sizeof *b);
    b->src = tc_fixture_get(fx, "src");
    b->src_mask = tc_fixture_get(fx, "src_mask");
    b->tgt_in = tc_fixture_get(fx, "tgt_in");
    b->tgt_out = tc_fixture_get(fx, "tgt_out");
    b->tgt_mask = tc_fixture_get(fx, "tgt_mask");
    b->B = b->src->shape[0], b->Ts = b->src->shape[1], b->Tt = b->tgt_in->shape[1];
    return m;
}

static void loss_and_gradients(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", TC_FIXTURES, cases[k].file);
        tc_fixture *fx = tc_fixture_load(path);
        tc_assert_ok(fx);
        tc_seq_batch b;
        tc_seq2seq *m = load_case(&cases[k], fx, &b);
        int n = tc_seq2seq_param_count(m);
        tc_zero_grads(n, tc_seq2seq_params(m));
        tc_tensor *loss = tc_seq2seq_loss(m, &b, true);
        tc_assert_ok(loss);
        tc_tensor *want = tc_fixture_get(fx, "loss");
        double l = loss->data[0], w = want->data[0];
        if (fabs(l - w) > 1e-5 * fabs(w)) fail_msg("%s: loss %.9g, PyTorch %.9g", cases[k].file, l, w);
        assert_int_equal(tc_backward(loss), TC_OK);
        for (int i = 0; i < n; i++) {
            char key[128];
            snprintf(key, sizeof key, "grad:%s", tc_seq2seq_param_name(m, i));
            tc_tensor *p = tc_seq2seq_param(m, i), *g = tc_fixture_get(fx, key);
            if (!p->grad) fail_msg("%s: no gradient for %s", cases[k].file, key);
            tc_assert_close(p->grad, g, 1e-4, 1e-5);
        }
        tc_step_reset();
        tc_seq2seq_free(m);
        tc_fixture_free(fx);
    }
}

/* out row i equals the fixture's row i (ids, then -1 padding) */
static void assert_rows(const char *what, const char *file, const tc_id_seqs *got, tc_tensor *want)
{
    assert_int_equal(got->n, want->shape[0]);
    int64_t W = want->shape[1];
    for (int64_t i = 0; i < got->n; i++) {
        int64_t n = 0;
        while (n < W && want->data[i * W + n] >= 0) n++;
        bool same = n == got->len[i];
        for (int64_t t = 0; same && t < n; t++) same = got->ids[i][t] == (int32_t)want->data[i * W + t];
        if (!same) {
            char a[256] = "", b[256] = "";
            for (int64_t t = 0; t < got->len[i] && t < 30; t++) snprintf(a + strlen(a), sizeof a - strlen(a), " %d", got->ids[i][t]);
            for (int64_t t = 0; t < n && t < 30; t++) snprintf(b + strlen(b), sizeof b - strlen(b), " %d", (int)want->data[i * W + t]);
            fail_msg("%s %s row %lld: got [%s ] PyTorch [%s ]", file, what, (long long)i, a, b);
        }
    }
}

static void greedy_and_beam(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", TC_FIXTURES, cases[k].file);
        tc_fixture *fx = tc_fixture_load(path);
        tc_assert_ok(fx);
        tc_seq_batch b;
        tc_seq2seq *m = load_case(&cases[k], fx, &b);
        tc_id_seqs out;
        assert_int_equal(tc_seq2seq_decode(m, &b, NULL, 1, 2, &out, NULL), TC_OK);
        assert_rows("greedy", cases[k].file, &out, tc_fixture_get(fx, "greedy"));
        assert_rows("greedy = beam 1", cases[k].file, &out, tc_fixture_get(fx, "beam1"));
        /* sampling at a tiny temperature is greedy */
        tc_id_seqs smp;
        assert_int_equal(tc_seq2seq_decode(m, &b, &(tc_decode_opts){.temperature = 1e-7, .seed = 5}, 1, 2, &smp, NULL), TC_OK);
        for (int64_t i = 0; i < out.n; i++) {
            assert_int_equal(smp.len[i], out.len[i]);
            for (int64_t t = 0; t < out.len[i]; t++) assert_int_equal(smp.ids[i][t], out.ids[i][t]);
        }
        tc_id_seqs_free(&smp);
        tc_id_seqs_free(&out);
        assert_int_equal(tc_seq2seq_decode(m, &b, &(tc_decode_opts){.beam_width = 3, .length_penalty = 0.6}, 1, 2, &out, NULL), TC_OK);
        assert_rows("beam 3", cases[k].file, &out, tc_fixture_get(fx, "beam"));
        tc_id_seqs_free(&out);
        /* attention weights: one row per output step, summing to 1, zero on padding */
        if (cases[k].att != TC_ATTN_NONE) {
            float **att = NULL;
            assert_int_equal(tc_seq2seq_decode(m, &b, NULL, 1, 2, &out, &att), TC_OK);
            for (int64_t i = 0; i < out.n; i++) {
                int64_t rows = out.len[i] + (out.len[i] < 2 * 6 ? 1 : 0);
                for (int64_t r = 0; r < rows; r++) {
                    double sum = 0;
                    for (int64_t t = 0; t < b.Ts; t++) {
                        float a = att[i][r * b.Ts + t];
                        if (b.src_mask->data[i * b.Ts + t] == 0) assert_true(a == 0.0f);
                        sum += a;
                    }
                    assert_true(fabs(sum - 1) < 1e-5);
                }
                free(att[i]);
            }
            free(att);
            tc_id_seqs_free(&out);
        } else {
            float **att = NULL;
            assert_int_equal(tc_seq2seq_decode(m, &b, NULL, 1, 2, &out, &att), TC_ERR_ARG);
        }
        tc_step_reset();
        tc_seq2seq_free(m);
        tc_fixture_free(fx);
    }
}

static void sampling_batches_and_errors(void **state)
{
    (void)state;
    tc_seq2seq *m = tc_seq2seq_new(&(tc_seq2seq_opts){.src_vocab = 20, .tgt_vocab = 15, .units = 6, .layers = 2,
                                                     .attention = TC_ATTN_LUONG, .seed = 3});
    tc_assert_ok(m);
    int32_t s0[] = {4, 5, 6, 7}, s1[] = {8, 9}, t0[] = {3, 4, 5}, t1[] = {6};
    int32_t *sids[] = {s0, s1}, *tids[] = {t0, t1};
    int64_t sl[] = {4, 2}, tl[] = {3, 1};
    tc_id_seqs src = {2, sl, sids}, tgt = {2, tl, tids};
    tc_seq_batch b;
    assert_int_equal(tc_seq_batch_make(&src, &tgt, (int64_t[]){1, 0}, 2, 3, 0, 1, 2, &b), TC_OK);
    assert_int_equal(b.Ts, 3); /* cut at max_src */
    assert_int_equal(b.Tt, 4);
    assert_int_equal(b.tgt_tokens, 2 + 4);
    const tc_scalar src_want[] = {8, 9, 2, 4, 5, 6}, mask_want[] = {1, 1, 0, 1, 1, 1};
    const tc_scalar in_want[] = {1, 6, 2, 2, 1, 3, 4, 5}, out_want[] = {6, 2, 2, 2, 3, 4, 5, 2};
    for (int i = 0; i < 6; i++) assert_true(b.src->data[i] == src_want[i] && b.src_mask->data[i] == mask_want[i]);
    for (int i = 0; i < 8; i++) assert_true(b.tgt_in->data[i] == in_want[i] && b.tgt_out->data[i] == out_want[i]);
    tc_tensor *loss = tc_seq2seq_loss(m, &b, false);
    tc_assert_ok(loss);
    assert_true(loss->data[0] > 0 && isfinite(loss->data[0]));
    /* sampling: the same seed, the same output; ids in the vocabulary */
    tc_id_seqs a, c;
    assert_int_equal(tc_seq2seq_decode(m, &b, &(tc_decode_opts){.temperature = 1.0, .seed = 9, .max_len = 7}, 1, 2, &a, NULL), TC_OK);
    assert_int_equal(tc_seq2seq_decode(m, &b, &(tc_decode_opts){.temperature = 1.0, .seed = 9, .max_len = 7}, 1, 2, &c, NULL), TC_OK);
    for (int64_t i = 0; i < 2; i++) {
        assert_int_equal(a.len[i], c.len[i]);
        assert_true(a.len[i] <= 7);
        for (int64_t t = 0; t < a.len[i]; t++) {
            assert_int_equal(a.ids[i][t], c.ids[i][t]);
            assert_true(a.ids[i][t] >= 0 && a.ids[i][t] < 15 && a.ids[i][t] != 2);
        }
    }
    tc_id_seqs_free(&a);
    tc_id_seqs_free(&c);
    /* bad arguments */
    assert_int_equal(tc_seq2seq_decode(m, &b, NULL, 1, 15, &a, NULL), TC_ERR_ARG);
    assert_int_equal(tc_seq_batch_make(&src, &tgt, (int64_t[]){2}, 1, 0, 0, 1, 2, &b), TC_ERR_ARG);
    assert_null(tc_seq2seq_new(&(tc_seq2seq_opts){.src_vocab = 5, .tgt_vocab = 5, .layers = 99}));
    tc_attention_kind kind;
    assert_int_equal(tc_attention_kind_parse("normed_bahdanau", &kind), TC_OK);
    assert_int_equal(kind, TC_ATTN_NORMED_BAHDANAU);
    assert_int_equal(tc_attention_kind_parse("dot", &kind), TC_ERR_ARG);
    tc_step_reset();
    tc_seq2seq_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_and_gradients),
        cmocka_unit_test(greedy_and_beam),
        cmocka_unit_test(sampling_batches_and_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
