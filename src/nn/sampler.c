/* Generation one token at a time: a sequential model stepped with its
 * recurrent layers' states kept between steps (see rnn.h). Two ways to run
 * a step, chosen when the batch is set:
 *   - batch 1, LSTMs without peepholes: prepared weights (an LSTM stepper
 *     per layer, a packed row-vector product per dense layer) on plain
 *     buffers, so a token costs the weight reads and nothing else;
 *   - otherwise the layers' own ops (tc_lstm/tc_gru/tc_simple_rnn on one
 *     step, tc_linear, tc_gather) in inference mode, released after the step. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>

typedef enum { S_LSTM, S_GRU, S_SIMPLE, S_EMBED, S_DENSE, S_ACT, S_SKIP } stage_kind;

typedef struct {
    tc_layer *l;
    stage_kind kind;
    int64_t in, out;            /* widths: input features (or vocabulary for ids), output */
    bool ids_in;                /* reads the token ids */
    tc_tensor *state[2];        /* long-lived [batch, units]: h (and c) */
    tc_lstm_stepper *stepper;   /* the batch-1 path */
    tc_gemv_plan *plan;
} stage;

struct tc_sampler {
    int n;
    stage *st;
    int batch;
    bool probs_out, fast;
    tc_precision precision;     /* of the batch-1 path's weights; the general path is float */
    int64_t vocab_in, vocab_out;
    tc_tensor *probs;           /* [batch, vocab_out] */
    tc_scalar *buf[2];          /* the batch-1 path's activations, ping-pong */
};

static stage_kind kind_of(const tc_layer *l)
{
    const char *t = tc_layer_type(l);
    return !strcmp(t, "LSTM") ? S_LSTM : !strcmp(t, "GRU") ? S_GRU : !strcmp(t, "SimpleRNN") ? S_SIMPLE
         : !strcmp(t, "Embedding") ? S_EMBED : !strcmp(t, "Dense") ? S_DENSE : !strcmp(t, "Activation") ? S_ACT
         : !strcmp(t, "Dropout") ? S_SKIP : (stage_kind)-1;
}
static bool recurrent(stage_kind k) { return k == S_LSTM || k == S_GRU || k == S_SIMPLE; }

static void free_fast(tc_sampler *s)
{
    for (int i = 0; i < s->n; i++) {
        tc_lstm_stepper_free(s->st[i].stepper);
        tc_gemv_plan_free(s->st[i].plan);
        s->st[i].stepper = NULL, s->st[i].plan = NULL;
    }
    free(s->buf[0]), free(s->buf[1]);
    s->buf[0] = s->buf[1] = NULL;
}

void tc_sampler_free(tc_sampler *s)
{
    if (!s) return;
    free_fast(s);
    for (int i = 0; i < s->n; i++) tc_tensor_free(s->st[i].state[0]), tc_tensor_free(s->st[i].state[1]);
    tc_tensor_free(s->probs);
    free(s->st);
    free(s);
}

tc_sampler *tc_sampler_new(tc_model *m, const tc_sampler_opts *o)
{
    if (!m) return tc_error(TC_ERR_ARG, "sampler: model is NULL"), NULL;
    if (!tc_model_is_sequential(m))
        return tc_error(TC_ERR_ARG, "sampler: model '%s' is not sequential (a chain of layers)", tc_model_name(m)), NULL;
    tc_sampler *s = calloc(1, sizeof *s);
    if (s) s->st = calloc((size_t)tc_model_layer_count(m) + 1, sizeof *s->st);
    if (!s || !s->st) {
        free(s);
        return tc_error(TC_ERR_MEMORY, "sampler: out of memory"), NULL;
    }
    s->probs_out = o && o->outputs_probabilities;
    s->precision = o ? o->precision : TC_PRECISION_FP32;
    int64_t width = 0;
    for (int i = 0; i < tc_model_layer_count(m); i++) {
        tc_layer *l = tc_model_layer_at(m, i);
        stage *g = &s->st[s->n];
        g->l = l;
        g->kind = kind_of(l);
        const char *why = NULL;
        if ((int)g->kind < 0) why = "cannot be stepped one token at a time";
        else if (recurrent(g->kind) && l->o.rnn.go_backwards) why = "runs backwards";
        else if (recurrent(g->kind) && l->o.rnn.return_state) why = "returns its states (a functional model's layer)";
        if (why) {
            tc_sampler_free(s);
            return tc_error(TC_ERR_ARG, "sampler: layer %s (%s) %s", l->name, tc_layer_type(l), why), NULL;
        }
        if (g->kind == S_SKIP) continue;
        g->ids_in = g->kind == S_EMBED || (recurrent(g->kind) && l->o.rnn.input_vocab > 0);
        if (g->ids_in != (s->n == 0)) {
            tc_error(TC_ERR_ARG, "sampler: %s (%s) %s", l->name, tc_layer_type(l),
                     s->n ? "reads ids but is not the first layer"
                          : "is the first layer but does not read token ids (use an Embedding or an RNN with input_vocab)");
            tc_sampler_free(s);
            return NULL;
        }
        g->in = g->ids_in ? l->w[0]->shape[0] : width;
        g->out = g->kind == S_ACT ? width : g->kind == S_EMBED ? l->w[0]->shape[1] : recurrent(g->kind) ? l->o.rnn.units
                                                                                                       : l->w[0]->shape[1];
        width = g->out;
        s->n++;
    }
    if (!s->n) {
        tc_sampler_free(s);
        return tc_error(TC_ERR_ARG, "sampler: model '%s' has no layer to step", tc_model_name(m)), NULL;
    }
    s->vocab_in = s->st[0].in;
    s->vocab_out = width;
    if (tc_sampler_reset(s, 1) != TC_OK) {
        tc_sampler_free(s);
        return NULL;
    }
    return s;
}

/* The batch-1 path's prepared weights; false (no error) when a layer needs the general path. */
static bool prepare_fast(tc_sampler *s)
{
    int64_t widest = 0;
    for (int i = 0; i < s->n; i++) {
        stage *g = &s->st[i];
        if (g->kind == S_GRU || g->kind == S_SIMPLE || (g->kind == S_LSTM && (g->l->o.rnn.peephole || g->l->o.rnn.hard_sigmoid)))
            return false;
        widest = g->out > widest ? g->out : widest;
    }
    for (int i = 0; i < s->n; i++) {
        stage *g = &s->st[i];
        tc_layer *l = g->l;
        if (g->kind == S_LSTM) {
            tc_lstm_params p = {.gates = TC_GATES_IFCO, .forget_bias = l->o.rnn.forget_bias};
            if (!(g->stepper = tc_lstm_stepper_new_prec(l->w[0], l->w[1], l->w[2], &p, g->ids_in, s->precision))) return false;
        } else if (g->kind == S_DENSE && !(g->plan = tc_gemv_plan_new_prec(g->in, g->out, l->w[0]->data, g->out, NULL, 0, s->precision))) {
            return false;
        }
    }
    int64_t n = (widest + TC_GEMV_PANEL - 1) / TC_GEMV_PANEL * TC_GEMV_PANEL;
    s->buf[0] = calloc((size_t)n, sizeof(tc_scalar));
    s->buf[1] = calloc((size_t)n, sizeof(tc_scalar));
    return s->buf[0] && s->buf[1];
}

tc_status tc_sampler_reset(tc_sampler *s, int batch)
{
    if (!s || batch < 1) return tc_error(TC_ERR_ARG, "sampler_reset: needs a sampler and batch >= 1");
    if (batch != s->batch) {
        for (int i = 0; i < s->n; i++) {
            stage *g = &s->st[i];
            for (int k = 0; k < 2; k++) {
                tc_tensor_free(g->state[k]);
                g->state[k] = NULL;
                if (recurrent(g->kind) && (k == 0 || g->kind == S_LSTM) && !(g->state[k] = tc_tensor_new(TC_SHAPE(batch, g->out))))
                    return tc_last_status();
            }
        }
        tc_tensor_free(s->probs);
        if (!(s->probs = tc_tensor_new(TC_SHAPE(batch, s->vocab_out)))) return tc_last_status();
        free_fast(s);
        s->batch = batch;
        /* a layer the batch-1 path does not cover (or no memory for it): the general path serves */
        if (!(s->fast = batch == 1 && prepare_fast(s))) free_fast(s);
    }
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < 2; k++)
            if (s->st[i].state[k]) memset(s->st[i].state[k]->data, 0, sizeof(tc_scalar) * (size_t)tc_numel(s->st[i].state[k]));
    return TC_OK;
}

/* probabilities from logits in place, in double for the sums */
static void softmax_rows(tc_scalar *x, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; r++, x += n) {
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++) m = fmax(m, x[j]);
        for (int64_t j = 0; j < n; j++) sum += exp((double)x[j] - m);
        for (int64_t j = 0; j < n; j++) x[j] = (tc_scalar)(exp((double)x[j] - m) / sum);
    }
}

static tc_status fast_step(tc_sampler *s, int64_t token)
{
    const tc_scalar *x = NULL;
    int which = 0;
    for (int i = 0; i < s->n; i++) {
        stage *g = &s->st[i];
        tc_layer *l = g->l;
        tc_scalar *y = s->buf[which];
        tc_status st = TC_OK;
        switch (g->kind) {
        case S_LSTM:
            st = g->ids_in ? tc_lstm_stepper_step_id(g->stepper, token, g->state[0]->data, g->state[1]->data)
                           : tc_lstm_stepper_step(g->stepper, x, g->state[0]->data, g->state[1]->data);
            x = g->state[0]->data;
            break;
        case S_EMBED:
            x = l->w[0]->data + token * g->out;
            break;
        case S_DENSE:
            tc_gemv_run(g->plan, x, y);
            if (!l->o.dense.no_bias)
                for (int64_t j = 0; j < g->out; j++) y[j] += l->w[1]->data[j];
            __attribute__((fallthrough)); /* to the layer's activation */
        case S_ACT:
            if (g->kind == S_ACT) memcpy(y, x, sizeof(tc_scalar) * (size_t)g->out);
            if (l->act != TC_LINEAR) {
                tc_tensor *t = tc_activate(tc_copy_of(y, TC_SHAPE(1, g->out)), l->act);
                st = t ? tc_read_values(t, y) : tc_last_status();
            }
            x = y;
            which ^= 1;
            break;
        default:
            break;
        }
        if (st != TC_OK) return st;
    }
    memcpy(s->probs->data, x, sizeof(tc_scalar) * (size_t)s->vocab_out);
    return TC_OK;
}

static tc_status copy_into(tc_tensor *dst, const tc_tensor *src)
{
    return src ? tc_read_values(src, dst->data) : tc_last_status();
}

static tc_status general_step(tc_sampler *s, const int64_t *tokens)
{
    int64_t B = s->batch;
    tc_tensor *ids = tc_empty(TC_SHAPE(B, 1)), *x = NULL;
    if (!ids) return tc_last_status();
    for (int64_t b = 0; b < B; b++) ids->data[b] = (tc_scalar)tokens[b];
    for (int i = 0; i < s->n; i++) {
        stage *g = &s->st[i];
        tc_layer *l = g->l;
        if (recurrent(g->kind)) {
            /* one time step: [B, 1, in], or the kernel rows of the ids */
            tc_tensor *in = g->ids_in ? tc_gather(l->w[0], ids, 0) : tc_reshape(x, 3, (int64_t[]){B, 1, g->in});
            tc_tensor *kern = g->ids_in ? NULL : l->w[0], *h = NULL, *c = NULL;
            if (!in) return tc_last_status();
            tc_status st;
            if (g->kind == S_LSTM) {
                tc_lstm_params p = {.gates = TC_GATES_IFCO, .forget_bias = l->o.rnn.forget_bias, .hard_sigmoid = l->o.rnn.hard_sigmoid};
                st = tc_lstm(in, kern, l->w[1], l->w[2], l->o.rnn.peephole ? l->w[3] : NULL, g->state[0], g->state[1], NULL,
                             &p, NULL, &h, &c);
            } else if (g->kind == S_GRU) {
                st = tc_gru(in, kern, l->w[1], l->w[2], g->state[0], NULL, &(tc_gru_params){.reset_after = l->o.rnn.reset_after, .hard_sigmoid = l->o.rnn.hard_sigmoid},
                            NULL, &h);
            } else {
                st = tc_simple_rnn(in, kern, l->w[1], l->w[2], g->state[0], NULL, l->act, false, NULL, &h);
            }
            if (st == TC_OK) st = copy_into(g->state[0], h);
            if (st == TC_OK && c) st = copy_into(g->state[1], c);
            if (st != TC_OK) return st;
            x = h;
        } else if (g->kind == S_EMBED) {
            x = tc_reshape(tc_gather(l->w[0], ids, 0), 2, (int64_t[]){B, g->out});
        } else if (g->kind == S_DENSE) {
            x = tc_activate(tc_linear(x, l->w[0], l->o.dense.no_bias ? NULL : l->w[1]), l->act);
        } else {
            x = tc_activate(x, l->act);
        }
        if (!x) return tc_last_status();
    }
    return copy_into(s->probs, x);
}

const tc_tensor *tc_sampler_step(tc_sampler *s, const int64_t *tokens)
{
    if (!s || !tokens) return tc_error(TC_ERR_ARG, "sampler_step: NULL argument"), NULL;
    for (int b = 0; b < s->batch; b++)
        if (tokens[b] < 0 || tokens[b] >= s->vocab_in)
            return tc_error(TC_ERR_ARG, "sampler_step: token %lld of row %d is not in [0, %lld)", (long long)tokens[b], b,
                            (long long)s->vocab_in), NULL;
    /* whatever a step makes on the arena and the tape goes when it ends */
    tc_step_mark mark = tc_step_get_mark();
    bool was = tc_set_grad_enabled(false);
    tc_status st = s->fast ? fast_step(s, tokens[0]) : general_step(s, tokens);
    tc_set_grad_enabled(was);
    tc_step_release(mark);
    if (st != TC_OK) return NULL;
    if (!s->probs_out) softmax_rows(s->probs->data, s->batch, s->vocab_out);
    return s->probs;
}

static stage *find_stage(const tc_sampler *s, const char *layer, int k)
{
    for (int i = 0; s && layer && i < s->n; i++)
        if (!strcmp(s->st[i].l->name, layer)) {
            if (k < 0 || k > 1 || !s->st[i].state[k]) break;
            return &s->st[i];
        }
    tc_error(TC_ERR_ARG, "sampler: no recurrent layer '%s' with state %d", layer ? layer : "(NULL)", k);
    return NULL;
}

const tc_tensor *tc_sampler_state(const tc_sampler *s, const char *layer, int k)
{
    stage *g = find_stage(s, layer, k);
    return g ? g->state[k] : NULL;
}

tc_status tc_sampler_set_state(tc_sampler *s, const char *layer, int k, const tc_tensor *state)
{
    stage *g = find_stage(s, layer, k);
    if (!g) return tc_last_status();
    if (!state || tc_numel(state) != tc_numel(g->state[k]))
        return tc_error(TC_ERR_SHAPE, "sampler_set_state: %s state %d is [%d, %lld]; given %s", layer, k, s->batch,
                        (long long)g->out, state ? TC_SHP(state) : "NULL");
    return tc_read_values(state, g->state[k]->data);
}

tc_status tc_sampler_reorder(tc_sampler *s, const int64_t *rows)
{
    if (!s || !rows) return tc_error(TC_ERR_ARG, "sampler_reorder: NULL argument");
    for (int b = 0; b < s->batch; b++)
        if (rows[b] < 0 || rows[b] >= s->batch)
            return tc_error(TC_ERR_ARG, "sampler_reorder: row %lld is not in [0, %d)", (long long)rows[b], s->batch);
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < 2; k++) {
            tc_tensor *t = s->st[i].state[k];
            if (!t) continue;
            int64_t w = t->shape[1];
            tc_scalar *copy = malloc(sizeof(tc_scalar) * (size_t)tc_numel(t));
            if (!copy) return tc_error(TC_ERR_MEMORY, "sampler_reorder: out of memory");
            memcpy(copy, t->data, sizeof(tc_scalar) * (size_t)tc_numel(t));
            for (int b = 0; b < s->batch; b++) memcpy(t->data + b * w, copy + rows[b] * w, sizeof(tc_scalar) * (size_t)w);
            free(copy);
        }
    return TC_OK;
}

int tc_sampler_batch(const tc_sampler *s) { return s ? s->batch : 0; }
bool tc_sampler_is_prepared(const tc_sampler *s) { return s && s->fast; }

int64_t tc_sample_from(const tc_tensor *probs, int64_t row, double temperature, tc_rng *rng)
{
    if (!probs || !rng || probs->ndim < 1 || !(temperature >= 0))
        return tc_error(TC_ERR_ARG, "sample_from: needs probabilities, a generator and a temperature >= 0"), -1;
    int64_t V = probs->shape[probs->ndim - 1], rows = V ? tc_numel(probs) / V : 0;
    if (V < 1 || row < 0 || row >= rows || !tc_is_contiguous(probs))
        return tc_error(TC_ERR_ARG, "sample_from: row %lld of %s", (long long)row, TC_SHP(probs)), -1;
    const tc_scalar *p = probs->data + row * V;
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (p[i] > p[best]) best = i;
    if (temperature == 0) return best;
    /* p^(1/T) relative to the largest, so nothing overflows */
    double *w = malloc(sizeof(double) * (size_t)V), sum = 0, lmax = log((double)p[best]);
    if (!w) return tc_error(TC_ERR_MEMORY, "sample_from: out of memory"), -1;
    for (int64_t i = 0; i < V; i++) sum += w[i] = temperature == 1 ? (double)p[i] : exp((log((double)p[i]) - lmax) / temperature);
    double u = tc_rng_double(rng) * sum;
    int64_t pick = V - 1;
    for (int64_t i = 0; i < V; i++) {
        u -= w[i];
        if (u <= 0) {
            pick = i;
            break;
        }
    }
    free(w);
    return pick;
}
