/* TensorProto <-> tensor: typed fields, raw little-endian data, external data
 * files; and the .pb files of the ONNX backend tests. Every size a file
 * claims is checked against the bytes it really has. */
#include "onnx_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_UINT16 = 4, T_INT16 = 5, T_INT32 = 6, T_INT64 = 7, T_BOOL = 9,
       T_FLOAT16 = 10, T_DOUBLE = 11, T_UINT32 = 12, T_UINT64 = 13, T_BFLOAT16 = 16 };

/* IEEE half and bfloat16 bit patterns to float (exact: both widen) */
static float half_to_float(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0) v = ldexpf((float)m, -24);                 /* zero, subnormal */
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexpf((float)(m | 1024), e - 25);
    return sign ? -v : v;
}

static float bfloat16_to_float(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static int elem_size(int dt)
{
    switch (dt) {
    case T_FLOAT: case T_INT32: case T_UINT32: return 4;
    case T_UINT8: case T_INT8: case T_BOOL: return 1;
    case T_UINT16: case T_INT16: case T_FLOAT16: case T_BFLOAT16: return 2;
    case T_INT64: case T_DOUBLE: case T_UINT64: return 8;
    default: return 0;
    }
}

static const char *type_name(int dt)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                  "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                  "COMPLEX128", "BFLOAT16"};
    return dt >= 0 && dt <= 16 ? names[dt] : "unknown";
}

/* value i of little-endian raw bytes of type dt, as double */
static double raw_at(const uint8_t *p, int dt, int64_t i)
{
    switch (dt) {
    case T_FLOAT: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case T_DOUBLE: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    case T_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case T_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case T_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case T_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case T_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case T_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case T_FLOAT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return half_to_float(v); }
    case T_BFLOAT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return bfloat16_to_float(v); }
    case T_INT8: return (int8_t)p[i];
    default: return p[i]; /* UINT8, BOOL */
    }
}

/* Reads [offset, offset+length) of an external data file beside the model. */
static uint8_t *read_external(const Onnx__TensorProto *tp, const char *dir, int64_t need, const char *who)
{
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value) continue;
        if (!strcmp(e->key, "location")) location = e->value;
        else if (!strcmp(e->key, "offset")) offset = strtoll(e->value, NULL, 10);
        else if (!strcmp(e->key, "length")) length = strtoll(e->value, NULL, 10);
    }
    if (!location || strstr(location, "..") || location[0] == '/') {
        tc_error(TC_ERR_FORMAT, "%s: external data has no usable location", who);
        return NULL;
    }
    if (length >= 0 && length != need) {
        tc_error(TC_ERR_FORMAT, "%s: external data length %lld but the shape needs %lld bytes", who,
                 (long long)length, (long long)need);
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", location);
    FILE *f = fopen(path, "rb");
    if (!f) {
        tc_error(TC_ERR_IO, "%s: cannot open external data file %s: %s", who, path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = malloc((size_t)(need ? need : 1));
    bool ok = buf && offset >= 0 && fseeko(f, offset, SEEK_SET) == 0 && fread(buf, 1, (size_t)need, f) == (size_t)need;
    fclose(f);
    if (!ok) {
        free(buf);
        tc_error(TC_ERR_FORMAT, "%s: external data file %s is shorter than offset %lld + %lld bytes", who, path,
                 (long long)offset, (long long)need);
        return NULL;
    }
    return buf;
}

tc_tensor *tc_onnx_decode_tensor(const Onnx__TensorProto *tp, const char *dir, tc_onnx_dtype *dtype,
                                 const char *who)
{
    int dt = tp->has_data_type ? tp->data_type : 0;
    int es = elem_size(dt);
    if (!es) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: data type %s is not supported", who, type_name(dt));
        return NULL;
    }
    if (tp->n_dims > TC_MAX_DIMS) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: %zu dimensions (at most %d)", who, tp->n_dims, TC_MAX_DIMS);
        return NULL;
    }
    int64_t n = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (tp->dims[d] < 0 || (tp->dims[d] && n > ((int64_t)1 << 36) / tp->dims[d])) {
            tc_error(TC_ERR_FORMAT, "%s: invalid dimension %lld", who, (long long)tp->dims[d]);
            return NULL;
        }
        n *= tp->dims[d];
    }
    tc_tensor *t = tc_tensor_new((int)tp->n_dims, tp->dims);
    if (!t) return NULL;
    *dtype = (dt == T_FLOAT || dt == T_DOUBLE || dt == T_FLOAT16 || dt == T_BFLOAT16) ? TC_ONNX_FLOAT : TC_ONNX_INT64;
    uint8_t *external = NULL;
    const uint8_t *raw = NULL;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        raw = external = read_external(tp, dir, n * es, who);
        if (!raw) goto fail;
    } else if (tp->has_raw_data) {
        if ((int64_t)tp->raw_data.len != n * es) {
            tc_error(TC_ERR_FORMAT, "%s: raw_data has %zu bytes but shape needs %lld values of %d bytes", who,
                     tp->raw_data.len, (long long)n, es);
            goto fail;
        }
        raw = tp->raw_data.data;
    }
    if (raw) {
        for (int64_t i = 0; i < n; i++) t->data[i] = (tc_scalar)raw_at(raw, dt, i);
    } else {
        size_t have = dt == T_FLOAT ? tp->n_float_data : dt == T_DOUBLE ? tp->n_double_data
                    : dt == T_INT64 ? tp->n_int64_data : (dt == T_UINT32 || dt == T_UINT64) ? tp->n_uint64_data
                    : tp->n_int32_data;
        if ((int64_t)have != n) {
            tc_error(TC_ERR_FORMAT, "%s: has %zu values but shape needs %lld", who, have, (long long)n);
            goto fail;
        }
        /* float16 and bfloat16 keep their bit patterns in int32_data */
        for (int64_t i = 0; i < n; i++)
            t->data[i] = (tc_scalar)(dt == T_FLOAT ? tp->float_data[i] : dt == T_DOUBLE ? tp->double_data[i]
                                     : dt == T_FLOAT16 ? half_to_float((uint16_t)tp->int32_data[i])
                                     : dt == T_BFLOAT16 ? bfloat16_to_float((uint16_t)tp->int32_data[i])
                                     : dt == T_INT64 ? (double)tp->int64_data[i]
                                     : (dt == T_UINT32 || dt == T_UINT64) ? (double)tp->uint64_data[i]
                                     : (double)tp->int32_data[i]);
    }
    free(external);
    return t;
fail:
    free(external);
    tc_tensor_free(t);
    return NULL;
}

tc_tensor *tc_onnx_read_tensor_file(const char *path, tc_onnx_dtype *dtype, char **name)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "onnx tensor file: path is NULL");
        return NULL;
    }
    size_t len;
    unsigned char *buf;
    if (tc_read_file(path, (size_t)2 << 30, &buf, &len) != TC_OK) return NULL;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp) {
        tc_error(TC_ERR_FORMAT, "%s: not a valid TensorProto file (truncated or corrupt)", path);
        return NULL;
    }
    char who[4200];
    snprintf(who, sizeof who, "%s", path);
    tc_onnx_dtype dt = TC_ONNX_FLOAT;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else strcpy(dir, ".");
    tc_tensor *t = tc_onnx_decode_tensor(tp, dir, &dt, who);
    if (t && name) *name = tp->name ? strdup(tp->name) : NULL;
    if (dtype) *dtype = dt;
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return t;
}

tc_status tc_onnx_write_tensor_file(const char *path, const tc_tensor *t, tc_onnx_dtype dtype, const char *name)
{
    if (!path || !t) return tc_error(TC_ERR_ARG, "onnx tensor file: NULL argument");
    int64_t n = tc_numel(t);
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = (size_t)t->ndim;
    tp.dims = (int64_t *)t->shape;
    tp.has_data_type = 1;
    tp.data_type = dtype == TC_ONNX_INT64 ? T_INT64 : T_FLOAT;
    tp.name = (char *)name;
    int es = dtype == TC_ONNX_INT64 ? 8 : 4;
    uint8_t *raw = malloc((size_t)(n * es + 1));
    tc_scalar *vals = malloc(sizeof(tc_scalar) * (size_t)(n + 1));
    if (!raw || !vals) {
        free(raw);
        free(vals);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    }
    tc_read_values(t, vals);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == TC_ONNX_INT64) {
            int64_t v = (int64_t)vals[i];
            memcpy(raw + 8 * i, &v, 8);
        } else {
            float v = (float)vals[i];
            memcpy(raw + 4 * i, &v, 4);
        }
    }
    free(vals);
    tp.has_raw_data = 1;
    tp.raw_data.len = (size_t)(n * es);
    tp.raw_data.data = raw;
    size_t size = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *out = malloc(size + 1);
    if (!out) {
        free(raw);
        return tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    }
    onnx__tensor_proto__pack(&tp, out);
    free(raw);
    tc_status st = tc_write_file_atomic(path, out, size);
    free(out);
    return st;
}
