/* Resizing by interpolation. Resizing is separable and linear in the input,
 * so each resized axis is one matrix product with an [out, in] matrix of
 * interpolation weights, computed here in double following the ONNX
 * reference: nearest with its rounding modes, linear, cubic with
 * exclude_outside, and every coordinate transformation including
 * tf_crop_and_resize with its extrapolation value. Gradients flow through
 * the products (matmul's backward). */
#include "../core/internal.h"
#include "resize.h"

#include <math.h>
#include <stdlib.h>


/* n nearest indexes to x among [lo, hi), preferring smaller ones on ties */
static int neighbours(double x, int n, int64_t lo, int64_t hi, int64_t *idx)
{
    int k = 0;
    int64_t base = (int64_t)floor(x) - n; /* candidates around x */
    int64_t cand[16];
    int nc = 0;
    for (int64_t i = base; i <= base + 2 * n + 1 && nc < 16; i++)
        if (i >= lo && i < hi) cand[nc++] = i;
    bool used[16] = {0};
    for (k = 0; k < n && k < nc; k++) {
        int best = -1;
        for (int j = 0; j < nc; j++) {
            if (used[j]) continue;
            if (best < 0 || fabs(x - cand[j]) < fabs(x - cand[best])) best = j;
        }
        used[best] = true;
    }
    k = 0;
    for (int j = 0; j < nc; j++)
        if (used[j]) idx[k++] = cand[j];
    return k;
}

/* Row of weights for output coordinate o; returns false for an
 * extrapolated (constant) output. */
static bool weights_row(const rattrs *a, int64_t in, double scale, int64_t o, double roi_lo, double roi_hi, double *row)
{
    double out_w = scale * (double)in; /* the reference uses scale * in, not the integer size */
    double x;
    switch (a->coord) {
    case C_ALIGN_CORNERS: x = out_w == 1 ? 0 : o * (double)(in - 1) / (out_w - 1); break;
    case C_ASYMMETRIC: x = o / scale; break;
    case C_TF_CROP_AND_RESIZE:
        x = out_w == 1 ? (roi_hi - roi_lo) * (in - 1) / 2 : o * (roi_hi - roi_lo) * (in - 1) / (out_w - 1);
        x += roi_lo * (in - 1);
        if (x < 0 || x > in - 1) return false;
        break;
    case C_PYTORCH_HALF_PIXEL: x = out_w == 1 ? -0.5 : (o + 0.5) / scale - 0.5; break;
    case C_TF_HALF_PIXEL_FOR_NN: x = (o + 0.5) / scale; break;
    default: x = (o + 0.5) / scale - 0.5; break;
    }
    int64_t xi = (int64_t)floor(x);
    double ratio = x == (double)xi ? 1.0 : x - (double)xi;
    double coef[4];
    int nco;
    if (a->mode == M_NEAREST) {
        nco = 2;
        bool upper;
        if (x == (double)xi) upper = true;
        else if (a->nearest == N_PREFER_FLOOR) upper = ratio > 0.5;
        else if (a->nearest == N_PREFER_CEIL) upper = ratio >= 0.5;
        else upper = a->nearest == N_CEIL;
        coef[0] = !upper, coef[1] = upper;
    } else if (a->mode == M_LINEAR) {
        nco = 2;
        coef[0] = 1 - ratio, coef[1] = ratio;
    } else {
        nco = 4;
        double A = a->cubic_a, r = ratio, s = 1 - ratio;
        coef[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
        coef[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
        coef[2] = ((A + 2) * s - (A + 3)) * s * s + 1;
        coef[3] = ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A;
    }
    /* neighbours in the edge-padded axis, as the reference does */
    int pad = (nco + 1) / 2;
    int64_t idx[4];
    neighbours(x + pad, nco, 0, in + 2 * pad, idx);
    double sum = 0;
    for (int j = 0; j < nco; j++) {
        idx[j] -= pad;
        if (a->exclude_outside && (idx[j] < 0 || idx[j] >= in)) coef[j] = 0;
        sum += coef[j];
    }
    for (int64_t i = 0; i < in; i++) row[i] = 0;
    for (int j = 0; j < nco; j++) {
        double cj = a->exclude_outside ? coef[j] / sum : coef[j];
        int64_t at = idx[j] < 0 ? 0 : idx[j] >= in ? in - 1 : idx[j];
        row[at] += cj;
    }
    return true;
}

/* Resize axis `axis` of x to `out` entries. */
tc_tensor *tc_resize_axis(tc_tensor *x, int axis, int64_t out, double scale, const rattrs *a,
                              double roi_lo, double roi_hi)
{
    int64_t in = x->shape[axis];
    tc_tensor *wt = tc_zeros(TC_SHAPE(in, out)); /* transposed weights */
    tc_tensor *bias = tc_zeros(TC_SHAPE(out));
    double *row = malloc(sizeof(double) * (size_t)(in + 1));
    if (!wt || !bias || !row) {
        free(row);
        return NULL;
    }
    bool any_extra = false;
    for (int64_t o = 0; o < out; o++) {
        if (weights_row(a, in, scale, o, roi_lo, roi_hi, row)) {
            for (int64_t i = 0; i < in; i++) wt->data[i * out + o] = (tc_scalar)row[i];
        } else {
            bias->data[o] = (tc_scalar)a->extrapolation;
            any_extra = true;
        }
    }
    free(row);
    /* move the axis last, multiply, move it back */
    int r = x->ndim, perm[TC_MAX_DIMS], inv[TC_MAX_DIMS];
    for (int i = 0, k = 0; i < r; i++)
        if (i != axis) perm[k++] = i;
    perm[r - 1] = axis;
    for (int i = 0; i < r; i++) inv[perm[i]] = i;
    tc_tensor *y = tc_matmul(tc_transpose(x, perm), wt);
    if (any_extra) y = tc_add(y, bias);
    return tc_transpose(y, inv);
}


tc_tensor *tc_resize(tc_tensor *x, const int64_t *out_sizes, const tc_resize_params *rp)
{
    TC_CHECK(x, TC_ERR_ARG, "resize: input is NULL");
    TC_CHECK(x->ndim >= 3 && x->ndim <= 5, TC_ERR_SHAPE, "resize: input %s must be [N, spatial..., C]", TC_SHP(x));
    TC_CHECK(out_sizes, TC_ERR_ARG, "resize: out_sizes is NULL for input %s", TC_SHP(x));
    static const tc_resize_params defaults = {TC_RESIZE_LINEAR, TC_COORD_HALF_PIXEL, TC_NEAREST_ROUND_PREFER_FLOOR, {0}};
    if (!rp) rp = &defaults;
    TC_CHECK((unsigned)rp->mode <= TC_RESIZE_LINEAR && (unsigned)rp->coord <= TC_COORD_TF_HALF_PIXEL_FOR_NN &&
             (unsigned)rp->nearest <= TC_NEAREST_CEIL, TC_ERR_ARG, "resize: unknown mode for input %s", TC_SHP(x));
    rattrs a = {rp->mode == TC_RESIZE_NEAREST ? M_NEAREST : M_LINEAR, (rcoord)rp->coord, (rnearest)rp->nearest, -0.75, false, 0};
    tc_tensor *y = x;
    for (int i = 0; i < x->ndim - 2; i++) {
        TC_CHECK(out_sizes[i] > 0, TC_ERR_SHAPE, "resize: output size %lld for axis %d of %s", (long long)out_sizes[i], i, TC_SHP(x));
        double scale = rp->scale[i] > 0 ? rp->scale[i] : (double)out_sizes[i] / (double)x->shape[1 + i];
        if (out_sizes[i] == x->shape[1 + i] && scale == 1) continue;
        y = tc_resize_axis(y, 1 + i, out_sizes[i], scale, &a, 0, 1);
        if (!y) return NULL;
    }
    return y == x ? tc_mul_scalar(x, 1) : y;
}

tc_tensor *tc_resize_bilinear(tc_tensor *x, int64_t out_h, int64_t out_w)
{
    TC_CHECK(x, TC_ERR_ARG, "resize_bilinear: input is NULL");
    TC_CHECK(x->ndim == 4, TC_ERR_SHAPE, "resize_bilinear: input %s must be [N, H, W, C]", TC_SHP(x));
    return tc_resize(x, (int64_t[]){out_h, out_w}, NULL);
}
