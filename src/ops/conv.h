/* Convolution internals shared by conv.c (arguments, plan, tape) and
 * conv_im2col.c (the tiled im2col + GEMM kernels). Not installed. */
#ifndef TC_OPS_CONV_H
#define TC_OPS_CONV_H

#include "ops_internal.h"

/* Every case is seen as 3-D ([N, D, H, W, C], kernel [KD, KH, KW, Cg, F])
 * with size-1 axes where the input has fewer. */
typedef struct {
    int64_t N, D, H, W, C;       /* input */
    int64_t OD, OH, OW, F;       /* output */
    int64_t k[3], s[3], dl[3], pb[3];
    int64_t groups, Cg, Fg, K;   /* K = KD*KH*KW*Cg: one patch row */
    int64_t rows_img;            /* OD*OH*OW: output positions of one image */
    int64_t tile;                /* most patch rows per im2col tile */
    int64_t wblocks;             /* images are split into this many fixed blocks for dW */
    bool direct;                 /* 1x1, stride 1, no padding, one group: the patches are X */
    bool thin;                   /* one group, C <= 4: direct small-GEMM kernels (conv_thin.c) */
    bool depthwise;              /* groups = C > 1: direct loops (conv_depthwise.c) */
    const tc_scalar *x, *w;      /* packed input and kernel (arena / parameter memory) */
    tc_scalar *patches;          /* thin kernels (K <= 64) with a kernel gradient to come: the whole
                                    patch matrix, groups blocks of [N*rows_img, K], kept for backward
                                    (re-running im2col would cost as much as the GEMMs); else NULL */
} conv_plan;

/* y = conv(x, w) (+ bias): y must hold N*rows_img*F values. */
bool tc_conv_forward_kernel(const conv_plan *p, const tc_scalar *bias, tc_scalar *y);
/* dx += conv^T(dy), dw += patches^T dy, db += column sums of dy (any may be NULL). */
bool tc_conv_backward_kernel(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db);

/* The same for depthwise plans (conv_depthwise.c). */
void tc_conv_depthwise_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y);
bool tc_conv_depthwise_backward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db);

/* The same for thin plans (conv_thin.c); tc_conv_is_thin says which plans are. */
bool tc_conv_is_thin(const conv_plan *p);
bool tc_conv_thin_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y);
bool tc_conv_thin_backward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, tc_scalar *dw, tc_scalar *db);

#endif
