/* Losses, each one fused and numerically stable:
 *   softmax cross-entropy with one-hot or soft labels, and with class ids
 *     (log-sum-exp per row; backward softmax * sum(labels) - labels);
 *   sigmoid cross-entropy on logits: max(x, 0) - x z + log(1 + exp(-|x|));
 *   mean squared error; TensorFlow's l2_loss.
 * Every loss takes optional per-example weights (masks for padded
 * sequences) and a reduction (ops.h): MEAN divides the weighted sum by the
 * number of examples, SUM returns it, WEIGHTED_MEAN divides it by the sum of
 * the weights (0 when that is 0), NONE returns one loss per example.
 * Gradients flow to the logits, to soft labels and targets, and to weights.
 * Rows run in parallel; the reduction adds per-example losses in order, so
 * results are the same bits for any thread count. */
#include "ops_internal.h"

#include <math.h>

#ifdef TC_DOUBLE
#define EXP exp
#else
#define EXP expf
#endif

enum { SOFT_CE, SPARSE_CE, SIGMOID_CE, SQUARED_ERROR };

typedef struct {
    int kind;
    int64_t n, C;            /* examples, classes (1 for element-wise losses) */
    tc_reduction red;
    double denom;            /* the reduction's divisor (1 for SUM and NONE; 0: all weights 0) */
    double value;            /* the reduced loss (WEIGHTED_MEAN's weight gradient needs it) */
    const tc_scalar *w;      /* per-example weights or NULL */
    const tc_scalar *a, *b;  /* logits (or predictions) and labels (or targets), packed */
    /* softmax losses: log-sum-exp of row i = rmax[i] + lsum[i] (kept apart: at logits
     * of 1000 one float lse would lose 1e-4 of the softmax's precision) */
    tc_scalar *rmax, *lsum;
    double *l;               /* unweighted per-example losses */
} loss_saved;

static bool valid_reduction(tc_reduction r) { return (unsigned)r <= TC_REDUCE_NONE; }

/* ---- forward kernels over examples [lo, hi) ------------------------------------------ */
static void forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    loss_saved *s = ctx;
    for (int64_t i = lo; i < hi; i++) {
        if (s->kind == SIGMOID_CE || s->kind == SQUARED_ERROR) {
            double x = s->a[i], z = s->b[i];
            s->l[i] = s->kind == SIGMOID_CE ? (x > 0 ? x : 0) - x * z + log1p(exp(-fabs(x))) : (x - z) * (x - z);
            continue;
        }
        const tc_scalar *z = s->a + i * s->C;
        tc_scalar m = z[0];
        for (int64_t c = 1; c < s->C; c++) m = z[c] > m ? z[c] : m;
        double sum = 0;
        for (int64_t c = 0; c < s->C; c++) sum += EXP(z[c] - m);
        double lse = (double)m + log(sum);
        s->rmax[i] = m;
        s->lsum[i] = (tc_scalar)log(sum);
        if (s->kind == SPARSE_CE) {
            s->l[i] = lse - (double)z[(int64_t)s->b[i]];
        } else {
            const tc_scalar *y = s->b + i * s->C;
            double li = 0;
            for (int64_t c = 0; c < s->C; c++)
                if (y[c] != 0) li += (double)y[c] * (lse - (double)z[c]); /* 0 * -inf logits stays 0 */
            s->l[i] = li;
        }
    }
}

/* Runs the forward kernel, reduces, records. out_ndim/out_shape: NONE's shape. */
static tc_tensor *finish(loss_saved *s, int op, tc_tensor *a, tc_tensor *b, tc_tensor *w, int out_ndim,
                         const int64_t *out_shape)
{
    s->l = tc_arena_alloc(sizeof(double) * (size_t)(s->n + 1));
    if (s->kind <= SPARSE_CE) {
        s->rmax = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(s->n + 1));
        s->lsum = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(s->n + 1));
        if (!s->rmax || !s->lsum) return NULL;
    }
    if (!s->l) return NULL;
    int64_t grain = s->C >= 4096 ? 1 : 4096 / s->C;
    tc_parallel_for(s->n, grain, forward_rows, s);
    tc_tensor *y;
    if (s->red == TC_REDUCE_NONE) {
        y = tc_result(out_ndim, out_shape);
        if (!y) return NULL;
        for (int64_t i = 0; i < s->n; i++) y->data[i] = (tc_scalar)(s->l[i] * (s->w ? s->w[i] : 1));
        s->denom = 1;
    } else {
        double sum = 0, wsum = 0;
        for (int64_t i = 0; i < s->n; i++) {
            sum += s->l[i] * (s->w ? s->w[i] : 1);
            wsum += s->w ? s->w[i] : 1;
        }
        s->denom = s->red == TC_REDUCE_SUM ? 1 : s->red == TC_REDUCE_MEAN ? (double)s->n : wsum;
        s->value = s->denom != 0 ? sum / s->denom : 0;
        y = tc_result(0, NULL);
        if (!y) return NULL;
        y->data[0] = (tc_scalar)s->value;
    }
    tc_node *nd = tc_record(op, y, 3, (tc_tensor *[]){a, b, w}, sizeof *s);
    if (nd) memcpy(nd->saved, s, sizeof *s);
    return y;
}

/* ---- backward -------------------------------------------------------------------------- */
typedef struct {
    const loss_saved *s;
    const tc_tensor *gy;
    tc_scalar *ga, *gb; /* gradient buffers of input a and b, or NULL */
    bool ga_fresh;      /* ga is uninitialised (sparse CE only): rows are written, not added to */
} back_job;

/* upstream gradient of example i divided by the reduction's divisor */
static inline double upstream(const loss_saved *s, const tc_tensor *gy, int64_t i)
{
    if (s->denom == 0) return 0;
    return (s->red == TC_REDUCE_NONE ? gy->data[i] : gy->data[0]) / s->denom;
}

static void backward_rows(void *ctx, int64_t lo, int64_t hi)
{
    const back_job *j = ctx;
    const loss_saved *s = j->s;
    for (int64_t i = lo; i < hi; i++) {
        tc_scalar k = (tc_scalar)(upstream(s, j->gy, i) * (s->w ? s->w[i] : 1));
        if (k == 0) {
            if (j->ga_fresh) memset(j->ga + i * s->C, 0, sizeof(tc_scalar) * (size_t)s->C); /* a masked row */
            continue;
        }
        if (s->kind == SIGMOID_CE || s->kind == SQUARED_ERROR) {
            tc_scalar x = s->a[i], z = s->b[i];
            if (s->kind == SIGMOID_CE) {
                tc_scalar e = EXP(-(x >= 0 ? x : -x)); /* stable sigmoid */
                tc_scalar sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
                if (j->ga) j->ga[i] += k * (sig - z);
                if (j->gb) j->gb[i] -= k * x;
            } else {
                if (j->ga) j->ga[i] += k * 2 * (x - z);
                if (j->gb) j->gb[i] -= k * 2 * (x - z);
            }
            continue;
        }
        const tc_scalar *z = s->a + i * s->C, m = s->rmax[i], ls = s->lsum[i];
        if (s->kind == SPARSE_CE) {
            if (!j->ga) continue;
            tc_scalar *g = j->ga + i * s->C;
            if (j->ga_fresh)
                for (int64_t c = 0; c < s->C; c++) g[c] = k * EXP((z[c] - m) - ls);
            else
                for (int64_t c = 0; c < s->C; c++) g[c] += k * EXP((z[c] - m) - ls);
            g[(int64_t)s->b[i]] -= k;
            continue;
        }
        const tc_scalar *y = s->b + i * s->C;
        if (j->ga) {
            tc_scalar total = 0, *g = j->ga + i * s->C;
            for (int64_t c = 0; c < s->C; c++) total += y[c];
            for (int64_t c = 0; c < s->C; c++) g[c] += k * (EXP((z[c] - m) - ls) * total - y[c]);
        }
        if (j->gb) {
            tc_scalar *g = j->gb + i * s->C;
            for (int64_t c = 0; c < s->C; c++) g[c] += k * ((m - z[c]) + ls);
        }
    }
}

static tc_status loss_backward(tc_node *n, const tc_tensor *gy)
{
    const loss_saved *s = n->saved;
    /* sparse CE writes every row of a fresh logits gradient (masked rows as zeros): no zero-fill of [n, C] first,
     * which for a decoder's [B*T, vocabulary] logits is most of the backward's memory traffic */
    bool fresh = false;
    tc_tensor *ga = s->kind == SPARSE_CE ? tc_grad_for_overwrite(n->inputs[0], &fresh) : tc_grad_for(n->inputs[0]);
    tc_tensor *gb = s->kind == SPARSE_CE ? NULL : tc_grad_for(n->inputs[1]);
    tc_tensor *gw = tc_grad_for(n->inputs[2]);
    if (ga || gb) {
        back_job j = {s, gy, ga ? ga->data : NULL, gb ? gb->data : NULL, fresh};
        int64_t grain = s->C >= 2048 ? 1 : 2048 / s->C;
        tc_parallel_for(s->n, grain, backward_rows, &j);
    }
    if (gw) /* d/dw_i of sum(w l) / D, and of WEIGHTED_MEAN's sum(w l) / sum(w): (l_i - value) / D */
        for (int64_t i = 0; i < s->n; i++)
            gw->data[i] += (tc_scalar)(upstream(s, gy, i) * (s->l[i] - (s->red == TC_REDUCE_WEIGHTED_MEAN ? s->value : 0)));
    return TC_OK;
}

tc_status tc_backward_softmax_cross_entropy(tc_node *n, const tc_tensor *gy) { return loss_backward(n, gy); }
tc_status tc_backward_sparse_softmax_cross_entropy(tc_node *n, const tc_tensor *gy) { return loss_backward(n, gy); }
tc_status tc_backward_sigmoid_cross_entropy(tc_node *n, const tc_tensor *gy) { return loss_backward(n, gy); }
tc_status tc_backward_mse(tc_node *n, const tc_tensor *gy) { return loss_backward(n, gy); }

/* ---- the public losses ------------------------------------------------------------------- */
/* weights must have exactly the shape (ndim, shape) of one value per example */
static bool weights_fit(const char *name, const tc_tensor *logits, const tc_tensor *w, int ndim, const int64_t *shape)
{
    if (!w) return true;
    bool ok = w->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = w->shape[d] == shape[d];
    if (!ok) {
        char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX], c[TC_SHAPE_STR_MAX];
        tc_error(TC_ERR_SHAPE, "%s: weights %s must have one value per example %s of input %s", name,
                 tc_shape_str(w, a, sizeof a), tc_dims_str(ndim, shape, b, sizeof b), tc_shape_str(logits, c, sizeof c));
    }
    return ok;
}

tc_tensor *tc_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels, tc_tensor *weights, tc_reduction red)
{
    const char *name = "softmax_cross_entropy";
    TC_CHECK(logits && labels, TC_ERR_ARG, "%s: %s is NULL", name, logits ? "labels" : "logits");
    TC_CHECK(valid_reduction(red), TC_ERR_ARG, "%s: unknown reduction %d (logits %s)", name, (int)red, TC_SHP(logits));
    TC_CHECK(logits->ndim >= 1 && tc_same_shape(logits, labels), TC_ERR_SHAPE,
             "%s: logits %s and labels %s must have the same shape [..., classes]", name, TC_SHP(logits), TC_SHP(labels));
    loss_saved s = {.kind = SOFT_CE, .C = logits->shape[logits->ndim - 1], .red = red};
    TC_CHECK(s.C > 0, TC_ERR_SHAPE, "%s: logits %s have no classes", name, TC_SHP(logits));
    s.n = tc_numel(logits) / s.C;
    if (!weights_fit(name, logits, weights, logits->ndim - 1, logits->shape)) return NULL;
    s.a = tc_packed(logits);
    s.b = tc_packed(labels);
    s.w = weights ? tc_packed(weights) : NULL;
    if (!s.a || !s.b || (weights && !s.w)) return NULL;
    return finish(&s, TC_OP_softmax_cross_entropy, logits, labels, weights, logits->ndim - 1, logits->shape);
}

tc_tensor *tc_sparse_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels, tc_tensor *weights, tc_reduction red)
{
    const char *name = "sparse_softmax_cross_entropy";
    TC_CHECK(logits && labels, TC_ERR_ARG, "%s: %s is NULL", name, logits ? "labels" : "logits");
    TC_CHECK(valid_reduction(red), TC_ERR_ARG, "%s: unknown reduction %d (logits %s)", name, (int)red, TC_SHP(logits));
    bool fits = logits->ndim >= 1 && labels->ndim == logits->ndim - 1;
    for (int d = 0; fits && d < labels->ndim; d++) fits = labels->shape[d] == logits->shape[d];
    TC_CHECK(fits, TC_ERR_SHAPE, "%s: labels %s must have the shape of logits %s without the class axis", name,
             TC_SHP(labels), TC_SHP(logits));
    loss_saved s = {.kind = SPARSE_CE, .C = logits->shape[logits->ndim - 1], .red = red};
    TC_CHECK(s.C > 0, TC_ERR_SHAPE, "%s: logits %s have no classes", name, TC_SHP(logits));
    s.n = tc_numel(logits) / s.C;
    if (!weights_fit(name, logits, weights, labels->ndim, labels->shape)) return NULL;
    s.a = tc_packed(logits);
    s.b = tc_packed(labels);
    s.w = weights ? tc_packed(weights) : NULL;
    if (!s.a || !s.b || (weights && !s.w)) return NULL;
    for (int64_t i = 0; i < s.n; i++) {
        double v = s.b[i];
        TC_CHECK(v == floor(v) && v >= 0 && v < (double)s.C, TC_ERR_ARG,
                 "%s: label %g at example %lld is not a class id in [0, %lld): logits %s have %lld classes", name, v,
                 (long long)i, (long long)s.C, TC_SHP(logits), (long long)s.C);
    }
    return finish(&s, TC_OP_sparse_softmax_cross_entropy, logits, labels, weights, labels->ndim, labels->shape);
}

/* element-wise losses: every element is an example */
static tc_tensor *elementwise_loss(const char *name, int kind, int op, tc_tensor *a, tc_tensor *b, tc_tensor *weights,
                                   tc_reduction red)
{
    TC_CHECK(a && b, TC_ERR_ARG, "%s: %s is NULL", name, a ? "target" : "input");
    TC_CHECK(valid_reduction(red), TC_ERR_ARG, "%s: unknown reduction %d (input %s)", name, (int)red, TC_SHP(a));
    TC_CHECK(tc_same_shape(a, b), TC_ERR_SHAPE, "%s: input %s and target %s must have the same shape", name, TC_SHP(a),
             TC_SHP(b));
    if (!weights_fit(name, a, weights, a->ndim, a->shape)) return NULL;
    loss_saved s = {.kind = kind, .n = tc_numel(a), .C = 1, .red = red};
    s.a = tc_packed(a);
    s.b = tc_packed(b);
    s.w = weights ? tc_packed(weights) : NULL;
    if (!s.a || !s.b || (weights && !s.w)) return NULL;
    return finish(&s, op, a, b, weights, a->ndim, a->shape);
}

tc_tensor *tc_sigmoid_cross_entropy(tc_tensor *logits, tc_tensor *targets, tc_tensor *weights, tc_reduction red)
{
    return elementwise_loss("sigmoid_cross_entropy", SIGMOID_CE, TC_OP_sigmoid_cross_entropy, logits, targets, weights, red);
}

tc_tensor *tc_mse(tc_tensor *pred, tc_tensor *target, tc_reduction red)
{
    TC_CHECK(red != TC_REDUCE_WEIGHTED_MEAN, TC_ERR_ARG,
             "mse: WEIGHTED_MEAN needs weights, which mse does not take (pred %s); use MEAN, SUM or NONE", TC_SHP(pred));
    return elementwise_loss("mse", SQUARED_ERROR, TC_OP_mse, pred, target, NULL, red);
}

/* ---- l2_loss: sum(x^2) / 2 ----------------------------------------------------------------- */
tc_tensor *tc_l2_loss(tc_tensor *x)
{
    TC_CHECK(x, TC_ERR_ARG, "l2_loss: input is NULL");
    const tc_scalar *d = tc_packed(x);
    tc_tensor *y = tc_result(0, NULL);
    if (!d || !y) return NULL;
    double s = 0;
    int64_t n = tc_numel(x);
    for (int64_t i = 0; i < n; i++) s += (double)d[i] * d[i];
    y->data[0] = (tc_scalar)(s / 2);
    tc_node *nd = tc_record(TC_OP_l2_loss, y, 1, &x, sizeof(const tc_scalar *));
    if (nd) *(const tc_scalar **)nd->saved = d;
    return y;
}

tc_status tc_backward_l2_loss(tc_node *n, const tc_tensor *gy)
{
    const tc_scalar *d = *(const tc_scalar **)n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    int64_t len = tc_numel(gx);
    for (int64_t i = 0; i < len; i++) gx->data[i] += gy->data[0] * d[i];
    return TC_OK;
}
