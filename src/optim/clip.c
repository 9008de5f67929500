/* Gradient clipping: by value and by global norm (tf.clip_by_global_norm:
 * every gradient is multiplied by clip_norm / max(global_norm, clip_norm),
 * so a global norm above the threshold becomes exactly the threshold).
 * The norm is a deterministic reduction: squares are summed per fixed block
 * of NORM_BLOCK elements (in parallel), then the block sums in order. */
#include "optim_internal.h"

#include <math.h>

#define NORM_BLOCK 16384

typedef struct {
    const tc_scalar *g;
    int64_t len;
    double clip_value; /* > 0: clip before squaring */
    double *sums;      /* one per block */
} norm_job;

static void block_sums(void *ctx, int64_t lo, int64_t hi)
{
    const norm_job *j = ctx;
    for (int64_t b = lo; b < hi; b++) {
        int64_t end = (b + 1) * NORM_BLOCK < j->len ? (b + 1) * NORM_BLOCK : j->len;
        /* 8 partial sums (by i mod 8) break the add latency chain; their order is fixed */
        double acc[8] = {0};
        const tc_scalar *g = j->g;
        int64_t i = b * NORM_BLOCK;
        if (j->clip_value > 0) {
            double c = j->clip_value;
            for (; i < end; i++) {
                double v = g[i] > c ? c : g[i] < -c ? -c : g[i];
                acc[i & 7] += v * v;
            }
        } else {
            for (; i + 8 <= end; i += 8)
                for (int k = 0; k < 8; k++) acc[k] += (double)g[i + k] * g[i + k];
            for (; i < end; i++) acc[i & 7] += (double)g[i] * g[i];
        }
        j->sums[b] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
}

double tc_optim_global_norm(int n, tc_tensor *const *params, double clip_value)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        if (!tc_optim_has_update(params[i])) continue;
        norm_job j = {params[i]->grad->data, tc_numel(params[i]->grad), clip_value, NULL};
        int64_t nb = (j.len + NORM_BLOCK - 1) / NORM_BLOCK;
        double one;
        if (nb <= 1) {
            j.sums = &one;
            one = 0;
            if (nb) block_sums(&j, 0, 1);
            total += one;
            continue;
        }
        tc_step_mark mark = tc_step_get_mark();
        j.sums = tc_arena_alloc(sizeof(double) * (size_t)nb);
        if (!j.sums) return -1;
        tc_parallel_for(nb, 4, block_sums, &j);
        for (int64_t b = 0; b < nb; b++) total += j.sums[b];
        tc_step_release(mark);
    }
    return sqrt(total);
}

typedef struct {
    tc_scalar *g;
    tc_scalar scale;
} scale_job;

static void scale_range(void *ctx, int64_t lo, int64_t hi)
{
    const scale_job *j = ctx;
    for (int64_t i = lo; i < hi; i++) j->g[i] *= j->scale;
}

static bool bad_list(const char *name, int n, tc_tensor *const *params)
{
    if (n < 0 || (n > 0 && !params)) {
        tc_error(TC_ERR_ARG, "%s: %d parameters but the array is %s", name, n, params ? "given" : "NULL");
        return true;
    }
    for (int i = 0; i < n; i++) {
        tc_tensor *p = params[i];
        if (tc_optim_has_update(p) && !tc_same_shape(p, p->grad)) {
            char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
            tc_error(TC_ERR_SHAPE, "%s: parameter %d is %s but its gradient is %s", name, i,
                     tc_shape_str(p, a, sizeof a), tc_shape_str(p->grad, b, sizeof b));
            return true;
        }
    }
    return false;
}

double tc_clip_grad_norm(int n, tc_tensor *const *params, double max_norm)
{
    if (!(max_norm >= 0)) {
        tc_error(TC_ERR_ARG, "clip_grad_norm: max_norm %g must be >= 0 (0: only measure)", max_norm);
        return -1;
    }
    if (bad_list("clip_grad_norm", n, params)) return -1;
    double norm = tc_optim_global_norm(n, params, 0);
    if (norm < 0) return -1; /* out of memory */
    if (max_norm > 0 && norm > max_norm) {
        scale_job j = {NULL, (tc_scalar)(max_norm / norm)};
        for (int i = 0; i < n; i++) {
            if (!tc_optim_has_update(params[i])) continue;
            j.g = params[i]->grad->data;
            tc_parallel_for(tc_numel(params[i]->grad), 1 << 15, scale_range, &j);
        }
    }
    return norm;
}

tc_status tc_clip_grad_value(int n, tc_tensor *const *params, double v)
{
    if (!(v >= 0)) return tc_error(TC_ERR_ARG, "clip_grad_value: clip_value %g must be >= 0", v);
    if (bad_list("clip_grad_value", n, params)) return tc_last_status();
    tc_scalar c = (tc_scalar)v;
    for (int i = 0; i < n; i++) {
        if (!tc_optim_has_update(params[i])) continue;
        tc_scalar *g = params[i]->grad->data;
        int64_t len = tc_numel(params[i]->grad);
        for (int64_t k = 0; k < len; k++) g[k] = g[k] > c ? c : g[k] < -c ? -c : g[k];
    }
    return TC_OK;
}
