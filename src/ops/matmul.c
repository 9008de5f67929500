/* Matrix products: matmul (batched, broadcasting), linear (dense layer) and
 * gram (x^T x). All are GEMMs through tc_gemm; backward is two more GEMMs
 * (one for gram). */
#include "ops_internal.h"

/* A matmul problem after NumPy's rules: batch shape (broadcast), and per
 * operand the batch strides (0 where broadcast) of its packed data. */
typedef struct {
    int64_t m, n, k;
    int nb;                        /* batch rank */
    int64_t batch[TC_MAX_DIMS];
    int64_t a_bstride[TC_MAX_DIMS], b_bstride[TC_MAX_DIMS];
    const tc_scalar *a, *b;        /* packed operands (row-major) */
} mm_plan;

static int64_t batch_count(const mm_plan *p) { return tc_shape_numel(p->nb, p->batch); }

/* Offset of batch item i in an operand with the given batch strides. */
static int64_t batch_offset(const mm_plan *p, const int64_t *bstride, int64_t i)
{
    int64_t off = 0;
    for (int d = p->nb - 1; d >= 0; d--) {
        off += (i % p->batch[d]) * bstride[d];
        i /= p->batch[d];
    }
    return off;
}

tc_tensor *tc_matmul(tc_tensor *a, tc_tensor *b)
{
    TC_CHECK_TENSOR("matmul", a);
    TC_CHECK_TENSOR("matmul", b);
    TC_CHECK(a->ndim >= 1 && b->ndim >= 1, TC_ERR_SHAPE, "matmul: operands %s and %s need at least 1 dimension",
             TC_SHP(a), TC_SHP(b));
    /* view 1-D operands as matrices, remembering which dims to drop */
    int64_t as[TC_MAX_DIMS + 1], bs[TC_MAX_DIMS + 1];
    int ar = a->ndim, br = b->ndim;
    memcpy(as, a->shape, sizeof(int64_t) * (size_t)ar);
    memcpy(bs, b->shape, sizeof(int64_t) * (size_t)br);
    bool a_vec = ar == 1, b_vec = br == 1;
    if (a_vec) as[1] = as[0], as[0] = 1, ar = 2;
    if (b_vec) bs[1] = 1, br = 2;
    mm_plan p = {.m = as[ar - 2], .k = as[ar - 1], .n = bs[br - 1]};
    TC_CHECK(bs[br - 2] == p.k, TC_ERR_SHAPE, "matmul: inner dimensions differ: %s @ %s", TC_SHP(a), TC_SHP(b));
    p.nb = (ar > br ? ar : br) - 2;
    int64_t ast[TC_MAX_DIMS], bst[TC_MAX_DIMS];
    tc_contiguous_strides(ar, as, ast);
    tc_contiguous_strides(br, bs, bst);
    for (int d = 0; d < p.nb; d++) {
        int da = d - (p.nb - (ar - 2)), db = d - (p.nb - (br - 2));
        int64_t sa = da >= 0 ? as[da] : 1, sb = db >= 0 ? bs[db] : 1;
        TC_CHECK(sa == sb || sa == 1 || sb == 1, TC_ERR_SHAPE,
                 "matmul: batch dimensions do not broadcast: %s @ %s", TC_SHP(a), TC_SHP(b));
        p.batch[d] = sa > sb ? sa : sb;
        p.a_bstride[d] = (da >= 0 && sa != 1) ? ast[da] : 0;
        p.b_bstride[d] = (db >= 0 && sb != 1) ? bst[db] : 0;
    }
    /* output shape: batch + [m] + [n], without the dims of 1-D operands */
    int64_t ys[TC_MAX_DIMS];
    int yr = 0;
    for (int d = 0; d < p.nb; d++) ys[yr++] = p.batch[d];
    if (!a_vec) ys[yr++] = p.m;
    if (!b_vec) ys[yr++] = p.n;
    TC_CHECK(yr <= TC_MAX_DIMS, TC_ERR_SHAPE, "matmul: result of %s @ %s has too many dimensions", TC_SHP(a), TC_SHP(b));
    p.a = tc_packed(a);
    p.b = tc_packed(b);
    tc_tensor *y = tc_result(yr, ys);
    if (!y || !p.a || !p.b) return NULL;
    int64_t nbatch = batch_count(&p);
    for (int64_t i = 0; i < nbatch; i++)
        tc_gemm(false, false, p.m, p.n, p.k, 1, p.a + batch_offset(&p, p.a_bstride, i), p.k,
                p.b + batch_offset(&p, p.b_bstride, i), p.n, 0, y->data + i * p.m * p.n, p.n);
    tc_node *nd = tc_record(TC_OP_matmul, y, 2, (tc_tensor *[]){a, b}, sizeof p);
    if (nd) memcpy(nd->saved, &p, sizeof p);
    return y;
}

tc_status tc_backward_matmul(tc_node *nd, const tc_tensor *gy)
{
    const mm_plan *p = nd->saved;
    int64_t nbatch = batch_count(p);
    /* A fresh gradient (the operand's first) is written by the first
     * product into each of its batches (beta 0) instead of being zero-filled
     * and added to (0 + x == x: the same values). Where a broadcast operand
     * revisits a batch, the ones after the first add. x @ x keeps the add. */
    bool distinct = nd->inputs[0] != nd->inputs[1], fa = false, fb = false;
    tc_tensor *ga = distinct ? tc_grad_for_overwrite(nd->inputs[0], &fa) : tc_grad_for(nd->inputs[0]);
    tc_tensor *gb = distinct ? tc_grad_for_overwrite(nd->inputs[1], &fb) : tc_grad_for(nd->inputs[1]);
    /* batches run in order, so broadcast operands accumulate deterministically;
     * the first visit of each batch of an operand comes at a larger offset
     * than every visit before it (row-major order over the batch dims) */
    int64_t a_seen = -1, b_seen = -1;
    for (int64_t i = 0; i < nbatch; i++) {
        const tc_scalar *g = gy->data + i * p->m * p->n;
        int64_t ao = batch_offset(p, p->a_bstride, i), bo = batch_offset(p, p->b_bstride, i);
        if (ga)
            tc_gemm(false, true, p->m, p->k, p->n, 1, g, p->n, p->b + bo, p->n, fa && ao > a_seen ? 0 : 1,
                    ga->data + ao, p->k);
        if (gb)
            tc_gemm(true, false, p->k, p->n, p->m, 1, p->a + ao, p->k, g, p->n, fb && bo > b_seen ? 0 : 1,
                    gb->data + bo, p->n);
        if (ao > a_seen) a_seen = ao;
        if (bo > b_seen) b_seen = bo;
    }
    return TC_OK;
}

/* x viewed as [m, n] (n its last axis): G = x^T x [n, n], the Gram matrix of
 * the columns (neural style's F^T F). One GEMM that reads x as the
 * transposed operand where it lies, so neither the forward nor the backward
 * copies a transpose (matmul(transpose(F), F) packs F^T and scatters its
 * gradient back through the transpose). Backward: dx = x (dG + dG^T), one
 * GEMM instead of matmul's two. */
typedef struct {
    const tc_scalar *x; /* packed input [m, n] */
    int64_t m, n;
} gram_saved;

/* G is symmetric: one product per block of GRAM_BLOCK columns computes
 * rows 0 .. the block's end (the blocks on and above the diagonal), and the
 * blocks below are copied from their mirror images: 56% of the full
 * product's flops at n = 512, 62% at 256 (n <= GRAM_BLOCK: one product).
 * Every element is still one dot product over all of m, by tc_gemm, whose
 * results do not depend on the thread count. */
#define GRAM_BLOCK 64

static void gram_upper(const tc_scalar *x, int64_t m, int64_t n, tc_scalar *g)
{
    for (int64_t j0 = 0; j0 < n; j0 += GRAM_BLOCK) {
        int64_t j1 = j0 + GRAM_BLOCK < n ? j0 + GRAM_BLOCK : n;
        tc_gemm(true, false, j1, j1 - j0, m, 1, x, n, x + j0, n, 0, g + j0, n);
    }
    for (int64_t i = GRAM_BLOCK; i < n; i++) /* row i, columns of the blocks before i's */
        for (int64_t j = 0; j < i / GRAM_BLOCK * GRAM_BLOCK; j++) g[i * n + j] = g[j * n + i];
}

tc_tensor *tc_gram(tc_tensor *x)
{
    TC_CHECK_TENSOR("gram", x);
    TC_CHECK(x->ndim >= 1, TC_ERR_SHAPE, "gram: input %s needs at least 1 dimension", TC_SHP(x));
    int64_t n = x->shape[x->ndim - 1];
    gram_saved s = {tc_packed(x), n ? tc_numel(x) / n : 0, n};
    tc_tensor *y = tc_result(2, (int64_t[]){n, n});
    if (!y || !s.x) return NULL;
    gram_upper(s.x, s.m, n, y->data);
    tc_node *nd = tc_record(TC_OP_gram, y, 1, &x, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

tc_status tc_backward_gram(tc_node *nd, const tc_tensor *gy)
{
    const gram_saved *s = nd->saved;
    bool fresh;
    tc_tensor *gx = tc_grad_for_overwrite(nd->inputs[0], &fresh);
    if (!gx || s->n == 0) return TC_OK;
    tc_scalar *sym = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(s->n * s->n));
    if (!sym) return tc_last_status();
    for (int64_t i = 0; i < s->n; i++)
        for (int64_t j = 0; j < s->n; j++) sym[i * s->n + j] = gy->data[i * s->n + j] + gy->data[j * s->n + i];
    /* a fresh dx is written by the product (beta 0), not zero-filled and added to */
    tc_gemm(false, false, s->m, s->n, s->n, 1, s->x, s->n, sym, s->n, fresh ? 0 : 1, gx->data, s->n);
    return TC_OK;
}

typedef struct {
    const tc_scalar *x; /* packed input [rows, in] */
    int64_t rows, in, out;
} linear_saved;

tc_tensor *tc_linear(tc_tensor *x, tc_tensor *w, tc_tensor *bias)
{
    TC_CHECK_TENSOR("linear", x);
    TC_CHECK_TENSOR("linear", w);
    TC_CHECK(x->ndim >= 1 && w->ndim == 2 && x->shape[x->ndim - 1] == w->shape[0], TC_ERR_SHAPE,
             "linear: input %s does not fit weights %s (need [..., in] and [in, out])", TC_SHP(x), TC_SHP(w));
    TC_CHECK(!bias || (bias->ndim == 1 && bias->shape[0] == w->shape[1]), TC_ERR_SHAPE,
             "linear: bias %s does not fit weights %s", TC_SHP(bias), TC_SHP(w));
    linear_saved s = {tc_packed(x), tc_numel(x) / x->shape[x->ndim - 1], w->shape[0], w->shape[1]};
    int64_t ys[TC_MAX_DIMS];
    memcpy(ys, x->shape, sizeof ys);
    ys[x->ndim - 1] = s.out;
    tc_tensor *y = tc_result(x->ndim, ys);
    const tc_scalar *wd = tc_packed(w);
    const tc_scalar *bd = bias ? tc_packed(bias) : NULL;
    if (!y || !s.x || !wd || (bias && !bd)) return NULL;
    if (bd) {
        for (int64_t r = 0; r < s.rows; r++) memcpy(y->data + r * s.out, bd, sizeof(tc_scalar) * (size_t)s.out);
    }
    tc_gemm(false, false, s.rows, s.out, s.in, 1, s.x, s.in, wd, s.out, bd ? 1 : 0, y->data, s.out);
    tc_node *nd = tc_record(TC_OP_linear, y, 3, (tc_tensor *[]){x, w, bias}, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

tc_status tc_backward_linear(tc_node *nd, const tc_tensor *gy)
{
    const linear_saved *s = nd->saved;
    /* a fresh dX or dW (the first gradient of an intermediate) is written by
     * its one product (beta 0) instead of zero-filled and added to */
    bool distinct = nd->inputs[0] != nd->inputs[1], fx = false, fw = false;
    tc_tensor *gx = distinct ? tc_grad_for_overwrite(nd->inputs[0], &fx) : tc_grad_for(nd->inputs[0]);
    tc_tensor *gw = distinct ? tc_grad_for_overwrite(nd->inputs[1], &fw) : tc_grad_for(nd->inputs[1]);
    tc_tensor *gb = tc_grad_for(nd->inputs[2]);
    if (gx) {
        const tc_scalar *wd = tc_packed(nd->inputs[1]);
        tc_gemm(false, true, s->rows, s->in, s->out, 1, gy->data, s->out, wd, s->out, fx ? 0 : 1, gx->data, s->in);
    }
    if (gw)
        tc_gemm(true, false, s->in, s->out, s->rows, 1, s->x, s->in, gy->data, s->out, fw ? 0 : 1, gw->data, s->out);
    if (gb) {
        for (int64_t r = 0; r < s->rows; r++) tc_accumulate(gb->data, gy->data + r * s->out, s->out);
    }
    return TC_OK;
}
