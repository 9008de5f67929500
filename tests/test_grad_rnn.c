/* Finite-difference gradient checks (double precision) for every cell:
 * LSTM (each gate order, peepholes, forget bias, reverse, masks, clip),
 * GRU (both variants), SimpleRNN, and one LSTM step. */
#include "testutil.h"

static tc_rng rng;
static tc_scalar mask_v[8] = {1, 1, 1, 1, 1, 1, 1, 0};

typedef struct { int kind; tc_lstm_params lp; bool peep, masked, reset_after, reverse; } rnn_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    rnn_case *c = ctx;
    tc_tensor *seq, *h, *cc = NULL, *mask = c->masked ? tc_copy_of(mask_v, TC_SHAPE(2, 4)) : NULL;
    tc_status s;
    if (c->kind == 0)
        s = tc_lstm(in[0], in[1], in[2], in[3], c->peep ? in[6] : NULL, in[4], in[5], mask, &c->lp, &seq, &h, &cc);
    else if (c->kind == 1)
        s = tc_gru(in[0], in[1], in[2], in[7], in[4], mask, &(tc_gru_params){c->reset_after, c->reverse}, &seq, &h);
    else if (c->kind == 2)
        s = tc_simple_rnn(in[0], in[8], in[9], in[10], in[4], mask, TC_TANH, c->reverse, &seq, &h);
    else {
        h = in[4], cc = in[5];
        s = tc_lstm_step(tc_reshape(tc_narrow(in[0], 1, 0, 1), TC_SHAPE(2, 3)), in[1], in[2], in[3], NULL, &c->lp, &h, &cc);
        seq = h;
    }
    if (s != TC_OK) return NULL;
    tc_tensor *parts[3] = {tc_reshape(seq, TC_SHAPE(-1)), tc_reshape(h, TC_SHAPE(-1)), cc ? tc_reshape(cc, TC_SHAPE(-1)) : NULL};
    return tc_concat(cc ? 3 : 2, parts, 0);
}

static void cells(void **state)
{
    const int H = 2;
    rnn_case cases[] = {
        {0, {TC_GATES_IFCO}, false, false}, {0, {TC_GATES_ICFO, 1.0}, true, false}, {0, {TC_GATES_IOFC, 0, true}, false, true},
        {0, {TC_GATES_IFCO, 0, false, 0.7}, true, true}, {1, {0}, false, true, true}, {1, {0}, false, false, false, true},
        {2, {0}, false, true, false, true}, {3, {TC_GATES_IFCO, 0.5}},
        /* the fused sequence kernel masked in both directions, and the composed path without peepholes */
        {0, {TC_GATES_ICFO, 1.0}, false, true}, {0, {TC_GATES_IFCO, 0.5, true}, false, true},
        {0, {TC_GATES_IFCO, 0, false, 0, true}, false, true},
        /* peepholes through the composed ops (the fused kernel has them in the cases above) */
        {0, {TC_GATES_ICFO, 1.0, true, 0, true}, true, true},
        /* the fused GRU: reset_after masked and reversed, GRUCell masked */
        {1, {0}, false, true, true, true}, {1, {0}, false, true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_tensor *in[11] = {
            tc_test_uniform(&rng, TC_SHAPE(2, 4, 3), -1, 1),  tc_test_uniform(&rng, TC_SHAPE(3, 4 * H), -1, 1),
            tc_test_uniform(&rng, TC_SHAPE(H, 4 * H), -1, 1), tc_test_uniform(&rng, TC_SHAPE(4 * H), -0.5, 0.5),
            tc_test_uniform(&rng, TC_SHAPE(2, H), -1, 1),     tc_test_uniform(&rng, TC_SHAPE(2, H), -1, 1),
            tc_test_uniform(&rng, TC_SHAPE(3 * H), -1, 1),    tc_test_uniform(&rng, TC_SHAPE(2, 3 * H), -0.5, 0.5),
            tc_test_uniform(&rng, TC_SHAPE(3, H), -1, 1),     tc_test_uniform(&rng, TC_SHAPE(H, H), -1, 1),
            tc_test_uniform(&rng, TC_SHAPE(H), -0.5, 0.5)};
        if (cases[i].kind == 1) { /* GRU weights are [., 3H] */
            in[1] = tc_test_uniform(&rng, TC_SHAPE(3, 3 * H), -1, 1);
            in[2] = tc_test_uniform(&rng, TC_SHAPE(H, 3 * H), -1, 1);
            if (!cases[i].reset_after) in[7] = tc_test_uniform(&rng, TC_SHAPE(3 * H), -0.5, 0.5);
        }
        tc_gradcheck(build, &cases[i], 11, in, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

int main(void)
{
    rng = tc_rng_new(77);
    const struct CMUnitTest tests[] = {cmocka_unit_test(cells)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
