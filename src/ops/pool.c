/* Max and average pooling, 1-D to 3-D, channels-last (seen as 3-D like
 * conv.c). Windows follow TensorFlow's SAME/VALID and ONNX/PyTorch's explicit
 * pads and ceil mode (the last window must start inside the input or the
 * leading padding). Padded cells never win a max; average pooling divides
 * by the cells inside the input, or by the window clipped to the padded
 * extent with count_include_pad. Forward splits output lines over threads;
 * backward splits images (and channel blocks when images are few), so
 * overlapping windows never race.
 *
 * Max pooling runs the vector loops of pool_max.h (one per instruction
 * set) over the channels of each output. Only when a gradient will be
 * needed does it keep the winner of every output: its tap in the window,
 * one byte (int32 for windows of more than 255 taps), not a 64-bit input
 * offset. Backward with one-byte winners gathers: each input cell sums the
 * windows that hold it and that it won, and is written once; with int32
 * winners it scatters each output's gradient into its winner. */
#include "ops_internal.h"
#include "pool_max.h"

#include <math.h>

typedef void (*max_fwd_fn)(TC_POOL_MAX_FWD_ARGS);
typedef void (*max_gather_fn)(TC_POOL_MAX_GATHER_ARGS);

typedef struct {
    int64_t N, D, H, W, C, OD, OH, OW;
    int64_t k[3], s[3], dl[3], pb[3], pe[3]; /* pe: padded extent end (in + pad after) */
    bool include_pad, is_max;
    int64_t cblock, cblocks;                 /* backward: channels per task, tasks per image */
    bool fresh;                              /* backward: gx is new and uninitialised: the gather writes it,
                                                the scatter (int32 winners, average) has each task zero its
                                                part first, while it is about to be in cache */
    int64_t taps;                            /* k[0] * k[1] * k[2] */
    const tc_scalar *x;
    uint8_t *idx8;                           /* max with a gradient to come: winning tap per output */
    int32_t *idx32;                          /* the same for windows of more than 255 taps */
    void *scratch;                           /* per thread: the cells of one window */
    size_t scratch_bytes;
    max_fwd_fn fwd;
    max_gather_fn gather;
    const int32_t *wins[3];                  /* gather backward, per axis a and input index i: the windows
                                                holding i, wins[a][i * (k[a] + 1)] of them, then (o, tap on
                                                the axis) pairs in increasing o */
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

/* backward task's part of a fresh gradient: image n, channels [c0, c1), set to zero */
static void zero_part(const pool_plan *p, int64_t n, int64_t c0, int64_t c1)
{
    int64_t cells = p->D * p->H * p->W;
    tc_scalar *g = p->gx + n * cells * p->C;
    if (c0 == 0 && c1 == p->C) {
        memset(g, 0, sizeof(tc_scalar) * (size_t)(cells * p->C));
        return;
    }
    for (int64_t i = 0; i < cells; i++) memset(g + i * p->C + c0, 0, sizeof(tc_scalar) * (size_t)(c1 - c0));
}

/* ---- the cells of a window (both poolings) ------------------------------------- */

/* The (kd, kh) cells of output line (n, od, oh) that lie inside the input:
 * their input offsets (w = 0) and first taps; returns how many. */
static int64_t line_bases(const pool_plan *p, int64_t n, int64_t od, int64_t oh, int64_t *base, int32_t *tbase)
{
    int64_t nb = 0;
    for (int64_t kd = 0; kd < p->k[0]; kd++) {
        int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
        if (id < 0 || id >= p->D) continue;
        for (int64_t kh = 0; kh < p->k[1]; kh++) {
            int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
            if (ih < 0 || ih >= p->H) continue;
            base[nb] = ((n * p->D + id) * p->H + ih) * p->W * p->C;
            tbase[nb++] = (int32_t)((kd * p->k[1] + kh) * p->k[2]);
        }
    }
    return nb;
}

/* the cells of output ow's window inside the input, in kernel order; returns how many */
static int64_t window_cells(const pool_plan *p, int64_t nb, const int64_t *base, const int32_t *tbase, int64_t ow,
                            int64_t *off, int32_t *tap)
{
    int64_t cells = 0;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t kw = 0; kw < p->k[2]; kw++) {
            int64_t iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
            if (iw < 0 || iw >= p->W) continue;
            off[cells] = base[b] + iw * p->C;
            tap[cells++] = tbase[b] + (int32_t)kw;
        }
    return cells;
}

typedef struct {
    int64_t *off, *base;
    int32_t *tap, *tbase;
} cell_scratch;

static cell_scratch scratch_of(const pool_plan *p)
{
    char *s = (char *)p->scratch + (size_t)tc_thread_id() * p->scratch_bytes;
    cell_scratch c;
    c.off = (int64_t *)s;
    c.base = c.off + p->taps;
    c.tap = (int32_t *)(c.base + p->k[0] * p->k[1]);
    c.tbase = c.tap + p->taps;
    return c;
}

/* ---- average pooling ---------------------------------------------------------- */

/* y[0..w) = (0 + x_0 + x_1 + ... over the nt taps in order) * inv, with the
 * sums in registers (w <= AVG_BLOCK), not loaded and stored once per tap
 * (that was half of an average pool's time: 3% of Inception-v3) */
#define AVG_BLOCK 64
static inline __attribute__((always_inline)) void avg_block(tc_scalar *restrict y, const tc_scalar *restrict x,
                                                            const int64_t *off, int64_t nt, tc_scalar inv, int64_t w)
{
    tc_scalar acc[AVG_BLOCK];
    for (int64_t j = 0; j < w; j++) acc[j] = 0;
    for (int64_t t = 0; t < nt; t++) {
        const tc_scalar *restrict xt = x + off[t];
        for (int64_t j = 0; j < w; j++) acc[j] += xt[j];
    }
    for (int64_t j = 0; j < w; j++) y[j] = acc[j] * inv;
}

/* 1 / the count output (od, oh, ow) divides by (0: a window in the padding only) */
static inline tc_scalar avg_inv(const pool_plan *p, int64_t od, int64_t oh, int64_t ow)
{
    int64_t o[3] = {od, oh, ow}, in[3] = {p->D, p->H, p->W}, f[3], c[3], pc[3];
    for (int a = 0; a < 3; a++) window(p, a, o[a], in[a], &f[a], &c[a], &pc[a]);
    int64_t cnt = p->include_pad ? pc[0] * pc[1] * pc[2] : c[0] * c[1] * c[2];
    return cnt > 0 ? (tc_scalar)1 / (tc_scalar)cnt : 0;
}

/* units [lo, hi): output lines (n, od, oh) of OW positions, as max pooling;
 * each output sums its cells inside the input in kernel order */
static void avg_forward_lines(void *ctx, int64_t lo, int64_t hi)
{
    pool_plan *p = ctx;
    const int64_t C = p->C;
    const cell_scratch cs = scratch_of(p);
    const int64_t *off = cs.off;
    for (int64_t u = lo; u < hi; u++) {
        int64_t oh = u % p->OH, od = (u / p->OH) % p->OD, n = u / p->OH / p->OD;
        int64_t nb = line_bases(p, n, od, oh, cs.base, cs.tbase);
        for (int64_t ow = 0; ow < p->OW; ow++) {
            int64_t nt = window_cells(p, nb, cs.base, cs.tbase, ow, cs.off, cs.tap);
            tc_scalar inv = avg_inv(p, od, oh, ow), *y = p->y + (u * p->OW + ow) * C;
            int64_t c0 = 0;
#ifndef TC_DOUBLE
            /* 64 channels as four 16-float vectors held across the taps */
            typedef float v16 __attribute__((vector_size(64)));
            for (; c0 + AVG_BLOCK <= C; c0 += AVG_BLOCK) {
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b;
                for (int64_t t = 0; t < nt; t++) {
                    const float *xt = p->x + off[t] + c0;
                    memcpy(&b, xt, sizeof b), a0 += b;
                    memcpy(&b, xt + 16, sizeof b), a1 += b;
                    memcpy(&b, xt + 32, sizeof b), a2 += b;
                    memcpy(&b, xt + 48, sizeof b), a3 += b;
                }
                a0 *= inv, a1 *= inv, a2 *= inv, a3 *= inv;
                memcpy(y + c0, &a0, sizeof a0), memcpy(y + c0 + 16, &a1, sizeof a1);
                memcpy(y + c0 + 32, &a2, sizeof a2), memcpy(y + c0 + 48, &a3, sizeof a3);
            }
#endif
            for (; c0 + AVG_BLOCK <= C; c0 += AVG_BLOCK) avg_block(y + c0, p->x + c0, off, nt, inv, AVG_BLOCK);
            if (c0 < C) avg_block(y + c0, p->x + c0, off, nt, inv, C - c0);
        }
    }
}

/* one output's share of a scatter backward: output r = (n, od, oh, ow), its
 * cells inside the input in cs (cells of them), channels [c0, c1) */
typedef void (*scatter_fn)(const pool_plan *p, int64_t r, int64_t od, int64_t oh, int64_t ow, const cell_scratch *cs,
                           int64_t cells, int64_t c0, int64_t c1);

/* Scatter backward (average pooling; max with int32 winners): tasks
 * [lo, hi), task = (image, block of channels), each writing only its own
 * part of gx, every output in order handed to `out` (inlined: one copy of
 * this loop per pooling, with no call per output) */
static inline __attribute__((always_inline)) void scatter_tasks(pool_plan *p, int64_t lo, int64_t hi, scatter_fn out)
{
    const int64_t C = p->C;
    const cell_scratch cs = scratch_of(p);
    for (int64_t task = lo; task < hi; task++) {
        int64_t n = task / p->cblocks, c0 = task % p->cblocks * p->cblock;
        int64_t c1 = c0 + p->cblock < C ? c0 + p->cblock : C;
        if (p->fresh) zero_part(p, n, c0, c1);
        for (int64_t od = 0; od < p->OD; od++)
            for (int64_t oh = 0; oh < p->OH; oh++) {
                int64_t nb = line_bases(p, n, od, oh, cs.base, cs.tbase);
                for (int64_t ow = 0; ow < p->OW; ow++) {
                    int64_t r = ((n * p->OD + od) * p->OH + oh) * p->OW + ow;
                    out(p, r, od, oh, ow, &cs, window_cells(p, nb, cs.base, cs.tbase, ow, cs.off, cs.tap), c0, c1);
                }
            }
    }
}

/* every cell of the window gets g / count */
static inline __attribute__((always_inline)) void avg_scatter(const pool_plan *p, int64_t r, int64_t od, int64_t oh,
                                                              int64_t ow, const cell_scratch *cs, int64_t cells,
                                                              int64_t c0, int64_t c1)
{
    const tc_scalar *g = p->gy + r * p->C, inv = avg_inv(p, od, oh, ow);
    for (int64_t i = 0; i < cells; i++) {
        tc_scalar *gx = p->gx + cs->off[i];
        for (int64_t ch = c0; ch < c1; ch++) gx[ch] += g[ch] * inv;
    }
}

static void avg_backward_images(void *ctx, int64_t lo, int64_t hi) { scatter_tasks(ctx, lo, hi, avg_scatter); }

/* A fresh gradient of windows that never overlap (stride >= kernel on every
 * axis: VGG's 2x2 / 2): every input cell gets at most one term, so it is
 * written once, g * 1/count or 0, instead of zero-filled and then added to
 * channel block by channel block (0 + v is v: the same values). Tasks are
 * input lines (n, d, h): each writes W * C contiguous values. */
static bool avg_disjoint(const pool_plan *p)
{
    for (int a = 0; a < 3; a++)
        if (p->s[a] < p->k[a]) return false;
    return true;
}

/* the window of output o on axis a that covers input cell i: -1 if none */
static inline int64_t covering(const pool_plan *p, int a, int64_t i, int64_t nout)
{
    int64_t t = i + p->pb[a], o = t / p->s[a];
    return t - o * p->s[a] < p->k[a] && o < nout ? o : -1;
}

/* cells that output o divides by on axis a (count_include_pad: the window clipped to the padded extent) */
static inline int64_t axis_count(const pool_plan *p, int a, int64_t o, int64_t in)
{
    int64_t f, c, pc;
    window(p, a, o, in, &f, &c, &pc);
    return p->include_pad ? pc : c;
}

static void avg_backward_lines(void *ctx, int64_t lo, int64_t hi)
{
    const pool_plan *p = ctx;
    const int64_t C = p->C, W = p->W;
    for (int64_t line = lo; line < hi; line++) {
        int64_t ih = line % p->H, t = line / p->H, id = t % p->D, n = t / p->D;
        tc_scalar *gx = p->gx + line * W * C;
        int64_t od = covering(p, 0, id, p->OD), oh = covering(p, 1, ih, p->OH);
        if (od < 0 || oh < 0) {
            memset(gx, 0, sizeof(tc_scalar) * (size_t)(W * C));
            continue;
        }
        int64_t cdh = axis_count(p, 0, od, p->D) * axis_count(p, 1, oh, p->H);
        const tc_scalar *gline = p->gy + ((n * p->OD + od) * p->OH + oh) * p->OW * C;
        int64_t last_ow = -1;
        tc_scalar inv = 0;
        for (int64_t iw = 0; iw < W; iw++) {
            int64_t ow = covering(p, 2, iw, p->OW);
            tc_scalar *dst = gx + iw * C;
            if (ow < 0) {
                memset(dst, 0, sizeof(tc_scalar) * (size_t)C);
                continue;
            }
            if (ow != last_ow) { /* the cell itself is inside: count >= 1 */
                inv = (tc_scalar)1 / (tc_scalar)(cdh * axis_count(p, 2, ow, W));
                last_ow = ow;
            }
            const tc_scalar *g = gline + ow * C;
            for (int64_t ch = 0; ch < C; ch++) dst[ch] = g[ch] * inv;
        }
    }
}

/* ---- max pooling --------------------------------------------------------------- */

/* Channels [c, C) one at a time: the SSE2 loops' tails, the double build's
 * whole loops (pool_max.h's rules) */
static inline void max_fwd_channels(TC_POOL_MAX_FWD_ARGS, int64_t c)
{
    for (; c < C; c++) {
        y[c] = x[off[0] + c];
        if (idx) idx[c] = (uint8_t)tap[0];
        for (int64_t i = 1; i < n; i++) {
            tc_scalar v = x[off[i] + c];
            if (v > y[c] || v != v) {
                y[c] = v;
                if (idx) idx[c] = (uint8_t)tap[i];
            }
        }
    }
}

static inline void max_gather_channels(TC_POOL_MAX_GATHER_ARGS, int64_t c)
{
    for (; c < C; c++) {
        tc_scalar a = add ? gx[c] : 0;
        for (int64_t i = 0; i < n; i++)
            if (idx[roff[i] + c] == tap[i]) a += g[roff[i] + c];
        gx[c] = a;
    }
}

/* The portable path: SSE2 (every x86-64 has it) in float builds, plain C
 * in the double build. The comparisons must not become branches: on random
 * data they mispredict half the time (gcc -O2 turns the C selects below
 * into jumps, 10-20x slower than the vector compare and blend). */
#if defined(__SSE2__) && !defined(TC_DOUBLE)
#include <emmintrin.h>

static inline __m128 sel(__m128 k, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(k, a), _mm_andnot_ps(k, b)); }
#endif

void tc_pool_max_fwd_generic(TC_POOL_MAX_FWD_ARGS)
{
    int64_t c = 0;
#if defined(__SSE2__) && !defined(TC_DOUBLE)
    for (; c + 4 <= C; c += 4) {
        __m128 b = _mm_loadu_ps(x + off[0] + c), bi = _mm_castsi128_ps(_mm_set1_epi32(tap[0]));
        for (int64_t i = 1; i < n; i++) {
            __m128 v = _mm_loadu_ps(x + off[i] + c);
            __m128 k = _mm_or_ps(_mm_cmpgt_ps(v, b), _mm_cmpunord_ps(v, v));
            b = sel(k, v, b);
            bi = sel(k, _mm_castsi128_ps(_mm_set1_epi32(tap[i])), bi);
        }
        _mm_storeu_ps(y + c, b);
        if (idx) {
            __m128i w = _mm_packs_epi32(_mm_castps_si128(bi), _mm_castps_si128(bi));
            int32_t bytes = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
            memcpy(idx + c, &bytes, 4);
        }
    }
#endif
    max_fwd_channels(x, off, tap, n, C, y, idx, c);
}

void tc_pool_max_gather_generic(TC_POOL_MAX_GATHER_ARGS)
{
    int64_t c = 0;
#if defined(__SSE2__) && !defined(TC_DOUBLE)
    for (; c + 4 <= C; c += 4) {
        __m128 a = add ? _mm_loadu_ps(gx + c) : _mm_setzero_ps();
        for (int64_t i = 0; i < n; i++) {
            int32_t bytes;
            memcpy(&bytes, idx + roff[i] + c, 4);
            __m128i zero = _mm_setzero_si128();
            __m128i iv = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bytes), zero), zero);
            __m128 k = _mm_castsi128_ps(_mm_cmpeq_epi32(iv, _mm_set1_epi32(tap[i])));
            a = sel(k, _mm_add_ps(a, _mm_loadu_ps(g + roff[i] + c)), a);
        }
        _mm_storeu_ps(gx + c, a);
    }
#endif
    max_gather_channels(gx, g, idx, roff, tap, n, C, add, c);
}

/* windows of more than 255 taps: the same rule, the winner kept as int32 (-1: none) */
static void max_fwd_wide(const tc_scalar *x, const int64_t *off, const int32_t *tap, int64_t n, int64_t C,
                         tc_scalar *y, int32_t *idx)
{
    const tc_scalar *x0 = x + off[0];
    for (int64_t c = 0; c < C; c++) y[c] = x0[c];
    if (idx)
        for (int64_t c = 0; c < C; c++) idx[c] = tap[0];
    for (int64_t i = 1; i < n; i++) {
        const tc_scalar *xi = x + off[i];
        for (int64_t c = 0; c < C; c++) {
            bool take = (xi[c] > y[c]) | (xi[c] != xi[c]); /* | , not ||: no branch */
            y[c] = take ? xi[c] : y[c];
            if (idx) idx[c] = take ? tap[i] : idx[c];
        }
    }
}

static void pick_max_kernels(pool_plan *p)
{
    p->fwd = tc_pool_max_fwd_generic, p->gather = tc_pool_max_gather_generic;
#ifndef TC_DOUBLE
    switch (tc_isa()) {
    case TC_ISA_AVX512:
        p->fwd = tc_pool_max_fwd_avx512, p->gather = tc_pool_max_gather_avx512;
        break;
    case TC_ISA_AVX2:
        p->fwd = tc_pool_max_fwd_avx2, p->gather = tc_pool_max_gather_avx2;
        break;
    default: break;
    }
#endif
}

/* units [lo, hi): unit u is one output line (n, od, oh) of OW positions (the
 * divisions that locate a line are paid once per line, not per output) */
static void max_forward_lines(void *ctx, int64_t lo, int64_t hi)
{
    pool_plan *p = ctx;
    const int64_t C = p->C;
    cell_scratch cs = scratch_of(p);
    for (int64_t u = lo; u < hi; u++) {
        int64_t oh = u % p->OH, od = (u / p->OH) % p->OD, n = u / p->OH / p->OD;
        int64_t nb = line_bases(p, n, od, oh, cs.base, cs.tbase);
        for (int64_t ow = 0; ow < p->OW; ow++) {
            int64_t r = u * p->OW + ow, cells = window_cells(p, nb, cs.base, cs.tbase, ow, cs.off, cs.tap);
            tc_scalar *y = p->y + r * C;
            if (cells == 0) { /* the window lies in the padding: nothing wins */
                for (int64_t c = 0; c < C; c++) y[c] = -INFINITY;
                if (p->idx8) memset(p->idx8 + r * C, TC_POOL_NONE, (size_t)C);
                if (p->idx32)
                    for (int64_t c = 0; c < C; c++) p->idx32[r * C + c] = -1;
            } else if (p->idx32) {
                max_fwd_wide(p->x, cs.off, cs.tap, cells, C, y, p->idx32 + r * C);
            } else if (p->taps > 255) {
                max_fwd_wide(p->x, cs.off, cs.tap, cells, C, y, NULL);
            } else {
                p->fwd(p->x, cs.off, cs.tap, cells, C, y, p->idx8 ? p->idx8 + r * C : NULL);
            }
        }
    }
}

/* windows of more than 255 taps (int32 winners): each output's gradient
 * into the cells it won */
static inline __attribute__((always_inline)) void max_scatter(const pool_plan *p, int64_t r, int64_t od, int64_t oh,
                                                              int64_t ow, const cell_scratch *cs, int64_t cells,
                                                              int64_t c0, int64_t c1)
{
    (void)od, (void)oh, (void)ow;
    const tc_scalar *g = p->gy + r * p->C;
    const int32_t *am = p->idx32 + r * p->C;
    for (int64_t i = 0; i < cells; i++)
        for (int64_t ch = c0; ch < c1; ch++)
            if (am[ch] == cs->tap[i]) p->gx[cs->off[i] + ch] += g[ch];
}

static void max_backward_images(void *ctx, int64_t lo, int64_t hi) { scatter_tasks(ctx, lo, hi, max_scatter); }

/* Gather backward (one-byte winners): tasks [lo, hi) as above, each input
 * cell of the task's image and channels summing, in output order, the
 * gradients of the windows it won (pool_max.h), written once. */
static void max_gather_images(void *ctx, int64_t lo, int64_t hi)
{
    pool_plan *p = ctx;
    const int64_t C = p->C, k1 = p->k[1], k2 = p->k[2];
    const int64_t rd = 1 + 2 * p->k[0], rh = 1 + 2 * k1, rw = 1 + 2 * k2;
    cell_scratch cs = scratch_of(p);
    for (int64_t task = lo; task < hi; task++) {
        int64_t n = task / p->cblocks, c0 = task % p->cblocks * p->cblock;
        int64_t c1 = c0 + p->cblock < C ? c0 + p->cblock : C;
        for (int64_t id = 0; id < p->D; id++) {
            const int32_t *wd = p->wins[0] + id * rd;
            for (int64_t ih = 0; ih < p->H; ih++) {
                const int32_t *wh = p->wins[1] + ih * rh;
                int64_t nb = 0; /* the (od, oh) output lines holding row (id, ih), in order */
                for (int32_t j = 0; j < wd[0]; j++)
                    for (int32_t l = 0; l < wh[0]; l++) {
                        cs.base[nb] = ((n * p->OD + wd[1 + 2 * j]) * p->OH + wh[1 + 2 * l]) * p->OW;
                        cs.tbase[nb++] = (int32_t)((wd[2 + 2 * j] * k1 + wh[2 + 2 * l]) * k2);
                    }
                tc_scalar *gx = p->gx + ((n * p->D + id) * p->H + ih) * p->W * C + c0;
                for (int64_t iw = 0; iw < p->W; iw++) {
                    const int32_t *ww = p->wins[2] + iw * rw;
                    int64_t cells = 0;
                    for (int64_t b = 0; b < nb; b++)
                        for (int32_t m = 0; m < ww[0]; m++) {
                            cs.off[cells] = (cs.base[b] + ww[1 + 2 * m]) * C;
                            cs.tap[cells++] = cs.tbase[b] + ww[2 + 2 * m];
                        }
                    p->gather(gx + iw * C, p->gy + c0, p->idx8 + c0, cs.off, cs.tap, cells, c1 - c0, !p->fresh);
                }
            }
        }
    }
}

/* per axis: each input index's windows as (output index, tap on the axis)
 * pairs in increasing output index (taps from last to first) */
static bool make_wins(pool_plan *p)
{
    const int64_t in[3] = {p->D, p->H, p->W}, out[3] = {p->OD, p->OH, p->OW};
    for (int a = 0; a < 3; a++) {
        const int64_t row = 1 + 2 * p->k[a];
        int32_t *w = tc_arena_alloc(sizeof(int32_t) * (size_t)(in[a] * row));
        if (!w) return false;
        for (int64_t i = 0; i < in[a]; i++) {
            int32_t *r = w + i * row, cnt = 0;
            for (int64_t kk = p->k[a] - 1; kk >= 0; kk--) {
                int64_t t = i + p->pb[a] - kk * p->dl[a];
                if (t < 0 || t % p->s[a] || t / p->s[a] >= out[a]) continue;
                r[1 + 2 * cnt] = (int32_t)(t / p->s[a]);
                r[2 + 2 * cnt++] = (int32_t)kk;
            }
            r[0] = cnt;
        }
        p->wins[a] = w;
    }
    return true;
}

/* per-thread scratch: the cells of a window and the (kd, kh) line bases */
static bool alloc_scratch(pool_plan *p)
{
    int64_t k01 = p->k[0] * p->k[1];
    p->scratch_bytes = (size_t)(p->taps + k01) * (sizeof(int64_t) + sizeof(int32_t));
    p->scratch_bytes = (p->scratch_bytes + 63) / 64 * 64; /* threads never share a cache line */
    p->scratch = tc_arena_alloc(p->scratch_bytes * (size_t)tc_num_threads());
    return p->scratch != NULL;
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
    p.taps = p.k[0] * p.k[1] * p.k[2];
    int64_t rows = p.N * p.OD * p.OH * p.OW;
    if (!is_max) {
        if (!alloc_scratch(&p)) return NULL;
        tc_parallel_for(p.N * p.OD * p.OH, 1, avg_forward_lines, &p);
    } else {
        pick_max_kernels(&p);
        if (tc_needs_grad(1, &x)) { /* inference needs no winners */
            if (p.taps <= 255) p.idx8 = tc_arena_alloc((size_t)(rows * p.C) + 1);
            else p.idx32 = tc_arena_alloc(sizeof(int32_t) * (size_t)(rows * p.C + 1));
            if (!p.idx8 && !p.idx32) return NULL;
        }
        if (!alloc_scratch(&p)) return NULL;
        tc_parallel_for(p.N * p.OD * p.OH, 1, max_forward_lines, &p);
    }
    tc_node *nd = tc_record(op, y, 1, &x, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

static tc_status pool_backward(tc_node *n, const tc_tensor *gy)
{
    bool fresh;
    tc_tensor *gx = tc_grad_for_overwrite(n->inputs[0], &fresh);
    if (!gx) return TC_OK;
    pool_plan p = *(pool_plan *)n->saved;
    p.gy = gy->data;
    p.gx = gx->data;
    p.fresh = fresh;
    /* split images, and also channels when there are few images: every gx
     * element still receives its terms in the same order (bit-identical) */
    p.cblock = p.N >= 2 * tc_num_threads() || p.C <= 16 ? p.C : 16;
    p.cblocks = p.cblock ? (p.C + p.cblock - 1) / p.cblock : 1;
    if (p.is_max) {
        if (!alloc_scratch(&p)) return tc_last_status(); /* the thread count may have changed since forward */
        if (p.idx8) {
            if (!make_wins(&p)) return tc_last_status();
            tc_parallel_for(p.N * p.cblocks, 1, max_gather_images, &p);
        } else {
            tc_parallel_for(p.N * p.cblocks, 1, max_backward_images, &p);
        }
    } else if (fresh && avg_disjoint(&p)) {
        int64_t line = p.W * p.C, grain = line >= 4096 ? 1 : 4096 / (line ? line : 1);
        tc_parallel_for(p.N * p.D * p.H, grain, avg_backward_lines, &p);
    } else {
        if (!alloc_scratch(&p)) return tc_last_status();
        tc_parallel_for(p.N * p.cblocks, 1, avg_backward_images, &p);
    }
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
