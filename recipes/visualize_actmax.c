/* keras-vis' activation maximisation re-implemented on the tape: the
 * objective (ActivationMaximization + LPNorm + TotalVariation, each
 * regulariser divided by the input size) and Optimizer.minimize (jitter,
 * RMS-normalised gradient, RMSprop step, best input kept). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "visualize.h"
#include "common.h"

tc_tensor *vis_target_output(const vis_target *t, tc_tensor *x)
{
    if (!t->logits) return tc_model_forward_to(t->m, x, t->layer, false);
    /* softmax swapped for linear: the classifier's own weights on fc2's output */
    tc_layer *l = tc_model_layer(t->m, t->layer);
    tc_tensor *h = tc_model_forward_to(t->m, x, "fc2", false);
    return h ? tc_linear(h, tc_layer_weight(l, 0), tc_layer_weight(l, 1)) : NULL;
}

static tc_tensor *region(tc_tensor *x, int64_t h0, int64_t h1, int64_t w0, int64_t w1)
{
    return tc_slice(x, (int64_t[]){0, h0, w0, 0}, (int64_t[]){x->shape[0], h1, w1, x->shape[3]}, NULL);
}

bool vis_objective(const vis_target *t, tc_tensor *x, const vis_weights *w, vis_losses *out)
{
    tc_tensor *y = vis_target_output(t, x);
    if (!y) return false;
    int last = y->ndim - 1;
    tc_tensor *act = tc_mul_scalar(tc_mean(tc_narrow(y, last, t->index, 1), 0, NULL, false), -1);
    double n = (double)tc_numel(x);
    tc_tensor *lp = tc_mul_scalar(
        tc_pow_scalar(tc_sum(tc_pow_scalar(tc_abs(x), (tc_scalar)w->p), 0, NULL, false), (tc_scalar)(1 / w->p)),
        (tc_scalar)(1 / n));
    int64_t H = x->shape[1], W = x->shape[2];
    tc_tensor *base = region(x, 0, H - 1, 0, W - 1);
    tc_tensor *dh = tc_square(tc_sub(region(x, 1, H, 0, W - 1), base));
    tc_tensor *dw = tc_square(tc_sub(region(x, 0, H - 1, 1, W), base));
    tc_tensor *sq = tc_add(dh, dw);
    /* beta = 2 gives exponent 1: skip the pow (its gradient at 0 is what the sum's is) */
    tc_tensor *tv = tc_mul_scalar(tc_sum(w->beta == 2 ? sq : tc_pow_scalar(sq, (tc_scalar)(w->beta / 2)), 0, NULL, false),
                                  (tc_scalar)(1 / n));
    tc_tensor *total = tc_add(tc_add(tc_mul_scalar(act, (tc_scalar)w->act_weight), tc_mul_scalar(lp, (tc_scalar)w->lp_weight)),
                              tc_mul_scalar(tv, (tc_scalar)w->tv_weight));
    if (!total) return false;
    *out = (vis_losses){act, lp, tv, total};
    return true;
}

/* x[0, h, w, :] <- x[0, (h - dy) mod H, (w - dx) mod W, :] (np.roll by dy, dx) */
static bool roll(tc_tensor *x, int64_t dy, int64_t dx)
{
    int64_t H = x->shape[1], W = x->shape[2], C = x->shape[3], n = H * W * C;
    tc_scalar *tmp = malloc(sizeof *tmp * (size_t)n);
    if (!tmp) return false;
    memcpy(tmp, x->data, sizeof *tmp * (size_t)n);
    for (int64_t h = 0; h < H; h++) {
        int64_t sh = ((h - dy) % H + H) % H;
        for (int64_t w = 0; w < W; w++) {
            int64_t sw = ((w - dx) % W + W) % W;
            memcpy(x->data + (h * W + w) * C, tmp + (sh * W + sw) * C, sizeof *tmp * (size_t)C);
        }
    }
    free(tmp);
    return true;
}

tc_tensor *vis_deprocess(const tc_tensor *x)
{
    int64_t n = tc_numel(x);
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++) mean += x->data[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) var += (x->data[i] - mean) * (x->data[i] - mean);
    double sd = sqrt(var / (double)n) + 1e-7;
    tc_tensor *img = tc_tensor_new(3, (int64_t[]){x->shape[1], x->shape[2], x->shape[3]});
    if (!img) return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = (x->data[i] - mean) / sd * 0.1 + 0.5;
        img->data[i] = (tc_scalar)(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
    }
    return img;
}

static bool dump(const char *dir, const char *name, const tc_tensor *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return tc_npy_save(path, t) == TC_OK;
}

bool vis_maximise(const vis_target *t, int64_t size, const vis_weights *w, const vis_run_opts *o, vis_run_result *r)
{
    const int64_t shape[4] = {1, size, size, 3};
    int64_t n = 3 * size * size;
    tc_tensor *x = tc_tensor_new(4, shape), *best = tc_tensor_new(4, shape);
    tc_scalar *cache = calloc((size_t)n, sizeof *cache);
    bool ok = x && best && cache;
    if (ok) {
        /* keras-vis' random_array: uniform noise standardised to mean 127.5, std 0.05 * 255 */
        tc_rng rng = tc_rng_new(o->seed);
        tc_rng_uniform(&rng, x->data, n, 0, 1);
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += x->data[i];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (x->data[i] - mean) * (x->data[i] - mean);
        double sd = sqrt(var / (double)n) + 1e-7;
        for (int64_t i = 0; i < n; i++) x->data[i] = (tc_scalar)((x->data[i] - mean) / sd * 12.75 + 127.5);
        tc_set_requires_grad(x, true);
        int64_t jit = (int64_t)(o->jitter * (double)size); /* Jitter(0.05): int(0.05 * dim) pixels */
        r->best_loss = INFINITY;
        double t0 = wall_seconds(), c0 = process_cpu_seconds();
        for (int it = 0; it < o->iters && ok; it++) {
            int64_t dy = jit ? (int64_t)tc_rng_below(&rng, (uint64_t)(2 * jit + 1)) - jit : 0;
            int64_t dx = jit ? (int64_t)tc_rng_below(&rng, (uint64_t)(2 * jit + 1)) - jit : 0;
            ok = roll(x, dy, dx);
            vis_losses L;
            ok = ok && vis_objective(t, x, w, &L) && tc_backward(L.total) == TC_OK;
            if (!ok) break;
            double total = L.total->data[0], act = L.act->data[0];
            const tc_scalar *g = x->grad->data;
            if (it == 0 && o->dump_dir) ok = dump(o->dump_dir, "step0_input.npy", x) && dump(o->dump_dir, "step0_grad.npy", x->grad);
            double ss = 0;
            for (int64_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
            double rms = sqrt(ss / (double)n) + 1e-7;
            for (int64_t i = 0; i < n; i++) {
                double gi = g[i] / rms;
                cache[i] = (tc_scalar)(0.95 * cache[i] + 0.05 * gi * gi);
                x->data[i] -= (tc_scalar)(gi / sqrt(cache[i] + 1e-7));
            }
            tc_zero_grad(x);
            tc_step_reset();
            ok = ok && roll(x, -dy, -dx);
            if (it == 0) r->first_loss = total, r->first_act = act;
            r->last_loss = total, r->last_act = act;
            if (total < r->best_loss) {
                r->best_loss = total;
                memcpy(best->data, x->data, sizeof *cache * (size_t)n);
            }
            if (it == 0 && o->iters > 1) { /* time the steps after the first (warm-up), as PyTorch's bench does */
                t0 = wall_seconds();
                c0 = process_cpu_seconds();
            }
            if (!o->quiet && (it % 50 == 0 || it == o->iters - 1))
                fprintf(stderr, "  iter %4d  total %.6g  activation %.6g\n", it, total, -act);
        }
        int timed = o->iters > 1 ? o->iters - 1 : 1;
        r->seconds = (wall_seconds() - t0) / timed;
        r->cpu_seconds = (process_cpu_seconds() - c0) / timed;
        if (ok) r->image = vis_deprocess(best);
        ok = ok && r->image;
    }
    tc_step_reset();
    tc_tensor_free(x);
    tc_tensor_free(best);
    free(cache);
    return ok;
}
