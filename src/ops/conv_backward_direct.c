/* Backward of a direct convolution (conv_plan.direct: 1x1, stride 1, no
 * padding, one group: the input is its own patch matrix, X [rows, C]):
 *   db  = column sums of dY (row by row, tc_conv_colsum)
 *   dW += X^T dY          (one GEMM, the reduction over the whole map)
 *   dX  = dY W^T          (one GEMM straight into the gradient)
 * A fresh dX (the input's first gradient, tc_grad_for_overwrite) is
 * written by its GEMM with beta 0 instead of being zero-filled and then
 * added to: on ResNet-50's 56x56 1x1 layers at batch 1 that was a memset
 * and a read of 3.2 MB (the 3,136 x 256 gradient of res2_1x1_in's input),
 * which spill from L2, against 0.1 GFLOP of products with K = 64. The
 * values are those of 0 + v (the sign of a zero aside), for any threads. */
#include "conv_im2col.h"

void tc_conv_backward_direct(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, bool dx_fresh, tc_scalar *dw,
                             tc_scalar *db)
{
    const int64_t rows = p->N * p->rows_img;
    if (db) tc_conv_colsum(db, dy, rows, p->F, true);
    if (dw) tc_gemm(true, false, p->K, p->F, rows, 1, p->x, p->K, dy, p->F, 1, dw, p->F);
    if (dx) tc_gemm(false, true, rows, p->K, p->F, 1, dy, p->F, p->w, p->F, dx_fresh ? 0 : 1, dx, p->K);
}
