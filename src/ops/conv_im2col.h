/* Private to the im2col convolution kernels: conv_im2col.c (forward, the
 * backward over image blocks, the shared patch and tile helpers) and
 * conv_backward_one.c (the backward of a single image block). */
#ifndef TC_OPS_CONV_IM2COL_H
#define TC_OPS_CONV_IM2COL_H

#include "conv.h"

/* One kernel tap of a patch row */
typedef struct {
    int64_t dd, dh, dw; /* the tap's offsets from the window's corner, per axis */
    int64_t off;        /* and in the input, in values */
} patch_tap;

typedef struct {
    const conv_plan *p;
    const tc_scalar *bias, *dy;
    tc_scalar *y, *dx, *dw_parts, *dw, *db_parts, *db;
    tc_scalar *scratch; /* per thread: P tile, then dP tile (backward) */
    int64_t scratch_len;
    const tc_scalar *zeros; /* forward: Cg zeros for the patch runs, or NULL: im2col */
    const patch_tap *taps;  /* forward: the taps of the patch runs, or NULL */
    tc_gemm_b_panel *wp; /* per group: W [K, Fg] (forward) or W^T [Fg, K] (dX), packed once per call
                            (or, forward, p->wpk: once at load) */
    int64_t ftile;       /* forward: rows per tile (forward_tiles) */
    bool dw_rows;        /* backward: dW by tc_conv_dw_rows (tc_conv_dw_rows_ok, enabled) */
    int64_t dx_nx;       /* backward, one block: dX tiles of the two waves (dx_tiles), or 0 */
    int64_t *dx_bounds;
} conv_job;

/* The taps of p (K / Cg of them) into t */
void tc_conv_tap_table(const conv_plan *p, patch_tap *t);
/* dx += the patch gradients dP [r1-r0, K] of rows [r0, r1), group g */
void tc_conv_col2im_tile(const conv_plan *p, int64_t g, int64_t r0, int64_t r1, const tc_scalar *dP, tc_scalar *dx);
/* rows per tile of the patch rows [lo, hi) (a rule of the shape) */
int64_t tc_conv_tile_rows(const conv_plan *p, int64_t lo, int64_t hi);
/* out[c] += the sum over rows of dy[r][c], rows in order (the bits of a
 * row-by-row accumulation); pooled: column blocks over the pool */
void tc_conv_colsum(tc_scalar *out, const tc_scalar *dy, int64_t rows, int64_t F, bool pooled);
/* the input-gradient tiles of one image block for the two waves, or 0 */
int64_t tc_conv_dx_tiles(const conv_plan *p, int64_t **bounds_out);
/* the backward of a direct plan (p->direct; conv_backward_direct.c): dx
 * written (beta 0) where dx_fresh, else added to, like dw and db */
void tc_conv_backward_direct(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, bool dx_fresh, tc_scalar *dw,
                             tc_scalar *db);
/* dX of a stride-1 plan as the forward convolution of dY with the flipped,
 * transposed kernel (conv_backward_dx_fwd.c): where _ok says so; dx
 * written where fresh, else added to; false: scratch memory short */
bool tc_conv_dx_as_forward_ok(const conv_plan *p);
bool tc_conv_dx_as_forward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, bool fresh);
/* the backward of a single image block (j->p->wblocks < 2) */
bool tc_conv_backward_one_block(const conv_job *j);
/* dW rows [k0, k1) += the products of images [n0, n1) of a stride-1 2-D
 * layer read from the input rows (conv_backward_dw_rows.c), where
 * tc_conv_dw_rows_ok (ring: per thread scratch of at least that many values) */
bool tc_conv_dw_rows_ok(const conv_plan *p, int64_t scratch_floats);
void tc_conv_dw_rows(const conv_plan *p, const tc_scalar *dy, tc_scalar *dw, int64_t n0, int64_t n1, int64_t k0, int64_t k1,
                     tc_scalar *ring);
bool tc_conv_dw_rows_enabled(void);

#endif
