/* WaveNet on the ops API: construction, the tape forward and loss, the
 * summary table and checkpoints. The per-sample generator is in
 * wavenet_generate.c. */
#include "wavenet_internal.h"

#include <stdlib.h>
#include <string.h>

static tc_status fill_defaults(tc_wavenet_opts *o)
{
    if (!o->blocks) o->blocks = 2;
    if (!o->layers) o->layers = 10;
    if (!o->residual_channels) o->residual_channels = 64;
    if (!o->dilation_channels) o->dilation_channels = o->residual_channels;
    if (!o->skip_channels) o->skip_channels = 2 * o->residual_channels;
    if (!o->output_hidden) o->output_hidden = o->skip_channels;
    if (!o->classes) o->classes = 256;
    if (o->blocks < 1 || o->layers < 1 || o->layers > 20 || o->residual_channels < 1 || o->dilation_channels < 1 ||
        o->skip_channels < 1 || o->output_hidden < 1 || o->classes < 2 || o->global_classes < 0 || o->local_channels < 0)
        return tc_error(TC_ERR_ARG, "wavenet: bad options (blocks %d, layers %d (1..20), channels %d/%d/%d/%d, classes %d)",
                        o->blocks, o->layers, o->residual_channels, o->dilation_channels, o->skip_channels,
                        o->output_hidden, o->classes);
    if (o->local_channels > 0 && o->local_hop < 1)
        return tc_error(TC_ERR_ARG, "wavenet: local conditioning needs local_hop >= 1 (got %d)", o->local_hop);
    return TC_OK;
}

#define ADD(idx, nm, ...)                                                               \
    do {                                                                                \
        if (!tc_param_list_add(&w->p, nm, TC_SHAPE(__VA_ARGS__))) goto fail;           \
        idx = w->p.n - 1;                                                               \
    } while (0)

tc_wavenet *tc_wavenet_new(const tc_wavenet_opts *opts, uint64_t seed)
{
    tc_wavenet_opts o = opts ? *opts : (tc_wavenet_opts){0};
    if (fill_defaults(&o) != TC_OK) return NULL;
    tc_wavenet *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->o = o;
    w->n_layers = o.blocks * o.layers;
    w->layer = calloc((size_t)w->n_layers, sizeof *w->layer);
    if (!w->layer) goto oom;
    int64_t Q = o.classes, R = o.residual_channels, D = o.dilation_channels, S = o.skip_channels, A = o.output_hidden;
    ADD(w->embedding, "embedding/embeddings", Q, R);
    char name[128];
    for (int l = 0; l < w->n_layers; l++) {
        tc_wavenet_layer *y = &w->layer[l];
        *y = (tc_wavenet_layer){.dilation = 1 << (l % o.layers), .gc_kernel = -1, .lc_kernel = -1, .res_kernel = -1,
                                .res_bias = -1};
        int b = l / o.layers, k = l % o.layers;
#define LNAME(s) (snprintf(name, sizeof name, "block%d_layer%d/%s", b, k, s), name)
        ADD(y->dil_kernel, LNAME("dilated_kernel"), 2, R, 2 * D);
        ADD(y->dil_bias, LNAME("dilated_bias"), 2 * D);
        if (o.global_classes > 0) ADD(y->gc_kernel, LNAME("gc_kernel"), o.global_classes, 2 * D);
        if (o.local_channels > 0) ADD(y->lc_kernel, LNAME("lc_kernel"), o.local_channels, 2 * D);
        if (l + 1 < w->n_layers) {
            ADD(y->res_kernel, LNAME("res_kernel"), D, R);
            ADD(y->res_bias, LNAME("res_bias"), R);
        }
        ADD(y->skip_kernel, LNAME("skip_kernel"), D, S);
        ADD(y->skip_bias, LNAME("skip_bias"), S);
#undef LNAME
    }
    ADD(w->post1_kernel, "postprocess1/kernel", S, A);
    ADD(w->post1_bias, "postprocess1/bias", A);
    ADD(w->post2_kernel, "postprocess2/kernel", A, Q);
    ADD(w->post2_bias, "postprocess2/bias", Q);
    /* initial values: biases stay zero */
    tc_rng r = tc_rng_new(seed);
    for (int i = 0; i < w->p.n; i++) {
        tc_tensor *t = w->p.t[i];
        const char *nm = w->p.names[i];
        if (i == w->embedding || strstr(nm, "gc_kernel")) tc_rng_uniform(&r, t->data, tc_numel(t), -0.05f, 0.05f);
        else if (strstr(nm, "dilated_kernel")) tc_wavenet_glorot(&r, t, 2 * R, 2 * 2 * D);
        else if (t->ndim == 2) tc_wavenet_glorot(&r, t, t->shape[0], t->shape[1]);
    }
    return w;
oom:
    tc_error(TC_ERR_MEMORY, "wavenet: out of memory");
fail:
    tc_wavenet_free(w);
    return NULL;
}

void tc_wavenet_free(tc_wavenet *w)
{
    if (!w) return;
    tc_param_list_free(&w->p);
    free(w->layer);
    free(w);
}

const tc_wavenet_opts *tc_wavenet_options(const tc_wavenet *w) { return w ? &w->o : NULL; }

int64_t tc_wavenet_receptive_field(const tc_wavenet *w)
{
    return w ? (int64_t)w->o.blocks * ((1 << w->o.layers) - 1) + 1 : 0;
}

int tc_wavenet_param_count(const tc_wavenet *w) { return w ? w->p.n : 0; }
tc_tensor *tc_wavenet_param(const tc_wavenet *w, int i) { return w && i >= 0 && i < w->p.n ? w->p.t[i] : NULL; }
const char *tc_wavenet_param_name(const tc_wavenet *w, int i) { return w && i >= 0 && i < w->p.n ? w->p.names[i] : NULL; }
tc_tensor *tc_wavenet_param_by_name(const tc_wavenet *w, const char *name)
{
    return w ? tc_wavenet_param(w, tc_param_list_find(&w->p, name)) : NULL;
}
tc_tensor *const *tc_wavenet_params(const tc_wavenet *w) { return w ? w->p.t : NULL; }
int64_t tc_wavenet_count_params(const tc_wavenet *w) { return w ? tc_param_list_numel(&w->p) : 0; }

/* lc [N, F, C] repeated hop times along time and cut to T steps. */
static tc_tensor *upsample(tc_tensor *lc, int64_t T, int hop)
{
    tc_tensor *idx = tc_empty(TC_SHAPE(T));
    if (!idx) return NULL;
    for (int64_t t = 0; t < T; t++) idx->data[t] = (tc_scalar)(t / hop);
    return tc_gather(lc, idx, 1);
}

tc_tensor *tc_wavenet_forward(tc_wavenet *w, tc_tensor *ids, tc_tensor *gc, tc_tensor *lc)
{
    if (!w || !ids) {
        tc_error(TC_ERR_ARG, "wavenet_forward: no model or no input");
        return NULL;
    }
    char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX];
    if (ids->ndim != 2) {
        tc_error(TC_ERR_SHAPE, "wavenet_forward: ids %s must be [N, T]", tc_shape_str(ids, a, sizeof a));
        return NULL;
    }
    int64_t N = ids->shape[0], T = ids->shape[1];
    const tc_wavenet_opts *o = &w->o;
    if ((o->global_classes > 0) != (gc != NULL) || (gc && (gc->ndim != 1 || gc->shape[0] != N))) {
        tc_error(TC_ERR_SHAPE, "wavenet_forward: the model %s a global condition [N] = [%lld]%s%s",
                 o->global_classes > 0 ? "needs" : "has no", (long long)N, gc ? ", given " : "",
                 gc ? tc_shape_str(gc, a, sizeof a) : "");
        return NULL;
    }
    int64_t frames = o->local_hop > 0 ? (T + o->local_hop - 1) / o->local_hop : 0;
    if ((o->local_channels > 0) != (lc != NULL) ||
        (lc && (lc->ndim != 3 || lc->shape[0] != N || lc->shape[1] < frames || lc->shape[2] != o->local_channels))) {
        tc_error(TC_ERR_SHAPE, "wavenet_forward: the model %s local conditioning [%lld, >= %lld, %d] for ids %s%s%s",
                 o->local_channels > 0 ? "needs" : "has no", (long long)N, (long long)frames, o->local_channels,
                 tc_shape_str(ids, b, sizeof b), lc ? ", given " : "", lc ? tc_shape_str(lc, a, sizeof a) : "");
        return NULL;
    }
    tc_tensor **P = w->p.t;
    int64_t D = o->dilation_channels;
    tc_tensor *h = tc_gather(P[w->embedding], ids, 0); /* [N, T, R] */
    tc_tensor *up = lc ? upsample(lc, T, o->local_hop) : NULL;
    tc_tensor *skip = NULL;
    for (int l = 0; l < w->n_layers && h; l++) {
        const tc_wavenet_layer *y = &w->layer[l];
        tc_conv_params cp = {.padding = TC_CAUSAL, .dilation = {y->dilation}};
        tc_tensor *pre = tc_conv(h, P[y->dil_kernel], P[y->dil_bias], &cp);
        if (gc) pre = tc_add(pre, tc_reshape(tc_gather(P[y->gc_kernel], gc, 0), TC_SHAPE(N, 1, 2 * D)));
        if (up) pre = tc_add(pre, tc_linear(up, P[y->lc_kernel], NULL));
        tc_tensor *z = tc_mul(tc_tanh(tc_narrow(pre, 2, 0, D)), tc_sigmoid(tc_narrow(pre, 2, D, D)));
        tc_tensor *s = tc_linear(z, P[y->skip_kernel], P[y->skip_bias]);
        skip = skip ? tc_add(skip, s) : s;
        if (y->res_kernel >= 0) h = tc_add(h, tc_linear(z, P[y->res_kernel], P[y->res_bias]));
    }
    tc_tensor *hid = tc_relu(tc_linear(tc_relu(skip), P[w->post1_kernel], P[w->post1_bias]));
    return tc_linear(hid, P[w->post2_kernel], P[w->post2_bias]);
}

tc_tensor *tc_wavenet_loss(tc_wavenet *w, tc_tensor *ids, tc_tensor *gc, tc_tensor *lc, int64_t n_target)
{
    if (!w || !ids || ids->ndim != 2 || ids->shape[1] < 2) {
        tc_error(TC_ERR_ARG, "wavenet_loss: ids must be [N, T + 1] with T >= 1");
        return NULL;
    }
    int64_t T = ids->shape[1] - 1;
    if (n_target < 1 || n_target > T) {
        tc_error(TC_ERR_ARG, "wavenet_loss: %lld target positions for %lld inputs", (long long)n_target, (long long)T);
        return NULL;
    }
    tc_tensor *logits = tc_wavenet_forward(w, tc_contiguous(tc_narrow(ids, 1, 0, T)), gc, lc);
    if (!logits) return NULL; /* keep the forward's message */
    tc_tensor *lg = tc_narrow(logits, 1, T - n_target, n_target);
    tc_tensor *tg = tc_narrow(ids, 1, T + 1 - n_target, n_target);
    return tc_sparse_softmax_cross_entropy(lg, tg, NULL, TC_REDUCE_MEAN);
}

tc_status tc_wavenet_checkpoint_put(tc_checkpoint *ck, const tc_wavenet *w, const char *prefix)
{
    if (!ck || !w) return tc_error(TC_ERR_ARG, "wavenet_checkpoint_put: no checkpoint or model");
    return tc_param_list_put(ck, &w->p, prefix);
}

tc_status tc_wavenet_checkpoint_get(const tc_checkpoint *ck, tc_wavenet *w, const char *prefix)
{
    if (!ck || !w) return tc_error(TC_ERR_ARG, "wavenet_checkpoint_get: no checkpoint or model");
    return tc_param_list_get(ck, &w->p, prefix, "wavenet");
}

/* ---- summary ------------------------------------------------------------------- */
static void comma(char *buf, size_t size, int64_t v)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t n = strlen(raw), j = 0;
    for (size_t i = 0; i < n && j + 1 < size; i++) {
        if (i && (n - i) % 3 == 0 && j + 2 < size) buf[j++] = ',';
        buf[j++] = raw[i];
    }
    buf[j] = 0;
}

static void row(FILE *out, const char *layer, const char *shape, int64_t params)
{
    char p[32];
    comma(p, sizeof p, params);
    fprintf(out, "%-44s %-22s %12s\n", layer, shape, p);
}

static int64_t numel_of(const tc_param_list *l, int i) { return i >= 0 ? tc_numel(l->t[i]) : 0; }

tc_status tc_wavenet_summary(const tc_wavenet *w, FILE *out, int64_t length)
{
    if (!w || !out) return tc_error(TC_ERR_ARG, "wavenet_summary: no model or stream");
    const tc_wavenet_opts *o = &w->o;
    char shape[64], name[96];
    const char *rule = "_____________________________________________________________________________________";
    fprintf(out, "Model: \"wavenet\" (%d blocks x %d layers, receptive field %lld samples)\n%s\n", o->blocks,
            o->layers, (long long)tc_wavenet_receptive_field(w), rule);
    fprintf(out, "%-44s %-22s %12s\n%s\n", "Layer (type)", "Output Shape", "Param #",
            "=====================================================================================");
    char T[24];
    if (length > 0) snprintf(T, sizeof T, "%lld", (long long)length);
    else snprintf(T, sizeof T, "None");
    snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->residual_channels);
    row(out, "embedding (Embedding)", shape, numel_of(&w->p, w->embedding));
    for (int l = 0; l < w->n_layers; l++) {
        const tc_wavenet_layer *y = &w->layer[l];
        int b = l / o->layers, k = l % o->layers;
        snprintf(name, sizeof name, "block%d_layer%d (dilation %d, gated)", b, k, y->dilation);
        snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->dilation_channels);
        row(out, name, shape,
            numel_of(&w->p, y->dil_kernel) + numel_of(&w->p, y->dil_bias) + numel_of(&w->p, y->gc_kernel) +
                numel_of(&w->p, y->lc_kernel));
        if (y->res_kernel >= 0) {
            snprintf(name, sizeof name, "block%d_layer%d_res (Conv1D 1x1)", b, k);
            snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->residual_channels);
            row(out, name, shape, numel_of(&w->p, y->res_kernel) + numel_of(&w->p, y->res_bias));
        }
        snprintf(name, sizeof name, "block%d_layer%d_skip (Conv1D 1x1)", b, k);
        snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->skip_channels);
        row(out, name, shape, numel_of(&w->p, y->skip_kernel) + numel_of(&w->p, y->skip_bias));
    }
    snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->output_hidden);
    row(out, "postprocess1 (ReLU, Conv1D 1x1, ReLU)", shape,
        numel_of(&w->p, w->post1_kernel) + numel_of(&w->p, w->post1_bias));
    snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->classes);
    row(out, "postprocess2 (Conv1D 1x1, softmax)", shape,
        numel_of(&w->p, w->post2_kernel) + numel_of(&w->p, w->post2_bias));
    char tot[32];
    comma(tot, sizeof tot, tc_wavenet_count_params(w));
    fprintf(out, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: 0\n%s\n",
            "=====================================================================================", tot, tot, rule);
    return TC_OK;
}
