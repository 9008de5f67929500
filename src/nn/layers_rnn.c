/* Recurrent layers (Keras' LSTM, GRU, SimpleRNN) and RepeatVector.
 * Weights as Keras names them: kernel [in, gates*units], recurrent_kernel
 * [units, gates*units], bias; initialised glorot-uniform, orthogonal and
 * zeros (LSTM: forget-gate bias 1 with unit_forget_bias); with input_vocab
 * the inputs are ids read as one-hot vectors. Dense applied to
 * a [batch, time, features] tensor works on every step (TimeDistributed). */
#include "layer.h"
#include "tensorcook/rnn.h"

#include <math.h>

typedef enum { K_LSTM, K_GRU, K_SIMPLE } rnn_kind;
static const int gate_count[3] = {4, 3, 1};

/* sum of a[k] * b[k] in double over 8 independent partial sums: one
 * chain of dependent additions was the whole cost of initialising a large
 * layer (3 x LSTM 512: seconds); the float result it is rounded to is the
 * same but for a last-bit tie in ~2^-29 of the cases */
static double dot8(const tc_scalar *a, const tc_scalar *b, int64_t n)
{
    double acc[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)a[k + j] * b[k + j];
    double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < n; k++) s += (double)a[k] * b[k];
    return s;
}

/* rows of w [units, n] made orthonormal (Gram-Schmidt on a normal draw) */
static void orthogonal(tc_tensor *w, tc_rng *rng)
{
    int64_t rows = w->shape[0], cols = w->shape[1];
    tc_rng_normal(rng, w->data, rows * cols, 0, 1);
    for (int64_t i = 0; i < rows && i < cols; i++) {
        tc_scalar *ri = w->data + i * cols;
        for (int64_t j = 0; j < i; j++) {
            const tc_scalar *rj = w->data + j * cols;
            double dot = dot8(ri, rj, cols);
            for (int64_t k = 0; k < cols; k++) ri[k] -= (tc_scalar)dot * rj[k];
        }
        double norm = dot8(ri, ri, cols);
        norm = sqrt(norm);
        for (int64_t k = 0; k < cols; k++) ri[k] = norm > 0 ? (tc_scalar)(ri[k] / norm) : 0;
    }
}

static rnn_kind kind_of(const tc_layer *l);
static int state_count(const tc_layer *l) { return kind_of(l) == K_LSTM ? 2 : 1; }
static const char *const state_names[2] = {"h0", "c0"};

/* inputs: [x] or [x, h0] / [x, h0, c0] with the initial states */
static tc_status check_inputs(const tc_layer *l, int n_in, const tc_shp *in)
{
    char a[96], b[96];
    int ns = state_count(l);
    if (n_in != 1 && n_in != 1 + ns)
        return tc_error(TC_ERR_ARG, "%s (%s): takes [x] or [x, %s] (the initial state%s), given %d inputs", l->name,
                        l->ops->type, ns == 2 ? "h0, c0" : "h0", ns == 2 ? "s" : "", n_in);
    if (l->o.rnn.input_vocab > 0 && in->ndim != 1)
        return tc_error(TC_ERR_SHAPE, "%s (%s): input %s must be (timesteps) of ids (input_vocab %d)", l->name, l->ops->type,
                        tc_shp_str(in, a, sizeof a), l->o.rnn.input_vocab);
    if (l->o.rnn.input_vocab <= 0 && in->ndim != 2)
        return tc_error(TC_ERR_SHAPE, "%s (%s): input %s must be (timesteps, features)", l->name, l->ops->type,
                        tc_shp_str(in, a, sizeof a));
    tc_shp want = {1, {l->o.rnn.units}};
    for (int i = 1; i < n_in; i++)
        if (in[i].ndim != 1 || in[i].d[0] != l->o.rnn.units)
            return tc_error(TC_ERR_SHAPE, "%s (%s): initial state %s %s must be %s (units)", l->name, l->ops->type,
                            state_names[i - 1], tc_shp_str(&in[i], a, sizeof a), tc_shp_str(&want, b, sizeof b));
    return TC_OK;
}

static tc_status rnn_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    if (check_inputs(l, n_in, in) != TC_OK) return tc_last_status();
    rnn_kind k = kind_of(l);
    int64_t H = l->o.rnn.units, G = gate_count[k];
    int64_t I = l->o.rnn.input_vocab > 0 ? l->o.rnn.input_vocab : in->d[1];
    tc_tensor *kern = tc_layer_add_weight(l, "kernel", 2, (int64_t[]){I, G * H}, true);
    tc_tensor *rec = tc_layer_add_weight(l, "recurrent_kernel", 2, (int64_t[]){H, G * H}, true);
    tc_tensor *bias = k == K_GRU && l->o.rnn.reset_after ? tc_layer_add_weight(l, "bias", 2, (int64_t[]){2, 3 * H}, true)
                                                         : tc_layer_add_weight(l, "bias", 1, (int64_t[]){G * H}, true);
    if (!kern || !rec || !bias) return tc_last_status();
    tc_glorot_uniform(kern, rng);
    orthogonal(rec, rng);
    if (k == K_LSTM && l->o.rnn.unit_forget_bias)
        for (int64_t j = H; j < 2 * H; j++) bias->data[j] = 1;
    if (k == K_LSTM && l->o.rnn.peephole) {
        tc_tensor *p = tc_layer_add_weight(l, "peephole_weights", 1, (int64_t[]){3 * H}, true);
        if (!p) return tc_last_status();
        tc_rng_uniform(rng, p->data, 3 * H, -0.1f, 0.1f);
    }
    l->dropout_rng = tc_rng_new(tc_rng_u32(rng) ^ ((uint64_t)tc_rng_u32(rng) << 32));
    l->has_rng = true;
    out->ndim = l->o.rnn.return_sequences ? 2 : 1;
    out->d[0] = l->o.rnn.return_sequences ? in->d[0] : H;
    out->d[1] = H;
    if (l->o.rnn.return_state) {
        l->n_out = 1 + state_count(l);
        for (int i = 1; i < l->n_out; i++) out[i] = (tc_shp){1, {H}};
    }
    return TC_OK;
}

/* The sequence's mask goes on with the output sequence; the last output
 * and the states have none (Keras). */
static tc_status rnn_masks(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    char b[96];
    for (int i = 1; i < n_in; i++)
        if (in_from[i] >= 0)
            return tc_error(TC_ERR_ARG, "%s (%s): initial state %s %s carries a mask; only the sequence may", l->name,
                            l->ops->type, state_names[i - 1], tc_shp_str(&in[i], b, sizeof b));
    out_from[0] = l->o.rnn.return_sequences ? in_from[0] : -1;
    return TC_OK;
}

/* x[0] the sequence, x[1..] the initial states (n 1: zeros); mask the
 * sequence's [B, T] mask or NULL. */
static tc_status rnn_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                         tc_tensor **ymask)
{
    const tc_rnn_opts *o = &l->o.rnn;
    tc_tensor *seq = NULL, *h = NULL, *c = NULL;
    tc_tensor **want = o->return_sequences ? &seq : NULL;
    tc_tensor *h0 = n > 1 ? x[1] : NULL, *m = mask ? mask[0] : NULL;
    /* ids read as one-hot vectors: x @ kernel is the kernel's row of each id */
    tc_tensor *in = o->input_vocab > 0 ? tc_gather(l->w[0], x[0], 0) : x[0], *kern = o->input_vocab > 0 ? NULL : l->w[0];
    if (!in) return tc_last_status();
    tc_status s;
    switch (kind_of(l)) {
    case K_LSTM: {
        tc_lstm_params p = {.gates = TC_GATES_IFCO, .forget_bias = o->forget_bias, .reverse = o->go_backwards,
                            .hard_sigmoid = o->hard_sigmoid};
        s = tc_lstm(in, kern, l->w[1], l->w[2], o->peephole ? l->w[3] : NULL, h0, n > 2 ? x[2] : NULL, m, &p, want, &h,
                    o->return_state ? &c : NULL);
        break;
    }
    case K_GRU:
        s = tc_gru(in, kern, l->w[1], l->w[2], h0, m, &(tc_gru_params){.reset_after = o->reset_after, .reverse = o->go_backwards,
                                                                 .hard_sigmoid = o->hard_sigmoid},
                   want, &h);
        break;
    default:
        s = tc_simple_rnn(in, kern, l->w[1], l->w[2], h0, m, l->act, o->go_backwards, want, &h);
        break;
    }
    if (s != TC_OK) return s;
    y[0] = o->return_sequences ? seq : h;
    if (o->dropout > 0 && !(y[0] = tc_dropout(y[0], (tc_scalar)o->dropout, training, &l->dropout_rng))) return tc_last_status();
    ymask[0] = o->return_sequences ? m : NULL;
    if (o->return_state) {
        y[1] = h;
        if (c) y[2] = c;
        for (int i = 1; i < l->n_out; i++) ymask[i] = NULL;
    }
    return TC_OK;
}

static const tc_layer_ops lstm_ops = {"LSTM", "lstm", rnn_build, NULL, NULL, TC_MASK_OWN, rnn_masks, rnn_run};
static const tc_layer_ops gru_ops = {"GRU", "gru", rnn_build, NULL, NULL, TC_MASK_OWN, rnn_masks, rnn_run};
static const tc_layer_ops simple_ops = {"SimpleRNN", "simple_rnn", rnn_build, NULL, NULL, TC_MASK_OWN, rnn_masks, rnn_run};

static rnn_kind kind_of(const tc_layer *l) { return l->ops == &lstm_ops ? K_LSTM : l->ops == &gru_ops ? K_GRU : K_SIMPLE; }

static tc_layer *rnn_layer(const tc_layer_ops *ops, const tc_rnn_opts *o)
{
    if (!o || o->units < 1 || o->dropout < 0 || o->dropout >= 1 || o->input_vocab < 0) {
        tc_layer_ctor_error("%s: units must be at least 1, dropout in [0, 1) and input_vocab >= 0", ops->type);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(ops, o->name);
    if (!l) return NULL;
    l->o.rnn = *o;
    l->o.rnn.name = NULL;
    l->act = ops == &simple_ops && o->act == TC_LINEAR ? TC_TANH : o->act;
    if (o->input_shape[0] > 0) {
        l->has_input_shape = true;
        l->input_shape = o->input_vocab > 0 ? (tc_shp){1, {o->input_shape[0]}} : (tc_shp){2, {o->input_shape[0], o->input_shape[1]}};
    }
    return l;
}
const tc_rnn_opts *tc_rnn_layer_opts(const tc_layer *l)
{
    return l && (l->ops == &lstm_ops || l->ops == &gru_ops || l->ops == &simple_ops) ? &l->o.rnn : NULL;
}
tc_layer *tc_lstm_layer(const tc_rnn_opts *o) { return rnn_layer(&lstm_ops, o); }
tc_layer *tc_gru_layer(const tc_rnn_opts *o) { return rnn_layer(&gru_ops, o); }
tc_layer *tc_simple_rnn_layer(const tc_rnn_opts *o) { return rnn_layer(&simple_ops, o); }

/* ---- RepeatVector -------------------------------------------------------------------- */
static tc_status repeat_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1 || in->ndim != 1)
        return tc_error(TC_ERR_SHAPE, "%s (RepeatVector): input %s must be (features)", l->name,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    out->ndim = 2;
    out->d[0] = l->o.axis;
    out->d[1] = in->d[0];
    return TC_OK;
}
static tc_tensor *repeat_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_tensor *r = tc_reshape(x[0], 3, (int64_t[]){x[0]->shape[0], 1, x[0]->shape[1]});
    return tc_tile(r, (int64_t[]){1, l->o.axis, 1});
}
static const tc_layer_ops repeat_ops = {"RepeatVector", "repeat_vector", repeat_build, repeat_call};
tc_layer *tc_repeat_vector(int n, const char *name)
{
    if (n < 1) {
        tc_layer_ctor_error("RepeatVector: n %d must be at least 1", n);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&repeat_ops, name);
    if (l) l->o.axis = n;
    return l;
}

/* ---- Bidirectional ----------------------------------------------------------------------
 * Two copies of an RNN layer, the second reading the sequence backwards;
 * outputs concatenated on the feature axis (Keras' merge_mode "concat").
 * The inner layers' weights are moved into the wrapper, named
 * forward_NAME/kernel, backward_NAME/kernel, ... like Keras'. Inputs
 * [x] or [x, forward states..., backward states...]; with return_state the
 * outputs are [output, forward states..., backward states...]. A mask
 * reaches both directions: the backward layer starts at the last step, so
 * right-padded steps come first, and the zero state is carried through
 * them to the last real step. */

/* which of the wrapper's inputs inner layer k gets: x, then its initial states */
static int bidi_pick(const tc_layer *l, int k, int n_in, int *idx)
{
    int ns = state_count(l->inner[0]), n = 0;
    idx[n++] = 0;
    for (int i = 0; n_in > 1 && i < ns; i++) idx[n++] = 1 + k * ns + i;
    return n;
}

static tc_status bidi_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    int ns = state_count(l->inner[0]);
    if (n_in != 1 && n_in != 1 + 2 * ns)
        return tc_error(TC_ERR_ARG, "%s (Bidirectional): takes [x] or [x, %s] (the forward layer's initial state%s, then "
                                    "the backward one's), given %d inputs", l->name,
                        ns == 2 ? "h0, c0, h0, c0" : "h0, h0", ns == 2 ? "s" : "", n_in);
    tc_shp o[2][TC_LAYER_MAX_OUTPUTS] = {{{0}}};
    for (int k = 0; k < 2; k++) {
        tc_layer *r = l->inner[k];
        tc_shp rin[3];
        int idx[3], rn = bidi_pick(l, k, n_in, idx);
        for (int i = 0; i < rn; i++) rin[i] = in[idx[i]];
        snprintf(r->name, sizeof r->name, "%s_%s", k ? "backward" : "forward", r->ops->prefix);
        r->n_out = 1;
        if (r->ops->build(r, rn, rin, o[k], rng) != TC_OK) {
            char inner[600];
            snprintf(inner, sizeof inner, "%s", tc_last_error());
            return tc_error(tc_last_status(), "%s (Bidirectional): %s", l->name, inner);
        }
        r->built = true;
        memcpy(r->out, o[k], sizeof o[k]);
        for (int i = 0; i < r->n_weights; i++) {
            if (l->n_weights == TC_LAYER_MAX_WEIGHTS) return tc_error(TC_ERR_STATE, "%s (Bidirectional): too many weights", l->name);
            int j = l->n_weights++;
            l->w[j] = r->w[i];
            l->w_trainable[j] = r->w_trainable[i];
            if (snprintf(l->wname[j], sizeof l->wname[j], "%s/%s", r->name, r->wname[i]) >= (int)sizeof l->wname[j])
                return tc_error(TC_ERR_ARG, "%s (Bidirectional): weight name %s/%s too long", l->name, r->name, r->wname[i]);
        }
        r->n_weights = 0; /* owned by the wrapper now; r->w still points at them */
    }
    out[0] = o[0][0];
    out[0].d[out[0].ndim - 1] *= 2;
    if (l->inner[0]->o.rnn.return_state) {
        l->n_out = 1 + 2 * ns;
        for (int i = 0; i < ns; i++) {
            out[1 + i] = o[0][1 + i];
            out[1 + ns + i] = o[1][1 + i];
        }
    }
    return TC_OK;
}

static tc_status bidi_masks(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    char b[96];
    for (int i = 1; i < n_in; i++)
        if (in_from[i] >= 0)
            return tc_error(TC_ERR_ARG, "%s (Bidirectional): initial state %d %s carries a mask; only the sequence may",
                            l->name, i, tc_shp_str(&in[i], b, sizeof b));
    out_from[0] = l->inner[0]->o.rnn.return_sequences ? in_from[0] : -1;
    return TC_OK;
}

static tc_status bidi_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                          tc_tensor **ymask)
{
    int ns = state_count(l->inner[0]);
    tc_tensor *ry[2][TC_LAYER_MAX_OUTPUTS] = {{0}}, *rm[2][TC_LAYER_MAX_OUTPUTS] = {{0}};
    for (int k = 0; k < 2; k++) {
        tc_tensor *rx[3];
        int idx[3], rn = bidi_pick(l, k, n, idx);
        for (int i = 0; i < rn; i++) rx[i] = x[idx[i]];
        tc_status s = rnn_run(l->inner[k], rn, rx, mask, training, ry[k], rm[k]); /* mask[0] is the sequence's */
        if (s != TC_OK) return s;
    }
    if (!(y[0] = tc_concat(2, (tc_tensor *[]){ry[0][0], ry[1][0]}, -1))) return tc_last_status();
    ymask[0] = rm[0][0];
    for (int i = 0; l->n_out > 1 && i < ns; i++) {
        y[1 + i] = ry[0][1 + i];
        y[1 + ns + i] = ry[1][1 + i];
    }
    return TC_OK;
}

static const tc_layer_ops bidi_ops = {"Bidirectional", "bidirectional", bidi_build, NULL, NULL, TC_MASK_OWN, bidi_masks,
                                      bidi_run};

tc_layer *tc_bidirectional(tc_layer *rnn, const char *name)
{
    if (!rnn || (rnn->ops != &lstm_ops && rnn->ops != &gru_ops && rnn->ops != &simple_ops) || rnn->built || rnn->owned) {
        tc_layer_ctor_error("Bidirectional: needs a new LSTM, GRU or SimpleRNN layer");
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&bidi_ops, name);
    tc_layer *back = l ? tc_layer_alloc(rnn->ops, NULL) : NULL;
    if (!l || !back) {
        tc_layer_free(l);
        return NULL;
    }
    back->o.rnn = rnn->o.rnn;
    back->o.rnn.go_backwards = !rnn->o.rnn.go_backwards;
    back->act = rnn->act;
    l->inner[0] = rnn;
    l->inner[1] = back;
    rnn->owned = back->owned = true; /* freed with the wrapper */
    l->has_input_shape = rnn->has_input_shape;
    l->input_shape = rnn->input_shape;
    return l;
}
