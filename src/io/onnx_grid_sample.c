/* ONNX GridSample and RoiAlign. GridSample (opset 16, 4-D): output pixels sampled from X at the
 * grid's normalised coordinates, bilinear, nearest or bicubic, with zeros,
 * border or reflection padding (PyTorch's grid_sample, which ONNX follows).
 * Each interpolation tap is a pick from X (out-of-range taps pick a zero)
 * times a constant weight, so the result is differentiable in X; a grid that
 * requires a gradient is refused rather than given a wrong (zero) one. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    bool align_corners;
    int mode;    /* 0 bilinear, 1 nearest, 2 bicubic */
    int padding; /* 0 zeros, 1 border, 2 reflection */
} gs_attrs;

tc_status tc_onnx_prep_grid_sample(tc_onnx_model *m, onnx_node *n)
{
    (void)m;
    gs_attrs *a = ATTRS_NEW(gs_attrs);
    if (!a) return tc_last_status();
    a->align_corners = tc_onnx_attr_int(n, "align_corners", 0) != 0;
    const char *mode = tc_onnx_attr_string(n, "mode", "bilinear"), *pad = tc_onnx_attr_string(n, "padding_mode", "zeros");
    if (!strcmp(mode, "bilinear")) a->mode = 0;
    else if (!strcmp(mode, "nearest")) a->mode = 1;
    else if (!strcmp(mode, "bicubic")) a->mode = 2;
    else return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "mode '%s'", mode);
    if (!strcmp(pad, "zeros")) a->padding = 0;
    else if (!strcmp(pad, "border")) a->padding = 1;
    else if (!strcmp(pad, "reflection")) a->padding = 2;
    else return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "padding_mode '%s'", pad);
    return TC_OK;
}

static double reflect(double x, double lo, double hi)
{
    if (lo == hi) return 0;
    double span = hi - lo, d = fabs(x - lo);
    double flips = floor(d / span), extra = fmod(d, span);
    return fmod(flips, 2) == 0 ? lo + extra : hi - extra;
}

/* a source coordinate after the padding rule (border / reflection) */
static double pad_coord(const gs_attrs *a, double x, int64_t size)
{
    if (a->padding == 1) return fmin(fmax(x, 0), (double)(size - 1));
    if (a->padding == 2) {
        x = a->align_corners ? reflect(x, 0, (double)(size - 1)) : reflect(x, -0.5, (double)size - 0.5);
        return fmin(fmax(x, 0), (double)(size - 1));
    }
    return x;
}

static void cubic_weights(double t, double *w)
{
    const double A = -0.75;
    double x;
    x = t + 1, w[0] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    x = t, w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 1 - t, w[2] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 2 - t, w[3] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

tc_status tc_onnx_op_grid_sample(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(2);
    const gs_attrs *a = ATTRS(gs_attrs);
    tc_tensor *x = in[0], *grid = in[1];
    if (x->ndim != 4 || grid->ndim != 4 || grid->shape[0] != x->shape[0] || grid->shape[3] != 2)
        return tc_onnx_fail(c, TC_ERR_SHAPE, "X %s and grid %s do not fit [N, C, H, W] / [N, Ho, Wo, 2]", TC_SHP(x), TC_SHP(grid));
    if (tc_onnx_wants_grad(1, &grid)) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "gradients with respect to the grid");
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], Ho = grid->shape[1], Wo = grid->shape[2];
    int64_t total = N * C * Ho * Wo, zero_at = tc_numel(x);
    const tc_scalar *gv = tc_packed(grid);
    int taps = a->mode == 0 ? 4 : a->mode == 1 ? 1 : 16;
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(total * taps + 1));
    tc_tensor *zero, *wt = tc_result(4, (int64_t[]){(int64_t)taps, N, Ho, Wo});
    ONNX_TRY(c, zero = tc_scalar_tensor(0));
    if (!idx || !wt || (!gv && total)) return tc_onnx_check(c, NULL);
    for (int64_t b = 0; b < N; b++)
        for (int64_t h = 0; h < Ho; h++)
            for (int64_t w = 0; w < Wo; w++) {
                const tc_scalar *g = gv + ((b * Ho + h) * Wo + w) * 2;
                double gx = g[0], gy = g[1];
                double ix = a->align_corners ? (gx + 1) / 2 * (double)(W - 1) : ((gx + 1) * (double)W - 1) / 2;
                double iy = a->align_corners ? (gy + 1) / 2 * (double)(H - 1) : ((gy + 1) * (double)H - 1) / 2;
                int64_t ty[16], tx[16];
                double tw[16];
                if (a->mode == 2) { /* bicubic: the padding rule on each tap */
                    double x0 = floor(ix), y0 = floor(iy), wx[4], wy[4];
                    cubic_weights(ix - x0, wx);
                    cubic_weights(iy - y0, wy);
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++) {
                            int k = i * 4 + j;
                            double yy = y0 - 1 + i, xx = x0 - 1 + j;
                            if (a->padding) yy = pad_coord(a, yy, H), xx = pad_coord(a, xx, W);
                            ty[k] = (int64_t)yy, tx[k] = (int64_t)xx, tw[k] = wy[i] * wx[j];
                            if (yy != floor(yy) || xx != floor(xx)) ty[k] = -1; /* cannot happen; be safe */
                        }
                } else {
                    ix = pad_coord(a, ix, W), iy = pad_coord(a, iy, H);
                    if (a->mode == 1) {
                        ty[0] = (int64_t)nearbyint(iy), tx[0] = (int64_t)nearbyint(ix), tw[0] = 1;
                    } else {
                        double x0 = floor(ix), y0 = floor(iy), fx = ix - x0, fy = iy - y0;
                        for (int k = 0; k < 4; k++) {
                            ty[k] = (int64_t)y0 + (k >> 1), tx[k] = (int64_t)x0 + (k & 1);
                            tw[k] = ((k >> 1) ? fy : 1 - fy) * ((k & 1) ? fx : 1 - fx);
                        }
                    }
                }
                for (int k = 0; k < taps; k++) {
                    bool inside = ty[k] >= 0 && ty[k] < H && tx[k] >= 0 && tx[k] < W;
                    wt->data[((k * N + b) * Ho + h) * Wo + w] = (tc_scalar)(inside ? tw[k] : 0);
                    for (int64_t ch = 0; ch < C; ch++)
                        idx[(int64_t)k * total + ((b * C + ch) * Ho + h) * Wo + w] =
                            inside ? ((b * C + ch) * H + ty[k]) * W + tx[k] : zero_at;
                }
            }
    int64_t oshape[4] = {N, C, Ho, Wo};
    tc_tensor *y = NULL;
    for (int k = 0; k < taps; k++) {
        tc_tensor *p, *wk;
        ONNX_TRY(c, p = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx + (int64_t)k * total, 4, oshape));
        ONNX_TRY(c, wk = tc_reshape(tc_narrow(wt, 0, k, 1), 4, (int64_t[]){N, 1, Ho, Wo}));
        ONNX_TRY(c, p = tc_mul(p, wk));
        ONNX_TRY(c, y = y ? tc_add(y, p) : p);
    }
    out[0] = y;
    return TC_OK;
}

/* ---- RoiAlign (opset 10 / 16, average mode) ---------------------------------
 * Each output bin averages bilinear samples of X (PyTorch's / onnxruntime's
 * roi_align); every sample tap is a pick with a constant weight, so the
 * result is differentiable in X. */
typedef struct {
    bool half_pixel;
    int64_t oh, ow, sampling;
    float scale;
} roi_attrs;

tc_status tc_onnx_prep_roi_align(tc_onnx_model *m, onnx_node *n)
{
    roi_attrs *a = ATTRS_NEW(roi_attrs);
    if (!a) return tc_last_status();
    const char *mode = tc_onnx_attr_string(n, "mode", "avg");
    if (strcmp(mode, "avg")) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "mode '%s' (avg only)", mode);
    const char *ct = tc_onnx_attr_string(n, "coordinate_transformation_mode", m->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel"))
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'", ct);
    a->half_pixel = !strcmp(ct, "half_pixel");
    a->oh = tc_onnx_attr_int(n, "output_height", 1);
    a->ow = tc_onnx_attr_int(n, "output_width", 1);
    a->sampling = tc_onnx_attr_int(n, "sampling_ratio", 0);
    a->scale = tc_onnx_attr_float(n, "spatial_scale", 1.0f);
    if (a->oh < 1 || a->ow < 1 || a->oh > 4096 || a->ow > 4096 || a->sampling < 0)
        return tc_onnx_prep_fail(n, TC_ERR_ARG, "output size %lld x %lld, sampling_ratio %lld", (long long)a->oh,
                                 (long long)a->ow, (long long)a->sampling);
    return TC_OK;
}

tc_status tc_onnx_op_roi_align(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(3);
    const roi_attrs *a = ATTRS(roi_attrs);
    tc_tensor *x = in[0], *rois = in[1];
    if (x->ndim != 4 || rois->ndim != 2 || rois->shape[1] != 4 || tc_numel(in[2]) != rois->shape[0])
        return tc_onnx_fail(c, TC_ERR_SHAPE, "X %s, rois %s, batch_indices %s", TC_SHP(x), TC_SHP(rois), TC_SHP(in[2]));
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], R = rois->shape[0];
    const tc_scalar *rv = tc_packed(rois), *bv = tc_packed(in[2]);
    if ((!rv || !bv) && R) return tc_onnx_check(c, NULL);
    /* the most taps of one bin, over all rois */
    int64_t taps = 1;
    double off = a->half_pixel ? 0.5 : 0;
    for (int64_t r = 0; r < R; r++) {
        double rh = (rv[4 * r + 3] - rv[4 * r + 1]) * a->scale, rw = (rv[4 * r + 2] - rv[4 * r]) * a->scale;
        if (!a->half_pixel) rh = fmax(rh, 1), rw = fmax(rw, 1);
        int64_t gh = a->sampling ? a->sampling : (int64_t)ceil(rh / (double)a->oh);
        int64_t gw = a->sampling ? a->sampling : (int64_t)ceil(rw / (double)a->ow);
        if (gh > 1024 || gw > 1024) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "%lld x %lld samples per bin", (long long)gh, (long long)gw);
        if (4 * gh * gw > taps) taps = 4 * gh * gw;
    }
    int64_t bins = R * C * a->oh * a->ow, zero_at = tc_numel(x);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(bins * taps + 1));
    tc_tensor *wt = tc_zeros(2, (int64_t[]){bins, taps}), *zero = tc_scalar_tensor(0);
    if (!idx || !wt || !zero) return tc_onnx_check(c, NULL);
    for (int64_t q = 0; q < bins * taps; q++) idx[q] = zero_at;
    for (int64_t r = 0; r < R; r++) {
        int64_t b = (int64_t)bv[r];
        if (b < 0 || b >= N) return tc_onnx_fail(c, TC_ERR_ARG, "batch index %lld of roi %lld", (long long)b, (long long)r);
        double sw = rv[4 * r] * a->scale - off, sh = rv[4 * r + 1] * a->scale - off;
        double rw = rv[4 * r + 2] * a->scale - off - sw, rh = rv[4 * r + 3] * a->scale - off - sh;
        if (!a->half_pixel) rh = fmax(rh, 1), rw = fmax(rw, 1);
        double bh = rh / (double)a->oh, bw = rw / (double)a->ow;
        int64_t gh = a->sampling ? a->sampling : (int64_t)ceil(rh / (double)a->oh);
        int64_t gw = a->sampling ? a->sampling : (int64_t)ceil(rw / (double)a->ow);
        double count = (double)(gh * gw > 0 ? gh * gw : 1);
        for (int64_t ph = 0; ph < a->oh; ph++)
            for (int64_t pw = 0; pw < a->ow; pw++) {
                int64_t t = 0;
                for (int64_t iy = 0; iy < gh; iy++)
                    for (int64_t ix = 0; ix < gw; ix++) {
                        double y = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                        double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                        if (y < -1 || y > (double)H || xx < -1 || xx > (double)W) { t += 4; continue; }
                        y = fmax(y, 0), xx = fmax(xx, 0);
                        int64_t y0 = (int64_t)y, x0 = (int64_t)xx, y1, x1;
                        if (y0 >= H - 1) y0 = y1 = H - 1, y = (double)y0;
                        else y1 = y0 + 1;
                        if (x0 >= W - 1) x0 = x1 = W - 1, xx = (double)x0;
                        else x1 = x0 + 1;
                        double ly = y - (double)y0, lx = xx - (double)x0, hy = 1 - ly, hx = 1 - lx;
                        int64_t ys[4] = {y0, y0, y1, y1}, xs[4] = {x0, x1, x0, x1};
                        double ws[4] = {hy * hx, hy * lx, ly * hx, ly * lx};
                        for (int k = 0; k < 4; k++, t++)
                            for (int64_t ch = 0; ch < C; ch++) {
                                int64_t bin = ((r * C + ch) * a->oh + ph) * a->ow + pw;
                                idx[bin * taps + t] = ((b * C + ch) * H + ys[k]) * W + xs[k];
                                wt->data[bin * taps + t] = (tc_scalar)(ws[k] / count);
                            }
                    }
            }
    }
    tc_tensor *p;
    ONNX_TRY(c, p = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx, 2, (int64_t[]){bins, taps}));
    ONNX_TRY(c, p = tc_sum(tc_mul(p, wt), 1, (int[]){1}, false));
    ONNX_TRY(c, out[0] = tc_reshape(p, 4, (int64_t[]){R, C, a->oh, a->ow}));
    return TC_OK;
}

/* ---- MaxRoiPool (opset 1) ------------------------------------------------------
 * Caffe's RoI max pooling, as onnxruntime and torchvision's roi_pool compute
 * it: roi corners scaled and rounded (halves away from zero), the roi split
 * into pooled_shape bins of floor/ceil bounds, each bin's maximum (an empty
 * bin gives 0). The maxima are found from the values, then picked, so the
 * gradient goes to each bin's maximum. */
tc_status tc_onnx_op_max_roi_pool(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(2);
    int64_t ps[2];
    if (tc_onnx_attr_ints(n, "pooled_shape", ps, 2) != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > 4096 || ps[1] > 4096)
        return tc_onnx_fail(c, TC_ERR_ARG, "pooled_shape must be two positive values");
    double scale = tc_onnx_attr_float(n, "spatial_scale", 1.0f);
    tc_tensor *x = in[0], *rois = in[1];
    if (x->ndim != 4 || rois->ndim != 2 || rois->shape[1] != 5)
        return tc_onnx_fail(c, TC_ERR_SHAPE, "X %s, rois %s (need [N, C, H, W] and [R, 5])", TC_SHP(x), TC_SHP(rois));
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], R = rois->shape[0];
    int64_t OH = ps[0], OW = ps[1], bins = R * C * OH * OW, zero_at = tc_numel(x);
    const tc_scalar *rv = tc_packed(rois), *xv = tc_packed(x);
    int64_t *idx = tc_arena_alloc(sizeof *idx * (size_t)(bins + 1));
    tc_tensor *zero = tc_scalar_tensor(0);
    if ((!rv && R) || (!xv && zero_at) || !idx || !zero) return tc_onnx_check(c, NULL);
    for (int64_t r = 0; r < R; r++) {
        const tc_scalar *q = rv + 5 * r;
        int64_t b = (int64_t)q[0];
        if (b < 0 || b >= N) return tc_onnx_fail(c, TC_ERR_ARG, "batch index %lld of roi %lld", (long long)b, (long long)r);
        int64_t x1 = (int64_t)round(q[1] * scale), y1 = (int64_t)round(q[2] * scale);
        int64_t x2 = (int64_t)round(q[3] * scale), y2 = (int64_t)round(q[4] * scale);
        double rh = (double)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1), rw = (double)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1);
        double bh = rh / (double)OH, bw = rw / (double)OW;
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t ph = 0; ph < OH; ph++)
                for (int64_t pw = 0; pw < OW; pw++) {
                    int64_t hs = (int64_t)floor((double)ph * bh) + y1, he = (int64_t)ceil((double)(ph + 1) * bh) + y1;
                    int64_t ws = (int64_t)floor((double)pw * bw) + x1, we = (int64_t)ceil((double)(pw + 1) * bw) + x1;
                    hs = hs < 0 ? 0 : hs > H ? H : hs, he = he < 0 ? 0 : he > H ? H : he;
                    ws = ws < 0 ? 0 : ws > W ? W : ws, we = we < 0 ? 0 : we > W ? W : we;
                    int64_t at = zero_at; /* empty bin: 0 */
                    const tc_scalar *plane = xv + (b * C + ch) * H * W;
                    for (int64_t h = hs; h < he; h++)
                        for (int64_t w = ws; w < we; w++)
                            if (at == zero_at || plane[h * W + w] > xv[at]) at = (b * C + ch) * H * W + h * W + w;
                    idx[((r * C + ch) * OH + ph) * OW + pw] = at;
                }
    }
    ONNX_TRY(c, out[0] = tc_onnx_pick(c, 2, (tc_tensor *[]){x, zero}, idx, 4, (int64_t[]){R, C, OH, OW}));
    return TC_OK;
}
