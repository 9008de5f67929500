/* MatConvNet SimpleNN .mat files through libmatio (see matconvnet.h).
 * Two passes: first every model layer is matched and shape-checked against
 * the file, then the values are copied, so that a failure changes nothing. */
#include "../core/internal.h"
#include "tensorcook/matconvnet.h"
#include "mat_check.h"

#include <ctype.h>
#include <matio.h>
#include <stdio.h>
#include <string.h>

/* matio logs to stderr by default; library code never prints. */
static void quiet_log(int level, char *message) { (void)level; (void)message; }

static mat_t *open_mat(const char *path) {
    /* libmatio allocates the sizes a file declares before reading its data: check them first */
    if (tc_mat_check_sizes(path) != TC_OK) return NULL;
    Mat_LogInitFunc("tensorcook", quiet_log);
    mat_t *m = Mat_Open(path, MAT_ACC_RDONLY);
    if (!m) tc_error(TC_ERR_FORMAT, "%s: not a readable MATLAB .mat file", path);
    return m;
}

void tc_matconvnet_keras_name(const char *s, char *out, size_t n) {
    int x = 0, y = 0, used = 0;
    if (sscanf(s, "conv%d_%d%n", &x, &y, &used) == 2 && s[used] == '\0')
        snprintf(out, n, "block%d_conv%d", x, y);
    else
        snprintf(out, n, "%s", s);
}

/* A char array field as a C string (NULL when absent or not text). */
/* Field lookup that tolerates a struct with no data (a damaged file gives
 * libmatio such structs; it crashes on them). */
static matvar_t *field(matvar_t *st, const char *name) {
    if (!st || st->class_type != MAT_C_STRUCT || !st->data) return NULL;
    unsigned nf = Mat_VarGetNumberOfFields(st);
    char *const *names = Mat_VarGetStructFieldnames(st);
    matvar_t **cells = st->data;
    if (!names || nf == 0 || st->nbytes / sizeof *cells < nf) return NULL;
    for (unsigned i = 0; i < nf; i++)
        if (names[i] && strcmp(names[i], name) == 0) return cells[i];
    return NULL;
}

static const char *field_text(matvar_t *st, const char *field_name, char *buf, size_t n) {
    matvar_t *f = field(st, field_name);
    if (!f || f->class_type != MAT_C_CHAR || !f->data) return NULL;
    size_t len = f->nbytes / (f->data_size ? (size_t)f->data_size : 1);
    if (len >= n) len = n - 1;
    if (f->data_type == MAT_T_UINT16 || f->data_type == MAT_T_UTF16) {
        const uint16_t *u = f->data;
        for (size_t i = 0; i < len; i++) buf[i] = u[i] < 128 ? (char)u[i] : '?';
    } else {
        memcpy(buf, f->data, len);
    }
    buf[len] = '\0';
    return buf;
}

static bool is_float(const matvar_t *v) {
    return v && v->data && !v->isComplex &&
           (v->class_type == MAT_C_SINGLE || v->class_type == MAT_C_DOUBLE);
}
static size_t numel(const matvar_t *v) {
    size_t n = 1;
    for (int i = 0; i < v->rank; i++) n *= v->dims[i];
    return n;
}
static double elem(const matvar_t *v, size_t i) {
    return v->class_type == MAT_C_SINGLE ? (double)((const float *)v->data)[i]
                                         : ((const double *)v->data)[i];
}

/* The kernel and bias arrays of a conv layer struct. */
static bool conv_arrays(matvar_t *st, matvar_t **F, matvar_t **b) {
    matvar_t *w = field(st, "weights");
    if (w && w->class_type == MAT_C_CELL) {
        *F = Mat_VarGetCell(w, 0);
        *b = Mat_VarGetCell(w, 1);
    } else {
        *F = field(st, "filters");
        *b = field(st, "biases");
    }
    return *F && *b;
}

static matvar_t *read_layers(mat_t *mf, const char *path, matvar_t **owner) {
    matvar_t *l = Mat_VarRead(mf, "layers");
    *owner = l;
    if (!l) {
        matvar_t *net = Mat_VarRead(mf, "net");
        *owner = net;
        l = field(net, "layers");
    }
    if (!l || l->class_type != MAT_C_CELL) {
        if (*owner) Mat_VarFree(*owner);
        *owner = NULL;
        tc_error(TC_ERR_FORMAT, "%s: no cell array 'layers' (not a MatConvNet SimpleNN file)", path);
        return NULL;
    }
    return l;
}

typedef struct { tc_tensor *kernel, *bias; matvar_t *F, *b; } match;

static tc_status match_layer(tc_layer *layer, matvar_t *cells, const char *path, match *mt) {
    const char *want = tc_layer_name(layer);
    size_t n = numel(cells);
    for (size_t i = 0; i < n; i++) {
        matvar_t *st = Mat_VarGetCell(cells, (int)i);
        char name[256], type[64], kname[300];
        if (!st || st->class_type != MAT_C_STRUCT) continue;
        if (!field_text(st, "name", name, sizeof name)) continue;
        tc_matconvnet_keras_name(name, kname, sizeof kname);
        if (strcmp(kname, want) != 0) continue;
        if (!field_text(st, "type", type, sizeof type) || strcmp(type, "conv") != 0)
            return tc_error(TC_ERR_FORMAT, "%s: layer %s is not of type 'conv'", path, name);
        if (!conv_arrays(st, &mt->F, &mt->b) || !is_float(mt->F) || !is_float(mt->b))
            return tc_error(TC_ERR_FORMAT, "%s: layer %s has no float weights {F, b}", path, name);
        const tc_tensor *k = mt->kernel;
        int64_t fd[4] = {1, 1, 1, 1};
        if (mt->F->rank > 4) return tc_error(TC_ERR_SHAPE, "%s: layer %s: kernel of rank %d", path, name, mt->F->rank);
        for (int d = 0; d < mt->F->rank; d++) fd[d] = (int64_t)mt->F->dims[d];
        if (k->ndim != 4 || fd[0] != k->shape[0] || fd[1] != k->shape[1] || fd[2] != k->shape[2] ||
            fd[3] != k->shape[3])
            return tc_error(TC_ERR_SHAPE,
                            "%s: layer %s: kernel %lldx%lldx%lldx%lld, the model's %s needs %lldx%lldx%lldx%lld",
                            path, name, (long long)fd[0], (long long)fd[1], (long long)fd[2], (long long)fd[3],
                            want, (long long)k->shape[0], (long long)k->shape[1], (long long)k->shape[2],
                            (long long)k->shape[3]);
        if (mt->bias && (int64_t)numel(mt->b) != mt->bias->shape[0])
            return tc_error(TC_ERR_SHAPE, "%s: layer %s: %zu biases, the model needs %lld", path, name,
                            numel(mt->b), (long long)mt->bias->shape[0]);
        return TC_OK;
    }
    return tc_error(TC_ERR_FORMAT, "%s: no layer for the model's %s", path, want);
}

/* Column-major F(h, w, c, k) -> row-major kernel[h][w][c][k]. */
static void copy_kernel(tc_tensor *k, const matvar_t *F) {
    int64_t H = k->shape[0], W = k->shape[1], C = k->shape[2], K = k->shape[3];
    for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t o = 0; o < K; o++)
                    k->data[((h * W + w) * C + c) * K + o] =
                        (tc_scalar)elem(F, (size_t)(h + H * (w + W * (c + C * o))));
}

tc_status tc_load_matconvnet_weights(tc_model *m, const char *path) {
    if (!m || !path) return tc_error(TC_ERR_ARG, "tc_load_matconvnet_weights: NULL argument");
    mat_t *mf = open_mat(path);
    if (!mf) return tc_last_status();
    matvar_t *owner = NULL;
    matvar_t *cells = read_layers(mf, path, &owner);
    if (!cells) { Mat_Close(mf); return TC_ERR_FORMAT; }
    int nl = tc_model_layer_count(m);
    match *mt = calloc((size_t)(nl > 0 ? nl : 1), sizeof *mt);
    tc_status st = mt ? TC_OK : tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    for (int i = 0; st == TC_OK && i < nl; i++) {
        tc_layer *l = tc_model_layer_at(m, i);
        if (tc_layer_weight_count(l) == 0) continue;
        for (int j = 0; j < tc_layer_weight_count(l); j++) {
            const char *wn = tc_layer_weight_name(l, j);
            if (strcmp(wn, "kernel") == 0) mt[i].kernel = tc_layer_weight(l, j);
            else if (strcmp(wn, "bias") == 0) mt[i].bias = tc_layer_weight(l, j);
            else st = tc_error(TC_ERR_UNSUPPORTED, "%s: the model's layer %s has a weight %s that MatConvNet conv layers lack",
                               path, tc_layer_name(l), wn);
        }
        if (st == TC_OK && !mt[i].kernel)
            st = tc_error(TC_ERR_UNSUPPORTED, "%s: the model's layer %s has no kernel", path, tc_layer_name(l));
        if (st == TC_OK) st = match_layer(l, cells, path, &mt[i]);
    }
    for (int i = 0; st == TC_OK && i < nl; i++) {
        if (!mt[i].kernel) continue;
        copy_kernel(mt[i].kernel, mt[i].F);
        if (mt[i].bias)
            for (int64_t o = 0; o < mt[i].bias->shape[0]; o++) mt[i].bias->data[o] = (tc_scalar)elem(mt[i].b, (size_t)o);
    }
    free(mt);
    Mat_VarFree(owner);
    Mat_Close(mf);
    return st;
}

tc_status tc_matconvnet_mean(const char *path, double mean_rgb[3]) {
    if (!path || !mean_rgb) return tc_error(TC_ERR_ARG, "tc_matconvnet_mean: NULL argument");
    mat_t *mf = open_mat(path);
    if (!mf) return tc_last_status();
    matvar_t *top = Mat_VarRead(mf, "meta"), *norm = NULL;
    norm = field(top, "normalization");
    if (!norm) {
        if (top) Mat_VarFree(top);
        top = Mat_VarRead(mf, "normalization");
        norm = top;
    }
    matvar_t *avg = field(norm, "averageImage");
    tc_status st = TC_OK;
    size_t n = avg && is_float(avg) ? numel(avg) : 0;
    if (n == 0 || n % 3 != 0) {
        st = tc_error(TC_ERR_FORMAT, "%s: no float meta.normalization.averageImage or normalization.averageImage of 3 channels", path);
    } else {
        size_t per = n / 3; /* column-major: the channel is the last (slowest) index */
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (size_t i = 0; i < per; i++) s += elem(avg, c * per + i);
            mean_rgb[c] = s / (double)per;
        }
    }
    if (top) Mat_VarFree(top);
    Mat_Close(mf);
    return st;
}
