/* ONNX Resize and Upsample. Resizing is separable and linear in the input,
 * so each resized axis is one matrix product with an [out, in] matrix of
 * interpolation weights computed here in double, following the ONNX
 * reference (nearest with its rounding modes, linear, cubic with
 * exclude_outside, every coordinate transformation incl. tf_crop_and_resize
 * with its extrapolation value). Gradients flow through the products. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

typedef enum { M_NEAREST, M_LINEAR, M_CUBIC } rmode;
typedef enum { C_HALF_PIXEL, C_PYTORCH_HALF_PIXEL, C_ALIGN_CORNERS, C_ASYMMETRIC, C_TF_HALF_PIXEL_FOR_NN,
               C_TF_CROP_AND_RESIZE } rcoord;
typedef enum { N_PREFER_FLOOR, N_PREFER_CEIL, N_FLOOR, N_CEIL } rnearest;

typedef struct {
    rmode mode;
    rcoord coord;
    rnearest nearest;
    double cubic_a;
    bool exclude_outside;
    double extrapolation;
} rattrs;

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
static tc_tensor *resize_axis(onnx_ctx *c, tc_tensor *x, int axis, int64_t out, double scale, const rattrs *a,
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

static tc_status resize(onnx_ctx *c, tc_tensor *x, const double *scales, const int64_t *sizes, const double *roi,
                        const rattrs *a, tc_tensor **out)
{
    tc_tensor *y = x;
    for (int d = 0; d < x->ndim; d++) {
        int64_t in = x->shape[d], o;
        double scale;
        if (sizes) {
            o = sizes[d];
            scale = (double)o / (double)in;
        } else {
            scale = scales[d];
            o = (int64_t)floor((double)in * scale);
        }
        if (o <= 0 || in <= 0) return tc_onnx_fail(c, TC_ERR_SHAPE, "axis %d: size %lld resized to %lld", d, (long long)in, (long long)o);
        bool identity = o == in && scale == 1.0 && a->coord != C_TF_CROP_AND_RESIZE;
        if (identity) continue;
        ONNX_TRY(c, y = resize_axis(c, y, d, o, scale, a, roi ? roi[d] : 0, roi ? roi[d + x->ndim] : 1));
    }
    if (y == x) ONNX_TRY(c, y = tc_mul_scalar(x, 1));
    *out = y;
    return TC_OK;
}

static tc_status read_attrs(onnx_ctx *c, const Onnx__NodeProto *n, rattrs *a, const char *default_coord)
{
    char mode[32], coord[40], nearest[40];
    snprintf(mode, sizeof mode, "%s", tc_onnx_attr_string(n, "mode", "nearest"));
    snprintf(coord, sizeof coord, "%s", tc_onnx_attr_string(n, "coordinate_transformation_mode", default_coord));
    snprintf(nearest, sizeof nearest, "%s", tc_onnx_attr_string(n, "nearest_mode", "round_prefer_floor"));
    if (!strcmp(mode, "nearest")) a->mode = M_NEAREST;
    else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) a->mode = M_LINEAR;
    else if (!strcmp(mode, "cubic")) a->mode = M_CUBIC;
    else return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "mode '%s'", mode);
    static const char *coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                   "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    int ci = -1;
    for (int i = 0; i < 6; i++)
        if (!strcmp(coord, coords[i])) ci = i;
    if (ci < 0) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'", coord);
    a->coord = (rcoord)ci;
    static const char *nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int ni = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(nearest, nears[i])) ni = i;
    if (ni < 0) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "nearest_mode '%s'", nearest);
    a->nearest = (rnearest)ni;
    a->cubic_a = tc_onnx_attr_float(n, "cubic_coeff_a", -0.75f);
    a->exclude_outside = tc_onnx_attr_int(n, "exclude_outside", 0) != 0;
    a->extrapolation = tc_onnx_attr_float(n, "extrapolation_value", 0);
    return TC_OK;
}

static int read_doubles(onnx_ctx *c, const tc_tensor *t, double *v, int max)
{
    int64_t k = tc_numel(t);
    if (k > max) return -1;
    tc_scalar tmp[2 * TC_MAX_DIMS];
    tc_read_values(t, tmp);
    for (int64_t i = 0; i < k; i++) v[i] = tmp[i];
    return (int)k;
}

tc_status tc_onnx_op_resize(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    if (n_in < 1 || !in[0]) return tc_onnx_fail(c, TC_ERR_ARG, "input is missing");
    tc_tensor *x = in[0];
    int r = x->ndim;
    rattrs a;
    tc_status s = read_attrs(c, n, &a, c->m->opset >= 11 ? "half_pixel" : "asymmetric");
    if (s) return s;
    double scales[TC_MAX_DIMS], roi[2 * TC_MAX_DIMS];
    int64_t sizes[TC_MAX_DIMS];
    bool have_roi = false, have_sizes = false, have_scales = false;
    tc_tensor *t_scales = c->m->opset >= 11 ? (n_in > 2 ? in[2] : NULL) : (n_in > 1 ? in[1] : NULL);
    tc_tensor *t_sizes = c->m->opset >= 11 && n_in > 3 ? in[3] : NULL;
    if (c->m->opset >= 11 && n_in > 1 && in[1] && tc_numel(in[1]) > 0) {
        if (read_doubles(c, in[1], roi, 2 * TC_MAX_DIMS) != 2 * r) return tc_onnx_fail(c, TC_ERR_SHAPE, "roi must have %d values", 2 * r);
        have_roi = true;
    }
    if (t_sizes && tc_numel(t_sizes) > 0) {
        if (tc_onnx_ints(c, t_sizes, sizes, TC_MAX_DIMS, "sizes") != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "sizes must have %d values", r);
        have_sizes = true;
    } else if (t_scales && tc_numel(t_scales) > 0) {
        if (read_doubles(c, t_scales, scales, TC_MAX_DIMS) != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "scales must have %d values", r);
        have_scales = true;
    }
    if (!have_sizes && !have_scales) return tc_onnx_fail(c, TC_ERR_ARG, "needs scales or sizes");
    return resize(c, x, have_scales ? scales : NULL, have_sizes ? sizes : NULL, have_roi ? roi : NULL, &a, out);
}

tc_status tc_onnx_op_upsample(onnx_ctx *c, const Onnx__NodeProto *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    if (n_in < 1 || !in[0]) return tc_onnx_fail(c, TC_ERR_ARG, "input is missing");
    int r = in[0]->ndim;
    rattrs a = {0};
    char mode[32];
    snprintf(mode, sizeof mode, "%s", tc_onnx_attr_string(n, "mode", "nearest"));
    a.mode = !strcmp(mode, "nearest") ? M_NEAREST : M_LINEAR;
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "bilinear"))
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "mode '%s'", mode);
    a.coord = C_ASYMMETRIC;
    a.nearest = N_FLOOR;
    double scales[TC_MAX_DIMS];
    float fs[TC_MAX_DIMS];
    int k;
    if (n_in > 1 && in[1]) k = read_doubles(c, in[1], scales, TC_MAX_DIMS);
    else {
        k = tc_onnx_attr_floats(n, "scales", fs, TC_MAX_DIMS);
        for (int i = 0; i < k && i < TC_MAX_DIMS; i++) scales[i] = fs[i];
    }
    if (k != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "scales must have %d values", r);
    return resize(c, in[0], scales, NULL, NULL, &a, out);
}
