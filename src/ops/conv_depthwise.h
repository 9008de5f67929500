/* The vector loops of depthwise convolution (conv_depthwise.c) with one
 * filter per channel (multiplier M = 1, F = C: MobileNet's, EfficientNet's
 * and Xception's layers), one version per instruction set. Not installed.
 * Each works on one output line (n, od, oh) of OW positions, vectorised
 * over channels (contiguous in the channels-last layout), with 4 positions
 * per step sharing each tap's weight vector.
 *
 * Forward:  y[ow*C + c] = bias[c] (or 0) + x * w over the taps in kernel
 *           order (fused multiply-adds), padded taps skipped; then, when
 *           p->ep has no residual, its activation before the store (the
 *           caller runs tc_conv_epilogue only when there is a residual).
 * Backward: g is the line's dy; per position in order and tap in kernel
 *           order, dxn[pos*C + c] += g * w, dw[tap*C + c] += g * x,
 *           db[c] += g (each may be NULL). The sums run in the same order
 *           whatever the split of lines over threads, so results are
 *           bit-identical for any thread count on each path.
 * Kernels of more than TC_DW_MAX_ROWS (kd, kh) rows go to the C loops. */
#ifndef TC_OPS_CONV_DEPTHWISE_H
#define TC_OPS_CONV_DEPTHWISE_H

#include "conv.h"

#define TC_DW_MAX_ROWS 64

#define TC_DW_FWD_ARGS \
    const conv_plan *p, const tc_scalar *xn, const tc_scalar *bias, int64_t od, int64_t oh, tc_scalar *y
#define TC_DW_BWD_ARGS                                                                                          \
    const conv_plan *p, const tc_scalar *xn, const tc_scalar *g, int64_t od, int64_t oh, tc_scalar *dxn, \
        tc_scalar *dw, tc_scalar *db

/* the (kd, kh) rows of line (od, oh) inside the input: input offsets (at w = 0) and first taps */
static inline int tc_dw_line_rows(const conv_plan *p, int64_t od, int64_t oh, int64_t *roff, int64_t *tap0)
{
    int nr = 0;
    for (int64_t kd = 0; kd < p->k[0]; kd++) {
        int64_t id = od * p->s[0] - p->pb[0] + kd * p->dl[0];
        if (id < 0 || id >= p->D) continue;
        for (int64_t kh = 0; kh < p->k[1]; kh++) {
            int64_t ih = oh * p->s[1] - p->pb[1] + kh * p->dl[1];
            if (ih < 0 || ih >= p->H) continue;
            roff[nr] = (id * p->H + ih) * p->W * p->C;
            tap0[nr++] = (kd * p->k[1] + kh) * p->k[2];
        }
    }
    return nr;
}

#ifndef TC_DOUBLE
void tc_dw_fwd_line_avx2(TC_DW_FWD_ARGS);
void tc_dw_bwd_line_avx2(TC_DW_BWD_ARGS);
void tc_dw_fwd_line_avx512(TC_DW_FWD_ARGS);
void tc_dw_bwd_line_avx512(TC_DW_BWD_ARGS);
#endif

#endif
