/* Convolution (1-D, 2-D, 3-D; channels-last): arguments, output shape,
 * padding rules, the plan saved on the tape. The kernels (tiled im2col +
 * GEMM, bit-identical for any thread count) are in conv_im2col.c. */
#include "conv.h"
#include "conv_im2col.h"
#include "conv_winograd.h"

int64_t tc_conv_out_size(int64_t in, int64_t k, int stride, int dilation, tc_padding padding, int64_t pad_before,
                         int64_t pad_after)
{
    if (stride < 1) stride = 1;
    if (dilation < 1) dilation = 1;
    int64_t span = (k - 1) * dilation + 1;
    switch (padding) {
    case TC_SAME:
    case TC_SAME_LOWER: return (in + stride - 1) / stride;
    case TC_CAUSAL: return in + (span - 1) >= span ? (in + span - 1 - span) / stride + 1 : -1;
    case TC_EXPLICIT: in += pad_before + pad_after; break;
    default: break;
    }
    return in >= span ? (in - span) / stride + 1 : -1;
}

/* padding before the first element, per TensorFlow/ONNX rules */
static int64_t pad_before_of(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, tc_padding padding, int64_t explicit_pb)
{
    int64_t span = (k - 1) * d + 1;
    int64_t total = (out - 1) * s + span - in;
    if (total < 0) total = 0;
    switch (padding) {
    case TC_SAME: return total / 2;
    case TC_SAME_LOWER: return total - total / 2;
    case TC_CAUSAL: return span - 1;
    case TC_EXPLICIT: return explicit_pb;
    default: return 0;
    }
}

static const char *pad_name(tc_padding p)
{
    static const char *names[] = {"VALID", "SAME", "SAME_LOWER", "EXPLICIT", "CAUSAL"};
    return (unsigned)p < 5 ? names[p] : "unknown";
}

/* The epilogue as the separate ops, when a gradient will be needed */
static tc_tensor *unfused(tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, const tc_conv_params *cp)
{
    tc_conv_params plain = *cp;
    plain.act = TC_CONV_ACT_NONE, plain.residual = NULL;
    tc_tensor *y = tc_conv(x, kernel, bias, &plain);
    if (y && cp->residual) {
        TC_CHECK(tc_same_shape(y, cp->residual), TC_ERR_SHAPE, "conv: residual %s does not match the output %s",
                 TC_SHP(cp->residual), TC_SHP(y));
        y = tc_add(y, cp->residual);
    }
    if (y && cp->act == TC_CONV_RELU) y = tc_relu(y);
    if (y && cp->act == TC_CONV_CLIP) y = tc_clip(y, cp->act_lo, cp->act_hi);
    return y;
}

tc_tensor *tc_conv(tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, const tc_conv_params *cp)
{
    TC_CHECK(x && kernel, TC_ERR_ARG, "conv: %s is NULL", x ? "kernel" : "input");
    static const tc_conv_params defaults = {{1, 1, 1}, {1, 1, 1}, TC_VALID, {0}, {0}, 1};
    if (!cp) cp = &defaults;
    TC_CHECK((unsigned)cp->act <= TC_CONV_CLIP, TC_ERR_ARG, "conv: unknown activation %d", (int)cp->act);
    TC_CHECK(cp->act != TC_CONV_CLIP || !(cp->act_lo > cp->act_hi), TC_ERR_ARG,
             "conv: clip bounds %g > %g", (double)cp->act_lo, (double)cp->act_hi);
    /* with a gradient to come, conv + ReLU stays one op (the epilogue forward,
     * dY masked by y > 0 backward: one pass and one buffer less than tc_relu
     * after the conv); a residual or a clip runs as the separate ops */
    if ((cp->act == TC_CONV_CLIP || cp->residual) && tc_needs_grad(4, (tc_tensor *[]){x, kernel, bias, cp->residual}))
        return unfused(x, kernel, bias, cp);
    int nsp = x->ndim - 2;
    TC_CHECK(nsp >= 1 && nsp <= 3, TC_ERR_SHAPE, "conv: input %s must be [N, W, C], [N, H, W, C] or [N, D, H, W, C]",
             TC_SHP(x));
    TC_CHECK(kernel->ndim == nsp + 2, TC_ERR_SHAPE, "conv: kernel %s does not fit input %s (need [k..., C/groups, F])",
             TC_SHP(kernel), TC_SHP(x));
    TC_CHECK(cp->padding != TC_CAUSAL || nsp == 1, TC_ERR_ARG, "conv: CAUSAL padding is for 1-D inputs, not %s", TC_SHP(x));
    TC_CHECK((unsigned)cp->padding <= TC_CAUSAL, TC_ERR_ARG, "conv: unknown padding %d", (int)cp->padding);
    conv_plan p = {0};
    p.groups = cp->groups > 0 ? cp->groups : 1;
    p.C = x->shape[x->ndim - 1];
    p.F = kernel->shape[kernel->ndim - 1];
    p.N = x->shape[0];
    TC_CHECK(p.C % p.groups == 0 && p.F % p.groups == 0, TC_ERR_SHAPE,
             "conv: %lld groups do not divide the %lld input channels of %s and the %lld filters of kernel %s",
             (long long)p.groups, (long long)p.C, TC_SHP(x), (long long)p.F, TC_SHP(kernel));
    p.Cg = p.C / p.groups;
    p.Fg = p.F / p.groups;
    TC_CHECK(kernel->shape[nsp] == p.Cg, TC_ERR_SHAPE,
             "conv: input %s has %lld channels (%lld per group) but kernel %s expects %lld", TC_SHP(x), (long long)p.C,
             (long long)p.Cg, TC_SHP(kernel), (long long)kernel->shape[nsp]);
    TC_CHECK(!bias || (bias->ndim == 1 && bias->shape[0] == p.F), TC_ERR_SHAPE,
             "conv: bias %s does not match the %lld filters of kernel %s", TC_SHP(bias), (long long)p.F, TC_SHP(kernel));
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) p.k[i] = 1, p.s[i] = 1, p.dl[i] = 1, p.pb[i] = 0;
    for (int i = 0; i < nsp; i++) {
        int a = 3 - nsp + i; /* place the spatial axes last */
        in[a] = x->shape[1 + i];
        p.k[a] = kernel->shape[i];
        p.s[a] = cp->stride[i] > 0 ? cp->stride[i] : 1;
        p.dl[a] = cp->dilation[i] > 0 ? cp->dilation[i] : 1;
        TC_CHECK(cp->padding != TC_EXPLICIT || (cp->pad_before[i] >= 0 && cp->pad_after[i] >= 0), TC_ERR_ARG,
                 "conv: negative explicit padding on axis %d for input %s", i, TC_SHP(x));
        TC_CHECK(p.k[a] >= 1, TC_ERR_SHAPE, "conv: empty kernel %s", TC_SHP(kernel));
        out[a] = tc_conv_out_size(in[a], p.k[a], (int)p.s[a], (int)p.dl[a], cp->padding, cp->pad_before[i], cp->pad_after[i]);
        TC_CHECK(out[a] > 0, TC_ERR_SHAPE,
                 "conv: kernel %s (dilation %lld) does not fit spatial axis %d of input %s with %s padding",
                 TC_SHP(kernel), (long long)p.dl[a], i, TC_SHP(x), pad_name(cp->padding));
        p.pb[a] = pad_before_of(in[a], out[a], p.k[a], p.s[a], p.dl[a], cp->padding, cp->pad_before[i]);
    }
    p.D = in[0], p.H = in[1], p.W = in[2];
    p.OD = out[0], p.OH = out[1], p.OW = out[2];
    p.K = p.k[0] * p.k[1] * p.k[2] * p.Cg;
    p.rows_img = p.OD * p.OH * p.OW;
    TC_CHECK(p.N > 0 && p.C > 0 && p.F > 0, TC_ERR_SHAPE, "conv: empty input %s or kernel %s", TC_SHP(x), TC_SHP(kernel));
    /* im2col tiles of at most 128K values (512 KB in float: L2-resident).
     * A small problem (batch-1 inference, late layers) is one tile: every
     * GEMM call repacks the kernel, and for few rows that repacking, not
     * the patches' cache misses, is what costs. */
    p.tile = (int64_t)128 * 1024 / p.K;
    /* at least 256 rows: on the OpenBLAS paths (generic, avx2) each tile GEMM
     * packs all of W (K x F), so deep layers (C3D conv5: K = 27 * 512) with few
     * rows per tile spent as long packing as multiplying; 256 rows of K = 13,824
     * are 14 MB of scratch a thread. (Our own AVX-512 GEMM gets W packed once
     * per call, tc_gemm_prepare_b: there the rules below differ, see packs_w.) */
    if (p.tile < 256) p.tile = 256;
    /* with a kernel of over 64K values (VGG's 3x3x256x256 and up) 1024 rows
     * (at most 4M patch values, never under 256) keep the repacking under a
     * tenth of the multiplying */
    /* Where W is packed once per call (tc_gemm_packs_b) a tile costs no
     * repacking, only the packed W streamed again from L3 once it outgrows
     * the 1 MB L2: the 1024-row tiles are kept for a W of over 256K values
     * (VGG's 3x3x256x256 lost 10% forward with 256-row tiles) and smaller
     * kernels keep L2-sized tiles even for a small problem (whole-batch
     * tiles of up to 4M patch values were written by im2col to L3 and read
     * back by the packing: res2's 3x3 at batch 1 trained 25% slower). */
    const bool packs_w = tc_gemm_packs_b();
    if (p.K * p.F > (int64_t)(packs_w ? 256 : 64) * 1024 && p.tile < 1024) {
        int64_t cap = (int64_t)4 * 1024 * 1024 / p.K;
        p.tile = cap > 1024 ? 1024 : cap < 256 ? 256 : cap;
    }
    if (!packs_w && p.N * p.rows_img * p.K <= (int64_t)4 * 1024 * 1024) p.tile = p.N * p.rows_img;
    /* fixed image blocks for the kernel gradient: up to 8 partial sums, at most 64 MB of them */
    p.wblocks = p.N < 8 ? p.N : 8;
    while (p.wblocks > 1 && p.wblocks * p.K * p.F > (int64_t)16 * 1024 * 1024) p.wblocks /= 2;
    int64_t yshape[TC_MAX_DIMS];
    yshape[0] = p.N;
    for (int i = 0; i < nsp; i++) yshape[1 + i] = out[3 - nsp + i];
    yshape[nsp + 1] = p.F;
    if (cp->residual) {
        bool same = cp->residual->ndim == x->ndim;
        for (int i = 0; same && i < x->ndim; i++) same = cp->residual->shape[i] == yshape[i];
        TC_CHECK(same, TC_ERR_SHAPE, "conv: residual %s does not match the output of input %s and kernel %s",
                 TC_SHP(cp->residual), TC_SHP(x), TC_SHP(kernel));
        p.ep.res = tc_packed(cp->residual);
        if (!p.ep.res) return NULL;
    }
    p.ep.act = cp->act, p.ep.lo = cp->act_lo, p.ep.hi = cp->act_hi;
    tc_tensor *y = tc_result(x->ndim, yshape);
    p.x = tc_packed(x);
    p.w = tc_packed(kernel);
    const tc_scalar *b = bias ? tc_packed(bias) : NULL;
    if (!y || !p.x || !p.w || (bias && !b)) return NULL;
    p.direct = p.groups == 1 && p.K == p.C && p.s[0] * p.s[1] * p.s[2] == 1 && p.pb[0] + p.pb[1] + p.pb[2] == 0 &&
               p.OD == p.D && p.OH == p.H && p.OW == p.W;
    p.depthwise = p.groups > 1 && p.Cg == 1;
    p.thin = tc_conv_is_thin(&p);
    /* Small maps (ResNet's 14x14 and 7x7, Inception's 17x17 and 8x8): when
     * the whole batch's patch rows make at most two im2col tiles, the batch
     * is one block, as at batch 1 (tc_conv_backward_one_block: dW rows split
     * over the threads, each adding every tile's product straight into dw;
     * dX in waves of tiles). Per-image blocks cost these layers a K x F
     * partial sum per image, written by a product of only rows_img (49-289)
     * rows of reduction and read back by the reduction, plus an im2col and
     * dX product per image: res4_3x3's kernel gradient at batch 8 ran at
     * 57% of peak against 85-91% for the same product over all 1,568 rows.
     * Where our own kernel runs only (the OpenBLAS path keeps its blocks).
     * A rule of the shape: any thread count gives the same bits. */
    if (packs_w && !p.depthwise && !p.thin && p.wblocks > 1 && p.N * p.rows_img <= 2 * p.tile) p.wblocks = 1;
    if (!p.depthwise && !p.thin) p.wpk = tc_conv_weights_panels(cp->weights, kernel, p.groups);
    if (!p.direct && !p.depthwise && !p.thin && p.K <= 64 && p.groups * p.N * p.rows_img * p.K <= (int64_t)8 * 1024 * 1024 &&
        tc_needs_grad(1, &kernel)) {
        p.patches = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(p.groups * p.N * p.rows_img * p.K));
        if (!p.patches) return NULL;
    }
    /* inference weights keep their Winograd kernel (made at the first call) */
    if (p.wpk && tc_conv_get_algorithm() != TC_CONV_DIRECT) p.wino = tc_conv_weights_winograd(cp->weights, &p);
    p.winograd = tc_conv_winograd_use(&p);
    if (p.winograd) {
        if (!tc_conv_winograd_forward(&p, b, y->data)) return NULL;
    } else if (p.depthwise) tc_conv_depthwise_forward(&p, b, y->data);
    else if (p.thin) {
        if (!tc_conv_thin_forward(&p, b, y->data)) return NULL;
    } else if (!tc_conv_forward_kernel(&p, b, y->data)) return NULL;
    tc_node *nd = tc_record(TC_OP_conv, y, 3, (tc_tensor *[]){x, kernel, bias}, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

tc_status tc_backward_conv(tc_node *n, const tc_tensor *gy)
{
    const conv_plan *p = n->saved;
    /* a direct plan writes a fresh input gradient with its GEMM (beta 0), a
     * stride-1 one with the forward convolution of dY (conv_backward_dx_fwd.c) */
    const bool direct = p->direct && !p->winograd && !p->depthwise && !p->thin;
    const bool dx_fwd = !direct && tc_conv_dx_as_forward_ok(p);
    bool dx_fresh = false;
    tc_tensor *gx = direct || dx_fwd ? tc_grad_for_overwrite(n->inputs[0], &dx_fresh) : tc_grad_for(n->inputs[0]), *gw = tc_grad_for(n->inputs[1]), *gb = tc_grad_for(n->inputs[2]);
    tc_scalar *dx = gx ? gx->data : NULL, *dw = gw ? gw->data : NULL, *db = gb ? gb->data : NULL;
    if (!dx && !dw && !db) return TC_OK;
    const tc_scalar *dy = gy->data;
    /* a fused ReLU (only a ReLU is fused in training): the gradient through it, read at backward time */
    if (p->ep.act == TC_CONV_RELU && !(dy = tc_conv_relu_grad(p, n->out->data, gy->data, (int)tc_get_relu_grad_mode())))
        return tc_last_status();
    if (p->winograd) { /* dX by Winograd, the kernel and bias gradients direct */
        bool ok = (!dx || tc_conv_winograd_backward_dx(p, dy, dx)) && tc_conv_backward_kernel(p, dy, NULL, dw, db);
        return ok ? TC_OK : tc_last_status();
    }
    if (direct) {
        tc_conv_backward_direct(p, dy, dx, dx_fresh, dw, db);
        return TC_OK;
    }
    if (dx_fwd) {
        bool ok = tc_conv_backward_kernel(p, dy, NULL, dw, db) && (!dx || tc_conv_dx_as_forward(p, dy, dx, dx_fresh));
        return ok ? TC_OK : tc_last_status();
    }
    bool ok = p->depthwise ? tc_conv_depthwise_backward(p, dy, dx, dw, db)
              : p->thin    ? tc_conv_thin_backward(p, dy, dx, dw, db)
                           : tc_conv_backward_kernel(p, dy, dx, dw, db);
    return ok ? TC_OK : tc_last_status(); /* false: scratch memory could not be had */
}
