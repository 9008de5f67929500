/* Shared by the encoder-decoder's files (not installed). */
#ifndef TC_SEQ2SEQ_INTERNAL_H
#define TC_SEQ2SEQ_INTERNAL_H

#include "../core/internal.h"
#include "../autograd/autograd_internal.h"
#include "../ops/ops_internal.h"
#include "tensorcook/rnn.h"
#include "tensorcook/seq2seq.h"

#define S2S_MAX_LAYERS 8
#define S2S_MAX_PARAMS 64

typedef struct {
    tc_tensor *kernel, *recurrent, *bias;
} s2s_lstm;

struct tc_seq2seq {
    tc_seq2seq_opts o;
    int n_params;
    tc_tensor *params[S2S_MAX_PARAMS];
    char *names[S2S_MAX_PARAMS];
    tc_tensor *emb_src, *emb_tgt, *proj;
    s2s_lstm enc[S2S_MAX_LAYERS], enc_bw, dec[S2S_MAX_LAYERS];
    tc_tensor *att_memory, *att_query, *att_v, *att_g, *att_b, *att_layer;
    int64_t mem_width;
    tc_rng dropout_rng;
};

/* The encoder's results: memory [B, Ts, M] (zero at padded steps), the
 * final states per layer, and for attention the keys W_m memory and the
 * score bias (0 at real positions, -1e9 at padded ones). */
typedef struct {
    tc_tensor *memory, *keys, *score_bias;
    tc_tensor *h[S2S_MAX_LAYERS], *c[S2S_MAX_LAYERS];
} s2s_encoded;
tc_status s2s_encode(tc_seq2seq *m, tc_tensor *src, tc_tensor *src_mask, bool training, s2s_encoded *e);
/* One decoder step on ids [B] (a tensor of ids): updates h, c (per layer)
 * and att (input feeding; NULL without attention) in place, returns the
 * step's output [B, U] (the attention vector, or the top layer's h) and,
 * when alpha is given, the attention weights [B, Ts]. */
tc_tensor *s2s_decode_step(tc_seq2seq *m, const s2s_encoded *e, tc_tensor *ids, tc_tensor **h, tc_tensor **c,
                           tc_tensor **att, bool training, tc_tensor **alpha);

#endif
