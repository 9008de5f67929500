/* Batch normalisation and local response normalisation over the channel
 * (last) axis. Per-channel sums run over rows in order (deterministic),
 * with the channel loop innermost (contiguous, vectorised). */
#include "../core/internal.h"

#include <math.h>

typedef struct {
    int64_t rows, C;
    bool training;
    tc_scalar eps;
    const tc_scalar *x, *gamma;
    tc_scalar *mean, *invstd;  /* per channel, as used */
    const tc_scalar *var;      /* inference: the variance used */
} bn_saved;

tc_tensor *tc_batch_norm(tc_tensor *x, tc_tensor *gamma, tc_tensor *beta, tc_tensor *running_mean,
                         tc_tensor *running_var, bool training, tc_scalar momentum, tc_scalar eps)
{
    TC_CHECK(x, TC_ERR_ARG, "batch_norm: input is NULL");
    TC_CHECK(x->ndim >= 1, TC_ERR_SHAPE, "batch_norm: input %s has no channel axis", TC_SHP(x));
    int64_t C = x->shape[x->ndim - 1], rows = C ? tc_numel(x) / C : 0;
    tc_tensor *vecs[4] = {gamma, beta, running_mean, running_var};
    const char *names[4] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++)
        TC_CHECK(!vecs[i] || (vecs[i]->ndim == 1 && vecs[i]->shape[0] == C), TC_ERR_SHAPE,
                 "batch_norm: %s %s does not match the %lld channels of input %s", names[i], TC_SHP(vecs[i]),
                 (long long)C, TC_SHP(x));
    TC_CHECK(training || (running_mean && running_var), TC_ERR_ARG,
             "batch_norm: inference needs running_mean and running_var (input %s)", TC_SHP(x));
    TC_CHECK(!training || rows > 0, TC_ERR_SHAPE, "batch_norm: training on the empty input %s", TC_SHP(x));
    TC_CHECK(eps >= 0, TC_ERR_ARG, "batch_norm: negative epsilon %g", (double)eps);
    bn_saved s = {rows, C, training, eps};
    s.x = tc_packed(x);
    s.gamma = gamma ? tc_packed(gamma) : NULL;
    const tc_scalar *bt = beta ? tc_packed(beta) : NULL;
    s.mean = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(C + 1));
    s.invstd = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(C + 1));
    tc_tensor *y = tc_result(x->ndim, x->shape);
    if (!y || !s.x || !s.mean || !s.invstd) return NULL;
    if (training) {
        double *sum = tc_arena_alloc(sizeof(double) * (size_t)(2 * C + 1)), *sq = sum + C;
        if (!sum) return NULL;
        memset(sum, 0, sizeof(double) * (size_t)(2 * C));
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < C; c++) sum[c] += s.x[r * C + c];
        for (int64_t c = 0; c < C; c++) s.mean[c] = (tc_scalar)(sum[c] / (double)rows);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < C; c++) {
                double d = (double)s.x[r * C + c] - s.mean[c];
                sq[c] += d * d;
            }
        for (int64_t c = 0; c < C; c++) {
            double var = sq[c] / (double)rows;
            s.invstd[c] = (tc_scalar)(1.0 / sqrt(var + eps));
            /* running statistics (not differentiable): unbiased variance */
            if (running_mean) running_mean->data[c * running_mean->strides[0]] =
                momentum * running_mean->data[c * running_mean->strides[0]] + (1 - momentum) * s.mean[c];
            if (running_var) running_var->data[c * running_var->strides[0]] =
                momentum * running_var->data[c * running_var->strides[0]] +
                (1 - momentum) * (tc_scalar)(rows > 1 ? sq[c] / (double)(rows - 1) : var);
        }
    } else {
        const tc_scalar *rm = tc_packed(running_mean), *rv = tc_packed(running_var);
        if (!rm || !rv) return NULL;
        for (int64_t c = 0; c < C; c++) {
            s.mean[c] = rm[c];
            s.invstd[c] = (tc_scalar)(1.0 / sqrt((double)rv[c] + eps));
        }
        s.var = rv;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < C; c++) {
            tc_scalar v = (s.x[r * C + c] - s.mean[c]) * s.invstd[c];
            y->data[r * C + c] = v * (s.gamma ? s.gamma[c] : 1) + (bt ? bt[c] : 0);
        }
    tc_node *nd = tc_record(TC_OP_batch_norm, y, 5, (tc_tensor *[]){x, gamma, beta, running_mean, running_var},
                            sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_batch_norm(tc_node *n, const tc_tensor *gy)
{
    const bn_saved *s = n->saved;
    int64_t rows = s->rows, C = s->C;
    tc_tensor *gx = tc_grad_for(n->inputs[0]), *gg = tc_grad_for(n->inputs[1]), *gb = tc_grad_for(n->inputs[2]);
    tc_tensor *gm = s->training ? NULL : tc_grad_for(n->inputs[3]);
    tc_tensor *gv = s->training ? NULL : tc_grad_for(n->inputs[4]);
    double *sg = tc_arena_alloc(sizeof(double) * (size_t)(2 * C + 1)), *sgx = sg + C;
    if (!sg) return;
    memset(sg, 0, sizeof(double) * (size_t)(2 * C));
    const tc_scalar *g = gy->data;
    for (int64_t r = 0; r < rows; r++) /* sum(g) and sum(g * xhat) per channel */
        for (int64_t c = 0; c < C; c++) {
            sg[c] += g[r * C + c];
            sgx[c] += (double)g[r * C + c] * (s->x[r * C + c] - s->mean[c]) * s->invstd[c];
        }
    for (int64_t c = 0; c < C; c++) {
        if (gg) gg->data[c] += (tc_scalar)sgx[c];
        if (gb) gb->data[c] += (tc_scalar)sg[c];
        tc_scalar gam = s->gamma ? s->gamma[c] : 1;
        if (gm) gm->data[c] -= (tc_scalar)(sg[c] * gam * s->invstd[c]);
        /* d y / d var = -0.5 * gamma * (x - m) * (var + eps)^-1.5 = -0.5 * gamma * xhat * invstd^2 */
        if (gv) gv->data[c] -= (tc_scalar)(0.5 * sgx[c] * gam * s->invstd[c] * s->invstd[c]);
    }
    if (!gx) return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < C; c++) {
            tc_scalar gam = s->gamma ? s->gamma[c] : 1, k = gam * s->invstd[c];
            if (s->training) {
                tc_scalar xhat = (s->x[r * C + c] - s->mean[c]) * s->invstd[c];
                gx->data[r * C + c] += k * (g[r * C + c] - (tc_scalar)(sg[c] / (double)rows) -
                                            xhat * (tc_scalar)(sgx[c] / (double)rows));
            } else {
                gx->data[r * C + c] += k * g[r * C + c];
            }
        }
}

/* ---- LRN ------------------------------------------------------------------------------ */
typedef struct {
    int64_t rows, C, lo, hi; /* window [c - lo, c + hi] */
    tc_scalar alpha, beta, bias;
    const tc_scalar *x;
    tc_scalar *scale;        /* bias + alpha/size * sum x^2, per element */
} lrn_saved;

tc_tensor *tc_lrn(tc_tensor *x, int size, tc_scalar alpha, tc_scalar beta, tc_scalar bias)
{
    TC_CHECK(x, TC_ERR_ARG, "lrn: input is NULL");
    TC_CHECK(size >= 1, TC_ERR_ARG, "lrn: size %d must be at least 1 (input %s)", size, TC_SHP(x));
    TC_CHECK(x->ndim >= 1, TC_ERR_SHAPE, "lrn: input %s has no channel axis", TC_SHP(x));
    lrn_saved s = {0, x->shape[x->ndim - 1], (size - 1) / 2, size - 1 - (size - 1) / 2, alpha / size, beta, bias};
    s.rows = s.C ? tc_numel(x) / s.C : 0;
    s.x = tc_packed(x);
    s.scale = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_numel(x) + 1));
    tc_tensor *y = tc_result(x->ndim, x->shape);
    if (!y || !s.x || !s.scale) return NULL;
    for (int64_t r = 0; r < s.rows; r++)
        for (int64_t c = 0; c < s.C; c++) {
            double sum = 0;
            for (int64_t j = c - s.lo; j <= c + s.hi; j++)
                if (j >= 0 && j < s.C) sum += (double)s.x[r * s.C + j] * s.x[r * s.C + j];
            s.scale[r * s.C + c] = (tc_scalar)(bias + s.alpha * sum);
            y->data[r * s.C + c] = s.x[r * s.C + c] * (tc_scalar)pow(s.scale[r * s.C + c], -beta);
        }
    tc_node *nd = tc_record(TC_OP_lrn, y, 1, &x, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

void tc_backward_lrn(tc_node *n, const tc_tensor *gy)
{
    const lrn_saved *s = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    for (int64_t r = 0; r < s->rows; r++) {
        const tc_scalar *x = s->x + r * s->C, *sc = s->scale + r * s->C, *g = gy->data + r * s->C;
        for (int64_t i = 0; i < s->C; i++) {
            /* j's window holds i when j - lo <= i <= j + hi */
            double acc = 0;
            for (int64_t j = i - s->hi; j <= i + s->lo; j++)
                if (j >= 0 && j < s->C) acc += (double)g[j] * x[j] * pow(sc[j], -s->beta - 1);
            gx->data[r * s->C + i] += g[i] * (tc_scalar)pow(sc[i], -s->beta) - (tc_scalar)(2 * s->alpha * s->beta * x[i] * acc);
        }
    }
}
