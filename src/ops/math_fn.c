/* The element-wise functions of libm that have no op of their own
 * (trigonometric, hyperbolic and their inverses, erf): one op whose saved
 * kind picks the function and its derivative. Computed in double and
 * rounded once, so float results are the correctly rounded libm values
 * that NumPy also gives. */
#include "ops_internal.h"

#include <math.h>

typedef struct {
    tc_math_fn_kind kind;
    const tc_scalar *x; /* packed input kept for backward */
} math_fn_saved;

static const char *fn_name(tc_math_fn_kind k)
{
    static const char *names[] = {"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf"};
    return k >= 0 && k <= TC_FN_ERF ? names[k] : "?";
}

static double fwd(tc_math_fn_kind k, double x)
{
    switch (k) {
    case TC_FN_SIN: return sin(x);
    case TC_FN_COS: return cos(x);
    case TC_FN_TAN: return tan(x);
    case TC_FN_ASIN: return asin(x);
    case TC_FN_ACOS: return acos(x);
    case TC_FN_ATAN: return atan(x);
    case TC_FN_SINH: return sinh(x);
    case TC_FN_COSH: return cosh(x);
    case TC_FN_ASINH: return asinh(x);
    case TC_FN_ACOSH: return acosh(x);
    case TC_FN_ATANH: return atanh(x);
    case TC_FN_ERF: return erf(x);
    }
    return NAN;
}

/* d f / d x at x (y = f(x) where that is simpler) */
static double deriv(tc_math_fn_kind k, double x, double y)
{
    switch (k) {
    case TC_FN_SIN: return cos(x);
    case TC_FN_COS: return -sin(x);
    case TC_FN_TAN: return 1 + y * y;
    case TC_FN_ASIN: return 1 / sqrt(1 - x * x);
    case TC_FN_ACOS: return -1 / sqrt(1 - x * x);
    case TC_FN_ATAN: return 1 / (1 + x * x);
    case TC_FN_SINH: return cosh(x);
    case TC_FN_COSH: return sinh(x);
    case TC_FN_ASINH: return 1 / sqrt(x * x + 1);
    case TC_FN_ACOSH: return 1 / sqrt(x * x - 1);
    case TC_FN_ATANH: return 1 / (1 - x * x);
    case TC_FN_ERF: return 1.1283791670955126 * exp(-x * x); /* 2 / sqrt(pi) */
    }
    return NAN;
}

tc_tensor *tc_math_fn(tc_tensor *x, tc_math_fn_kind kind)
{
    TC_CHECK(kind >= 0 && kind <= TC_FN_ERF, TC_ERR_ARG, "math_fn: unknown function %d", (int)kind);
    TC_CHECK(x, TC_ERR_ARG, "%s: input is NULL", fn_name(kind));
    tc_tensor *y = tc_result(x->ndim, x->shape);
    const tc_scalar *xd = tc_packed(x);
    if (!y || !xd) return NULL;
    int64_t n = tc_numel(y);
    for (int64_t i = 0; i < n; i++) y->data[i] = (tc_scalar)fwd(kind, (double)xd[i]);
    tc_node *nd = tc_record(TC_OP_math_fn, y, 1, &x, sizeof(math_fn_saved));
    if (nd) {
        math_fn_saved *s = nd->saved;
        s->kind = kind;
        s->x = xd;
    }
    return y;
}

tc_status tc_backward_math_fn(tc_node *n, const tc_tensor *gy)
{
    const math_fn_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    int64_t cnt = tc_numel(gy);
    for (int64_t i = 0; i < cnt; i++)
        gx->data[i] += (tc_scalar)((double)gy->data[i] * deriv(s->kind, (double)s->x[i], (double)n->out->data[i]));
    return TC_OK;
}
