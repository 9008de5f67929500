/* The unary point-wise kernel shared by elementwise.c and activation.c. */
#include "pointwise.h"

#include <math.h>

typedef struct {
    unary_kind kind;
    tc_scalar a, b;
    const tc_scalar *x, *y, *gy;
    tc_scalar *out; /* forward: y; backward: gx (accumulated) */
} unary_job;

static inline tc_scalar sigmoid(tc_scalar v)
{
    return v >= 0 ? 1 / (1 + (tc_scalar)exp(-v)) : (tc_scalar)exp(v) / (1 + (tc_scalar)exp(v));
}

static void forward_range(void *ctx, int64_t lo, int64_t hi)
{
    unary_job *j = ctx;
    const tc_scalar *x = j->x;
    tc_scalar *y = j->out, a = j->a, b = j->b;
    switch (j->kind) {
    case U_ADD_SCALAR: for (int64_t i = lo; i < hi; i++) y[i] = x[i] + a; break;
    case U_MUL_SCALAR: for (int64_t i = lo; i < hi; i++) y[i] = x[i] * a; break;
    case U_POW_SCALAR: for (int64_t i = lo; i < hi; i++) y[i] = (tc_scalar)pow(x[i], a); break;
    case U_EXP: for (int64_t i = lo; i < hi; i++) y[i] = (tc_scalar)exp(x[i]); break;
    case U_LOG: for (int64_t i = lo; i < hi; i++) y[i] = (tc_scalar)log(x[i]); break;
    case U_SQRT: for (int64_t i = lo; i < hi; i++) y[i] = (tc_scalar)sqrt(x[i]); break;
    case U_ABS: for (int64_t i = lo; i < hi; i++) y[i] = x[i] < 0 ? -x[i] : x[i]; break;
    case U_NEG: for (int64_t i = lo; i < hi; i++) y[i] = -x[i]; break;
    case U_SQUARE: for (int64_t i = lo; i < hi; i++) y[i] = x[i] * x[i]; break;
    case U_CLIP: for (int64_t i = lo; i < hi; i++) y[i] = x[i] < a ? a : x[i] > b ? b : x[i]; break;
    case U_RELU: for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    case U_LEAKY_RELU: for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0 ? x[i] : a * x[i]; break;
    case U_ELU: for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0 ? x[i] : a * (tc_scalar)expm1(x[i]); break;
    case U_TANH: for (int64_t i = lo; i < hi; i++) y[i] = (tc_scalar)tanh(x[i]); break;
    case U_SIGMOID: for (int64_t i = lo; i < hi; i++) y[i] = sigmoid(x[i]); break;
    case U_HARD_SIGMOID:
        for (int64_t i = lo; i < hi; i++) {
            tc_scalar v = a * x[i] + b;
            y[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case U_SOFTPLUS: /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
        for (int64_t i = lo; i < hi; i++)
            y[i] = (x[i] > 0 ? x[i] : 0) + (tc_scalar)log1p(exp(-(x[i] < 0 ? -x[i] : x[i])));
        break;
    }
}

static void backward_range(void *ctx, int64_t lo, int64_t hi)
{
    unary_job *j = ctx;
    const tc_scalar *x = j->x, *y = j->y, *g = j->gy;
    tc_scalar *gx = j->out, a = j->a, b = j->b;
    switch (j->kind) {
    case U_ADD_SCALAR: for (int64_t i = lo; i < hi; i++) gx[i] += g[i]; break;
    case U_MUL_SCALAR: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * a; break;
    case U_POW_SCALAR:
        for (int64_t i = lo; i < hi; i++) gx[i] += a == 0 ? 0 : g[i] * a * (tc_scalar)pow(x[i], a - 1);
        break;
    case U_EXP: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * y[i]; break;
    case U_LOG: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] / x[i]; break;
    case U_SQRT: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * (tc_scalar)0.5 / y[i]; break;
    case U_ABS: for (int64_t i = lo; i < hi; i++) gx[i] += x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0; break;
    case U_NEG: for (int64_t i = lo; i < hi; i++) gx[i] -= g[i]; break;
    case U_SQUARE: for (int64_t i = lo; i < hi; i++) gx[i] += 2 * x[i] * g[i]; break;
    case U_CLIP: for (int64_t i = lo; i < hi; i++) gx[i] += (x[i] >= a && x[i] <= b) ? g[i] : 0; break;
    case U_RELU: for (int64_t i = lo; i < hi; i++) gx[i] += x[i] > 0 ? g[i] : 0; break;
    case U_LEAKY_RELU: for (int64_t i = lo; i < hi; i++) gx[i] += x[i] > 0 ? g[i] : a * g[i]; break;
    case U_ELU: for (int64_t i = lo; i < hi; i++) gx[i] += x[i] > 0 ? g[i] : g[i] * (y[i] + a); break;
    case U_TANH: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * (1 - y[i] * y[i]); break;
    case U_SIGMOID: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * y[i] * (1 - y[i]); break;
    case U_HARD_SIGMOID:
        for (int64_t i = lo; i < hi; i++) {
            tc_scalar v = a * x[i] + b;
            gx[i] += (v > 0 && v < 1) ? a * g[i] : 0;
        }
        break;
    case U_SOFTPLUS: for (int64_t i = lo; i < hi; i++) gx[i] += g[i] * sigmoid(x[i]); break;
    }
}

tc_tensor *tc_unary_op(const char *name, int op, unary_kind kind, tc_tensor *x, tc_scalar a, tc_scalar b)
{
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", name);
    tc_tensor *y = tc_result(x->ndim, x->shape);
    const tc_scalar *xd = tc_packed(x);
    if (!y || !xd) return NULL;
    unary_job j = {kind, a, b, xd, NULL, NULL, y->data};
    tc_parallel_for(tc_numel(y), POINTWISE_GRAIN, forward_range, &j);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof(unary_saved));
    if (nd) {
        unary_saved *s = nd->saved;
        s->kind = kind, s->a = a, s->b = b, s->x = xd;
    }
    return y;
}

tc_status tc_unary_backward(tc_node *n, const tc_tensor *gy)
{
    const unary_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    unary_job j = {s->kind, s->a, s->b, s->x, n->out->data, gy->data, gx->data};
    tc_parallel_for(tc_numel(gy), POINTWISE_GRAIN, backward_range, &j);
    return TC_OK;
}
