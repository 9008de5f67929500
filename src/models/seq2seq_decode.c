/* Decoding with the encoder-decoder: greedy, sampling with a temperature,
 * and beam search (tf.contrib.seq2seq.BeamSearchDecoder's search with
 * GNMT's length penalty), all batched, one decoder step at a time. The
 * state (each layer's h and c, the attention vector) lives in long-lived
 * tensors between steps and the step arena is released after each one, so
 * decoding a long sentence takes the memory of one step; with beams the
 * state rows are reordered by their parent beams as they are copied back. */
#include "seq2seq_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t R, U;
    tc_tensor *h[S2S_MAX_LAYERS], *c[S2S_MAX_LAYERS], *att, *ids;
} dstate;

static void dstate_free(dstate *s, int layers)
{
    for (int l = 0; l < layers; l++) {
        tc_tensor_free(s->h[l]);
        tc_tensor_free(s->c[l]);
    }
    tc_tensor_free(s->att);
    tc_tensor_free(s->ids);
}

/* dst row r = src row rows[r] (rows NULL: the same row). */
static void copy_rows(tc_tensor *dst, tc_tensor *src, const int64_t *rows)
{
    tc_tensor *s = tc_contiguous(src);
    int64_t R = dst->shape[0], W = dst->shape[1];
    for (int64_t r = 0; r < R; r++) memcpy(dst->data + r * W, s->data + (rows ? rows[r] : r) * W, sizeof(tc_scalar) * (size_t)W);
}

/* Tile the rows of x [B, ...] K times each (beam b*K + k reads sentence b). */
static tc_tensor *tile_rows(tc_tensor *x, tc_tensor *idx) { return x ? tc_gather(x, idx, 0) : NULL; }

typedef struct {
    double score;
    int64_t index;
} cand;

/* Keeps the K best (score descending, ties: lower index first). */
static void push_cand(cand *best, int K, int *n, double score, int64_t index)
{
    if (*n == K && !(score > best[K - 1].score)) return; /* ties lose to the earlier index */
    int i = *n < K ? (*n)++ : K - 1;
    while (i > 0 && score > best[i - 1].score) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = (cand){score, index};
}

tc_status tc_seq2seq_decode(tc_seq2seq *m, const tc_seq_batch *b, const tc_decode_opts *opts, int32_t sos, int32_t eos,
                            tc_id_seqs *out, float ***attention)
{
    static const tc_decode_opts defaults = {0};
    const tc_decode_opts *o = opts ? opts : &defaults;
    if (!m || !b || !b->src || !b->src_mask || !out) return tc_error(TC_ERR_ARG, "seq2seq_decode: NULL argument");
    int64_t V = m->o.tgt_vocab;
    if (sos < 0 || sos >= V || eos < 0 || eos >= V) return tc_error(TC_ERR_ARG, "seq2seq_decode: <s> %d or </s> %d outside the vocabulary", sos, eos);
    int K = o->beam_width > 1 ? o->beam_width : 1;
    bool beam = K > 1, sample = !beam && o->temperature > 0;
    if (attention && (beam || !m->o.attention)) return tc_error(TC_ERR_ARG, "seq2seq_decode: attention weights need greedy decoding with attention");
    memset(out, 0, sizeof *out);
    int64_t B = b->B, R = B * K, U = m->o.units, Ts = b->Ts, L = m->o.layers;
    int64_t max_len = o->max_len;
    if (max_len <= 0) {
        double longest = 0;
        for (int64_t i = 0; i < B; i++) {
            double s = 0;
            for (int64_t t = 0; t < Ts; t++) s += b->src_mask->data[i * Ts + t];
            if (s > longest) longest = s;
        }
        max_len = (int64_t)llround(2 * longest);
        if (max_len < 1) max_len = 1;
    }
    bool grad = tc_set_grad_enabled(false);
    tc_step_mark mark0 = tc_step_get_mark();
    tc_status st = TC_OK;
    dstate s = {R, U, {NULL}, {NULL}, NULL, NULL};
    int32_t *tokens = malloc(sizeof *tokens * (size_t)(max_len * R));
    int64_t *parents = malloc(sizeof *parents * (size_t)(max_len * R)), *rows = malloc(sizeof *rows * (size_t)R);
    double *lp = malloc(sizeof *lp * (size_t)R), *row = malloc(sizeof *row * (size_t)V);
    double *row_max = malloc(sizeof *row_max * (size_t)R), *row_logsum = malloc(sizeof *row_logsum * (size_t)R);
    int64_t *len = calloc((size_t)R, sizeof *len);
    bool *finished = calloc((size_t)R, sizeof *finished);
    cand *best = malloc(sizeof *best * (size_t)K);
    int32_t *new_tok = malloc(sizeof *new_tok * (size_t)R);
    double *new_lp = malloc(sizeof *new_lp * (size_t)R);
    int64_t *new_len = malloc(sizeof *new_len * (size_t)R);
    bool *new_fin = malloc(sizeof *new_fin * (size_t)R);
    float **att_rows = attention ? calloc((size_t)B, sizeof *att_rows) : NULL;
    tc_rng rng = tc_rng_new(o->seed);
    int64_t steps = 0;
    if (!tokens || !parents || !rows || !lp || !row || !row_max || !row_logsum || !len || !finished || !best || !new_tok || !new_lp || !new_len ||
        !new_fin || (attention && !att_rows)) {
        st = tc_error(TC_ERR_MEMORY, "seq2seq_decode: out of memory");
        goto done;
    }
    for (int l = 0; l < L; l++) {
        s.h[l] = tc_tensor_new(TC_SHAPE(R, U));
        s.c[l] = tc_tensor_new(TC_SHAPE(R, U));
        if (!s.h[l] || !s.c[l]) st = tc_last_status();
    }
    s.att = tc_tensor_new(TC_SHAPE(R, U));
    s.ids = tc_tensor_new(TC_SHAPE(R));
    if (st != TC_OK || !s.att || !s.ids) {
        st = tc_error(TC_ERR_MEMORY, "seq2seq_decode: out of memory");
        goto done;
    }
    for (int64_t i = 0; attention && i < B; i++)
        if (!(att_rows[i] = malloc(sizeof(float) * (size_t)((max_len + 1) * Ts)))) {
            st = tc_error(TC_ERR_MEMORY, "seq2seq_decode: out of memory");
            goto done;
        }
    s2s_encoded e;
    if ((st = s2s_encode(m, b->src, b->src_mask, false, &e)) != TC_OK) goto done;
    if (beam) {
        tc_tensor *idx = tc_empty(TC_SHAPE(R));
        if (!idx) {
            st = tc_last_status();
            goto done;
        }
        for (int64_t r = 0; r < R; r++) idx->data[r] = (tc_scalar)(r / K);
        e.memory = tile_rows(e.memory, idx);
        if (m->o.attention) {
            e.keys = tile_rows(e.keys, idx);
            e.score_bias = tile_rows(e.score_bias, idx);
        }
        for (int l = 0; l < L; l++) e.h[l] = tile_rows(e.h[l], idx), e.c[l] = tile_rows(e.c[l], idx);
    }
    for (int l = 0; l < L; l++) {
        if (!e.h[l] || !e.c[l]) {
            st = tc_last_status();
            goto done;
        }
        copy_rows(s.h[l], e.h[l], NULL);
        copy_rows(s.c[l], e.c[l], NULL);
    }
    for (int64_t r = 0; r < R; r++) {
        s.ids->data[r] = (tc_scalar)sos;
        lp[r] = r % K == 0 ? 0.0 : -INFINITY; /* only beam 0 is alive at first */
    }
    tc_step_mark mark1 = tc_step_get_mark();
    for (steps = 0; steps < max_len;) {
        tc_tensor *h[S2S_MAX_LAYERS], *c[S2S_MAX_LAYERS], *att = s.att, *alpha = NULL;
        for (int l = 0; l < L; l++) h[l] = s.h[l], c[l] = s.c[l];
        tc_tensor *y = s2s_decode_step(m, &e, s.ids, h, c, &att, false, attention ? &alpha : NULL);
        tc_tensor *logits = y ? tc_contiguous(tc_linear(y, m->proj, NULL)) : NULL;
        if (!logits || (attention && !alpha)) {
            st = tc_last_status();
            goto done;
        }
        bool all_done = true;
        if (!beam) {
            for (int64_t r = 0; r < R; r++) {
                const tc_scalar *z = logits->data + r * V;
                int64_t pick = 0;
                if (sample) {
                    double mx = -INFINITY, sum = 0;
                    for (int64_t v = 0; v < V; v++) mx = z[v] / o->temperature > mx ? z[v] / o->temperature : mx;
                    for (int64_t v = 0; v < V; v++) sum += row[v] = exp(z[v] / o->temperature - mx);
                    double u = tc_rng_double(&rng) * sum;
                    for (pick = 0; pick < V - 1 && (u -= row[pick]) >= 0; pick++) {
                    }
                } else {
                    for (int64_t v = 1; v < V; v++)
                        if (z[v] > z[pick]) pick = v;
                }
                if (attention && !finished[r]) {
                    tc_tensor *a = tc_contiguous(alpha);
                    for (int64_t t = 0; t < Ts; t++) att_rows[r][steps * Ts + t] = (float)a->data[r * Ts + t];
                }
                tokens[steps * R + r] = (int32_t)pick;
                parents[steps * R + r] = r;
                if (!finished[r] && pick != eos) len[r]++;
                finished[r] = finished[r] || pick == eos;
                all_done &= finished[r];
                rows[r] = r;
            }
        } else {
            for (int64_t bi = 0; bi < B; bi++) {
                int n = 0;
                for (int k = 0; k < K; k++) {
                    int64_t r = bi * K + k;
                    const tc_scalar *z = logits->data + r * V;
                    /* the GNMT penalty of a candidate depends only on whether it ends the beam: two values a row */
                    int64_t nl_eos = len[r], nl_word = len[r] + !finished[r];
                    double pen_eos = o->length_penalty != 0 ? pow((5.0 + (double)nl_eos) / 6.0, o->length_penalty) : 1.0;
                    double pen_word = o->length_penalty != 0 ? pow((5.0 + (double)nl_word) / 6.0, o->length_penalty) : 1.0;
                    if (finished[r]) { /* a finished beam only continues with </s>, at no cost */
                        for (int64_t v = 0; v < V; v++)
                            push_cand(best, K, &n, (v == eos ? lp[r] : -INFINITY) / (v == eos ? pen_eos : pen_word),
                                      (int64_t)k * V + v);
                        continue;
                    }
                    double mx = -INFINITY, sum = 0;
                    for (int64_t v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
                    for (int64_t v = 0; v < V; v++) sum += exp(z[v] - mx);
                    /* kept for the chosen words' log-probabilities below (no second pass of exp over the row) */
                    row_max[r] = mx;
                    row_logsum[r] = log(sum);
                    double lse = mx + row_logsum[r];
                    for (int64_t v = 0; v < V; v++)
                        push_cand(best, K, &n, (lp[r] + (z[v] - lse)) / (v == eos ? pen_eos : pen_word), (int64_t)k * V + v);
                }
                for (int k = 0; k < K; k++) {
                    int64_t r = bi * K + k, parent = bi * K + best[k].index / V, v = best[k].index % V;
                    rows[r] = parent;
                    new_tok[r] = (int32_t)v;
                    new_lp[r] = lp[parent] + (finished[parent] ? (v == eos ? 0.0 : -INFINITY) : 0.0);
                    new_len[r] = len[parent] + (!finished[parent] && v != eos);
                    new_fin[r] = finished[parent] || v == eos;
                }
            }
            /* the chosen words' log-probabilities, from their parents' log-sum-exp */
            for (int64_t r = 0; r < R; r++) {
                int64_t parent = rows[r];
                if (!finished[parent])
                    new_lp[r] = lp[parent] + (logits->data[parent * V + new_tok[r]] - row_max[parent] - row_logsum[parent]);
            }
            for (int64_t r = 0; r < R; r++) {
                tokens[steps * R + r] = new_tok[r];
                parents[steps * R + r] = rows[r];
                lp[r] = new_lp[r];
                len[r] = new_len[r];
                finished[r] = new_fin[r];
                all_done &= finished[r];
            }
        }
        /* the state for the next step, rows reordered by parent beam */
        for (int l = 0; l < L; l++) {
            copy_rows(s.h[l], h[l], rows);
            copy_rows(s.c[l], c[l], rows);
        }
        if (m->o.attention) copy_rows(s.att, att, rows);
        for (int64_t r = 0; r < R; r++) s.ids->data[r] = (tc_scalar)tokens[steps * R + r];
        tc_step_release(mark1);
        steps++;
        if (all_done) break;
    }
    /* the outputs: beam 0 of each sentence traced back through its parents */
    out->ids = calloc((size_t)B, sizeof *out->ids);
    out->len = calloc((size_t)B, sizeof *out->len);
    if (!out->ids || !out->len) {
        st = tc_error(TC_ERR_MEMORY, "seq2seq_decode: out of memory");
        goto done;
    }
    out->n = B;
    for (int64_t bi = 0; bi < B; bi++) {
        int32_t *seq = malloc(sizeof *seq * (size_t)(steps ? steps : 1));
        if (!seq) {
            st = tc_error(TC_ERR_MEMORY, "seq2seq_decode: out of memory");
            goto done;
        }
        int64_t r = bi * K;
        for (int64_t t = steps - 1; t >= 0; t--) {
            seq[t] = tokens[t * R + r];
            r = parents[t * R + r];
        }
        int64_t n = 0;
        while (n < steps && seq[n] != eos) n++;
        out->ids[bi] = seq;
        out->len[bi] = n;
    }
    if (attention) {
        *attention = att_rows;
        att_rows = NULL;
    }
done:
    tc_step_release(mark0);
    tc_set_grad_enabled(grad);
    if (st != TC_OK) tc_id_seqs_free(out);
    for (int64_t i = 0; att_rows && i < B; i++) free(att_rows[i]);
    free(att_rows);
    dstate_free(&s, (int)L);
    free(tokens);
    free(parents);
    free(rows);
    free(lp);
    free(row);
    free(row_max);
    free(row_logsum);
    free(len);
    free(finished);
    free(best);
    free(new_tok);
    free(new_lp);
    free(new_len);
    free(new_fin);
    return st;
}
