/* The bias gradient's column sums, out[c] += dy[0][c] + dy[1][c] + ...
 * (rows in order), streamed row by row with a block of columns held in
 * vector registers (conv_colsum.inc, one object per ISA). The old loop ran
 * down one 16-column block at a time: each pass read one 64-byte line of
 * every row, so a gradient of F = 64..256 columns was fetched from L3 once
 * per block (3,136 x 256 values: 0.15 ms, 21 GB/s; VGG's 224x224 x 64:
 * 1.2 ms, 11 GB/s). Each column still gets the same additions in the same
 * order: the same bits as before on every path. */
#ifndef TC_OPS_CONV_COLSUM_H
#define TC_OPS_CONV_COLSUM_H

#include "conv.h"

#include <stdint.h>

/* columns [c0, c1) of the column sums of dy (rows x F, row-major) into out */
void tc_conv_colsum_cols_avx512(tc_scalar *out, const tc_scalar *dy, int64_t rows, int64_t F, int64_t c0, int64_t c1);
void tc_conv_colsum_cols_avx2(tc_scalar *out, const tc_scalar *dy, int64_t rows, int64_t F, int64_t c0, int64_t c1);

#endif
