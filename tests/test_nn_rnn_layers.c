/* Recurrent layers in functional models, Keras-style: return_state (the
 * outputs equal the op-level results), initial states (a seq2seq encoder's
 * states feeding a decoder, which trains with gradients reaching the
 * encoder), masks from Masking and Embedding(mask_zero) carried through
 * other layers (a padded batch gives the outputs of the unpadded sequences
 * run alone, for every RNN layer and Bidirectional), and bad inputs. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { K_LSTM, K_GRU, K_GRU_RA, K_SIMPLE, K_BI_LSTM, K_BI_GRU, N_KINDS } kind;
static const char *const kind_name[N_KINDS] = {"LSTM", "GRU", "GRU(reset_after)", "SimpleRNN", "Bidirectional(LSTM)",
                                                "Bidirectional(GRU)"};
static int states_of(kind k) { return k == K_LSTM ? 2 : k == K_BI_LSTM ? 4 : k == K_BI_GRU ? 2 : 1; }

static tc_layer *make_rnn(kind k, tc_rnn_opts o)
{
    switch (k) {
    case K_LSTM: return tc_lstm_layer(&o);
    case K_GRU: return tc_gru_layer(&o);
    case K_GRU_RA: o.reset_after = true; return tc_gru_layer(&o);
    case K_SIMPLE: return tc_simple_rnn_layer(&o);
    case K_BI_LSTM: o.name = NULL; return tc_bidirectional(tc_lstm_layer(&o), "rnn");
    default: o.name = NULL; o.reset_after = true; return tc_bidirectional(tc_gru_layer(&o), "rnn");
    }
}

static tc_tensor *param(const tc_model *m, const char *layer, const char *weight)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", layer, weight);
    tc_tensor *p = tc_model_param_by_name(m, name);
    if (!p) fail_msg("no parameter %s", name);
    return p;
}

/* The op-level run of the (non-bidirectional) layer `layer` of m. */
static void op_run(kind k, const tc_model *m, const char *layer, tc_tensor *x, tc_tensor *h0, tc_tensor *c0,
                   tc_tensor *mask, bool reverse, tc_tensor **seq, tc_tensor **h, tc_tensor **c)
{
    tc_tensor *kern = param(m, layer, "kernel"), *rec = param(m, layer, "recurrent_kernel"), *bias = param(m, layer, "bias");
    tc_status s;
    if (k == K_LSTM || k == K_BI_LSTM)
        s = tc_lstm(x, kern, rec, bias, NULL, h0, c0, mask, &(tc_lstm_params){.reverse = reverse}, seq, h, c);
    else if (k == K_SIMPLE)
        s = tc_simple_rnn(x, kern, rec, bias, h0, mask, TC_TANH, reverse, seq, h);
    else
        s = tc_gru(x, kern, rec, bias, h0, mask, &(tc_gru_params){.reset_after = k == K_GRU_RA || k == K_BI_GRU, .reverse = reverse}, seq, h);
    if (s != TC_OK) fail_msg("%s", tc_last_error());
}

static void copy_weights(tc_model *dst, const tc_model *src)
{
    for (int i = 0; i < tc_model_param_count(dst); i++) {
        tc_tensor *d = tc_model_param(dst, i), *s = tc_model_param_by_name(src, tc_model_param_name(dst, i));
        if (!s) fail_msg("no parameter %s in the source model", tc_model_param_name(dst, i));
        assert_int_equal(tc_numel(d), tc_numel(s));
        memcpy(d->data, s->data, sizeof(tc_scalar) * (size_t)tc_numel(d));
    }
}

static tc_tensor *row(tc_tensor *t, int64_t b) { return tc_contiguous(tc_narrow(t, 0, b, 1)); }
static tc_tensor *steps(tc_tensor *t, int64_t b, int64_t from, int64_t n)
{
    return tc_contiguous(tc_narrow(tc_narrow(t, 0, b, 1), 1, from, n));
}

/* ---- return_state and initial states against the ops ------------------------------------ */
static void return_state_matches_ops(void **state)
{
    const int64_t T = 5, F = 3, H = 4, B = 2;
    tc_rng r = tc_rng_new(11);
    for (kind k = K_LSTM; k <= K_SIMPLE; k++)
        for (int variant = 0; variant < 4; variant++) {
            bool seqs = variant & 1, with_states = variant & 2, backwards = variant == 3;
            int ns = states_of(k);
            tc_graph *g = tc_graph_new();
            tc_value ins[3], outs[3];
            ins[0] = tc_graph_input(g, 2, (int64_t[]){T, F}, "x");
            for (int i = 0; with_states && i < ns; i++) ins[1 + i] = tc_graph_input(g, 1, &H, i ? "c0" : "h0");
            int n_in = with_states ? 1 + ns : 1;
            tc_layer *l = make_rnn(k, (tc_rnn_opts){.units = (int)H, .return_sequences = seqs, .return_state = true,
                                                    .go_backwards = backwards, .name = "rnn"});
            assert_int_equal(tc_graph_call_multi(g, l, n_in, ins, 1 + ns, outs), 1 + ns);
            tc_model *m = tc_graph_model(g, "states", n_in, ins, 1 + ns, outs);
            tc_assert_ok(m);
            /* output shapes: (T, H) or (H), then (H) per state */
            assert_int_equal(tc_layer_output_count(l), 1 + ns);
            int64_t s[4];
            assert_int_equal(tc_model_output_shape(m, 0, s), seqs ? 2 : 1);
            assert_int_equal(s[0], seqs ? T : H);
            for (int i = 1; i <= ns; i++) {
                assert_int_equal(tc_layer_output_shape_at(l, i, s), 1);
                assert_int_equal(s[0], H);
            }
            assert_int_equal(tc_layer_output_shape_at(l, 1 + ns, s), -1);
            tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(B, T, F), -1, 1);
            tc_tensor *h0 = with_states ? tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1) : NULL;
            tc_tensor *c0 = with_states && ns == 2 ? tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1) : NULL;
            tc_tensor *y[3];
            assert_int_equal(tc_model_forward_multi(m, n_in, (tc_tensor *[]){x, h0, c0}, false, 1 + ns, y), TC_OK);
            tc_tensor *seq = NULL, *h = NULL, *c = NULL;
            op_run(k, m, "rnn", x, h0, c0, NULL, backwards, seqs ? &seq : NULL, &h, ns == 2 ? &c : NULL);
            print_message("%s variant %d\n", kind_name[k], variant);
            tc_assert_close(y[0], seqs ? seq : h, 1e-6, 1e-7);
            tc_assert_close(y[1], h, 1e-6, 1e-7);
            if (ns == 2) tc_assert_close(y[2], c, 1e-6, 1e-7);
            /* the states differ from a run from zeros */
            if (with_states) {
                tc_tensor *hz;
                op_run(k, m, "rnn", x, NULL, NULL, NULL, backwards, NULL, &hz, NULL);
                double diff = 0;
                for (int64_t i = 0; i < B * H; i++) diff += fabs(hz->data[i] - y[1]->data[i]);
                assert_true(diff > 1e-3);
            }
            tc_model_free(m);
            tc_step_reset();
        }
}

/* Bidirectional: [output, forward states, backward states], with initial states. */
static void bidirectional_return_state(void **state)
{
    const int64_t T = 4, F = 2, H = 3, B = 2;
    tc_rng r = tc_rng_new(12);
    for (kind k = K_BI_LSTM; k <= K_BI_GRU; k++) {
        int ns = states_of(k), per = ns / 2;
        tc_graph *g = tc_graph_new();
        tc_value ins[5], outs[5];
        ins[0] = tc_graph_input(g, 2, (int64_t[]){T, F}, "x");
        for (int i = 0; i < ns; i++) ins[1 + i] = tc_graph_input(g, 1, &H, NULL);
        tc_layer *l = make_rnn(k, (tc_rnn_opts){.units = (int)H, .return_state = true});
        assert_int_equal(tc_graph_call_multi(g, l, 1 + ns, ins, 1 + ns, outs), 1 + ns);
        tc_model *m = tc_graph_model(g, "bi", 1 + ns, ins, 1 + ns, outs);
        tc_assert_ok(m);
        int64_t s[2];
        assert_int_equal(tc_model_output_shape(m, 0, s), 1);
        assert_int_equal(s[0], 2 * H);
        tc_tensor *x[5];
        x[0] = tc_test_uniform(&r, TC_SHAPE(B, T, F), -1, 1);
        for (int i = 0; i < ns; i++) x[1 + i] = tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1);
        tc_tensor *y[5];
        assert_int_equal(tc_model_forward_multi(m, 1 + ns, x, false, 1 + ns, y), TC_OK);
        tc_tensor *fh, *fc = NULL, *bh, *bc = NULL;
        const char *fw = k == K_BI_LSTM ? "rnn/forward_lstm" : "rnn/forward_gru";
        const char *bw = k == K_BI_LSTM ? "rnn/backward_lstm" : "rnn/backward_gru";
        op_run(k, m, fw, x[0], x[1], per == 2 ? x[2] : NULL, NULL, false, NULL, &fh, per == 2 ? &fc : NULL);
        op_run(k, m, bw, x[0], x[1 + per], per == 2 ? x[2 + per] : NULL, NULL, true, NULL, &bh, per == 2 ? &bc : NULL);
        print_message("%s\n", kind_name[k]);
        tc_assert_close(y[0], tc_concat(2, (tc_tensor *[]){fh, bh}, 1), 1e-6, 1e-7);
        tc_assert_close(y[1], fh, 1e-6, 1e-7);
        tc_assert_close(y[1 + per], bh, 1e-6, 1e-7);
        if (per == 2) {
            tc_assert_close(y[2], fc, 1e-6, 1e-7);
            tc_assert_close(y[4], bc, 1e-6, 1e-7);
        }
        tc_model_free(m);
        tc_step_reset();
    }
}

/* Keras lists a multi-output layer's shapes, and names output k as [node][k]. */
static void summary_lists_outputs(void **state)
{
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), o[3];
    assert_int_equal(tc_graph_call_multi(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true,
                                                                          .return_state = true}), 1, &x, 3, o), 3);
    tc_value c = tc_graph_output(g, o[0], 2);
    assert_int_equal(c, o[2]);
    assert_int_equal(tc_graph_output(g, x, 0), x);
    tc_value d = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 2}), 1, &c);
    tc_model *m = tc_graph_model(g, "enc", 1, &x, 2, (tc_value[]){o[1], d});
    tc_assert_ok(m);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(tc_model_summary(m, f), TC_OK);
    fclose(f);
    print_message("%s", buf);
    /* LSTM 4*(4*(3+4)+4) = 128; Dense 4*2+2 = 10 */
    assert_non_null(strstr(buf, "\n lstm (LSTM)                    [(None, 5, 4),       128         ['x[0][0]']\n"
                                "                                 (None, 4),\n"
                                "                                 (None, 4)]\n"));
    assert_non_null(strstr(buf, "\n dense (Dense)                  (None, 2)            10          ['lstm[0][2]']\n"));
    assert_non_null(strstr(buf, "Total params: 138\n"));
    free(buf);
    tc_model_free(m);
}

/* ---- seq2seq: encoder states as the decoder's initial state ------------------------------ */
typedef struct {
    tc_model *m;
    tc_layer *enc;
} seq2seq;

/* encoder RNN(return_state) over src [T, F]; decoder RNN(return_sequences)
 * over dec [T, F] from the encoder's states; Dense per step */
static seq2seq make_seq2seq(kind k, int64_t T, int64_t F, int H)
{
    int ns = states_of(k);
    tc_graph *g = tc_graph_new();
    tc_value src = tc_graph_input(g, 2, (int64_t[]){T, F}, "source");
    tc_value dec = tc_graph_input(g, 2, (int64_t[]){T, F}, "decoder_input");
    tc_layer *enc = make_rnn(k, (tc_rnn_opts){.units = H, .return_state = true, .name = "encoder"});
    tc_value e[3], d[3] = {dec};
    assert_int_equal(tc_graph_call_multi(g, enc, 1, &src, 1 + ns, e), 1 + ns);
    for (int i = 0; i < ns; i++) d[1 + i] = e[1 + i];
    tc_value seq = tc_graph_call(g, make_rnn(k, (tc_rnn_opts){.units = H, .return_sequences = true, .name = "decoder"}),
                                 1 + ns, d);
    tc_value out = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = (int)F, .name = "head"}), 1, &seq);
    seq2seq s = {tc_graph_model(g, "seq2seq", 2, (tc_value[]){src, dec}, 1, &out), enc};
    tc_assert_ok(s.m);
    return s;
}

/* the task: the decoder (fed zeros) must output the source reversed, which
 * it can only learn through the encoder's states */
static void seq2seq_batch(int step, int64_t B, int64_t T, int64_t F, tc_tensor **src, tc_tensor **dec, tc_tensor **target)
{
    tc_rng r = tc_rng_new((uint64_t)step % 8 + 100);
    *src = tc_test_uniform(&r, TC_SHAPE(B, T, F), -1, 1);
    *dec = tc_zeros(TC_SHAPE(B, T, F));
    *target = tc_empty(TC_SHAPE(B, T, F));
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t f = 0; f < F; f++)
                (*target)->data[(b * T + t) * F + f] = (*src)->data[(b * T + (T - 1 - t)) * F + f];
}

static double grad_norm(const tc_tensor *p)
{
    double n = 0;
    for (int64_t i = 0; p->grad && i < tc_numel(p); i++) n += fabs(p->grad->data[i]);
    return n;
}

static void seq2seq_trains_through_states(void **state)
{
    const int64_t B = 16, T = 3, F = 2;
    const kind kinds[] = {K_LSTM, K_GRU_RA, K_SIMPLE};
    for (int ki = 0; ki < 3; ki++) {
        kind k = kinds[ki];
        seq2seq s = make_seq2seq(k, T, F, 16);
        tc_tensor **params;
        int np = tc_model_trainable_params(s.m, &params);
        tc_optimizer *opt = tc_adam(0.02);
        double first = 0, last = 0;
        for (int step = 0; step < 150; step++) {
            tc_tensor *src, *dec, *target, *y;
            seq2seq_batch(step, B, T, F, &src, &dec, &target);
            tc_zero_grads(np, params);
            assert_int_equal(tc_model_forward_multi(s.m, 2, (tc_tensor *[]){src, dec}, true, 1, &y), TC_OK);
            tc_tensor *loss = tc_mse(y, target, TC_REDUCE_MEAN);
            assert_int_equal(tc_backward(loss), TC_OK);
            /* the only path to the encoder is the decoder's initial state */
            if (step == 0)
                for (int i = 0; i < tc_layer_weight_count(s.enc); i++) assert_true(grad_norm(tc_layer_weight(s.enc, i)) > 0);
            assert_int_equal(tc_optimizer_step(opt, np, params), TC_OK);
            if (step < 8) first += loss->data[0];
            if (step >= 142) last += loss->data[0];
            tc_step_reset();
        }
        print_message("%s seq2seq loss %.4f -> %.4f\n", kind_name[k], first / 8, last / 8);
        assert_true(last < 0.4 * first);
        tc_optimizer_free(opt);
        tc_model_free(s.m);
    }
}

/* Freezing the encoder stops its gradients; a checkpoint of the model
 * restores the same outputs in a fresh build. */
static void seq2seq_freezes_and_checkpoints(void **state)
{
    const int64_t B = 4, T = 3, F = 2;
    seq2seq s = make_seq2seq(K_LSTM, T, F, 5);
    tc_layer_set_trainable(s.enc, false);
    tc_model_refresh_trainable(s.m);
    int64_t t, n;
    /* encoder 4*(5*(2+5)+5) = 160 frozen; decoder 160 + head 5*2+2 = 12 */
    assert_int_equal(tc_model_count_params(s.m, &t, &n), 332);
    assert_int_equal(n, 160);
    tc_tensor *src, *dec, *target, *y;
    seq2seq_batch(0, B, T, F, &src, &dec, &target);
    assert_int_equal(tc_model_forward_multi(s.m, 2, (tc_tensor *[]){src, dec}, true, 1, &y), TC_OK);
    assert_int_equal(tc_backward(tc_mse(y, target, TC_REDUCE_MEAN)), TC_OK);
    assert_null(tc_model_param_by_name(s.m, "encoder/kernel")->grad);
    assert_true(grad_norm(tc_model_param_by_name(s.m, "decoder/recurrent_kernel")) > 0); /* (its input is zeros) */
    tc_step_reset();
    char path[64];
    snprintf(path, sizeof path, "/tmp/tc_seq2seq_%d.tcck", (int)getpid());
    assert_int_equal(tc_save_model(path, s.m, NULL), TC_OK);
    tc_nn_seed(7); /* other initial weights */
    seq2seq fresh = make_seq2seq(K_LSTM, T, F, 5);
    tc_nn_seed(42);
    tc_tensor *y0, *y1;
    seq2seq_batch(1, B, T, F, &src, &dec, &target);
    assert_int_equal(tc_model_forward_multi(s.m, 2, (tc_tensor *[]){src, dec}, false, 1, &y0), TC_OK);
    assert_int_equal(tc_model_forward_multi(fresh.m, 2, (tc_tensor *[]){src, dec}, false, 1, &y1), TC_OK);
    assert_true(fabs(y0->data[0] - y1->data[0]) > 1e-6);
    assert_int_equal(tc_load_model(path, fresh.m, NULL), TC_OK);
    assert_int_equal(tc_model_forward_multi(fresh.m, 2, (tc_tensor *[]){src, dec}, false, 1, &y1), TC_OK);
    tc_assert_close(y1, y0, 0, 0);
    remove(path);
    tc_model_free(s.m);
    tc_model_free(fresh.m);
    tc_step_reset();
}

/* ---- masks ----------------------------------------------------------------------------------- */
/* x [T, F] -> (Masking) -> RNN "rnn" with return_state; outputs [output, states...] */
static tc_model *masked_model(kind k, bool seqs, int64_t T, int64_t F, int H, bool masking)
{
    int ns = states_of(k);
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 2, (int64_t[]){T, F}, "x"), v = x, outs[5];
    if (masking) v = tc_graph_call(g, tc_masking(0, NULL), 1, &x);
    tc_graph_call_multi(g, make_rnn(k, (tc_rnn_opts){.units = H, .return_sequences = seqs, .return_state = true,
                                                     .name = "rnn"}), 1, &v, 1 + ns, outs);
    tc_model *m = tc_graph_model(g, "masked", 1, &x, 1 + ns, outs);
    tc_assert_ok(m);
    return m;
}

/* Batch of 3 over T = 6: sequence a (4 steps) right-padded, sequence b (6
 * steps), sequence c (4 steps) left-padded; padded steps are all zeros.
 * Each must give what it gives alone, unpadded. */
static void masked_batch_equals_unpadded(void **state)
{
    const int64_t T = 6, L = 4, F = 3;
    const int H = 5;
    tc_rng r = tc_rng_new(21);
    for (kind k = 0; k < N_KINDS; k++)
        for (int seqs = 0; seqs < 2; seqs++) {
            int ns = states_of(k);
            tc_model *padded = masked_model(k, seqs, T, F, H, true);
            tc_model *alone4 = masked_model(k, seqs, L, F, H, false), *alone6 = masked_model(k, seqs, T, F, H, false);
            copy_weights(alone4, padded);
            copy_weights(alone6, padded);
            tc_tensor *a = tc_test_uniform(&r, TC_SHAPE(1, L, F), -1, 1), *b = tc_test_uniform(&r, TC_SHAPE(1, T, F), -1, 1);
            tc_tensor *c = tc_test_uniform(&r, TC_SHAPE(1, L, F), -1, 1), *pad = tc_zeros(TC_SHAPE(1, T - L, F));
            tc_tensor *x = tc_concat(3, (tc_tensor *[]){tc_concat(2, (tc_tensor *[]){a, pad}, 1), b,
                                                        tc_concat(2, (tc_tensor *[]){pad, c}, 1)}, 0);
            tc_set_requires_grad(x, true);
            tc_tensor *y[5], *y4[5], *y6[5];
            assert_int_equal(tc_model_forward_multi(padded, 1, &x, true, 1 + ns, y), TC_OK);
            assert_int_equal(tc_model_forward_multi(alone4, 1, (tc_tensor *[]){tc_concat(2, (tc_tensor *[]){a, c}, 0)},
                                                    true, 1 + ns, y4), TC_OK);
            assert_int_equal(tc_model_forward_multi(alone6, 1, &b, true, 1 + ns, y6), TC_OK);
            print_message("%s return_sequences %d\n", kind_name[k], seqs);
            const double rtol = 1e-5, atol = 1e-6;
            if (seqs) {
                int64_t width = y[0]->shape[2];
                tc_assert_close(steps(y[0], 0, 0, L), row(y4[0], 0), rtol, atol);
                tc_assert_close(steps(y[0], 2, T - L, L), row(y4[0], 1), rtol, atol);
                tc_assert_close(row(y[0], 1), y6[0], rtol, atol);
                /* padded steps output zeros */
                tc_tensor *zeros = tc_zeros(TC_SHAPE(1, T - L, width));
                tc_assert_close(steps(y[0], 0, L, T - L), zeros, 0, 0);
                tc_assert_close(steps(y[0], 2, 0, T - L), zeros, 0, 0);
            }
            /* the last output (or states) of each sequence: of its last real step */
            for (int o = seqs ? 1 : 0; o <= ns; o++) {
                tc_assert_close(row(y[o], 0), row(y4[o], 0), rtol, atol);
                tc_assert_close(row(y[o], 2), row(y4[o], 1), rtol, atol);
                tc_assert_close(row(y[o], 1), y6[o], rtol, atol);
            }
            /* nothing flows back into the padded steps */
            tc_tensor *total = y[0];
            for (int o = 1; o <= ns; o++) total = tc_concat(2, (tc_tensor *[]){tc_flatten(total, 1), tc_flatten(y[o], 1)}, 1);
            assert_int_equal(tc_backward(tc_sum(total, 0, NULL, false)), TC_OK);
            tc_assert_close(steps(x->grad, 0, L, T - L), tc_zeros(TC_SHAPE(1, T - L, F)), 0, 0);
            tc_assert_close(steps(x->grad, 2, 0, T - L), tc_zeros(TC_SHAPE(1, T - L, F)), 0, 0);
            assert_true(grad_norm(x) > 0);
            tc_model_free(padded), tc_model_free(alone4), tc_model_free(alone6);
            tc_step_reset();
        }
}

/* ids [T] -> Embedding(mask_zero) -> Dense per step -> Dropout -> LSTM(seq)
 * -> GRU: the mask goes through Dense and Dropout, and through the first
 * RNN's output sequence to the second. */
static tc_model *text_model(int64_t T, bool mask_zero)
{
    tc_model *m = tc_sequential("text", (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 20, .output_dim = 6, .input_length = T, .mask_zero = mask_zero}),
        tc_dense(&(tc_dense_opts){.units = 5, .act = TC_TANH}), tc_dropout_layer(0.3, NULL),
        tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_sequences = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 3, .reset_after = true}), NULL});
    tc_assert_ok(m);
    return m;
}

static void embedding_mask_flows_to_rnns(void **state)
{
    tc_model *padded = text_model(7, true), *alone = text_model(4, false);
    copy_weights(alone, padded);
    /* right- and left-padded: [3 5 7 9 0 0 0], [0 0 0 2 4 6 8] */
    tc_scalar ids[14] = {3, 5, 7, 9, 0, 0, 0, 0, 0, 0, 2, 4, 6, 8};
    tc_scalar short_ids[8] = {3, 5, 7, 9, 2, 4, 6, 8};
    /* inference (dropout off) */
    tc_tensor *y = tc_model_forward(padded, tc_copy_of(ids, TC_SHAPE(2, 7)), false);
    tc_tensor *y4 = tc_model_forward(alone, tc_copy_of(short_ids, TC_SHAPE(2, 4)), false);
    tc_assert_ok(y);
    tc_assert_ok(y4);
    tc_assert_close(y, y4, 1e-5, 1e-6);
    /* without the mask the padding changes the result */
    tc_model *plain = text_model(7, false);
    copy_weights(plain, padded);
    tc_tensor *yp = tc_model_forward(plain, tc_copy_of(ids, TC_SHAPE(2, 7)), false);
    assert_true(fabs(yp->data[0] - y4->data[0]) > 1e-5);
    tc_model_free(plain);
    tc_model_free(padded), tc_model_free(alone);
    tc_step_reset();
}

/* Add and Concatenate merge masks: a step is kept where every input keeps it;
 * GlobalAveragePooling1D averages the unmasked steps. */
static void masks_merge_and_pool(void **state)
{
    const int64_t T = 5, F = 2;
    tc_rng r = tc_rng_new(31);
    tc_graph *g = tc_graph_new();
    tc_value a = tc_graph_input(g, 2, (int64_t[]){T, F}, "a"), b = tc_graph_input(g, 2, (int64_t[]){T, F}, "b");
    tc_value ma = tc_graph_call(g, tc_masking(0, NULL), 1, &a), mb = tc_graph_call(g, tc_masking(-1, NULL), 1, &b);
    tc_value sum = tc_graph_call(g, tc_add_layer(NULL), 2, (tc_value[]){ma, b});       /* mask of a */
    tc_value cat = tc_graph_call(g, tc_concatenate(-1, NULL), 2, (tc_value[]){sum, mb}); /* a's and b's */
    tc_value time = tc_graph_call(g, tc_concatenate(1, NULL), 2, (tc_value[]){ma, b}); /* a's, then all kept */
    tc_value pooled = tc_graph_call(g, tc_global_avgpool(NULL), 1, &cat);
    tc_value rnn = tc_graph_call(g, tc_simple_rnn_layer(&(tc_rnn_opts){.units = 2, .return_sequences = true, .name = "rnn"}),
                                 1, &time);
    tc_model *m = tc_graph_model(g, "merge", 2, (tc_value[]){a, b}, 3, (tc_value[]){pooled, rnn, mb});
    tc_assert_ok(m);
    /* a's step 1 masked (zeros), b's step 3 masked (all -1) */
    tc_tensor *xa = tc_test_uniform(&r, TC_SHAPE(1, T, F), 0.5, 1), *xb = tc_test_uniform(&r, TC_SHAPE(1, T, F), 0.5, 1);
    for (int f = 0; f < F; f++) {
        xa->data[1 * F + f] = 0;
        xb->data[3 * F + f] = -1;
    }
    tc_tensor *y[3];
    assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){xa, xb}, false, 3, y), TC_OK);
    /* Masking zeroes the masked steps, as Keras' */
    tc_tensor *zeroed = tc_copy_of(xb->data, TC_SHAPE(1, T, F));
    for (int f = 0; f < F; f++) zeroed->data[3 * F + f] = 0;
    tc_assert_close(y[2], zeroed, 0, 0);
    /* pooled: the mean over the steps kept by both (0, 2, 4) of [a + b, b zeroed where masked] */
    tc_tensor *expect = tc_zeros(TC_SHAPE(1, 2 * F));
    for (int t = 0; t < T; t++) {
        if (t == 1 || t == 3) continue;
        for (int f = 0; f < F; f++) {
            expect->data[f] += (xa->data[t * F + f] + xb->data[t * F + f]) / 3;
            expect->data[F + f] += xb->data[t * F + f] / 3;
        }
    }
    tc_assert_close(y[0], expect, 1e-5, 1e-6);
    /* along time: a's 5 steps (step 1 masked), then b's 5 steps (all kept):
     * a SimpleRNN over the 9 kept steps */
    tc_tensor *kept = tc_concat(3, (tc_tensor *[]){tc_narrow(xa, 1, 0, 1), tc_narrow(xa, 1, 2, 3), xb}, 1), *seq;
    assert_int_equal(tc_simple_rnn(kept, param(m, "rnn", "kernel"), param(m, "rnn", "recurrent_kernel"),
                                   param(m, "rnn", "bias"), NULL, NULL, TC_TANH, false, &seq, NULL), TC_OK);
    tc_assert_close(steps(y[1], 0, 2, 2 * T - 2), steps(seq, 0, 1, 2 * T - 2), 1e-5, 1e-6);
    tc_assert_close(steps(y[1], 0, 0, 1), steps(seq, 0, 0, 1), 1e-5, 1e-6);
    tc_assert_close(steps(y[1], 0, 1, 1), tc_zeros(TC_SHAPE(1, 1, 2)), 0, 0);
    tc_model_free(m);
    tc_step_reset();
}

/* ---- errors ------------------------------------------------------------------------------------ */
static void bad_inputs(void **state)
{
    /* LSTM takes [x] or [x, h0, c0] */
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    tc_value h7 = tc_graph_input(g, 1, (int64_t[]){7}, "h7"), seq2 = tc_graph_input(g, 2, (int64_t[]){2, 4}, "s");
    tc_graph_call(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, h});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "lstm (LSTM)", "[x, h0, c0]", "given 2 inputs");
    /* GRU takes [x] or [x, h0] */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = 4}), 3, (tc_value[]){x, h, h});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "gru (GRU)", "[x, h0]", "given 3 inputs");
    /* states must be (units) */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    h7 = tc_graph_input(g, 1, (int64_t[]){7}, "h7");
    tc_graph_call(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4, .name = "dec"}), 3, (tc_value[]){x, h, h7});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "dec (LSTM)", "initial state c0 (None, 7)", "(None, 4)");
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x");
    seq2 = tc_graph_input(g, 2, (int64_t[]){2, 4}, "s");
    tc_graph_call(g, tc_simple_rnn_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, seq2});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "simple_rnn (SimpleRNN)", "initial state h0 (None, 2, 4)",
                    "(None, 4)");
    /* Bidirectional: the forward states, then the backward ones */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    tc_graph_call(g, tc_bidirectional(tc_lstm_layer(&(tc_rnn_opts){.units = 4}), NULL), 3, (tc_value[]){x, h, h});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "bidirectional (Bidirectional)", "h0, c0, h0, c0", "given 3");
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    h7 = tc_graph_input(g, 1, (int64_t[]){7}, "h7");
    tc_graph_call(g, tc_bidirectional(tc_gru_layer(&(tc_rnn_opts){.units = 4}), NULL), 3, (tc_value[]){x, h, h7});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "bidirectional (Bidirectional)", "backward_gru (GRU)",
                    "initial state h0 (None, 7)");
    /* outputs: asking for more than the layer has */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x");
    tc_value o[4];
    assert_int_equal(tc_graph_call_multi(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_state = true}), 1, &x, 4, o), -1);
    tc_assert_error(NULL, "lstm (LSTM)", "has 3 outputs, 4 asked");
    tc_graph_free(g);
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x");
    tc_value v = tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = 4, .return_state = true}), 1, &x);
    assert_true(v > x);
    assert_int_equal(tc_graph_output(g, v, 2), -1);
    tc_assert_error(NULL, "gru (GRU)", "has 2 outputs", "output 2 asked");
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &v), "gru (GRU)", "output 2 asked"); /* the first error stands */
    /* a sequential model needs one output per layer */
    tc_assert_error(tc_sequential_with_input("seq", 2, (int64_t[]){5, 3}, (tc_layer *[]){
                        tc_lstm_layer(&(tc_rnn_opts){.units = 4, .return_state = true}), tc_dense(&(tc_dense_opts){.units = 2}),
                        NULL}),
                    "sequential 'seq'", "lstm (LSTM) has 3 outputs", "return_state");
    /* a batch of states that does not fit the batch of x: when it runs */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    v = tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, h});
    tc_model *m = tc_graph_model(g, "m", 2, (tc_value[]){x, h}, 1, &v);
    tc_assert_ok(m);
    tc_tensor *y;
    assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){tc_zeros(TC_SHAPE(2, 5, 3)), tc_zeros(TC_SHAPE(3, 4))},
                                            false, 1, &y), TC_ERR_SHAPE);
    tc_assert_error(NULL, "layer gru (GRU)", "h0 [3, 4]", "[2, 4]");
    tc_model_free(m);
    /* masks: a layer that cannot use one refuses it, naming where it comes from */
    tc_assert_error(tc_sequential_with_input("flat", 1, (int64_t[]){6}, (tc_layer *[]){
                        tc_embedding(&(tc_embedding_opts){.input_dim = 9, .output_dim = 2, .mask_zero = true}),
                        tc_flatten_layer(NULL), NULL}),
                    "flatten (Flatten)", "does not support masking", "(None, 6, 2)", "embedding (Embedding)");
    tc_assert_error(tc_sequential_with_input("conv", 2, (int64_t[]){6, 2}, (tc_layer *[]){
                        tc_masking(0, "pad"), tc_conv1d(&(tc_conv_opts){.filters = 2, .kernel = 3}), NULL}),
                    "conv1d (Conv1D)", "does not support masking", "pad (Masking)");
    /* ... but after an RNN that returns its last output there is no mask */
    m = tc_sequential_with_input("ok", 1, (int64_t[]){6}, (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 9, .output_dim = 2, .mask_zero = true}),
        tc_lstm_layer(&(tc_rnn_opts){.units = 3}), tc_reshape_layer(2, (int64_t[]){3, 1}, NULL), tc_flatten_layer(NULL),
        NULL});
    tc_assert_ok(m);
    tc_model_free(m);
    /* a state carrying a mask */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){5, 3}, "x"), h = tc_graph_input(g, 1, (int64_t[]){4}, "h");
    tc_value mh = tc_graph_call(g, tc_masking(0, NULL), 1, &h);
    tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, mh});
    tc_assert_error(tc_graph_model(g, "m", 1, &x, 1, &x), "gru (GRU)", "initial state h0 (None, 4) carries a mask");
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(return_state_matches_ops),
        cmocka_unit_test(bidirectional_return_state),
        cmocka_unit_test(summary_lists_outputs),
        cmocka_unit_test(seq2seq_trains_through_states),
        cmocka_unit_test(seq2seq_freezes_and_checkpoints),
        cmocka_unit_test(masked_batch_equals_unpadded),
        cmocka_unit_test(embedding_mask_flows_to_rnns),
        cmocka_unit_test(masks_merge_and_pool),
        cmocka_unit_test(bad_inputs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
