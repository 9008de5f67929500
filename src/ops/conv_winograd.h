/* Winograd F(4x4, 3x3) convolution (conv_winograd.c): 2-D 3x3 kernels,
 * stride 1, dilation 1, one group; for kept inference kernels by default
 * (TC_CONV_AUTO), for all of them with TC_CONV_WINOGRAD (tc_conv_set_algorithm
 * or TENSORCOOK_CONV). Not installed. */
#ifndef TC_OPS_CONV_WINOGRAD_H
#define TC_OPS_CONV_WINOGRAD_H

#include "conv.h"

/* One 3x3 stride-1 correlation out[n, oh, ow, :] = sum over (a, b, ci) of
 * in[n, oh + a + off_h, ow + b + off_w, ci] * g[a, b, ci, :] (zero outside
 * the input), seen through 4x4 output tiles of 6x6 input tiles. The
 * forward pass is (x, W, off = -pad_before); the input gradient is
 * (dy, W flipped in space with C and F swapped, off = pad_before - 2). */
typedef struct {
    int64_t N, Hin, Win, Cin;   /* the input being transformed */
    int64_t Hout, Wout, Cout;   /* the output written */
    int64_t off_h, off_w;
    int64_t th, tw;             /* tiles down and across one image */
    const tc_scalar *in;
    tc_scalar *out;
    const tc_scalar *bias;      /* Cout values added to every output, or NULL */
    bool accumulate;            /* out += result (the input gradient) instead of out = result */
} wino_geom;

/* Input transform of tiles [t0, t0 + nt): V[((t - t0) * 36 + e) * Cin + ci]
 * = (B^T d B)[e] for the 6x6 patch d of tile t: each tile's 36 rows are
 * one contiguous block, so the GEMM of element e reads rows of stride
 * 36 * Cin (a layout of 36 separate planes made each tile touch 36 distant
 * cache lines: the transforms took twice the GEMMs' time). Output
 * transform: out tile t = A^T m A (+ bias), m[e] =
 * M[((t - t0) * 36 + e) * Cout ...], cut to the output's edges. Plain C over the channels
 * (contiguous, channels-last), compiled once per instruction set. */
typedef struct {
    void (*in_tf)(const wino_geom *g, int64_t t0, int64_t nt, tc_scalar *V);
    void (*out_tf)(const wino_geom *g, int64_t t0, int64_t nt, const tc_scalar *M);
    /* U[c][e - e0][f] = (G w_cf G^T)[e] for c in [c0, c1) and e in [e0,
     * e1), w [3][3][C][F]; flip reads the taps mirrored (the input
     * gradient's kernel). Each c writes one contiguous (e1 - e0) x F block
     * (36 planes [e][c][f] cost a page per plane per row) */
    void (*kernel_tf)(const tc_scalar *w, int64_t C, int64_t F, bool flip, int64_t c0, int64_t c1, int e0, int e1,
                      tc_scalar *U);
} wino_transforms;
extern const wino_transforms tc_wino_tf_generic, tc_wino_tf_avx2, tc_wino_tf_avx512;

/* The forward kernel transformed and packed once (kept with an inference
 * model's tc_conv_weights, conv_prepack.c): U [C][36][F] and its 36
 * panels, made with the transforms tf of the ISA in use then; the forward
 * pass uses it only while that ISA is still the one in use. U is freed
 * (NULL) once every panel holds a packed copy (our AVX2 / AVX-512
 * kernels): only one-row products would read it, and the forward pass
 * makes none where the batch has two tiles or more. Same values and
 * panels as the per-call transform, so the same bits. */
struct tc_wino_kernel {
    const wino_transforms *tf;
    int64_t C, F;
    tc_scalar *U;
    tc_gemm_b_panel pk[36];
};
/* w [3][3][C][F]; NULL (error set): out of memory */
tc_wino_kernel *tc_conv_winograd_kernel_new(const tc_scalar *w, int64_t C, int64_t F);
void tc_conv_winograd_kernel_free(tc_wino_kernel *k);

/* Whether the plan's shape is one Winograd takes (2-D 3x3, stride 1,
 * dilation 1, one group, at least 8 input and output channels, not a
 * depthwise/thin/patch-keeping plan), whatever the selection and the
 * number of tiles. */
bool tc_conv_winograd_shape_ok(const conv_plan *p);
/* Whether the plan runs here: Winograd selected (or auto with the kernel
 * kept), tc_conv_winograd_shape_ok, and enough work over the batch for the
 * transforms to pay (tc_conv_winograd_enough: 40 4x4 output tiles, or with
 * the kernel kept (p->wino holds it made for the ISA in use) 128 output
 * positions, 8 full tiles). From the shape only, never the thread count. */
bool tc_conv_winograd_use(const conv_plan *p);
bool tc_conv_winograd_enough(const conv_plan *p, bool kept);
/* y = conv(x, w) (+ bias), then p->ep; dx += conv^T(dy). False (error
 * set): no scratch memory. */
bool tc_conv_winograd_forward(const conv_plan *p, const tc_scalar *bias, tc_scalar *y);
bool tc_conv_winograd_backward_dx(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx);

#endif
