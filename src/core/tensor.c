/* Tensors: creation, shapes, element access. */
#include "internal.h"
#include "gemm_pack.h"
#include "gemm_lowp.h"

#include <stdlib.h>

int64_t tc_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

int64_t tc_numel(const tc_tensor *t) { return t ? tc_shape_numel(t->ndim, t->shape) : 0; }

void tc_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

bool tc_is_contiguous(const tc_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool tc_same_shape(const tc_tensor *a, const tc_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

char *tc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

char *tc_shape_str(const tc_tensor *t, char *buf, size_t size)
{
    if (!t) {
        snprintf(buf, size, "(null)");
        return buf;
    }
    return tc_dims_str(t->ndim, t->shape, buf, size);
}

/* Checks a shape for validity and overflow; on success stores numel. */
static bool shape_ok(const char *who, int ndim, const int64_t *shape, int64_t *numel)
{
    if (ndim < 0 || ndim > TC_MAX_DIMS) {
        tc_error(TC_ERR_ARG, "%s: %d dimensions (at most %d)", who, ndim, TC_MAX_DIMS);
        return false;
    }
    if (ndim > 0 && !shape) {
        tc_error(TC_ERR_ARG, "%s: shape is NULL", who);
        return false;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            char b[TC_SHAPE_STR_MAX];
            tc_error(TC_ERR_SHAPE, "%s: negative dimension in shape %s", who,
                     tc_dims_str(ndim, shape, b, sizeof b));
            return false;
        }
        if (shape[i] && n > ((int64_t)1 << 40) / shape[i]) {
            char b[TC_SHAPE_STR_MAX];
            tc_error(TC_ERR_SHAPE, "%s: shape %s is too large", who, tc_dims_str(ndim, shape, b, sizeof b));
            return false;
        }
        n *= shape[i];
    }
    *numel = n;
    return true;
}

static void set_shape(tc_tensor *t, int ndim, const int64_t *shape)
{
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    tc_contiguous_strides(ndim, shape, t->strides);
}

tc_tensor *tc_tensor_new(int ndim, const int64_t *shape)
{
    int64_t n;
    if (!shape_ok("tensor_new", ndim, shape, &n)) return NULL;
    tc_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        tc_error(TC_ERR_MEMORY, "tensor_new: out of memory");
        return NULL;
    }
    size_t bytes = (size_t)(n ? n : 1) * sizeof(tc_scalar);
    bytes = (bytes + 63) & ~(size_t)63;
    if (posix_memalign((void **)&t->storage, 64, bytes) != 0) {
        free(t);
        char b[TC_SHAPE_STR_MAX];
        tc_error(TC_ERR_MEMORY, "tensor_new: out of memory for shape %s", tc_dims_str(ndim, shape, b, sizeof b));
        return NULL;
    }
    memset(t->storage, 0, bytes);
    t->data = t->storage;
    t->flags = TC_OWNS_DATA | TC_LONG_LIVED;
    set_shape(t, ndim, shape);
    return t;
}

tc_tensor *tc_tensor_from(int ndim, const int64_t *shape, const tc_scalar *values)
{
    tc_tensor *t = tc_tensor_new(ndim, shape);
    if (t && values) memcpy(t->data, values, (size_t)tc_numel(t) * sizeof(tc_scalar));
    return t;
}

void tc_tensor_free(tc_tensor *t)
{
    if (!t || !(t->flags & TC_LONG_LIVED)) return;
    if (t->grad) tc_tensor_free(t->grad);
    if (t->flags & TC_OWNS_DATA) free(t->storage);
    free(t);
}

tc_tensor *tc_view_of(tc_scalar *storage, int64_t offset, int ndim, const int64_t *shape,
                      const int64_t *strides)
{
    tc_tensor *t = tc_arena_alloc(sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->storage = storage;
    t->offset = offset;
    t->data = storage + offset;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->strides[i] = strides[i];
    }
    return t;
}

tc_tensor *tc_result(int ndim, const int64_t *shape)
{
    int64_t n;
    if (!shape_ok("tensor", ndim, shape, &n)) return NULL;
    tc_tensor *t = tc_arena_alloc(sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->storage = tc_arena_alloc((size_t)(n ? n : 1) * sizeof(tc_scalar));
    if (!t->storage) return NULL;
    t->data = t->storage;
    set_shape(t, ndim, shape);
    return t;
}

tc_tensor *tc_empty(int ndim, const int64_t *shape) { return tc_result(ndim, shape); }

tc_tensor *tc_zeros(int ndim, const int64_t *shape)
{
    tc_tensor *t = tc_result(ndim, shape);
    if (t) memset(t->data, 0, (size_t)tc_numel(t) * sizeof(tc_scalar));
    return t;
}

tc_tensor *tc_full(int ndim, const int64_t *shape, tc_scalar value)
{
    tc_tensor *t = tc_result(ndim, shape);
    if (t) {
        int64_t n = tc_numel(t);
        for (int64_t i = 0; i < n; i++) t->data[i] = value;
    }
    return t;
}

tc_tensor *tc_scalar_tensor(tc_scalar value) { return tc_full(0, NULL, value); }

tc_tensor *tc_copy_of(const tc_scalar *values, int ndim, const int64_t *shape)
{
    tc_tensor *t = tc_result(ndim, shape);
    if (t && values) memcpy(t->data, values, (size_t)tc_numel(t) * sizeof(tc_scalar));
    return t;
}

void tc_set_requires_grad(tc_tensor *t, bool on)
{
    if (!t) return;
    if (on) t->flags |= TC_REQUIRES_GRAD;
    else t->flags &= ~TC_REQUIRES_GRAD;
}

bool tc_requires_grad(const tc_tensor *t) { return t && (t->flags & TC_REQUIRES_GRAD); }

void tc_zero_grad(tc_tensor *t)
{
    if (t && t->grad) memset(t->grad->data, 0, (size_t)tc_numel(t->grad) * sizeof(tc_scalar));
}

static int64_t flat_offset(const tc_tensor *t, const int64_t *index)
{
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++) off += index[i] * t->strides[i];
    return off;
}

tc_scalar tc_get(const tc_tensor *t, const int64_t *index) { return t->data[flat_offset(t, index)]; }
void tc_set(tc_tensor *t, const int64_t *index, tc_scalar v) { t->data[flat_offset(t, index)] = v; }

/* Visit every element in row-major order: fn(offset of element, ordinal). */
#define FOR_EACH_ELEMENT(t, off, body)                                               \
    do {                                                                             \
        int64_t idx_[TC_MAX_DIMS] = {0};                                             \
        int64_t n_ = tc_numel(t);                                                    \
        int64_t off = 0;                                                             \
        for (int64_t e_ = 0; e_ < n_; e_++) {                                        \
            body;                                                                    \
            for (int d_ = (t)->ndim - 1; d_ >= 0; d_--) {                            \
                idx_[d_]++;                                                          \
                off += (t)->strides[d_];                                             \
                if (idx_[d_] < (t)->shape[d_]) break;                                \
                off -= idx_[d_] * (t)->strides[d_];                                  \
                idx_[d_] = 0;                                                        \
            }                                                                        \
        }                                                                            \
    } while (0)

tc_status tc_read_values(const tc_tensor *t, tc_scalar *dst)
{
    if (!t || !dst) return tc_error(TC_ERR_ARG, "read_values: NULL argument");
    if (tc_is_contiguous(t)) {
        memcpy(dst, t->data, (size_t)tc_numel(t) * sizeof(tc_scalar));
        return TC_OK;
    }
    int64_t dst_strides[TC_MAX_DIMS];
    tc_contiguous_strides(t->ndim, t->shape, dst_strides);
    tc_strided_apply(t->ndim, t->shape, dst, dst_strides, t->data, t->strides, false);
    return TC_OK;
}

tc_status tc_write_values(tc_tensor *t, const tc_scalar *src)
{
    if (!t || !src) return tc_error(TC_ERR_ARG, "write_values: NULL argument");
    int64_t k = 0;
    FOR_EACH_ELEMENT(t, off, t->data[off] = src[k++]);
    return TC_OK;
}

tc_status tc_fill(tc_tensor *t, tc_scalar v)
{
    if (!t) return tc_error(TC_ERR_ARG, "fill: NULL tensor");
    FOR_EACH_ELEMENT(t, off, t->data[off] = v);
    return TC_OK;
}

const tc_scalar *tc_packed(const tc_tensor *t)
{
    if (tc_is_contiguous(t)) return t->data;
    tc_scalar *p = tc_arena_alloc((size_t)(tc_numel(t) ? tc_numel(t) : 1) * sizeof(tc_scalar));
    if (p) tc_read_values(t, p);
    return p;
}

tc_tensor *tc_tensor_keep(const tc_tensor *t)
{
    if (!t) {
        tc_error(TC_ERR_ARG, "tensor_keep: NULL tensor");
        return NULL;
    }
    tc_tensor *k = tc_tensor_new(t->ndim, t->shape);
    if (k) tc_read_values(t, k->data);
    return k;
}

int tc_axis(int axis, int ndim)
{
    if (axis < 0) axis += ndim;
    return (axis < 0 || axis >= ndim) ? -1 : axis;
}

typedef struct {
    tc_scalar *dst;
    const tc_scalar *src;
} accumulate_job;

static void accumulate_range(void *ctx, int64_t lo, int64_t hi)
{
    const accumulate_job *j = ctx;
    tc_scalar *restrict d = j->dst;
    const tc_scalar *restrict s = j->src;
    for (int64_t i = lo; i < hi; i++) d[i] += s[i];
}

/* element-wise, so split over the pool without changing any result */
void tc_accumulate(tc_scalar *dst, const tc_scalar *src, int64_t n)
{
    accumulate_job j = {dst, src};
    if (n < 65536) accumulate_range(&j, 0, n);
    else tc_parallel_for(n, 32768, accumulate_range, &j);
}

void tc_core_shutdown(void)
{
    tc_arena_shutdown();
    tc_sgemm_packed_release();
#ifndef TC_DOUBLE
    tc_lowp_release();
#endif
    tc_threads_shutdown();
}
