/* Element-wise arithmetic: binary ops with NumPy broadcasting and the
 * unary math ops. The backward of a broadcast operand sums the gradient
 * over the broadcast axes in a fixed order. */
#include "pointwise.h"

#include <math.h>

/* ---- broadcasting ------------------------------------------------------------ */
typedef struct {
    int ndim;
    int64_t shape[TC_MAX_DIMS];
    int64_t sa[TC_MAX_DIMS], sb[TC_MAX_DIMS]; /* element strides of packed a, b (0: broadcast) */
    bool same;                                 /* no broadcasting at all */
} bcast;

static bool broadcast_plan(const char *op, const tc_tensor *a, const tc_tensor *b, bcast *p)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t ast[TC_MAX_DIMS], bst[TC_MAX_DIMS];
    tc_contiguous_strides(a->ndim, a->shape, ast);
    tc_contiguous_strides(b->ndim, b->shape, bst);
    p->ndim = r;
    p->same = tc_same_shape(a, b);
    for (int d = 0; d < r; d++) {
        int da = d - (r - a->ndim), db = d - (r - b->ndim);
        int64_t na = da >= 0 ? a->shape[da] : 1, nb = db >= 0 ? b->shape[db] : 1;
        if (na != nb && na != 1 && nb != 1) {
            tc_error(TC_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", op, TC_SHP(a), TC_SHP(b));
            return false;
        }
        p->shape[d] = na == 1 ? nb : na;
        p->sa[d] = (da >= 0 && na != 1) ? ast[da] : 0;
        p->sb[d] = (db >= 0 && nb != 1) ? bst[db] : 0;
    }
    return true;
}

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN } binary_kind;

typedef struct {
    binary_kind kind;
    bcast p;
    const tc_scalar *a, *b;
    tc_scalar *y;
} binary_job;

static inline tc_scalar apply(binary_kind k, tc_scalar x, tc_scalar z)
{
    switch (k) {
    case B_ADD: return x + z;
    case B_SUB: return x - z;
    case B_MUL: return x * z;
    case B_DIV: return x / z;
    case B_POW: return (tc_scalar)pow(x, z);
    case B_MAX: return x >= z ? x : z;
    default: return x <= z ? x : z;
    }
}

/* same-shape fast path: one loop per kind so the compiler vectorises */
static void binary_flat(void *ctx, int64_t lo, int64_t hi)
{
    binary_job *j = ctx;
    const tc_scalar *a = j->a, *b = j->b;
    tc_scalar *y = j->y;
    switch (j->kind) {
    case B_ADD: for (int64_t i = lo; i < hi; i++) y[i] = a[i] + b[i]; break;
    case B_SUB: for (int64_t i = lo; i < hi; i++) y[i] = a[i] - b[i]; break;
    case B_MUL: for (int64_t i = lo; i < hi; i++) y[i] = a[i] * b[i]; break;
    case B_DIV: for (int64_t i = lo; i < hi; i++) y[i] = a[i] / b[i]; break;
    default: for (int64_t i = lo; i < hi; i++) y[i] = apply(j->kind, a[i], b[i]); break;
    }
}

/* broadcasting path: rows of the innermost output axis */
static void binary_rows(void *ctx, int64_t lo, int64_t hi)
{
    binary_job *j = ctx;
    const bcast *p = &j->p;
    int r = p->ndim;
    int64_t inner = r ? p->shape[r - 1] : 1, ia = r ? p->sa[r - 1] : 0, ib = r ? p->sb[r - 1] : 0;
    for (int64_t row = lo; row < hi; row++) {
        int64_t rem = row, oa = 0, ob = 0;
        for (int d = r - 2; d >= 0; d--) {
            int64_t i = rem % p->shape[d];
            rem /= p->shape[d];
            oa += i * p->sa[d];
            ob += i * p->sb[d];
        }
        tc_scalar *y = j->y + row * inner;
        const tc_scalar *a = j->a + oa, *b = j->b + ob;
        if (j->kind == B_ADD && ia == 1 && ib == 0)
            for (int64_t i = 0; i < inner; i++) y[i] = a[i] + b[0];
        else if (j->kind == B_ADD && ia == 1 && ib == 1)
            for (int64_t i = 0; i < inner; i++) y[i] = a[i] + b[i];
        else if (j->kind == B_MUL && ia == 1 && ib == 1)
            for (int64_t i = 0; i < inner; i++) y[i] = a[i] * b[i];
        else
            for (int64_t i = 0; i < inner; i++) y[i] = apply(j->kind, a[i * ia], b[i * ib]);
    }
}

typedef struct {
    binary_kind kind;
    bcast p;
    const tc_scalar *a, *b; /* packed operands */
} binary_saved;

static tc_tensor *binary(const char *name, int op, binary_kind kind, tc_tensor *a, tc_tensor *b)
{
    TC_CHECK(a && b, TC_ERR_ARG, "%s: input %s is NULL", name, a ? "b" : "a");
    binary_job j = {.kind = kind};
    if (!broadcast_plan(name, a, b, &j.p)) return NULL;
    tc_tensor *y = tc_result(j.p.ndim, j.p.shape);
    j.a = tc_packed(a);
    j.b = tc_packed(b);
    if (!y || !j.a || !j.b) return NULL;
    j.y = y->data;
    int64_t n = tc_numel(y);
    if (j.p.same) tc_parallel_for(n, POINTWISE_GRAIN, binary_flat, &j);
    else {
        int64_t inner = j.p.ndim ? j.p.shape[j.p.ndim - 1] : 1;
        int64_t rows = inner ? n / inner : 0;
        tc_parallel_for(rows, inner ? 1 + POINTWISE_GRAIN / inner : 1, binary_rows, &j);
    }
    tc_node *nd = tc_record(op, y, 2, (tc_tensor *[]){a, b}, sizeof(binary_saved));
    if (nd) {
        binary_saved *s = nd->saved;
        s->kind = kind, s->p = j.p, s->a = j.a, s->b = j.b;
    }
    return y;
}

/* d y / d operand for element i, times g */
static inline tc_scalar partial(binary_kind k, bool wrt_a, tc_scalar a, tc_scalar b, tc_scalar y, tc_scalar g)
{
    switch (k) {
    case B_ADD: return g;
    case B_SUB: return wrt_a ? g : -g;
    case B_MUL: return wrt_a ? g * b : g * a;
    case B_DIV: return wrt_a ? g / b : -g * a / (b * b);
    case B_POW:
        if (wrt_a) return b == 0 ? 0 : g * b * (tc_scalar)pow(a, b - 1);
        return a > 0 ? g * y * (tc_scalar)log(a) : 0;
    case B_MAX: return wrt_a ? (a >= b ? g : 0) : (a >= b ? 0 : g);
    default: return wrt_a ? (a <= b ? g : 0) : (a <= b ? 0 : g);
    }
}

typedef struct {
    const binary_saved *s;
    const tc_scalar *gy, *y;
    tc_scalar *ga, *gb;
} grad_job;

static void grad_flat(void *ctx, int64_t lo, int64_t hi)
{
    grad_job *j = ctx;
    const binary_saved *s = j->s;
    for (int64_t i = lo; i < hi; i++) {
        if (j->ga) j->ga[i] += partial(s->kind, true, s->a[i], s->b[i], j->y[i], j->gy[i]);
        if (j->gb) j->gb[i] += partial(s->kind, false, s->a[i], s->b[i], j->y[i], j->gy[i]);
    }
}

#define BINARY_BACKWARD(name)                                                     \
    void tc_backward_##name(tc_node *n, const tc_tensor *gy) { binary_backward(n, gy); }

static void binary_backward(tc_node *n, const tc_tensor *gy)
{
    const binary_saved *s = n->saved;
    tc_tensor *ga = tc_grad_for(n->inputs[0]), *gb = tc_grad_for(n->inputs[1]);
    grad_job j = {s, gy->data, n->out->data, ga ? ga->data : NULL, gb ? gb->data : NULL};
    int64_t total = tc_numel(gy);
    if (s->p.same) {
        tc_parallel_for(total, POINTWISE_GRAIN, grad_flat, &j);
        return;
    }
    /* broadcast: walk the output in order, adding into the operands' cells */
    const bcast *p = &s->p;
    int64_t idx[TC_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t e = 0; e < total; e++) {
        if (j.ga) j.ga[oa] += partial(s->kind, true, s->a[oa], s->b[ob], j.y[e], j.gy[e]);
        if (j.gb) j.gb[ob] += partial(s->kind, false, s->a[oa], s->b[ob], j.y[e], j.gy[e]);
        for (int d = p->ndim - 1; d >= 0; d--) {
            idx[d]++;
            oa += p->sa[d];
            ob += p->sb[d];
            if (idx[d] < p->shape[d]) break;
            oa -= idx[d] * p->sa[d];
            ob -= idx[d] * p->sb[d];
            idx[d] = 0;
        }
    }
}

tc_tensor *tc_add(tc_tensor *a, tc_tensor *b) { return binary("add", TC_OP_add, B_ADD, a, b); }
tc_tensor *tc_sub(tc_tensor *a, tc_tensor *b) { return binary("sub", TC_OP_sub, B_SUB, a, b); }
tc_tensor *tc_mul(tc_tensor *a, tc_tensor *b) { return binary("mul", TC_OP_mul, B_MUL, a, b); }
tc_tensor *tc_div(tc_tensor *a, tc_tensor *b) { return binary("div", TC_OP_div, B_DIV, a, b); }
tc_tensor *tc_pow(tc_tensor *a, tc_tensor *b) { return binary("pow", TC_OP_pow, B_POW, a, b); }
tc_tensor *tc_maximum(tc_tensor *a, tc_tensor *b) { return binary("maximum", TC_OP_maximum, B_MAX, a, b); }
tc_tensor *tc_minimum(tc_tensor *a, tc_tensor *b) { return binary("minimum", TC_OP_minimum, B_MIN, a, b); }
BINARY_BACKWARD(add)
BINARY_BACKWARD(sub)
BINARY_BACKWARD(mul)
BINARY_BACKWARD(div)
BINARY_BACKWARD(pow)
BINARY_BACKWARD(maximum)
BINARY_BACKWARD(minimum)

/* ---- unary math ---------------------------------------------------------------- */
tc_tensor *tc_add_scalar(tc_tensor *x, tc_scalar s) { return tc_unary_op("add_scalar", TC_OP_add_scalar, U_ADD_SCALAR, x, s, 0); }
tc_tensor *tc_mul_scalar(tc_tensor *x, tc_scalar s) { return tc_unary_op("mul_scalar", TC_OP_mul_scalar, U_MUL_SCALAR, x, s, 0); }
tc_tensor *tc_pow_scalar(tc_tensor *x, tc_scalar p) { return tc_unary_op("pow_scalar", TC_OP_pow_scalar, U_POW_SCALAR, x, p, 0); }
tc_tensor *tc_exp(tc_tensor *x) { return tc_unary_op("exp", TC_OP_exp, U_EXP, x, 0, 0); }
tc_tensor *tc_log(tc_tensor *x) { return tc_unary_op("log", TC_OP_log, U_LOG, x, 0, 0); }
tc_tensor *tc_sqrt(tc_tensor *x) { return tc_unary_op("sqrt", TC_OP_sqrt, U_SQRT, x, 0, 0); }
tc_tensor *tc_abs(tc_tensor *x) { return tc_unary_op("abs", TC_OP_abs, U_ABS, x, 0, 0); }
tc_tensor *tc_neg(tc_tensor *x) { return tc_unary_op("neg", TC_OP_neg, U_NEG, x, 0, 0); }
tc_tensor *tc_square(tc_tensor *x) { return tc_unary_op("square", TC_OP_square, U_SQUARE, x, 0, 0); }
tc_tensor *tc_clip(tc_tensor *x, tc_scalar lo, tc_scalar hi)
{
    TC_CHECK(!(lo > hi), TC_ERR_ARG, "clip: lower bound %g is above upper bound %g for input %s", (double)lo,
             (double)hi, TC_SHP(x));
    return tc_unary_op("clip", TC_OP_clip, U_CLIP, x, lo, hi);
}

#define UNARY_BACKWARD(name) \
    void tc_backward_##name(tc_node *n, const tc_tensor *gy) { tc_unary_backward(n, gy); }
UNARY_BACKWARD(add_scalar)
UNARY_BACKWARD(mul_scalar)
UNARY_BACKWARD(pow_scalar)
UNARY_BACKWARD(exp)
UNARY_BACKWARD(log)
UNARY_BACKWARD(sqrt)
UNARY_BACKWARD(abs)
UNARY_BACKWARD(neg)
UNARY_BACKWARD(square)
UNARY_BACKWARD(clip)
