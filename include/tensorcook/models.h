/* Ready-made models (src/models/), built with the layer API of nn.h and
 * rnn.h. */
#ifndef TENSORCOOK_MODELS_H
#define TENSORCOOK_MODELS_H

#include "core.h"
#include "nn.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== the cookbook's own networks (src/models/cookbook_cnn.c, charrnn.c, seq2seq_gru.c) ====
 * The recipes' default models, with options for their sizes (zero fields
 * take the cookbook's value, shown in brackets). Weights are drawn from
 * the generator tc_nn_seed seeds. Outputs are logits: the softmax is in
 * the loss (or the sampler's). */

/* MNIST: conv 5x5 32 SAME relu -> maxpool 2 -> conv 5x5 64 SAME relu ->
 * maxpool 2 -> dense 1024 relu -> dropout 0.15 (keep 0.85) -> dense 10. */
typedef struct {
    int classes;                 /* [10] */
    int64_t height, width;       /* [28 x 28] */
    int64_t channels;            /* [1] */
    int filters1, filters2;      /* [32, 64] */
    int hidden;                  /* [1024] */
    double dropout;              /* [0.15]; < 0: none */
} tc_mnist_cnn_opts;
tc_model *tc_mnist_cnn(const tc_mnist_cnn_opts *o); /* o may be NULL */

/* CIFAR-10 (TFLearn's): conv 3x3 32 relu -> maxpool 2 -> conv 3x3 64 relu
 * -> conv 3x3 64 relu -> maxpool 2 -> dense 512 relu -> dropout 0.5 ->
 * dense 10; SAME padding (TFLearn's default). */
typedef struct {
    int classes;                 /* [10] */
    int64_t height, width;       /* [32 x 32] */
    int64_t channels;            /* [3] */
    int filters1, filters2;      /* [32, 64] */
    int hidden;                  /* [512] */
    double dropout;              /* [0.5]; < 0: none */
} tc_cifar10_cnn_opts;
tc_model *tc_cifar10_cnn(const tc_cifar10_cnn_opts *o);

/* The char-RNN: input (seq_len) character ids -> `layers` x LSTM(units)
 * each followed by Dropout (the last LSTM returns its last output) ->
 * Dense(vocab). The first LSTM reads the ids as one-hot vectors
 * (input_vocab). Layers are named lstm_0.., dropout_0.., dense, so the
 * weights are lstm_0/kernel, lstm_0/recurrent_kernel, lstm_0/bias (forget
 * gate bias 1, as Keras' unit_forget_bias), ..., dense/kernel, dense/bias. */
typedef struct {
    int vocab;                   /* required: distinct characters */
    int seq_len;                 /* required: characters per training sequence (the cookbook: 25) */
    int layers;                  /* [3] */
    int units;                   /* [512] */
    double dropout;              /* [0.5]; < 0: none */
} tc_charrnn_opts;
tc_model *tc_charrnn_model(const tc_charrnn_opts *o);
/* Its checkpoint: model, optimizer state (opt may be NULL) and, under
 * extra/charrnn/, the vocabulary (code points, ascending), layers, units
 * and epoch. Written with tc_checkpoint_save_model. */
tc_status tc_charrnn_save(const char *path, const tc_model *m, tc_optimizer *opt, int vocab, const uint32_t *chars,
                          double epoch);
/* Builds the model the file describes (seq_len as given) and loads it (and
 * opt's state); *chars (malloc'd, caller frees) gets the vocabulary, *epoch
 * (may be NULL) the epoch. Files of the recipe before the layer API (the
 * same weight names, the shape under charrnn/) load too. */
tc_model *tc_charrnn_load(const char *path, int seq_len, tc_optimizer *opt, int *vocab, uint32_t **chars, double *epoch);

/* The forecaster's seq2seq GRU: an encoder of `layers` stacked GRU(units)
 * over the past (past, series), a decoder of as many GRUs that starts from
 * the encoder's final states and reads its second input (future, series)
 * (the cookbook feeds zeros), and Dense(series) on every decoder step.
 * Inputs [past values, decoder inputs]; output (future, series). */
typedef struct {
    int series;                  /* required: values per step */
    int past, future;            /* [40, 40] */
    int units;                   /* [12] */
    int layers;                  /* [2] */
} tc_seq2seq_gru_opts;
tc_model *tc_seq2seq_gru(const tc_seq2seq_gru_opts *o);
/* ==== end of the cookbook's networks ==== */

#ifdef __cplusplus
}
#endif
#endif
