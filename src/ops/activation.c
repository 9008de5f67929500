/* Activations: relu, leaky relu, hard sigmoid, sigmoid and tanh with
 * vectorised kernels here; elu and softplus through pointwise.c's kernel;
 * the numerically stable softmax and log-softmax along any axis. */
#include "broadcast.h"
#include "pointwise.h"
#include "../core/vmath.h"

#include <math.h>

/* ---- relu, leaky relu, hard sigmoid, sigmoid, tanh: vectorised kernels ---------
 * Work is cut into fixed pieces of TC_ELEMENTWISE_GRAIN elements (the same
 * for any thread count); each piece runs blocks of TC_VEC lanes. elu and
 * softplus use pointwise.c's kernel (libm expm1 / log1p). */
/* A_RELU_GUIDED / A_RELU_RECTIFIED exist only in backward: relu's backward
 * picks them from tc_get_relu_grad_mode() (see autograd.h). */
typedef enum { A_RELU, A_LEAKY, A_HSIG, A_SIGMOID, A_TANH, A_RELU_GUIDED, A_RELU_RECTIFIED } act_kind;

typedef struct {
    act_kind kind;
    tc_scalar a, b;
    const tc_scalar *x; /* packed input */
} act_saved;

typedef struct {
    act_saved s;
    const tc_scalar *y, *gy;
    tc_scalar *out;
    int64_t n;
    bool fresh; /* backward: out is a first gradient, written rather than added to */
} act_job;

static void act_forward_piece(act_kind k, tc_scalar a, tc_scalar b, const tc_scalar *restrict x,
                              tc_scalar *restrict y, int64_t n)
{
    switch (k) {
    case A_RELU: TC_FOR_VEC(i, n, y[i] = x[i] > 0 ? x[i] : 0); break;
    case A_LEAKY: TC_FOR_VEC(i, n, y[i] = x[i] > 0 ? x[i] : a * x[i]); break;
    case A_HSIG: TC_FOR_VEC(i, n, tc_scalar v = a * x[i] + b; y[i] = v < 0 ? 0 : v > 1 ? 1 : v); break;
    case A_SIGMOID: TC_FOR_VEC(i, n, y[i] = tc_vsigmoid(x[i])); break;
    case A_TANH: TC_FOR_VEC(i, n, y[i] = tc_vtanh(x[i])); break;
    case A_RELU_GUIDED:
    case A_RELU_RECTIFIED: break; /* backward-only kinds */
    }
}

/* gx = (fresh: the first gradient, an uninitialised buffer) or += the
 * gradient: writing a first gradient skips its zero-fill and a read (0 + v
 * is v: the same values) */
#define ACT_GX(...)                                                       \
    do {                                                                  \
        if (fresh) TC_FOR_VEC(i, n, __VA_ARGS__; gx[i] = v);              \
        else TC_FOR_VEC(i, n, __VA_ARGS__; gx[i] += v);                   \
    } while (0)

static void act_backward_piece(act_kind k, tc_scalar a, tc_scalar b, const tc_scalar *restrict x,
                               const tc_scalar *restrict y, const tc_scalar *restrict g, tc_scalar *restrict gx,
                               int64_t n, bool fresh)
{
    switch (k) {
    /* loads before the selects: a load under a condition is not vectorised */
    case A_RELU: ACT_GX(tc_scalar gv = g[i]; tc_scalar v = x[i] > 0 ? gv : 0); break;
    case A_LEAKY: ACT_GX(tc_scalar gv = g[i]; tc_scalar v = x[i] > 0 ? gv : a * gv); break;
    case A_HSIG: ACT_GX(tc_scalar gv = g[i]; tc_scalar h = a * x[i] + b; tc_scalar v = (h > 0 && h < 1) ? a * gv : 0); break;
    case A_SIGMOID: ACT_GX(tc_scalar v = g[i] * y[i] * (1 - y[i])); break;
    case A_TANH: ACT_GX(tc_scalar v = g[i] * (1 - y[i] * y[i])); break;
    case A_RELU_GUIDED: ACT_GX(tc_scalar gv = g[i]; tc_scalar v = (x[i] > 0 && gv > 0) ? gv : 0); break;
    case A_RELU_RECTIFIED: ACT_GX(tc_scalar gv = g[i]; tc_scalar v = gv > 0 ? gv : 0); break;
    }
}
#undef ACT_GX

static void act_pieces(void *ctx, int64_t lo, int64_t hi)
{
    act_job *j = ctx;
    for (int64_t u = lo; u < hi; u++) {
        int64_t e = u * TC_ELEMENTWISE_GRAIN, n = j->n - e < TC_ELEMENTWISE_GRAIN ? j->n - e : TC_ELEMENTWISE_GRAIN;
        if (j->gy) act_backward_piece(j->s.kind, j->s.a, j->s.b, j->s.x + e, j->y + e, j->gy + e, j->out + e, n, j->fresh);
        else act_forward_piece(j->s.kind, j->s.a, j->s.b, j->s.x + e, j->out + e, n);
    }
}

static void act_run(act_job *j)
{
    tc_parallel_for((j->n + TC_ELEMENTWISE_GRAIN - 1) / TC_ELEMENTWISE_GRAIN, 1, act_pieces, j);
}

static tc_tensor *activation(const char *name, int op, act_kind kind, tc_tensor *x, tc_scalar a, tc_scalar b)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    tc_tensor *y = tc_result(x->ndim, x->shape);
    const tc_scalar *xd = tc_packed(x);
    if (!y || !xd) return NULL;
    act_job j = {.s = {kind, a, b, xd}, .out = y->data, .n = tc_numel(y)};
    act_run(&j);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof(act_saved));
    if (nd) memcpy(nd->saved, &j.s, sizeof j.s);
    return y;
}

static tc_status activation_backward(tc_node *nd, const tc_tensor *gy)
{
    bool fresh;
    tc_tensor *gx = tc_grad_for_overwrite(nd->inputs[0], &fresh);
    if (!gx) return TC_OK;
    act_job j = {.s = *(const act_saved *)nd->saved, .y = nd->out->data, .gy = gy->data, .out = gx->data,
                 .n = tc_numel(gy), .fresh = fresh};
    if (nd->op == TC_OP_relu) { /* the calling thread's modifier, read at backward time */
        tc_relu_grad_mode m = tc_get_relu_grad_mode();
        if (m == TC_RELU_GRAD_GUIDED) j.s.kind = A_RELU_GUIDED;
        else if (m == TC_RELU_GRAD_RECTIFIED) j.s.kind = A_RELU_RECTIFIED;
    }
    act_run(&j);
    return TC_OK;
}

tc_tensor *tc_relu(tc_tensor *x) { return activation("relu", TC_OP_relu, A_RELU, x, 0, 0); }
tc_tensor *tc_leaky_relu(tc_tensor *x, tc_scalar alpha) { return activation("leaky_relu", TC_OP_leaky_relu, A_LEAKY, x, alpha, 0); }
tc_tensor *tc_tanh(tc_tensor *x) { return activation("tanh", TC_OP_tanh, A_TANH, x, 0, 0); }
tc_tensor *tc_sigmoid(tc_tensor *x) { return activation("sigmoid", TC_OP_sigmoid, A_SIGMOID, x, 0, 0); }
tc_tensor *tc_hard_sigmoid(tc_tensor *x, tc_scalar alpha, tc_scalar beta)
{
    return activation("hard_sigmoid", TC_OP_hard_sigmoid, A_HSIG, x, alpha, beta);
}
tc_status tc_backward_relu(tc_node *n, const tc_tensor *gy) { return activation_backward(n, gy); }
tc_status tc_backward_leaky_relu(tc_node *n, const tc_tensor *gy) { return activation_backward(n, gy); }
tc_status tc_backward_tanh(tc_node *n, const tc_tensor *gy) { return activation_backward(n, gy); }
tc_status tc_backward_sigmoid(tc_node *n, const tc_tensor *gy) { return activation_backward(n, gy); }
tc_status tc_backward_hard_sigmoid(tc_node *n, const tc_tensor *gy) { return activation_backward(n, gy); }

/* elu and softplus: pointwise.c (libm expm1 and log1p per element) */
tc_tensor *tc_elu(tc_tensor *x, tc_scalar alpha) { return tc_unary_op("elu", TC_OP_elu, U_ELU, x, alpha, 0); }
tc_tensor *tc_softplus(tc_tensor *x) { return tc_unary_op("softplus", TC_OP_softplus, U_SOFTPLUS, x, 0, 0); }
tc_status tc_backward_elu(tc_node *n, const tc_tensor *gy) { return tc_unary_backward(n, gy); }
tc_status tc_backward_softplus(tc_node *n, const tc_tensor *gy) { return tc_unary_backward(n, gy); }

/* ---- softmax / log-softmax ------------------------------------------------------
 * The tensor is viewed as [outer, len, inner] around the axis; each
 * (outer, inner) line is independent, so lines split across threads and
 * the result does not depend on the thread count. Stable forms: the line's
 * maximum is subtracted before exp, and log-softmax is x - (m + log sum). */
typedef struct {
    int64_t outer, len, inner;
    bool log;
    const tc_scalar *x, *gy, *y;
    tc_scalar *out;
} softmax_job;

/* contiguous line helpers (restrict and fixed-length blocks: vectorised) */
static tc_scalar line_max(const tc_scalar *restrict x, int64_t n)
{
    tc_scalar m = x[0];
    int64_t i = 0;
    if (n >= 2 * TC_VEC) {
        tc_scalar l[TC_VEC];
        for (int k = 0; k < TC_VEC; k++) l[k] = x[k];
        for (i = TC_VEC; i + TC_VEC <= n; i += TC_VEC)
            for (int k = 0; k < TC_VEC; k++) l[k] = x[i + k] > l[k] ? x[i + k] : l[k];
        for (int k = 0; k < TC_VEC; k++) m = l[k] > m ? l[k] : m;
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static double line_exp_sum(const tc_scalar *restrict x, tc_scalar *restrict y, tc_scalar m, int64_t n)
{
    TC_FOR_VEC(i, n, y[i] = tc_vexp(x[i] - m));
    double l[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) l[k] += (double)y[i + k];
    double sum = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; i < n; i++) sum += (double)y[i];
    return sum;
}

static void line_scale(tc_scalar *restrict y, tc_scalar s, int64_t n) { TC_FOR_VEC(i, n, y[i] *= s); }
static void line_shift(const tc_scalar *restrict x, tc_scalar *restrict y, tc_scalar s, int64_t n)
{
    TC_FOR_VEC(i, n, y[i] = x[i] - s);
}

/* a contiguous line (axis is the last one) */
static void softmax_line(const tc_scalar *x, tc_scalar *y, int64_t len, bool take_log)
{
    tc_scalar m = line_max(x, len);
    double sum = line_exp_sum(x, y, m, len);
    if (take_log) line_shift(x, y, m + (tc_scalar)log(sum), len);
    else line_scale(y, (tc_scalar)(1.0 / sum), len);
}

/* column helpers for an axis that is not the last: rows of w values */
#define SM_COLS 64
static void col_max(tc_scalar *restrict m, const tc_scalar *restrict x, int64_t w)
{
    TC_FOR_VEC(i, w, m[i] = x[i] > m[i] ? x[i] : m[i]);
}
static void col_exp(tc_scalar *restrict y, const tc_scalar *restrict x, const tc_scalar *restrict m,
                    double *restrict sum, int64_t w)
{
    TC_FOR_VEC(i, w, y[i] = tc_vexp(x[i] - m[i]));
    TC_FOR_VEC(i, w, sum[i] += (double)y[i]);
}
static void col_shift(tc_scalar *restrict y, const tc_scalar *restrict x, const tc_scalar *restrict c, int64_t w)
{
    TC_FOR_VEC(i, w, y[i] = x[i] - c[i]);
}
static void col_scale(tc_scalar *restrict y, const tc_scalar *restrict c, int64_t w) { TC_FOR_VEC(i, w, y[i] *= c[i]); }

/* Units: one line when the axis is the last, else (outer index, chunk of
 * SM_COLS columns) handled row by row. Every line is computed by one
 * thread in a fixed order, whatever the thread count. */
static inline int64_t col_chunks(const softmax_job *j) { return j->inner == 1 ? 1 : (j->inner + SM_COLS - 1) / SM_COLS; }

static void softmax_units(void *ctx, int64_t lo, int64_t hi)
{
    softmax_job *j = ctx;
    int64_t len = j->len, inner = j->inner, nc = col_chunks(j);
    for (int64_t u = lo; u < hi; u++) {
        int64_t o = u / nc, c0 = (u % nc) * SM_COLS, base = o * len * inner + c0;
        if (inner == 1) {
            softmax_line(j->x + base, j->out + base, len, j->log);
            continue;
        }
        int64_t w = inner - c0 < SM_COLS ? inner - c0 : SM_COLS;
        tc_scalar m[SM_COLS], c[SM_COLS];
        double sum[SM_COLS] = {0};
        const tc_scalar *x = j->x + base;
        tc_scalar *y = j->out + base;
        memcpy(m, x, sizeof(tc_scalar) * (size_t)w);
        for (int64_t k = 1; k < len; k++) col_max(m, x + k * inner, w);
        for (int64_t k = 0; k < len; k++) col_exp(y + k * inner, x + k * inner, m, sum, w);
        for (int64_t i = 0; i < w; i++) c[i] = j->log ? m[i] + (tc_scalar)log(sum[i]) : (tc_scalar)(1.0 / sum[i]);
        for (int64_t k = 0; k < len; k++) {
            if (j->log) col_shift(y + k * inner, x + k * inner, c, w);
            else col_scale(y + k * inner, c, w);
        }
    }
}

/* backward: softmax gx += y (g - sum(g y)); log-softmax gx += g - exp(y) sum(g) */
static void grad_dot(double *restrict d, const tc_scalar *restrict g, const tc_scalar *restrict y, bool take_log,
                     int64_t w)
{
    if (take_log) TC_FOR_VEC(i, w, d[i] += (double)g[i]);
    else TC_FOR_VEC(i, w, d[i] += (double)g[i] * (double)y[i]);
}
static void grad_apply(tc_scalar *restrict gx, const tc_scalar *restrict g, const tc_scalar *restrict y,
                       const tc_scalar *restrict d, bool take_log, int64_t w, bool one_d)
{
    /* one_d: d[0] for every element (a line), else d[i] per column */
    if (take_log && one_d) TC_FOR_VEC(i, w, gx[i] += g[i] - tc_vexp(y[i]) * d[0]);
    else if (take_log) TC_FOR_VEC(i, w, gx[i] += g[i] - tc_vexp(y[i]) * d[i]);
    else if (one_d) TC_FOR_VEC(i, w, gx[i] += y[i] * (g[i] - d[0]));
    else TC_FOR_VEC(i, w, gx[i] += y[i] * (g[i] - d[i]));
}

static double line_dot(const tc_scalar *restrict g, const tc_scalar *restrict y, bool take_log, int64_t n)
{
    double l[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) l[k] += take_log ? (double)g[i + k] : (double)g[i + k] * (double)y[i + k];
    double s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; i < n; i++) s += take_log ? (double)g[i] : (double)g[i] * (double)y[i];
    return s;
}

static void softmax_grad_units(void *ctx, int64_t lo, int64_t hi)
{
    softmax_job *j = ctx;
    int64_t len = j->len, inner = j->inner, nc = col_chunks(j);
    for (int64_t u = lo; u < hi; u++) {
        int64_t o = u / nc, c0 = (u % nc) * SM_COLS, base = o * len * inner + c0;
        const tc_scalar *y = j->y + base, *g = j->gy + base;
        tc_scalar *gx = j->out + base;
        if (inner == 1) {
            tc_scalar d = (tc_scalar)line_dot(g, y, j->log, len);
            grad_apply(gx, g, y, &d, j->log, len, true);
            continue;
        }
        int64_t w = inner - c0 < SM_COLS ? inner - c0 : SM_COLS;
        double dot[SM_COLS] = {0};
        tc_scalar d[SM_COLS];
        for (int64_t k = 0; k < len; k++) grad_dot(dot, g + k * inner, y + k * inner, j->log, w);
        for (int64_t i = 0; i < w; i++) d[i] = (tc_scalar)dot[i];
        for (int64_t k = 0; k < len; k++) grad_apply(gx + k * inner, g + k * inner, y + k * inner, d, j->log, w, false);
    }
}

static int64_t softmax_grain(const softmax_job *j)
{
    int64_t per_unit = j->len * (j->inner < SM_COLS ? j->inner : SM_COLS);
    return 1 + TC_ELEMENTWISE_GRAIN / (per_unit > 0 ? per_unit : 1);
}

static tc_tensor *softmax_op(const char *name, int op, tc_tensor *x, int axis, bool log)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    int a = tc_axis(axis, x->ndim);
    TC_CHECK(a >= 0, TC_ERR_ARG, "%s: axis %d is out of range for input %s", name, axis, TC_SHP(x));
    softmax_job j = {.outer = tc_shape_numel(a, x->shape), .len = x->shape[a],
                     .inner = tc_shape_numel(x->ndim - a - 1, x->shape + a + 1), .log = log};
    tc_tensor *y = tc_result(x->ndim, x->shape);
    j.x = tc_packed(x);
    if (!y || !j.x) return NULL;
    j.out = y->data;
    if (j.len > 0 && j.inner > 0) tc_parallel_for(j.outer * col_chunks(&j), softmax_grain(&j), softmax_units, &j);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof(softmax_job));
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

static tc_status softmax_backward(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    softmax_job j = *(softmax_job *)n->saved;
    j.y = n->out->data;
    j.gy = gy->data;
    j.out = gx->data;
    if (j.len > 0 && j.inner > 0)
        tc_parallel_for(j.outer * col_chunks(&j), softmax_grain(&j), softmax_grad_units, &j);
    return TC_OK;
}

tc_tensor *tc_softmax(tc_tensor *x, int axis) { return softmax_op("softmax", TC_OP_softmax, x, axis, false); }
tc_tensor *tc_log_softmax(tc_tensor *x, int axis) { return softmax_op("log_softmax", TC_OP_log_softmax, x, axis, true); }
tc_status tc_backward_softmax(tc_node *n, const tc_tensor *gy) { return softmax_backward(n, gy); }
tc_status tc_backward_log_softmax(tc_node *n, const tc_tensor *gy) { return softmax_backward(n, gy); }
