/* Recurrent layers in models, as Keras users write them: return_state,
 * initial states from another layer (the seq2seq encoder-decoder), masks
 * from Masking and Embedding(mask_zero) carried to LSTM, GRU, SimpleRNN and
 * Bidirectional, and the errors for misuse. */
#include "testutil.h"

#include <math.h>
#include <string.h>

static tc_rng rng;

static tc_scalar flat_at(tc_tensor *t, int64_t i) { return tc_contiguous(t)->data[i]; }

static tc_tensor *param(tc_model *m, const char *layer, const char *w)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", layer, w);
    tc_tensor *t = tc_model_param_by_name(m, name);
    if (!t) fail_msg("no parameter %s", name);
    return t;
}

/* An RNN of the given kind over x with the weights of `layer` (prefix for Bidirectional halves). */
static void reference(int kind, tc_model *m, const char *layer, tc_tensor *x, bool reverse, tc_tensor **seq, tc_tensor **h,
                      tc_tensor **c)
{
    tc_tensor *k = param(m, layer, "kernel"), *u = param(m, layer, "recurrent_kernel"), *b = param(m, layer, "bias");
    tc_status s;
    if (kind == 0) s = tc_lstm(x, k, u, b, NULL, NULL, NULL, NULL, &(tc_lstm_params){.reverse = reverse}, seq, h, c);
    else if (kind == 1) s = tc_gru(x, k, u, b, NULL, NULL, &(tc_gru_params){.reset_after = true, .reverse = reverse}, seq, h);
    else s = tc_simple_rnn(x, k, u, b, NULL, NULL, TC_TANH, reverse, seq, h);
    assert_int_equal(s, TC_OK);
}

static tc_layer *rnn(int kind, tc_rnn_opts o)
{
    o.reset_after = true;
    return kind == 0 ? tc_lstm_layer(&o) : kind == 1 ? tc_gru_layer(&o) : tc_simple_rnn_layer(&o);
}

/* return_state: [output, h, c] / [output, h], equal to the op-level results */
static void return_state(void **state)
{
    static const char *names[3] = {"lstm", "gru", "simple_rnn"};
    for (int kind = 0; kind < 3; kind++) {
        for (int seqs = 0; seqs < 2; seqs++) {
            tc_graph *g = tc_graph_new();
            tc_value in = tc_graph_input(g, 2, (int64_t[]){6, 3}, "x"), out[4] = {-1, -1, -1, -1};
            int n = tc_graph_call_multi(g, rnn(kind, (tc_rnn_opts){.units = 5, .return_sequences = seqs, .return_state = true}),
                                        1, &in, 4, out);
            assert_int_equal(n, kind == 0 ? 3 : 2);
            tc_model *m = tc_graph_model(g, "states", 1, &in, n, out);
            tc_assert_ok(m);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 6, 3), -1, 1), *y[3];
            assert_int_equal(tc_model_forward_multi(m, 1, &x, false, n, y), TC_OK);
            tc_tensor *seq, *h, *c = NULL;
            reference(kind, m, names[kind], x, false, &seq, &h, kind == 0 ? &c : NULL);
            tc_assert_close(y[0], seqs ? seq : h, 1e-6, 1e-7);
            tc_assert_close(y[1], h, 1e-6, 1e-7);
            if (kind == 0) tc_assert_close(y[2], c, 1e-6, 1e-7);
            int64_t shape[4];
            assert_int_equal(tc_model_output_shape(m, 1, shape), 1);
            assert_int_equal(shape[0], 5);
            /* Keras prints the shapes of a multi-output layer as a list */
            char buf[8192] = {0};
            FILE *f = fmemopen(buf, sizeof buf, "w");
            assert_int_equal(tc_model_summary(m, f), TC_OK);
            fclose(f);
            assert_non_null(strstr(buf, seqs ? "[(None, 6, 5)," : "[(None, 5),"));
            tc_model_free(m);
            tc_arena_reset();
        }
    }
}

/* The cookbook's seq2seq shape: the encoder's final states start the decoder. */
static void encoder_states_start_decoder(void **state)
{
    tc_graph *g = tc_graph_new();
    tc_value enc_in = tc_graph_input(g, 2, (int64_t[]){6, 3}, "encoder_in");
    tc_value dec_in = tc_graph_input(g, 2, (int64_t[]){4, 2}, "decoder_in");
    tc_value enc[3];
    assert_int_equal(tc_graph_call_multi(g, tc_lstm_layer(&(tc_rnn_opts){.units = 8, .return_state = true, .name = "encoder"}),
                                         1, &enc_in, 3, enc), 3);
    tc_value dec = tc_graph_call(g, tc_lstm_layer(&(tc_rnn_opts){.units = 8, .return_sequences = true, .name = "decoder"}), 3,
                                 (tc_value[]){dec_in, enc[1], enc[2]});
    tc_value y = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 1}), 1, &dec);
    tc_model *m = tc_graph_model(g, "seq2seq", 2, (tc_value[]){enc_in, dec_in}, 1, &y);
    tc_assert_ok(m);
    char buf[8192] = {0};
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(tc_model_summary(m, f), TC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "'encoder[0][1]'")); /* the decoder is connected to the encoder's h and c */
    assert_non_null(strstr(buf, "'encoder[0][2]'"));
    tc_tensor *xe = tc_tensor_new(TC_SHAPE(16, 6, 3)), *xd = tc_tensor_new(TC_SHAPE(16, 4, 2)), *target = tc_tensor_new(TC_SHAPE(16, 4, 1));
    tc_rng_uniform(&rng, xe->data, tc_numel(xe), -1, 1);
    tc_rng_uniform(&rng, xd->data, tc_numel(xd), -1, 1);
    for (int b = 0; b < 16; b++) /* the target needs the encoder: the mean of the encoder's first feature */
        for (int t = 0; t < 4; t++) {
            double s = 0;
            for (int k = 0; k < 6; k++) s += xe->data[(b * 6 + k) * 3];
            target->data[b * 4 + t] = (tc_scalar)(s / 6 + 0.1 * t);
        }
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    tc_optimizer *opt = tc_adam(0.01);
    double first = 0, last = 0;
    for (int step = 0; step < 60; step++) {
        tc_tensor *out;
        assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){xe, xd}, true, 1, &out), TC_OK);
        tc_tensor *loss = tc_mse(out, target, TC_REDUCE_MEAN);
        tc_zero_grads(np, params);
        assert_int_equal(tc_backward(loss), TC_OK);
        if (step == 0) {
            tc_tensor *gk = param(m, "encoder", "kernel")->grad;
            assert_non_null(gk);
            double norm = 0;
            for (int64_t i = 0; i < tc_numel(gk); i++) norm += fabs(gk->data[i]);
            assert_true(norm > 0); /* the gradient reaches the encoder through the states */
            first = loss->data[0];
        }
        last = loss->data[0];
        assert_int_equal(tc_optimizer_step(opt, np, params), TC_OK);
        tc_arena_reset();
    }
    assert_true(last < 0.5 * first);
    tc_optimizer_free(opt);
    tc_tensor_free(xe), tc_tensor_free(xd), tc_tensor_free(target);
    tc_model_free(m);
}

/* A batch of two: sequence 0 full (5 steps), sequence 1 padded after 3 steps.
 * The padded sequence's outputs equal the layer run on its 3 real steps
 * alone; padded steps output zero. */
static void masked_batches(void **state)
{
    static const char *names[3] = {"lstm", "gru", "simple_rnn"};
    for (int kind = 0; kind < 3; kind++)
        for (int bidi = 0; bidi < 2; bidi++)
            for (int seqs = 0; seqs < 2; seqs++) {
                tc_layer *r = rnn(kind, (tc_rnn_opts){.units = 4, .return_sequences = seqs});
                tc_model *m = tc_sequential_with_input("masked", 2, (int64_t[]){5, 3},
                                                       (tc_layer *[]){tc_masking(0.0, NULL), bidi ? tc_bidirectional(r, NULL) : r,
                                                                      NULL});
                tc_assert_ok(m);
                tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 5, 3), 0.1, 1);
                for (int t = 3; t < 5; t++)
                    for (int f = 0; f < 3; f++) x->data[(5 + t) * 3 + f] = 0;
                tc_tensor *y = tc_model_forward(m, x, false);
                tc_assert_ok(y);
                tc_tensor *alone = tc_narrow(tc_narrow(x, 0, 1, 1), 1, 0, 3), *seq, *h, *c;
                char layer[64];
                tc_tensor *want_seq, *want_h;
                if (!bidi) {
                    reference(kind, m, names[kind], alone, false, &seq, &h, kind == 0 ? &c : NULL);
                    want_seq = seq, want_h = h;
                } else {
                    tc_tensor *s2[2], *h2[2];
                    for (int k = 0; k < 2; k++) {
                        snprintf(layer, sizeof layer, "bidirectional/%s_%s", k ? "backward" : "forward", names[kind]);
                        reference(kind, m, layer, alone, k == 1, &s2[k], &h2[k], kind == 0 ? &c : NULL);
                    }
                    want_seq = tc_concat(2, s2, -1), want_h = tc_concat(2, h2, -1);
                }
                tc_tensor *got = tc_narrow(y, 0, 1, 1);
                if (seqs) {
                    tc_assert_close(tc_narrow(got, 1, 0, 3), want_seq, 1e-5, 1e-6);
                    tc_tensor *pad = tc_narrow(got, 1, 3, 2);
                    for (int64_t i = 0; i < tc_numel(pad); i++) assert_true(flat_at(pad, i) == 0);
                } else {
                    tc_assert_close(got, want_h, 1e-5, 1e-6);
                }
                tc_model_free(m);
                tc_arena_reset();
            }
}

/* Embedding(mask_zero): id 0 pads; the GRU skips it; Dense on the sequence keeps the mask. */
static void embedding_mask_zero(void **state)
{
    tc_model *m = tc_sequential("ids", (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 10, .output_dim = 3, .input_length = 5, .mask_zero = true}),
        tc_dense(&(tc_dense_opts){.units = 3, .act = TC_TANH}),
        tc_gru_layer(&(tc_rnn_opts){.units = 4, .reset_after = true}), NULL});
    tc_assert_ok(m);
    tc_scalar ids_v[10] = {3, 1, 4, 1, 5, 9, 2, 6, 0, 0};
    tc_tensor *ids = tc_copy_of(ids_v, TC_SHAPE(2, 5));
    tc_tensor *y = tc_model_forward(m, ids, false);
    tc_assert_ok(y);
    tc_tensor *alone = tc_model_forward_to(m, tc_copy_of(ids_v + 5, TC_SHAPE(1, 5)), "dense", false), *h;
    assert_int_equal(tc_gru(tc_narrow(alone, 1, 0, 3), param(m, "gru", "kernel"), param(m, "gru", "recurrent_kernel"),
                            param(m, "gru", "bias"), NULL, NULL, &(tc_gru_params){.reset_after = true}, NULL, &h), TC_OK);
    tc_assert_close(tc_narrow(y, 0, 1, 1), h, 1e-5, 1e-6);
    /* without the mask the padding would count: the result differs */
    tc_tensor *h_all;
    assert_int_equal(tc_gru(alone, param(m, "gru", "kernel"), param(m, "gru", "recurrent_kernel"), param(m, "gru", "bias"),
                            NULL, NULL, &(tc_gru_params){.reset_after = true}, NULL, &h_all), TC_OK);
    assert_true(fabs(flat_at(h_all, 0) - flat_at(h, 0)) > 1e-4);
    tc_model_free(m);
    tc_arena_reset();
}

static void misuse(void **state)
{
    /* an LSTM needs both h and c */
    tc_graph *g = tc_graph_new();
    tc_value x = tc_graph_input(g, 2, (int64_t[]){6, 3}, NULL), h = tc_graph_input(g, 1, (int64_t[]){4}, NULL);
    tc_graph_call(g, tc_lstm_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, h});
    tc_assert_error(tc_graph_model(g, "m", 2, (tc_value[]){x, h}, 1, &x), "lstm (LSTM)", "2 inputs", "h, c");
    /* a state of the wrong size */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){6, 3}, NULL);
    h = tc_graph_input(g, 1, (int64_t[]){7}, NULL);
    tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = 4}), 2, (tc_value[]){x, h});
    tc_assert_error(tc_graph_model(g, "m", 2, (tc_value[]){x, h}, 1, &x), "gru (GRU)", "initial state h (None, 7)", "(4)");
    /* masks stop at layers that cannot take them, as in Keras */
    tc_assert_error(tc_sequential_with_input("m", 2, (int64_t[]){6, 3},
                                             (tc_layer *[]){tc_masking(0, NULL), tc_flatten_layer(NULL), NULL}),
                    "flatten (Flatten) does not support masking");
    /* Masking needs (timesteps, features) */
    tc_assert_error(tc_sequential_with_input("m", 1, (int64_t[]){6}, (tc_layer *[]){tc_masking(0, NULL), NULL}), "Masking",
                    "(None, 6)");
    /* Bidirectional takes no initial states */
    g = tc_graph_new();
    x = tc_graph_input(g, 2, (int64_t[]){6, 3}, NULL);
    h = tc_graph_input(g, 1, (int64_t[]){4}, NULL);
    tc_graph_call(g, tc_bidirectional(tc_gru_layer(&(tc_rnn_opts){.units = 4}), NULL), 2, (tc_value[]){x, h});
    tc_assert_error(tc_graph_model(g, "m", 2, (tc_value[]){x, h}, 1, &x), "Bidirectional", "initial states");
    /* a masked sequence that ends in an RNN without return_sequences has no mask after it: Flatten is fine */
    tc_model *ok = tc_sequential_with_input("m", 2, (int64_t[]){6, 3},
                                            (tc_layer *[]){tc_masking(0, NULL), tc_lstm_layer(&(tc_rnn_opts){.units = 4}),
                                                           tc_flatten_layer(NULL), NULL});
    tc_assert_ok(ok);
    tc_model_free(ok);
    tc_arena_reset();
}

int main(void)
{
    rng = tc_rng_new(2024);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(return_state), cmocka_unit_test(encoder_states_start_decoder), cmocka_unit_test(masked_batches),
        cmocka_unit_test(embedding_mask_zero), cmocka_unit_test(misuse),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
