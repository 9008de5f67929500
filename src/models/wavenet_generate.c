/* WaveNet sample by sample, as Paine et al.'s fast-wavenet: each layer
 * keeps a queue of its last d inputs (d its dilation), so the dilated
 * convolution of a new sample reads h(t - d) from the queue and h(t) from
 * the layer below, and a sample costs one pass through the layers. The
 * naive method (for checking and comparison) recomputes every layer over
 * the whole receptive field for every sample. Both call the same step
 * functions on the same vectors, so they give the same bits.
 *
 * The weights are copied once into gemv plans (core.h: contiguous panels
 * streamed front to back, AVX-512 where the CPU has it); the gate and
 * output loops are fixed-length element loops over vectorisable tanh,
 * sigmoid and exp. Nothing is allocated per sample. */
#include "wavenet_internal.h"

#include "../core/vmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int d;
    tc_gemv_plan *dil;      /* [h(t-d); h(t)] (2R) -> 2D */
    tc_gemv_plan *out;      /* z (D) -> [res (R, not on the last layer); skip (S)] */
    tc_gemv_plan *lc;       /* lc frame (C) -> 2D, or NULL */
    tc_scalar *dil_bias;    /* 2D */
    tc_scalar *out_bias;    /* R + S (or S) */
    tc_scalar *gc_rows;     /* [G, 2D] or NULL */
    tc_scalar *queue;       /* [d, R]: h(t-d) .. h(t-1), a ring */
    int64_t head;           /* ring slot holding h(t - d) */
    tc_scalar *lc_add;      /* 2D: this frame's local-conditioning term */
    bool has_res;
} gen_layer;

struct tc_wavenet_generator {
    tc_wavenet_opts o;
    int n_layers;
    int64_t rf;
    gen_layer *layer;
    tc_scalar *embedding;   /* [Q, R] */
    tc_gemv_plan *post1, *post2;
    tc_scalar *post1_bias, *post2_bias;
    /* work vectors, each padded to whole gemv panels */
    tc_scalar *in, *a, *z, *ov, *skip, *hid, *logits, *prob;
    /* the naive method: activations of one layer over the receptive field */
    tc_scalar *win_h;       /* [rf, R] */
    tc_scalar *lc_tmp;      /* 2D */
};

/* Work vectors are padded to whole gemv panels plus one: element loops run
 * in fixed chunks of VL and may read or write past the used length. */
enum { VL = 64 };
static size_t padded(int64_t n) { return (size_t)((n + TC_GEMV_PANEL - 1) / TC_GEMV_PANEL * TC_GEMV_PANEL + TC_GEMV_PANEL); }

static tc_scalar *vec(int64_t n)
{
    tc_scalar *p = NULL;
    if (posix_memalign((void **)&p, 64, sizeof(tc_scalar) * padded(n > 0 ? n : 1)) != 0) return NULL;
    memset(p, 0, sizeof(tc_scalar) * padded(n > 0 ? n : 1));
    return p;
}

static tc_scalar *copy_of(const tc_tensor *t)
{
    tc_scalar *p = vec(tc_numel(t));
    if (p) tc_read_values(t, p);
    return p;
}

void tc_wavenet_generator_free(tc_wavenet_generator *g)
{
    if (!g) return;
    for (int l = 0; g->layer && l < g->n_layers; l++) {
        gen_layer *y = &g->layer[l];
        tc_gemv_plan_free(y->dil);
        tc_gemv_plan_free(y->out);
        tc_gemv_plan_free(y->lc);
        free(y->dil_bias);
        free(y->out_bias);
        free(y->gc_rows);
        free(y->queue);
        free(y->lc_add);
    }
    free(g->layer);
    free(g->embedding);
    tc_gemv_plan_free(g->post1);
    tc_gemv_plan_free(g->post2);
    free(g->post1_bias);
    free(g->post2_bias);
    free(g->in);
    free(g->a);
    free(g->z);
    free(g->ov);
    free(g->skip);
    free(g->hid);
    free(g->logits);
    free(g->prob);
    free(g->win_h);
    free(g->lc_tmp);
    free(g);
}

tc_wavenet_generator *tc_wavenet_generator_new(const tc_wavenet *w)
{
    if (!w) {
        tc_error(TC_ERR_ARG, "wavenet_generator_new: no model");
        return NULL;
    }
    tc_wavenet_generator *g = calloc(1, sizeof *g);
    if (!g) goto oom;
    g->o = w->o;
    g->n_layers = w->n_layers;
    g->rf = tc_wavenet_receptive_field(w);
    int64_t R = w->o.residual_channels, D = w->o.dilation_channels, S = w->o.skip_channels;
    int64_t A = w->o.output_hidden, Q = w->o.classes;
    tc_tensor *const *P = w->p.t;
    g->layer = calloc((size_t)g->n_layers, sizeof *g->layer);
    if (!g->layer) goto oom;
    tc_scalar *tmp = malloc(sizeof(tc_scalar) * (size_t)(D * (R + S)));
    if (!tmp) goto oom;
    for (int l = 0; l < g->n_layers; l++) {
        const tc_wavenet_layer *s = &w->layer[l];
        gen_layer *y = &g->layer[l];
        y->d = s->dilation;
        y->has_res = s->res_kernel >= 0;
        /* the kernel [2, R, 2D] is, row-major, the [2R, 2D] matrix of [h(t-d); h(t)] */
        y->dil = tc_gemv_plan_new(2 * R, 2 * D, P[s->dil_kernel]->data, 2 * D, NULL, 0);
        int64_t W = (y->has_res ? R : 0) + S;
        for (int64_t i = 0; i < D; i++) {
            if (y->has_res) memcpy(tmp + i * W, P[s->res_kernel]->data + i * R, sizeof(tc_scalar) * (size_t)R);
            memcpy(tmp + i * W + (y->has_res ? R : 0), P[s->skip_kernel]->data + i * S, sizeof(tc_scalar) * (size_t)S);
        }
        y->out = tc_gemv_plan_new(D, W, tmp, W, NULL, 0);
        y->dil_bias = copy_of(P[s->dil_bias]);
        y->out_bias = vec(W);
        y->queue = vec((int64_t)y->d * R);
        y->lc_add = vec(2 * D);
        if (!y->dil || !y->out || !y->dil_bias || !y->out_bias || !y->queue || !y->lc_add) {
            free(tmp);
            goto fail;
        }
        if (y->has_res) memcpy(y->out_bias, P[s->res_bias]->data, sizeof(tc_scalar) * (size_t)R);
        memcpy(y->out_bias + (y->has_res ? R : 0), P[s->skip_bias]->data, sizeof(tc_scalar) * (size_t)S);
        if (s->gc_kernel >= 0 && !(y->gc_rows = copy_of(P[s->gc_kernel]))) {
            free(tmp);
            goto oom;
        }
        if (s->lc_kernel >= 0 &&
            !(y->lc = tc_gemv_plan_new(w->o.local_channels, 2 * D, P[s->lc_kernel]->data, 2 * D, NULL, 0))) {
            free(tmp);
            goto fail;
        }
    }
    free(tmp);
    g->embedding = copy_of(P[w->embedding]);
    g->post1 = tc_gemv_plan_new(S, A, P[w->post1_kernel]->data, A, NULL, 0);
    g->post2 = tc_gemv_plan_new(A, Q, P[w->post2_kernel]->data, Q, NULL, 0);
    g->post1_bias = copy_of(P[w->post1_bias]);
    g->post2_bias = copy_of(P[w->post2_bias]);
    g->in = vec(2 * R);
    g->a = vec(2 * D);
    g->z = vec(D);
    g->ov = vec(R + S);
    g->skip = vec(S);
    g->hid = vec(A);
    g->logits = vec(Q);
    g->prob = vec(Q);
    g->win_h = vec(g->rf * ((R + VL - 1) / VL * VL));
    g->lc_tmp = vec(2 * D);
    if (!g->embedding || !g->post1 || !g->post2 || !g->post1_bias || !g->post2_bias || !g->in || !g->a || !g->z ||
        !g->ov || !g->skip || !g->hid || !g->logits || !g->prob || !g->win_h || !g->lc_tmp)
        goto fail;
    return g;
oom:
    tc_error(TC_ERR_MEMORY, "wavenet_generator_new: out of memory");
fail:
    tc_wavenet_generator_free(g);
    return NULL;
}

/* ---- the shared per-position arithmetic ----------------------------------------- */

/* y = x W: on the calling thread for the small matrices of a usual WaveNet
 * (a call to the pool costs more than the product), split over the pool
 * for large ones (NSynth-sized layers stream megabytes per sample). Either
 * way the same bits (core.h: one thread per output column, sums in order). */
static void gemv(const tc_gemv_plan *p, const tc_scalar *x, tc_scalar *y)
{
    if (tc_gemv_rows(p) * tc_gemv_panels(p) * TC_GEMV_PANEL >= (1 << 18)) tc_gemv_run(p, x, y);
    else tc_gemv_run_panels(p, x, y, 0, tc_gemv_panels(p));
}

/* Element loops of one fixed-length chunk (VL values): the compiler makes them SIMD. */
static void add_chunk(tc_scalar *restrict a, const tc_scalar *restrict b)
{
    for (int j = 0; j < VL; j++) a[j] = a[j] + b[j];
}

static void add2_chunk(tc_scalar *restrict a, const tc_scalar *restrict o, const tc_scalar *restrict b)
{
    for (int j = 0; j < VL; j++) a[j] = a[j] + (o[j] + b[j]);
}

static void gate_chunk(const tc_scalar *restrict f, const tc_scalar *restrict g, tc_scalar *restrict z)
{
    for (int j = 0; j < VL; j++) z[j] = tc_vtanh(f[j]) * tc_vsigmoid(g[j]);
}

/* The gated unit of layer y for its inputs prev = h(t-d), cur = h(t), with
 * the condition terms cond (2D, or NULL), into g->z. */
static void gate(tc_wavenet_generator *g, const gen_layer *y, const tc_scalar *prev, const tc_scalar *cur,
                 const tc_scalar *gc_row, const tc_scalar *cond)
{
    int64_t R = g->o.residual_channels, D = g->o.dilation_channels;
    memcpy(g->in, prev, sizeof(tc_scalar) * (size_t)R);
    memcpy(g->in + R, cur, sizeof(tc_scalar) * (size_t)R);
    gemv(y->dil, g->in, g->a);
    /* in fixed-length chunks (the buffers are padded) */
    for (int64_t k = 0; k < 2 * D; k += VL) {
        add_chunk(g->a + k, y->dil_bias + k);
        if (gc_row) add_chunk(g->a + k, gc_row + k);
        if (cond) add_chunk(g->a + k, cond + k);
    }
    for (int64_t k = 0; k < D; k += VL) gate_chunk(g->a + k, g->a + D + k, g->z + k);
}

/* After gate(): residual into h (in place, when the layer has one) and
 * the skip output added to g->skip. */
static void outputs(tc_wavenet_generator *g, const gen_layer *y, tc_scalar *h, bool want_skip)
{
    int64_t R = g->o.residual_channels, S = g->o.skip_channels;
    gemv(y->out, g->z, g->ov);
    if (y->has_res)
        for (int64_t k = 0; k < R; k += VL) add2_chunk(h + k, g->ov + k, y->out_bias + k);
    if (!want_skip) return;
    int64_t off = y->has_res ? R : 0;
    for (int64_t k = 0; k < S; k += VL) add2_chunk(g->skip + k, g->ov + off + k, y->out_bias + off + k);
}

/* relu(skip) -> 1x1 -> relu -> 1x1: logits in g->logits. */
static void head(tc_wavenet_generator *g)
{
    int64_t S = g->o.skip_channels, A = g->o.output_hidden, Q = g->o.classes;
    tc_scalar *restrict s = g->skip;
    for (int64_t k = 0; k < S; k++) s[k] = s[k] > 0 ? s[k] : 0;
    gemv(g->post1, s, g->hid);
    tc_scalar *restrict h = g->hid;
    const tc_scalar *restrict b1 = g->post1_bias;
    for (int64_t k = 0; k < A; k++) {
        tc_scalar v = h[k] + b1[k];
        h[k] = v > 0 ? v : 0;
    }
    gemv(g->post2, h, g->logits);
    tc_scalar *restrict lg = g->logits;
    const tc_scalar *restrict b2 = g->post2_bias;
    for (int64_t k = 0; k < Q; k++) lg[k] = lg[k] + b2[k];
}

/* One categorical draw from softmax(logits / temperature), one uniform of rng. */
static int sample(tc_wavenet_generator *g, double temperature, tc_rng *rng)
{
    int64_t Q = g->o.classes;
    tc_scalar inv = (tc_scalar)(1.0 / temperature), m = g->logits[0] * inv;
    for (int64_t k = 1; k < Q; k++) m = g->logits[k] * inv > m ? g->logits[k] * inv : m;
    tc_scalar *restrict p = g->prob;
    const tc_scalar *restrict lg = g->logits;
    for (int64_t k = 0; k < Q; k++) p[k] = tc_vexp(lg[k] * inv - m);
    double sum = 0;
    for (int64_t k = 0; k < Q; k++) sum += p[k];
    double u = tc_rng_double(rng) * sum, acc = 0;
    for (int64_t k = 0; k < Q; k++) {
        acc += p[k];
        if (u < acc) return (int)k;
    }
    return (int)(Q - 1);
}

/* The local-conditioning term of layer y at sample t into dst (2D). */
static void lc_term(tc_wavenet_generator *g, const gen_layer *y, const tc_tensor *lc, int64_t t, tc_scalar *dst)
{
    int64_t frame = t / g->o.local_hop;
    gemv(y->lc, lc->data + frame * lc->strides[0], dst);
}

/* ---- fast: one sample through the queues ------------------------------------------ */

static void reset(tc_wavenet_generator *g)
{
    int64_t R = g->o.residual_channels;
    for (int l = 0; l < g->n_layers; l++) {
        memset(g->layer[l].queue, 0, sizeof(tc_scalar) * (size_t)(g->layer[l].d * R));
        g->layer[l].head = 0;
    }
}

/* Input id x at time t; logits of the prediction of t + 1 in g->logits. */
static void fast_step(tc_wavenet_generator *g, int x, int64_t t, int gc, const tc_tensor *lc)
{
    int64_t R = g->o.residual_channels, D = g->o.dilation_channels;
    _Alignas(64) tc_scalar hp[1024 + VL]; /* R <= 1024 (check_conditions); chunked loops may pass R */
    memcpy(hp, g->embedding + (int64_t)x * R, sizeof(tc_scalar) * (size_t)R);
    memset(g->skip, 0, sizeof(tc_scalar) * (size_t)g->o.skip_channels);
    for (int l = 0; l < g->n_layers; l++) {
        gen_layer *y = &g->layer[l];
        tc_scalar *slot = y->queue + y->head * R; /* h(t - d) */
        if (lc && t % g->o.local_hop == 0) lc_term(g, y, lc, t, y->lc_add);
        gate(g, y, slot, hp, y->gc_rows ? y->gc_rows + (int64_t)gc * 2 * D : NULL, lc ? y->lc_add : NULL);
        memcpy(slot, hp, sizeof(tc_scalar) * (size_t)R); /* h(t) leaves after d more samples */
        y->head = (y->head + 1) % y->d;
        outputs(g, y, hp, true);
    }
    head(g);
}

/* ---- naive: every layer over the receptive field ---------------------------------- */

/* hist: ids 0..t; logits of the prediction of t + 1 in g->logits. */
static void naive_step(tc_wavenet_generator *g, const int *hist, int64_t t, int gc, const tc_tensor *lc)
{
    int64_t R = g->o.residual_channels, D = g->o.dilation_channels;
    int64_t Rp = (R + VL - 1) / VL * VL; /* row stride: the chunked residual loop writes whole chunks */
    int64_t t0 = t - g->rf + 1 > 0 ? t - g->rf + 1 : 0, W = t - t0 + 1;
    static const tc_scalar zero[1024]; /* h before the window: R <= 1024 (check_conditions) */
    for (int64_t p = 0; p < W; p++)
        memcpy(g->win_h + p * Rp, g->embedding + (int64_t)hist[t0 + p] * R, sizeof(tc_scalar) * (size_t)R);
    memset(g->skip, 0, sizeof(tc_scalar) * (size_t)g->o.skip_channels);
    for (int l = 0; l < g->n_layers; l++) {
        gen_layer *y = &g->layer[l];
        const tc_scalar *gc_row = y->gc_rows ? y->gc_rows + (int64_t)gc * 2 * D : NULL;
        /* from the last position back, so h(p - d) is still this layer's input when p is updated */
        for (int64_t p = W - 1; p >= 0; p--) {
            const tc_scalar *prev = p - y->d >= 0 ? g->win_h + (p - y->d) * Rp : zero;
            if (lc) lc_term(g, y, lc, t0 + p, g->lc_tmp);
            gate(g, y, prev, g->win_h + p * Rp, gc_row, lc ? g->lc_tmp : NULL);
            outputs(g, y, g->win_h + p * Rp, p == W - 1);
        }
    }
    head(g);
}

static tc_status check_conditions(tc_wavenet_generator *g, int gc, const tc_tensor *lc, int64_t total)
{
    const tc_wavenet_opts *o = &g->o;
    if (o->global_classes > 0 && (gc < 0 || gc >= o->global_classes))
        return tc_error(TC_ERR_ARG, "wavenet_generate: global condition %d outside [0, %d)", gc, o->global_classes);
    if (o->local_channels > 0) {
        int64_t frames = (total + o->local_hop - 1) / o->local_hop;
        char s[TC_SHAPE_STR_MAX];
        if (!lc || lc->ndim != 2 || lc->shape[0] < frames || lc->shape[1] != o->local_channels || !tc_is_contiguous(lc))
            return tc_error(TC_ERR_SHAPE, "wavenet_generate: local conditioning must be contiguous [>= %lld, %d] for %lld samples, given %s",
                            (long long)frames, o->local_channels, (long long)total, lc ? tc_shape_str(lc, s, sizeof s) : "none");
    } else if (lc) {
        return tc_error(TC_ERR_ARG, "wavenet_generate: the model has no local conditioning");
    }
    if (g->o.residual_channels > 1024)
        return tc_error(TC_ERR_UNSUPPORTED, "wavenet_generate: more than 1024 residual channels");
    return TC_OK;
}

tc_status tc_wavenet_generate(tc_wavenet_generator *g, const tc_wavenet_gen_opts *o, tc_rng *rng, int *out)
{
    if (!g || !o || !rng || !out || o->n < 0 || o->n_prime < 0)
        return tc_error(TC_ERR_ARG, "wavenet_generate: bad arguments");
    double temp = o->temperature > 0 ? o->temperature : 1.0;
    if (o->temperature < 0) return tc_error(TC_ERR_ARG, "wavenet_generate: temperature %g must be > 0", o->temperature);
    static const int silence = 128;
    int64_t P = o->n_prime > 0 ? o->n_prime : 1;
    const int *prime = o->n_prime > 0 && o->prime ? o->prime : NULL;
    int64_t total = P + o->n - 1; /* inputs fed: the last id drawn is not fed back */
    tc_status st = check_conditions(g, o->gc, o->lc, total);
    if (st != TC_OK) return st;
    for (int64_t i = 0; prime && i < P; i++)
        if (prime[i] < 0 || prime[i] >= g->o.classes)
            return tc_error(TC_ERR_ARG, "wavenet_generate: prime id %d at %lld outside [0, %d)", prime[i], (long long)i,
                            g->o.classes);
    int silence_id = silence < g->o.classes ? silence : g->o.classes / 2;
    if (o->n == 0) return TC_OK;
    if (!o->naive) {
        reset(g);
        for (int64_t t = 0; t < P - 1; t++) fast_step(g, prime ? prime[t] : silence_id, t, o->gc, o->lc);
        int x = prime ? prime[P - 1] : silence_id;
        for (int64_t i = 0; i < o->n; i++) {
            fast_step(g, x, P - 1 + i, o->gc, o->lc);
            x = out[i] = sample(g, temp, rng);
        }
        return TC_OK;
    }
    int *hist = malloc(sizeof(int) * (size_t)(P + o->n)); /* the prime and every id drawn */
    if (!hist) return tc_error(TC_ERR_MEMORY, "wavenet_generate: out of memory");
    for (int64_t t = 0; t < P; t++) hist[t] = prime ? prime[t] : silence_id;
    for (int64_t i = 0; i < o->n; i++) {
        naive_step(g, hist, P - 1 + i, o->gc, o->lc);
        hist[P + i] = out[i] = sample(g, temp, rng);
    }
    free(hist);
    return TC_OK;
}

tc_status tc_wavenet_generator_logits(tc_wavenet_generator *g, int64_t T, const int *ids, int gc, const tc_tensor *lc,
                                      tc_scalar *logits)
{
    if (!g || !ids || !logits || T < 1) return tc_error(TC_ERR_ARG, "wavenet_generator_logits: bad arguments");
    tc_status st = check_conditions(g, gc, lc, T);
    if (st != TC_OK) return st;
    int64_t Q = g->o.classes;
    reset(g);
    for (int64_t t = 0; t < T; t++) {
        if (ids[t] < 0 || ids[t] >= Q)
            return tc_error(TC_ERR_ARG, "wavenet_generator_logits: id %d at %lld outside [0, %lld)", ids[t], (long long)t,
                            (long long)Q);
        fast_step(g, ids[t], t, gc, lc);
        memcpy(logits + t * Q, g->logits, sizeof(tc_scalar) * (size_t)Q);
    }
    return TC_OK;
}
