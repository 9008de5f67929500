/* int8 row-vector product kernels (src/core/gemv.c packs and dispatches,
 * src/core/gemv_int8.c holds the portable kernels and the epilogue).
 *
 * Weights: per packed column j (one output of x @ W) a symmetric scale
 * s_j = max_k |W[k][j]| / 127 and q[k][j] = round(W[k][j] / s_j) in
 * [-127, 127]. A panel holds PANEL columns of rows 4i..4i+3 together:
 * byte [i][j][h] = q[4i + h][col j], so one 32-bit lane is the four bytes
 * vpdpbusd multiplies and adds, a 64-byte load is 16 columns of four rows.
 * K is padded to a multiple of 4 with zero rows.
 *
 * Two ways to compute x @ W:
 *   - "dot" (the default): x quantised once per product, symmetric per
 *     vector, t = max_k |x_k| / 127, xq_k = round(x_k / t) in [-127, 127],
 *     stored as the unsigned byte u_k = xq_k + 128 (vpdpbusd multiplies
 *     unsigned by signed bytes). The kernels return the exact int32
 *     acc_j = sum_k u_k q_kj; the epilogue removes the zero point,
 *     acc_j - 128 * sum_k q_kj = sum_k xq_k q_kj (exact), and
 *     y_j = (float)that * (t * s_j) (the AVX2 kernel without VNNI returns
 *     sum_k xq_k q_kj itself). Integer sums do not depend on their
 *     order, so every ISA path and thread count gives the same bits.
 *   - weight-only (x float): acc_j = sum_k x_k * (float)q_kj in row order,
 *     y_j = acc_j * s_j. */
#ifndef TC_GEMV_INT8_H
#define TC_GEMV_INT8_H

#include "tensorcook/core.h" /* tc_scalar */

#include <stdbool.h>
#include <stdint.h>

#define TC_GEMV_INT8_PANEL 64
/* u8 x s8 sums stay below 2^31 for any K up to this (255 * 127 * K) */
#define TC_GEMV_INT8_MAX_K 65536

/* acc[0..63] = sum_k xu[k] * q[k][j] over k < k4 (a multiple of 4), exact */
void tc_gemv_i8dot_panel_avx512vnni(const int8_t *w, const uint8_t *xu, int64_t k4, int32_t *acc);
void tc_gemv_i8dot_panel_avxvnni(const int8_t *w, const uint8_t *xu, int64_t k4, int32_t *acc);
/* AVX2 without VNNI: acc[j] = sum_k (xu[k] - 128) * q[k][j], the symmetric
 * sum (no zero point to remove), with vpsignb + vpmaddubsw + vpmaddwd:
 * |xu - 128| <= 127 keeps vpmaddubsw's int16 pairs below saturation */
void tc_gemv_i8dot_panel_avx2(const int8_t *w, const uint8_t *xu, int64_t k4, int32_t *acc);

/* weight-only: acc[0..63] = sum_k x[k] * q[k][j], x float, k rows. AVX-512
 * and C: two partial sums per column, rows 8i..8i+3 and rows 8i+4..8i+7 (two
 * FMA chains so their latency is hidden), added at the end; AVX2: one sum in
 * row order. Each path is the same bits for any thread count. */
void tc_gemv_i8w_panel_avx512(const int8_t *w, const float *x, int64_t k, float *acc);
void tc_gemv_i8w_panel_avx2(const int8_t *w, const float *x, int64_t k, float *acc);

bool tc_cpu_has_avx512vnni(void);
bool tc_cpu_has_avxvnni(void);

/* An int8 plan's own part (gemv.c's tc_gemv_plan holds one). */
typedef struct tc_gemv_int8 tc_gemv_int8;
/* Quantises and packs W [k, n] (row stride ldw) into `panels` panels whose
 * column p is W's column src_col(p) (-1: zeros); NULL + error on a K over
 * TC_GEMV_INT8_MAX_K, non-finite weights or no memory. */
tc_gemv_int8 *tc_gemv_int8_new(int64_t k, const tc_scalar *w, int64_t ldw, const int64_t *src_cols, int64_t panels);
void tc_gemv_int8_free(tc_gemv_int8 *q);
/* The dot way's input: x quantised into q's buffer (one product at a time
 * per plan). A NaN or infinity in x makes every output NaN. */
void tc_gemv_int8_load(tc_gemv_int8 *q, const tc_scalar *x);
/* y[0..63] of panel `panel`; x is read by the weight-only way only */
void tc_gemv_int8_panel(const tc_gemv_int8 *q, const tc_scalar *x, int64_t panel, tc_scalar *y);
int64_t tc_gemv_int8_panel_bytes(const tc_gemv_int8 *q);

#endif
