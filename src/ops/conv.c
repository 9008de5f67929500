/* Convolution (1-D, 2-D, 3-D; channels-last) as im2col + GEMM.
 *
 * Every case is seen as 3-D ([N, D, H, W, C], kernel [KD, KH, KW, Cg, F])
 * with size-1 axes where the input has fewer. A patch row holds, for one
 * output position, the input values under the kernel in the kernel's own
 * order (kd, kh, kw, c), so the patch matrix P [rows, K] times the kernel
 * viewed as [K, F] is the output. Channels-last makes each (kd, kh, kw) run
 * of Cg channels one memcpy.
 *   forward:  Y  = P @ W (+ bias)
 *   backward: dW = P^T @ dY      (each element of dW reduced by one GEMM call)
 *             dP = dY @ W^T, then scattered back to dX image by image
 * Splits are by rows (im2col), by GEMM blocks (tc_gemm) and by image
 * (col2im): no sum depends on the number of threads. */
#include "../core/internal.h"

typedef struct {
    int64_t N, D, H, W, C;       /* input */
    int64_t OD, OH, OW, F;       /* output */
    int64_t k[3], s[3], dl[3], pb[3];
    int64_t groups, Cg, Fg, K;   /* K = KD*KH*KW*Cg */
    int64_t rows;                /* N*OD*OH*OW */
    bool direct;                 /* 1x1, stride 1, no padding, one group: P is X itself */
    tc_scalar *P;                /* patches of every group: groups blocks of [rows, K] */
    const tc_scalar *x, *w;      /* packed input and kernel */
} conv_plan;

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

typedef struct {
    const conv_plan *p;
    int64_t g;
    tc_scalar *P;
    const tc_scalar *dP;
    tc_scalar *dx;
} im2col_job;

/* rows [lo, hi) of group g's patch matrix */
static void im2col_rows(void *ctx, int64_t lo, int64_t hi)
{
    const im2col_job *j = ctx;
    const conv_plan *p = j->p;
    int64_t cg = p->Cg, coff = j->g * p->Cg;
    for (int64_t r = lo; r < hi; r++) {
        int64_t ow = r % p->OW, t = r / p->OW, oh = t % p->OH, od = (t / p->OH) % p->OD, n = t / p->OH / p->OD;
        tc_scalar *row = j->P + r * p->K;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                for (int64_t kw = 0; kw < p->k[2]; kw++) {
                    int64_t iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
                    tc_scalar *dst = row + ((kd * p->k[1] + kh) * p->k[2] + kw) * cg;
                    if (id < 0 || id >= p->D || ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) {
                        memset(dst, 0, sizeof(tc_scalar) * (size_t)cg);
                    } else {
                        const tc_scalar *src = p->x + (((n * p->D + id) * p->H + ih) * p->W + iw) * p->C + coff;
                        if (cg == 1) *dst = *src;
                        else memcpy(dst, src, sizeof(tc_scalar) * (size_t)cg);
                    }
                }
            }
        }
    }
}

/* images [lo, hi): dX += col2im(dP of group g) */
static void col2im_images(void *ctx, int64_t lo, int64_t hi)
{
    const im2col_job *j = ctx;
    const conv_plan *p = j->p;
    int64_t cg = p->Cg, coff = j->g * p->Cg, per_image = p->OD * p->OH * p->OW;
    for (int64_t n = lo; n < hi; n++)
        for (int64_t r = n * per_image; r < (n + 1) * per_image; r++) {
            int64_t ow = r % p->OW, t = r / p->OW, oh = t % p->OH, od = (t / p->OH) % p->OD;
            const tc_scalar *row = j->dP + r * p->K;
            for (int64_t kd = 0; kd < p->k[0]; kd++) {
                int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
                if (id < 0 || id >= p->D) continue;
                for (int64_t kh = 0; kh < p->k[1]; kh++) {
                    int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                    if (ih < 0 || ih >= p->H) continue;
                    for (int64_t kw = 0; kw < p->k[2]; kw++) {
                        int64_t iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
                        if (iw < 0 || iw >= p->W) continue;
                        const tc_scalar *src = row + ((kd * p->k[1] + kh) * p->k[2] + kw) * cg;
                        tc_scalar *dst = j->dx + (((n * p->D + id) * p->H + ih) * p->W + iw) * p->C + coff;
                        for (int64_t c = 0; c < cg; c++) dst[c] += src[c];
                    }
                }
            }
        }
}

static const char *pad_name(tc_padding p)
{
    static const char *names[] = {"VALID", "SAME", "SAME_LOWER", "EXPLICIT", "CAUSAL"};
    return (unsigned)p < 5 ? names[p] : "unknown";
}

tc_tensor *tc_conv(tc_tensor *x, tc_tensor *kernel, tc_tensor *bias, const tc_conv_params *cp)
{
    TC_CHECK(x && kernel, TC_ERR_ARG, "conv: %s is NULL", x ? "kernel" : "input");
    static const tc_conv_params defaults = {{1, 1, 1}, {1, 1, 1}, TC_VALID, {0}, {0}, 1};
    if (!cp) cp = &defaults;
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
    p.rows = p.N * p.OD * p.OH * p.OW;
    int64_t yshape[TC_MAX_DIMS];
    yshape[0] = p.N;
    for (int i = 0; i < nsp; i++) yshape[1 + i] = out[3 - nsp + i];
    yshape[nsp + 1] = p.F;
    tc_tensor *y = tc_result(x->ndim, yshape);
    p.x = tc_packed(x);
    p.w = tc_packed(kernel);
    const tc_scalar *b = bias ? tc_packed(bias) : NULL;
    if (!y || !p.x || !p.w || (bias && !b)) return NULL;
    p.direct = p.groups == 1 && p.K == p.C && p.s[0] * p.s[1] * p.s[2] == 1 && p.pb[0] + p.pb[1] + p.pb[2] == 0 &&
               p.OD == p.D && p.OH == p.H && p.OW == p.W;
    if (p.direct) {
        p.P = (tc_scalar *)p.x;
    } else {
        p.P = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(p.groups * p.rows * p.K + 1));
        if (!p.P) return NULL;
        for (int64_t g = 0; g < p.groups; g++) {
            im2col_job j = {&p, g, p.P + g * p.rows * p.K, NULL, NULL};
            tc_parallel_for(p.rows, 64, im2col_rows, &j);
        }
    }
    if (b)
        for (int64_t r = 0; r < p.rows; r++) memcpy(y->data + r * p.F, b, sizeof(tc_scalar) * (size_t)p.F);
    for (int64_t g = 0; g < p.groups; g++)
        tc_gemm(false, false, p.rows, p.Fg, p.K, 1, p.P + g * p.rows * p.K, p.K, p.w + g * p.Fg, p.F, b ? 1 : 0,
                y->data + g * p.Fg, p.F);
    tc_node *nd = tc_record(TC_OP_conv, y, 3, (tc_tensor *[]){x, kernel, bias}, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

void tc_backward_conv(tc_node *n, const tc_tensor *gy)
{
    const conv_plan *p = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]), *gw = tc_grad_for(n->inputs[1]), *gb = tc_grad_for(n->inputs[2]);
    const tc_scalar *dy = gy->data;
    if (gb) {
        for (int64_t r = 0; r < p->rows; r++) tc_accumulate(gb->data, dy + r * p->F, p->F);
    }
    for (int64_t g = 0; g < p->groups; g++) {
        const tc_scalar *P = p->P + g * p->rows * p->K;
        if (gw) tc_gemm(true, false, p->K, p->Fg, p->rows, 1, P, p->K, dy + g * p->Fg, p->F, 1, gw->data + g * p->Fg, p->F);
        if (!gx) continue;
        if (p->direct) { /* dX = dY @ W^T directly */
            tc_gemm(false, true, p->rows, p->K, p->Fg, 1, dy, p->F, p->w, p->F, 1, gx->data, p->K);
            continue;
        }
        tc_scalar *dP = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(p->rows * p->K + 1));
        if (!dP) return;
        tc_gemm(false, true, p->rows, p->K, p->Fg, 1, dy + g * p->Fg, p->F, p->w + g * p->Fg, p->F, 0, dP, p->K);
        im2col_job j = {p, g, NULL, dP, gx->data};
        tc_parallel_for(p->N, 1, col2im_images, &j);
    }
}
