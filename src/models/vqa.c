/* The cookbook's visual question answering model (chapter 5, after Agrawal
 * et al.'s "VQA" paper): VGG16 fc2 features of the image (4096) and the
 * question as word vectors (30 x 300) read by three stacked LSTMs (512; the
 * last returns its final output), concatenated (4096 + 512), three times
 * Dense(1024) + Dropout(0.5), then Dense over the candidate answers (1000).
 *
 * Faithful to the seed's build_combined_model with two stated differences:
 * - its Dense layers are linear, because the activation_function='tanh' it
 *   takes is never passed to Dense; here they are tanh, as it intends
 *   (.linear_dense gives the seed as run). Activations have no weights, so
 *   the parameter count is the seed's 13,707,240 either way.
 * - the seed's Dense kernels start from Keras' 'uniform' (U(-0.05, 0.05));
 *   here from the library's Glorot uniform, which keeps tanh out of
 *   saturation with 4608 inputs (U(-0.05, 0.05) gives pre-activations of
 *   std ~2 times the input's).
 * The LSTMs use the sigmoid recurrent activation (Keras 2.3+; Keras 2.0's
 * default was hard_sigmoid) and Keras' unit_forget_bias. The last Dense
 * gives logits: the softmax is in the loss, or applied by the caller. */
#include "tensorcook/models.h"
#include "tensorcook/rnn.h"

#include <stdio.h>

#define VQA_MAX_LAYERS 8

static int or_default(int v, int d) { return v > 0 ? v : d; }

tc_model *tc_vqa_model(const tc_vqa_opts *opts)
{
    tc_vqa_opts o = opts ? *opts : (tc_vqa_opts){0};
    int feat = or_default(o.image_features, 4096), words = or_default(o.max_words, 30), dim = or_default(o.word_dim, 300);
    int lstm = or_default(o.lstm_units, 512), nl = or_default(o.lstm_layers, 3);
    int dense = or_default(o.dense_units, 1024), nd = or_default(o.dense_layers, 3), answers = or_default(o.answers, 1000);
    double drop = o.dropout < 0 ? 0 : o.dropout > 0 ? o.dropout : 0.5;
    if (nl > VQA_MAX_LAYERS || nd > VQA_MAX_LAYERS || drop >= 1)
        return tc_error(TC_ERR_ARG, "vqa: 1 to %d LSTM and Dense layers and a dropout rate below 1, given %d, %d, %g",
                        VQA_MAX_LAYERS, nl, nd, drop), NULL;
    tc_graph *g = tc_graph_new();
    tc_value in[2];
    in[0] = tc_graph_input(g, 1, (int64_t[]){feat}, "input_image");
    in[1] = tc_graph_input(g, 2, (int64_t[]){words, dim}, "input_language");
    char name[32];
    tc_value q = in[1];
    for (int l = 0; l < nl; l++) {
        snprintf(name, sizeof name, "lstm_%d", l + 1);
        q = tc_graph_call(g, tc_lstm_layer(&(tc_rnn_opts){.units = lstm, .return_sequences = l + 1 < nl,
                                                          .unit_forget_bias = true, .name = name}), 1, &q);
    }
    /* the seed's Reshape((4096,)) of the image input: a no-op kept for its table */
    tc_value img = tc_graph_call(g, tc_reshape_layer(1, (int64_t[]){feat}, "reshape_1"), 1, &in[0]);
    tc_value x = tc_graph_call(g, tc_concatenate(-1, "concatenate_1"), 2, (tc_value[]){img, q});
    tc_activation act = o.linear_dense ? TC_LINEAR : TC_TANH;
    for (int l = 0; l < nd; l++) {
        snprintf(name, sizeof name, "dense_%d", l + 1);
        x = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = dense, .act = act, .name = name}), 1, &x);
        if (drop > 0) {
            snprintf(name, sizeof name, "dropout_%d", l + 1);
            x = tc_graph_call(g, tc_dropout_layer(drop, name), 1, &x);
        }
    }
    snprintf(name, sizeof name, "dense_%d", nd + 1);
    tc_value y = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = answers, .name = name}), 1, &x);
    return tc_graph_model(g, "vqa", 2, in, 1, &y);
}
