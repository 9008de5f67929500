/* The stateful sampler (src/nn/sampler.c) and the RNN layers' id input
 * (tc_rnn_opts.input_vocab): after k steps the sampler's distribution is
 * softmax(model forward on the k-token prefix) -- batch 1 on the prepared
 * LSTM path, batch 3 and other layer kinds on the ops path; states set,
 * read and reordered; temperature sampling against the distribution it
 * should draw from; refused models and bad tokens. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define V 7

/* softmax(model(ids[0..k))) for one row, the reference */
static void reference(tc_model *m, const int64_t *ids, int k, bool logits, double *p)
{
    tc_tensor *x = tc_empty(TC_SHAPE(1, k));
    for (int t = 0; t < k; t++) x->data[t] = (tc_scalar)ids[t];
    tc_tensor *y = tc_model_forward(m, x, false);
    tc_assert_ok(y);
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) mx = fmax(mx, y->data[j]);
    for (int j = 0; j < V; j++) sum += p[j] = logits ? exp(y->data[j] - mx) : y->data[j];
    for (int j = 0; j < V; j++) p[j] /= sum;
    tc_step_reset();
}

static void assert_row(const tc_tensor *probs, int row, const double *p, double tol, const char *what, int k)
{
    for (int j = 0; j < V; j++)
        if (!(fabs(probs->data[row * V + j] - p[j]) <= tol))
            fail_msg("%s, step %d, row %d, token %d: sampler %.9g, forward %.9g", what, k, row, j, (double)probs->data[row * V + j],
                     p[j]);
}

typedef tc_model *(*builder)(int seq_len);

static tc_model *charrnn_like(int seq_len)
{
    tc_nn_seed(11); /* the same weights for every seq_len */
    return tc_charrnn_model(&(tc_charrnn_opts){.vocab = V, .seq_len = seq_len, .layers = 2, .units = 20});
}

static tc_model *peephole_lstm(int seq_len)
{
    tc_nn_seed(12);
    return tc_sequential_with_input("peep", 1, (int64_t[]){seq_len}, (tc_layer *[]){
        tc_lstm_layer(&(tc_rnn_opts){.units = 9, .peephole = true, .input_vocab = V, .forget_bias = 0.5, .return_sequences = true}),
        tc_gru_layer(&(tc_rnn_opts){.units = 5, .return_sequences = true, .hard_sigmoid = true}),
        tc_lstm_layer(&(tc_rnn_opts){.units = 6, .hard_sigmoid = true}),
        tc_dense(&(tc_dense_opts){.units = V}), NULL});
}

static tc_model *embed_gru_simple(int seq_len)
{
    tc_nn_seed(13);
    return tc_sequential_with_input("egs", 1, (int64_t[]){seq_len}, (tc_layer *[]){
        tc_embedding(&(tc_embedding_opts){.input_dim = V, .output_dim = 8}),
        tc_gru_layer(&(tc_rnn_opts){.units = 12, .return_sequences = true, .reset_after = true}),
        tc_simple_rnn_layer(&(tc_rnn_opts){.units = 10}),
        tc_dense(&(tc_dense_opts){.units = 16, .act = TC_TANH}),
        tc_dense(&(tc_dense_opts){.units = V, .act = TC_SOFTMAX}), NULL});
}

/* every prefix of a few token rows, the sampler against forward */
static void check_model(builder build, bool logits, int batch, bool prepared, const char *what)
{
    enum { K = 6 };
    int64_t ids[3][K];
    tc_rng r = tc_rng_new(7);
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < K; t++) ids[b][t] = (int64_t)tc_rng_below(&r, V);
    tc_model *m = build(K);
    tc_assert_ok(m);
    tc_sampler *s = tc_sampler_new(m, &(tc_sampler_opts){.outputs_probabilities = !logits});
    tc_assert_ok(s);
    assert_int_equal(tc_sampler_reset(s, batch), TC_OK);
    if (tc_sampler_is_prepared(s) != prepared) fail_msg("%s: the %s path runs", what, prepared ? "ops" : "prepared");
    for (int k = 1; k <= K; k++) {
        int64_t tok[3] = {ids[0][k - 1], ids[1][k - 1], ids[2][k - 1]};
        const tc_tensor *probs = tc_sampler_step(s, tok);
        tc_assert_ok(probs);
        assert_int_equal(probs->shape[0], batch);
        tc_model *mk = build(k);
        for (int b = 0; b < batch; b++) {
            double p[V];
            reference(mk, ids[b], k, logits, p);
            assert_row(probs, b, p, 2e-6, what, k);
        }
        tc_model_free(mk);
    }
    /* reset: the states start again from zero */
    assert_int_equal(tc_sampler_reset(s, batch), TC_OK);
    const tc_tensor *probs = tc_sampler_step(s, (int64_t[]){ids[0][0], ids[1][0], ids[2][0]});
    tc_model *m1 = build(1);
    double p[V];
    reference(m1, ids[0], 1, logits, p);
    assert_row(probs, 0, p, 2e-6, what, 1);
    tc_model_free(m1);
    tc_sampler_free(s);
    tc_model_free(m);
}

static void matches_forward(void **state)
{
    check_model(charrnn_like, true, 1, true, "charrnn batch 1 (LSTM stepper)");
    check_model(charrnn_like, true, 3, false, "charrnn batch 3 (ops)");
    check_model(peephole_lstm, true, 1, false, "peephole LSTM, hard_sigmoid GRU and LSTM, batch 1 (ops)");
    check_model(embed_gru_simple, false, 1, false, "Embedding GRU SimpleRNN batch 1");
    check_model(embed_gru_simple, false, 3, false, "Embedding GRU SimpleRNN batch 3");
}

static void states_and_reorder(void **state)
{
    tc_model *m = charrnn_like(4);
    tc_sampler *s = tc_sampler_new(m, NULL);
    assert_int_equal(tc_sampler_reset(s, 2), TC_OK);
    assert_int_equal(tc_sampler_batch(s), 2);
    tc_assert_ok(tc_sampler_step(s, (int64_t[]){1, 5}));
    const tc_tensor *h1 = tc_sampler_state(s, "lstm_1", 0);
    tc_assert_ok(h1);
    assert_int_equal(h1->shape[0], 2);
    assert_int_equal(h1->shape[1], 20);
    tc_tensor *saved = tc_tensor_from(2, h1->shape, h1->data);
    /* both rows become row 1: the next step gives one distribution twice */
    assert_int_equal(tc_sampler_reorder(s, (int64_t[]){1, 1}), TC_OK);
    assert_memory_equal(h1->data, saved->data + 20, 20 * sizeof(tc_scalar));
    const tc_tensor *p = tc_sampler_step(s, (int64_t[]){3, 3});
    tc_assert_ok(p);
    assert_memory_equal(p->data, p->data + V, V * sizeof(tc_scalar));
    /* a state set from outside (an encoder's) is the one used */
    assert_int_equal(tc_sampler_set_state(s, "lstm_1", 0, saved), TC_OK);
    assert_memory_equal(tc_sampler_state(s, "lstm_1", 0)->data, saved->data, 40 * sizeof(tc_scalar));
    tc_assert_error(tc_sampler_state(s, "dense", 0), "no recurrent layer 'dense'");
    tc_assert_error(tc_sampler_state(s, "lstm_0", 2), "lstm_0");
    assert_int_not_equal(tc_sampler_set_state(s, "lstm_0", 1, tc_zeros(TC_SHAPE(3, 20))), TC_OK);
    tc_assert_error(NULL, "sampler_set_state", "[3, 20]");
    assert_int_not_equal(tc_sampler_reorder(s, (int64_t[]){0, 2}), TC_OK);
    tc_assert_error(tc_sampler_step(s, (int64_t[]){0, V}), "sampler_step", "token 7 of row 1");
    tc_tensor_free(saved);
    tc_sampler_free(s);
    tc_model_free(m);
    tc_step_reset();
}

static void refused_models(void **state)
{
    tc_model *conv = tc_sequential_with_input("conv", 2, (int64_t[]){10, 3}, (tc_layer *[]){
        tc_conv1d(&(tc_conv_opts){.filters = 4, .kernel = 3, .padding = TC_CAUSAL}), NULL});
    tc_assert_error(tc_sampler_new(conv, NULL), "conv1d", "cannot be stepped");
    tc_model *floats = tc_sequential_with_input("floats", 2, (int64_t[]){10, 3}, (tc_layer *[]){
        tc_lstm_layer(&(tc_rnn_opts){.units = 4}), NULL});
    tc_assert_error(tc_sampler_new(floats, NULL), "does not read token ids");
    tc_model *back = tc_sequential_with_input("back", 1, (int64_t[]){10}, (tc_layer *[]){
        tc_lstm_layer(&(tc_rnn_opts){.units = 4, .input_vocab = 5, .go_backwards = true}), NULL});
    tc_assert_error(tc_sampler_new(back, NULL), "runs backwards");
    tc_graph *g = tc_graph_new();
    tc_value in = tc_graph_input(g, 1, (int64_t[]){5}, NULL);
    tc_value out = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = 5, .output_dim = 3}), 1, &in);
    tc_model *fn = tc_graph_model(g, "fn", 1, &in, 1, &out);
    tc_assert_ok(fn);
    tc_assert_error(tc_sampler_new(fn, NULL), "not sequential");
    tc_assert_error(tc_sampler_new(NULL, NULL), "sampler");
    tc_model_free(conv), tc_model_free(floats), tc_model_free(back), tc_model_free(fn);
}

static void sampling_temperatures(void **state)
{
    const tc_scalar p[V] = {0.05f, 0.3f, 0.1f, 0.25f, 0.0f, 0.2f, 0.1f};
    tc_tensor *probs = tc_tensor_from(2, (int64_t[]){1, V}, p);
    tc_rng r = tc_rng_new(1);
    assert_int_equal(tc_sample_from(probs, 0, 0, &r), 1); /* greedy */
    assert_int_equal(r.counter, tc_rng_new(1).counter);  /* and it draws nothing */
    for (int k = 0; k < 2; k++) {
        double T = k ? 0.5 : 1.0, want[V], sum = 0;
        for (int j = 0; j < V; j++) sum += want[j] = pow(p[j], 1 / T);
        int count[V] = {0};
        enum { N = 40000 };
        for (int i = 0; i < N; i++) {
            int64_t t = tc_sample_from(probs, 0, T, &r);
            assert_true(t >= 0 && t < V);
            count[t]++;
        }
        for (int j = 0; j < V; j++) {
            double f = (double)count[j] / N, e = want[j] / sum, sd = sqrt(e * (1 - e) / N);
            if (fabs(f - e) > 5 * sd + 1e-12) fail_msg("temperature %g, token %d: frequency %.4f, expected %.4f", T, j, f, e);
        }
    }
    tc_assert_error((void *)(intptr_t)(tc_sample_from(probs, 1, 1, &r) + 1), "sample_from", "row 1");
    tc_tensor_free(probs);
}

/* an RNN layer on ids = the same layer on one-hot vectors, values and gradients */
static void ids_are_one_hot(void **state)
{
    const int T = 5, B = 3;
    tc_nn_seed(3);
    tc_model *a = tc_sequential_with_input("ids", 1, (int64_t[]){T}, (tc_layer *[]){
        tc_gru_layer(&(tc_rnn_opts){.units = 6, .input_vocab = V, .return_sequences = true}), NULL});
    tc_model *b = tc_sequential_with_input("onehot", 2, (int64_t[]){T, V}, (tc_layer *[]){
        tc_gru_layer(&(tc_rnn_opts){.units = 6, .return_sequences = true}), NULL});
    tc_assert_ok(a);
    tc_assert_ok(b);
    assert_int_equal(tc_model_param_count(a), tc_model_param_count(b));
    for (int i = 0; i < tc_model_param_count(a); i++) {
        tc_tensor *pa = tc_model_param(a, i), *pb = tc_model_param(b, i);
        assert_true(tc_same_shape(pa, pb));
        memcpy(pb->data, pa->data, sizeof(tc_scalar) * (size_t)tc_numel(pa));
    }
    tc_tensor *ids = tc_tensor_new(TC_SHAPE(B, T)), *hot = tc_tensor_new(TC_SHAPE(B, T, V));
    tc_rng r = tc_rng_new(4);
    for (int i = 0; i < B * T; i++) {
        int id = (int)tc_rng_below(&r, V);
        ids->data[i] = (tc_scalar)id;
        hot->data[i * V + id] = 1;
    }
    tc_tensor *ya = tc_model_forward(a, ids, true), *yb = tc_model_forward(b, hot, true);
    tc_assert_close(ya, yb, 1e-6, 1e-6);
    tc_tensor *w = tc_test_uniform(&r, 3, (int64_t[]){B, T, 6}, -1, 1);
    assert_int_equal(tc_backward(tc_sum(tc_mul(ya, w), 0, NULL, false)), TC_OK);
    assert_int_equal(tc_backward(tc_sum(tc_mul(yb, w), 0, NULL, false)), TC_OK);
    for (int i = 0; i < tc_model_param_count(a); i++)
        tc_assert_close(tc_model_param(a, i)->grad, tc_model_param(b, i)->grad, 1e-5, 1e-6);
    tc_assert_error(tc_sequential_with_input("bad", 2, (int64_t[]){T, V}, (tc_layer *[]){
                        tc_lstm_layer(&(tc_rnn_opts){.units = 6, .input_vocab = V}), NULL}),
                    "(timesteps) of ids");
    tc_tensor_free(w), tc_tensor_free(ids), tc_tensor_free(hot);
    tc_model_free(a), tc_model_free(b);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_forward),      cmocka_unit_test(states_and_reorder), cmocka_unit_test(refused_models),
        cmocka_unit_test(sampling_temperatures), cmocka_unit_test(ids_are_one_hot),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
