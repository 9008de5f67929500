/* Convolution internals shared by conv.c (arguments, plan, tape) and
 * conv_im2col.c (the tiled im2col + GEMM kernels). Not installed. */
#ifndef TC_OPS_CONV_H
#define TC_OPS_CONV_H

#include "ops_internal.h"

/* The fused epilogue of tc_conv_params (inference only): y = act(y + res) */
typedef struct {
    tc_conv_act act;
    tc_scalar lo, hi;
    const tc_scalar *res; /* packed residual [N*rows_img, F], or NULL */
} conv_epilogue;

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
    bool winograd;               /* 3x3 stride 1, selected: forward and dX by conv_winograd.c */
    const tc_scalar *x, *w;      /* packed input and kernel (arena / parameter memory) */
    const tc_gemm_b_panel *wpk;  /* forward: per group, W [K, Fg] packed at load (tc_conv_weights), or NULL */
    const struct tc_wino_kernel *wino; /* forward, Winograd selected: the transformed kernel kept with
                                          tc_conv_weights (conv_winograd.h), or NULL: transformed per call */
    conv_epilogue ep;            /* forward only: applied by the kernels to each finished tile */
    tc_scalar *patches;          /* thin kernels (K <= 64) with a kernel gradient to come: the whole
                                    patch matrix, groups blocks of [N*rows_img, K], kept for backward
                                    (re-running im2col would cost as much as the GEMMs); else NULL */
} conv_plan;

/* Whether p->ep does anything, and applying it to the finished output rows
 * [r0, r1) of the batch (y points at row r0) (conv_epilogue.c). */
static inline bool tc_conv_has_epilogue(const conv_plan *p) { return p->ep.act != TC_CONV_ACT_NONE || p->ep.res; }
void tc_conv_epilogue(const conv_plan *p, tc_scalar *y, int64_t r0, int64_t r1);
/* The same over all rows, split over the threads (for kernels that write the whole output in one call). */
void tc_conv_epilogue_all(const conv_plan *p, tc_scalar *y);
/* the epilogue of conv_plan ctx on one tile of the output (a tc_gemm_tile_fn) */
void tc_conv_epilogue_tile(void *ctx, tc_scalar *y, int64_t ldc, int64_t row, int64_t h, int64_t col, int64_t w);
/* tc_conv_epilogue over the pool (y points at row r0): for a tile whose GEMM was split too */
void tc_conv_epilogue_parallel(const conv_plan *p, tc_scalar *y, int64_t r0, int64_t r1);
/* backward of a fused ReLU (training keeps conv + ReLU one op): dY where the
 * output y is positive, in the relu_grad mode given (tc_relu_grad_mode), in a
 * new step buffer; NULL if it cannot be had */
tc_scalar *tc_conv_relu_grad(const conv_plan *p, const tc_scalar *y, const tc_scalar *gy, int mode);

/* The panels of a tc_conv_weights when they may be used for kernel (its
 * own, unchanged shape and groups, no gradient required), else NULL
 * (conv_prepack.c). */
const tc_gemm_b_panel *tc_conv_weights_panels(const tc_conv_weights *w, const tc_tensor *kernel, int64_t groups);

/* With Winograd selected and a plan of its shape (tc_conv_winograd_shape_ok):
 * w's Winograd kernel, made at the first such call and kept (freed with w);
 * NULL when wpk is not w's panels (another kernel, a gradient required) or
 * memory is short (the per-call transform then runs, same bits). */
typedef struct tc_wino_kernel tc_wino_kernel;
const tc_wino_kernel *tc_conv_weights_winograd(const tc_conv_weights *w, const conv_plan *p);

/* y = conv(x, w) (+ bias), then p->ep: y must hold N*rows_img*F values. */
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
#ifndef TC_DOUBLE
/* Their direct kernels (conv_thin_direct.c), for float builds on AVX2 and AVX-512:
 * tc_thin_direct_pick gives the current ISA's kernels or NULL (generic);
 * they give every gradient, any stride. */
typedef struct thin_direct_kernels thin_direct_kernels;
const thin_direct_kernels *tc_thin_direct_pick(void);
bool tc_conv_thin_direct_forward(const conv_plan *p, const thin_direct_kernels *kern, const float *bias, float *y);
bool tc_conv_thin_direct_backward(const conv_plan *p, const thin_direct_kernels *kern, const float *dy, float *dx,
                                  float *dw, float *db);
#endif

#endif
