/* Batch normalisation and local response normalisation over the channel
 * (last) axis of a channels-last tensor seen as [rows, C].
 *
 * Batch norm's per-channel sums are reduced in fixed blocks of rows (the
 * block size depends only on the shape), each block summed in order by one
 * thread into its own slot, then the blocks added in order: the same result
 * for any number of threads. The channel loop is innermost (contiguous).
 * Sums are kept in double. */
#include "ops_internal.h"

#include <math.h>

/* rows per reduction block: at least 32, at most ~256 blocks */
static int64_t bn_block_rows(int64_t rows)
{
    int64_t b = (rows + 255) / 256;
    return b < 32 ? 32 : b;
}

typedef struct {
    int64_t rows, C, block;
    bool training;
    tc_scalar eps;
    const tc_scalar *x, *gamma, *beta;
    tc_scalar *mean, *invstd;  /* per channel, as used */
    /* kernel scratch */
    double *part;              /* [nblocks][2][C] partial sums */
    const tc_scalar *g;        /* backward: upstream gradient */
    const double *sg, *sgx;    /* backward: sum(g), sum(g*xhat) per channel */
    tc_scalar *out;
} bn_job;

/* part[b] = sum over the rows of block b of x (pass 0) or (x-mean)^2 (pass 1) */
static void bn_sum_blocks(void *ctx, int64_t lo, int64_t hi, int pass)
{
    bn_job *j = ctx;
    int64_t C = j->C;
    for (int64_t b = lo; b < hi; b++) {
        double *acc = j->part + b * 2 * C;
        for (int64_t c = 0; c < C; c++) acc[c] = 0;
        int64_t r1 = (b + 1) * j->block < j->rows ? (b + 1) * j->block : j->rows;
        for (int64_t r = b * j->block; r < r1; r++) {
            const tc_scalar *x = j->x + r * C;
            if (pass == 0) {
                for (int64_t c = 0; c < C; c++) acc[c] += x[c];
            } else {
                for (int64_t c = 0; c < C; c++) {
                    double d = (double)x[c] - j->mean[c];
                    acc[c] += d * d;
                }
            }
        }
    }
}
static void bn_sum_x(void *ctx, int64_t lo, int64_t hi) { bn_sum_blocks(ctx, lo, hi, 0); }
static void bn_sum_sq(void *ctx, int64_t lo, int64_t hi) { bn_sum_blocks(ctx, lo, hi, 1); }

/* sum of the blocks' partial sums, in block order */
static void bn_total(const bn_job *j, int64_t nblocks, int slot, double *total)
{
    for (int64_t c = 0; c < j->C; c++) total[c] = 0;
    for (int64_t b = 0; b < nblocks; b++) {
        const double *p = j->part + (b * 2 + slot) * j->C;
        for (int64_t c = 0; c < j->C; c++) total[c] += p[c];
    }
}

static void bn_normalise_rows(void *ctx, int64_t lo, int64_t hi)
{
    bn_job *j = ctx;
    int64_t C = j->C;
    for (int64_t r = lo; r < hi; r++) {
        const tc_scalar *x = j->x + r * C;
        tc_scalar *y = j->out + r * C;
        for (int64_t c = 0; c < C; c++) {
            tc_scalar v = (x[c] - j->mean[c]) * j->invstd[c];
            y[c] = v * (j->gamma ? j->gamma[c] : 1) + (j->beta ? j->beta[c] : 0);
        }
    }
}

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
    TC_CHECK(eps >= 0, TC_ERR_ARG, "batch_norm: negative epsilon %g (input %s)", (double)eps, TC_SHP(x));
    TC_CHECK(!training || (momentum >= 0 && momentum <= 1), TC_ERR_ARG,
             "batch_norm: momentum %g must be in [0, 1] (input %s)", (double)momentum, TC_SHP(x));
    bn_job j = {rows, C, bn_block_rows(rows), training, eps};
    j.x = tc_packed(x);
    j.gamma = gamma ? tc_packed(gamma) : NULL;
    j.beta = beta ? tc_packed(beta) : NULL;
    j.mean = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(C + 1));
    j.invstd = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(C + 1));
    tc_tensor *y = tc_result(x->ndim, x->shape);
    if (!y || !j.x || !j.mean || !j.invstd || (gamma && !j.gamma) || (beta && !j.beta)) return NULL;
    j.out = y->data;
    if (training) {
        int64_t nblocks = (rows + j.block - 1) / j.block;
        j.part = tc_arena_alloc(sizeof(double) * (size_t)(nblocks * 2 * C + 2 * C + 1));
        if (!j.part) return NULL;
        double *sum = j.part + nblocks * 2 * C, *sq = sum + C;
        tc_parallel_for(nblocks, 1, bn_sum_x, &j);
        bn_total(&j, nblocks, 0, sum);
        for (int64_t c = 0; c < C; c++) j.mean[c] = (tc_scalar)(sum[c] / (double)rows);
        tc_parallel_for(nblocks, 1, bn_sum_sq, &j);
        bn_total(&j, nblocks, 0, sq);
        for (int64_t c = 0; c < C; c++) {
            double var = sq[c] / (double)rows;
            j.invstd[c] = (tc_scalar)(1.0 / sqrt(var + eps));
            /* running statistics (not differentiable): unbiased variance like PyTorch */
            double unbiased = rows > 1 ? sq[c] / (double)(rows - 1) : var;
            if (running_mean) {
                tc_scalar *m = running_mean->data + c * running_mean->strides[0];
                *m = momentum * *m + (1 - momentum) * j.mean[c];
            }
            if (running_var) {
                tc_scalar *v = running_var->data + c * running_var->strides[0];
                *v = momentum * *v + (1 - momentum) * (tc_scalar)unbiased;
            }
        }
        j.part = NULL;
    } else {
        const tc_scalar *rm = tc_packed(running_mean), *rv = tc_packed(running_var);
        if (!rm || !rv) return NULL;
        for (int64_t c = 0; c < C; c++) {
            j.mean[c] = rm[c];
            j.invstd[c] = (tc_scalar)(1.0 / sqrt((double)rv[c] + eps));
        }
    }
    tc_parallel_for(rows, 1 + 16384 / (C + 1), bn_normalise_rows, &j);
    tc_node *nd = tc_record(TC_OP_batch_norm, y, 5, (tc_tensor *[]){x, gamma, beta, running_mean, running_var},
                            sizeof j);
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

/* part[b] = (sum g, sum g * xhat) over block b */
static void bn_grad_blocks(void *ctx, int64_t lo, int64_t hi)
{
    bn_job *j = ctx;
    int64_t C = j->C;
    for (int64_t b = lo; b < hi; b++) {
        double *sg = j->part + b * 2 * C, *sgx = sg + C;
        for (int64_t c = 0; c < 2 * C; c++) sg[c] = 0;
        int64_t r1 = (b + 1) * j->block < j->rows ? (b + 1) * j->block : j->rows;
        for (int64_t r = b * j->block; r < r1; r++) {
            const tc_scalar *x = j->x + r * C, *g = j->g + r * C;
            for (int64_t c = 0; c < C; c++) {
                sg[c] += g[c];
                sgx[c] += (double)g[c] * ((x[c] - j->mean[c]) * j->invstd[c]);
            }
        }
    }
}

static void bn_grad_rows(void *ctx, int64_t lo, int64_t hi)
{
    bn_job *j = ctx;
    int64_t C = j->C;
    double inv_rows = 1.0 / (double)j->rows;
    for (int64_t r = lo; r < hi; r++) {
        const tc_scalar *x = j->x + r * C, *g = j->g + r * C;
        tc_scalar *gx = j->out + r * C;
        for (int64_t c = 0; c < C; c++) {
            tc_scalar k = (j->gamma ? j->gamma[c] : 1) * j->invstd[c];
            if (j->training) {
                tc_scalar xhat = (x[c] - j->mean[c]) * j->invstd[c];
                gx[c] += k * (g[c] - (tc_scalar)(j->sg[c] * inv_rows) - xhat * (tc_scalar)(j->sgx[c] * inv_rows));
            } else {
                gx[c] += k * g[c];
            }
        }
    }
}

tc_status tc_backward_batch_norm(tc_node *n, const tc_tensor *gy)
{
    bn_job j = *(const bn_job *)n->saved;
    int64_t C = j.C;
    tc_tensor *gx = tc_grad_for(n->inputs[0]), *gg = tc_grad_for(n->inputs[1]), *gb = tc_grad_for(n->inputs[2]);
    /* the running statistics are constants in training, inputs in inference */
    tc_tensor *gm = j.training ? NULL : tc_grad_for(n->inputs[3]);
    tc_tensor *gv = j.training ? NULL : tc_grad_for(n->inputs[4]);
    int64_t nblocks = (j.rows + j.block - 1) / j.block;
    j.part = tc_arena_alloc(sizeof(double) * (size_t)(nblocks * 2 * C + 2 * C + 1));
    if (!j.part) return tc_last_status();
    double *sg = j.part + nblocks * 2 * C, *sgx = sg + C;
    j.g = gy->data;
    tc_parallel_for(nblocks, 1, bn_grad_blocks, &j);
    bn_total(&j, nblocks, 0, sg);
    bn_total(&j, nblocks, 1, sgx);
    j.sg = sg, j.sgx = sgx;
    for (int64_t c = 0; c < C; c++) {
        if (gg) gg->data[c] += (tc_scalar)sgx[c];
        if (gb) gb->data[c] += (tc_scalar)sg[c];
        tc_scalar gam = j.gamma ? j.gamma[c] : 1;
        /* y = gamma * (x - m) * (v + eps)^-1/2 + beta: dy/dm = -gamma * invstd,
         * dy/dv = -0.5 * gamma * (x - m) * invstd^3 = -0.5 * gamma * xhat * invstd^2 */
        if (gm) gm->data[c] -= (tc_scalar)(sg[c] * gam * j.invstd[c]);
        if (gv) gv->data[c] -= (tc_scalar)(0.5 * sgx[c] * gam * j.invstd[c] * j.invstd[c]);
    }
    if (!gx) return TC_OK;
    j.out = gx->data;
    tc_parallel_for(j.rows, 1 + 16384 / (C + 1), bn_grad_rows, &j);
    return TC_OK;
}

/* ---- LRN ------------------------------------------------------------------------------
 * y_c = x_c * s_c^-beta, s_c = bias + alpha/size * sum_{j in [c-lo, c+hi]} x_j^2 with
 * lo = floor((size-1)/2), hi = ceil((size-1)/2) (ONNX). Rows are independent. */
typedef struct {
    int64_t rows, C, lo, hi;
    tc_scalar alpha, beta, bias; /* alpha already divided by size */
    const tc_scalar *x;
    tc_scalar *scale, *pw;       /* s and s^-beta per element (saved for backward) */
    tc_scalar *out;
    const tc_scalar *g;
    double *scratch;             /* backward: C per thread */
} lrn_job;

static void lrn_rows(void *ctx, int64_t lo, int64_t hi)
{
    lrn_job *j = ctx;
    int64_t C = j->C;
    for (int64_t r = lo; r < hi; r++) {
        const tc_scalar *x = j->x + r * C;
        tc_scalar *s = j->scale + r * C, *pw = j->pw + r * C, *y = j->out + r * C;
        for (int64_t c = 0; c < C; c++) {
            int64_t a = c - j->lo < 0 ? 0 : c - j->lo, b = c + j->hi >= C ? C - 1 : c + j->hi;
            double sum = 0;
            for (int64_t k = a; k <= b; k++) sum += (double)x[k] * x[k];
            s[c] = (tc_scalar)(j->bias + j->alpha * sum);
            pw[c] = (tc_scalar)pow(s[c], -j->beta);
            y[c] = x[c] * pw[c];
        }
    }
}

tc_tensor *tc_lrn(tc_tensor *x, int size, tc_scalar alpha, tc_scalar beta, tc_scalar bias)
{
    TC_CHECK(x, TC_ERR_ARG, "lrn: input is NULL");
    TC_CHECK(size >= 1, TC_ERR_ARG, "lrn: size %d must be at least 1 (input %s)", size, TC_SHP(x));
    TC_CHECK(x->ndim >= 1, TC_ERR_SHAPE, "lrn: input %s has no channel axis", TC_SHP(x));
    lrn_job j = {0, x->shape[x->ndim - 1], (size - 1) / 2, size - 1 - (size - 1) / 2, alpha / size, beta, bias};
    j.rows = j.C ? tc_numel(x) / j.C : 0;
    j.x = tc_packed(x);
    j.scale = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_numel(x) + 1));
    j.pw = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(tc_numel(x) + 1));
    tc_tensor *y = tc_result(x->ndim, x->shape);
    if (!y || !j.x || !j.scale || !j.pw) return NULL;
    j.out = y->data;
    tc_parallel_for(j.rows, 1 + 4096 / ((j.C + 1) * size), lrn_rows, &j);
    tc_node *nd = tc_record(TC_OP_lrn, y, 1, &x, sizeof j);
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

/* dx_i = g_i s_i^-beta - 2 alpha beta x_i sum_{j: i in window(j)} g_j x_j s_j^(-beta-1) */
static void lrn_grad_rows(void *ctx, int64_t lo, int64_t hi)
{
    lrn_job *j = ctx;
    int64_t C = j->C;
    double *t = j->scratch + (int64_t)tc_thread_id() * C;
    for (int64_t r = lo; r < hi; r++) {
        const tc_scalar *x = j->x + r * C, *s = j->scale + r * C, *pw = j->pw + r * C, *g = j->g + r * C;
        tc_scalar *gx = j->out + r * C;
        for (int64_t c = 0; c < C; c++) t[c] = (double)g[c] * x[c] * pw[c] / s[c]; /* g x s^(-beta-1) */
        for (int64_t i = 0; i < C; i++) {
            /* j's window [j-lo, j+hi] holds i when i-hi <= j <= i+lo */
            int64_t a = i - j->hi < 0 ? 0 : i - j->hi, b = i + j->lo >= C ? C - 1 : i + j->lo;
            double acc = 0;
            for (int64_t k = a; k <= b; k++) acc += t[k];
            gx[i] += g[i] * pw[i] - (tc_scalar)(2 * j->alpha * j->beta * x[i] * acc);
        }
    }
}

tc_status tc_backward_lrn(tc_node *n, const tc_tensor *gy)
{
    lrn_job j = *(const lrn_job *)n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    j.scratch = tc_arena_alloc(sizeof(double) * (size_t)(tc_num_threads() * j.C + 1));
    if (!j.scratch) return tc_last_status();
    j.g = gy->data;
    j.out = gx->data;
    tc_parallel_for(j.rows, 1 + 4096 / ((j.C + 1) * (j.lo + j.hi + 1)), lrn_grad_rows, &j);
    return TC_OK;
}
