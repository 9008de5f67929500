/* The cookbook's time-series forecaster (chapter 6, bitcoin): a GRU
 * encoder-decoder. The encoder's stacked GRUs read the past; each decoder
 * GRU starts from the final state of the encoder GRU at its depth and reads
 * the decoder inputs (zeros in the cookbook: the decoder runs on its state
 * alone); a dense layer turns every decoder step into the series' values. */
#include "tensorcook/models.h"
#include "tensorcook/rnn.h"

#include <stdio.h>

#define MAX_LAYERS 8

tc_model *tc_seq2seq_gru(const tc_seq2seq_gru_opts *o)
{
    int past = o && o->past ? o->past : 40, future = o && o->future ? o->future : 40;
    int units = o && o->units ? o->units : 12, layers = o && o->layers ? o->layers : 2;
    if (!o || o->series < 1 || past < 1 || future < 1 || units < 1 || layers < 1 || layers > MAX_LAYERS)
        return tc_error(TC_ERR_ARG, "seq2seq_gru: needs series, past, future, units >= 1 and 1 to %d layers", MAX_LAYERS), NULL;
    tc_graph *g = tc_graph_new();
    tc_value in[2];
    tc_value x = in[0] = tc_graph_input(g, 2, (int64_t[]){past, o->series}, "past");
    tc_value dec = in[1] = tc_graph_input(g, 2, (int64_t[]){future, o->series}, "decoder_input");
    tc_value states[MAX_LAYERS];
    char name[32];
    for (int l = 0; l < layers; l++) {
        tc_value out[2] = {-1, -1};
        snprintf(name, sizeof name, "encoder_gru_%d", l);
        tc_graph_call_multi(g, tc_gru_layer(&(tc_rnn_opts){.units = units, .return_sequences = true, .return_state = true,
                                                           .name = name}),
                            1, &x, 2, out);
        x = out[0];
        states[l] = out[1];
    }
    for (int l = 0; l < layers; l++) {
        snprintf(name, sizeof name, "decoder_gru_%d", l);
        dec = tc_graph_call(g, tc_gru_layer(&(tc_rnn_opts){.units = units, .return_sequences = true, .name = name}), 2,
                            (tc_value[]){dec, states[l]});
    }
    tc_value y = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = o->series, .name = "output"}), 1, &dec);
    return tc_graph_model(g, "seq2seq_gru", 2, in, 1, &y);
}
