/* bfloat16 row-vector product kernels (src/core/gemv.c dispatches).
 * A bf16 panel holds PANEL columns of rows (2i, 2i+1) interleaved: element
 * [i][j][h] = W[2i + h][col j], so one 32-bit lane holds the pair of rows
 * vdpbf16ps multiplies, and a 64-byte load is 16 columns of two rows. An odd
 * K is padded with a zero row. */
#ifndef TC_GEMV_BF16_H
#define TC_GEMV_BF16_H

#include <stdint.h>

/* y[0..63] = x[0..k-1] @ panel, x float; weights widened to float in
 * registers, sums in row order with FMA (same bits as the generic C path
 * when that is compiled with FMA contraction). */
void tc_gemv_bf16_panel_avx512(const uint16_t *w, const float *x, int64_t k, float *y);
/* The same sums as the AVX-512F kernel on AVX2 + FMA registers. */
void tc_gemv_bf16_panel_avx2(const uint16_t *w, const float *x, int64_t k, float *y);
/* The same product with vdpbf16ps: x rounded to bfloat16, products of
 * each row pair summed before they are added. */
void tc_gemv_bf16_panel_avx512bf16(const uint16_t *w, const float *x, int64_t k, float *y);

#endif
