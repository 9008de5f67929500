/* Reduced-precision GEMM for inference: C = alpha op(A) B (+ bias, or
 * + beta C) with a constant B stored as bfloat16 or as int8 with one scale
 * per column (gemm_lowp.c). Private to src/core: tc_gemm_b / tc_gemm_serial_b
 * (blas.c) call it for a panel that tc_gemm_prepare_b_kept_prec made with
 * a reduced precision.
 *
 * B is packed once, in a layout that does not depend on the ISA (so a
 * change of TENSORCOOK_ISA or tc_set_isa keeps using it): strips of 32
 * columns, each holding the whole (padded) K:
 *   bf16: strip s at bf + s * kp * 32, element [k/2][j][k%2] (the row pair
 *         one 32-bit lane of vdpbf16ps multiplies), kp = K rounded up to 2;
 *   int8: strip s at q + s * kp * 32, element [k/4][j][k%4] (the four rows
 *         one lane of vpdpbusd sums), kp = K rounded up to 4,
 *         q[k][j] = round(B[k][j] / scale[j]), scale[j] = max_k |B[k][j]| / 127.
 * Padding rows and columns are zeros.
 *
 * A is converted while it is packed, per call, MR rows at a time:
 *   bf16 with vdpbf16ps: rounded to bfloat16 (nearest even), in row pairs;
 *   bf16 elsewhere: kept float, B widened to float in registers;
 *   int8: each row of op(A) quantised to u8 over its whole K:
 *         lo = min(0, min x), hi = max(0, max x), sa = (hi - lo) / 255,
 *         zp = round(-lo / sa), u = clamp(round(x / sa) + zp, 0, 255),
 *         so x ~ sa * (u - zp) and 0 is exact (zero padding stays zero).
 * Each kernel sums the whole K of its tile in registers (no K blocks): an
 * int8 tile's int32 sums are exact, and every element of C gets the same
 * operations whatever the tiling or thread count. The epilogue, in C:
 *   bf16: c = base + alpha * acc;
 *   int8: c = base + (alpha * sa[i]) * scale[j] * (float)(acc - zp[i] * colsum[j]),
 *         colsum[j] = sum_k q[k][j]  (u8 * s8 sums, the zero point removed
 *         exactly in int32: |acc| <= 255 * 127 * K < 2^31 for K < 66,000);
 *   base = bias[j] with a bias, else beta * c (0 when beta == 0). */
#ifndef TC_GEMM_LOWP_H
#define TC_GEMM_LOWP_H
#include <stdbool.h>
#include <stdint.h>

#define TC_LOWP_NR 32 /* columns per B strip, every kernel */

typedef struct tc_lowp_panel {
    int prec;           /* TC_PRECISION_BF16 or TC_PRECISION_INT8 */
    int64_t k, n, kp, strips;
    uint16_t *bf;       /* bf16: strips x [kp/2][32][2] */
    int8_t *q;          /* int8: strips x [kp/4][32][4] */
    float *scale;       /* int8: strips * 32 column scales (0 on padding) */
    int32_t *colsum;    /* int8: strips * 32 column sums of q */
} tc_lowp_panel;

/* op(B) (k x n; B^T when trans_b, row stride ldb) converted and packed;
 * NULL (error set): no memory or a K too large for int32 sums. */
tc_lowp_panel *tc_lowp_panel_new(int prec, bool trans_b, int64_t k, int64_t n, const float *b, int64_t ldb);
void tc_lowp_panel_free(tc_lowp_panel *p);

/* C (m x n, ldc) = alpha op(A) B + (bias ? bias row : beta C), on up to
 * `threads` pool threads: the same bits for any thread count. */
void tc_lowp_gemm(const tc_lowp_panel *p, int threads, bool trans_a, int64_t m, float alpha, const float *a,
                  int64_t lda, const float *bias, float beta, float *c, int64_t ldc);

/* Frees the calling thread's pack buffer (tc_shutdown; pool workers free
 * theirs when they exit). */
void tc_lowp_release(void);

/* Which kernels run (tests): the kernel family of an ISA level, and
 * whether the dot-product instructions (vdpbf16ps, vpdpbusd) may be used
 * where the CPU has them (TENSORCOOK_LOWP_DOT=0 starts with them off).
 * int8 also follows the switch the batch-1 products use
 * (tc_gemv_set_int8_vnni, TENSORCOOK_INT8_VNNI=0: no vpdpbusd), so one
 * variable gives a VNNI machine the int8 paths of Haswell .. Zen 3; without
 * VNNI int8 runs the AVX2 vpmaddubsw kernel on any AVX2 CPU. */
void tc_lowp_set_dot(bool use);
/* The name of the kernel tc_lowp_gemm would use now for prec ("bf16-dot-avx512", ...) */
const char *tc_lowp_kernel_name(int prec);

/* One row of op(A) quantised as described above (k values at stride
 * step): u[0..k-1], *sa, *zp. Exposed for the tests' reference. */
void tc_lowp_quantize_row(const float *x, int64_t k, int64_t step, uint8_t *u, float *sa, int32_t *zp);
/* f rounded to bfloat16 bits, nearest even (NaN stays a NaN) */
uint16_t tc_lowp_bf16_bits(float f);

/* ---- kernels (one MR x NR tile over the whole padded K) -------------------
 * bf16 dot: a = [kp/2][MR] uint32 (two bf16: row pair), b = strip + half offset
 *   (lane stride 64 uint16 per pair), acc -> t[MR][NR] floats.
 * bf16 wide: a = [kp][MR] floats, b as above.
 * int8: a = [kp/4][MR] uint32 (four u8), b = strip + half offset (128 bytes per
 *   quad), acc -> t[MR][NR] int32. */
typedef void (*tc_lowp_bf16_dot_fn)(int64_t pairs, const uint32_t *a, const uint16_t *b, float *t);
typedef void (*tc_lowp_bf16_wide_fn)(int64_t pairs, const float *a, const uint16_t *b, float *t);
typedef void (*tc_lowp_int8_fn)(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t);

void tc_lowp_bf16_dot_avx512bf16(int64_t pairs, const uint32_t *a, const uint16_t *b, float *t); /* 12 x 32 */
void tc_lowp_bf16_pack_a_avx512bf16(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, uint32_t *d);
void tc_lowp_bf16_wide_avx512(int64_t pairs, const float *a, const uint16_t *b, float *t);       /* 8 x 32 */
void tc_lowp_bf16_wide_avx2(int64_t pairs, const float *a, const uint16_t *b, float *t);         /* 4 x 16 */
void tc_lowp_int8_avx512vnni(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t);      /* 12 x 32 */
void tc_lowp_int8_pack_a_avx512(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, int mr, uint32_t *d,
                                float *sa, int32_t *zp);
/* the epilogue above for an h x w tile (t row stride nr), columns from c0
 * already applied to scale / colsum / bias / c */
void tc_lowp_epilogue_avx512(bool int8, const void *tile, int nr, int64_t h, int64_t w, const float *sa,
                             const int32_t *zp, const float *scale, const int32_t *colsum, float alpha,
                             const float *bias, float beta, float *c, int64_t ldc);
/* the same two on AVX2 (gemm_lowp_epi_avx2.c, gemm_int8_pack_avx2.c): the same bits */
void tc_lowp_epilogue_avx2(bool int8, const void *tile, int nr, int64_t h, int64_t w, const float *sa,
                           const int32_t *zp, const float *scale, const int32_t *colsum, float alpha,
                           const float *bias, float beta, float *c, int64_t ldc);
void tc_lowp_int8_pack_a_avx2(const float *a, int64_t lda, int64_t h, int64_t k, int64_t kp, int mr, uint32_t *d,
                              float *sa, int32_t *zp);
void tc_lowp_int8_avxvnni(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t);         /* 6 x 16 */
/* AVX2 without VNNI: a holds s = u - 128 (signed bytes, the driver flips
 * the top bit), the sums are sum s q, exact (gemm_int8_avx2.c) */
void tc_lowp_int8_avx2(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t);            /* 4 x 16 */
#define TC_LOWP_DOT_MR 12
#define TC_LOWP_WIDE512_MR 8
#define TC_LOWP_WIDE2_MR 4
#define TC_LOWP_VNNI512_MR 12
#define TC_LOWP_VNNI2_MR 6
#define TC_LOWP_AVX2_I8_MR 4

#endif
