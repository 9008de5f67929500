/* The encoder-decoder (tensorflow/nmt's model): parameters, the encoder,
 * the attention-wrapped decoder step, batches and the training loss. Built
 * from tensorcook's operations, so the tape gives every gradient. */
#include "seq2seq_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"none", "luong", "scaled_luong", "bahdanau", "normed_bahdanau"};

tc_status tc_attention_kind_parse(const char *name, tc_attention_kind *kind)
{
    if (!name || !kind) return tc_error(TC_ERR_ARG, "attention: NULL argument");
    if (!*name) name = "none";
    for (int k = 0; k < 5; k++)
        if (!strcmp(name, kind_names[k])) {
            *kind = (tc_attention_kind)k;
            return TC_OK;
        }
    return tc_error(TC_ERR_ARG, "attention: unknown kind '%s' (luong, scaled_luong, bahdanau, normed_bahdanau)", name);
}

const char *tc_attention_kind_name(tc_attention_kind k) { return (unsigned)k < 5 ? kind_names[k] : "?"; }

static tc_tensor *add_param(tc_seq2seq *m, const char *name, int ndim, const int64_t *shape, tc_rng *rng, int init,
                            double value)
{
    if (m->n_params >= S2S_MAX_PARAMS) return NULL;
    tc_tensor *t = tc_tensor_new(ndim, shape);
    char *n = t ? malloc(strlen(name) + 1) : NULL;
    if (!t || !n) {
        tc_tensor_free(t);
        free(n);
        return NULL;
    }
    strcpy(n, name);
    /* 0: uniform +-init_scale; 1: constant value */
    if (init == 0) tc_rng_uniform(rng, t->data, tc_numel(t), (tc_scalar)-m->o.init_scale, (tc_scalar)m->o.init_scale);
    else tc_fill(t, (tc_scalar)value);
    tc_set_requires_grad(t, true);
    t->name = n;
    m->params[m->n_params] = t;
    m->names[m->n_params++] = n;
    return t;
}

static bool add_lstm(tc_seq2seq *m, const char *prefix, int64_t in, s2s_lstm *l, tc_rng *rng)
{
    int64_t U = m->o.units;
    char name[64];
    snprintf(name, sizeof name, "%s/kernel", prefix);
    l->kernel = add_param(m, name, TC_SHAPE(in, 4 * U), rng, 0, 0);
    snprintf(name, sizeof name, "%s/recurrent", prefix);
    l->recurrent = add_param(m, name, TC_SHAPE(U, 4 * U), rng, 0, 0);
    snprintf(name, sizeof name, "%s/bias", prefix);
    l->bias = add_param(m, name, TC_SHAPE(4 * U), rng, 1, 0.0); /* BasicLSTMCell: zeros */
    return l->kernel && l->recurrent && l->bias;
}

tc_seq2seq *tc_seq2seq_new(const tc_seq2seq_opts *opts)
{
    if (!opts || opts->src_vocab < 1 || opts->tgt_vocab < 3) {
        tc_error(TC_ERR_ARG, "seq2seq: vocabulary sizes must be given (target >= 3)");
        return NULL;
    }
    tc_seq2seq_opts o = *opts;
    if (o.units <= 0) o.units = 128;
    if (o.layers <= 0) o.layers = 2;
    if (o.init_scale <= 0) o.init_scale = 0.1;
    if (o.layers > S2S_MAX_LAYERS || o.dropout < 0 || o.dropout >= 1 || (unsigned)o.attention > TC_ATTN_NORMED_BAHDANAU) {
        tc_error(TC_ERR_ARG, "seq2seq: layers must be 1..%d, dropout in [0, 1), attention a known kind", S2S_MAX_LAYERS);
        return NULL;
    }
    tc_seq2seq *m = calloc(1, sizeof *m);
    if (!m) {
        tc_error(TC_ERR_MEMORY, "seq2seq: out of memory");
        return NULL;
    }
    m->o = o;
    int64_t U = o.units;
    tc_rng rng = tc_rng_new(o.seed);
    m->dropout_rng = tc_rng_new(o.seed ^ 0x5eed5eedull);
    bool ok = (m->emb_src = add_param(m, "embedding/encoder", TC_SHAPE(o.src_vocab, U), &rng, 0, 0)) &&
              (m->emb_tgt = add_param(m, "embedding/decoder", TC_SHAPE(o.tgt_vocab, U), &rng, 0, 0));
    for (int l = 0; ok && l < o.layers; l++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "encoder/l%d", l);
        int64_t in = l == 0 ? U : (l == 1 && o.bidirectional ? 2 * U : U);
        ok = add_lstm(m, prefix, in, &m->enc[l], &rng);
        if (ok && l == 0 && o.bidirectional) ok = add_lstm(m, "encoder/l0_bw", U, &m->enc_bw, &rng);
    }
    m->mem_width = o.bidirectional && o.layers == 1 ? 2 * U : U;
    for (int l = 0; ok && l < o.layers; l++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "decoder/l%d", l);
        ok = add_lstm(m, prefix, l == 0 && o.attention ? 2 * U : U, &m->dec[l], &rng);
    }
    if (ok && o.attention) {
        int64_t M = m->mem_width;
        ok = (m->att_memory = add_param(m, "attention/memory_layer", TC_SHAPE(M, U), &rng, 0, 0)) != NULL;
        if (ok && (o.attention == TC_ATTN_BAHDANAU || o.attention == TC_ATTN_NORMED_BAHDANAU))
            ok = (m->att_query = add_param(m, "attention/query_layer", TC_SHAPE(U, U), &rng, 0, 0)) &&
                 (m->att_v = add_param(m, "attention/v", TC_SHAPE(U), &rng, 0, 0));
        if (ok && o.attention == TC_ATTN_SCALED_LUONG) ok = (m->att_g = add_param(m, "attention/g", TC_SHAPE(1), &rng, 1, 1.0)) != NULL;
        if (ok && o.attention == TC_ATTN_NORMED_BAHDANAU)
            ok = (m->att_g = add_param(m, "attention/g", TC_SHAPE(1), &rng, 1, sqrt(1.0 / (double)U))) &&
                 (m->att_b = add_param(m, "attention/b", TC_SHAPE(U), &rng, 1, 0.0));
        if (ok) ok = (m->att_layer = add_param(m, "attention/attention_layer", TC_SHAPE(U + M, U), &rng, 0, 0)) != NULL;
    }
    if (ok) ok = (m->proj = add_param(m, "output_projection", TC_SHAPE(U, o.tgt_vocab), &rng, 0, 0)) != NULL;
    if (!ok) {
        tc_seq2seq_free(m);
        tc_error(TC_ERR_MEMORY, "seq2seq: out of memory");
        return NULL;
    }
    return m;
}

void tc_seq2seq_free(tc_seq2seq *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_params; i++) {
        tc_tensor_free(m->params[i]);
        free(m->names[i]);
    }
    free(m);
}

const tc_seq2seq_opts *tc_seq2seq_options(const tc_seq2seq *m) { return m ? &m->o : NULL; }
int tc_seq2seq_param_count(const tc_seq2seq *m) { return m ? m->n_params : 0; }
tc_tensor *tc_seq2seq_param(const tc_seq2seq *m, int i) { return m && i >= 0 && i < m->n_params ? m->params[i] : NULL; }
const char *tc_seq2seq_param_name(const tc_seq2seq *m, int i) { return m && i >= 0 && i < m->n_params ? m->names[i] : NULL; }
tc_tensor *const *tc_seq2seq_params(const tc_seq2seq *m) { return m ? m->params : NULL; }

tc_tensor *tc_seq2seq_param_by_name(const tc_seq2seq *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_params; i++)
        if (!strcmp(m->names[i], name)) return m->params[i];
    return NULL;
}

static const tc_lstm_params basic_cell = {.gates = TC_GATES_ICFO, .forget_bias = 1.0};

static tc_tensor *drop(tc_seq2seq *m, tc_tensor *x, bool training)
{
    return training && m->o.dropout > 0 ? tc_dropout(x, (tc_scalar)m->o.dropout, true, &m->dropout_rng) : x;
}

tc_status s2s_encode(tc_seq2seq *m, tc_tensor *src, tc_tensor *src_mask, bool training, s2s_encoded *e)
{
    memset(e, 0, sizeof *e);
    tc_tensor *x = tc_gather(m->emb_src, src, 0);
    for (int l = 0; l < m->o.layers; l++) {
        x = drop(m, x, training);
        tc_tensor *seq = NULL;
        if (!x || tc_lstm(x, m->enc[l].kernel, m->enc[l].recurrent, m->enc[l].bias, NULL, NULL, NULL, src_mask, &basic_cell,
                          &seq, &e->h[l], &e->c[l]) != TC_OK)
            return tc_last_status();
        if (l == 0 && m->o.bidirectional) {
            tc_lstm_params bw = basic_cell;
            bw.reverse = true;
            tc_tensor *bseq = NULL;
            if (tc_lstm(x, m->enc_bw.kernel, m->enc_bw.recurrent, m->enc_bw.bias, NULL, NULL, NULL, src_mask, &bw, &bseq,
                        NULL, NULL) != TC_OK)
                return tc_last_status();
            seq = tc_concat(2, (tc_tensor *[]){seq, bseq}, -1);
        }
        x = seq;
    }
    e->memory = x;
    if (m->o.attention) {
        e->keys = tc_linear(x, m->att_memory, NULL);
        e->score_bias = tc_mul_scalar(tc_add_scalar(src_mask, -1), (tc_scalar)1e9);
        if (!e->keys || !e->score_bias) return tc_last_status();
    }
    return x ? TC_OK : tc_last_status();
}

/* Attention of the top layer's output h [B, U]: weights [B, Ts] and the
 * attention vector W_c [h; context] [B, U]. */
static tc_tensor *attend(tc_seq2seq *m, const s2s_encoded *e, tc_tensor *h, tc_tensor **alpha)
{
    int64_t B = h->shape[0], U = m->o.units, Ts = e->keys->shape[1];
    tc_tensor *score;
    if (m->o.attention == TC_ATTN_LUONG || m->o.attention == TC_ATTN_SCALED_LUONG) {
        score = tc_reshape(tc_matmul(e->keys, tc_reshape(h, TC_SHAPE(B, U, 1))), TC_SHAPE(B, Ts));
        if (m->o.attention == TC_ATTN_SCALED_LUONG) score = tc_mul(score, m->att_g);
    } else {
        tc_tensor *pq = tc_reshape(tc_linear(h, m->att_query, NULL), TC_SHAPE(B, 1, U));
        tc_tensor *pre = tc_add(e->keys, pq), *v = m->att_v;
        if (m->o.attention == TC_ATTN_NORMED_BAHDANAU) {
            pre = tc_add(pre, m->att_b);
            v = tc_mul(tc_div(v, tc_sqrt(tc_sum(tc_square(v), 0, NULL, false))), m->att_g);
        }
        score = tc_matmul(tc_tanh(pre), v);
    }
    tc_tensor *a = tc_softmax(tc_add(score, e->score_bias), -1);
    tc_tensor *ctx = tc_reshape(tc_matmul(tc_reshape(a, TC_SHAPE(B, 1, Ts)), e->memory), TC_SHAPE(B, m->mem_width));
    if (alpha) *alpha = a;
    return tc_matmul(tc_concat(2, (tc_tensor *[]){h, ctx}, 1), m->att_layer);
}

tc_tensor *s2s_decode_step(tc_seq2seq *m, const s2s_encoded *e, tc_tensor *ids, tc_tensor **h, tc_tensor **c,
                           tc_tensor **att, bool training, tc_tensor **alpha)
{
    tc_tensor *x = tc_gather(m->emb_tgt, ids, 0);
    if (m->o.attention) x = tc_concat(2, (tc_tensor *[]){x, *att}, 1); /* input feeding */
    for (int l = 0; l < m->o.layers; l++) {
        x = drop(m, x, training);
        if (!x || tc_lstm_step(x, m->dec[l].kernel, m->dec[l].recurrent, m->dec[l].bias, NULL, &basic_cell, &h[l], &c[l]) != TC_OK)
            return NULL;
        x = h[l];
    }
    if (!m->o.attention) return x;
    tc_tensor *out = attend(m, e, x, alpha);
    *att = out;
    return out;
}

tc_tensor *tc_seq2seq_loss(tc_seq2seq *m, const tc_seq_batch *b, bool training)
{
    if (!m || !b || !b->src || !b->tgt_in || !b->tgt_out || !b->tgt_mask) {
        tc_error(TC_ERR_ARG, "seq2seq_loss: a batch with targets is needed");
        return NULL;
    }
    s2s_encoded e;
    if (s2s_encode(m, b->src, b->src_mask, training, &e) != TC_OK) return NULL;
    int64_t B = b->B, Tt = b->Tt, U = m->o.units;
    tc_tensor *outs;
    if (!m->o.attention) {
        /* no input feeding: the decoder runs over the whole target at once */
        tc_tensor *x = tc_gather(m->emb_tgt, b->tgt_in, 0);
        for (int l = 0; l < m->o.layers; l++) {
            x = drop(m, x, training);
            tc_tensor *seq = NULL;
            if (!x || tc_lstm(x, m->dec[l].kernel, m->dec[l].recurrent, m->dec[l].bias, NULL, e.h[l], e.c[l], NULL,
                              &basic_cell, &seq, NULL, NULL) != TC_OK)
                return NULL;
            x = seq;
        }
        outs = x;
    } else {
        tc_tensor *h[S2S_MAX_LAYERS], *c[S2S_MAX_LAYERS], *att = tc_zeros(TC_SHAPE(B, U));
        tc_tensor **steps = tc_arena_alloc(sizeof *steps * (size_t)(Tt ? Tt : 1));
        if (!att || !steps) return NULL;
        for (int l = 0; l < m->o.layers; l++) h[l] = e.h[l], c[l] = e.c[l];
        for (int64_t t = 0; t < Tt; t++) {
            tc_tensor *ids = tc_reshape(tc_narrow(b->tgt_in, 1, t, 1), TC_SHAPE(B));
            tc_tensor *o = s2s_decode_step(m, &e, ids, h, c, &att, training, NULL);
            if (!o) return NULL;
            steps[t] = tc_reshape(o, TC_SHAPE(B, 1, U));
        }
        outs = tc_concat((int)Tt, steps, 1);
    }
    tc_tensor *logits = tc_linear(outs, m->proj, NULL);
    tc_tensor *ce = tc_sparse_softmax_cross_entropy(logits, b->tgt_out, b->tgt_mask, TC_REDUCE_SUM);
    return tc_mul_scalar(ce, (tc_scalar)(1.0 / (double)B));
}

tc_status tc_seq_batch_make(const tc_id_seqs *src, const tc_id_seqs *tgt, const int64_t *idx, int64_t n, int64_t max_src,
                            int64_t max_tgt, int32_t sos, int32_t eos, tc_seq_batch *b)
{
    if (!src || !idx || n < 1 || !b) return tc_error(TC_ERR_ARG, "seq_batch: no rows");
    memset(b, 0, sizeof *b);
    int64_t Ts = 1, Tt = 1;
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= src->n || (tgt && idx[i] >= tgt->n))
            return tc_error(TC_ERR_ARG, "seq_batch: row %lld out of range", (long long)idx[i]);
        int64_t ls = src->len[idx[i]], lt = tgt ? tgt->len[idx[i]] : 0;
        if (max_src > 0 && ls > max_src) ls = max_src;
        if (max_tgt > 0 && lt > max_tgt) lt = max_tgt;
        if (ls > Ts) Ts = ls;
        if (lt + 1 > Tt) Tt = lt + 1;
    }
    b->B = n, b->Ts = Ts, b->Tt = tgt ? Tt : 0;
    b->src = tc_full(TC_SHAPE(n, Ts), (tc_scalar)eos);
    b->src_mask = tc_zeros(TC_SHAPE(n, Ts));
    if (tgt) {
        b->tgt_in = tc_full(TC_SHAPE(n, Tt), (tc_scalar)eos);
        b->tgt_out = tc_full(TC_SHAPE(n, Tt), (tc_scalar)eos);
        b->tgt_mask = tc_zeros(TC_SHAPE(n, Tt));
        if (!b->tgt_in || !b->tgt_out || !b->tgt_mask) return tc_last_status();
    }
    if (!b->src || !b->src_mask) return tc_last_status();
    for (int64_t i = 0; i < n; i++) {
        int64_t r = idx[i], ls = src->len[r];
        if (max_src > 0 && ls > max_src) ls = max_src;
        for (int64_t t = 0; t < ls; t++) {
            b->src->data[i * Ts + t] = (tc_scalar)src->ids[r][t];
            b->src_mask->data[i * Ts + t] = 1;
        }
        if (!tgt) continue;
        int64_t lt = tgt->len[r];
        if (max_tgt > 0 && lt > max_tgt) lt = max_tgt;
        b->tgt_in->data[i * Tt] = (tc_scalar)sos;
        for (int64_t t = 0; t < lt; t++) {
            b->tgt_in->data[i * Tt + t + 1] = (tc_scalar)tgt->ids[r][t];
            b->tgt_out->data[i * Tt + t] = (tc_scalar)tgt->ids[r][t];
        }
        for (int64_t t = 0; t <= lt; t++) b->tgt_mask->data[i * Tt + t] = 1;
        b->tgt_tokens += lt + 1;
    }
    return TC_OK;
}
