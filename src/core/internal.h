/* Core's internal interface, for the library's other folders (not
 * installed): step results and views, shape helpers, argument checks,
 * strided copies and the arena's raw marks. Core includes nothing above
 * itself: the tape lives in src/autograd (autograd_internal.h), the op table
 * and op helpers in src/ops (ops_internal.h). */
#ifndef TC_INTERNAL_H
#define TC_INTERNAL_H

#include "tensorcook/core.h"

#include <string.h>

/* ---- results ---------------------------------------------------------------- */
/* A new contiguous step tensor (uninitialised). NULL + error on overflow. */
tc_tensor *tc_result(int ndim, const int64_t *shape);
/* A step tensor struct that views existing memory (no copy). */
tc_tensor *tc_view_of(tc_scalar *storage, int64_t offset, int ndim, const int64_t *shape,
                      const int64_t *strides);
void tc_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
int64_t tc_shape_numel(int ndim, const int64_t *shape);
/* Contiguous data of t: t->data itself, or a packed copy in the arena. */
const tc_scalar *tc_packed(const tc_tensor *t);
/* Normalise a possibly negative axis; -1 if out of range. */
int tc_axis(int axis, int ndim);
/* "[2, 3]" of a raw shape */
char *tc_dims_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- argument checks: each returns NULL from the enclosing function --------- */
#define TC_CHECK_TENSOR(opname, t)                                                   \
    do {                                                                             \
        if (!(t)) {                                                                  \
            tc_error(TC_ERR_ARG, "%s: input '%s' is NULL", opname, #t);              \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

#define TC_CHECK(cond, status, ...)                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            tc_error(status, __VA_ARGS__);                                           \
            return NULL;                                                             \
        }                                                                            \
    } while (0)

/* Shape strings for messages: TC_SHP(t) is a temporary "[a, b]" string. */
#define TC_SHP(t) tc_shape_str((t), (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX)

/* dst (strides dst_strides) = or += src (strides src_strides), same shape. */
void tc_strided_apply(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                      const tc_scalar *src, const int64_t *src_strides, bool accumulate);

/* Accumulate n values: dst[i] += src[i]. */
void tc_accumulate(tc_scalar *dst, const tc_scalar *src, int64_t n);
/* The arena's raw position (src/core/arena.c): the step functions of
 * src/autograd truncate the tape, then rewind the arena with these. */
size_t tc_arena_position(void);
void tc_arena_rewind(size_t position);
/* Pins OpenBLAS to the calling thread (src/core/blas.c; the pool calls it). */
void tc_blas_single_thread(void);
/* Frees the arena and stops the pool (the last part of tc_shutdown). */
void tc_core_shutdown(void);

/* Panels of a row-vector product (src/core/gemv.c) worth one chunk of a
 * parallel loop: callers that split a plan's panels themselves use it. */
int64_t tc_gemv_grain(const tc_gemv_plan *p);

#endif
