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
        tc_arena_reset();
        tc_seq2seq_free(m);
        tc_fixture_free(fx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_and_gradients),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
