/* TensorFlow node attributes and TensorProto constants.
 *
 * A TensorProto holds its values either as raw little-endian bytes
 * (tensor_content) or in the repeated field of its type; TF lets the
 * repeated field be shorter than the shape and repeats its last value
 * (tensor_util's "splat": a Const of zeros is often one float_val), and
 * fills with zeros when there are no values at all. */
#include "tf_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One constant holds at most 2^28 values (1 GiB of float); a splat, which
 * costs no bytes in the file, at most 2^24 (a fuzzed shape must not make
 * the loader allocate gigabytes from a few bytes). */
#define TF_MAX_CONST ((int64_t)1 << 28)
#define TF_MAX_SPLAT ((int64_t)1 << 24)

const Tctf__AttrValue *tc_tf_attr(const Tctf__NodeDef *d, const char *key)
{
    for (size_t i = 0; i < d->n_attr; i++)
        if (d->attr[i] && d->attr[i]->key && !strcmp(d->attr[i]->key, key)) return d->attr[i]->value;
    return NULL;
}

int64_t tc_tf_attr_int(const Tctf__NodeDef *d, const char *key, int64_t dflt)
{
    const Tctf__AttrValue *v = tc_tf_attr(d, key);
    return v && v->value_case == TCTF__ATTR_VALUE__VALUE_I ? v->i : dflt;
}

float tc_tf_attr_float(const Tctf__NodeDef *d, const char *key, float dflt)
{
    const Tctf__AttrValue *v = tc_tf_attr(d, key);
    return v && v->value_case == TCTF__ATTR_VALUE__VALUE_F ? v->f : dflt;
}

bool tc_tf_attr_bool(const Tctf__NodeDef *d, const char *key, bool dflt)
{
    const Tctf__AttrValue *v = tc_tf_attr(d, key);
    return v && v->value_case == TCTF__ATTR_VALUE__VALUE_B ? v->b : dflt;
}

bool tc_tf_attr_is(const Tctf__NodeDef *d, const char *key, const char *value, const char *dflt)
{
    const Tctf__AttrValue *v = tc_tf_attr(d, key);
    if (!v || v->value_case != TCTF__ATTR_VALUE__VALUE_S) return dflt && !strcmp(value, dflt);
    size_t n = strlen(value);
    return v->s.len == n && !memcmp(v->s.data, value, n);
}

int tc_tf_attr_ints(const Tctf__NodeDef *d, const char *key, int64_t *out, int max)
{
    const Tctf__AttrValue *v = tc_tf_attr(d, key);
    if (!v || v->value_case != TCTF__ATTR_VALUE__VALUE_LIST || !v->list) return -1;
    for (size_t i = 0; i < v->list->n_i && (int)i < max; i++) out[i] = v->list->i[i];
    return v->list->n_i > (size_t)1 << 20 ? 1 << 20 : (int)v->list->n_i;
}

tc_status tc_tf_fail(const tf_ctx *c, tc_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tc_error(s, "%s: node '%s' (%s): %s", c->m->path, c->def->name, c->def->op, msg);
}

static size_t elem_size(int dtype)
{
    switch (dtype) {
    case TCTF__DATA_TYPE__DT_FLOAT: case TCTF__DATA_TYPE__DT_INT32: return 4;
    case TCTF__DATA_TYPE__DT_DOUBLE: case TCTF__DATA_TYPE__DT_INT64: return 8;
    case TCTF__DATA_TYPE__DT_BOOL: return 1;
    default: return 0;
    }
}

/* Value i of the raw little-endian bytes (x86 and ARM are little-endian,
 * as TF writes them; memcpy avoids unaligned reads). */
static double raw_value(const uint8_t *p, int dtype, int64_t i)
{
    switch (dtype) {
    case TCTF__DATA_TYPE__DT_FLOAT: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case TCTF__DATA_TYPE__DT_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case TCTF__DATA_TYPE__DT_DOUBLE: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    case TCTF__DATA_TYPE__DT_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    default: return p[i] != 0;
    }
}

/* The repeated field of the type: its length, and value i. */
static size_t typed_count(const Tctf__TensorProto *t)
{
    switch (t->dtype) {
    case TCTF__DATA_TYPE__DT_FLOAT: return t->n_float_val;
    case TCTF__DATA_TYPE__DT_DOUBLE: return t->n_double_val;
    case TCTF__DATA_TYPE__DT_INT32: return t->n_int_val;
    case TCTF__DATA_TYPE__DT_INT64: return t->n_int64_val;
    default: return t->n_bool_val;
    }
}

static double typed_value(const Tctf__TensorProto *t, size_t i)
{
    switch (t->dtype) {
    case TCTF__DATA_TYPE__DT_FLOAT: return t->float_val[i];
    case TCTF__DATA_TYPE__DT_DOUBLE: return t->double_val[i];
    case TCTF__DATA_TYPE__DT_INT32: return t->int_val[i];
    case TCTF__DATA_TYPE__DT_INT64: return (double)t->int64_val[i];
    default: return t->bool_val[i] != 0;
    }
}

tc_tensor *tc_tf_decode_tensor(const Tctf__TensorProto *t, const char *path, const char *who)
{
    if (!t) {
        tc_error(TC_ERR_FORMAT, "%s: %s has no tensor value", path, who);
        return NULL;
    }
    size_t es = elem_size(t->dtype);
    if (!es) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: %s: tensor data type %d is not supported (float, double, int32, int64, bool)",
                 path, who, (int)t->dtype);
        return NULL;
    }
    int64_t shape[TC_MAX_DIMS], n = 1;
    size_t rank = t->tensor_shape ? t->tensor_shape->n_dim : 0;
    if (rank > TC_MAX_DIMS || (t->tensor_shape && t->tensor_shape->unknown_rank)) {
        tc_error(TC_ERR_UNSUPPORTED, "%s: %s: a constant of rank %zu (at most %d)", path, who, rank, TC_MAX_DIMS);
        return NULL;
    }
    for (size_t d = 0; d < rank; d++) {
        shape[d] = t->tensor_shape->dim[d]->size;
        if (shape[d] < 0 || shape[d] > TF_MAX_CONST || (n *= shape[d]) > TF_MAX_CONST) {
            tc_error(TC_ERR_FORMAT, "%s: %s: constant dimension %zu is %lld (negative, or too many values)", path, who, d,
                     (long long)shape[d]);
            return NULL;
        }
    }
    size_t have = t->tensor_content.len ? t->tensor_content.len / es : typed_count(t);
    if (t->tensor_content.len && t->tensor_content.len != (size_t)n * es) {
        tc_error(TC_ERR_FORMAT, "%s: %s: tensor_content has %zu bytes, its shape needs %lld", path, who,
                 t->tensor_content.len, (long long)n * (long long)es);
        return NULL;
    }
    if (have > (size_t)n) {
        tc_error(TC_ERR_FORMAT, "%s: %s: %zu values for a shape of %lld", path, who, have, (long long)n);
        return NULL;
    }
    if ((int64_t)have < n && n > TF_MAX_SPLAT) {
        tc_error(TC_ERR_FORMAT, "%s: %s: %zu values filled out to %lld (too many for a splat)", path, who, have,
                 (long long)n);
        return NULL;
    }
    tc_tensor *out = tc_tensor_new((int)rank, shape);
    if (!out) return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (t->tensor_content.len) v = raw_value(t->tensor_content.data, t->dtype, i);
        else if (have == 0) v = 0;
        else v = typed_value(t, (size_t)i < have ? (size_t)i : have - 1);
        out->data[i] = (tc_scalar)v;
    }
    return out;
}
