/* Finite-difference gradient checks (double precision) of the LSTM and GRU
 * with Keras' hard_sigmoid gates (clip(0.2 x + 0.5, 0, 1), the
 * recurrent_activation of Keras 2.0-2.2 files), through the composed path.
 * Weights are small so that no pre-activation reaches the kinks at +-2.5. */
#include "testutil.h"

#include <math.h>

static tc_rng rng;

typedef struct {
    int kind;         /* 0 LSTM, 1 GRU */
    bool reset_after, reverse;
} hard_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    hard_case *c = ctx;
    tc_tensor *seq, *h, *cc = NULL;
    tc_status s;
    if (c->kind == 0)
        s = tc_lstm(in[0], in[1], in[2], in[3], NULL, in[4], in[5], NULL,
                    &(tc_lstm_params){.gates = TC_GATES_IFCO, .reverse = c->reverse, .hard_sigmoid = true}, &seq, &h, &cc);
    else
        s = tc_gru(in[0], in[1], in[2], in[3], in[4], NULL,
                   &(tc_gru_params){.reset_after = c->reset_after, .reverse = c->reverse, .hard_sigmoid = true}, &seq, &h);
    if (s != TC_OK) return NULL;
    tc_tensor *parts[3] = {tc_reshape(seq, TC_SHAPE(-1)), tc_reshape(h, TC_SHAPE(-1)), cc ? tc_reshape(cc, TC_SHAPE(-1)) : NULL};
    return tc_concat(cc ? 3 : 2, parts, 0);
}

static void hard_gates(void **state)
{
    (void)state;
    const int H = 2;
    hard_case cases[] = {{0, false, false}, {0, false, true}, {1, false, false}, {1, true, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int G = cases[i].kind == 0 ? 4 : 3;
        tc_tensor *bias = cases[i].kind == 1 && cases[i].reset_after ? tc_test_uniform(&rng, TC_SHAPE(2, 3 * H), -0.2, 0.2)
                                                                      : tc_test_uniform(&rng, TC_SHAPE(G * H), -0.2, 0.2);
        tc_tensor *in[6] = {tc_test_uniform(&rng, TC_SHAPE(2, 4, 3), -1, 1), tc_test_uniform(&rng, TC_SHAPE(3, G * H), -0.3, 0.3),
                            tc_test_uniform(&rng, TC_SHAPE(H, G * H), -0.3, 0.3), bias,
                            tc_test_uniform(&rng, TC_SHAPE(2, H), -1, 1), tc_test_uniform(&rng, TC_SHAPE(2, H), -1, 1)};
        tc_gradcheck(build, &cases[i], cases[i].kind == 0 ? 6 : 5, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

/* hard_sigmoid differs from the sigmoid: the flag is not ignored */
static void differs_from_sigmoid(void **state)
{
    (void)state;
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 5, 3), -2, 2), *k = tc_test_uniform(&rng, TC_SHAPE(3, 8), -1, 1),
              *r = tc_test_uniform(&rng, TC_SHAPE(2, 8), -1, 1);
    tc_tensor *h1, *h2;
    assert_int_equal(tc_lstm(x, k, r, NULL, NULL, NULL, NULL, NULL, &(tc_lstm_params){.hard_sigmoid = true}, NULL, &h1, NULL), TC_OK);
    assert_int_equal(tc_lstm(x, k, r, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &h2, NULL), TC_OK);
    double diff = 0;
    for (int i = 0; i < 4; i++) diff += fabs((double)(h1->data[i] - h2->data[i]));
    assert_true(diff > 1e-3);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(31);
    const struct CMUnitTest tests[] = {cmocka_unit_test(hard_gates), cmocka_unit_test(differs_from_sigmoid)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
