/* Recurrent layers (Keras' LSTM, GRU, SimpleRNN) and RepeatVector.
 * Weights as Keras names them: kernel [in, gates*units], recurrent_kernel
 * [units, gates*units], bias; initialised glorot-uniform, orthogonal and
 * zeros (LSTM: forget-gate bias 1 with unit_forget_bias). Dense applied to
 * a [batch, time, features] tensor works on every step (TimeDistributed). */
#include "layer.h"
#include "tensorcook/rnn.h"

#include <math.h>

typedef enum { K_LSTM, K_GRU, K_SIMPLE } rnn_kind;
static const int gate_count[3] = {4, 3, 1};

/* rows of w [units, n] made orthonormal (Gram-Schmidt on a normal draw) */
static void orthogonal(tc_tensor *w, tc_rng *rng)
{
    int64_t rows = w->shape[0], cols = w->shape[1];
    tc_rng_normal(rng, w->data, rows * cols, 0, 1);
    for (int64_t i = 0; i < rows && i < cols; i++) {
        tc_scalar *ri = w->data + i * cols;
        for (int64_t j = 0; j < i; j++) {
            const tc_scalar *rj = w->data + j * cols;
            double dot = 0;
            for (int64_t k = 0; k < cols; k++) dot += (double)ri[k] * rj[k];
            for (int64_t k = 0; k < cols; k++) ri[k] -= (tc_scalar)dot * rj[k];
        }
        double norm = 0;
        for (int64_t k = 0; k < cols; k++) norm += (double)ri[k] * ri[k];
        norm = sqrt(norm);
        for (int64_t k = 0; k < cols; k++) ri[k] = norm > 0 ? (tc_scalar)(ri[k] / norm) : 0;
    }
}

static rnn_kind kind_of(const tc_layer *l);

static tc_status rnn_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1 || in->ndim != 2)
        return tc_error(TC_ERR_SHAPE, "%s (%s): input %s must be (timesteps, features)", l->name, l->ops->type,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    rnn_kind k = kind_of(l);
    int64_t H = l->o.rnn.units, G = gate_count[k];
    tc_tensor *kern = tc_layer_add_weight(l, "kernel", 2, (int64_t[]){in->d[1], G * H}, true);
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
    out->ndim = l->o.rnn.return_sequences ? 2 : 1;
    out->d[0] = l->o.rnn.return_sequences ? in->d[0] : H;
    out->d[1] = H;
    return TC_OK;
}

static tc_tensor *rnn_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    const tc_rnn_opts *o = &l->o.rnn;
    tc_tensor *seq = NULL, *h = NULL;
    tc_tensor **want = o->return_sequences ? &seq : NULL;
    tc_status s;
    switch (kind_of(l)) {
    case K_LSTM: {
        tc_lstm_params p = {.gates = TC_GATES_IFCO, .forget_bias = o->forget_bias, .reverse = o->go_backwards};
        s = tc_lstm(x[0], l->w[0], l->w[1], l->w[2], o->peephole ? l->w[3] : NULL, NULL, NULL, NULL, &p, want, &h, NULL);
        break;
    }
    case K_GRU:
        s = tc_gru(x[0], l->w[0], l->w[1], l->w[2], NULL, NULL, &(tc_gru_params){o->reset_after, o->go_backwards}, want, &h);
        break;
    default:
        s = tc_simple_rnn(x[0], l->w[0], l->w[1], l->w[2], NULL, NULL, l->act, o->go_backwards, want, &h);
        break;
    }
    if (s != TC_OK) return NULL;
    tc_tensor *y = o->return_sequences ? seq : h;
    return o->dropout > 0 ? tc_dropout(y, (tc_scalar)o->dropout, training, &l->dropout_rng) : y;
}

static const tc_layer_ops lstm_ops = {"LSTM", "lstm", rnn_build, rnn_call};
static const tc_layer_ops gru_ops = {"GRU", "gru", rnn_build, rnn_call};
static const tc_layer_ops simple_ops = {"SimpleRNN", "simple_rnn", rnn_build, rnn_call};

static rnn_kind kind_of(const tc_layer *l) { return l->ops == &lstm_ops ? K_LSTM : l->ops == &gru_ops ? K_GRU : K_SIMPLE; }

static tc_layer *rnn_layer(const tc_layer_ops *ops, const tc_rnn_opts *o)
{
    if (!o || o->units < 1 || o->dropout < 0 || o->dropout >= 1) {
        tc_layer_ctor_error("%s: units must be at least 1 and dropout in [0, 1)", ops->type);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(ops, o->name);
    if (!l) return NULL;
    l->o.rnn = *o;
    l->o.rnn.name = NULL;
    l->act = ops == &simple_ops && o->act == TC_LINEAR ? TC_TANH : o->act;
    if (o->input_shape[0] > 0) {
        l->has_input_shape = true;
        l->input_shape = (tc_shp){2, {o->input_shape[0], o->input_shape[1]}};
    }
    return l;
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
 * forward_NAME/kernel, backward_NAME/kernel, ... like Keras'. */
static tc_status bidi_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    tc_shp o[2];
    for (int k = 0; k < 2; k++) {
        tc_layer *r = l->inner[k];
        snprintf(r->name, sizeof r->name, "%s_%s", k ? "backward" : "forward", r->ops->prefix);
        if (r->ops->build(r, n_in, in, &o[k], rng) != TC_OK) {
            char inner[600];
            snprintf(inner, sizeof inner, "%s", tc_last_error());
            return tc_error(tc_last_status(), "%s (Bidirectional): %s", l->name, inner);
        }
        r->built = true;
        r->out = o[k];
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
    *out = o[0];
    out->d[out->ndim - 1] *= 2;
    return TC_OK;
}

static tc_tensor *bidi_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_tensor *y[2];
    for (int k = 0; k < 2; k++)
        if (!(y[k] = rnn_call(l->inner[k], n, x, training))) return NULL;
    return tc_concat(2, y, -1);
}

static const tc_layer_ops bidi_ops = {"Bidirectional", "bidirectional", bidi_build, bidi_call};

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
