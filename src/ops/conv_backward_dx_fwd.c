/* The input gradient of a stride-1 convolution as a forward convolution:
 *   dX[i] = sum over taps t of dY[i + pb - t * dl] W[t]^T
 * is the convolution of dY (F channels) with the kernel flipped in every
 * spatial axis and transposed per tap, W'[T-1-t] = W[t]^T [F, C], with
 * padding (k-1)*dl - pb before (and what the input size leaves after), the
 * same dilation, and dX's size as its output. conv_im2col.c's forward then
 * packs its A panels straight from dY (patch runs read in place) and writes
 * each dX value once, where the im2col path multiplied dP = dY W^T into a
 * scratch tile and added it into a zeroed dX tap by tap (col2im): that was
 * a memset of dX, a write and a read of dP (K values per row) and nine
 * read-modify-writes of each dX value (VGG's conv1_2 at batch 1: the dX
 * pass 10% slower than the forward of the same FLOPs).
 * A fresh gradient (tc_grad_for_overwrite) is written in place; one that
 * holds other contributions gets the product in a scratch buffer added to
 * it. The forward's bits do not depend on the thread count. Only on our own
 * packed kernels (the patch runs) and maps of at least DX_FWD_MIN_ROWS
 * positions (the small-map layers keep their own dX path) and twice C x F. */
#include "conv_im2col.h"

#include <string.h>

#define DX_FWD_MIN_ROWS 784 /* 28 x 28 */

bool tc_conv_dx_as_forward_ok(const conv_plan *p)
{
    if (p->groups != 1 || p->direct || p->thin || p->depthwise || p->winograd || p->F < 16 || p->C < 16) return false;
    /* the flipped kernel is a transposed copy of W made per call: only where
     * the map is large against it (res3's 28x28 x 128 -> 128, rows = C*F/21:
     * the dX pass 25% slower with a plain transposing loop, 5% with the
     * blocked one below; VGG's conv1_2 and InceptionV3's conv3, rows = 10-12
     * C*F: 5-7% faster; res2's 3x3, 0.8 C*F: the same either way) */
    if (p->rows_img < DX_FWD_MIN_ROWS || p->N * p->rows_img < 2 * p->C * p->F || !tc_gemm_packs_b()) return false;
    for (int a = 0; a < 3; a++) /* padding before of at most the kernel's span: the flipped one's is >= 0 */
        if (p->s[a] != 1 || p->pb[a] > (p->k[a] - 1) * p->dl[a]) return false;
    return true;
}

bool tc_conv_dx_as_forward(const conv_plan *p, const tc_scalar *dy, tc_scalar *dx, bool fresh)
{
    const int64_t T = p->k[0] * p->k[1] * p->k[2], C = p->C, F = p->F;
    tc_scalar *wt = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(T * C * F));
    if (!wt) return false;
    for (int64_t t = 0; t < T; t++) { /* W'[T-1-t][f][c] = W[t][c][f], in 16 x 16 blocks (both sides in L1) */
        const tc_scalar *s = p->w + t * C * F;
        tc_scalar *d = wt + (T - 1 - t) * F * C;
        for (int64_t c0 = 0; c0 < C; c0 += 16)
            for (int64_t f0 = 0; f0 < F; f0 += 16) {
                const int64_t c1 = c0 + 16 < C ? c0 + 16 : C, f1 = f0 + 16 < F ? f0 + 16 : F;
                for (int64_t f = f0; f < f1; f++)
                    for (int64_t c = c0; c < c1; c++) d[f * C + c] = s[c * F + f];
            }
    }
    conv_plan q = *p;
    q.D = p->OD, q.H = p->OH, q.W = p->OW, q.C = F;
    q.OD = p->D, q.OH = p->H, q.OW = p->W, q.F = C;
    q.Cg = F, q.Fg = C, q.K = T * F, q.rows_img = p->D * p->H * p->W;
    for (int a = 0; a < 3; a++) q.pb[a] = (p->k[a] - 1) * p->dl[a] - p->pb[a];
    q.x = dy, q.w = wt, q.wpk = NULL, q.wino = NULL, q.patches = NULL;
    q.ep = (conv_epilogue){0};
    q.ep.act = TC_CONV_ACT_NONE;
    /* tc_conv's tile rule for our packed kernel (W packed once per call) */
    q.tile = (int64_t)128 * 1024 / q.K;
    if (q.tile < 256) q.tile = 256;
    if (q.K * q.F > (int64_t)256 * 1024 && q.tile < 1024) {
        const int64_t cap = (int64_t)4 * 1024 * 1024 / q.K;
        q.tile = cap > 1024 ? 1024 : cap < 256 ? 256 : cap;
    }
    const int64_t n = p->N * p->D * p->H * p->W * C;
    tc_scalar *out = fresh ? dx : tc_arena_alloc(sizeof(tc_scalar) * (size_t)n);
    if (!out || !tc_conv_forward_kernel(&q, NULL, out)) return false;
    if (!fresh)
        for (int64_t i = 0; i < n; i++) dx[i] += out[i];
    return true;
}
