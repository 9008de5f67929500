/* LSTM and GRU against torch.nn.LSTM / GRU (tests/fixtures/gen_fixtures.py,
 * rnn_cases): whole sequences, final states and every gradient. */
#include "testutil.h"

static tc_tensor *flat(tc_tensor *t) { return tc_reshape(t, 1, (int64_t[]){-1}); }

static void check(const char *file, bool is_lstm)
{
    char path[512];
    snprintf(path, sizeof path, "%s/torch/%s", TC_FIXTURES, file);
    tc_fixture *fx = tc_fixture_load(path);
    if (!fx) fail_msg("%s", tc_last_error());
    const char *names[6] = {"in:x", "in:k", "in:u", "in:b", "in:h0", "in:c0"};
    tc_tensor *in[6] = {0};
    int n = is_lstm ? 6 : 5;
    for (int i = 0; i < n; i++) {
        in[i] = tc_fixture_get(fx, names[i]);
        tc_set_requires_grad(in[i], true);
    }
    tc_tensor *seq, *h, *c = NULL, *out;
    if (is_lstm) {
        assert_int_equal(tc_lstm(in[0], in[1], in[2], in[3], NULL, in[4], in[5], NULL, NULL, &seq, &h, &c), TC_OK);
        out = tc_concat(3, (tc_tensor *[]){flat(seq), flat(h), flat(c)}, 0);
    } else {
        assert_int_equal(tc_gru(in[0], in[1], in[2], in[3], in[4], NULL, &(tc_gru_params){.reset_after = true}, &seq, &h), TC_OK);
        out = tc_concat(2, (tc_tensor *[]){flat(seq), flat(h)}, 0);
    }
    tc_assert_close(out, tc_fixture_get(fx, "out"), 1e-5, 1e-5);
    assert_int_equal(tc_backward_with(out, tc_fixture_get(fx, "gout")), TC_OK);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "grad:%s", names[i] + 3);
        tc_assert_close_(in[i]->grad, tc_fixture_get(fx, key), 1e-4, 1e-4, key, __FILE__, __LINE__);
    }
    tc_fixture_free(fx);
    tc_step_reset();
}

static void lstm_matches_pytorch(void **state) { check("lstm_seq.tcfx", true); }
static void gru_matches_pytorch(void **state) { check("gru_seq.tcfx", false); }

/* The fused sequence kernel against the per-step composition of ops: outputs,
 * final states and the gradients of every input, for each gate order, both
 * directions, masks with gaps, given or absent initial states, with and
 * without peepholes, and H with a vector tail (37). */
static void fused_equals_composed(void **state)
{
    tc_rng r = tc_rng_new(11);
    const int64_t B = 3, T = 6, I = 5, H = 37;
    tc_scalar mv[18] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1};
    for (int cfg = 0; cfg < 12; cfg++) {
        tc_tensor *in[7] = {tc_test_uniform(&r, TC_SHAPE(B, T, I), -1, 1), tc_test_uniform(&r, TC_SHAPE(I, 4 * H), -0.5, 0.5),
                            tc_test_uniform(&r, TC_SHAPE(H, 4 * H), -0.3, 0.3), tc_test_uniform(&r, TC_SHAPE(4 * H), -0.5, 0.5),
                            tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1), tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1),
                            tc_test_uniform(&r, TC_SHAPE(3 * H), -0.5, 0.5)};
        bool states = cfg % 2, masked = cfg % 3 != 0, peep = cfg % 4 >= 2;
        tc_lstm_params p = {(tc_lstm_gates)(cfg % 3), cfg % 4 == 1 ? 1.0 : 0, cfg >= 6};
        tc_tensor *mask = masked ? tc_copy_of(mv, TC_SHAPE(B, T)) : NULL, *out[2], *gout = NULL;
        tc_tensor *grads[2][7];
        for (int path = 0; path < 2; path++) {
            for (int i = 0; i < 7; i++) {
                in[i]->grad = NULL;
                tc_set_requires_grad(in[i], true);
            }
            p.composed = path == 1;
            tc_tensor *seq, *h, *c;
            assert_int_equal(tc_lstm(in[0], in[1], in[2], in[3], peep ? in[6] : NULL, states ? in[4] : NULL, states ? in[5] : NULL,
                                     mask, &p, &seq, &h, &c), TC_OK);
            out[path] = tc_concat(3, (tc_tensor *[]){flat(seq), flat(h), flat(c)}, 0);
            if (!gout) gout = tc_test_uniform(&r, 1, out[path]->shape, -1, 1);
            assert_int_equal(tc_backward_with(out[path], gout), TC_OK);
            for (int i = 0; i < 7; i++) grads[path][i] = in[i]->grad;
        }
        tc_assert_close(out[0], out[1], 1e-5, 1e-6);
        for (int i = 0; i < 7; i++) {
            if ((!states && (i == 4 || i == 5)) || (!peep && i == 6)) {
                assert_null(grads[0][i]);
                continue;
            }
            char what[48];
            snprintf(what, sizeof what, "config %d, gradient of input %d", cfg, i);
            tc_assert_close_(grads[0][i], grads[1][i], 1e-4, 1e-5, what, __FILE__, __LINE__);
        }
        tc_step_reset();
    }
}

/* The same for the GRU: both variants, both directions, masks, h0 given or not, H = 37. */
static void gru_fused_equals_composed(void **state)
{
    tc_rng r = tc_rng_new(12);
    const int64_t B = 3, T = 6, I = 5, H = 37;
    tc_scalar mv[18] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1};
    for (int cfg = 0; cfg < 8; cfg++) {
        bool reset_after = cfg % 2, with_h0 = cfg % 4 >= 2, masked = cfg >= 4;
        tc_tensor *in[4] = {tc_test_uniform(&r, TC_SHAPE(B, T, I), -1, 1), tc_test_uniform(&r, TC_SHAPE(I, 3 * H), -0.5, 0.5),
                            tc_test_uniform(&r, TC_SHAPE(H, 3 * H), -0.3, 0.3), tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1)};
        tc_tensor *bias = reset_after ? tc_test_uniform(&r, TC_SHAPE(2, 3 * H), -0.5, 0.5) : tc_test_uniform(&r, TC_SHAPE(3 * H), -0.5, 0.5);
        tc_tensor *all[5] = {in[0], in[1], in[2], in[3], bias};
        tc_tensor *mask = masked ? tc_copy_of(mv, TC_SHAPE(B, T)) : NULL, *out[2], *gout = NULL, *grads[2][5];
        for (int path = 0; path < 2; path++) {
            for (int i = 0; i < 5; i++) {
                all[i]->grad = NULL;
                tc_set_requires_grad(all[i], true);
            }
            tc_gru_params p = {reset_after, cfg % 3 == 1, path == 1};
            tc_tensor *seq, *h;
            assert_int_equal(tc_gru(in[0], in[1], in[2], bias, with_h0 ? in[3] : NULL, mask, &p, &seq, &h), TC_OK);
            out[path] = tc_concat(2, (tc_tensor *[]){flat(seq), flat(h)}, 0);
            if (!gout) gout = tc_test_uniform(&r, 1, out[path]->shape, -1, 1);
            assert_int_equal(tc_backward_with(out[path], gout), TC_OK);
            for (int i = 0; i < 5; i++) grads[path][i] = all[i]->grad;
        }
        tc_assert_close(out[0], out[1], 1e-5, 1e-6);
        for (int i = 0; i < 5; i++) {
            if (!with_h0 && i == 3) {
                assert_null(grads[0][i]);
                continue;
            }
            char what[48];
            snprintf(what, sizeof what, "GRU config %d, gradient of input %d", cfg, i);
            tc_assert_close_(grads[0][i], grads[1][i], 1e-4, 1e-5, what, __FILE__, __LINE__);
        }
        tc_step_reset();
    }
}

/* The fused kernels split GEMMs by columns and the gate passes by rows:
 * outputs and every gradient are the same bits with 1 and 2 threads
 * (sizes large enough that both splits happen). */
static void same_bits_for_any_thread_count(void **state)
{
    const int64_t B = 64, T = 5, I = 24, H = 96;
    tc_scalar mv[64 * 5];
    for (int i = 0; i < 64 * 5; i++) mv[i] = (i * 7) % 11 != 0;
    tc_tensor *keep[2][2][6];
    int threads0 = tc_num_threads();
    for (int run = 0; run < 2; run++) {
        tc_set_num_threads(run ? 2 : 1);
        for (int gru = 0; gru < 2; gru++) {
            tc_rng r = tc_rng_new(5);
            int G = gru ? 3 : 4;
            tc_tensor *in[5] = {tc_test_uniform(&r, TC_SHAPE(B, T, I), -1, 1), tc_test_uniform(&r, TC_SHAPE(I, G * H), -0.3, 0.3),
                                tc_test_uniform(&r, TC_SHAPE(H, G * H), -0.2, 0.2),
                                gru ? tc_test_uniform(&r, TC_SHAPE(2, G * H), -0.3, 0.3) : tc_test_uniform(&r, TC_SHAPE(G * H), -0.3, 0.3),
                                tc_test_uniform(&r, TC_SHAPE(B, H), -1, 1)};
            for (int i = 0; i < 5; i++) tc_set_requires_grad(in[i], true);
            tc_tensor *mask = tc_copy_of(mv, TC_SHAPE(B, T)), *seq, *h;
            if (gru)
                assert_int_equal(tc_gru(in[0], in[1], in[2], in[3], in[4], mask, &(tc_gru_params){.reset_after = true}, &seq, &h), TC_OK);
            else
                assert_int_equal(tc_lstm(in[0], in[1], in[2], in[3], NULL, in[4], NULL, mask, NULL, &seq, &h, NULL), TC_OK);
            tc_tensor *y = tc_concat(2, (tc_tensor *[]){flat(seq), flat(h)}, 0);
            assert_int_equal(tc_backward_with(y, tc_test_uniform(&r, 1, y->shape, -1, 1)), TC_OK);
            keep[run][gru][0] = tc_tensor_keep(y);
            for (int i = 0; i < 5; i++) keep[run][gru][1 + i] = tc_tensor_keep(in[i]->grad);
            tc_step_reset();
        }
    }
    tc_set_num_threads(threads0);
    for (int gru = 0; gru < 2; gru++)
        for (int i = 0; i < 6; i++) {
            assert_memory_equal(keep[0][gru][i]->data, keep[1][gru][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(keep[0][gru][i]));
            tc_tensor_free(keep[0][gru][i]), tc_tensor_free(keep[1][gru][i]);
        }
}

static void masks_and_errors(void **state)
{
    tc_rng r = tc_rng_new(3);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(2, 4, 3), -1, 1);
    tc_tensor *k = tc_test_uniform(&r, TC_SHAPE(3, 8), -1, 1), *u = tc_test_uniform(&r, TC_SHAPE(2, 8), -1, 1);
    /* sequence 1 has length 2: its final state equals running only 2 steps */
    tc_scalar mv[8] = {1, 1, 1, 1, 1, 1, 0, 0};
    tc_tensor *mask = tc_copy_of(mv, TC_SHAPE(2, 4)), *seq, *h, *c;
    assert_int_equal(tc_lstm(x, k, u, NULL, NULL, NULL, NULL, mask, NULL, &seq, &h, &c), TC_OK);
    tc_tensor *h2;
    assert_int_equal(tc_lstm(tc_narrow(x, 1, 0, 2), k, u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &h2, NULL), TC_OK);
    tc_assert_close(tc_narrow(h, 0, 1, 1), tc_narrow(h2, 0, 1, 1), 1e-6, 1e-7);
    assert_true(tc_get(seq, (int64_t[]){1, 3, 0}) == 0); /* padded steps output zero */
    tc_assert_error(tc_lstm(x, tc_zeros(TC_SHAPE(4, 8)), u, NULL, NULL, NULL, NULL, NULL, NULL, &seq, NULL, NULL) == TC_OK ? x : NULL, "lstm", "[4, 8]");
    tc_assert_error(tc_gru(x, k, u, NULL, NULL, NULL, NULL, &seq, NULL) == TC_OK ? x : NULL, "gru");
    tc_assert_error(tc_lstm(x, k, u, NULL, NULL, NULL, NULL, tc_zeros(TC_SHAPE(2, 5)), NULL, &seq, NULL, NULL) == TC_OK ? x : NULL, "lstm", "mask");
    tc_step_reset();
}

static void rnn_layers(void **state);

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lstm_matches_pytorch),
        cmocka_unit_test(gru_matches_pytorch),
        cmocka_unit_test(fused_equals_composed), cmocka_unit_test(gru_fused_equals_composed), cmocka_unit_test(same_bits_for_any_thread_count), cmocka_unit_test(masks_and_errors),
        cmocka_unit_test(rnn_layers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}

/* Layers in models: Keras parameter counts and output shapes. */
static void rnn_layers(void **state)
{
    /* Embedding 50x8 = 400; LSTM(16, seq): 4*(16*(8+16)+16) = 1600; GRU(12, reset_after):
     * 3*12*(16+12) + 2*3*12 = 1080; Dense 12->5 = 65 */
    tc_model *m = tc_sequential("text", (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = 50, .output_dim = 8, .input_length = 7}),
        tc_lstm_layer(&(tc_rnn_opts){.units = 16, .return_sequences = true, .unit_forget_bias = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 12, .reset_after = true}),
        tc_dense(&(tc_dense_opts){.units = 5}), NULL});
    tc_assert_ok(m);
    assert_int_equal(tc_model_count_params(m, NULL, NULL), 400 + 1600 + 1080 + 65);
    tc_tensor *ids = tc_full(TC_SHAPE(3, 7), 4);
    tc_tensor *y = tc_model_forward(m, ids, true);
    tc_assert_ok(y);
    assert_int_equal(y->shape[1], 5);
    tc_model_free(m);
    /* one-to-many: RepeatVector + LSTM(return_sequences) + Dense per step */
    tc_model *o2m = tc_sequential_with_input("one_to_many", 1, (int64_t[]){4}, (tc_layer *[]){
        tc_repeat_vector(6, NULL), tc_simple_rnn_layer(&(tc_rnn_opts){.units = 3, .return_sequences = true}),
        tc_dense(&(tc_dense_opts){.units = 2}), NULL});
    tc_assert_ok(o2m);
    int64_t s[4];
    assert_int_equal(tc_model_output_shape(o2m, 0, s), 2);
    assert_int_equal(s[0], 6);
    assert_int_equal(s[1], 2);
    /* SimpleRNN 3*(4+3)+3 = 24; Dense 3*2+2 = 8 */
    assert_int_equal(tc_model_count_params(o2m, NULL, NULL), 32);
    tc_model_free(o2m);
    /* Bidirectional(LSTM 5) on 3 features: 2 * 4*(5*(3+5)+5) = 360; output 2*5 */
    tc_model *bi = tc_sequential_with_input("bi", 2, (int64_t[]){6, 3}, (tc_layer *[]){
        tc_bidirectional(tc_lstm_layer(&(tc_rnn_opts){.units = 5, .return_sequences = true}), NULL), NULL});
    tc_assert_ok(bi);
    assert_int_equal(tc_model_count_params(bi, NULL, NULL), 360);
    assert_non_null(tc_model_param_by_name(bi, "bidirectional/backward_lstm/recurrent_kernel"));
    tc_tensor *x = tc_full(TC_SHAPE(2, 6, 3), 0.5f);
    tc_tensor *yb = tc_model_forward(bi, x, false);
    tc_assert_ok(yb);
    assert_int_equal(yb->shape[2], 10);
    /* the backward half equals an LSTM run in reverse with the same weights */
    tc_tensor *seq;
    assert_int_equal(tc_lstm(x, tc_model_param_by_name(bi, "bidirectional/backward_lstm/kernel"),
                             tc_model_param_by_name(bi, "bidirectional/backward_lstm/recurrent_kernel"),
                             tc_model_param_by_name(bi, "bidirectional/backward_lstm/bias"), NULL, NULL, NULL, NULL,
                             &(tc_lstm_params){.reverse = true}, &seq, NULL, NULL), TC_OK);
    tc_assert_close(tc_contiguous(tc_narrow(yb, 2, 5, 5)), seq, 1e-6, 1e-7);
    tc_model_free(bi);
    tc_step_reset();
}
