/* Reading the layer table of a Keras .h5 file, as Keras' loader does
 * (keras/engine/saving.py, load_weights_from_hdf5_group):
 *   - the group with the weights is the root (save_weights) or
 *     /model_weights (a full-model file, which also has the root attribute
 *     model_config);
 *   - its attribute layer_names lists the layers (split into layer_names0,
 *     layer_names1, ... when the list would exceed the 64 KB object header);
 *   - each layer is a group with the attribute weight_names, the datasets'
 *     paths relative to it, nested by the '/' in the names
 *     ("block1_conv1/kernel:0") or flat in Keras 1 files ("block1_conv1_W_1:0");
 *   - keras_version absent means Keras 1; backend says how kernels were stored.
 * Strings come fixed-length (Keras writes numpy bytes) or variable-length
 * UTF-8 (h5py's Python str); both are read with a memory type of the
 * file's character set. Only the table is read here; values on demand. */
#include "keras_h5_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#define KH5_MAX_STRINGS (1 << 20)     /* names in one attribute */
#define KH5_MAX_ATTR_BYTES (64 << 20) /* bytes of one string attribute */

/* HDF5 closes itself at exit and, when a corrupt file left its metadata
 * cache in a state it cannot close, prints "HDF5: infinite loop closing
 * library" and a trace to stderr: the library must not print, so HDF5 is
 * told not to register that handler (the process's memory goes anyway). */
static pthread_once_t no_atexit = PTHREAD_ONCE_INIT;
static void hdf5_no_atexit(void) { H5dont_atexit(); }

kh5_quiet kh5_quiet_begin(void)
{
    pthread_once(&no_atexit, hdf5_no_atexit);
    kh5_quiet q = {0};
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void kh5_quiet_end(kh5_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.fn, q.data); }

/* The innermost description on HDF5's error stack (e.g. "unable to lock
 * file" or "truncated file: eof = ..."), for messages. */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(data, 160, "%s", e->desc);
    return 0;
}

const char *kh5_hdf5_reason(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

void kh5_free_strings(char **s, int n)
{
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

/* One attribute (no chunks). */
static char **read_one(hid_t obj, const char *name, int *n, char *problem, size_t psize)
{
    *n = -1;
    char **out = NULL;
    hid_t a = -1, ft = -1, sp = -1, mt = -1;
    if (H5Aexists(obj, name) <= 0) {
        snprintf(problem, psize, "no attribute %s", name);
        return NULL;
    }
    if ((a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0) {
        snprintf(problem, psize, "attribute %s is unreadable", name);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    if (rank < 0 || count < 0 || rank > 1) {
        snprintf(problem, psize, "attribute %s is not a list of strings (rank %d)", name, rank);
        goto done;
    }
    if (sc == H5S_NULL || count == 0) { /* an empty list, whatever its type (Keras: float64 []) */
        *n = 0;
        out = calloc(1, sizeof *out);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING) {
        snprintf(problem, psize, "attribute %s is not a string", name);
        goto done;
    }
    if (count > KH5_MAX_STRINGS) {
        snprintf(problem, psize, "attribute %s has %lld strings", name, (long long)count);
        goto done;
    }
    int cnt = (int)count;
    H5T_cset_t cset = H5Tget_cset(ft);
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || (cset >= 0 && H5Tset_cset(mt, cset) < 0)) {
        snprintf(problem, psize, "attribute %s: bad string type", name);
        goto done;
    }
    out = calloc((size_t)cnt + 1, sizeof *out);
    if (!out) {
        snprintf(problem, psize, "out of memory");
        goto done;
    }
    if (H5Tis_variable_str(ft) > 0) {
        char **raw = calloc((size_t)cnt, sizeof *raw);
        if (!raw || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, raw) < 0) {
            /* a read that fails half-way leaves the strings it made */
            for (int i = 0; raw && i < cnt; i++)
                if (raw[i]) H5free_memory(raw[i]);
            free(raw);
            snprintf(problem, psize, "attribute %s is unreadable", name);
            goto fail;
        }
        for (int i = 0; i < cnt; i++) out[i] = strdup(raw[i] ? raw[i] : "");
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
        free(raw);
    } else {
        size_t size = H5Tget_size(ft);
        if (size == 0 || size > KH5_MAX_ATTR_BYTES || (size + 1) * (size_t)cnt > KH5_MAX_ATTR_BYTES) {
            snprintf(problem, psize, "attribute %s is too large", name);
            goto fail;
        }
        char *buf = calloc((size_t)cnt, size + 1);
        /* one byte more per string and null-terminated: every string ends */
        if (!buf || H5Tset_size(mt, size + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || H5Aread(a, mt, buf) < 0) {
            free(buf);
            snprintf(problem, psize, "attribute %s is unreadable", name);
            goto fail;
        }
        for (int i = 0; i < cnt; i++) {
            buf[(size_t)i * (size + 1) + size] = '\0';
            out[i] = strdup(buf + (size_t)i * (size + 1));
        }
        free(buf);
    }
    for (int i = 0; i < cnt; i++)
        if (!out[i]) {
            snprintf(problem, psize, "out of memory");
            goto fail;
        }
    *n = cnt;
    goto done;
fail:
    kh5_free_strings(out, cnt);
    out = NULL;
done:
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return out;
}

char **kh5_read_strings(hid_t obj, const char *name, bool chunks, int *n, char *problem, size_t psize)
{
    if (!chunks || H5Aexists(obj, name) > 0) return read_one(obj, name, n, problem, psize);
    /* Keras' save_attributes_to_hdf5_group: name0, name1, ... */
    char key[256];
    char **all = NULL;
    int total = 0;
    for (int c = 0;; c++) {
        snprintf(key, sizeof key, "%s%d", name, c);
        if (H5Aexists(obj, key) <= 0) {
            if (c == 0) {
                snprintf(problem, psize, "no attribute %s", name);
                *n = -1;
                return NULL;
            }
            break;
        }
        int k;
        char **part = read_one(obj, key, &k, problem, psize);
        if (!part || total + k > KH5_MAX_STRINGS) {
            if (part) snprintf(problem, psize, "attribute %s has too many strings", name);
            kh5_free_strings(part, k);
            kh5_free_strings(all, total);
            *n = -1;
            return NULL;
        }
        char **g = realloc(all, sizeof *g * ((size_t)total + (size_t)k + 1));
        if (!g) {
            kh5_free_strings(part, k);
            kh5_free_strings(all, total);
            snprintf(problem, psize, "out of memory");
            *n = -1;
            return NULL;
        }
        all = g;
        memcpy(all + total, part, sizeof *part * (size_t)k);
        total += k;
        free(part);
    }
    *n = total;
    return all;
}

tc_status kh5_write_strings(hid_t obj, const char *name, const char *const *s, int n)
{
    size_t len = 1;
    for (int i = 0; i < (n < 0 ? 1 : n); i++)
        if (strlen(s[i]) > len) len = strlen(s[i]);
    int cnt = n < 0 ? 1 : n;
    char *buf = calloc((size_t)(cnt ? cnt : 1), len);
    if (!buf) return tc_error(TC_ERR_MEMORY, "out of memory");
    for (int i = 0; i < cnt; i++) memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    hid_t t = H5Tcopy(H5T_C_S1), sp;
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLPAD); /* as numpy's bytes ('S') type */
    sp = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, (hsize_t[]){(hsize_t)n}, NULL);
    hid_t a = sp >= 0 ? H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t e = a >= 0 ? H5Awrite(a, t, buf) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    H5Tclose(t);
    free(buf);
    return e < 0 ? tc_error(TC_ERR_IO, "cannot write attribute %s", name) : TC_OK;
}

int64_t kh5_numel(const kh5_weight *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->ndim; d++) n *= w->shape[d];
    return n;
}

int kh5_find_layer(const tc_keras_file *f, const char *name)
{
    for (int i = 0; f && name && i < f->n_layers; i++)
        if (!strcmp(f->layers[i].name, name)) return i;
    return -1;
}

/* Opens dataset `name` of layer group g and checks it holds numbers of a
 * shape tensorcook can hold, with the data present in the file. */
static hid_t open_weight(hid_t g, const char *name, kh5_weight *w, char *problem, size_t psize)
{
    hid_t d = -1, sp = -1, t = -1, dcpl = -1;
    if (!name[0] || name[0] == '/' || H5Lexists(g, name, H5P_DEFAULT) <= 0 ||
        H5Oexists_by_name(g, name, H5P_DEFAULT) <= 0 || (d = H5Dopen2(g, name, H5P_DEFAULT)) < 0) {
        snprintf(problem, psize, "no dataset %s", name);
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    sp = H5Dget_space(d);
    t = H5Dget_type(d);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    hsize_t dims[H5S_MAX_RANK];
    if (rank < 0 || rank > TC_MAX_DIMS || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        snprintf(problem, psize, "dataset %s has rank %d (at most %d)", name, rank, TC_MAX_DIMS);
        goto fail;
    }
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        snprintf(problem, psize, "dataset %s does not hold numbers", name);
        goto fail;
    }
    w->ndim = rank;
    double numel = 1;
    for (int k = 0; k < rank; k++) {
        w->shape[k] = (int64_t)dims[k];
        numel *= (double)dims[k];
    }
    if (numel > (double)(1LL << 33)) {
        snprintf(problem, psize, "dataset %s is too large", name);
        goto fail;
    }
    /* uncompressed data must be in the file: a truncated or forged file is
     * refused here instead of read as fill values or huge allocations */
    dcpl = H5Dget_create_plist(d);
    size_t esize = H5Tget_size(t);
    if (dcpl >= 0 && H5Pget_nfilters(dcpl) == 0 && numel > 0 &&
        (double)H5Dget_storage_size(d) < numel * (double)esize) {
        snprintf(problem, psize, "dataset %s has %llu of its %.0f bytes", name, (unsigned long long)H5Dget_storage_size(d),
                 numel * (double)esize);
        goto fail;
    }
    H5Pclose(dcpl);
    H5Tclose(t);
    H5Sclose(sp);
    return d;
fail:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return -1;
}

static int open_layer(tc_keras_file *f, int i, char *problem, size_t psize)
{
    kh5_layer *L = &f->layers[i];
    const char *ln = L->name;
    if (!ln[0] || ln[0] == '/' || !strcmp(ln, ".") || H5Lexists(f->root, ln, H5P_DEFAULT) <= 0) {
        snprintf(problem, psize, "layer %s listed in layer_names has no group", ln);
        return -1;
    }
    hid_t g = H5Gopen2(f->root, ln, H5P_DEFAULT);
    if (g < 0) {
        snprintf(problem, psize, "layer %s is not a group", ln);
        return -1;
    }
    int n = 0;
    char inner[300];
    char **names = kh5_read_strings(g, "weight_names", true, &n, inner, sizeof inner);
    if (!names) {
        snprintf(problem, psize, "layer %s: %s", ln, inner);
        H5Gclose(g);
        return -1;
    }
    L->w = calloc((size_t)n + 1, sizeof *L->w);
    if (!L->w) {
        kh5_free_strings(names, n);
        H5Gclose(g);
        snprintf(problem, psize, "out of memory");
        return -1;
    }
    L->n_weights = n;
    int rc = 0;
    for (int j = 0; j < n; j++) {
        L->w[j].name = names[j];
        names[j] = NULL;
        if (rc) continue;
        hid_t d = open_weight(g, L->w[j].name, &L->w[j], inner, sizeof inner);
        if (d < 0) {
            snprintf(problem, psize, "layer %s: %s", ln, inner);
            rc = -1;
        } else H5Dclose(d);
    }
    free(names);
    H5Gclose(g);
    return rc;
}

/* Class of each layer from model_config (Sequential: config.layers or, in
 * Keras 2.0/2.1, config itself; functional: config.layers). Nested models
 * are not looked into. */
static json_object *config_layers(json_object *cfg)
{
    json_object *c = NULL, *layers = NULL;
    if (!json_object_object_get_ex(cfg, "config", &c)) return NULL;
    if (json_object_is_type(c, json_type_array)) return c;
    if (json_object_object_get_ex(c, "layers", &layers) && json_object_is_type(layers, json_type_array)) return layers;
    return NULL;
}

static void set_classes(tc_keras_file *f)
{
    json_object *layers = config_layers(f->config);
    for (size_t k = 0; layers && k < json_object_array_length(layers); k++) {
        json_object *l = json_object_array_get_idx(layers, k), *cls = NULL, *c = NULL, *nm = NULL;
        if (!json_object_object_get_ex(l, "class_name", &cls)) continue;
        if (!json_object_object_get_ex(l, "name", &nm) &&
            !(json_object_object_get_ex(l, "config", &c) && json_object_object_get_ex(c, "name", &nm)))
            continue;
        int i = kh5_find_layer(f, json_object_get_string(nm));
        if (i >= 0) f->layers[i].cls = json_object_get_string(cls);
    }
}

static char *read_scalar_string(hid_t obj, const char *name)
{
    char problem[200];
    int n = 0;
    char **s = kh5_read_strings(obj, name, false, &n, problem, sizeof problem);
    if (!s) return NULL;
    char *out = n >= 1 ? s[0] : NULL;
    if (n >= 1) s[0] = NULL;
    kh5_free_strings(s, n);
    return out;
}

void tc_keras_close(tc_keras_file *f)
{
    if (!f) return;
    kh5_quiet q = kh5_quiet_begin();
    for (int i = 0; i < f->n_layers; i++) {
        for (int j = 0; j < f->layers[i].n_weights; j++) free(f->layers[i].w[j].name);
        free(f->layers[i].w);
        free(f->layers[i].name);
    }
    free(f->layers);
    free(f->keras_version);
    free(f->backend);
    if (f->config) json_object_put(f->config);
    if (f->root >= 0 && f->root != f->file) H5Gclose(f->root);
    if (f->file >= 0) H5Fclose(f->file);
    kh5_quiet_end(q);
    free(f->path);
    free(f);
}

static tc_keras_file *fail(tc_keras_file *f, tc_status s, const char *path, const char *problem)
{
    tc_keras_close(f);
    tc_error(s, "keras %s: %s", path, problem);
    return NULL;
}

tc_keras_file *tc_keras_open(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "keras: path is NULL");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) return fail(NULL, TC_ERR_IO, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail(NULL, TC_ERR_IO, path, "not a regular file");
    if (st.st_size == 0) return fail(NULL, TC_ERR_FORMAT, path, "empty file");
    FILE *probe = fopen(path, "rb");
    if (!probe) return fail(NULL, TC_ERR_IO, path, strerror(errno));
    fclose(probe);

    kh5_quiet q = kh5_quiet_begin();
    tc_keras_file *f = calloc(1, sizeof *f);
    char problem[700];
    if (!f || !(f->path = strdup(path))) {
        free(f);
        kh5_quiet_end(q);
        return fail(NULL, TC_ERR_MEMORY, path, "out of memory");
    }
    f->file = f->root = -1;
    if (H5Fis_hdf5(path) <= 0) {
        kh5_quiet_end(q);
        return fail(f, TC_ERR_FORMAT, path, "not an HDF5 file");
    }
    f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0) {
        char why[160];
        kh5_hdf5_reason(why);
        kh5_quiet_end(q);
        snprintf(problem, sizeof problem, "not a readable HDF5 file (truncated or corrupt%s%s)", why[0] ? "; HDF5: " : "", why);
        return fail(f, TC_ERR_FORMAT, path, problem);
    }
    f->root = f->file;
    /* a full-model file keeps the weights in model_weights */
    if (H5Lexists(f->file, "model_weights", H5P_DEFAULT) > 0 && H5Aexists(f->file, "layer_names") <= 0 &&
        H5Aexists(f->file, "layer_names0") <= 0) {
        f->root = H5Gopen2(f->file, "model_weights", H5P_DEFAULT);
        if (f->root < 0) {
            kh5_quiet_end(q);
            return fail(f, TC_ERR_FORMAT, path, "model_weights is not a group");
        }
    }
    int n = 0;
    char inner[300];
    char **names = kh5_read_strings(f->root, "layer_names", true, &n, inner, sizeof inner);
    if (!names) {
        kh5_quiet_end(q);
        snprintf(problem, sizeof problem, "not a Keras weight file (%s%s)", inner,
                 f->root == f->file ? "" : " in model_weights");
        return fail(f, TC_ERR_FORMAT, path, problem);
    }
    f->layers = calloc((size_t)n + 1, sizeof *f->layers);
    if (!f->layers) {
        kh5_free_strings(names, n);
        kh5_quiet_end(q);
        return fail(f, TC_ERR_MEMORY, path, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        f->layers[i].name = names[i];
        f->n_layers++;
    }
    free(names);
    for (int i = 0; i < f->n_layers; i++) {
        for (int k = 0; k < i; k++)
            if (!strcmp(f->layers[k].name, f->layers[i].name)) {
                kh5_quiet_end(q);
                snprintf(problem, sizeof problem, "layer %s is listed twice in layer_names", f->layers[i].name);
                return fail(f, TC_ERR_FORMAT, path, problem);
            }
        if (open_layer(f, i, problem, sizeof problem) != 0) {
            kh5_quiet_end(q);
            return fail(f, TC_ERR_FORMAT, path, problem);
        }
    }
    f->keras_version = read_scalar_string(f->root, "keras_version");
    if (!f->keras_version) f->keras_version = read_scalar_string(f->file, "keras_version");
    if (!f->keras_version) f->keras_version = strdup("1");
    f->backend = read_scalar_string(f->root, "backend");
    if (!f->backend) f->backend = read_scalar_string(f->file, "backend");
    char *cfg = H5Aexists(f->file, "model_config") > 0 ? read_scalar_string(f->file, "model_config") : NULL;
    H5Eclear2(H5E_DEFAULT);
    kh5_quiet_end(q);
    if (!f->keras_version) return fail(f, TC_ERR_MEMORY, path, "out of memory");
    if (cfg) {
        enum json_tokener_error je = json_tokener_success;
        f->config = json_tokener_parse_verbose(cfg, &je);
        free(cfg);
        json_object *cls = NULL;
        if (!f->config || !json_object_is_type(f->config, json_type_object)) {
            snprintf(problem, sizeof problem, "model_config is not a JSON object (%s)",
                     f->config ? "another JSON value" : json_tokener_error_desc(je));
            return fail(f, TC_ERR_FORMAT, path, problem);
        }
        if (json_object_object_get_ex(f->config, "class_name", &cls) && json_object_is_type(cls, json_type_string))
            f->model_class = json_object_get_string(cls);
        else return fail(f, TC_ERR_FORMAT, path, "model_config has no class_name");
        set_classes(f);
    }
    return f;
}

tc_status kh5_read_weight(const tc_keras_file *f, int i, int j, tc_scalar *dst)
{
    kh5_quiet q = kh5_quiet_begin();
    const kh5_weight *w = &f->layers[i].w[j];
    hid_t g = H5Gopen2(f->root, f->layers[i].name, H5P_DEFAULT);
    hid_t d = g >= 0 ? H5Dopen2(g, w->name, H5P_DEFAULT) : -1;
#ifdef TC_DOUBLE
    hid_t mt = H5T_NATIVE_DOUBLE;
#else
    hid_t mt = H5T_NATIVE_FLOAT;
#endif
    /* HDF5 converts any stored float or integer type (and byte order) */
    herr_t e = d >= 0 && kh5_numel(w) > 0 ? H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) : (d >= 0 ? 0 : -1);
    if (d >= 0) H5Dclose(d);
    if (g >= 0) H5Gclose(g);
    H5Eclear2(H5E_DEFAULT);
    kh5_quiet_end(q);
    if (e < 0)
        return tc_error(TC_ERR_FORMAT, "keras %s: layer %s: dataset %s is unreadable (truncated or corrupt)", f->path,
                        f->layers[i].name, w->name);
    return TC_OK;
}

/* ---- inspection ------------------------------------------------------------------- */
const char *tc_keras_file_version(const tc_keras_file *f) { return f ? f->keras_version : NULL; }
const char *tc_keras_file_backend(const tc_keras_file *f) { return f ? f->backend : NULL; }
const char *tc_keras_file_model_class(const tc_keras_file *f) { return f ? f->model_class : NULL; }
int tc_keras_file_layer_count(const tc_keras_file *f) { return f ? f->n_layers : 0; }

static bool layer_ok(const tc_keras_file *f, int i) { return f && i >= 0 && i < f->n_layers; }
const char *tc_keras_file_layer_name(const tc_keras_file *f, int i) { return layer_ok(f, i) ? f->layers[i].name : NULL; }
const char *tc_keras_file_layer_class(const tc_keras_file *f, int i) { return layer_ok(f, i) ? f->layers[i].cls : NULL; }
int tc_keras_file_weight_count(const tc_keras_file *f, int i) { return layer_ok(f, i) ? f->layers[i].n_weights : 0; }

const char *tc_keras_file_weight_name(const tc_keras_file *f, int i, int j)
{
    return layer_ok(f, i) && j >= 0 && j < f->layers[i].n_weights ? f->layers[i].w[j].name : NULL;
}

int tc_keras_file_weight_shape(const tc_keras_file *f, int i, int j, int64_t *shape)
{
    if (!layer_ok(f, i) || j < 0 || j >= f->layers[i].n_weights) return -1;
    const kh5_weight *w = &f->layers[i].w[j];
    if (shape) memcpy(shape, w->shape, sizeof(int64_t) * (size_t)w->ndim);
    return w->ndim;
}

int64_t tc_keras_file_param_count(const tc_keras_file *f)
{
    int64_t n = 0;
    for (int i = 0; f && i < f->n_layers; i++)
        for (int j = 0; j < f->layers[i].n_weights; j++) n += kh5_numel(&f->layers[i].w[j]);
    return n;
}
