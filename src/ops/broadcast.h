/* Helpers shared by elementwise.c and reduce.c: summing a contiguous tensor
 * over a set of axes with a fixed order of additions (the reduction of a
 * broadcast operand's gradient is the same operation as tc_sum). */
#ifndef TC_BROADCAST_H
#define TC_BROADCAST_H

#include "ops_internal.h"
#include "../core/vmath.h"

#include <math.h>
#include <string.h>

/* out (the input's shape with the `reduced` axes removed, contiguous) =
 * scale * sum of x over those axes, or += when accumulate. The result is the
 * same bits for any thread count: work is split in blocks whose size depends
 * only on the shape, and partial sums (in double) are combined in block
 * order. Allocates scratch from the calling thread's arena; false on failure. */
bool tc_reduce_sum_into(const tc_scalar *x, int ndim, const int64_t *shape, const bool *reduced, double scale,
                        tc_scalar *out, bool accumulate);

#define TC_ELEMENTWISE_GRAIN 32768

/* for (i = 0; i < n; i++) { ... }, written as fixed-length blocks of TC_VEC and
 * a tail: GCC's -O2 cost model vectorises only loops whose trip count it
 * knows, so this is what makes the element loops SIMD (with restrict
 * pointers in the enclosing function). */
#define TC_VEC 16
#define TC_FOR_VEC(i, n, ...)                                                        \
    do {                                                                             \
        int64_t i##_blk_ = 0, i##_n_ = (n);                                          \
        for (; i##_blk_ + TC_VEC <= i##_n_; i##_blk_ += TC_VEC)                      \
            for (int i##_k_ = 0; i##_k_ < TC_VEC; i##_k_++) {                        \
                int64_t i = i##_blk_ + i##_k_;                                       \
                __VA_ARGS__;                                                         \
            }                                                                        \
        for (int64_t i = i##_blk_; i < i##_n_; i++) { __VA_ARGS__; }                 \
    } while (0)

#endif
