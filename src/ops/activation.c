/* Activations: the point-wise ones (sharing pointwise.c's kernel) and the
 * numerically stable softmax and log-softmax along any axis. */
#include "broadcast.h"
#include "pointwise.h"

#include <math.h>

tc_tensor *tc_relu(tc_tensor *x) { return tc_unary_op("relu", TC_OP_relu, U_RELU, x, 0, 0); }
tc_tensor *tc_leaky_relu(tc_tensor *x, tc_scalar alpha) { return tc_unary_op("leaky_relu", TC_OP_leaky_relu, U_LEAKY_RELU, x, alpha, 0); }
tc_tensor *tc_elu(tc_tensor *x, tc_scalar alpha) { return tc_unary_op("elu", TC_OP_elu, U_ELU, x, alpha, 0); }
tc_tensor *tc_tanh(tc_tensor *x) { return tc_unary_op("tanh", TC_OP_tanh, U_TANH, x, 0, 0); }
tc_tensor *tc_sigmoid(tc_tensor *x) { return tc_unary_op("sigmoid", TC_OP_sigmoid, U_SIGMOID, x, 0, 0); }
tc_tensor *tc_hard_sigmoid(tc_tensor *x, tc_scalar alpha, tc_scalar beta)
{
    return tc_unary_op("hard_sigmoid", TC_OP_hard_sigmoid, U_HARD_SIGMOID, x, alpha, beta);
}
tc_tensor *tc_softplus(tc_tensor *x) { return tc_unary_op("softplus", TC_OP_softplus, U_SOFTPLUS, x, 0, 0); }

#define UNARY_BACKWARD(name) \
    void tc_backward_##name(tc_node *n, const tc_tensor *gy) { tc_unary_backward(n, gy); }
UNARY_BACKWARD(relu)
UNARY_BACKWARD(leaky_relu)
UNARY_BACKWARD(elu)
UNARY_BACKWARD(tanh)
UNARY_BACKWARD(sigmoid)
UNARY_BACKWARD(hard_sigmoid)
UNARY_BACKWARD(softplus)

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

#ifdef TC_DOUBLE
#define EXP exp
#else
#define EXP expf
#endif

/* one line of len values with step s: max, exponentials stored once in y,
 * their sum in double, then the scale (softmax) or the shift (log-softmax) */
static void softmax_line(const tc_scalar *x, tc_scalar *y, int64_t len, int64_t s, bool take_log)
{
    tc_scalar m = x[0];
    for (int64_t k = 1; k < len; k++) m = x[k * s] > m ? x[k * s] : m;
    double sum = 0;
    if (s == 1) {
        for (int64_t k = 0; k < len; k++) y[k] = EXP(x[k] - m);
        for (int64_t k = 0; k < len; k++) sum += (double)y[k];
    } else {
        for (int64_t k = 0; k < len; k++) sum += (double)(y[k * s] = EXP(x[k * s] - m));
    }
    if (take_log) {
        tc_scalar lse = m + (tc_scalar)log(sum);
        for (int64_t k = 0; k < len; k++) y[k * s] = x[k * s] - lse;
    } else {
        tc_scalar inv = (tc_scalar)(1.0 / sum);
        for (int64_t k = 0; k < len; k++) y[k * s] *= inv;
    }
}

static void softmax_lines(void *ctx, int64_t lo, int64_t hi)
{
    softmax_job *j = ctx;
    for (int64_t line = lo; line < hi; line++) {
        int64_t o = line / j->inner, in = line % j->inner, base = o * j->len * j->inner + in;
        softmax_line(j->x + base, j->out + base, j->len, j->inner, j->log);
    }
}

static void softmax_grad_lines(void *ctx, int64_t lo, int64_t hi)
{
    softmax_job *j = ctx;
    for (int64_t line = lo; line < hi; line++) {
        int64_t o = line / j->inner, in = line % j->inner, base = o * j->len * j->inner + in, s = j->inner;
        const tc_scalar *y = j->y + base, *g = j->gy + base;
        tc_scalar *gx = j->out + base;
        double dot = 0;
        if (j->log) { /* gx = g - softmax * sum(g) */
            for (int64_t k = 0; k < j->len; k++) dot += g[k * s];
            for (int64_t k = 0; k < j->len; k++) gx[k * s] += g[k * s] - EXP(y[k * s]) * (tc_scalar)dot;
        } else { /* gx = y * (g - sum(g * y)) */
            for (int64_t k = 0; k < j->len; k++) dot += (double)g[k * s] * y[k * s];
            for (int64_t k = 0; k < j->len; k++) gx[k * s] += y[k * s] * (g[k * s] - (tc_scalar)dot);
        }
    }
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
    if (j.len > 0) tc_parallel_for(j.outer * j.inner, 1 + TC_ELEMENTWISE_GRAIN / (j.len + 1), softmax_lines, &j);
    tc_node *nd = tc_record(op, y, 1, &x, sizeof(softmax_job));
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

static void softmax_backward(tc_node *n, const tc_tensor *gy)
{
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    softmax_job j = *(softmax_job *)n->saved;
    j.y = n->out->data;
    j.gy = gy->data;
    j.out = gx->data;
    if (j.len > 0) tc_parallel_for(j.outer * j.inner, 1 + TC_ELEMENTWISE_GRAIN / (j.len + 1), softmax_grad_lines, &j);
}

tc_tensor *tc_softmax(tc_tensor *x, int axis) { return softmax_op("softmax", TC_OP_softmax, x, axis, false); }
tc_tensor *tc_log_softmax(tc_tensor *x, int axis) { return softmax_op("log_softmax", TC_OP_log_softmax, x, axis, true); }
void tc_backward_softmax(tc_node *n, const tc_tensor *gy) { softmax_backward(n, gy); }
void tc_backward_log_softmax(tc_node *n, const tc_tensor *gy) { softmax_backward(n, gy); }
