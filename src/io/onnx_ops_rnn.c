/* ONNX LSTM, GRU and RNN (every direction, both layouts, sequence lengths,
 * initial states, peepholes, clip, linear_before_reset), unrolled over time
 * into tensorcook operations so that gradients flow through them. The input
 * projections of all time steps are one matrix product per direction. */
#include "onnx_run.h"

#include <float.h>
#include <math.h>

typedef enum { CELL_RNN, CELL_GRU, CELL_LSTM } cell_kind;

typedef struct {
    char name[24];
    float alpha, beta;
} act;

static tc_tensor *apply_act(const act *a, tc_tensor *x)
{
    if (!strcmp(a->name, "Sigmoid")) return tc_sigmoid(x);
    if (!strcmp(a->name, "Tanh")) return tc_tanh(x);
    if (!strcmp(a->name, "Relu")) return tc_relu(x);
    if (!strcmp(a->name, "HardSigmoid")) return tc_hard_sigmoid(x, a->alpha, a->beta);
    if (!strcmp(a->name, "LeakyRelu")) return tc_leaky_relu(x, a->alpha);
    if (!strcmp(a->name, "Elu")) return tc_elu(x, a->alpha);
    if (!strcmp(a->name, "Softplus")) return tc_softplus(x);
    tc_error(TC_ERR_UNSUPPORTED, "activation '%s' is not supported", a->name);
    return NULL;
}

static tc_status read_acts(onnx_ctx *c, const onnx_node *n, cell_kind kind, int ndir, act *acts)
{
    int per = kind == CELL_LSTM ? 3 : kind == CELL_GRU ? 2 : 1;
    static const char *dflt[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    for (int d = 0; d < ndir; d++)
        for (int i = 0; i < per; i++) {
            snprintf(acts[d * per + i].name, sizeof acts[0].name, "%s", dflt[kind][i]);
            acts[d * per + i].alpha = acts[d * per + i].beta = 0;
        }
    const Onnx__AttributeProto *a = tc_onnx_attr(n, "activations");
    if (a) {
        if ((int)a->n_strings != per * ndir)
            return tc_onnx_fail(c, TC_ERR_ARG, "activations has %zu names, expected %d", a->n_strings, per * ndir);
        float al[6], be[6];
        int na = tc_onnx_attr_floats(n, "activation_alpha", al, 6), nb = tc_onnx_attr_floats(n, "activation_beta", be, 6);
        for (int i = 0; i < per * ndir; i++) {
            size_t len = a->strings[i].len < 23 ? a->strings[i].len : 23;
            memcpy(acts[i].name, a->strings[i].data, len);
            acts[i].name[len] = '\0';
            bool hs = !strcmp(acts[i].name, "HardSigmoid");
            acts[i].alpha = i < na ? al[i] : hs ? 0.2f : !strcmp(acts[i].name, "LeakyRelu") ? 0.01f : 1.0f;
            acts[i].beta = i < nb ? be[i] : hs ? 0.5f : 0;
        }
    }
    return TC_OK;
}

/* Weight block d of a [ndir, rows, cols] tensor, as [rows, cols] */
static tc_tensor *dir_block(tc_tensor *w, int d)
{
    return tc_reshape(tc_narrow(w, 0, d, 1), 2, (int64_t[]){w->shape[1], w->shape[2]});
}

static tc_tensor *gate(tc_tensor *g, int k, int64_t h) { return tc_narrow(g, 1, k * h, h); }

static tc_tensor *maybe_clip(tc_tensor *x, float clip) { return clip > 0 ? tc_clip(x, -clip, clip) : x; }

static tc_status rnn_common(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out,
                     cell_kind kind)
{
    int gates = kind == CELL_LSTM ? 4 : kind == CELL_GRU ? 3 : 1;
    if (n_in < 3 || !in[0] || !in[1] || !in[2]) return tc_onnx_fail(c, TC_ERR_ARG, "needs X, W and R");
    tc_tensor *X = in[0], *W = in[1], *R = in[2];
    tc_tensor *B = n_in > 3 ? in[3] : NULL, *lens = n_in > 4 ? in[4] : NULL, *h0 = n_in > 5 ? in[5] : NULL;
    tc_tensor *c0 = kind == CELL_LSTM && n_in > 6 ? in[6] : NULL, *P = kind == CELL_LSTM && n_in > 7 ? in[7] : NULL;
    int layout = (int)tc_onnx_attr_int(n, "layout", 0);
    if (X->ndim != 3 || W->ndim != 3 || R->ndim != 3) return tc_onnx_fail(c, TC_ERR_SHAPE, "X, W and R must have rank 3");
    if (layout) ONNX_TRY(c, X = tc_transpose(X, (int[]){1, 0, 2}));
    int64_t T = X->shape[0], N = X->shape[1], I = X->shape[2];
    int64_t H = tc_onnx_attr_int(n, "hidden_size", R->shape[2]);
    char dirs[24];
    snprintf(dirs, sizeof dirs, "%s", tc_onnx_attr_string(n, "direction", "forward"));
    int ndir = !strcmp(dirs, "bidirectional") ? 2 : 1;
    bool reverse = !strcmp(dirs, "reverse");
    if (strcmp(dirs, "forward") && strcmp(dirs, "reverse") && ndir == 1)
        return tc_onnx_fail(c, TC_ERR_ARG, "direction '%s'", dirs);
    if (W->shape[0] != ndir || W->shape[1] != gates * H || W->shape[2] != I || R->shape[1] != gates * H || R->shape[2] != H)
        return tc_onnx_fail(c, TC_ERR_SHAPE, "W %s / R %s do not fit %d directions, hidden %lld, input %lld",
                            TC_SHP(W), TC_SHP(R), ndir, (long long)H, (long long)I);
    if (tc_onnx_attr_int(n, "input_forget", 0)) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "input_forget");
    float clip = tc_onnx_attr_float(n, "clip", 0);
    bool lbr = tc_onnx_attr_int(n, "linear_before_reset", 0) != 0;
    act acts[6];
    tc_status s = read_acts(c, n, kind, ndir, acts);
    if (s) return s;
    int per = kind == CELL_LSTM ? 3 : kind == CELL_GRU ? 2 : 1;
    int64_t len[4096];
    if (lens) {
        if (N > 4096 || tc_onnx_ints(c, lens, len, 4096, "sequence_lens") != N)
            return tc_onnx_fail(c, TC_ERR_SHAPE, "sequence_lens must have %lld values", (long long)N);
    } else
        for (int64_t b = 0; b < N && b < 4096; b++) len[b] = T;
    bool masked = false;
    for (int64_t b = 0; b < N; b++) masked |= len[b] < T;

    tc_tensor *Xflat;
    ONNX_TRY(c, Xflat = tc_reshape(X, 2, (int64_t[]){T * N, I}));
    tc_tensor *ys[2], *hs[2], *cs[2];
    for (int d = 0; d < ndir; d++) {
        const act *A = &acts[d * per];
        tc_tensor *Wd = dir_block(W, d), *Rd = dir_block(R, d);
        tc_tensor *Wb = NULL, *Rb = NULL;
        if (B) {
            tc_tensor *Bd = tc_reshape(tc_narrow(B, 0, d, 1), 1, (int64_t[]){2 * gates * H});
            Wb = tc_narrow(Bd, 0, 0, gates * H);
            Rb = tc_narrow(Bd, 0, gates * H, gates * H);
        }
        /* projections of every time step at once: [T*N, gates*H] */
        tc_tensor *xw;
        ONNX_TRY(c, xw = tc_linear(Xflat, tc_transpose(Wd, (int[]){1, 0}), Wb));
        tc_tensor *Rt;
        ONNX_TRY(c, Rt = tc_transpose(Rd, (int[]){1, 0}));
        tc_tensor *h = h0 ? tc_reshape(tc_narrow(h0, 0, d, 1), 2, (int64_t[]){N, H}) : tc_zeros(TC_SHAPE(N, H));
        tc_tensor *cell = kind == CELL_LSTM ? (c0 ? tc_reshape(tc_narrow(c0, 0, d, 1), 2, (int64_t[]){N, H})
                                                  : tc_zeros(TC_SHAPE(N, H)))
                                            : NULL;
        tc_tensor *pi = NULL, *po = NULL, *pf = NULL;
        if (P) {
            tc_tensor *Pd = tc_reshape(tc_narrow(P, 0, d, 1), 1, (int64_t[]){3 * H});
            pi = tc_narrow(Pd, 0, 0, H), po = tc_narrow(Pd, 0, H, H), pf = tc_narrow(Pd, 0, 2 * H, H);
        }
        ONNX_TRY(c, h);
        tc_tensor *steps[T > 0 ? T : 1];
        bool back = reverse || d == 1;
        for (int64_t k = 0; k < T; k++) {
            int64_t t = back ? T - 1 - k : k;
            tc_tensor *xt = tc_narrow(xw, 0, t * N, N);
            tc_tensor *hn, *cn = NULL;
            if (kind == CELL_RNN) {
                tc_tensor *pre = tc_add(xt, tc_linear(h, Rt, Rb));
                hn = apply_act(&A[0], maybe_clip(pre, clip));
            } else if (kind == CELL_LSTM) {
                tc_tensor *g = tc_add(xt, tc_linear(h, Rt, Rb));
                tc_tensor *gi = gate(g, 0, H), *go = gate(g, 1, H), *gf = gate(g, 2, H), *gc = gate(g, 3, H);
                if (pi) gi = tc_add(gi, tc_mul(pi, cell)), gf = tc_add(gf, tc_mul(pf, cell));
                tc_tensor *it = apply_act(&A[0], maybe_clip(gi, clip));
                tc_tensor *ft = apply_act(&A[0], maybe_clip(gf, clip));
                tc_tensor *ct = apply_act(&A[1], maybe_clip(gc, clip));
                cn = tc_add(tc_mul(ft, cell), tc_mul(it, ct));
                if (po) go = tc_add(go, tc_mul(po, cn));
                tc_tensor *ot = apply_act(&A[0], maybe_clip(go, clip));
                hn = tc_mul(ot, apply_act(&A[2], cn));
            } else {
                tc_tensor *rb_z = Rb ? tc_narrow(Rb, 0, 0, 2 * H) : NULL;
                tc_tensor *zr = tc_add(tc_narrow(xt, 1, 0, 2 * H),
                                       tc_linear(h, tc_narrow(Rt, 1, 0, 2 * H), rb_z));
                tc_tensor *zt = apply_act(&A[0], maybe_clip(tc_narrow(zr, 1, 0, H), clip));
                tc_tensor *rt = apply_act(&A[0], maybe_clip(tc_narrow(zr, 1, H, H), clip));
                tc_tensor *Rh = tc_narrow(Rt, 1, 2 * H, H);
                tc_tensor *rbh = Rb ? tc_narrow(Rb, 0, 2 * H, H) : NULL;
                tc_tensor *rec = lbr ? tc_mul(rt, tc_linear(h, Rh, rbh)) : tc_linear(tc_mul(rt, h), Rh, rbh);
                tc_tensor *ht = apply_act(&A[1], maybe_clip(tc_add(tc_narrow(xt, 1, 2 * H, H), rec), clip));
                /* H = (1 - z) * h~ + z * H = h~ + z * (H - h~) */
                hn = tc_add(ht, tc_mul(zt, tc_sub(h, ht)));
            }
            ONNX_TRY(c, hn);
            tc_tensor *yt = hn;
            if (masked) { /* finished sequences keep their state and output zeros */
                tc_tensor *m = tc_empty(TC_SHAPE(N, 1));
                ONNX_TRY(c, m);
                for (int64_t b = 0; b < N; b++) m->data[b] = t < len[b] ? 1 : 0;
                yt = tc_mul(hn, m);
                hn = tc_add(h, tc_mul(m, tc_sub(hn, h)));
                if (cn) cn = tc_add(cell, tc_mul(m, tc_sub(cn, cell)));
            }
            ONNX_TRY(c, yt);
            h = hn;
            if (kind == CELL_LSTM) ONNX_TRY(c, cell = cn);
            ONNX_TRY(c, steps[t] = tc_reshape(yt, 4, (int64_t[]){1, 1, N, H}));
        }
        if (T > 0) ONNX_TRY(c, ys[d] = tc_concat((int)T, steps, 0)); /* [T, 1, N, H] */
        else ONNX_TRY(c, ys[d] = tc_zeros(TC_SHAPE(0, 1, N, H)));
        ONNX_TRY(c, hs[d] = tc_reshape(h, 3, (int64_t[]){1, N, H}));
        if (kind == CELL_LSTM) ONNX_TRY(c, cs[d] = tc_reshape(cell, 3, (int64_t[]){1, N, H}));
    }
    tc_tensor *Y, *Yh, *Yc = NULL;
    ONNX_TRY(c, Y = ndir == 2 ? tc_concat(2, ys, 1) : ys[0]);
    ONNX_TRY(c, Yh = ndir == 2 ? tc_concat(2, hs, 0) : hs[0]);
    if (kind == CELL_LSTM) ONNX_TRY(c, Yc = ndir == 2 ? tc_concat(2, cs, 0) : cs[0]);
    if (layout) {
        ONNX_TRY(c, Y = tc_transpose(Y, (int[]){2, 0, 1, 3}));
        ONNX_TRY(c, Yh = tc_transpose(Yh, (int[]){1, 0, 2}));
        if (Yc) ONNX_TRY(c, Yc = tc_transpose(Yc, (int[]){1, 0, 2}));
    }
    if (n_out > 0) out[0] = Y;
    if (n_out > 1) out[1] = Yh;
    if (n_out > 2) out[2] = Yc;
    for (int i = 0; i < n_out; i++) c->out_dtype[i] = TC_ONNX_FLOAT;
    return TC_OK;
}

static tc_status op_rnn(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    return rnn_common(c, n, n_in, in, n_out, out, CELL_RNN);
}
static tc_status op_gru(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    return rnn_common(c, n, n_in, in, n_out, out, CELL_GRU);
}
static tc_status op_lstm(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    return rnn_common(c, n, n_in, in, n_out, out, CELL_LSTM);
}

const onnx_op_entry tc_onnx_ops_rnn[] = {
    {"RNN", op_rnn}, {"GRU", op_gru}, {"LSTM", op_lstm},
    {NULL, NULL, NULL},
};
