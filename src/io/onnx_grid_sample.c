/* ONNX GridSample (opset 16, 4-D): output pixels sampled from X at the
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
