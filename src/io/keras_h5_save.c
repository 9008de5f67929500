/* Writing a model's weights as Keras' save_weights does
 * (keras/engine/saving.py, save_weights_to_hdf5_group), so that Keras'
 * load_weights reads them:
 *   root attributes layer_names (fixed-length strings, split into
 *   layer_names0, layer_names1, ... as Keras splits lists longer than the
 *   64512-byte object header), backend, keras_version;
 *   one group per layer with the attribute weight_names ("dense/kernel:0",
 *   "bidirectional/forward_lstm/kernel:0") and float32 datasets at those
 *   paths, the '/' making nested groups.
 * The file is built in memory (HDF5's core driver) and its image written
 * with tc_write_file_atomic, the library's one atomic write. */
#include "keras_h5_internal.h"

#include <stdlib.h>

#define KERAS_HEADER_LIMIT 64512 /* HDF5_OBJECT_HEADER_LIMIT in Keras */
#define KERAS_VERSION_WRITTEN "2.2.4" /* the layout of this Keras version's saving.py */

/* Keras' save_attributes_to_hdf5_group: as many chunks as needed for each
 * to fit the header, split as numpy's array_split does. */
static tc_status write_list(hid_t obj, const char *name, const char *const *s, int n)
{
    size_t maxlen = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) > maxlen) maxlen = strlen(s[i]);
    if (maxlen > KERAS_HEADER_LIMIT) return tc_error(TC_ERR_ARG, "name of %zu bytes is too long for %s", maxlen, name);
    int chunks = 1;
    for (;; chunks++) {
        /* array_split: the first n % chunks parts get one more */
        size_t widest = 0;
        int at = 0;
        for (int c = 0; c < chunks; c++) {
            int len = n / chunks + (c < n % chunks ? 1 : 0);
            size_t w = 1;
            for (int i = at; i < at + len; i++)
                if (strlen(s[i]) > w) w = strlen(s[i]);
            if (w * (size_t)len > widest) widest = w * (size_t)len;
            at += len;
        }
        if (widest <= KERAS_HEADER_LIMIT || chunks >= n) break;
    }
    if (chunks == 1) return kh5_write_strings(obj, name, s, n);
    char key[300];
    int at = 0;
    for (int c = 0; c < chunks; c++) {
        int len = n / chunks + (c < n % chunks ? 1 : 0);
        snprintf(key, sizeof key, "%s%d", name, c);
        if (kh5_write_strings(obj, key, s + at, len) != TC_OK) return tc_last_status();
        at += len;
    }
    return TC_OK;
}

/* An empty list as Keras writes it: np.asarray([]), float64 of shape (0,). */
static tc_status write_empty_list(hid_t obj, const char *name)
{
    hid_t sp = H5Screate_simple(1, (hsize_t[]){0}, NULL);
    hid_t a = sp >= 0 ? H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    double none = 0;
    herr_t e = a >= 0 ? H5Awrite(a, H5T_NATIVE_DOUBLE, &none) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return e < 0 ? tc_error(TC_ERR_IO, "cannot write attribute %s", name) : TC_OK;
}

static tc_status write_dataset(hid_t g, const char *name, const tc_tensor *t, hid_t lcpl)
{
    hsize_t dims[TC_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) dims[d] = (hsize_t)t->shape[d];
    hid_t sp = t->ndim ? H5Screate_simple(t->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = sp >= 0 ? H5Dcreate2(g, name, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int64_t n = tc_numel(t);
    float *buf = malloc(sizeof(float) * (size_t)(n + 1));
    herr_t e = -1;
    if (d >= 0 && buf) {
        /* float32 on disk in every build; views are read by strides */
        tc_scalar *vals = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
        if (vals && tc_read_values(t, vals) == TC_OK) {
            for (int64_t k = 0; k < n; k++) buf[k] = (float)vals[k];
            e = H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        }
        free(vals);
    }
    free(buf);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return e < 0 ? tc_error(TC_ERR_IO, "cannot write dataset %s", name) : TC_OK;
}

static tc_status write_layer(hid_t file, const tc_layer *l, hid_t lcpl)
{
    const char *ln = tc_layer_name(l);
    hid_t g = H5Gcreate2(file, ln, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return tc_error(TC_ERR_IO, "cannot create group %s", ln);
    int n = tc_layer_weight_count(l);
    char names[TC_LAYER_MAX_WEIGHTS][160];
    const char *ptr[TC_LAYER_MAX_WEIGHTS];
    tc_status s = TC_OK;
    for (int k = 0; k < n; k++) {
        /* TensorFlow's variable names: LAYER/WEIGHT:0 */
        snprintf(names[k], sizeof names[k], "%s/%s:0", ln, tc_layer_weight_name(l, k));
        ptr[k] = names[k];
    }
    s = n ? write_list(g, "weight_names", ptr, n) : write_empty_list(g, "weight_names");
    for (int k = 0; k < n && s == TC_OK; k++) s = write_dataset(g, names[k], tc_layer_weight(l, k), lcpl);
    H5Gclose(g);
    return s;
}

tc_status tc_save_keras_weights(const tc_model *m, const char *path)
{
    if (!m || !path || !path[0]) return tc_error(TC_ERR_ARG, "save_keras_weights: NULL %s", m ? "path" : "model");
    kh5_quiet q = kh5_quiet_begin();
    /* an in-memory file, never backed by a file on disk */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0
                     ? H5Fcreate("tensorcook-keras-export.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                     : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (file < 0) {
        char why[160];
        kh5_hdf5_reason(why);
        kh5_quiet_end(q);
        return tc_error(TC_ERR_IO, "keras %s: cannot create an HDF5 file%s%s", path, why[0] ? ": " : "", why);
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    int nl = tc_model_layer_count(m);
    const char **names = calloc((size_t)nl + 1, sizeof *names);
    tc_status s = names ? TC_OK : tc_error(TC_ERR_MEMORY, "out of memory");
    for (int i = 0; i < nl && s == TC_OK; i++) names[i] = tc_layer_name(tc_model_layer_at(m, i));
    if (s == TC_OK) s = nl ? write_list(file, "layer_names", names, nl) : write_empty_list(file, "layer_names");
    if (s == TC_OK) s = kh5_write_strings(file, "backend", (const char *[]){"tensorflow"}, -1);
    if (s == TC_OK) s = kh5_write_strings(file, "keras_version", (const char *[]){KERAS_VERSION_WRITTEN}, -1);
    for (int i = 0; i < nl && s == TC_OK; i++) s = write_layer(file, tc_model_layer_at(m, i), lcpl);
    free(names);
    H5Pclose(lcpl);
    void *image = NULL;
    ssize_t size = -1;
    if (s == TC_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0 && (size = H5Fget_file_image(file, NULL, 0)) > 0 &&
        (image = malloc((size_t)size)) && H5Fget_file_image(file, image, (size_t)size) != size)
        size = -1;
    if (s == TC_OK && (size <= 0 || !image)) s = tc_error(TC_ERR_IO, "cannot take the file's image");
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    kh5_quiet_end(q);
    if (s == TC_OK) s = tc_write_file_atomic(path, image, (size_t)size);
    free(image);
    if (s != TC_OK) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        return tc_error(s, "keras %s: write failed: %s", path, inner);
    }
    return TC_OK;
}
