/* Element-wise arithmetic: binary ops with NumPy broadcasting and the
 * unary math ops (whose kernel, shared with activation.c, is pointwise.c).
 *
 * Binary ops: the broadcast is planned once (size-1 output axes dropped,
 * neighbouring axes merged when both operands stay contiguous across them),
 * so the kernel runs over rows of the innermost merged axis with each
 * operand's step 0 or 1; every (op, step pattern) has its own loop so the
 * compiler vectorises it. Rows are split across threads (each output element
 * is written by one thread).
 *
 * Backward: an operand of the output's size gets its gradient element-wise;
 * a broadcast operand's gradient is the per-element gradient summed over the
 * broadcast axes by tc_reduce_sum_into, whose order of additions depends only
 * on the shapes, never on the thread count. */
#include "broadcast.h"
#include "pointwise.h"

#include <math.h>

#ifdef TC_DOUBLE
#define POW pow
#else
#define POW powf
#endif

/* ---- broadcasting ------------------------------------------------------------ */
typedef struct {
    int ndim;                                  /* output rank */
    int64_t shape[TC_MAX_DIMS];                /* output shape */
    bool red_a[TC_MAX_DIMS], red_b[TC_MAX_DIMS]; /* output axes an operand is broadcast along */
    bool bcast_a, bcast_b;                     /* operand smaller than the output */
    int n;                                     /* merged axes */
    int64_t size[TC_MAX_DIMS];
    int64_t sa[TC_MAX_DIMS], sb[TC_MAX_DIMS];  /* element strides of packed a, b (0: broadcast) */
} bcast;

static bool broadcast_plan(const char *op, const tc_tensor *a, const tc_tensor *b, bcast *p)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t ast[TC_MAX_DIMS], bst[TC_MAX_DIMS], sa[TC_MAX_DIMS], sb[TC_MAX_DIMS];
    tc_contiguous_strides(a->ndim, a->shape, ast);
    tc_contiguous_strides(b->ndim, b->shape, bst);
    memset(p, 0, sizeof *p);
    p->ndim = r;
    for (int d = 0; d < r; d++) {
        int da = d - (r - a->ndim), db = d - (r - b->ndim);
        int64_t na = da >= 0 ? a->shape[da] : 1, nb = db >= 0 ? b->shape[db] : 1;
        if (na != nb && na != 1 && nb != 1) {
            tc_error(TC_ERR_SHAPE, "%s: shapes %s and %s do not broadcast (axis %d: %lld vs %lld)", op, TC_SHP(a),
                     TC_SHP(b), d - r, (long long)na, (long long)nb);
            return false;
        }
        p->shape[d] = na == 1 ? nb : na;
        p->red_a[d] = na == 1 && p->shape[d] != 1;
        p->red_b[d] = nb == 1 && p->shape[d] != 1;
        p->bcast_a |= p->red_a[d];
        p->bcast_b |= p->red_b[d];
        sa[d] = na != 1 ? ast[da] : 0;
        sb[d] = nb != 1 ? bst[db] : 0;
    }
    /* merge: drop size-1 axes, join d-1 and d when both operands continue contiguously */
    for (int d = 0; d < r; d++) {
        if (p->shape[d] == 1) continue;
        int k = p->n - 1;
        if (k >= 0 && p->sa[k] == sa[d] * p->shape[d] && p->sb[k] == sb[d] * p->shape[d]) {
            p->size[k] *= p->shape[d];
            p->sa[k] = sa[d], p->sb[k] = sb[d];
        } else {
            p->size[p->n] = p->shape[d], p->sa[p->n] = sa[d], p->sb[p->n] = sb[d], p->n++;
        }
    }
    return true;
}

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN } binary_kind;

/* y[i] = EXPR(x, z) over a row, x from a (step ia) and z from b (step ib) */
#define ROW_LOOPS(EXPR)                                                              \
    do {                                                                             \
        if (ia && ib) {                                                              \
            TC_FOR_VEC(i, n, tc_scalar x = a[i]; tc_scalar z = b[i]; y[i] = (EXPR)); \
        } else if (ia) {                                                             \
            const tc_scalar z = b[0];                                                \
            TC_FOR_VEC(i, n, tc_scalar x = a[i]; y[i] = (EXPR));                     \
        } else if (ib) {                                                             \
            const tc_scalar x = a[0];                                                \
            TC_FOR_VEC(i, n, tc_scalar z = b[i]; y[i] = (EXPR));                     \
        } else {                                                                     \
            const tc_scalar x = a[0], z = b[0];                                      \
            for (int64_t i = 0; i < n; i++) y[i] = (EXPR);                           \
        }                                                                            \
    } while (0)

/* max/min: ties pick a (the gradient goes to a, see partial below); a NaN
 * in either operand propagates */
static inline tc_scalar max_of(tc_scalar x, tc_scalar z) { return x >= z || x != x ? x : z; }
static inline tc_scalar min_of(tc_scalar x, tc_scalar z) { return x <= z || x != x ? x : z; }

static void binary_row(binary_kind k, tc_scalar *restrict y, const tc_scalar *restrict a,
                       const tc_scalar *restrict b, int64_t n, bool ia, bool ib)
{
    switch (k) {
    case B_ADD: ROW_LOOPS(x + z); break;
    case B_SUB: ROW_LOOPS(x - z); break;
    case B_MUL: ROW_LOOPS(x * z); break;
    case B_DIV: ROW_LOOPS(x / z); break;
    case B_POW: ROW_LOOPS(POW(x, z)); break;
    case B_MAX: ROW_LOOPS(max_of(x, z)); break;
    case B_MIN: ROW_LOOPS(min_of(x, z)); break;
    }
}

typedef struct {
    binary_kind kind;
    const bcast *p;
    const tc_scalar *a, *b, *gy, *y;
    tc_scalar *out;       /* forward: y */
    tc_scalar *da, *db;   /* backward: per-element gradients (output layout), accumulated */
} binary_job;

/* offsets in a and b of the first element of output row `row` */
static inline void row_offsets(const bcast *p, int64_t row, int64_t *oa, int64_t *ob)
{
    int64_t rem = row, xa = 0, xb = 0;
    for (int d = p->n - 2; d >= 0; d--) {
        int64_t i = rem % p->size[d];
        rem /= p->size[d];
        xa += i * p->sa[d];
        xb += i * p->sb[d];
    }
    *oa = xa, *ob = xb;
}

static inline int64_t inner_size(const bcast *p) { return p->n ? p->size[p->n - 1] : 1; }

/* Work units are pieces of rows of at most TC_ELEMENTWISE_GRAIN elements
 * (so one long row still splits across threads); piece boundaries depend
 * only on the shape. Unit u covers row u / pieces, from column c0, len n. */
static inline int64_t row_pieces(int64_t inner) { return (inner + TC_ELEMENTWISE_GRAIN - 1) / TC_ELEMENTWISE_GRAIN; }

static inline void unit_span(const bcast *p, int64_t u, int64_t *e, int64_t *oa, int64_t *ob, int64_t *n)
{
    int64_t inner = inner_size(p), pieces = row_pieces(inner), row = u / pieces;
    int64_t c0 = (u % pieces) * TC_ELEMENTWISE_GRAIN;
    row_offsets(p, row, oa, ob);
    bool ia = p->n && p->sa[p->n - 1], ib = p->n && p->sb[p->n - 1];
    *oa += ia ? c0 : 0;
    *ob += ib ? c0 : 0;
    *e = row * inner + c0;
    *n = inner - c0 < TC_ELEMENTWISE_GRAIN ? inner - c0 : TC_ELEMENTWISE_GRAIN;
}

static void binary_rows(void *ctx, int64_t lo, int64_t hi)
{
    binary_job *j = ctx;
    const bcast *p = j->p;
    bool ia = p->n && p->sa[p->n - 1], ib = p->n && p->sb[p->n - 1];
    for (int64_t u = lo; u < hi; u++) {
        int64_t e, oa, ob, n;
        unit_span(p, u, &e, &oa, &ob, &n);
        binary_row(j->kind, j->out + e, j->a + oa, j->b + ob, n, ia, ib);
    }
}

/* parallel over the units of an output of `total` elements */
static void for_units(const bcast *p, int64_t total, tc_range_fn fn, void *ctx)
{
    int64_t inner = inner_size(p), pieces = row_pieces(inner);
    int64_t unit = inner < TC_ELEMENTWISE_GRAIN ? inner : TC_ELEMENTWISE_GRAIN;
    tc_parallel_for(total / inner * pieces, 1 + TC_ELEMENTWISE_GRAIN / (unit > 0 ? unit : 1), fn, ctx);
}

typedef struct {
    binary_kind kind;
    bcast p;
    const tc_scalar *a, *b; /* packed operands */
} binary_saved;

static tc_tensor *binary(const char *name, int op, binary_kind kind, tc_tensor *a, tc_tensor *b)
{
    TC_CHECK(a && b, TC_ERR_ARG, "%s: input %s is NULL", name, a ? "b" : "a");
    bcast p;
    if (!broadcast_plan(name, a, b, &p)) return NULL;
    tc_tensor *y = tc_result(p.ndim, p.shape);
    const tc_scalar *ad = tc_packed(a), *bd = tc_packed(b);
    if (!y || !ad || !bd) return NULL;
    int64_t n = tc_numel(y);
    if (n > 0) {
        binary_job j = {.kind = kind, .p = &p, .a = ad, .b = bd, .out = y->data};
        for_units(&p, n, binary_rows, &j);
    }
    tc_node *nd = tc_record(op, y, 2, (tc_tensor *[]){a, b}, sizeof(binary_saved));
    if (nd) {
        binary_saved *s = nd->saved;
        s->kind = kind, s->p = p, s->a = ad, s->b = bd;
    }
    return y;
}

/* ---- backward ------------------------------------------------------------------ */
/* per-element gradients: PA (for a) and PB (for b) from x = a, z = b,
 * v = y and g = dL/dy. Ties of max/min: the gradient goes to a. */
#define GRAD_BODY(LOADS, PA, PB)                                                     \
    do {                                                                             \
        if (da && db) {                                                              \
            TC_FOR_VEC(i, n, LOADS; da[i] += (PA); db[i] += (PB));                   \
        } else if (da) {                                                             \
            TC_FOR_VEC(i, n, LOADS; da[i] += (PA));                                  \
        } else {                                                                     \
            TC_FOR_VEC(i, n, LOADS; db[i] += (PB));                                  \
        }                                                                            \
    } while (0)

#define GRAD_LOOP(PA, PB)                                                                              \
    do {                                                                                               \
        if (ia && ib)                                                                                  \
            GRAD_BODY(tc_scalar x = a[i]; tc_scalar z = b[i]; tc_scalar v = y[i]; tc_scalar g = gy[i];  \
                      (void)x; (void)z; (void)v, PA, PB);                                              \
        else if (ia)                                                                                   \
            GRAD_BODY(tc_scalar x = a[i]; tc_scalar z = b[0]; tc_scalar v = y[i]; tc_scalar g = gy[i];  \
                      (void)x; (void)z; (void)v, PA, PB);                                              \
        else                                                                                           \
            GRAD_BODY(tc_scalar x = a[0]; tc_scalar z = b[ib ? i : 0]; tc_scalar v = y[i];              \
                      tc_scalar g = gy[i]; (void)x; (void)z; (void)v, PA, PB);                         \
    } while (0)

/* da and db must not overlap (the caller splits the a-and-b-are-the-same-tensor case) */
static void grad_row(binary_kind k, const tc_scalar *restrict a, const tc_scalar *restrict b,
                     const tc_scalar *restrict y, const tc_scalar *restrict gy, tc_scalar *restrict da,
                     tc_scalar *restrict db, int64_t n, bool ia, bool ib)
{
    switch (k) {
    case B_ADD: GRAD_LOOP(g, g); break;
    case B_SUB: GRAD_LOOP(g, -g); break;
    case B_MUL: GRAD_LOOP(g * z, g * x); break;
    case B_DIV: GRAD_LOOP(g / z, -g * v / z); break;
    case B_POW: /* d/da = b a^(b-1); d/db = y log a (0 where a <= 0: a^b is only defined for whole b there) */
        GRAD_LOOP(z == 0 ? 0 : g * z * POW(x, z - 1), x > 0 ? g * v * (tc_scalar)log(x) : 0);
        break;
    case B_MAX: GRAD_LOOP(x >= z ? g : 0, x >= z ? 0 : g); break;
    case B_MIN: GRAD_LOOP(x <= z ? g : 0, x <= z ? 0 : g); break;
    }
}

static void grad_rows(void *ctx, int64_t lo, int64_t hi)
{
    binary_job *j = ctx;
    const bcast *p = j->p;
    bool ia = p->n && p->sa[p->n - 1], ib = p->n && p->sb[p->n - 1];
    bool same = j->da && j->da == j->db; /* a and b are one tensor: two passes */
    for (int64_t u = lo; u < hi; u++) {
        int64_t e, oa, ob, n;
        unit_span(p, u, &e, &oa, &ob, &n);
        tc_scalar *da = j->da ? j->da + e : NULL, *db = j->db ? j->db + e : NULL;
        if (same) {
            grad_row(j->kind, j->a + oa, j->b + ob, j->y + e, j->gy + e, da, NULL, n, ia, ib);
            grad_row(j->kind, j->a + oa, j->b + ob, j->y + e, j->gy + e, NULL, db, n, ia, ib);
        } else {
            grad_row(j->kind, j->a + oa, j->b + ob, j->y + e, j->gy + e, da, db, n, ia, ib);
        }
    }
}

/* d += sign * src over n elements, in parallel pieces */
typedef struct {
    tc_scalar *d;
    const tc_scalar *src;
    tc_scalar sign;
} axpy_job;

static void axpy_piece(tc_scalar *restrict d, const tc_scalar *restrict src, tc_scalar sign, int64_t n)
{
    if (sign > 0) TC_FOR_VEC(i, n, d[i] += src[i]);
    else TC_FOR_VEC(i, n, d[i] -= src[i]);
}

static void axpy_range(void *ctx, int64_t lo, int64_t hi)
{
    axpy_job *j = ctx;
    axpy_piece(j->d + lo, j->src + lo, j->sign, hi - lo);
}

static void add_into(tc_scalar *d, const tc_scalar *src, tc_scalar sign, int64_t n)
{
    axpy_job j = {d, src, sign};
    tc_parallel_for(n, TC_ELEMENTWISE_GRAIN, axpy_range, &j);
}

/* adds the sum of t (output shape) over the broadcast axes into g */
static void reduce_into(const bcast *p, const bool *red, const tc_scalar *t, double scale, tc_scalar *g)
{
    tc_reduce_sum_into(t, p->ndim, p->shape, red, scale, g, true);
}

static tc_status binary_backward(tc_node *nd, const tc_tensor *gy)
{
    const binary_saved *s = nd->saved;
    const bcast *p = &s->p;
    int64_t total = tc_numel(gy);
    if (s->kind == B_ADD || s->kind == B_SUB) { /* the gradient is gy itself (or -gy) */
        /* a first gradient of an operand of the output's size is a copy of gy (no zero-fill and add);
         * inputs[0] == inputs[1] (x + x) takes the accumulating path for the second */
        bool fa = false, fb = false;
        tc_tensor *ga = p->bcast_a ? tc_grad_for(nd->inputs[0]) : tc_grad_for_overwrite(nd->inputs[0], &fa);
        tc_tensor *gb = p->bcast_b ? tc_grad_for(nd->inputs[1]) : tc_grad_for_overwrite(nd->inputs[1], &fb);
        if ((!ga && !gb) || total == 0) {
            if (fa) memset(ga->data, 0, sizeof(tc_scalar) * (size_t)total);
            if (fb) memset(gb->data, 0, sizeof(tc_scalar) * (size_t)total);
            return TC_OK;
        }
        tc_scalar sign_b = s->kind == B_SUB ? -1 : 1;
        if (ga) {
            if (p->bcast_a) reduce_into(p, p->red_a, gy->data, 1, ga->data);
            else if (fa) memcpy(ga->data, gy->data, sizeof(tc_scalar) * (size_t)total);
            else add_into(ga->data, gy->data, 1, total);
        }
        if (gb) {
            if (p->bcast_b) reduce_into(p, p->red_b, gy->data, sign_b, gb->data);
            else if (fb && sign_b == 1) memcpy(gb->data, gy->data, sizeof(tc_scalar) * (size_t)total);
            else {
                if (fb) memset(gb->data, 0, sizeof(tc_scalar) * (size_t)total);
                add_into(gb->data, gy->data, sign_b, total);
            }
        }
        return TC_OK;
    }
    tc_tensor *ga = tc_grad_for(nd->inputs[0]), *gb = tc_grad_for(nd->inputs[1]);
    if ((!ga && !gb) || total == 0) return TC_OK;
    /* per-element gradients straight into an operand of the output's size,
     * into zeroed scratch for a broadcast one */
    tc_scalar *ta = NULL, *tb = NULL;
    if (ga && p->bcast_a) {
        if (!(ta = tc_arena_alloc(sizeof(tc_scalar) * (size_t)total))) return tc_last_status();
        memset(ta, 0, sizeof(tc_scalar) * (size_t)total);
    }
    if (gb && p->bcast_b) {
        if (!(tb = tc_arena_alloc(sizeof(tc_scalar) * (size_t)total))) return tc_last_status();
        memset(tb, 0, sizeof(tc_scalar) * (size_t)total);
    }
    binary_job j = {.kind = s->kind, .p = p, .a = s->a, .b = s->b, .gy = gy->data, .y = nd->out->data,
                    .da = ga ? (ta ? ta : ga->data) : NULL, .db = gb ? (tb ? tb : gb->data) : NULL};
    for_units(p, total, grad_rows, &j);
    if (ta) reduce_into(p, p->red_a, ta, 1, ga->data);
    if (tb) reduce_into(p, p->red_b, tb, 1, gb->data);
    return TC_OK;
}

#define BINARY_BACKWARD(name) \
    tc_status tc_backward_##name(tc_node *n, const tc_tensor *gy) { return binary_backward(n, gy); }

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
    tc_status tc_backward_##name(tc_node *n, const tc_tensor *gy) { return tc_unary_backward(n, gy); }
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
