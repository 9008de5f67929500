/* Recurrent networks: LSTM (with peepholes, forget bias, the gate orders of
 * Keras/PyTorch, TensorFlow's BasicLSTMCell and ONNX), GRU (TensorFlow's
 * GRUCell and Keras' reset_after variant), SimpleRNN; over whole batched
 * sequences with masks for padded batches, or one step at a time for
 * generation. Built on tensorcook's operations, so the tape gives every
 * gradient; the input projections of all time steps are one GEMM. */
#ifndef TENSORCOOK_RNN_H
#define TENSORCOOK_RNN_H

#include "core.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Order of the four gate blocks in LSTM weights (columns of kernel [in, 4H]). */
typedef enum {
    TC_GATES_IFCO = 0, /* Keras and PyTorch: input, forget, cell, output */
    TC_GATES_ICFO,     /* TensorFlow BasicLSTMCell: input, new input j, forget, output */
    TC_GATES_IOFC      /* ONNX: input, output, forget, cell */
} tc_lstm_gates;

typedef struct {
    tc_lstm_gates gates;
    double forget_bias;  /* added to the forget gate's pre-activation (BasicLSTMCell: 1.0) */
    bool reverse;        /* run from the last step to the first */
    double clip;         /* > 0: clip pre-activations to [-clip, clip] */
    bool composed;       /* use the per-step composition of ops instead of the fused
                            sequence kernel (the reference the tests compare with);
                            clipping always takes this path */
    bool hard_sigmoid;   /* gates i, f, o as Keras' hard_sigmoid, clip(0.2 x + 0.5, 0, 1)
                            (recurrent_activation of Keras 2.0-2.2 files); composed path */
} tc_lstm_params;

/* x [B, T, I]; kernel [I, 4H]; recurrent [H, 4H]; bias [4H] or NULL;
 * kernel NULL: x already holds the input projections x W [B, T, 4H] (for
 * one-hot or embedded inputs: rows gathered from the kernel, tc_gather), the
 * bias is still added (the same holds for tc_gru and tc_simple_rnn);
 * peephole [3H] (input, forget, output) or NULL; h0, c0 [B, H] or NULL
 * (zeros); mask [B, T] of 0/1 or NULL: where 0, the state is carried and
 * the output is zero. Outputs (any may be NULL): seq [B, T, H], h, c [B, H]. */
tc_status tc_lstm(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *peephole,
                  tc_tensor *h0, tc_tensor *c0, tc_tensor *mask, const tc_lstm_params *p, tc_tensor **seq,
                  tc_tensor **h, tc_tensor **c);
/* One step for generation: x [B, I], state in/out. */
tc_status tc_lstm_step(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *peephole,
                       const tc_lstm_params *p, tc_tensor **h, tc_tensor **c);

/* ---- batch-1 inference: one LSTM step at a time, weights prepared once ------
 * For generation loops (one character per step), where each step reads all
 * the weights and does little else. The stepper stacks kernel and recurrent
 * into one [I + H, 4H] matrix, or, for one-hot inputs, reads only recurrent
 * and looks up the kernel's row of the input id (x @ kernel is that row, and
 * with the bias folded in once, (kernel row + bias) is the same value
 * tc_lstm_step computes). The weights are repacked for tc_gemv with the four
 * gate columns of each block of 16 units side by side, so the thread that
 * computes a block's gates also applies its cell; a step allocates nothing
 * and records nothing on the tape.
 * Same model as tc_lstm_step (float32, gate orders, forget bias, clip; no
 * peepholes, batch 1): the results differ from it only by the order of the
 * sums in the product and the vectorised sigmoid/tanh (~1e-6 relative), and
 * are the same bits for any number of threads. */
typedef struct tc_lstm_stepper tc_lstm_stepper;
/* kernel [I, 4H], recurrent [H, 4H], bias [4H] or NULL, p NULL for the
 * defaults; one_hot_input: steps take an id in [0, I) instead of x. */
tc_lstm_stepper *tc_lstm_stepper_new(const tc_tensor *kernel, const tc_tensor *recurrent, const tc_tensor *bias,
                                     const tc_lstm_params *p, bool one_hot_input);
/* The same with the stacked weights stored in `prec` (bf16: half the bytes
 * streamed per step; the one-hot rows and the bias stay float). */
tc_lstm_stepper *tc_lstm_stepper_new_prec(const tc_tensor *kernel, const tc_tensor *recurrent, const tc_tensor *bias,
                                          const tc_lstm_params *p, bool one_hot_input, tc_precision prec);
/* One step on x [I]: h, c [H] are the state, read and updated in place. */
tc_status tc_lstm_stepper_step(tc_lstm_stepper *s, const tc_scalar *x, tc_scalar *h, tc_scalar *c);
/* One step on the one-hot input of `id` (a stepper made with one_hot_input). */
tc_status tc_lstm_stepper_step_id(tc_lstm_stepper *s, int64_t id, tc_scalar *h, tc_scalar *c);
int64_t tc_lstm_stepper_units(const tc_lstm_stepper *s);
void tc_lstm_stepper_free(tc_lstm_stepper *s);

typedef struct {
    bool reset_after;    /* Keras (CuDNN, PyTorch) variant: r * (h U + b_rec) */
    bool reverse;
    bool composed;       /* the per-step composition of ops instead of the fused kernel */
    bool hard_sigmoid;   /* gates z, r as Keras' hard_sigmoid (see tc_lstm_params); composed path */
} tc_gru_params;
/* GRU with gates (z, r, h~) in kernel [I, 3H], recurrent [H, 3H]; bias [3H]
 * (reset_after false) or [2, 3H] (input bias, recurrent bias). h' = z*h + (1-z)*h~. */
tc_status tc_gru(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *h0,
                 tc_tensor *mask, const tc_gru_params *p, tc_tensor **seq, tc_tensor **h);
/* SimpleRNN: h' = act(x W + h U + b). */
tc_status tc_simple_rnn(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *h0,
                        tc_tensor *mask, tc_activation act, bool reverse, tc_tensor **seq, tc_tensor **h);

/* ---- attention ---------------------------------------------------------------------
 * scores [B, Tq, Tk] = q k^T (Luong's dot) or sum_d w_d tanh(q_d + k_d)
 * (Bahdanau's additive), times scale and scale_value; keys where key_mask
 * [B, Tk] is 0 and (causal) keys after the query's own step get -1e9;
 * weights = softmax over the keys; out = weights @ v. q [B, Tq, D],
 * k [B, Tk, D], v [B, Tk, Dv]; out [B, Tq, Dv], weights [B, Tq, Tk] (either
 * may be NULL). Differentiable in q, k, v and the parameters. */
typedef enum { TC_SCORE_DOT = 0, TC_SCORE_ADDITIVE } tc_attention_score;
typedef struct {
    tc_attention_score score;
    tc_tensor *scale;            /* a (learnable) factor of one value, or NULL */
    double scale_value;          /* a constant factor such as 1/sqrt(D); 0: none */
    tc_tensor *additive_weights; /* additive: w [D], or NULL (ones) */
    bool causal;                 /* query i sees keys 0..i only */
} tc_attention_params;
tc_status tc_attention(tc_tensor *q, tc_tensor *k, tc_tensor *v, tc_tensor *key_mask, const tc_attention_params *p,
                       tc_tensor **out, tc_tensor **weights);

/* ---- layers (Keras names and weights: kernel, recurrent_kernel, bias) ----------
 * In a functional model (nn.h), a layer called on [x, h0] (GRU, SimpleRNN)
 * or [x, h0, c0] (LSTM), states of shape (units), starts from those states
 * (Keras' initial_state); Bidirectional takes the forward layer's states,
 * then the backward one's. With return_state the layer has several outputs
 * (tc_graph_call_multi): LSTM [output, state_h, state_c], GRU and SimpleRNN
 * [output, state], Bidirectional [output, forward states..., backward
 * states...]; output is the sequence or the last output as
 * return_sequences says. A mask on x (tc_masking, Embedding mask_zero)
 * makes the layer skip padded steps, forwards and backwards: there the
 * state is carried unchanged and the output sequence is zero (the final
 * state and last output are those of the last real step). The output
 * sequence carries the mask on; the last output and the states do not. */
typedef struct {
    int units;
    bool return_sequences;
    bool return_state;          /* outputs [output, states...] (functional models only) */
    bool go_backwards;
    bool peephole;              /* LSTM: peephole connections */
    double forget_bias;         /* LSTM: default 0 (Keras initialises the bias to 1 instead) */
    bool unit_forget_bias;      /* LSTM: Keras' bias initialisation of the forget gate to 1 */
    bool reset_after;           /* GRU: Keras 2's default variant */
    bool hard_sigmoid;          /* LSTM, GRU: recurrent_activation hard_sigmoid (Keras <= 2.2's default) */
    tc_activation act;          /* SimpleRNN: default tanh */
    double dropout;             /* dropout on the layer's output sequence/vector */
    const char *name;
    int64_t input_shape[2];     /* optional model input (timesteps, features); (timesteps) with input_vocab */
    int input_vocab;            /* > 0: the input is (timesteps) of integer ids in [0, input_vocab),
                                   read as one-hot vectors of that size (Keras: the layer on a one-hot
                                   input, the same kernel [input_vocab, gates*units]); the kernel's
                                   rows are gathered instead of multiplied */
} tc_rnn_opts;

/* The options of an LSTM, GRU or SimpleRNN layer (NULL for other layers;
 * read by translators such as the ONNX exporter). */
const tc_rnn_opts *tc_rnn_layer_opts(const tc_layer *l);
tc_layer *tc_lstm_layer(const tc_rnn_opts *o);
tc_layer *tc_gru_layer(const tc_rnn_opts *o);
tc_layer *tc_simple_rnn_layer(const tc_rnn_opts *o);
tc_layer *tc_repeat_vector(int n, const char *name);   /* [B, F] -> [B, n, F] */
/* Forward and backward copies of a new RNN layer, outputs concatenated on
 * the feature axis. Takes ownership of rnn. */
tc_layer *tc_bidirectional(tc_layer *rnn, const char *name);
/* Keras' Attention (dot product; use_scale: a learnable factor "scale", 1
 * at first) and AdditiveAttention (Bahdanau; use_scale: a learnable "scale"
 * [D]), called on [query, value] or [query, value, key]: out (Tq, Dv).
 * The value's mask masks the keys; the query's mask zeroes the outputs of
 * masked queries and goes on with the output. */
tc_layer *tc_attention_layer(bool use_scale, bool causal, const char *name);
tc_layer *tc_additive_attention_layer(bool use_scale, bool causal, const char *name);


/* ---- generation: a model stepped one token at a time (src/nn/sampler.c) ------------
 * A sampler runs a sequential model whose first layer reads token ids (an
 * Embedding, or an RNN layer with input_vocab) one step at a time, keeping
 * each recurrent layer's state, so the prefix is never run again: step(t)
 * gives the distribution of the token after t for every row of the batch.
 * Layers it steps: LSTM, GRU, SimpleRNN (forwards), Embedding, Dense,
 * Activation, Dropout (inference: the identity); others are refused by
 * name when the sampler is made. With batch 1 and LSTMs without peepholes
 * it runs on prepared weights (tc_lstm_stepper and packed row-vector
 * products: no tensors, no tape); otherwise it runs the layers' ops in
 * inference mode on step tensors released after each step. The model's
 * weights are read when the sampler is made (make a new one after training
 * changes them). Decoders (NMT) set their initial state from an encoder
 * with tc_sampler_set_state, and beam search reorders rows with
 * tc_sampler_reorder. */
typedef struct tc_sampler tc_sampler;
typedef struct {
    bool outputs_probabilities;  /* the model ends in a softmax (default: logits; the sampler applies it) */
    tc_precision precision;      /* weights of the batch-1 path (LSTM, Dense): fp32 (default), bf16 or int8 */
} tc_sampler_opts;
tc_sampler *tc_sampler_new(tc_model *m, const tc_sampler_opts *o); /* o may be NULL */
/* batch rows, every state zero. */
tc_status tc_sampler_reset(tc_sampler *s, int batch);
/* One step on tokens[batch]: the next-token probabilities [batch, vocab],
 * owned by the sampler, valid until the next step/reset; NULL + error on an
 * id out of range. */
const tc_tensor *tc_sampler_step(tc_sampler *s, const int64_t *tokens);
/* State k (LSTM: 0 h, 1 c; GRU, SimpleRNN: 0) of the recurrent layer named
 * layer, [batch, units]: read (a view owned by the sampler) or set (copied). */
const tc_tensor *tc_sampler_state(const tc_sampler *s, const char *layer, int k);
tc_status tc_sampler_set_state(tc_sampler *s, const char *layer, int k, const tc_tensor *state);
/* Row i of every state becomes old row rows[i] (beam search). */
tc_status tc_sampler_reorder(tc_sampler *s, const int64_t *rows);
int tc_sampler_batch(const tc_sampler *s);
/* True when steps run on the prepared batch-1 weights (not the ops). */
bool tc_sampler_is_prepared(const tc_sampler *s);
void tc_sampler_free(tc_sampler *s);
/* A token drawn from row `row` of probs [batch, vocab] (or [vocab]) at a
 * temperature: p^(1/T) renormalised, i.e. softmax(logits / T); one
 * tc_rng_double per draw. temperature 0: the most probable token (greedy). */
int64_t tc_sample_from(const tc_tensor *probs, int64_t row, double temperature, tc_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
