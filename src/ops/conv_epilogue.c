/* The fused epilogue of a convolution (tc_conv_params.act / .residual):
 * y = act(y + residual) on rows the kernel has just written, while they are
 * in cache. The float operations are those of tc_add then tc_relu /
 * tc_clip, so the fused and the separate ops give the same bits. */
#include "broadcast.h"
#include "conv.h"
#include "tensorcook/autograd.h"

void tc_conv_epilogue(const conv_plan *p, tc_scalar *y, int64_t r0, int64_t r1)
{
    const conv_epilogue *e = &p->ep;
    const int64_t n = (r1 - r0) * p->F;
    if (e->res) {
        const tc_scalar *restrict r = e->res + r0 * p->F;
        TC_FOR_VEC(i, n, y[i] = y[i] + r[i]);
    }
    const tc_scalar lo = e->lo, hi = e->hi;
    switch (e->act) {
    case TC_CONV_RELU: TC_FOR_VEC(i, n, y[i] = y[i] > 0 ? y[i] : 0); break;
    case TC_CONV_CLIP: TC_FOR_VEC(i, n, y[i] = y[i] < lo ? lo : y[i] > hi ? hi : y[i]); break;
    case TC_CONV_ACT_NONE: break;
    }
}

/* tc_conv_epilogue on columns col..col+w-1 of rows row..row+h-1 (y at
 * (row, col), ldc apart): the same operations on each element */
/* one row of a tile; restrict parameters (block-scope restrict pointers
 * left the residual add scalar: 6% of ResNet-50) */
static inline __attribute__((always_inline)) void tile_row(const conv_epilogue *e, tc_scalar *restrict y,
                                                            const tc_scalar *restrict r, int64_t w)
{
    const tc_scalar lo = e->lo, hi = e->hi;
    if (r) TC_FOR_VEC(j, w, y[j] = y[j] + r[j]);
    switch (e->act) {
    case TC_CONV_RELU: TC_FOR_VEC(j, w, y[j] = y[j] > 0 ? y[j] : 0); break;
    case TC_CONV_CLIP: TC_FOR_VEC(j, w, y[j] = y[j] < lo ? lo : y[j] > hi ? hi : y[j]); break;
    case TC_CONV_ACT_NONE: break;
    }
}

static inline __attribute__((always_inline)) void tile_rows(const conv_plan *p, tc_scalar *y, int64_t ldc,
                                                             int64_t row, int64_t h, int64_t col, int64_t w)
{
    const conv_epilogue *e = &p->ep;
    for (int64_t i = 0; i < h; i++) tile_row(e, y + i * ldc, e->res ? e->res + (row + i) * p->F + col : NULL, w);
}

void tc_conv_epilogue_tile(void *ctx, tc_scalar *y, int64_t ldc, int64_t row, int64_t h, int64_t col, int64_t w)
{
    /* the AVX-512 kernel's full tile, 32 wide: constant trip counts, no scalar tail */
    if (w == 32) tile_rows(ctx, y, ldc, row, h, col, 32);
    else tile_rows(ctx, y, ldc, row, h, col, w);
}

typedef struct {
    const conv_plan *p;
    tc_scalar *y; /* row r0 */
    int64_t r0;
} ep_job;

static void ep_rows(void *ctx, int64_t lo, int64_t hi)
{
    const ep_job *j = ctx;
    tc_conv_epilogue(j->p, j->y + lo * j->p->F, j->r0 + lo, j->r0 + hi);
}

/* element by element: how the rows are split changes no bit */
void tc_conv_epilogue_parallel(const conv_plan *p, tc_scalar *y, int64_t r0, int64_t r1)
{
    if (!tc_conv_has_epilogue(p)) return;
    ep_job j = {p, y, r0};
    int64_t grain = 4096 / p->F + 1;
    tc_parallel_for(r1 - r0, grain, ep_rows, &j);
}

void tc_conv_epilogue_all(const conv_plan *p, tc_scalar *y) { tc_conv_epilogue_parallel(p, y, 0, p->N * p->rows_img); }

/* y > 0 exactly where the pre-activation was > 0 (relu(NaN) and relu(-0)
 * are 0), so these are the values tc_relu's backward gives from its input */
typedef struct {
    const tc_scalar *y, *g;
    tc_scalar *out;
    int64_t n;
    int mode;
} relu_grad_job;

static void relu_grad_pieces(void *ctx, int64_t lo, int64_t hi)
{
    const relu_grad_job *j = ctx;
    for (int64_t u = lo; u < hi; u++) {
        const int64_t e = u * TC_ELEMENTWISE_GRAIN, n = j->n - e < TC_ELEMENTWISE_GRAIN ? j->n - e : TC_ELEMENTWISE_GRAIN;
        const tc_scalar *restrict y = j->y + e, *restrict g = j->g + e;
        tc_scalar *restrict o = j->out + e;
        /* loads before the selects: a load under a condition is not vectorised */
        switch (j->mode) {
        case TC_RELU_GRAD_GUIDED: TC_FOR_VEC(i, n, tc_scalar gv = g[i]; o[i] = (y[i] > 0 && gv > 0) ? gv : 0); break;
        case TC_RELU_GRAD_RECTIFIED: TC_FOR_VEC(i, n, tc_scalar gv = g[i]; o[i] = gv > 0 ? gv : 0); break;
        default: TC_FOR_VEC(i, n, tc_scalar gv = g[i]; o[i] = y[i] > 0 ? gv : 0); break;
        }
    }
}

tc_scalar *tc_conv_relu_grad(const conv_plan *p, const tc_scalar *y, const tc_scalar *gy, int mode)
{
    const int64_t n = p->N * p->rows_img * p->F;
    tc_scalar *out = tc_arena_alloc(sizeof(tc_scalar) * (size_t)n);
    if (!out) return NULL;
    relu_grad_job j = {y, gy, out, n, mode};
    tc_parallel_for((n + TC_ELEMENTWISE_GRAIN - 1) / TC_ELEMENTWISE_GRAIN, 1, relu_grad_pieces, &j);
    return out;
}
