/* Loading a Keras .h5 file's weights into a model: pairs layers by name
 * (or by position, Keras' load_weights without by_name), converts what
 * Keras' preprocess_weights_for_loading converts (Keras 1 LSTM/GRU weights
 * split per gate, Theano-layout and Theano-flipped kernels), pairs the
 * weights within a layer by name or position, and checks every shape. All
 * mismatches are listed in one error before anything is changed. */
#include "keras_h5_internal.h"
#include "mismatch_list.h"

#include <stdlib.h>

typedef struct {
    char key[96];                 /* "kernel", "forward/bias", ... */
    const char *stored;           /* the name in the file (points into the table) */
    int ndim;
    int64_t shape[TC_MAX_DIMS];
    tc_scalar *data;              /* malloc'd */
} fweight;

typedef struct {
    fweight *w;
    int n;
} fweights;

static void fweights_free(fweights *f)
{
    for (int i = 0; f && i < f->n; i++) free(f->w[i].data);
    if (f) free(f->w);
}

/* ---- weight names -> keys -------------------------------------------------------------
 * The key of a stored name is its last '/' part without ":0", without the
 * layer's name in front (Keras 1: dense_1_W), without a "_1" counter, with
 * Keras 1's names mapped to Keras 2's; a Bidirectional's weights keep their
 * direction ("forward/kernel"). */
static bool starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static void make_key(const char *stored, const char *layer, const char *cls, char *key, size_t size)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", stored);
    char *colon = strrchr(buf, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) *colon = '\0';
    const char *dir = NULL;
    char *base = buf, *slash;
    while ((slash = strchr(base, '/'))) {
        *slash = '\0';
        if (starts(base, "forward_")) dir = "forward";
        if (starts(base, "backward_")) dir = "backward";
        base = slash + 1;
    }
    size_t ll = strlen(layer);
    if (!strncmp(base, layer, ll) && base[ll] == '_' && base[ll + 1]) base += ll + 1;
    char *us = strrchr(base, '_');
    if (us && us > base && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1)) *us = '\0';
    static const char *alias[][2] = {{"b", "bias"}, {"U", "recurrent_kernel"}, {"running_mean", "moving_mean"},
                                     {"running_std", "moving_variance"}};
    const char *b = base;
    if (!strcmp(b, "W")) b = cls && !strcmp(cls, "Embedding") ? "embeddings" : "kernel";
    for (size_t k = 0; k < sizeof alias / sizeof alias[0]; k++)
        if (!strcmp(b, alias[k][0])) b = alias[k][1];
    if (snprintf(key, size, "%s%s%s", dir ? dir : "", dir ? "/" : "", b) >= (int)size) key[0] = '\0'; /* never matches */
}

static void model_key(const char *wname, char *key, size_t size)
{
    const char *slash = strchr(wname, '/');
    if (slash && starts(wname, "forward_")) snprintf(key, size, "forward/%s", slash + 1);
    else if (slash && starts(wname, "backward_")) snprintf(key, size, "backward/%s", slash + 1);
    else snprintf(key, size, "%s", wname);
}

/* ---- conversions of Keras' preprocess_weights_for_loading ---------------------------- */
/* Joins parts[k] (same leading axes) along the last axis into one weight. */
static bool join_last(fweight *const *parts, int n, fweight *out, const char *key)
{
    int nd = parts[0]->ndim;
    int64_t rows = 1, total = 0;
    for (int d = 0; d + 1 < nd; d++) rows *= parts[0]->shape[d];
    for (int k = 0; k < n; k++) {
        if (parts[k]->ndim != nd || nd < 1) return false;
        for (int d = 0; d + 1 < nd; d++)
            if (parts[k]->shape[d] != parts[0]->shape[d]) return false;
        total += parts[k]->shape[nd - 1];
    }
    tc_scalar *dst = malloc(sizeof(tc_scalar) * (size_t)(rows * total + 1));
    if (!dst) return false;
    for (int64_t r = 0; r < rows; r++) {
        int64_t at = 0;
        for (int k = 0; k < n; k++) {
            int64_t c = parts[k]->shape[nd - 1];
            memcpy(dst + r * total + at, parts[k]->data + r * c, sizeof(tc_scalar) * (size_t)c);
            at += c;
        }
    }
    memset(out, 0, sizeof *out);
    snprintf(out->key, sizeof out->key, "%s", key);
    out->stored = parts[0]->stored;
    out->ndim = nd;
    memcpy(out->shape, parts[0]->shape, sizeof(int64_t) * (size_t)nd);
    out->shape[nd - 1] = total;
    out->data = dst;
    return true;
}

/* Keras 1 recurrent weights, one (W, U, b) triple per gate: LSTM gates
 * i, c, f, o (12 arrays) become Keras 2's i, f, c, o; GRU z, r, h (9). */
static bool keras1_rnn(fweight *w, int n, const char *cls, fweight out[3], const char *prefix)
{
    static const int lstm[4] = {0, 2, 1, 3}, gru[3] = {0, 1, 2};
    bool is_lstm = !strcmp(cls, "LSTM");
    int gates = is_lstm ? 4 : 3;
    if (n != 3 * gates) return false;
    static const char *names[3] = {"kernel", "recurrent_kernel", "bias"};
    for (int part = 0; part < 3; part++) {
        fweight *p[4];
        for (int g = 0; g < gates; g++) p[g] = &w[3 * (is_lstm ? lstm[g] : gru[g]) + part];
        char key[96];
        snprintf(key, sizeof key, "%s%s", prefix, names[part]);
        if (!join_last(p, gates, &out[part], key)) {
            for (int k = 0; k < part; k++) free(out[k].data);
            return false;
        }
    }
    return true;
}

static bool replace_with_joined(fweights *fw, int from, int n, const char *cls, const char *prefix)
{
    fweight out[3];
    if (!keras1_rnn(fw->w + from, n, cls, out, prefix)) return false;
    for (int k = 0; k < n; k++) free(fw->w[from + k].data);
    memmove(fw->w + from + 3, fw->w + from + n, sizeof *fw->w * (size_t)(fw->n - from - n));
    memcpy(fw->w + from, out, sizeof out);
    fw->n -= n - 3;
    return true;
}

/* axes permuted: out axis d is in axis perm[d] */
static void permute(fweight *w, const int *perm)
{
    int nd = w->ndim;
    int64_t n = 1, in_str[TC_MAX_DIMS], shape[TC_MAX_DIMS];
    for (int d = nd - 1; d >= 0; d--) {
        in_str[d] = n;
        n *= w->shape[d];
    }
    for (int d = 0; d < nd; d++) shape[d] = w->shape[perm[d]];
    tc_scalar *dst = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
    if (!dst) return;
    int64_t idx[TC_MAX_DIMS] = {0};
    for (int64_t k = 0; k < n; k++) {
        int64_t src = 0;
        for (int d = 0; d < nd; d++) src += idx[d] * in_str[perm[d]];
        dst[k] = w->data[src];
        for (int d = nd - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    free(w->data);
    w->data = dst;
    memcpy(w->shape, shape, sizeof shape);
}

/* Theano convolved (flipped kernels); Keras' convert_kernel reverses every
 * axis but the last two (the spatial ones of HWIO). */
static void flip_spatial(fweight *w)
{
    int nd = w->ndim, ns = nd - 2;
    if (ns < 1) return;
    int64_t inner = w->shape[nd - 2] * w->shape[nd - 1], n = 1;
    for (int d = 0; d < ns; d++) n *= w->shape[d];
    tc_scalar *dst = malloc(sizeof(tc_scalar) * (size_t)(n * inner + 1));
    if (!dst) return;
    for (int64_t p = 0; p < n; p++) {
        /* position p -> the mirrored position on every spatial axis */
        int64_t rem = p, q = 0;
        for (int d = ns - 1, mul = 1; d >= 0; d--) {
            int64_t i = rem % w->shape[d];
            rem /= w->shape[d];
            q += (w->shape[d] - 1 - i) * mul;
            mul *= (int)w->shape[d];
        }
        memcpy(dst + q * inner, w->data + p * inner, sizeof(tc_scalar) * (size_t)inner);
    }
    free(w->data);
    w->data = dst;
}

static bool is_conv(const char *cls) { return !strcmp(cls, "Conv1D") || !strcmp(cls, "Conv2D") || !strcmp(cls, "Conv3D"); }

static bool shape_is(const fweight *w, const tc_tensor *t)
{
    if (w->ndim != t->ndim) return false;
    for (int d = 0; d < t->ndim; d++)
        if (w->shape[d] != t->shape[d]) return false;
    return true;
}

static void convert(fweights *fw, tc_layer *l, const tc_keras_file *f)
{
    const char *cls = tc_layer_type(l);
    bool k1 = f->keras_version[0] == '1';
    if (k1 && (!strcmp(cls, "LSTM") || !strcmp(cls, "GRU"))) replace_with_joined(fw, 0, fw->n, cls, "");
    if (k1 && !strcmp(cls, "Bidirectional") && tc_layer_wrapped(l) && fw->n % 2 == 0) {
        const char *inner = tc_layer_type(tc_layer_wrapped(l));
        int half = fw->n / 2;
        if (replace_with_joined(fw, half, half, inner, "backward/")) replace_with_joined(fw, 0, half, inner, "forward/");
    }
    if (is_conv(cls) && fw->n > 0 && tc_layer_weight_count(l) > 0) {
        fweight *k = &fw->w[0];
        const tc_tensor *mk = tc_layer_weight(l, 0);
        /* Keras 1 Conv1D kernels are (length, 1, in, filters) */
        if (k->ndim == 4 && mk->ndim == 3 && k->shape[1] == 1) {
            k->ndim = 3;
            memmove(k->shape + 1, k->shape + 2, sizeof(int64_t) * 2);
        }
        /* Theano's layout (filters, in, kh, kw) */
        if (k->ndim == 4 && !shape_is(k, mk) && k->shape[2] == mk->shape[0] && k->shape[3] == mk->shape[1] &&
            k->shape[1] == mk->shape[2] && k->shape[0] == mk->shape[3])
            permute(k, (const int[]){2, 3, 1, 0});
        if (f->backend && !strcmp(f->backend, "theano")) flip_spatial(k);
    }
}

/* ---- reading and pairing ------------------------------------------------------------------- */
static tc_status read_layer(const tc_keras_file *f, int i, const char *cls, fweights *fw)
{
    const kh5_layer *L = &f->layers[i];
    fw->n = 0;
    fw->w = calloc((size_t)L->n_weights + 1, sizeof *fw->w);
    if (!fw->w) return tc_error(TC_ERR_MEMORY, "keras %s: out of memory", f->path);
    for (int j = 0; j < L->n_weights; j++) {
        fweight *w = &fw->w[j];
        w->stored = L->w[j].name;
        w->ndim = L->w[j].ndim;
        memcpy(w->shape, L->w[j].shape, sizeof w->shape);
        make_key(w->stored, L->name, cls, w->key, sizeof w->key);
        w->data = malloc(sizeof(tc_scalar) * (size_t)(kh5_numel(&L->w[j]) + 1));
        fw->n++;
        if (!w->data) return tc_error(TC_ERR_MEMORY, "keras %s: out of memory for layer %s", f->path, L->name);
        if (kh5_read_weight(f, i, j, w->data) != TC_OK) return tc_last_status();
    }
    return TC_OK;
}

static char *fshape(const fweight *w, char *buf, size_t size) { return tc_dims_str(w->ndim, w->shape, buf, size); }

/* Pairs the weights of model layer l with the file's; fills src[k] with
 * the file weight of model weight k, or reports mismatches. */
static void pair_weights(tc_layer *l, const char *file_layer, fweights *fw, int *src, tc_mismatches *mm)
{
    int n = tc_layer_weight_count(l);
    char a[TC_SHAPE_STR_MAX], b[TC_SHAPE_STR_MAX], key[96];
    bool by_name = n == fw->n;
    for (int k = 0; k < n && by_name; k++) {
        model_key(tc_layer_weight_name(l, k), key, sizeof key);
        src[k] = -1;
        for (int j = 0; j < fw->n; j++)
            if (!strcmp(fw->w[j].key, key)) {
                if (src[k] >= 0) by_name = false; /* two of a name: the names say nothing */
                src[k] = j;
            }
        if (src[k] < 0) by_name = false;
        for (int q = 0; q < k && by_name; q++) by_name = src[q] != src[k];
    }
    if (!by_name) {
        if (n != fw->n) {
            char have[400] = "", want[400] = "";
            size_t u = 0, v = 0;
            for (int j = 0; j < fw->n && u < sizeof have; j++)
                u += (size_t)snprintf(have + u, sizeof have - u, "%s%s %s", j ? ", " : "", fw->w[j].stored,
                                      fshape(&fw->w[j], a, sizeof a));
            for (int k = 0; k < n && v < sizeof want; k++)
                v += (size_t)snprintf(want + v, sizeof want - v, "%s%s %s", k ? ", " : "", tc_layer_weight_name(l, k),
                                      tc_shape_str(tc_layer_weight(l, k), b, sizeof b));
            tc_mismatch(mm, "layer %s (%s) has %d weights (%s) but the file's %s has %d (%s)", tc_layer_name(l), tc_layer_type(l),
                     n, want, file_layer, fw->n, have);
            return;
        }
        for (int k = 0; k < n; k++) src[k] = k; /* Keras' own rule: by position */
    }
    for (int k = 0; k < n; k++) {
        const fweight *w = &fw->w[src[k]];
        const tc_tensor *t = tc_layer_weight(l, k);
        if (!shape_is(w, t))
            tc_mismatch(mm, "%s/%s is %s in the file (%s/%s) but %s in the model", tc_layer_name(l), tc_layer_weight_name(l, k),
                     fshape(w, a, sizeof a), file_layer, w->stored, tc_shape_str(t, b, sizeof b));
    }
}

typedef struct {
    tc_layer *layer;
    int file_layer;
    fweights fw;
    int src[TC_LAYER_MAX_WEIGHTS];
} pairing;

static int file_layers_with_weights(const tc_keras_file *f, int *idx)
{
    int n = 0;
    for (int i = 0; i < f->n_layers; i++)
        if (f->layers[i].n_weights > 0) idx[n++] = i;
    return n;
}

tc_status kh5_load_into(const tc_keras_file *f, tc_model *m, const tc_keras_load_opts *o)
{
    tc_keras_load_opts opts = o ? *o : (tc_keras_load_opts){0};
    int nl = tc_model_layer_count(m);
    pairing *p = calloc((size_t)nl + 1, sizeof *p);
    int *fidx = calloc((size_t)f->n_layers + 1, sizeof *fidx);
    bool *used = calloc((size_t)f->n_layers + 1, sizeof *used);
    if (!p || !fidx || !used) {
        free(p);
        free(fidx);
        free(used);
        return tc_error(TC_ERR_MEMORY, "keras %s: out of memory", f->path);
    }
    tc_mismatches mm = {0};
    int np = 0, nf = file_layers_with_weights(f, fidx), nm = 0;
    tc_status s = TC_OK;
    for (int i = 0; i < nl; i++)
        if (tc_layer_weight_count(tc_model_layer_at(m, i)) > 0) nm++;
    if (opts.by_order && nm != nf)
        tc_mismatch(&mm, "the file has %d layers with weights, the model %d", nf, nm);
    int k = 0;
    for (int i = 0; i < nl && s == TC_OK; i++) {
        tc_layer *l = tc_model_layer_at(m, i);
        if (tc_layer_weight_count(l) == 0) continue;
        int fi = -1;
        if (opts.by_order) {
            if (k < nf) fi = fidx[k++];
            else continue;
        } else {
            fi = kh5_find_layer(f, tc_layer_name(l));
            if (fi < 0 || f->layers[fi].n_weights == 0) {
                if (!opts.skip_missing)
                    tc_mismatch(&mm, "missing layer %s (%s, %d weights) in the file", tc_layer_name(l), tc_layer_type(l),
                             tc_layer_weight_count(l));
                continue;
            }
        }
        used[fi] = true;
        p[np].layer = l;
        p[np].file_layer = fi;
        s = read_layer(f, fi, tc_layer_type(l), &p[np].fw);
        np++;
        if (s != TC_OK) break;
        convert(&p[np - 1].fw, l, f);
        pair_weights(l, f->layers[fi].name, &p[np - 1].fw, p[np - 1].src, &mm);
    }
    for (int j = 0; s == TC_OK && !opts.by_order && !opts.skip_extra && j < nf; j++)
        if (!used[fidx[j]])
            tc_mismatch(&mm, "unexpected layer %s in the file (%d weights)", f->layers[fidx[j]].name, f->layers[fidx[j]].n_weights);
    if (s == TC_OK && mm.n) {
        s = tc_error(TC_ERR_SHAPE, "keras %s: the file does not fit model '%s' (%d mismatch%s)%s", f->path, tc_model_name(m),
                     mm.n, mm.n == 1 ? "" : "es", tc_mismatches_text(&mm));
    }
    for (int q = 0; s == TC_OK && q < np; q++)
        for (int w = 0; w < tc_layer_weight_count(p[q].layer); w++)
            tc_write_values(tc_layer_weight(p[q].layer, w), p[q].fw.w[p[q].src[w]].data);
    for (int q = 0; q < np; q++) fweights_free(&p[q].fw);
    free(p);
    free(fidx);
    free(used);
    return s;
}

tc_status tc_load_keras_weights(tc_model *m, const char *path, const tc_keras_load_opts *o)
{
    if (!m || !path) return tc_error(TC_ERR_ARG, "load_keras_weights: NULL %s", m ? "path" : "model");
    tc_keras_file *f = tc_keras_open(path);
    if (!f) return tc_last_status();
    tc_status s = kh5_load_into(f, m, o);
    tc_keras_close(f);
    return s;
}
