/* Keras' Attention (Luong, dot product) and AdditiveAttention (Bahdanau)
 * layers on tc_attention (attention.c). Inputs [query, value] or [query,
 * value, key] (the key defaults to the value). The value's mask masks the
 * keys; the query's mask zeroes the outputs of masked query steps and goes
 * on with the output, as in Keras. Weights: "scale" with use_scale (one
 * value for Attention, starting at 1; [D] for AdditiveAttention, glorot
 * uniform). */
#include "layer.h"

#include <math.h>

static bool is_additive(const tc_layer *l);

static tc_status attention_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char a[96], b[96], c[96];
    if (n_in != 2 && n_in != 3)
        return tc_error(TC_ERR_ARG, "%s (%s): takes [query, value] or [query, value, key], given %d inputs", l->name,
                        l->ops->type, n_in);
    const tc_shp *q = &in[0], *v = &in[1], *k = n_in == 3 ? &in[2] : &in[1];
    if (q->ndim != 2 || v->ndim != 2 || k->ndim != 2 || k->d[0] != v->d[0] || k->d[1] != q->d[1])
        return tc_error(TC_ERR_SHAPE, "%s (%s): query %s, value %s and key %s do not fit (need (Tq, D), (Tv, Dv), (Tv, D))",
                        l->name, l->ops->type, tc_shp_str(q, a, sizeof a), tc_shp_str(v, b, sizeof b),
                        tc_shp_str(k, c, sizeof c));
    if (l->o.attention.use_scale) {
        int64_t D = q->d[1];
        tc_tensor *s = is_additive(l) ? tc_layer_add_weight(l, "scale", 1, (int64_t[]){D}, true)
                                      : tc_layer_add_weight(l, "scale", 1, (int64_t[]){1}, true);
        if (!s) return tc_last_status();
        if (is_additive(l)) { /* Keras' glorot_uniform of a vector: fan_in = fan_out = D */
            tc_scalar lim = (tc_scalar)sqrt(3.0 / (double)D);
            tc_rng_uniform(rng, s->data, D, -lim, lim);
        } else {
            s->data[0] = 1;
        }
    }
    out->ndim = 2;
    out->d[0] = q->d[0];
    out->d[1] = v->d[1];
    return TC_OK;
}

/* the output carries the query's mask */
static tc_status attention_masks(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    out_from[0] = in_from[0];
    return TC_OK;
}

static tc_status attention_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                               tc_tensor **ymask)
{
    tc_tensor *q = x[0], *v = x[1], *k = n == 3 ? x[2] : x[1];
    tc_tensor *key_mask = mask ? (n == 3 && mask[2] ? mask[2] : mask[1]) : NULL;
    tc_attention_params p = {.score = is_additive(l) ? TC_SCORE_ADDITIVE : TC_SCORE_DOT, .causal = l->o.attention.causal};
    if (l->o.attention.use_scale) {
        if (is_additive(l)) p.additive_weights = l->w[0];
        else p.scale = l->w[0];
    }
    tc_tensor *out;
    tc_status s = tc_attention(q, k, v, key_mask, &p, &out, NULL);
    if (s != TC_OK) return s;
    tc_tensor *qm = mask ? mask[0] : NULL;
    if (qm && !(out = tc_mul(out, tc_reshape(qm, 3, (int64_t[]){qm->shape[0], qm->shape[1], 1})))) return tc_last_status();
    y[0] = out;
    ymask[0] = qm;
    return TC_OK;
}

static const tc_layer_ops dot_ops = {"Attention", "attention", attention_build, NULL, NULL, TC_MASK_OWN, attention_masks,
                                     attention_run};
static const tc_layer_ops additive_ops = {"AdditiveAttention", "additive_attention", attention_build, NULL, NULL,
                                          TC_MASK_OWN, attention_masks, attention_run};

static bool is_additive(const tc_layer *l) { return l->ops == &additive_ops; }

static tc_layer *make(const tc_layer_ops *ops, bool use_scale, bool causal, const char *name)
{
    tc_layer *l = tc_layer_alloc(ops, name);
    if (l) {
        l->o.attention.use_scale = use_scale;
        l->o.attention.causal = causal;
    }
    return l;
}

tc_layer *tc_attention_layer(bool use_scale, bool causal, const char *name) { return make(&dot_ops, use_scale, causal, name); }
tc_layer *tc_additive_attention_layer(bool use_scale, bool causal, const char *name)
{
    return make(&additive_ops, use_scale, causal, name);
}
