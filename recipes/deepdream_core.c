/* DeepDream as the seed writes it: an octave pyramid (each level the
 * previous one shrunk by octave_scale, the lost detail kept), then from the
 * smallest level up: add the detail back, and `iters` steps of gradient
 * ascent on the layer's mean, each gradient computed in tiles of a randomly
 * rolled image (so tile seams move) and the step normalised by the mean
 * |gradient|. The arithmetic outside the model is plain loops: it is not on
 * the tape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deepdream.h"
#include "common.h"

static int64_t wrap(int64_t i, int64_t n) { return ((i % n) + n) % n; }

/* dst[h, w] = src[(h - dy) mod H, (w - dx) mod W]: np.roll(np.roll(src, dx, 1), dy, 0) */
static void roll(const tc_scalar *src, tc_scalar *dst, int64_t H, int64_t W, int64_t C, int64_t dy, int64_t dx)
{
    for (int64_t h = 0; h < H; h++) {
        int64_t sh = wrap(h - dy, H);
        for (int64_t w = 0; w < W; w++)
            memcpy(dst + (h * W + w) * C, src + (sh * W + wrap(w - dx, W)) * C, sizeof *dst * (size_t)C);
    }
}

/* The objective on one tile [1, th, tw, 3]; its gradient into g (th*tw*3). */
static bool tile_grad(const dream_objective *o, const tc_scalar *values, int64_t th, int64_t tw, tc_scalar *g,
                      double *obj)
{
    tc_tensor *x = tc_tensor_from(TC_SHAPE(1, th, tw, 3), values);
    if (!x) return false;
    tc_set_requires_grad(x, true);
    bool ok = false;
    tc_tensor *y = o->layer(o->ctx, x);
    if (y && o->channel >= 0) {
        int64_t c = y->ndim ? y->shape[y->ndim - 1] : 0;
        if (o->channel >= c) {
            tc_error(TC_ERR_ARG, "--channel %d: layer %s has %lld channels", o->channel, o->layer_name, (long long)c);
            y = NULL;
        } else {
            y = tc_narrow(y, y->ndim - 1, o->channel, 1);
        }
    }
    tc_tensor *score = y ? tc_mean(y, 0, NULL, false) : NULL;
    if (score && !score->node) /* not on the tape: nothing it computes from needs a gradient */
        tc_error(TC_ERR_ARG, "layer %s does not depend on the image: no gradient to follow", o->layer_name);
    else if (score && tc_backward(score) == TC_OK && x->grad) {
        *obj = (double)score->data[0];
        ok = tc_read_values(x->grad, g) == TC_OK;
    }
    tc_step_reset();
    tc_tensor_free(x);
    return ok;
}

bool dream_grad_tiled(const dream_objective *o, const tc_tensor *img, int64_t tile, int64_t sx, int64_t sy,
                      tc_tensor *grad, double *obj)
{
    int64_t H = img->shape[0], W = img->shape[1], C = img->shape[2], n = H * W * C;
    tc_scalar *shifted = malloc(sizeof *shifted * (size_t)n), *gs = calloc((size_t)n, sizeof *gs);
    tc_scalar *sub = malloc(sizeof *sub * (size_t)(tile * tile * C)), *gsub = malloc(sizeof *gsub * (size_t)(tile * tile * C));
    bool ok = shifted && gs && sub && gsub;
    if (!ok) tc_error(TC_ERR_MEMORY, "deepdream: out of memory for a %lldx%lld image", (long long)H, (long long)W);
    if (ok) roll(img->data, shifted, H, W, C, sy, sx);
    double total = 0, pixels = 0;
    /* the seed's range(0, max(h - sz // 2, sz), sz) */
    int64_t ylim = H - tile / 2 > tile ? H - tile / 2 : tile, xlim = W - tile / 2 > tile ? W - tile / 2 : tile;
    for (int64_t y0 = 0; ok && y0 < ylim && y0 < H; y0 += tile)
        for (int64_t x0 = 0; ok && x0 < xlim && x0 < W; x0 += tile) {
            int64_t th = H - y0 < tile ? H - y0 : tile, tw = W - x0 < tile ? W - x0 : tile;
            for (int64_t h = 0; h < th; h++)
                memcpy(sub + h * tw * C, shifted + ((y0 + h) * W + x0) * C, sizeof *sub * (size_t)(tw * C));
            double v;
            if (!(ok = tile_grad(o, sub, th, tw, gsub, &v))) break;
            for (int64_t h = 0; h < th; h++)
                memcpy(gs + ((y0 + h) * W + x0) * C, gsub + h * tw * C, sizeof *gs * (size_t)(tw * C));
            total += v * (double)(th * tw);
            pixels += (double)(th * tw);
        }
    if (ok) roll(gs, grad->data, H, W, C, -sy, -sx);
    if (ok && obj) *obj = total / pixels;
    free(shifted), free(gs), free(sub), free(gsub);
    return ok;
}

tc_tensor *dream_resize(const tc_tensor *img, int64_t h, int64_t w)
{
    int64_t H = img->shape[0], W = img->shape[1], C = img->shape[2];
    tc_tensor *out = tc_tensor_new(TC_SHAPE(h, w, C));
    if (!out) return NULL;
    /* TF computes the scale and the source positions in float */
    float sy = (float)H / (float)h, sx = (float)W / (float)w;
    const tc_scalar *s = img->data;
    for (int64_t i = 0; i < h; i++) {
        float fy = (float)i * sy;
        int64_t y0 = (int64_t)fy, y1 = y0 + 1 < H ? y0 + 1 : H - 1;
        float ly = fy - (float)y0;
        for (int64_t j = 0; j < w; j++) {
            float fx = (float)j * sx;
            int64_t x0 = (int64_t)fx, x1 = x0 + 1 < W ? x0 + 1 : W - 1;
            float lx = fx - (float)x0;
            for (int64_t c = 0; c < C; c++) {
                float tl = (float)s[(y0 * W + x0) * C + c], tr = (float)s[(y0 * W + x1) * C + c];
                float bl = (float)s[(y1 * W + x0) * C + c], br = (float)s[(y1 * W + x1) * C + c];
                float top = tl + (tr - tl) * lx, bottom = bl + (br - bl) * lx;
                out->data[(i * w + j) * C + c] = (tc_scalar)(top + (bottom - top) * ly);
            }
        }
    }
    return out;
}

static bool save_png(const char *dir, const char *name, const tc_tensor *img)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    tc_tensor *shown = tc_tensor_keep(img);
    if (!shown) return false;
    for (int64_t i = 0; i < tc_numel(shown); i++)
        shown->data[i] = shown->data[i] < 0 ? 0 : shown->data[i] > 255 ? 255 : shown->data[i];
    tc_status s = tc_image_save_png(p, shown); /* atomic: a temporary file renamed */
    tc_tensor_free(shown);
    return s == TC_OK;
}

static bool dump(const dream_opts *opt, const char *name, const tc_tensor *t)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", opt->dump_dir, name);
    return tc_npy_save(p, t) == TC_OK;
}

/* The objective of a whole image: tiled as the gradients are, unrolled. */
static bool objective_of(const dream_objective *o, const tc_tensor *img, int64_t tile, double *obj)
{
    tc_tensor *g = tc_tensor_new(img->ndim, img->shape);
    bool ok = g && dream_grad_tiled(o, img, tile, 0, 0, g, obj);
    tc_tensor_free(g);
    return ok;
}

bool dream_probe(const dream_objective *o, const tc_tensor *img, const dream_opts *opt)
{
    tc_tensor *cur = tc_tensor_keep(img);
    for (int k = 0; cur && k < opt->octaves - 1; k++) {
        int64_t lh = (int64_t)((float)cur->shape[0] / (float)opt->octave_scale),
                lw = (int64_t)((float)cur->shape[1] / (float)opt->octave_scale);
        if (lh < 1 || lw < 1) {
            tc_error(TC_ERR_ARG, "deepdream: a %lldx%lld image is too small for %d octaves of scale %g",
                     (long long)img->shape[0], (long long)img->shape[1], opt->octaves, opt->octave_scale);
            tc_tensor_free(cur);
            return false;
        }
        tc_tensor *lo = dream_resize(cur, lh, lw);
        tc_tensor_free(cur);
        cur = lo;
    }
    double obj;
    bool ok = cur && objective_of(o, cur, opt->tile, &obj);
    tc_tensor_free(cur);
    return ok;
}

bool dream_render(const dream_objective *o, tc_tensor **img, const dream_opts *opt, dream_result *r)
{
    memset(r, 0, sizeof *r);
    int n = opt->octaves;
    tc_tensor **detail = calloc((size_t)n, sizeof *detail), *cur = tc_tensor_keep(*img), *rolls = NULL;
    bool ok = detail && cur && objective_of(o, cur, opt->tile, &r->first_loss);
    /* the pyramid: detail[k] = level k minus level k+1 scaled back up */
    for (int k = 0; ok && k < n - 1; k++) {
        int64_t h = cur->shape[0], w = cur->shape[1];
        int64_t lh = (int64_t)((float)h / (float)opt->octave_scale), lw = (int64_t)((float)w / (float)opt->octave_scale);
        if (lh < 1 || lw < 1) {
            tc_error(TC_ERR_ARG, "deepdream: a %lldx%lld image is too small for %d octaves of scale %g", (long long)(*img)->shape[0],
                     (long long)(*img)->shape[1], n, opt->octave_scale);
            ok = false;
            break;
        }
        tc_tensor *lo = dream_resize(cur, lh, lw), *back = lo ? dream_resize(lo, h, w) : NULL;
        if (!(ok = back != NULL)) {
            tc_tensor_free(lo);
            break;
        }
        for (int64_t i = 0; i < tc_numel(cur); i++) back->data[i] = cur->data[i] - back->data[i];
        detail[k] = back;
        tc_tensor_free(cur);
        cur = lo;
    }
    tc_rng rng = tc_rng_new(opt->seed);
    double t0 = wall_seconds(), c0 = process_cpu_seconds();
    for (int oct = 0; ok && oct < n; oct++) {
        if (oct > 0) {
            const tc_tensor *hi = detail[n - 1 - oct];
            tc_tensor *up = dream_resize(cur, hi->shape[0], hi->shape[1]);
            if (!(ok = up != NULL)) break;
            for (int64_t i = 0; i < tc_numel(up); i++) up->data[i] += hi->data[i];
            tc_tensor_free(cur);
            cur = up;
        }
        if (opt->dump_dir && oct == 0) {
            ok = dump(opt, "dream_input.npy", *img) && dump(opt, "dream_start.npy", cur) &&
                 (rolls = tc_tensor_new(TC_SHAPE(opt->iters, 2))) != NULL;
        }
        tc_tensor *g = ok ? tc_tensor_new(cur->ndim, cur->shape) : NULL;
        ok = ok && g;
        for (int it = 0; ok && it < opt->iters; it++) {
            /* np.random.randint(sz, size=2): sx (columns), then sy (rows) */
            int64_t sx = (int64_t)tc_rng_below(&rng, (uint64_t)opt->tile), sy = (int64_t)tc_rng_below(&rng, (uint64_t)opt->tile);
            double obj;
            if (!(ok = dream_grad_tiled(o, cur, opt->tile, sx, sy, g, &obj))) break;
            double mean_abs = 0;
            for (int64_t i = 0; i < tc_numel(g); i++) mean_abs += fabs((double)g->data[i]);
            mean_abs /= (double)tc_numel(g);
            tc_scalar k = (tc_scalar)(opt->step / (mean_abs + 1e-7));
            for (int64_t i = 0; i < tc_numel(g); i++) cur->data[i] += g->data[i] * k;
            r->iterations++;
            if (r->iterations == 1 && opt->iters * n > 1) { /* time the steps after the first (warm-up), as PyTorch's bench does */
                t0 = wall_seconds();
                c0 = process_cpu_seconds();
            }
            if (rolls && oct == 0) {
                rolls->data[2 * it] = (tc_scalar)sx, rolls->data[2 * it + 1] = (tc_scalar)sy;
                if (it == 0) ok = dump(opt, "dream_grad0.npy", g);
            }
            if (!opt->quiet)
                fprintf(stderr, "deepdream: octave %d/%d (%lldx%lld), iteration %d/%d: objective %.6g\n", oct + 1, n,
                        (long long)cur->shape[0], (long long)cur->shape[1], it + 1, opt->iters, obj);
        }
        tc_tensor_free(g);
        if (ok && rolls && oct == 0) ok = dump(opt, "dream_rolls.npy", rolls) && dump(opt, "dream_octave0.npy", cur);
        if (ok && opt->out_dir) {
            char name[64];
            snprintf(name, sizeof name, "octave_%d.png", oct + 1);
            ok = save_png(opt->out_dir, name, cur);
        }
    }
    double t1 = wall_seconds(), c1 = process_cpu_seconds();
    if (ok) ok = objective_of(o, cur, opt->tile, &r->last_loss);
    if (ok && opt->out_dir) ok = save_png(opt->out_dir, "dream.png", cur);
    int timed = r->iterations > 1 ? r->iterations - 1 : r->iterations;
    r->seconds_per_iteration = timed ? (t1 - t0) / timed : 0;
    r->cpu_seconds_per_iteration = timed ? (c1 - c0) / timed : 0;
    for (int k = 0; detail && k < n; k++) tc_tensor_free(detail[k]);
    free(detail);
    tc_tensor_free(rolls);
    if (ok) {
        tc_tensor_free(*img);
        *img = cur;
    } else {
        tc_tensor_free(cur);
    }
    return ok;
}
