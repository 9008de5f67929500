/* Losses, each fused and numerically stable: softmax cross-entropy (soft or
 * sparse labels, per-example weights), sigmoid cross-entropy on logits,
 * mean squared error and TensorFlow's l2_loss. Reductions follow
 * ops.h: MEAN over examples, SUM, WEIGHTED_MEAN (masked average), NONE. */
#include "../core/internal.h"

#include <math.h>

typedef struct {
    int64_t n, C;            /* examples, classes (1 for element-wise losses) */
    tc_reduction red;
    double denom;            /* the reduction's divisor */
    const tc_scalar *w;      /* per-example weights or NULL */
    const tc_scalar *a, *b;  /* logits (or predictions) and labels (or targets), packed */
    tc_scalar *logp;         /* softmax losses: log-probabilities [n, C] */
} loss_saved;

static const char *red_ok(tc_reduction r)
{
    return (unsigned)r <= TC_REDUCE_NONE ? NULL : "unknown reduction";
}

/* reduce per-example losses l[n] into the result tensor */
static tc_tensor *reduce_losses(const double *l, loss_saved *s, int ndim, const int64_t *shape)
{
    if (s->red == TC_REDUCE_NONE) {
        tc_tensor *y = tc_result(ndim, shape);
        if (y)
            for (int64_t i = 0; i < s->n; i++) y->data[i] = (tc_scalar)l[i];
        s->denom = 1;
        return y;
    }
    double sum = 0, wsum = 0;
    for (int64_t i = 0; i < s->n; i++) {
        sum += l[i];
        wsum += s->w ? s->w[i] : 1;
    }
    s->denom = s->red == TC_REDUCE_SUM ? 1 : s->red == TC_REDUCE_MEAN ? (double)s->n : wsum;
    tc_tensor *y = tc_result(0, NULL);
    if (y) y->data[0] = (tc_scalar)(s->denom > 0 ? sum / s->denom : 0);
    return y;
}

/* gradient scale of example i: upstream gradient * weight / divisor */
static inline tc_scalar gscale(const loss_saved *s, const tc_tensor *gy, int64_t i)
{
    double g = s->red == TC_REDUCE_NONE ? gy->data[i] : gy->data[0];
    if (s->denom <= 0) return 0;
    return (tc_scalar)(g * (s->w ? s->w[i] : 1) / s->denom);
}

static bool check_weights(const char *name, tc_tensor *logits, tc_tensor *weights, int64_t n, int rank)
{
    if (!weights) return true;
    if (tc_numel(weights) != n || weights->ndim != rank) {
        tc_error(TC_ERR_SHAPE, "%s: weights %s do not match the %lld examples of logits %s", name, TC_SHP(weights),
                 (long long)n, TC_SHP(logits));
        return false;
    }
    return true;
}

/* log-softmax of each row into logp; returns false on allocation failure */
static bool row_log_softmax(loss_saved *s)
{
    s->logp = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(s->n * s->C + 1));
    if (!s->logp) return false;
    for (int64_t i = 0; i < s->n; i++) {
        const tc_scalar *z = s->a + i * s->C;
        tc_scalar m = z[0];
        for (int64_t c = 1; c < s->C; c++) m = z[c] > m ? z[c] : m;
        double sum = 0;
        for (int64_t c = 0; c < s->C; c++) sum += exp((double)(z[c] - m));
        tc_scalar lse = m + (tc_scalar)log(sum);
        for (int64_t c = 0; c < s->C; c++) s->logp[i * s->C + c] = z[c] - lse;
    }
    return true;
}

tc_tensor *tc_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels, tc_tensor *weights, tc_reduction red)
{
    const char *name = "softmax_cross_entropy";
    TC_CHECK(logits && labels, TC_ERR_ARG, "%s: %s is NULL", name, logits ? "labels" : "logits");
    TC_CHECK(!red_ok(red), TC_ERR_ARG, "%s: unknown reduction %d", name, (int)red);
    TC_CHECK(logits->ndim >= 1 && tc_same_shape(logits, labels), TC_ERR_SHAPE,
             "%s: logits %s and labels %s must have the same shape [..., classes]", name, TC_SHP(logits), TC_SHP(labels));
    loss_saved s = {.C = logits->shape[logits->ndim - 1], .red = red};
    s.n = s.C ? tc_numel(logits) / s.C : 0;
    if (!check_weights(name, logits, weights, s.n, logits->ndim - 1)) return NULL;
    s.a = tc_packed(logits);
    s.b = tc_packed(labels);
    s.w = weights ? tc_packed(weights) : NULL;
    double *l = tc_arena_alloc(sizeof(double) * (size_t)(s.n + 1));
    if (!s.a || !s.b || (weights && !s.w) || !l || !row_log_softmax(&s)) return NULL;
    for (int64_t i = 0; i < s.n; i++) {
        double li = 0;
        for (int64_t c = 0; c < s.C; c++) li -= (double)s.b[i * s.C + c] * s.logp[i * s.C + c];
        l[i] = li * (s.w ? s.w[i] : 1);
    }
    tc_tensor *y = reduce_losses(l, &s, logits->ndim - 1, logits->shape);
    tc_node *nd = y ? tc_record(TC_OP_softmax_cross_entropy, y, 3, (tc_tensor *[]){logits, labels, weights}, sizeof s) : NULL;
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_softmax_cross_entropy(tc_node *n, const tc_tensor *gy)
{
    const loss_saved *s = n->saved;
    tc_tensor *gz = tc_grad_for(n->inputs[0]), *gl = tc_grad_for(n->inputs[1]);
    for (int64_t i = 0; i < s->n; i++) {
        tc_scalar k = gscale(s, gy, i);
        const tc_scalar *lp = s->logp + i * s->C, *lab = s->b + i * s->C;
        if (gz) {
            tc_scalar total = 0;
            for (int64_t c = 0; c < s->C; c++) total += lab[c];
            for (int64_t c = 0; c < s->C; c++) gz->data[i * s->C + c] += k * ((tc_scalar)exp(lp[c]) * total - lab[c]);
        }
        if (gl)
            for (int64_t c = 0; c < s->C; c++) gl->data[i * s->C + c] -= k * lp[c];
    }
}

tc_tensor *tc_sparse_softmax_cross_entropy(tc_tensor *logits, tc_tensor *labels, tc_tensor *weights, tc_reduction red)
{
    const char *name = "sparse_softmax_cross_entropy";
    TC_CHECK(logits && labels, TC_ERR_ARG, "%s: %s is NULL", name, logits ? "labels" : "logits");
    TC_CHECK(!red_ok(red), TC_ERR_ARG, "%s: unknown reduction %d", name, (int)red);
    TC_CHECK(logits->ndim >= 1 && labels->ndim == logits->ndim - 1, TC_ERR_SHAPE,
             "%s: labels %s must have the shape of logits %s without the class axis", name, TC_SHP(labels), TC_SHP(logits));
    for (int d = 0; d < labels->ndim; d++)
        TC_CHECK(labels->shape[d] == logits->shape[d], TC_ERR_SHAPE, "%s: labels %s do not match logits %s", name,
                 TC_SHP(labels), TC_SHP(logits));
    loss_saved s = {.C = logits->shape[logits->ndim - 1], .red = red};
    TC_CHECK(s.C > 0, TC_ERR_SHAPE, "%s: logits %s have no classes", name, TC_SHP(logits));
    s.n = tc_numel(logits) / s.C;
    if (!check_weights(name, logits, weights, s.n, labels->ndim)) return NULL;
    s.a = tc_packed(logits);
    s.b = tc_packed(labels);
    s.w = weights ? tc_packed(weights) : NULL;
    double *l = tc_arena_alloc(sizeof(double) * (size_t)(s.n + 1));
    if (!s.a || !s.b || (weights && !s.w) || !l) return NULL;
    for (int64_t i = 0; i < s.n; i++) {
        double v = s.b[i];
        TC_CHECK(v == floor(v) && v >= 0 && v < (double)s.C, TC_ERR_ARG,
                 "%s: label %g at position %lld is not a class id in [0, %lld) (logits %s)", name, v, (long long)i,
                 (long long)s.C, TC_SHP(logits));
    }
    if (!row_log_softmax(&s)) return NULL;
    for (int64_t i = 0; i < s.n; i++) l[i] = -(double)s.logp[i * s.C + (int64_t)s.b[i]] * (s.w ? s.w[i] : 1);
    tc_tensor *y = reduce_losses(l, &s, labels->ndim, labels->shape);
    tc_node *nd = y ? tc_record(TC_OP_sparse_softmax_cross_entropy, y, 3, (tc_tensor *[]){logits, labels, weights}, sizeof s) : NULL;
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_sparse_softmax_cross_entropy(tc_node *n, const tc_tensor *gy)
{
    const loss_saved *s = n->saved;
    tc_tensor *gz = tc_grad_for(n->inputs[0]);
    if (!gz) return; /* labels are indices: no gradient */
    for (int64_t i = 0; i < s->n; i++) {
        tc_scalar k = gscale(s, gy, i);
        if (k == 0) continue;
        const tc_scalar *lp = s->logp + i * s->C;
        tc_scalar *g = gz->data + i * s->C;
        for (int64_t c = 0; c < s->C; c++) g[c] += k * (tc_scalar)exp(lp[c]);
        g[(int64_t)s->b[i]] -= k;
    }
}

/* ---- element-wise losses: every element is an example ------------------------------ */
static tc_tensor *elementwise_loss(const char *name, int op, tc_tensor *a, tc_tensor *b, tc_tensor *weights,
                                   tc_reduction red, int kind)
{
    TC_CHECK(a && b, TC_ERR_ARG, "%s: %s is NULL", name, a ? "target" : "input");
    TC_CHECK(!red_ok(red), TC_ERR_ARG, "%s: unknown reduction %d", name, (int)red);
    TC_CHECK(tc_same_shape(a, b), TC_ERR_SHAPE, "%s: %s and target %s differ in shape", name, TC_SHP(a), TC_SHP(b));
    TC_CHECK(!weights || tc_same_shape(a, weights), TC_ERR_SHAPE, "%s: weights %s do not match %s", name, TC_SHP(weights),
             TC_SHP(a));
    loss_saved s = {.n = tc_numel(a), .C = 1, .red = red};
    s.a = tc_packed(a);
    s.b = tc_packed(b);
    s.w = weights ? tc_packed(weights) : NULL;
    double *l = tc_arena_alloc(sizeof(double) * (size_t)(s.n + 1));
    if (!s.a || !s.b || (weights && !s.w) || !l) return NULL;
    for (int64_t i = 0; i < s.n; i++) {
        double x = s.a[i], z = s.b[i], v;
        if (kind == 0) v = (x > 0 ? x : 0) - x * z + log1p(exp(-fabs(x))); /* sigmoid CE */
        else v = (x - z) * (x - z);                                          /* squared error */
        l[i] = v * (s.w ? s.w[i] : 1);
    }
    tc_tensor *y = reduce_losses(l, &s, a->ndim, a->shape);
    tc_node *nd = y ? tc_record(op, y, 3, (tc_tensor *[]){a, b, weights}, sizeof s) : NULL;
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

static void elementwise_loss_backward(tc_node *n, const tc_tensor *gy, int kind)
{
    const loss_saved *s = n->saved;
    tc_tensor *ga = tc_grad_for(n->inputs[0]), *gb = tc_grad_for(n->inputs[1]);
    for (int64_t i = 0; i < s->n; i++) {
        tc_scalar k = gscale(s, gy, i), x = s->a[i], z = s->b[i];
        if (kind == 0) {
            tc_scalar sig = x >= 0 ? 1 / (1 + (tc_scalar)exp(-x)) : (tc_scalar)exp(x) / (1 + (tc_scalar)exp(x));
            if (ga) ga->data[i] += k * (sig - z);
            if (gb) gb->data[i] -= k * x;
        } else {
            if (ga) ga->data[i] += k * 2 * (x - z);
            if (gb) gb->data[i] -= k * 2 * (x - z);
        }
    }
}

tc_tensor *tc_sigmoid_cross_entropy(tc_tensor *logits, tc_tensor *targets, tc_tensor *weights, tc_reduction red)
{
    return elementwise_loss("sigmoid_cross_entropy", TC_OP_sigmoid_cross_entropy, logits, targets, weights, red, 0);
}
void tc_backward_sigmoid_cross_entropy(tc_node *n, const tc_tensor *gy) { elementwise_loss_backward(n, gy, 0); }

tc_tensor *tc_mse(tc_tensor *pred, tc_tensor *target, tc_reduction red)
{
    TC_CHECK(red != TC_REDUCE_WEIGHTED_MEAN, TC_ERR_ARG, "mse: WEIGHTED_MEAN needs weights; use MEAN, SUM or NONE");
    return elementwise_loss("mse", TC_OP_mse, pred, target, NULL, red, 1);
}
void tc_backward_mse(tc_node *n, const tc_tensor *gy) { elementwise_loss_backward(n, gy, 1); }

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

void tc_backward_l2_loss(tc_node *n, const tc_tensor *gy)
{
    const tc_scalar *d = *(const tc_scalar **)n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    int64_t len = tc_numel(gx);
    for (int64_t i = 0; i < len; i++) gx->data[i] += gy->data[0] * d[i];
}
