/* Helpers shared by the shape ops (src/ops/shape.c, concat.c, pad.c, gather.c). */
#ifndef TC_SHAPE_INTERNAL_H
#define TC_SHAPE_INTERNAL_H

#include "ops_internal.h"

/* Copies below this many values run on the calling thread only. */
#define TC_SHAPE_PARALLEL_MIN 32768

/* dst = src (or dst += src) for two equally shaped strided layouts. Axes are
 * merged where both layouts allow it so that contiguous runs become memcpy
 * (or one vectorisable add); large copies are split over the pool by rows of
 * the destination. dst positions must not alias each other (every
 * destination element is written by exactly one thread: deterministic). */
void tc_shape_copy(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                   const tc_scalar *src, const int64_t *src_strides, bool accumulate);

#endif
