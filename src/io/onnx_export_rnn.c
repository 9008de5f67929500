/* The exporter's recurrent and attention layers. LSTM, GRU and SimpleRNN
 * become ONNX's LSTM, GRU and RNN nodes (sequence-first: transposed around
 * the node), with the weights converted: Keras' kernel [I, G*H] with the
 * gate blocks i f c o (LSTM) / z r h (GRU) becomes W [1, G*H, I] in ONNX's
 * orders i o f c / z r h; the bias is ONNX's Wb with Rb zero (GRU with
 * reset_after: Wb and Rb are Keras' two bias rows, linear_before_reset);
 * the forget bias is added into Wb. Bidirectional is its two layers' nodes
 * and a Concat (each with its own direction, as the layer runs them).
 * Attention and AdditiveAttention are MatMul/Softmax subgraphs. */
#include "onnx_export_internal.h"

enum { K_LSTM, K_GRU, K_RNN };

static void set_nat(xval *out, const xshape *s, const char *name)
{
    memset(out, 0, sizeof *out);
    out->s = *s;
    snprintf(out->nat, sizeof out->nat, "%s", name);
    if (s->ndim + 1 <= 2) snprintf(out->cf, sizeof out->cf, "%s", name);
}

/* the ONNX name of an activation for RNN's activations list */
static tc_status rnn_activation(const xlayer_t *l, const char **name, float *alpha, float *beta)
{
    *alpha = 0, *beta = 0;
    switch (l->c.act) {
    case TC_TANH: *name = "Tanh"; return TC_OK;
    case TC_RELU: *name = "Relu"; return TC_OK;
    case TC_SIGMOID: *name = "Sigmoid"; return TC_OK;
    case TC_SOFTPLUS: *name = "Softplus"; return TC_OK;
    case TC_LINEAR: *name = "Affine", *alpha = 1, *beta = 0; return TC_OK;
    case TC_ELU: *name = "Elu", *alpha = 1; return TC_OK;
    case TC_LEAKY_RELU: *name = "LeakyRelu", *alpha = 0.3f; return TC_OK;
    default: break;
    }
    return tc_error(TC_ERR_UNSUPPORTED, "%s (%s): activation %s has no ONNX RNN equivalent", l->name, l->type,
                    tc_activation_name(l->c.act));
}

tc_status xrnn(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out)
{
    const tc_rnn_opts *o = l->rnn;
    int kind = !strcmp(l->type, "LSTM") ? K_LSTM : !strcmp(l->type, "GRU") ? K_GRU : K_RNN;
    int G = kind == K_LSTM ? 4 : kind == K_GRU ? 3 : 1, ns = kind == K_LSTM ? 2 : 1;
    if (n_in != 1 && n_in != 1 + ns) return tc_error(TC_ERR_ARG, "%s (%s): %d inputs", l->name, l->type, n_in);
    const tc_tensor *kt = xw(l, 0), *rt = xw(l, 1), *bt = xw(l, 2);
    int64_t I = kt->shape[0], H = o->units, T = in[0].s.d[0];
    const float *K = xfloats(e, kt), *R = xfloats(e, rt), *Bk = xfloats(e, bt);
    /* the sequence [B, T, I] (ids read as one-hot rows of an identity matrix) */
    const char *x;
    if (o->input_vocab > 0) {
        if (I > 4096)
            return tc_error(TC_ERR_UNSUPPORTED, "%s (%s): input_vocab %lld is too large to export as one-hot rows (4096 at most)",
                            l->name, l->type, (long long)I);
        float *eye = xa(e, sizeof(float) * (size_t)(I * I));
        for (int64_t i = 0; i < I; i++) eye[i * I + i] = 1;
        const char *g = xname(e, "Gather");
        xattr_i(e, xnode(e, "Gather", 2, (const char *[]){xinit_f(e, "one_hot", 2, (int64_t[]){I, I}, eye), as_ids(e, &in[0])}, 1, &g),
                "axis", 0);
        x = g;
    } else {
        x = as_nat(e, &in[0]);
    }
    x = xtranspose(e, x, 3, (int[]){1, 0, 2}); /* [T, B, I] */
    /* ONNX gate block g reads Keras block order[g] */
    static const int lstm_order[4] = {0, 3, 1, 2}, same[3] = {0, 1, 2};
    const int *order = kind == K_LSTM ? lstm_order : same;
    float *W = xa(e, sizeof(float) * (size_t)(G * H * I)), *Rw = xa(e, sizeof(float) * (size_t)(G * H * H));
    float *B = xa(e, sizeof(float) * (size_t)(2 * G * H));
    for (int g = 0; g < G; g++)
        for (int64_t j = 0; j < H; j++) {
            int64_t src = order[g] * H + j, dst = g * H + j;
            for (int64_t i = 0; i < I; i++) W[dst * I + i] = K[i * G * H + src];
            for (int64_t i = 0; i < H; i++) Rw[dst * H + i] = R[i * G * H + src];
            if (kind == K_GRU && o->reset_after) {
                B[dst] = Bk[src];
                B[G * H + dst] = Bk[G * H + src];
            } else {
                B[dst] = Bk[src] + (kind == K_LSTM && order[g] == 1 ? (float)o->forget_bias : 0.0f);
            }
        }
    const char *ins[8] = {x, xinit_f(e, "W", 3, (int64_t[]){1, G * H, I}, W), xinit_f(e, "R", 3, (int64_t[]){1, G * H, H}, Rw),
                          xinit_f(e, "B", 2, (int64_t[]){1, 2 * G * H}, B), "", "", "", ""};
    int nin = 4;
    for (int s = 0; s < ns && n_in > 1; s++) { /* initial states [B, H] -> [1, B, H] */
        ins[5 + s] = xunsqueeze(e, as_nat(e, &in[1 + s]), 0);
        nin = 6 + s;
    }
    if (kind == K_LSTM && o->peephole) { /* ours: input, forget, output; ONNX's P: input, output, forget */
        const float *P = xfloats(e, xw(l, 3));
        float *p = xa(e, sizeof(float) * (size_t)(3 * H));
        for (int64_t j = 0; j < H; j++) p[j] = P[j], p[H + j] = P[2 * H + j], p[2 * H + j] = P[H + j];
        ins[7] = xinit_f(e, "P", 2, (int64_t[]){1, 3 * H}, p);
        nin = 8;
    }
    const char *op = kind == K_LSTM ? "LSTM" : kind == K_GRU ? "GRU" : "RNN";
    const char *outs[3] = {xname(e, "Y"), xname(e, "Y_h"), kind == K_LSTM ? xname(e, "Y_c") : ""};
    Onnx__NodeProto *n = xnode(e, op, nin, ins, kind == K_LSTM ? 3 : 2, outs);
    xattr_i(e, n, "hidden_size", H);
    xattr_s(e, n, "direction", l->go_backwards ? "reverse" : "forward");
    if (kind == K_GRU && o->reset_after) xattr_i(e, n, "linear_before_reset", 1);
    if (kind == K_RNN) {
        const char *a;
        float al, be;
        if (rnn_activation(l, &a, &al, &be) != TC_OK) return tc_last_status();
        xattr_ss(e, n, "activations", 1, &a);
        if (al != 0 || be != 0) {
            xattr_fs(e, n, "activation_alpha", 1, &al);
            xattr_fs(e, n, "activation_beta", 1, &be);
        }
    } else if (o->hard_sigmoid) { /* Keras' hard_sigmoid: clip(0.2 x + 0.5, 0, 1) for the gates */
        const char *acts[3] = {"HardSigmoid", "Tanh", "Tanh"};
        xattr_ss(e, n, "activations", kind == K_LSTM ? 3 : 2, acts);
        xattr_fs(e, n, "activation_alpha", 1, (float[]){0.2f});
        xattr_fs(e, n, "activation_beta", 1, (float[]){0.5f});
    }
    xshape hs = {1, {H}};
    const char *h = xsqueeze(e, outs[1], 0);
    if (o->return_sequences) {
        const char *seq = xtranspose(e, xsqueeze(e, outs[0], 1), 3, (int[]){1, 0, 2}); /* [T, 1, B, H] -> [B, T, H] */
        set_nat(&out[0], &(xshape){2, {T, H}}, seq);
    } else {
        set_nat(&out[0], &hs, h);
    }
    if (o->return_state) {
        set_nat(&out[1], &hs, h);
        if (kind == K_LSTM) set_nat(&out[2], &hs, xsqueeze(e, outs[2], 0));
    }
    return TC_OK; /* dropout on the output: the identity at inference */
}

tc_status xbidirectional(xport *e, const xlayer_t *l, int n_in, xval *in, xval *out)
{
    const tc_layer *inner[2] = {tc_layer_wrapped(l->l), tc_layer_wrapped_backward(l->l)};
    int ns = !strcmp(tc_layer_type(inner[0]), "LSTM") ? 2 : 1, half = tc_layer_weight_count(l->wl) / 2;
    xval y[2][TC_LAYER_MAX_OUTPUTS];
    for (int k = 0; k < 2; k++) {
        xlayer_t r; /* the weights: the wrapper's, forward half first */
        if (xlayer_of(inner[k], &r) != TC_OK) return tc_last_status();
        r.wl = l->wl;
        r.w0 = l->w0 + k * half;
        xval rin[3] = {in[0]};
        int rn = 1;
        for (int i = 0; n_in > 1 && i < ns; i++) rin[rn++] = in[1 + k * ns + i];
        if (xrnn(e, &r, rn, rin, y[k]) != TC_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", tc_last_error());
            return tc_error(tc_last_status(), "%s (Bidirectional): %s", l->name, msg);
        }
    }
    const char *c = xname(e, "Concat");
    int r = y[0][0].s.ndim + 1;
    xattr_i(e, xnode(e, "Concat", 2, (const char *[]){y[0][0].nat, y[1][0].nat}, 1, &c), "axis", r - 1);
    set_nat(&out[0], &l->out[0], c);
    for (int i = 0; l->n_out > 1 && i < ns; i++) {
        out[1 + i] = y[0][1 + i];
        out[1 + ns + i] = y[1][1 + i];
    }
    return TC_OK;
}

tc_status xattention(xport *e, const xlayer_t *l, bool additive, int n_in, xval *in, xval *out)
{
    if (n_in != 2 && n_in != 3) return tc_error(TC_ERR_ARG, "%s (%s): %d inputs", l->name, l->type, n_in);
    const char *q = as_nat(e, &in[0]), *v = as_nat(e, &in[1]), *k = n_in == 3 ? as_nat(e, &in[2]) : v;
    int64_t Tq = in[0].s.d[0], Tk = in[1].s.d[0], D = in[0].s.d[1];
    const char *s;
    if (additive) { /* sum_d w_d tanh(q_d + k_d): [B, Tq, 1, D] + [B, 1, Tk, D] */
        const char *t = xop1(e, "Tanh", xop2(e, "Add", xunsqueeze(e, q, 2), xunsqueeze(e, k, 1)));
        if (l->c.use_scale) t = xop2(e, "Mul", t, xinit_f(e, "scale", 1, &D, xfloats(e, xw(l, 0))));
        s = xname(e, "ReduceSum");
        xattr_i(e, xnode(e, "ReduceSum", 2, (const char *[]){t, xinit_i64(e, "axes", 1, (int64_t[]){3})}, 1, &s), "keepdims", 0);
    } else {
        s = xop2(e, "MatMul", q, xtranspose(e, k, 3, (int[]){0, 2, 1}));
        if (l->c.use_scale) s = xop2(e, "Mul", s, xinit_f(e, "scale", 1, (int64_t[]){1}, xfloats(e, xw(l, 0))));
    }
    if (l->c.causal) { /* keys after the query's own step get -1e9, as tc_attention */
        float *future = xa(e, sizeof(float) * (size_t)(Tq * Tk));
        for (int64_t i = 0; i < Tq; i++)
            for (int64_t j = i + 1; j < Tk; j++) future[i * Tk + j] = -1e9f;
        s = xop2(e, "Add", s, xinit_f(e, "causal", 2, (int64_t[]){Tq, Tk}, future));
    }
    const char *w = xname(e, "Softmax");
    xattr_i(e, xnode(e, "Softmax", 1, &s, 1, &w), "axis", -1);
    set_nat(&out[0], &l->out[0], xop2(e, "MatMul", w, v));
    return TC_OK;
}
