/* ONNX ConvTranspose as the convolution it is the transpose of: the input
 * with stride-1 zeros between its elements, padded by (dilated kernel - 1 -
 * pad) on each side (+ output_padding at the end; negative amounts crop),
 * convolved at stride 1 with the spatially flipped kernel whose in/out
 * channels are swapped per group. Every step is a tensorcook op with a
 * backward (reshape, pad, slice, transpose, conv), so the layer trains; the
 * zeros cost stride^d more multiplications than a direct kernel would. */
#include "onnx_run.h"

#include <stdlib.h>

typedef struct {
    int group;
    int padding;          /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    int n_strides, n_dil, n_pads, n_outpad, n_outshape, n_kernel;
    int64_t strides[3], dil[3], pads[6], outpad[3], outshape[3], kernel[3];
} ct_attrs;

tc_status tc_onnx_prep_conv_transpose(tc_onnx_model *m, onnx_node *n)
{
    (void)m;
    ct_attrs *a = ATTRS_NEW(ct_attrs);
    if (!a) return tc_last_status();
    a->group = (int)tc_onnx_attr_int(n, "group", 1);
    a->n_strides = tc_onnx_attr_ints(n, "strides", a->strides, 3);
    a->n_dil = tc_onnx_attr_ints(n, "dilations", a->dil, 3);
    a->n_pads = tc_onnx_attr_ints(n, "pads", a->pads, 6);
    a->n_outpad = tc_onnx_attr_ints(n, "output_padding", a->outpad, 3);
    a->n_outshape = tc_onnx_attr_ints(n, "output_shape", a->outshape, 3);
    a->n_kernel = tc_onnx_attr_ints(n, "kernel_shape", a->kernel, 3);
    const char *ap = tc_onnx_attr_string(n, "auto_pad", "NOTSET");
    static const char *modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    a->padding = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(ap, modes[i])) a->padding = i;
    if (a->padding < 0) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    if (a->group < 1) return tc_onnx_prep_fail(n, TC_ERR_ARG, "group %d", a->group);
    return TC_OK;
}

/* stride-1 zeros between the elements of axis `axis` of a tensor */
static tc_tensor *dilate_axis(tc_tensor *x, int axis, int64_t s)
{
    if (s == 1 || !x) return x;
    int64_t L = x->shape[axis], pre = tc_shape_numel(axis, x->shape), post = tc_shape_numel(x->ndim - axis - 1, x->shape + axis + 1);
    tc_tensor *t = tc_reshape(x, 4, (int64_t[]){pre, L, 1, post});
    t = tc_pad(t, (int64_t[]){0, 0, 0, 0}, (int64_t[]){0, 0, s - 1, 0}, TC_PAD_CONSTANT, 0);
    t = tc_reshape(t, 3, (int64_t[]){pre, L * s, post});
    t = tc_narrow(t, 1, 0, (L - 1) * s + 1);
    int64_t shape[TC_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = d == axis ? (L - 1) * s + 1 : x->shape[d];
    return tc_reshape(t, x->ndim, shape);
}

tc_status tc_onnx_op_conv_transpose(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    (void)n_out;
    NEED(2);
    const ct_attrs *a = ATTRS(ct_attrs);
    tc_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    int nsp = x->ndim - 2, g = a->group;
    if (nsp < 1 || nsp > 3) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "%d spatial dimensions (1 to 3 supported)", nsp);
    if (w->ndim != x->ndim) return tc_onnx_fail(c, TC_ERR_SHAPE, "weights %s for input %s", TC_SHP(w), TC_SHP(x));
    int64_t C = x->shape[1], Mg = w->shape[1], M = Mg * g;
    if (w->shape[0] != C || C % g) return tc_onnx_fail(c, TC_ERR_SHAPE, "weights %s do not fit input %s with group %d", TC_SHP(w), TC_SHP(x), g);
    if ((a->n_strides >= 0 && a->n_strides != nsp) || (a->n_dil >= 0 && a->n_dil != nsp) ||
        (a->n_pads >= 0 && a->n_pads != 2 * nsp) || (a->n_outpad >= 0 && a->n_outpad != nsp) ||
        (a->n_outshape >= 0 && a->n_outshape != nsp && a->n_outshape != nsp + 2))
        return tc_onnx_fail(c, TC_ERR_ARG, "strides, dilations, pads, output_padding or output_shape do not fit %d spatial axes", nsp);
    int64_t s[3], d[3], k[3], op[3], pb[3], pe[3];
    for (int i = 0; i < nsp; i++) {
        s[i] = a->n_strides > 0 ? a->strides[i] : 1;
        d[i] = a->n_dil > 0 ? a->dil[i] : 1;
        k[i] = w->shape[2 + i];
        op[i] = a->n_outpad > 0 ? a->outpad[i] : 0;
        pb[i] = a->n_pads > 0 ? a->pads[i] : 0;
        pe[i] = a->n_pads > 0 ? a->pads[i + nsp] : 0;
        if (s[i] < 1 || d[i] < 1) return tc_onnx_fail(c, TC_ERR_ARG, "strides and dilations must be positive");
        int64_t in_len = x->shape[2 + i], eff = (k[i] - 1) * d[i] + 1, full = s[i] * (in_len - 1) + op[i] + eff;
        int64_t want = -1;
        if (a->n_outshape > 0) want = a->outshape[a->n_outshape == nsp ? i : i + 2];
        else if (a->padding == 1 || a->padding == 2) want = in_len * s[i];
        if (want >= 0) { /* padding follows from the output size asked */
            int64_t total = full - want; /* negative: the output grows at the end */
            bool upper = a->padding != 2; /* SAME_LOWER puts the extra at the start */
            pb[i] = upper ? total / 2 : total - total / 2;
            pe[i] = total - pb[i];
        } else if (a->padding == 3)
            pb[i] = pe[i] = 0;
    }
    /* kernel [C, M/g, k...] -> flipped [k..., C/g, M] */
    int64_t st[TC_MAX_DIMS], en[TC_MAX_DIMS], sp[TC_MAX_DIMS];
    for (int i = 0; i < w->ndim; i++) {
        bool spatial = i >= 2;
        st[i] = spatial ? w->shape[i] - 1 : 0;
        en[i] = spatial ? -w->shape[i] - 1 : w->shape[i];
        sp[i] = spatial ? -1 : 1;
    }
    tc_tensor *kf;
    ONNX_TRY(c, kf = tc_slice(w, st, en, sp));
    int64_t gshape[TC_MAX_DIMS];
    gshape[0] = g, gshape[1] = C / g, gshape[2] = Mg;
    for (int i = 0; i < nsp; i++) gshape[3 + i] = k[i];
    if (nsp + 3 > TC_MAX_DIMS) return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "3-D grouped kernels need %d dimensions", nsp + 3);
    int perm[TC_MAX_DIMS];
    for (int i = 0; i < nsp; i++) perm[i] = 3 + i;
    perm[nsp] = 1, perm[nsp + 1] = 0, perm[nsp + 2] = 2;
    int64_t kshape[TC_MAX_DIMS];
    for (int i = 0; i < nsp; i++) kshape[i] = k[i];
    kshape[nsp] = C / g, kshape[nsp + 1] = M;
    tc_tensor *kernel;
    ONNX_TRY(c, kernel = tc_reshape(tc_transpose(tc_reshape(kf, nsp + 3, gshape), perm), nsp + 2, kshape));
    /* input: channels-last, zeros inserted, padded / cropped */
    tc_tensor *xc = tc_onnx_to_cl(x);
    for (int i = 0; i < nsp; i++) xc = dilate_axis(xc, 1 + i, s[i]);
    ONNX_TRY(c, xc);
    int64_t before[TC_MAX_DIMS] = {0}, after[TC_MAX_DIMS] = {0}, cs[TC_MAX_DIMS], ce[TC_MAX_DIMS];
    bool crop = false;
    for (int dd = 0; dd < xc->ndim; dd++) cs[dd] = 0, ce[dd] = xc->shape[dd];
    for (int i = 0; i < nsp; i++) {
        int64_t eff = (k[i] - 1) * d[i] + 1, lo = eff - 1 - pb[i], hi = eff - 1 - pe[i] + op[i];
        before[1 + i] = lo > 0 ? lo : 0;
        after[1 + i] = hi > 0 ? hi : 0;
        if (lo < 0) cs[1 + i] = -lo, crop = true;
        if (hi < 0) ce[1 + i] = xc->shape[1 + i] + hi, crop = true;
        if (ce[1 + i] <= cs[1 + i]) return tc_onnx_fail(c, TC_ERR_SHAPE, "pads leave no output on spatial axis %d", i);
    }
    if (crop) ONNX_TRY(c, xc = tc_slice(xc, cs, ce, NULL));
    ONNX_TRY(c, xc = tc_pad(xc, before, after, TC_PAD_CONSTANT, 0));
    tc_conv_params p = {.padding = TC_VALID, .groups = g};
    for (int i = 0; i < nsp; i++) p.stride[i] = 1, p.dilation[i] = (int)d[i];
    tc_tensor *y;
    ONNX_TRY(c, y = tc_conv(xc, kernel, b, &p));
    ONNX_TRY(c, out[0] = tc_onnx_from_cl(y));
    return TC_OK;
}
