/* Resizing by interpolation, following the ONNX reference. The weights of
 * one output coordinate on one axis (a row of an [out, in] interpolation
 * matrix) are computed here in double: nearest with its rounding modes,
 * linear, cubic with exclude_outside, every coordinate transformation
 * including tf_crop_and_resize with its extrapolation value.
 *  - tc_resize_axis (the ONNX importer's Resize: every mode) multiplies one
 *    axis by the whole matrix; gradients flow through matmul's backward.
 *  - tc_resize / tc_resize_bilinear (nearest and linear) keep only the <= 2
 *    non-zero taps per axis and interpolate all axes in one pass with its
 *    own backward: O(taps) per output instead of O(in). */
#include "ops_internal.h"

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
static bool weights_row(const tc_resize_axis_opts *a, int64_t in, double scale, int64_t o, double roi_lo, double roi_hi, double *row)
{
    double out_w = scale * (double)in; /* the reference uses scale * in, not the integer size */
    double x;
    switch (a->coord) {
    case TC_COORD_ALIGN_CORNERS: x = out_w == 1 ? 0 : o * (double)(in - 1) / (out_w - 1); break;
    case TC_COORD_ASYMMETRIC: x = o / scale; break;
    case TC_COORD_TF_CROP_AND_RESIZE:
        x = out_w == 1 ? (roi_hi - roi_lo) * (in - 1) / 2 : o * (roi_hi - roi_lo) * (in - 1) / (out_w - 1);
        x += roi_lo * (in - 1);
        if (x < 0 || x > in - 1) return false;
        break;
    case TC_COORD_PYTORCH_HALF_PIXEL: x = out_w == 1 ? -0.5 : (o + 0.5) / scale - 0.5; break;
    case TC_COORD_TF_HALF_PIXEL_FOR_NN: x = (o + 0.5) / scale; break;
    default: x = (o + 0.5) / scale - 0.5; break;
    }
    int64_t xi = (int64_t)floor(x);
    double ratio = x == (double)xi ? 1.0 : x - (double)xi;
    double coef[4];
    int nco;
    if (a->mode == TC_RESIZE_NEAREST) {
        nco = 2;
        bool upper;
        if (x == (double)xi) upper = true;
        else if (a->nearest == TC_NEAREST_ROUND_PREFER_FLOOR) upper = ratio > 0.5;
        else if (a->nearest == TC_NEAREST_ROUND_PREFER_CEIL) upper = ratio >= 0.5;
        else upper = a->nearest == TC_NEAREST_CEIL;
        coef[0] = !upper, coef[1] = upper;
    } else if (a->mode == TC_RESIZE_LINEAR) {
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
tc_tensor *tc_resize_axis(tc_tensor *x, int axis, int64_t out, double scale, const tc_resize_axis_opts *a,
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


/* ---- tc_resize: nearest and linear, all spatial axes in one pass ----------------------------
 * Each output coordinate on an axis reads at most 2 input cells (the taps of
 * its interpolation row, from weights_row, so the weights are exactly the
 * ONNX reference's). An output cell is the sum over the 2^axes tap
 * combinations of the product of the weights; the channel loop is innermost.
 * Forward splits output rows over threads; backward scatters per image, so
 * each thread owns whole images of the gradient (no races, fixed order). */
typedef struct {
    int64_t N, C, in[3], out[3];
    int64_t *idx[3];   /* [out][2] input index per tap */
    tc_scalar *w[3];   /* [out][2] weight per tap (0 for an unused tap) */
    const tc_scalar *x;
    tc_scalar *y;
    const tc_scalar *gy;
    tc_scalar *gx;
} resize_plan;

static bool axis_taps(const tc_resize_axis_opts *a, int64_t in, int64_t out, double scale, int64_t *idx, tc_scalar *w)
{
    double *row = tc_arena_alloc(sizeof(double) * (size_t)(in + 1)); /* reports its own error */
    if (!row) return false;
    for (int64_t o = 0; o < out; o++) {
        weights_row(a, in, scale, o, 0, 1, row);
        int k = 0;
        idx[2 * o] = idx[2 * o + 1] = 0;
        w[2 * o] = w[2 * o + 1] = 0;
        for (int64_t i = 0; i < in && k < 2; i++)
            if (row[i] != 0) idx[2 * o + k] = i, w[2 * o + k] = (tc_scalar)row[i], k++;
    }
    return true;
}

/* visits every tap combination of output row (od, oh, ow) of image n */
#define RESIZE_TAPS(p, od, oh, ow, BODY)                                                          \
    for (int td = 0; td < 2; td++) {                                                              \
        tc_scalar wd = (p)->w[0][2 * (od) + td];                                                  \
        if (wd == 0) continue;                                                                    \
        int64_t id = (p)->idx[0][2 * (od) + td];                                                  \
        for (int th = 0; th < 2; th++) {                                                          \
            tc_scalar wh = (p)->w[1][2 * (oh) + th];                                              \
            if (wh == 0) continue;                                                                \
            int64_t ih = (p)->idx[1][2 * (oh) + th];                                              \
            for (int tw = 0; tw < 2; tw++) {                                                      \
                tc_scalar ww = (p)->w[2][2 * (ow) + tw];                                          \
                if (ww == 0) continue;                                                            \
                int64_t iw = (p)->idx[2][2 * (ow) + tw];                                          \
                tc_scalar wt = wd * wh * ww;                                                      \
                int64_t off = (((n * (p)->in[0] + id) * (p)->in[1] + ih) * (p)->in[2] + iw) * (p)->C; \
                BODY                                                                              \
            }                                                                                     \
        }                                                                                         \
    }

static void resize_forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    resize_plan *p = ctx;
    int64_t C = p->C;
    for (int64_t r = lo; r < hi; r++) {
        int64_t ow = r % p->out[2], t = r / p->out[2], oh = t % p->out[1], od = (t / p->out[1]) % p->out[0];
        int64_t n = t / p->out[1] / p->out[0];
        tc_scalar *y = p->y + r * C;
        for (int64_t c = 0; c < C; c++) y[c] = 0;
        RESIZE_TAPS(p, od, oh, ow, {
            const tc_scalar *x = p->x + off;
            for (int64_t c = 0; c < C; c++) y[c] += wt * x[c];
        })
    }
}

static void resize_backward_images(void *ctx, int64_t lo, int64_t hi)
{
    resize_plan *p = ctx;
    int64_t C = p->C, per = p->out[0] * p->out[1] * p->out[2];
    for (int64_t n = lo; n < hi; n++)
        for (int64_t od = 0; od < p->out[0]; od++)
            for (int64_t oh = 0; oh < p->out[1]; oh++)
                for (int64_t ow = 0; ow < p->out[2]; ow++) {
                    const tc_scalar *g = p->gy + (n * per + (od * p->out[1] + oh) * p->out[2] + ow) * C;
                    RESIZE_TAPS(p, od, oh, ow, {
                        tc_scalar *gx = p->gx + off;
                        for (int64_t c = 0; c < C; c++) gx[c] += wt * g[c];
                    })
                }
}

tc_tensor *tc_resize(tc_tensor *x, const int64_t *out_sizes, const tc_resize_params *rp)
{
    TC_CHECK(x, TC_ERR_ARG, "resize: input is NULL");
    TC_CHECK(x->ndim >= 3 && x->ndim <= 5, TC_ERR_SHAPE, "resize: input %s must be [N, W, C], [N, H, W, C] or [N, D, H, W, C]",
             TC_SHP(x));
    TC_CHECK(out_sizes, TC_ERR_ARG, "resize: out_sizes is NULL for input %s", TC_SHP(x));
    static const tc_resize_params defaults = {TC_RESIZE_LINEAR, TC_COORD_HALF_PIXEL, TC_NEAREST_ROUND_PREFER_FLOOR, {0}};
    if (!rp) rp = &defaults;
    TC_CHECK((unsigned)rp->mode <= TC_RESIZE_LINEAR && (unsigned)rp->coord <= TC_COORD_TF_HALF_PIXEL_FOR_NN &&
             (unsigned)rp->nearest <= TC_NEAREST_CEIL, TC_ERR_ARG, "resize: unknown mode for input %s", TC_SHP(x));
    tc_resize_axis_opts a = {rp->mode == TC_RESIZE_NEAREST ? TC_RESIZE_NEAREST : TC_RESIZE_LINEAR, (tc_coord_mode)rp->coord, (tc_nearest_mode)rp->nearest, -0.75, false, 0};
    int nsp = x->ndim - 2;
    resize_plan p = {x->shape[0], x->shape[x->ndim - 1], {1, 1, 1}, {1, 1, 1}};
    int64_t yshape[5] = {p.N};
    yshape[nsp + 1] = p.C;
    for (int i = 0; i < nsp; i++) {
        TC_CHECK(out_sizes[i] > 0 && x->shape[1 + i] > 0, TC_ERR_SHAPE, "resize: axis %d of input %s resized to %lld",
                 i, TC_SHP(x), (long long)out_sizes[i]);
        TC_CHECK(rp->scale[i] >= 0 && isfinite(rp->scale[i]), TC_ERR_ARG, "resize: scale %g on axis %d for input %s",
                 rp->scale[i], i, TC_SHP(x));
        p.in[3 - nsp + i] = x->shape[1 + i];
        p.out[3 - nsp + i] = yshape[1 + i] = out_sizes[i];
    }
    for (int a3 = 0; a3 < 3; a3++) {
        p.idx[a3] = tc_arena_alloc(sizeof(int64_t) * (size_t)(2 * p.out[a3]));
        p.w[a3] = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(2 * p.out[a3]));
        if (!p.idx[a3] || !p.w[a3]) return NULL;
        int i = a3 - (3 - nsp); /* the caller's axis, or < 0 for a padding axis of length 1 */
        double scale = i < 0 ? 1 : rp->scale[i] > 0 ? rp->scale[i] : (double)p.out[a3] / (double)p.in[a3];
        if (i < 0) {
            p.idx[a3][0] = p.idx[a3][1] = 0, p.w[a3][0] = 1, p.w[a3][1] = 0;
        } else if (!axis_taps(&a, p.in[a3], p.out[a3], scale, p.idx[a3], p.w[a3])) {
            return NULL;
        }
    }
    tc_tensor *y = tc_result(x->ndim, yshape);
    p.x = tc_packed(x);
    if (!y || !p.x) return NULL;
    p.y = y->data;
    int64_t rows = p.N * p.out[0] * p.out[1] * p.out[2];
    tc_parallel_for(rows, 1 + 4096 / (p.C + 1), resize_forward_rows, &p);
    tc_node *nd = tc_record(TC_OP_resize, y, 1, &x, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

tc_status tc_backward_resize(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    resize_plan p = *(const resize_plan *)n->saved;
    p.gy = gy->data;
    p.gx = gx->data;
    tc_parallel_for(p.N, 1, resize_backward_images, &p);
    return TC_OK;
}

tc_tensor *tc_resize_bilinear(tc_tensor *x, int64_t out_h, int64_t out_w)
{
    TC_CHECK(x, TC_ERR_ARG, "resize_bilinear: input is NULL");
    TC_CHECK(x->ndim == 4, TC_ERR_SHAPE, "resize_bilinear: input %s must be [N, H, W, C]", TC_SHP(x));
    return tc_resize(x, (int64_t[]){out_h, out_w}, NULL);
}
