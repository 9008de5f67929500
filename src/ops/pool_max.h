/* The two inner loops of max pooling (pool.c), one version per instruction
 * set. Not installed. Forward works on one output position, backward on one
 * input cell, and all (or a block of) its channels, which are contiguous in
 * the channels-last layout.
 *
 * Forward: the window's cells inside the input are x + off[i], i < n
 * (n >= 1), in kernel order; tap[i] is the cell's index in the full window
 * (kernel order, padded cells counted). Per channel the running max starts
 * at cell 0 and a later cell replaces it when it is greater or NaN:
 * PyTorch's rule (the first of equal maxima wins, the last NaN wins).
 * y[c] = the max; idx[c] = tap of the winner when idx is not NULL. The
 * winner is saved as one byte per output (windows of at most 255 taps;
 * pool.c keeps int32 for larger ones), instead of a 64-bit input offset.
 *
 * Backward (one-byte winners) gathers, per input cell: the cell lies in n
 * windows (n >= 0), output rows g + roff[i] and idx + roff[i] (in output
 * order), where it is tap tap[i]; idx = TC_POOL_NONE never matches. Per
 * channel c < C,
 *   acc = add ? gx[c] : +0;  for i < n: if idx[roff[i] + c] == tap[i], acc += g[roff[i] + c];
 *   gx[c] = acc.
 * The same additions in the same order as the scatter into a zeroed (or,
 * add, an existing) gradient, but every gx element is written once: no
 * zero-fill first, no read-modify-write of a cell per window that holds it
 * (3x3 stride-2 windows put a cell in up to 4). */
#ifndef TC_OPS_POOL_MAX_H
#define TC_OPS_POOL_MAX_H

#include <stdbool.h>
#include <stdint.h>

#include "tensorcook/core.h"

#define TC_POOL_NONE 255
#define TC_POOL_MAX_FWD_ARGS \
    const tc_scalar *x, const int64_t *off, const int32_t *tap, int64_t n, int64_t C, tc_scalar *y, uint8_t *idx

#define TC_POOL_MAX_GATHER_ARGS                                                                              \
    tc_scalar *gx, const tc_scalar *g, const uint8_t *idx, const int64_t *roff, const int32_t *tap, int64_t n, \
        int64_t C, bool add

void tc_pool_max_fwd_generic(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_gather_generic(TC_POOL_MAX_GATHER_ARGS);
#ifndef TC_DOUBLE
void tc_pool_max_fwd_avx2(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_gather_avx2(TC_POOL_MAX_GATHER_ARGS);
void tc_pool_max_fwd_avx512(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_gather_avx512(TC_POOL_MAX_GATHER_ARGS);
#endif

#endif
