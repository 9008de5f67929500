/* ONNX quantisation: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul (and, in onnx_ops_nn.c, ConvInteger and
 * QLinearConv). Integer values travel as whole-number floats; products are
 * accumulated in int64 here (MatMulInteger, QLinearMatMul), so they are
 * exact. Quantised results round half to even and saturate to the range of
 * the zero point's type (uint8 unless the file declares int8). Only
 * DequantizeLinear is differentiable (in its input and scale), composed of
 * ops with backward; the others produce integers. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

/* the range of input i's element type (a zero point): uint8 by default */
void tc_onnx_quant_range(onnx_ctx *c, int i, double *lo, double *hi)
{
    int v = i < c->node->n_in ? c->node->in[i] : -1;
    int t = v >= 0 ? c->m->values[v].elem_type : 2;
    if (t == 3) *lo = -128, *hi = 127;       /* INT8 */
    else if (t == 6) *lo = -2147483648.0, *hi = 2147483647.0; /* INT32 */
    else *lo = 0, *hi = 255;                 /* UINT8 */
}

double tc_onnx_saturate(double v, double lo, double hi)
{
    v = nearbyint(v); /* ties to even */
    return v < lo ? lo : v > hi ? hi : v;
}

/* a per-axis parameter (scale / zero point) shaped to broadcast along axis */
static tc_tensor *along_axis(onnx_ctx *c, tc_tensor *p, int axis, int ndim)
{
    if (!p || tc_numel(p) == 1 || ndim == 0) return p;
    int64_t shape[TC_MAX_DIMS];
    for (int d = 0; d < ndim; d++) shape[d] = d == axis ? tc_numel(p) : 1;
    tc_tensor *r = tc_reshape(p, ndim, shape);
    tc_onnx_check(c, r);
    return r;
}

typedef struct {
    int64_t axis;
} q_attrs;
PREP(prep_q)
{
    (void)m;
    q_attrs *a = ATTRS_NEW(q_attrs);
    if (!a) return tc_last_status();
    a->axis = tc_onnx_attr_int(n, "axis", 1);
    return TC_OK;
}

OP(op_quantize)
{
    (void)n_out;
    NEED(2);
    tc_tensor *x = in[0];
    /* axis matters only for per-axis scales */
    int axis = x->ndim && tc_numel(in[1]) > 1 ? tc_onnx_axis(c, ATTRS(q_attrs)->axis, x->ndim) : 0;
    if (axis < 0) return tc_last_status();
    tc_tensor *zp = n_in > 2 ? in[2] : NULL;
    bool g = tc_set_grad_enabled(false);
    tc_tensor *scaled = tc_div(x, along_axis(c, in[1], axis, x->ndim));
    tc_tensor *zpe = zp ? tc_expand(along_axis(c, zp, axis, x->ndim), x->ndim, x->shape) : NULL;
    const tc_scalar *sv = scaled ? tc_packed(scaled) : NULL, *zv = zpe ? tc_packed(zpe) : NULL;
    tc_set_grad_enabled(g);
    if (!sv || (zp && !zv)) return tc_onnx_check(c, NULL);
    double lo, hi;
    tc_onnx_quant_range(c, 2, &lo, &hi);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(x->ndim, x->shape));
    for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = (tc_scalar)tc_onnx_saturate(nearbyint((double)sv[i]) + (zv ? zv[i] : 0), lo, hi);
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

OP(op_dequantize)
{
    (void)n_out;
    NEED(2);
    tc_tensor *x = in[0];
    /* axis matters only for per-axis scales */
    int axis = x->ndim && tc_numel(in[1]) > 1 ? tc_onnx_axis(c, ATTRS(q_attrs)->axis, x->ndim) : 0;
    if (axis < 0) return tc_last_status();
    if (n_in > 2 && in[2]) ONNX_TRY(c, x = tc_sub(x, along_axis(c, in[2], axis, x->ndim)));
    ONNX_TRY(c, out[0] = tc_mul(x, along_axis(c, in[1], axis, in[0]->ndim)));
    c->out_dtype[0] = TC_ONNX_FLOAT;
    return TC_OK;
}

OP(op_dynamic_quantize)
{
    (void)n;
    NEED(1);
    tc_tensor *x = in[0];
    const tc_scalar *xv = tc_packed(x);
    int64_t cnt = tc_numel(x);
    if (!xv && cnt) return tc_onnx_check(c, NULL);
    double mn = 0, mx = 0; /* the range always includes 0 */
    for (int64_t i = 0; i < cnt; i++) mn = xv[i] < mn ? xv[i] : mn, mx = xv[i] > mx ? xv[i] : mx;
    float scale = (float)((mx - mn) / 255.0);
    double zp = scale ? tc_onnx_saturate(0 - mn / scale, 0, 255) : 0;
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(x->ndim, x->shape));
    for (int64_t i = 0; i < cnt; i++) y->data[i] = (tc_scalar)(scale ? tc_onnx_saturate(nearbyint(xv[i] / scale) + zp, 0, 255) : zp);
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_INT64;
    if (n_out > 1) {
        ONNX_TRY(c, out[1] = tc_scalar_tensor(scale));
        c->out_dtype[1] = TC_ONNX_FLOAT;
    }
    if (n_out > 2) {
        ONNX_TRY(c, out[2] = tc_scalar_tensor((tc_scalar)zp));
        c->out_dtype[2] = TC_ONNX_INT64;
    }
    return TC_OK;
}

/* (A - azp) @ (B - bzp) in int64 for matrices (leading axes of A batch,
 * B 2-D or with the same leading axes); azp per row of A or scalar, bzp per
 * column of B or scalar. */
static tc_status int_matmul(onnx_ctx *c, tc_tensor *A, tc_tensor *B, tc_tensor *azp, tc_tensor *bzp, int64_t **acc,
                            int *ndim, int64_t *shape)
{
    if (A->ndim < 2 || B->ndim < 2) return tc_onnx_fail(c, TC_ERR_SHAPE, "A %s and B %s must be matrices", TC_SHP(A), TC_SHP(B));
    int64_t M = A->shape[A->ndim - 2], K = A->shape[A->ndim - 1], N = B->shape[B->ndim - 1];
    int64_t batch = tc_shape_numel(A->ndim - 2, A->shape), bbatch = tc_shape_numel(B->ndim - 2, B->shape);
    if (B->shape[B->ndim - 2] != K || (bbatch != 1 && bbatch != batch))
        return tc_onnx_fail(c, TC_ERR_SHAPE, "A %s and B %s do not multiply", TC_SHP(A), TC_SHP(B));
    const tc_scalar *a = tc_packed(A), *b = tc_packed(B);
    const tc_scalar *az = azp ? tc_packed(azp) : NULL, *bz = bzp ? tc_packed(bzp) : NULL;
    int64_t naz = azp ? tc_numel(azp) : 0, nbz = bzp ? tc_numel(bzp) : 0;
    int64_t *r = tc_arena_alloc(sizeof *r * (size_t)(batch * M * N + 1));
    if (!r || !a || !b) return tc_onnx_check(c, NULL);
    for (int64_t q = 0; q < batch; q++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int64_t s = 0, za = naz ? (int64_t)az[naz == 1 ? 0 : i] : 0, zb = nbz ? (int64_t)bz[nbz == 1 ? 0 : j] : 0;
                const tc_scalar *ar = a + (q * M + i) * K, *bc = b + (bbatch == 1 ? 0 : q) * K * N + j;
                for (int64_t k = 0; k < K; k++) s += ((int64_t)ar[k] - za) * ((int64_t)bc[k * N] - zb);
                r[(q * M + i) * N + j] = s;
            }
    *ndim = A->ndim;
    for (int d = 0; d < A->ndim - 1; d++) shape[d] = A->shape[d];
    shape[A->ndim - 1] = N;
    *acc = r;
    return TC_OK;
}

OP(op_matmul_integer)
{
    (void)n;
    (void)n_out;
    NEED(2);
    int64_t *acc, shape[TC_MAX_DIMS];
    int r;
    tc_status s = int_matmul(c, in[0], in[1], n_in > 2 ? in[2] : NULL, n_in > 3 ? in[3] : NULL, &acc, &r, shape);
    if (s) return s;
    ONNX_TRY(c, out[0] = tc_onnx_from_int64(r, shape, acc));
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

OP(op_qlinear_matmul)
{
    (void)n;
    (void)n_out;
    NEED(8);
    int64_t *acc, shape[TC_MAX_DIMS];
    int r;
    tc_status s = int_matmul(c, in[0], in[3], in[2], in[5], &acc, &r, shape);
    if (s) return s;
    tc_scalar as, bs, ys, yz;
    if (tc_numel(in[1]) != 1 || tc_numel(in[4]) != 1 || tc_numel(in[6]) != 1 || tc_numel(in[7]) != 1)
        return tc_onnx_fail(c, TC_ERR_UNSUPPORTED, "per-axis scales");
    tc_read_values(in[1], &as), tc_read_values(in[4], &bs), tc_read_values(in[6], &ys), tc_read_values(in[7], &yz);
    double lo, hi;
    tc_onnx_quant_range(c, 7, &lo, &hi);
    tc_tensor *y;
    ONNX_TRY(c, y = tc_result(r, shape));
    double mult = (double)as * (double)bs / (double)ys;
    for (int64_t i = 0; i < tc_numel(y); i++) y->data[i] = (tc_scalar)tc_onnx_saturate((double)acc[i] * mult + yz, lo, hi);
    out[0] = y;
    c->out_dtype[0] = TC_ONNX_INT64;
    return TC_OK;
}

const onnx_op_entry tc_onnx_ops_quant[] = {
    {"QuantizeLinear", op_quantize, prep_q}, {"DequantizeLinear", op_dequantize, prep_q},
    {"DynamicQuantizeLinear", op_dynamic_quantize, NULL}, {"MatMulInteger", op_matmul_integer, NULL},
    {"QLinearMatMul", op_qlinear_matmul, NULL},
    {NULL, NULL, NULL},
};
