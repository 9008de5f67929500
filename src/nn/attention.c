/* Attention over a sequence of keys/values, written with tensorcook's
 * operations (the tape gives every gradient):
 *   scores [B, Tq, Tk]: Luong's dot product q k^T, or Bahdanau's additive
 *   sum_d w_d tanh(q_d + k_d); times a scale; masked keys and (causal)
 *   future keys get -1e9 before the softmax over the keys; the output is
 *   weights @ v [B, Tq, Dv].
 * The Keras layers Attention and AdditiveAttention (layers_attention.c) and
 * an NMT decoder (one query step at a time, Tq = 1) both use it. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/rnn.h"

#define MASKED_SCORE (-1e9f) /* as Keras: exp() of it is 0, and a row with every key masked stays finite */

static tc_status check(const tc_tensor *q, const tc_tensor *k, const tc_tensor *v, const tc_tensor *mask,
                       const tc_attention_params *p)
{
    if (!q || !k || !v) return tc_error(TC_ERR_ARG, "attention: query, key and value are required");
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] ||
        k->shape[2] != q->shape[2] || v->shape[1] != k->shape[1])
        return tc_error(TC_ERR_SHAPE, "attention: query %s, key %s and value %s do not fit (need [B, Tq, D], [B, Tk, D], "
                                      "[B, Tk, Dv])", TC_SHP(q), TC_SHP(k), TC_SHP(v));
    if (mask && (mask->ndim != 2 || mask->shape[0] != q->shape[0] || mask->shape[1] != k->shape[1]))
        return tc_error(TC_ERR_SHAPE, "attention: key mask %s must be [%lld, %lld]", TC_SHP(mask), (long long)q->shape[0],
                        (long long)k->shape[1]);
    if (p && p->score == TC_SCORE_ADDITIVE && p->additive_weights &&
        (p->additive_weights->ndim != 1 || p->additive_weights->shape[0] != q->shape[2]))
        return tc_error(TC_ERR_SHAPE, "attention: additive weights %s must be [%lld]", TC_SHP(p->additive_weights),
                        (long long)q->shape[2]);
    if (p && p->scale && tc_numel(p->scale) != 1)
        return tc_error(TC_ERR_SHAPE, "attention: scale %s must hold one value", TC_SHP(p->scale));
    return TC_OK;
}

/* [B, Tq, Tk] scores before masking */
static tc_tensor *scores(tc_tensor *q, tc_tensor *k, const tc_attention_params *p)
{
    int64_t B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1], D = q->shape[2];
    tc_tensor *s;
    if (p->score == TC_SCORE_ADDITIVE) { /* [B, Tq, 1, D] + [B, 1, Tk, D] -> tanh -> weighted sum over D */
        tc_tensor *t = tc_tanh(tc_add(tc_reshape(q, 4, (int64_t[]){B, Tq, 1, D}), tc_reshape(k, 4, (int64_t[]){B, 1, Tk, D})));
        if (p->additive_weights) t = tc_mul(t, p->additive_weights);
        s = tc_sum(t, 1, (int[]){3}, false);
    } else {
        s = tc_matmul(q, tc_transpose(k, (int[]){0, 2, 1}));
    }
    if (s && p->scale) s = tc_mul(s, tc_reshape(p->scale, 1, (int64_t[]){1}));
    if (s && p->scale_value != 0) s = tc_mul_scalar(s, (tc_scalar)p->scale_value);
    return s;
}

tc_status tc_attention(tc_tensor *q, tc_tensor *k, tc_tensor *v, tc_tensor *key_mask, const tc_attention_params *params,
                       tc_tensor **out, tc_tensor **weights)
{
    static const tc_attention_params defaults = {0};
    const tc_attention_params *p = params ? params : &defaults;
    tc_status st = check(q, k, v, key_mask, p);
    if (st) return st;
    if (!out && !weights) return tc_error(TC_ERR_ARG, "attention: no output asked for");
    int64_t B = q->shape[0], Tq = q->shape[1], Tk = k->shape[1];
    tc_tensor *s = scores(q, k, p);
    if (s && key_mask) { /* (mask - 1) * 1e9: 0 where kept, -1e9 where masked */
        tc_tensor *bias = tc_mul_scalar(tc_add_scalar(key_mask, -1), -MASKED_SCORE);
        s = bias ? tc_add(s, tc_reshape(bias, 3, (int64_t[]){B, 1, Tk})) : NULL;
    }
    if (s && p->causal) { /* query i sees keys 0 .. i (Keras' use_causal_mask) */
        tc_tensor *future = tc_zeros(TC_SHAPE(Tq, Tk));
        if (!future) return tc_last_status();
        for (int64_t i = 0; i < Tq; i++)
            for (int64_t j = i + 1; j < Tk; j++) future->data[i * Tk + j] = MASKED_SCORE;
        s = tc_add(s, future);
    }
    tc_tensor *w = s ? tc_softmax(s, -1) : NULL;
    if (!w) return tc_last_status();
    if (weights) *weights = w;
    if (out && !(*out = tc_matmul(w, v))) return tc_last_status();
    return TC_OK;
}
