/* ONNX DFT, STFT and MelWeightMatrix (opset 17). A transform along an axis
 * is linear, so when a gradient is wanted it is two products with constant
 * cosine / sine matrices (ops with backward); otherwise it is summed here in
 * double, which keeps the components that are exactly zero in theory (the
 * imaginary parts of real signals' symmetric bins) at 1e-13 rather than the
 * 1e-5 a float32 product leaves. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int64_t axis;
    bool inverse, onesided;
} dft_attrs;

tc_status tc_onnx_prep_dft(tc_onnx_model *m, onnx_node *n)
{
    (void)m;
    dft_attrs *a = ATTRS_NEW(dft_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", 1);
    a->inverse = tc_onnx_attr_int(n, "inverse", 0) != 0;
    a->onesided = tc_onnx_attr_int(n, "onesided", !strcmp(n->proto->op_type, "STFT")) != 0;
    return TC_OK;
}

/* re/im [M, n] (im NULL: real) -> [M, K, 2], the transform of length N
 * (inputs zero-padded or cut to N), K = N or N/2 + 1 */
static tc_tensor *transform(onnx_ctx *c, tc_tensor *re, tc_tensor *im, int64_t N, bool inverse, bool onesided)
{
    int64_t M = re->shape[0], n = re->shape[1], K = onesided ? N / 2 + 1 : N;
    double scale = inverse ? 1.0 / (double)N : 1.0, sgn = inverse ? 1 : -1;
    int64_t use = n < N ? n : N;
    if (tc_onnx_wants_grad(2, (tc_tensor *[]){re, im})) {
        tc_tensor *C = tc_result(2, (int64_t[]){use, K}), *S = tc_result(2, (int64_t[]){use, K});
        if (!C || !S) return NULL;
        for (int64_t t = 0; t < use; t++)
            for (int64_t k = 0; k < K; k++) {
                double ang = 2 * M_PI * (double)((t * k) % N) / (double)N;
                C->data[t * K + k] = (tc_scalar)(cos(ang) * scale);
                S->data[t * K + k] = (tc_scalar)(sgn * sin(ang) * scale);
            }
        re = tc_narrow(re, 1, 0, use);
        if (im) im = tc_narrow(im, 1, 0, use);
        /* (re + i im)(cos + i s) = (re cos - im s) + i (re s + im cos) */
        tc_tensor *yr = tc_matmul(re, C), *yi = tc_matmul(re, S);
        if (im) yr = tc_sub(yr, tc_matmul(im, S)), yi = tc_add(yi, tc_matmul(im, C));
        tc_tensor *parts[2] = {tc_reshape(yr, 3, (int64_t[]){M, K, 1}), tc_reshape(yi, 3, (int64_t[]){M, K, 1})};
        return tc_concat(2, parts, 2);
    }
    const tc_scalar *rv = tc_packed(re), *iv = im ? tc_packed(im) : NULL;
    tc_tensor *y = tc_result(3, (int64_t[]){M, K, 2});
    if (!y || (!rv && M * n != 0)) return NULL;
    for (int64_t q = 0; q < M; q++)
        for (int64_t k = 0; k < K; k++) {
            double sr = 0, si = 0;
            for (int64_t t = 0; t < use; t++) {
                double ang = 2 * M_PI * (double)((t * k) % N) / (double)N, cs = cos(ang), sn = sgn * sin(ang);
                double xr = rv[q * n + t], xi = iv ? iv[q * n + t] : 0;
                sr += xr * cs - xi * sn;
                si += xr * sn + xi * cs;
            }
            y->data[(q * K + k) * 2] = (tc_scalar)(sr * scale);
            y->data[(q * K + k) * 2 + 1] = (tc_scalar)(si * scale);
        }
    return y;
}

tc_status tc_onnx_op_dft(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(1);
    const dft_attrs *a = ATTRS(dft_attrs);
    tc_tensor *x = in[0];
    int r = x->ndim;
    if (r < 3 || (x->shape[r - 1] != 1 && x->shape[r - 1] != 2))
        return tc_onnx_fail(c, TC_ERR_SHAPE, "input %s needs [batch, ..., 1 or 2]", TC_SHP(x));
    int axis = tc_onnx_axis(c, a->axis, r);
    if (axis < 0) return tc_last_status();
    if (axis == 0 || axis == r - 1) return tc_onnx_fail(c, TC_ERR_ARG, "axis %d is the batch or complex axis", axis);
    int64_t N = x->shape[axis];
    if (n_in > 1 && in[1] && tc_numel(in[1])) {
        if (tc_onnx_ints(c, in[1], &N, 1, "dft_length") != 1 || N < 1) return tc_onnx_fail(c, TC_ERR_ARG, "dft_length");
    }
    /* signal axis last: [others..., n] per component */
    int perm[TC_MAX_DIMS], k = 0;
    for (int d = 0; d < r - 1; d++)
        if (d != axis) perm[k++] = d;
    perm[k++] = axis;
    perm[k] = r - 1;
    tc_tensor *t;
    ONNX_TRY(c, t = tc_transpose(x, perm));
    int64_t M = tc_numel(x) / (x->shape[axis] * x->shape[r - 1]), len = x->shape[axis];
    tc_tensor *re, *im = NULL;
    ONNX_TRY(c, re = tc_reshape(tc_narrow(t, r - 1, 0, 1), 2, (int64_t[]){M, len}));
    if (x->shape[r - 1] == 2) ONNX_TRY(c, im = tc_reshape(tc_narrow(t, r - 1, 1, 1), 2, (int64_t[]){M, len}));
    tc_tensor *y;
    ONNX_TRY(c, y = transform(c, re, im, N, a->inverse, a->onesided && !a->inverse));
    int64_t K = y->shape[1], shape[TC_MAX_DIMS];
    for (int d = 0; d < r - 2; d++) shape[d] = t->shape[d];
    shape[r - 2] = K, shape[r - 1] = 2;
    int inv[TC_MAX_DIMS];
    for (int d = 0; d < r; d++) inv[perm[d]] = d;
    ONNX_TRY(c, out[0] = tc_transpose(tc_reshape(y, r, shape), inv));
    return TC_OK;
}

tc_status tc_onnx_op_stft(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(2);
    tc_tensor *x = in[0], *window = n_in > 2 ? in[2] : NULL;
    if (x->ndim != 3 || (x->shape[2] != 1 && x->shape[2] != 2))
        return tc_onnx_fail(c, TC_ERR_SHAPE, "signal %s needs [batch, length, 1 or 2]", TC_SHP(x));
    int64_t step, L = window ? tc_numel(window) : -1;
    if (tc_onnx_ints(c, in[1], &step, 1, "frame_step") != 1 || step < 1) return tc_onnx_fail(c, TC_ERR_ARG, "frame_step");
    if (n_in > 3 && in[3] && tc_numel(in[3])) {
        if (tc_onnx_ints(c, in[3], &L, 1, "frame_length") != 1) return tc_onnx_fail(c, TC_ERR_ARG, "frame_length");
    }
    int64_t B = x->shape[0], len = x->shape[1], ch = x->shape[2];
    if (L < 1 || L > len) return tc_onnx_fail(c, TC_ERR_ARG, "frame length %lld for signals of %lld", (long long)L, (long long)len);
    if (window && tc_numel(window) != L) return tc_onnx_fail(c, TC_ERR_SHAPE, "window %s for frames of %lld", TC_SHP(window), (long long)L);
    int64_t frames = (len - L) / step + 1, M = B * frames;
    /* frames as a pick: [B * frames, L] per component */
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(M * L * ch + 1));
    if (!idx) return tc_last_status();
    tc_tensor *parts[2];
    for (int64_t comp = 0; comp < ch; comp++) {
        for (int64_t b = 0; b < B; b++)
            for (int64_t f = 0; f < frames; f++)
                for (int64_t t = 0; t < L; t++) idx[((b * frames + f) * L) + t] = ((b * len) + f * step + t) * ch + comp;
        ONNX_TRY(c, parts[comp] = tc_onnx_pick(c, 1, &x, idx, 2, (int64_t[]){M, L}));
        if (window) ONNX_TRY(c, parts[comp] = tc_mul(parts[comp], tc_reshape(window, 2, (int64_t[]){1, L})));
    }
    tc_tensor *y;
    ONNX_TRY(c, y = transform(c, parts[0], ch == 2 ? parts[1] : NULL, L, false, ATTRS(dft_attrs)->onesided));
    ONNX_TRY(c, out[0] = tc_reshape(y, 4, (int64_t[]){B, frames, y->shape[1], 2}));
    return TC_OK;
}

/* the triangular mel filters, as ONNX's reference computes them */
tc_status tc_onnx_op_mel_weight_matrix(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n;
    (void)n_out;
    NEED(5);
    double v[5];
    for (int i = 0; i < 5; i++) {
        tc_scalar s;
        if (tc_numel(in[i]) != 1) return tc_onnx_fail(c, TC_ERR_SHAPE, "input %d must be a scalar", i);
        tc_read_values(in[i], &s);
        v[i] = s;
    }
    int64_t mels = (int64_t)v[0], dft = (int64_t)v[1], rate = (int64_t)v[2];
    if (mels < 1 || dft < 1 || rate < 1 || mels > 65536 || dft > (1 << 24)) return tc_onnx_fail(c, TC_ERR_ARG, "bad sizes");
    int64_t bins = dft / 2 + 1;
    int64_t *f = tc_arena_alloc(sizeof *f * (size_t)(mels + 2));
    tc_tensor *y;
    ONNX_TRY(c, y = tc_zeros(2, (int64_t[]){bins, mels}));
    if (!f) return tc_last_status();
    double lo = 2595 * log10(1 + v[3] / 700), hi = 2595 * log10(1 + v[4] / 700), step = (hi - lo) / (double)(mels + 2);
    for (int64_t i = 0; i < mels + 2; i++) {
        double hz = 700 * (pow(10, ((double)i * step + lo) / 2595) - 1);
        f[i] = (int64_t)floor((double)(dft + 1) * hz / (double)rate);
    }
    for (int64_t i = 0; i < mels; i++) {
        int64_t l = f[i], ce = f[i + 1], h = f[i + 2];
        if (l < 0 || h >= bins || ce < l || h < ce) return tc_onnx_fail(c, TC_ERR_ARG, "mel edges outside the spectrum");
        if (ce == l) y->data[ce * mels + i] = 1;
        else
            for (int64_t j = l; j <= ce; j++) y->data[j * mels + i] = (tc_scalar)((double)(j - l) / (double)(ce - l));
        for (int64_t j = ce; j < h; j++) y->data[j * mels + i] = (tc_scalar)((double)(h - j) / (double)(h - ce));
    }
    out[0] = y;
    return TC_OK;
}
