/* The cookbook's neural style transfer (Gatys et al., via log0's
 * TensorFlow code) on the tape: the content and style losses of VGG19 with
 * average pooling, and Adam on the image itself (the network is frozen). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "style.h"

const char *const STYLE_CONTENT_LAYER = "block4_conv2";
const char *const STYLE_LAYERS[STYLE_N_LAYERS] = {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
                                                  "block5_conv1"};
const double STYLE_LAYER_WEIGHTS[STYLE_N_LAYERS] = {0.5, 1.0, 1.5, 3.0, 4.0};
const double STYLE_MEAN_RGB[3] = {123.68, 116.779, 103.939};

/* The cookbook's _gram_matrix: F reshaped to [M, N], then F^T F (tc_gram
 * reads F in place: no transposed copy, one GEMM in backward) */
static tc_tensor *gram(tc_tensor *f) { return tc_gram(f); }

/* the six layers in one pass: conv4_2 first, then conv1_1 .. conv5_1 */
static bool features(const style_targets *t, tc_tensor *x, tc_tensor **out)
{
    const char *names[1 + STYLE_N_LAYERS] = {STYLE_CONTENT_LAYER};
    memcpy(names + 1, STYLE_LAYERS, sizeof STYLE_LAYERS);
    return tc_model_forward_layers(t->m, x, 1 + STYLE_N_LAYERS, names, false, out) == TC_OK;
}

bool style_targets_init(style_targets *t, tc_model *m, tc_tensor *content_x, tc_tensor *style_x)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    bool was = tc_set_grad_enabled(false);
    tc_tensor *f[1 + STYLE_N_LAYERS];
    bool ok = features(t, content_x, f) && (t->content = tc_tensor_keep(f[0]));
    ok = ok && features(t, style_x, f);
    for (int l = 0; ok && l < STYLE_N_LAYERS; l++) {
        tc_tensor *g = gram(f[1 + l]);
        ok = g && (t->gram[l] = tc_tensor_keep(g));
    }
    tc_set_grad_enabled(was);
    tc_step_reset();
    if (!ok) style_targets_free(t);
    return ok;
}

void style_targets_free(style_targets *t)
{
    tc_tensor_free(t->content);
    for (int l = 0; l < STYLE_N_LAYERS; l++) tc_tensor_free(t->gram[l]);
    memset(t, 0, sizeof *t);
}

/* 1/(4 N M) or 1/(4 N^2 M^2) times the sum of squared differences */
static tc_tensor *scaled_sq_diff(tc_tensor *a, tc_tensor *b, double scale)
{
    return tc_mul_scalar(tc_sum(tc_square(tc_sub(a, b)), 0, NULL, false), (tc_scalar)scale);
}

bool style_loss(const style_targets *t, tc_tensor *x, style_losses *out)
{
    tc_tensor *f[1 + STYLE_N_LAYERS];
    if (!features(t, x, f)) return false;
    double N = (double)f[0]->shape[3], M = (double)(f[0]->shape[1] * f[0]->shape[2]);
    tc_tensor *content = scaled_sq_diff(f[0], t->content, 1 / (4 * N * M)), *style = NULL;
    for (int l = 0; l < STYLE_N_LAYERS; l++) {
        tc_tensor *y = f[1 + l];
        N = (double)y->shape[3], M = (double)(y->shape[1] * y->shape[2]);
        tc_tensor *e = scaled_sq_diff(gram(y), t->gram[l], STYLE_LAYER_WEIGHTS[l] / (4 * N * N * M * M));
        style = style ? tc_add(style, e) : e;
    }
    tc_tensor *total = tc_add(tc_mul_scalar(content, (tc_scalar)STYLE_BETA), tc_mul_scalar(style, (tc_scalar)STYLE_ALPHA));
    if (!total) return false;
    *out = (style_losses){content, style, total};
    return true;
}

tc_tensor *style_preprocess(const tc_tensor *rgb)
{
    int64_t n = rgb->shape[0] * rgb->shape[1];
    tc_tensor *x = tc_tensor_new(4, (int64_t[]){1, rgb->shape[0], rgb->shape[1], 3});
    if (!x) return NULL;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) x->data[3 * i + c] = (tc_scalar)(rgb->data[3 * i + c] - STYLE_MEAN_RGB[c]);
    return x;
}

bool style_save_image(const char *path, const tc_tensor *x)
{
    int64_t n = x->shape[1] * x->shape[2];
    tc_tensor *img = tc_tensor_new(3, (int64_t[]){x->shape[1], x->shape[2], 3});
    if (!img) return false;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            double v = x->data[3 * i + c] + STYLE_MEAN_RGB[c];
            img->data[3 * i + c] = (tc_scalar)floor(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    bool ok = tc_image_save(path, img) == TC_OK;
    tc_tensor_free(img);
    return ok;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool dump(const char *dir, const char *name, const tc_tensor *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return tc_npy_save(path, t) == TC_OK;
}

static bool save_at(const char *dir, const char *name, const tc_tensor *x)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return style_save_image(path, x);
}

bool style_run(const style_targets *t, const tc_tensor *content_x, const style_run_opts *o, style_run_result *r)
{
    memset(r, 0, sizeof *r);
    int64_t n = tc_numel(content_x);
    tc_tensor *x = tc_tensor_new(content_x->ndim, content_x->shape);
    tc_optimizer *opt = tc_adam(2.0);
    r->total = calloc((size_t)o->iters, sizeof *r->total);
    r->content = calloc((size_t)o->iters, sizeof *r->content);
    r->style = calloc((size_t)o->iters, sizeof *r->style);
    bool ok = x && opt && r->total && r->content && r->style;
    if (ok) {
        /* the cookbook's generate_noise_image: noise * 0.6 + content * 0.4 */
        tc_rng rng = tc_rng_new(o->seed);
        tc_rng_uniform(&rng, x->data, n, -20, 20);
        for (int64_t i = 0; i < n; i++)
            x->data[i] = (tc_scalar)(x->data[i] * STYLE_NOISE_RATIO + content_x->data[i] * (1 - STYLE_NOISE_RATIO));
        tc_set_requires_grad(x, true);
    }
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int it = 0; ok && it < o->iters; it++) {
        style_losses L;
        ok = style_loss(t, x, &L) && tc_backward(L.total) == TC_OK;
        if (!ok) break;
        double total = L.total->data[0], content = L.content->data[0], style = L.style->data[0];
        if (it == 0 && o->dump_dir) {
            tc_tensor *losses = tc_tensor_new(1, (int64_t[]){3});
            ok = losses != NULL;
            if (ok) losses->data[0] = (tc_scalar)content, losses->data[1] = (tc_scalar)style, losses->data[2] = (tc_scalar)total;
            ok = ok && dump(o->dump_dir, "step0_losses.npy", losses) && dump(o->dump_dir, "step0_input.npy", x) &&
                 dump(o->dump_dir, "step0_grad.npy", x->grad);
            tc_tensor_free(losses);
        }
        ok = ok && tc_optimizer_step(opt, 1, &x) == TC_OK;
        tc_zero_grad(x);
        tc_step_reset();
        if (!ok) break;
        if (it == 0 && o->dump_dir) ok = dump(o->dump_dir, "step1_input.npy", x);
        r->total[it] = total, r->content[it] = STYLE_BETA * content, r->style[it] = STYLE_ALPHA * style;
        r->n = it + 1;
        if (it == 0) r->first_loss = total;
        r->last_loss = total;
        if (!o->quiet)
            printf("iter %5d  total %.6g  content %.6g  style %.6g\n", it, total, STYLE_BETA * content,
                   STYLE_ALPHA * style);
        if (it % 100 == 0) { /* the cookbook saves after the step of iterations 0, 100, ... */
            char name[32];
            snprintf(name, sizeof name, "%d.png", it);
            ok = save_at(o->out_dir, name, x);
        }
        if (it == 0 && o->iters > 1) { /* time the steps after the first (warm-up, dumps, 0.png) */
            w0 = clock_s(CLOCK_MONOTONIC);
            c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
    }
    if (r->n) {
        int timed = r->n > 1 ? r->n - 1 : 1;
        r->seconds = (clock_s(CLOCK_MONOTONIC) - w0) / timed;
        r->cpu_seconds = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / timed;
    }
    ok = ok && save_at(o->out_dir, "final.png", x);
    tc_step_reset();
    tc_tensor_free(x);
    tc_optimizer_free(opt);
    return ok;
}

void style_run_result_free(style_run_result *r)
{
    free(r->total);
    free(r->content);
    free(r->style);
    memset(r, 0, sizeof *r);
}
