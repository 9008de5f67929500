/* NumPy .npy files (numpy/lib/format.py): the magic "\x93NUMPY", format
 * version major.minor (1.0: u16 header length; 2.0 and 3.0: u32; 3.0's
 * header is UTF-8), then a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the data in C order.
 * Read: little-endian (or one-byte) floats, integers and booleans, all
 * converted to tc_scalar; Fortran order and big-endian data are refused.
 * Written: version 1.0 (2.0 when the header needs it), '<f4', C order,
 * the header padded to a multiple of 64 bytes as NumPy does. */
#include "../core/internal.h"
#include "tensorcook/io.h"

#include <errno.h>
#include <stdlib.h>

static tc_tensor *npy_fail(const char *name, const char *problem)
{
    tc_error(TC_ERR_FORMAT, "npy %s: %s", name, problem);
    return NULL;
}

/* the value text after 'key': in the header, or NULL */
static const char *find_key(const char *h, const char *key)
{
    char q1[64], q2[64];
    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    const char *p = strstr(h, q1);
    if (!p) p = strstr(h, q2);
    if (!p) return NULL;
    p += strlen(q1);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

typedef enum { K_FLOAT, K_INT, K_UINT, K_BOOL } kind;

tc_tensor *tc_npy_parse(const void *data, size_t size, const char *name)
{
    const uint8_t *b = data;
    if (!name) name = "(memory)";
    if (!b || size == 0) return npy_fail(name, "empty file");
    if (size < 10 || memcmp(b, "\x93NUMPY", 6)) return npy_fail(name, "not a .npy file (bad magic)");
    unsigned major = b[6], minor = b[7];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return npy_fail(name, "truncated header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        char msg[80];
        snprintf(msg, sizeof msg, "unsupported format version %u.%u (reads 1.0, 2.0, 3.0)", major, minor);
        return npy_fail(name, msg);
    }
    if (hlen > size - hstart) return npy_fail(name, "truncated header");
    char *h = malloc(hlen + 1);
    if (!h) return npy_fail(name, "out of memory");
    memcpy(h, b + hstart, hlen);
    h[hlen] = '\0';
    if (strlen(h) != hlen) {
        free(h);
        return npy_fail(name, "header contains a NUL byte");
    }
    tc_tensor *t = NULL;
    const char *problem = NULL;
    char msg[160];
    const char *d = find_key(h, "descr"), *fo = find_key(h, "fortran_order"), *sh = find_key(h, "shape");
    if (!d || !fo || !sh || (*d != '\'' && *d != '"')) {
        problem = "header lacks descr, fortran_order or shape";
        goto done;
    }
    /* descr: byte order, kind, size, e.g. <f4 (checked inside its quotes) */
    const char *close = strchr(d + 1, d[0]);
    if (!close || close - d - 1 < 3 || close - d - 1 > 4) {
        problem = "unreadable descr";
        goto done;
    }
    char order = d[1], kc = d[2];
    int isz = 0;
    char digits[3] = {d[3], close - d - 1 == 4 ? d[4] : '\0', '\0'};
    if (strspn(digits, "0123456789") != strlen(digits) || sscanf(digits, "%d", &isz) != 1) {
        problem = "unreadable descr";
        goto done;
    }
    kind k;
    if (kc == 'f' && (isz == 4 || isz == 8)) k = K_FLOAT;
    else if (kc == 'i' && (isz == 1 || isz == 2 || isz == 4 || isz == 8)) k = K_INT;
    else if (kc == 'u' && (isz == 1 || isz == 2 || isz == 4 || isz == 8)) k = K_UINT;
    else if (kc == 'b' && isz == 1) k = K_BOOL;
    else {
        snprintf(msg, sizeof msg, "unsupported dtype %.*s (reads float32/64, integers, bool)", (int)(close - d - 1), d + 1);
        problem = msg;
        goto done;
    }
    if (order == '>' && isz > 1) {
        problem = "big-endian data is not supported (save it little-endian: a.astype('<f4'))";
        goto done;
    }
    if (order != '<' && order != '|' && order != '=' && order != '>') {
        problem = "unreadable descr byte order";
        goto done;
    }
    if (!strncmp(fo, "True", 4)) {
        problem = "Fortran order is not supported (save a C-ordered array: np.ascontiguousarray)";
        goto done;
    }
    if (strncmp(fo, "False", 5)) {
        problem = "unreadable fortran_order";
        goto done;
    }
    if (*sh != '(') {
        problem = "unreadable shape";
        goto done;
    }
    int64_t shape[TC_MAX_DIMS];
    int nd = 0;
    const char *p = sh + 1;
    double numel = 1;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0) {
            problem = "unreadable shape";
            goto done;
        }
        if (nd == TC_MAX_DIMS) {
            snprintf(msg, sizeof msg, "more than %d dimensions", TC_MAX_DIMS);
            problem = msg;
            goto done;
        }
        shape[nd++] = v;
        numel *= (double)v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') {
            problem = "unreadable shape";
            goto done;
        }
    }
    size_t start = hstart + hlen;
    double want = numel * isz;
    if (want > (double)(size - start)) {
        snprintf(msg, sizeof msg, "truncated: the header announces %.0f data bytes, the file has %zu", want, size - start);
        problem = msg;
        goto done;
    }
    if (want < (double)(size - start)) {
        snprintf(msg, sizeof msg, "%zu bytes after the data the header announces", size - start - (size_t)want);
        problem = msg;
        goto done;
    }
    t = tc_tensor_new(nd, shape);
    if (!t) {
        problem = "out of memory";
        goto done;
    }
    const uint8_t *src = b + start;
    int64_t n = (int64_t)numel;
    for (int64_t i = 0; i < n; i++, src += isz) {
        /* little-endian bytes -> value, on any host */
        uint64_t u = 0;
        for (int k2 = isz - 1; k2 >= 0; k2--) u = u << 8 | src[k2];
        double v;
        if (k == K_FLOAT && isz == 4) {
            uint32_t u32 = (uint32_t)u;
            float fv;
            memcpy(&fv, &u32, 4);
            v = fv;
        } else if (k == K_FLOAT) {
            memcpy(&v, &u, 8);
        } else if (k == K_INT) {
            int sh_ = 64 - 8 * isz;
            v = (double)((int64_t)(u << sh_) >> sh_);
        } else if (k == K_UINT) v = (double)u;
        else v = u != 0;
        t->data[i] = (tc_scalar)v;
    }
done:
    free(h);
    if (problem) return npy_fail(name, problem);
    return t;
}

tc_tensor *tc_npy_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "npy: path is NULL");
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t n = 0;
    if (tc_read_file(path, 0, &buf, &n) != TC_OK) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_error(tc_last_status(), "npy %s", inner);
        return NULL;
    }
    tc_tensor *t = tc_npy_parse(buf, n, path);
    free(buf);
    return t;
}

tc_status tc_npy_save(const char *path, const tc_tensor *t)
{
    if (!path || !t) return tc_error(TC_ERR_ARG, "npy_save: NULL %s", path ? "tensor" : "path");
    char dict[400];
    size_t u = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < t->ndim; d++) u += (size_t)snprintf(dict + u, sizeof dict - u, "%lld, ", (long long)t->shape[d]);
    if (t->ndim > 1) u -= 2; /* "(2, 3)" but "(3,)" as Python writes a 1-tuple */
    if (t->ndim == 1) u -= 1;
    u += (size_t)snprintf(dict + u, sizeof dict - u, "), }");
    /* pad with spaces to a 64-byte multiple, ending in '\n' */
    size_t pre = 10, total = pre + u + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - pre;
    int64_t n = tc_numel(t);
    size_t bytes = total + 4 * (size_t)n;
    uint8_t *buf = malloc(bytes + 1);
    tc_scalar *vals = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
    if (!buf || !vals || tc_read_values(t, vals) != TC_OK) {
        free(buf);
        free(vals);
        return tc_error(TC_ERR_MEMORY, "npy %s: out of memory", path);
    }
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hlen & 255);
    buf[9] = (uint8_t)(hlen >> 8);
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, u);
    buf[total - 1] = '\n';
    for (int64_t i = 0; i < n; i++) {
        float fv = (float)vals[i];
        uint32_t w;
        memcpy(&w, &fv, 4);
        for (int k = 0; k < 4; k++) buf[total + 4 * (size_t)i + (size_t)k] = (uint8_t)(w >> (8 * k));
    }
    free(vals);
    tc_status s = tc_write_file_atomic(path, buf, bytes);
    free(buf);
    if (s != TC_OK) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        return tc_error(s, "npy %s", inner);
    }
    return TC_OK;
}
