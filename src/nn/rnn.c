/* LSTM, GRU and SimpleRNN over whole sequences, written with tensorcook's
 * operations (so the tape differentiates them): one GEMM projects the
 * inputs of every time step, then each step adds h @ U and applies the
 * gates. Masks carry the state through padded steps. */
#include "../ops/ops_internal.h"
#include "tensorcook/rnn.h"

typedef struct {
    int64_t B, T, I, H;
} dims;

static tc_status check_x(const char *who, tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, int gates, dims *d)
{
    if (!x || !recurrent) return tc_error(TC_ERR_ARG, "%s: x and recurrent are required", who);
    if (x->ndim != 3) return tc_error(TC_ERR_SHAPE, "%s: input %s must be [batch, time, features]", who, TC_SHP(x));
    d->B = x->shape[0], d->T = x->shape[1], d->I = x->shape[2];
    d->H = recurrent->ndim == 2 ? recurrent->shape[0] : -1;
    if (!kernel) { /* x holds the input projections already */
        if (d->H < 1 || recurrent->shape[1] != gates * d->H || d->I != gates * d->H)
            return tc_error(TC_ERR_SHAPE, "%s: without a kernel, input %s must be the projections [B, T, %d*H] of recurrent %s",
                            who, TC_SHP(x), gates, TC_SHP(recurrent));
        return TC_OK;
    }
    if (kernel->ndim != 2 || kernel->shape[0] != d->I || d->H < 1 || kernel->shape[1] != gates * d->H ||
        recurrent->shape[1] != gates * d->H)
        return tc_error(TC_ERR_SHAPE, "%s: kernel %s and recurrent %s do not fit input %s (need [%lld, %d*H] and [H, %d*H])",
                        who, TC_SHP(kernel), TC_SHP(recurrent), TC_SHP(x), (long long)d->I, gates, gates);
    return TC_OK;
}

static tc_status check_state(const char *who, tc_tensor *s, const char *name, const dims *d)
{
    if (s && (s->ndim != 2 || s->shape[0] != d->B || s->shape[1] != d->H))
        return tc_error(TC_ERR_SHAPE, "%s: %s %s must be [%lld, %lld]", who, name, TC_SHP(s), (long long)d->B, (long long)d->H);
    return TC_OK;
}

static tc_status check_mask(const char *who, tc_tensor *mask, const dims *d)
{
    if (mask && (mask->ndim != 2 || mask->shape[0] != d->B || mask->shape[1] != d->T))
        return tc_error(TC_ERR_SHAPE, "%s: mask %s must be [%lld, %lld]", who, TC_SHP(mask), (long long)d->B, (long long)d->T);
    return TC_OK;
}

/* input projections of every step: [B, T, gates*H] */
static tc_tensor *project(tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, const dims *d, int gates)
{
    if (!kernel) return bias ? tc_add(x, bias) : x;
    tc_tensor *xw = tc_linear(x, kernel, bias);
    return xw ? tc_reshape(xw, 3, (int64_t[]){d->B, d->T, gates * d->H}) : NULL;
}

static tc_tensor *step_input(tc_tensor *xw, int64_t t, const dims *d, int gates)
{
    return tc_reshape(tc_narrow(xw, 1, t, 1), 2, (int64_t[]){d->B, gates * d->H});
}

static tc_tensor *block(tc_tensor *g, int k, int64_t H) { return tc_narrow(g, 1, k * H, H); }

/* state + m * (new - state): carried where the mask is 0 */
static tc_tensor *masked(tc_tensor *state, tc_tensor *next, tc_tensor *m)
{
    return m ? tc_add(state, tc_mul(m, tc_sub(next, state))) : next;
}

static tc_tensor *mask_col(tc_tensor *mask, int64_t t, const dims *d)
{
    return mask ? tc_reshape(tc_narrow(mask, 1, t, 1), 2, (int64_t[]){d->B, 1}) : NULL;
}

static tc_tensor *clipped(tc_tensor *x, double clip) { return clip > 0 ? tc_clip(x, (tc_scalar)-clip, (tc_scalar)clip) : x; }

/* positions of the blocks of i, f, c, o in each gate order */
static const int gate_order[3][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 2, 3, 1}};

/* the gates' activation: the logistic sigmoid, or Keras' hard_sigmoid */
static tc_tensor *gate(tc_tensor *x, bool hard) { return hard ? tc_hard_sigmoid(x, (tc_scalar)0.2, (tc_scalar)0.5) : tc_sigmoid(x); }

/* one LSTM cell on the gate pre-activations g = x W + b + h U */
static void lstm_cell(tc_tensor *g, tc_tensor *c, tc_tensor *peep, const tc_lstm_params *p, int64_t H, tc_tensor **h_new,
                      tc_tensor **c_new)
{
    const int *o = gate_order[p->gates];
    if (!peep && !(p->clip > 0) && !p->hard_sigmoid) { /* the common case: one fused op */
        tc_tensor *hc = tc_lstm_cell_fused(g, c, o, (tc_scalar)p->forget_bias);
        *h_new = tc_narrow(hc, 1, 0, H);
        *c_new = tc_narrow(hc, 1, H, H);
        return;
    }
    tc_tensor *gi = block(g, o[0], H), *gf = block(g, o[1], H), *gc = block(g, o[2], H), *go = block(g, o[3], H);
    if (peep) {
        gi = tc_add(gi, tc_mul(tc_narrow(peep, 0, 0, H), c));
        gf = tc_add(gf, tc_mul(tc_narrow(peep, 0, H, H), c));
    }
    if (p->forget_bias != 0) gf = tc_add_scalar(gf, (tc_scalar)p->forget_bias);
    tc_tensor *i = gate(clipped(gi, p->clip), p->hard_sigmoid), *f = gate(clipped(gf, p->clip), p->hard_sigmoid);
    tc_tensor *cn = tc_add(tc_mul(f, c), tc_mul(i, tc_tanh(clipped(gc, p->clip))));
    if (peep) go = tc_add(go, tc_mul(tc_narrow(peep, 0, 2 * H, H), cn));
    *c_new = cn;
    *h_new = tc_mul(gate(clipped(go, p->clip), p->hard_sigmoid), tc_tanh(cn));
}

/* stack per-step outputs [B, H] (in time order) into [B, T, H] */
static tc_tensor *stack(tc_tensor **steps, const dims *d)
{
    if (d->T == 0) return tc_zeros(TC_SHAPE(d->B, 0, d->H));
    for (int64_t t = 0; t < d->T; t++) steps[t] = tc_reshape(steps[t], 3, (int64_t[]){d->B, 1, d->H});
    return tc_concat((int)d->T, steps, 1);
}

tc_status tc_lstm(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *peephole,
                  tc_tensor *h0, tc_tensor *c0, tc_tensor *mask, const tc_lstm_params *params, tc_tensor **seq,
                  tc_tensor **h_out, tc_tensor **c_out)
{
    static const tc_lstm_params defaults = {0};
    const tc_lstm_params *p = params ? params : &defaults;
    dims d;
    tc_status s = check_x("lstm", x, kernel, recurrent, 4, &d);
    if (!s) s = check_state("lstm", h0, "h0", &d);
    if (!s) s = check_state("lstm", c0, "c0", &d);
    if (!s) s = check_mask("lstm", mask, &d);
    if (s) return s;
    if (bias && (bias->ndim != 1 || bias->shape[0] != 4 * d.H))
        return tc_error(TC_ERR_SHAPE, "lstm: bias %s must be [%lld]", TC_SHP(bias), (long long)(4 * d.H));
    if (peephole && (peephole->ndim != 1 || peephole->shape[0] != 3 * d.H))
        return tc_error(TC_ERR_SHAPE, "lstm: peephole %s must be [%lld]", TC_SHP(peephole), (long long)(3 * d.H));
    if ((unsigned)p->gates > TC_GATES_IOFC) return tc_error(TC_ERR_ARG, "lstm: unknown gate order %d", (int)p->gates);
    tc_tensor *xw = project(x, kernel, bias, &d, 4);
    if (!(p->clip > 0) && !p->composed && !p->hard_sigmoid) { /* the common case: one fused op for the whole sequence */
        tc_tensor *y = xw ? tc_lstm_seq_fused(xw, recurrent, peephole, h0, c0, mask, gate_order[p->gates],
                                              (tc_scalar)p->forget_bias, p->reverse)
                          : NULL;
        if (!y) return tc_last_status();
        int64_t BT = d.B * d.T;
        if (seq && !(*seq = tc_reshape(tc_narrow(y, 0, 0, BT), 3, (int64_t[]){d.B, d.T, d.H}))) return tc_last_status();
        if (h_out && !(*h_out = tc_narrow(y, 0, BT, d.B))) return tc_last_status();
        if (c_out && !(*c_out = tc_narrow(y, 0, BT + d.B, d.B))) return tc_last_status();
        return TC_OK;
    }
    tc_tensor *h = h0 ? h0 : tc_zeros(TC_SHAPE(d.B, d.H)), *c = c0 ? c0 : tc_zeros(TC_SHAPE(d.B, d.H));
    tc_tensor **steps = seq ? tc_arena_alloc(sizeof *steps * (size_t)(d.T + 1)) : NULL;
    if (!xw || !h || !c || (seq && !steps)) return tc_last_status();
    for (int64_t k = 0; k < d.T; k++) {
        int64_t t = p->reverse ? d.T - 1 - k : k;
        tc_tensor *g = tc_add(step_input(xw, t, &d, 4), tc_matmul(h, recurrent)), *hn, *cn;
        if (!g) return tc_last_status();
        lstm_cell(g, c, peephole, p, d.H, &hn, &cn);
        tc_tensor *m = mask_col(mask, t, &d);
        if (steps) steps[t] = m ? tc_mul(hn, m) : hn;
        h = masked(h, hn, m);
        c = masked(c, cn, m);
        if (!h || !c || (steps && !steps[t])) return tc_last_status();
    }
    if (seq && !(*seq = stack(steps, &d))) return tc_last_status();
    if (h_out) *h_out = h;
    if (c_out) *c_out = c;
    return TC_OK;
}

tc_status tc_lstm_step(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *peephole,
                       const tc_lstm_params *params, tc_tensor **h, tc_tensor **c)
{
    static const tc_lstm_params defaults = {0};
    const tc_lstm_params *p = params ? params : &defaults;
    if (!x || !h || !c || !*h || !*c || !kernel || !recurrent) return tc_error(TC_ERR_ARG, "lstm_step: NULL argument");
    if (x->ndim != 2 || kernel->ndim != 2 || kernel->shape[0] != x->shape[1] || recurrent->ndim != 2 ||
        kernel->shape[1] != 4 * recurrent->shape[0] || (*h)->ndim != 2 || (*h)->shape[1] != recurrent->shape[0])
        return tc_error(TC_ERR_SHAPE, "lstm_step: x %s, kernel %s, recurrent %s and h %s do not fit", TC_SHP(x),
                        TC_SHP(kernel), TC_SHP(recurrent), TC_SHP(*h));
    tc_tensor *g = tc_add(tc_linear(x, kernel, bias), tc_matmul(*h, recurrent)), *hn, *cn;
    if (!g) return tc_last_status();
    lstm_cell(g, *c, peephole, p, recurrent->shape[0], &hn, &cn);
    if (!hn || !cn) return tc_last_status();
    *h = hn;
    *c = cn;
    return TC_OK;
}

tc_status tc_gru(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *h0, tc_tensor *mask,
                 const tc_gru_params *params, tc_tensor **seq, tc_tensor **h_out)
{
    static const tc_gru_params defaults = {0};
    const tc_gru_params *p = params ? params : &defaults;
    dims d;
    tc_status s = check_x("gru", x, kernel, recurrent, 3, &d);
    if (!s) s = check_state("gru", h0, "h0", &d);
    if (!s) s = check_mask("gru", mask, &d);
    if (s) return s;
    tc_tensor *bi = bias, *br = NULL;
    if (bias && p->reset_after) {
        if (bias->ndim != 2 || bias->shape[0] != 2 || bias->shape[1] != 3 * d.H)
            return tc_error(TC_ERR_SHAPE, "gru: bias %s must be [2, %lld] with reset_after", TC_SHP(bias), (long long)(3 * d.H));
        bi = tc_reshape(tc_narrow(bias, 0, 0, 1), 1, (int64_t[]){3 * d.H});
        br = tc_reshape(tc_narrow(bias, 0, 1, 1), 1, (int64_t[]){3 * d.H});
    } else if (bias && (bias->ndim != 1 || bias->shape[0] != 3 * d.H)) {
        return tc_error(TC_ERR_SHAPE, "gru: bias %s must be [%lld]", TC_SHP(bias), (long long)(3 * d.H));
    }
    int64_t H = d.H;
    tc_tensor *xw = project(x, kernel, bi, &d, 3);
    if (!p->composed && !p->hard_sigmoid) { /* one fused op for the whole sequence */
        tc_tensor *y = xw ? tc_gru_seq_fused(xw, recurrent, br, h0, mask, p->reset_after, p->reverse) : NULL;
        if (!y) return tc_last_status();
        int64_t BT = d.B * d.T;
        if (seq && !(*seq = tc_reshape(tc_narrow(y, 0, 0, BT), 3, (int64_t[]){d.B, d.T, d.H}))) return tc_last_status();
        if (h_out && !(*h_out = tc_narrow(y, 0, BT, d.B))) return tc_last_status();
        return TC_OK;
    }
    tc_tensor *h = h0 ? h0 : tc_zeros(TC_SHAPE(d.B, d.H));
    tc_tensor **steps = seq ? tc_arena_alloc(sizeof *steps * (size_t)(d.T + 1)) : NULL;
    tc_tensor *Uzr = tc_narrow(recurrent, 1, 0, 2 * H), *Uh = tc_narrow(recurrent, 1, 2 * H, H);
    if (!xw || !h || (seq && !steps) || !Uzr || !Uh) return tc_last_status();
    for (int64_t k = 0; k < d.T; k++) {
        int64_t t = p->reverse ? d.T - 1 - k : k;
        tc_tensor *xt = step_input(xw, t, &d, 3), *z, *r, *hh;
        if (p->reset_after) {
            tc_tensor *rec = tc_linear(h, recurrent, br);
            z = gate(tc_add(block(xt, 0, H), block(rec, 0, H)), p->hard_sigmoid);
            r = gate(tc_add(block(xt, 1, H), block(rec, 1, H)), p->hard_sigmoid);
            hh = tc_tanh(tc_add(block(xt, 2, H), tc_mul(r, block(rec, 2, H))));
        } else {
            tc_tensor *rec = tc_matmul(h, Uzr);
            z = gate(tc_add(block(xt, 0, H), block(rec, 0, H)), p->hard_sigmoid);
            r = gate(tc_add(block(xt, 1, H), block(rec, 1, H)), p->hard_sigmoid);
            hh = tc_tanh(tc_add(block(xt, 2, H), tc_matmul(tc_mul(r, h), Uh)));
        }
        tc_tensor *hn = tc_add(hh, tc_mul(z, tc_sub(h, hh)));
        if (!hn) return tc_last_status();
        tc_tensor *m = mask_col(mask, t, &d);
        if (steps) steps[t] = m ? tc_mul(hn, m) : hn;
        h = masked(h, hn, m);
        if (!h || (steps && !steps[t])) return tc_last_status();
    }
    if (seq && !(*seq = stack(steps, &d))) return tc_last_status();
    if (h_out) *h_out = h;
    return TC_OK;
}

tc_status tc_simple_rnn(tc_tensor *x, tc_tensor *kernel, tc_tensor *recurrent, tc_tensor *bias, tc_tensor *h0,
                        tc_tensor *mask, tc_activation act, bool reverse, tc_tensor **seq, tc_tensor **h_out)
{
    dims d;
    tc_status s = check_x("simple_rnn", x, kernel, recurrent, 1, &d);
    if (!s) s = check_state("simple_rnn", h0, "h0", &d);
    if (!s) s = check_mask("simple_rnn", mask, &d);
    if (s) return s;
    tc_tensor *xw = project(x, kernel, bias, &d, 1);
    tc_tensor *h = h0 ? h0 : tc_zeros(TC_SHAPE(d.B, d.H));
    tc_tensor **steps = seq ? tc_arena_alloc(sizeof *steps * (size_t)(d.T + 1)) : NULL;
    if (!xw || !h || (seq && !steps)) return tc_last_status();
    for (int64_t k = 0; k < d.T; k++) {
        int64_t t = reverse ? d.T - 1 - k : k;
        tc_tensor *hn = tc_activate(tc_add(step_input(xw, t, &d, 1), tc_matmul(h, recurrent)), act);
        if (!hn) return tc_last_status();
        tc_tensor *m = mask_col(mask, t, &d);
        if (steps) steps[t] = m ? tc_mul(hn, m) : hn;
        h = masked(h, hn, m);
        if (!h || (steps && !steps[t])) return tc_last_status();
    }
    if (seq && !(*seq = stack(steps, &d))) return tc_last_status();
    if (h_out) *h_out = h;
    return TC_OK;
}
