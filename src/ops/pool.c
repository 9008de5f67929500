/* Max and average pooling, 1-D to 3-D, channels-last (seen as 3-D like
 * conv.c). Windows follow TensorFlow's SAME/VALID and ONNX/PyTorch's explicit
 * pads and ceil mode (the last window must start inside the input or the
 * leading padding). Padded cells never win a max; average pooling divides
 * by the cells inside the input, or by the window clipped to the padded
 * extent with count_include_pad. Forward splits output rows over threads;
 * backward splits images (and channel blocks when images are few), so
 * overlapping windows never race. Max pooling keeps the argmax of every
 * output only when a gradient will be needed. */
#include "ops_internal.h"

#include <math.h>

typedef struct {
    int64_t N, D, H, W, C, OD, OH, OW;
    int64_t k[3], s[3], dl[3], pb[3], pe[3]; /* pe: padded extent end (in + pad after) */
    bool include_pad, is_max;
    int64_t cblock, cblocks;                 /* backward: channels per task, tasks per image */
    const tc_scalar *x;
    int64_t *argmax;                         /* max: input offset per output element */
    tc_scalar *y;
    const tc_scalar *gy;
    tc_scalar *gx;
} pool_plan;

static bool make_plan(const char *name, tc_tensor *x, const tc_pool_params *pp, bool is_max, pool_plan *p,
                      int64_t *yshape)
{
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > 3) {
        tc_error(TC_ERR_SHAPE, "%s: input %s must be [N, W, C], [N, H, W, C] or [N, D, H, W, C]", name, TC_SHP(x));
        return false;
    }
    if (!pp) {
        tc_error(TC_ERR_ARG, "%s: parameters are NULL for input %s", name, TC_SHP(x));
        return false;
    }
    if (pp->padding == TC_CAUSAL || (unsigned)pp->padding > TC_CAUSAL) {
        tc_error(TC_ERR_ARG, "%s: padding must be VALID, SAME, SAME_LOWER or EXPLICIT (input %s)", name, TC_SHP(x));
        return false;
    }
    memset(p, 0, sizeof *p);
    p->is_max = is_max;
    p->include_pad = pp->count_include_pad;
    p->N = x->shape[0];
    p->C = x->shape[x->ndim - 1];
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) p->k[i] = p->s[i] = p->dl[i] = 1, p->pe[i] = 1;
    for (int i = 0; i < nsp; i++) {
        int a = 3 - nsp + i;
        in[a] = x->shape[1 + i];
        p->k[a] = pp->kernel[i];
        p->s[a] = pp->stride[i] > 0 ? pp->stride[i] : pp->kernel[i];
        p->dl[a] = is_max && pp->dilation[i] > 0 ? pp->dilation[i] : 1;
        if (p->k[a] < 1 || pp->stride[i] < 0 || pp->dilation[i] < 0) {
            tc_error(TC_ERR_ARG, "%s: kernel %d, stride %d, dilation %d on axis %d for input %s (kernel must be >= 1, "
                     "the others >= 0)", name, pp->kernel[i], pp->stride[i], pp->dilation[i], i, TC_SHP(x));
            return false;
        }
        int64_t span = (p->k[a] - 1) * p->dl[a] + 1, pb = 0, pa = 0;
        if (pp->padding == TC_SAME || pp->padding == TC_SAME_LOWER) {
            out[a] = (in[a] + p->s[a] - 1) / p->s[a];
            int64_t total = (out[a] - 1) * p->s[a] + span - in[a];
            if (total < 0) total = 0;
            pb = pp->padding == TC_SAME ? total / 2 : total - total / 2;
            pa = total - pb;
        } else {
            if (pp->padding == TC_EXPLICIT) pb = pp->pad_before[i], pa = pp->pad_after[i];
            if (pb < 0 || pa < 0) {
                tc_error(TC_ERR_ARG, "%s: negative padding on axis %d for input %s", name, i, TC_SHP(x));
                return false;
            }
            int64_t ext = in[a] + pb + pa - span;
            if (ext < 0) {
                tc_error(TC_ERR_SHAPE, "%s: window %lld (dilation %lld) is larger than axis %d of input %s with its padding",
                         name, (long long)p->k[a], (long long)p->dl[a], i, TC_SHP(x));
                return false;
            }
            out[a] = pp->ceil_mode ? (ext + p->s[a] - 1) / p->s[a] + 1 : ext / p->s[a] + 1;
            if (pp->ceil_mode && (out[a] - 1) * p->s[a] >= in[a] + pb) out[a]--;
        }
        p->pb[a] = pb;
        p->pe[a] = in[a] + pa;
    }
    p->D = in[0], p->H = in[1], p->W = in[2];
    p->OD = out[0], p->OH = out[1], p->OW = out[2];
    yshape[0] = p->N;
    for (int i = 0; i < nsp; i++) yshape[1 + i] = out[3 - nsp + i];
    yshape[nsp + 1] = p->C;
    return true;
}

/* window bounds on one axis for output o: cells [lo, hi) with stride dl */
static inline void window(const pool_plan *p, int a, int64_t o, int64_t in, int64_t *first, int64_t *count,
                          int64_t *padded)
{
    int64_t start = o * p->s[a] - p->pb[a];
    int64_t n = 0, f = -1, pc = 0;
    for (int64_t k = 0; k < p->k[a]; k++) {
        int64_t i = start + k * p->dl[a];
        if (i < p->pe[a]) pc++; /* inside the padded extent */
        if (i >= 0 && i < in) {
            if (f < 0) f = k;
            n++;
        }
    }
    *first = f < 0 ? 0 : f;
    *count = n;
    *padded = pc;
}

static void forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    pool_plan *p = ctx;
    int64_t C = p->C;
    for (int64_t r = lo; r < hi; r++) {
        int64_t ow = r % p->OW, t = r / p->OW, oh = t % p->OH, od = (t / p->OH) % p->OD, n = t / p->OH / p->OD;
        int64_t o[3] = {od, oh, ow}, in[3] = {p->D, p->H, p->W}, f[3], c[3], pc[3];
        for (int a = 0; a < 3; a++) window(p, a, o[a], in[a], &f[a], &c[a], &pc[a]);
        tc_scalar *y = p->y + r * C;
        int64_t *am = p->argmax ? p->argmax + r * C : NULL; /* max with a gradient to route */
        bool first = true; /* max: the first cell inside the input initialises the row */
        for (int64_t ch = 0; ch < C; ch++) y[ch] = p->is_max ? -INFINITY : 0;
        if (am)
            for (int64_t ch = 0; ch < C; ch++) am[ch] = -1;
        for (int64_t kd = 0; kd < p->k[0]; kd++) {
            int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
            if (id < 0 || id >= p->D) continue;
            for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                if (ih < 0 || ih >= p->H) continue;
                for (int64_t kw = 0; kw < p->k[2]; kw++) {
                    int64_t iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
                    if (iw < 0 || iw >= p->W) continue;
                    int64_t off = (((n * p->D + id) * p->H + ih) * p->W + iw) * C;
                    const tc_scalar *x = p->x + off;
                    if (p->is_max && first) {
                        for (int64_t ch = 0; ch < C; ch++) y[ch] = x[ch];
                        if (am)
                            for (int64_t ch = 0; ch < C; ch++) am[ch] = off + ch;
                        first = false;
                    } else if (p->is_max && !am) {
                        for (int64_t ch = 0; ch < C; ch++) y[ch] = x[ch] > y[ch] || x[ch] != x[ch] ? x[ch] : y[ch];
                    } else if (p->is_max) {
                        /* branch-free select (vectorises); NaN propagates like PyTorch */
                        for (int64_t ch = 0; ch < C; ch++) {
                            bool take = x[ch] > y[ch] || x[ch] != x[ch];
                            y[ch] = take ? x[ch] : y[ch];
                            am[ch] = take ? off + ch : am[ch];
                        }
                    } else {
                        for (int64_t ch = 0; ch < C; ch++) y[ch] += x[ch];
                    }
                }
            }
        }
        if (!p->is_max) {
            int64_t cnt = p->include_pad ? pc[0] * pc[1] * pc[2] : c[0] * c[1] * c[2];
            tc_scalar inv = cnt > 0 ? (tc_scalar)1 / (tc_scalar)cnt : 0;
            for (int64_t ch = 0; ch < C; ch++) y[ch] *= inv;
        }
    }
}

static void backward_images(void *ctx, int64_t lo, int64_t hi)
{
    pool_plan *p = ctx;
    int64_t C = p->C, per = p->OD * p->OH * p->OW;
    for (int64_t task = lo; task < hi; task++) {
        /* task = (image, block of channels): each writes its own part of gx */
        int64_t n_img = task / p->cblocks, c0 = task % p->cblocks * p->cblock;
        int64_t c1 = c0 + p->cblock < C ? c0 + p->cblock : C;
        for (int64_t r = n_img * per; r < (n_img + 1) * per; r++) {
            const tc_scalar *g = p->gy + r * C;
            if (p->is_max) {
                const int64_t *am = p->argmax + r * C;
                for (int64_t ch = c0; ch < c1; ch++)
                    if (am[ch] >= 0) p->gx[am[ch]] += g[ch];
                continue;
            }
            int64_t ow = r % p->OW, t = r / p->OW, oh = t % p->OH, od = (t / p->OH) % p->OD, n = t / p->OH / p->OD;
            int64_t o[3] = {od, oh, ow}, in[3] = {p->D, p->H, p->W}, f[3], c[3], pc[3];
            for (int a = 0; a < 3; a++) window(p, a, o[a], in[a], &f[a], &c[a], &pc[a]);
            int64_t cnt = p->include_pad ? pc[0] * pc[1] * pc[2] : c[0] * c[1] * c[2];
            if (cnt == 0) continue;
            tc_scalar inv = (tc_scalar)1 / (tc_scalar)cnt;
            for (int64_t kd = 0; kd < p->k[0]; kd++) {
                int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
                if (id < 0 || id >= p->D) continue;
                for (int64_t kh = 0; kh < p->k[1]; kh++) {
                    int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
                    if (ih < 0 || ih >= p->H) continue;
                    for (int64_t kw = 0; kw < p->k[2]; kw++) {
                        int64_t iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
                        if (iw < 0 || iw >= p->W) continue;
                        tc_scalar *gx = p->gx + (((n * p->D + id) * p->H + ih) * p->W + iw) * C;
                        for (int64_t ch = c0; ch < c1; ch++) gx[ch] += g[ch] * inv;
                    }
                }
            }
        }
    }
}

static tc_tensor *pool(const char *name, int op, tc_tensor *x, const tc_pool_params *pp, bool is_max)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    pool_plan p;
    int64_t yshape[TC_MAX_DIMS];
    if (!make_plan(name, x, pp, is_max, &p, yshape)) return NULL;
    tc_tensor *y = tc_result(x->ndim, yshape);
    p.x = tc_packed(x);
    if (!y || !p.x) return NULL;
    p.y = y->data;
    int64_t rows = p.N * p.OD * p.OH * p.OW;
    if (is_max && tc_needs_grad(1, &x)) { /* inference needs no argmax */
        p.argmax = tc_arena_alloc(sizeof(int64_t) * (size_t)(rows * p.C + 1));
        if (!p.argmax) return NULL;
    }
    tc_parallel_for(rows, 16, forward_rows, &p);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

static tc_status pool_backward(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    pool_plan p = *(pool_plan *)n->saved;
    p.gy = gy->data;
    p.gx = gx->data;
    /* split images, and also channels when there are few images: every gx
     * element still receives its terms in the same order (bit-identical) */
    p.cblock = p.N >= 2 * tc_num_threads() || p.C <= 16 ? p.C : 16;
    p.cblocks = p.cblock ? (p.C + p.cblock - 1) / p.cblock : 1;
    tc_parallel_for(p.N * p.cblocks, 1, backward_images, &p);
    return TC_OK;
}

tc_tensor *tc_max_pool(tc_tensor *x, const tc_pool_params *p) { return pool("max_pool", TC_OP_max_pool, x, p, true); }
tc_tensor *tc_avg_pool(tc_tensor *x, const tc_pool_params *p) { return pool("avg_pool", TC_OP_avg_pool, x, p, false); }
tc_status tc_backward_max_pool(tc_node *n, const tc_tensor *gy) { return pool_backward(n, gy); }
tc_status tc_backward_avg_pool(tc_node *n, const tc_tensor *gy) { return pool_backward(n, gy); }

static tc_tensor *global_pool(const char *name, tc_tensor *x, bool keepdims, bool is_max)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    TC_CHECK(x->ndim >= 3 && x->ndim <= 5, TC_ERR_SHAPE, "%s: input %s must be [N, spatial..., C]", name, TC_SHP(x));
    int axes[3];
    for (int i = 0; i < x->ndim - 2; i++) axes[i] = 1 + i;
    return is_max ? tc_max(x, x->ndim - 2, axes, keepdims) : tc_mean(x, x->ndim - 2, axes, keepdims);
}
tc_tensor *tc_global_avg_pool(tc_tensor *x, bool keepdims) { return global_pool("global_avg_pool", x, keepdims, false); }
tc_tensor *tc_global_max_pool(tc_tensor *x, bool keepdims) { return global_pool("global_max_pool", x, keepdims, true); }
