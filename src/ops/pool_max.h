/* The two inner loops of max pooling (pool.c), one version per instruction
 * set. Not installed. Both work on one output position and all (or a block
 * of) its channels, which are contiguous in the channels-last layout.
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
 * Backward, over the same cells: gx[off[i] + c] += g[c] for the cell i
 * whose tap[i] is idx[c]; idx[c] = TC_POOL_NONE (a window with no cell
 * inside the input) routes nothing. Only the winner's value changes, so
 * every gx element sums its terms in output order on every path
 * (bit-identical results). */
#ifndef TC_OPS_POOL_MAX_H
#define TC_OPS_POOL_MAX_H

#include <stdint.h>

#include "tensorcook/core.h"

#define TC_POOL_NONE 255
#define TC_POOL_MAX_FWD_ARGS \
    const tc_scalar *x, const int64_t *off, const int32_t *tap, int64_t n, int64_t C, tc_scalar *y, uint8_t *idx
#define TC_POOL_MAX_BWD_ARGS \
    tc_scalar *gx, const int64_t *off, const int32_t *tap, int64_t n, int64_t C, const tc_scalar *g, const uint8_t *idx

void tc_pool_max_fwd_generic(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_bwd_generic(TC_POOL_MAX_BWD_ARGS);
#ifndef TC_DOUBLE
void tc_pool_max_fwd_avx2(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_bwd_avx2(TC_POOL_MAX_BWD_ARGS);
void tc_pool_max_fwd_avx512(TC_POOL_MAX_FWD_ARGS);
void tc_pool_max_bwd_avx512(TC_POOL_MAX_BWD_ARGS);
#endif

#endif
