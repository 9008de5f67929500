/* Depthwise convolution (groups = C, one input channel per group, F = C*M):
 * direct loops instead of im2col, which would run C tiny GEMMs of
 * [rows, taps] x [taps, M] per tile. Output channel c*M+m reads input
 * channel c. Each output sums its taps in kernel order; the kernel and bias
 * gradients are summed per fixed image block (p->wblocks) and the blocks
 * added in order, so results do not depend on the number of threads.
 * With one filter per channel (M = 1) the AVX2 and AVX-512 paths run the
 * vector line kernels of conv_depthwise.h instead of the loops. */
#include "conv_depthwise.h"

typedef void (*dw_fwd_fn)(TC_DW_FWD_ARGS);
typedef void (*dw_bwd_fn)(TC_DW_BWD_ARGS);

typedef struct {
    const conv_plan *p;
    const tc_scalar *bias, *dy;
    tc_scalar *y, *dx, *dw_parts, *db_parts;
    dw_fwd_fn fwd; /* the vector line kernels (conv_depthwise.h), or NULL: the loops below */
    dw_bwd_fn bwd;
} dw_job;

/* The vector kernels serve M = 1 in float builds on the AVX2 and AVX-512
 * paths; the generic path, the double build and multipliers M > 1 run the
 * C loops below. */
static void pick(const conv_plan *p, dw_job *j)
{
    j->fwd = NULL, j->bwd = NULL;
#ifndef TC_DOUBLE
    if (p->Fg != 1 || p->k[0] * p->k[1] > TC_DW_MAX_ROWS) return;
    switch (tc_isa()) {
    case TC_ISA_AVX512: j->fwd = tc_dw_fwd_line_avx512, j->bwd = tc_dw_bwd_line_avx512; break;
    case TC_ISA_AVX2: j->fwd = tc_dw_fwd_line_avx2, j->bwd = tc_dw_bwd_line_avx2; break;
    default: break;
    }
#else
    (void)p;
#endif
}

/* input position of output (od, oh, ow) under tap (kd, kh, kw); false when in the padding */
static inline bool tap_input(const conv_plan *p, int64_t od, int64_t oh, int64_t ow, int64_t kd, int64_t kh, int64_t kw,
                             int64_t *pos)
{
    int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0], ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1],
            iw = ow * p->s[2] - p->pb[2] + kw * p->dl[2];
    if (id < 0 || id >= p->D || ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) return false;
    *pos = (id * p->H + ih) * p->W + iw;
    return true;
}

/* units [lo, hi): unit u is one output row (n, od, oh) of OW positions */
static void forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    const dw_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t C = p->C, F = p->F, M = p->Fg;
    for (int64_t u = lo; u < hi; u++) {
        int64_t oh = u % p->OH, od = (u / p->OH) % p->OD, n = u / p->OH / p->OD;
        const tc_scalar *xn = p->x + n * p->D * p->H * p->W * C;
        if (j->fwd) {
            j->fwd(p, xn, j->bias, od, oh, j->y + u * p->OW * F);
            /* the line kernel applied the activation itself unless a residual comes first */
            if (p->ep.res) tc_conv_epilogue(p, j->y + u * p->OW * F, u * p->OW, (u + 1) * p->OW);
            continue;
        }
        for (int64_t ow = 0; ow < p->OW; ow++) {
            tc_scalar *y = j->y + (u * p->OW + ow) * F;
            for (int64_t f = 0; f < F; f++) y[f] = j->bias ? j->bias[f] : 0;
            for (int64_t kd = 0, tap = 0; kd < p->k[0]; kd++)
                for (int64_t kh = 0; kh < p->k[1]; kh++)
                    for (int64_t kw = 0; kw < p->k[2]; kw++, tap++) {
                        int64_t pos;
                        if (!tap_input(p, od, oh, ow, kd, kh, kw, &pos)) continue;
                        const tc_scalar *x = xn + pos * C, *w = p->w + tap * F;
                        if (M == 1) {
                            for (int64_t c = 0; c < C; c++) y[c] += x[c] * w[c];
                        } else {
                            for (int64_t c = 0; c < C; c++)
                                for (int64_t m = 0; m < M; m++) y[c * M + m] += x[c] * w[c * M + m];
                        }
                    }
        }
        if (tc_conv_has_epilogue(p)) tc_conv_epilogue(p, j->y + u * p->OW * F, u * p->OW, (u + 1) * p->OW);
    }
}

void tc_conv_depthwise_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y)
{
    dw_job j = {.p = p, .bias = bias, .y = y};
    pick(p, &j);
    tc_parallel_for(p->N * p->OD * p->OH, 1, forward_rows, &j);
}

/* image blocks [lo, hi): dx of the block's images, and the block's partial kernel and bias gradients */
static void backward_blocks(void *ctx, int64_t lo, int64_t hi)
{
    const dw_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t C = p->C, F = p->F, M = p->Fg, taps = p->k[0] * p->k[1] * p->k[2];
    for (int64_t b = lo; b < hi; b++) {
        tc_scalar *dw = j->dw_parts ? j->dw_parts + b * taps * F : NULL, *db = j->db_parts ? j->db_parts + b * F : NULL;
        if (dw) memset(dw, 0, sizeof(tc_scalar) * (size_t)(taps * F));
        if (db) memset(db, 0, sizeof(tc_scalar) * (size_t)F);
        for (int64_t n = b * p->N / p->wblocks; n < (b + 1) * p->N / p->wblocks; n++) {
            const tc_scalar *xn = p->x + n * p->D * p->H * p->W * C;
            tc_scalar *dxn = j->dx ? j->dx + n * p->D * p->H * p->W * C : NULL;
            if (j->bwd) {
                for (int64_t line = 0; line < p->OD * p->OH; line++)
                    j->bwd(p, xn, j->dy + (n * p->rows_img + line * p->OW) * F, line / p->OH, line % p->OH, dxn, dw, db);
                continue;
            }
            for (int64_t o = 0; o < p->rows_img; o++) {
                int64_t ow = o % p->OW, oh = (o / p->OW) % p->OH, od = o / p->OW / p->OH;
                const tc_scalar *g = j->dy + (n * p->rows_img + o) * F;
                if (db) tc_accumulate(db, g, F);
                for (int64_t kd = 0, tap = 0; kd < p->k[0]; kd++)
                    for (int64_t kh = 0; kh < p->k[1]; kh++)
                        for (int64_t kw = 0; kw < p->k[2]; kw++, tap++) {
                            int64_t pos;
                            if (!tap_input(p, od, oh, ow, kd, kh, kw, &pos)) continue;
                            const tc_scalar *x = xn + pos * C, *w = p->w + tap * F;
                            if (dxn) {
                                tc_scalar *dx = dxn + pos * C;
                                for (int64_t c = 0; c < C; c++)
                                    for (int64_t m = 0; m < M; m++) dx[c] += g[c * M + m] * w[c * M + m];
                            }
                            if (dw) {
                                tc_scalar *dwt = dw + tap * F;
                                for (int64_t c = 0; c < C; c++)
                                    for (int64_t m = 0; m < M; m++) dwt[c * M + m] += g[c * M + m] * x[c];
                            }
                        }
            }
        }
    }
}

bool tc_conv_depthwise_backward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db)
{
    const int64_t taps = p->k[0] * p->k[1] * p->k[2], nb = p->wblocks;
    dw_job j = {.p = p, .dy = dy, .dx = dx};
    pick(p, &j);
    if (dw && !(j.dw_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(nb * taps * p->F)))) return false;
    if (db && !(j.db_parts = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(nb * p->F)))) return false;
    if (!dx && !dw && !db) return true;
    tc_parallel_for(nb, 1, backward_blocks, &j);
    for (int64_t b = 0; b < nb; b++) { /* fixed order; small (taps * F values per block) */
        if (dw) tc_accumulate(dw, j.dw_parts + b * taps * p->F, taps * p->F);
        if (db) tc_accumulate(db, j.db_parts + b * p->F, p->F);
    }
    return true;
}
