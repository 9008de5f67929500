/* The encoder-decoder of tensorflow/nmt: source and target embeddings, an
 * LSTM encoder of N layers (the first optionally bidirectional, as GNMT),
 * an LSTM decoder of N layers that starts from the encoder's final states,
 * a projection to the target vocabulary without bias, and optionally
 * attention wrapped around the decoder cell as TensorFlow's
 * AttentionWrapper does it (luong, scaled_luong, bahdanau,
 * normed_bahdanau; attention vector W_c [h; context] without bias or
 * activation, fed into the next step's input, padded source positions
 * masked). LSTM cells are BasicLSTMCell's (gate order i, j, f, o; forget
 * bias 1.0). Dropout (training only) on the input of every layer, as nmt's
 * DropoutWrapper(input_keep_prob).
 *
 * Parameters (uniform +-init_scale at first), by name:
 *   embedding/encoder [Vs, U], embedding/decoder [Vt, U]
 *   encoder/l{k}/{kernel [in, 4U], recurrent [U, 4U], bias [4U]};
 *     encoder/l0_bw/... for the backward half of a bidirectional first layer
 *   decoder/l{k}/... (layer 0's input is [embedding; attention] with attention)
 *   attention/memory_layer [M, U] (M: U, or 2U after a bidirectional layer
 *     when it is the only one), attention/query_layer [U, U] (bahdanau),
 *     attention/v [U] (bahdanau), attention/g [1] (scaled_luong: 1;
 *     normed_bahdanau: sqrt(1/U)), attention/b [U] (normed_bahdanau: 0),
 *     attention/attention_layer [U + M, U]
 *   output_projection [U, Vt]
 * With a bidirectional first layer the decoder's layer 0 starts from the
 * forward direction's final state. */
#ifndef TENSORCOOK_SEQ2SEQ_H
#define TENSORCOOK_SEQ2SEQ_H

#include "core.h"
#include "text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TC_ATTN_NONE = 0,
    TC_ATTN_LUONG,           /* score = h . (W_m m) */
    TC_ATTN_SCALED_LUONG,    /* g * (h . W_m m) */
    TC_ATTN_BAHDANAU,        /* v . tanh(W_m m + W_q h) */
    TC_ATTN_NORMED_BAHDANAU  /* (g v / |v|) . tanh(W_m m + W_q h + b) */
} tc_attention_kind;
/* "luong", "scaled_luong", "bahdanau", "normed_bahdanau", "" / "none". */
tc_status tc_attention_kind_parse(const char *name, tc_attention_kind *kind);
const char *tc_attention_kind_name(tc_attention_kind k);

typedef struct {
    int64_t src_vocab, tgt_vocab;
    int units;             /* default 128 */
    int layers;            /* encoder and decoder layers; default 2 */
    bool bidirectional;    /* first encoder layer */
    tc_attention_kind attention;
    double dropout;        /* rate on each layer's input in training */
    double init_scale;     /* default 0.1 */
    uint64_t seed;         /* initial weights and dropout */
} tc_seq2seq_opts;

typedef struct tc_seq2seq tc_seq2seq;
tc_seq2seq *tc_seq2seq_new(const tc_seq2seq_opts *o);
void tc_seq2seq_free(tc_seq2seq *m);
const tc_seq2seq_opts *tc_seq2seq_options(const tc_seq2seq *m);
int tc_seq2seq_param_count(const tc_seq2seq *m);
tc_tensor *tc_seq2seq_param(const tc_seq2seq *m, int i);
const char *tc_seq2seq_param_name(const tc_seq2seq *m, int i);
tc_tensor *tc_seq2seq_param_by_name(const tc_seq2seq *m, const char *name);
/* Every parameter (all train); the array is owned by the model. */
tc_tensor *const *tc_seq2seq_params(const tc_seq2seq *m);

/* A padded batch (step tensors): src [B, Ts] ids, src_mask [B, Ts] 1/0;
 * tgt_in [B, Tt] = <s> y..., tgt_out [B, Tt] = y... </s>, tgt_mask. Padding
 * ids are </s>, as nmt pads. */
typedef struct {
    int64_t B, Ts, Tt;
    tc_tensor *src, *src_mask, *tgt_in, *tgt_out, *tgt_mask;
    int64_t tgt_tokens;    /* sum of tgt_mask */
} tc_seq_batch;
/* Rows idx[0..n-1] of the sequences (tgt may be NULL for decoding);
 * sequences longer than max_src / max_tgt (> 0) are cut there. */
tc_status tc_seq_batch_make(const tc_id_seqs *src, const tc_id_seqs *tgt, const int64_t *idx, int64_t n, int64_t max_src,
                            int64_t max_tgt, int32_t sos, int32_t eos, tc_seq_batch *b);

/* The training loss of a batch: sum over target tokens of the softmax
 * cross-entropy, divided by the batch size (nmt's loss per sentence). */
tc_tensor *tc_seq2seq_loss(tc_seq2seq *m, const tc_seq_batch *b, bool training);

/* ---- decoding ------------------------------------------------------------------
 * All batched, one step of the decoder at a time (its state carried, the
 * prefix never re-run), up to max_len tokens per sentence (0: twice the
 * longest source of the batch, as nmt). out: n rows of ids, each ending
 * before </s> (caller frees with tc_id_seqs_free). attention (NULL: not
 * kept): for greedy decoding, per sentence a [len+1, Ts] row-major array
 * of the attention weights of each output step (the </s> step included),
 * malloc'd, *attention[i] freed by the caller. */
typedef struct {
    int beam_width;            /* > 1: beam search */
    double length_penalty;     /* GNMT's alpha: scores / ((5 + len) / 6)^alpha */
    double temperature;        /* > 0 (and beam_width <= 1): sample softmax(logits / T) */
    int64_t max_len;
    uint64_t seed;             /* sampling */
} tc_decode_opts;
tc_status tc_seq2seq_decode(tc_seq2seq *m, const tc_seq_batch *b, const tc_decode_opts *o, int32_t sos, int32_t eos,
                            tc_id_seqs *out, float ***attention);

#ifdef __cplusplus
}
#endif
#endif
