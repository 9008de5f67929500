/* Packed single-precision GEMM (own blocking and threading, see
 * gemm_pack.c). Private to src/core: tc_gemm / tc_gemm_serial (blas.c) call
 * it for float products with m > 1 when the ISA in use has a kernel here. */
#ifndef TC_GEMM_PACK_H
#define TC_GEMM_PACK_H
#include <stdbool.h>
#include <stdint.h>

/* One micro-kernel: acc[MR][NR] = sum_p a[p*MR+i] * b[p*NR+j] over kc, then
 * c[i*ldc+j] = (first ? beta*c : c) + alpha*acc  (beta == 0: c ignored),
 * for a full MR x NR tile. */
typedef void (*tc_sgemm_ukernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                 float alpha, float beta, bool first);

/* Packs six rows of a row-major A (k contiguous, leading dimension lda)
 * into a k-major strip d[p * 6 + i]; may write 2 floats past the strip. */
typedef void (*tc_sgemm_pack_a6)(const float *a, int64_t lda, int64_t kc, float *d);

/* tc_sgemm_pack_a6 from six row pointers r[i] (kc floats each) */
typedef void (*tc_sgemm_pack_a6r)(const float *const r[6], int64_t kc, float *d);

/* Packs six columns of op(A) = A^T (row p of a: six contiguous floats at
 * a + p * lda) into d[p * 6 + i]; may write 2 floats past the strip. */
typedef void (*tc_sgemm_pack_at6)(const float *a, int64_t lda, int64_t kc, float *d);

/* Packs one full NR-wide strip of op(B) = B^T (nr rows of b, k
 * contiguous) into d[p * nr + j]. */
typedef void (*tc_sgemm_pack_bt)(const float *b, int64_t ldb, int64_t kc, int nr, float *d);

/* The micro-kernel with A read in place (six rows of a row-major A at
 * leading dimension lda) instead of from a packed strip: the same bits. */
typedef void (*tc_sgemm_ukernel_ua)(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                    float alpha, float beta, bool first);

/* The micro-kernel with B read in place (k step q's NR values at b + q *
 * ldb of a row-major op(B)) instead of from a packed strip: the same bits. */
typedef void (*tc_sgemm_ukernel_ub)(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                    float alpha, float beta, bool first);

/* A right edge tile of w < nr columns of a full-height strip, written
 * into C directly; A's value (i, q) at a[i * si + q * sq] (packed strip,
 * rows in place or A^T in place); the bits of the full kernel on a copy. */
typedef void (*tc_sgemm_ukernel_nw)(int64_t kc, const float *a, int64_t si, int64_t sq, const float *b, float *c,
                                    int64_t ldc, float alpha, float beta, bool first, int w);
/* The micro-kernel with A's six rows given as runs of len values read in
 * place (r[u][i]: run u of row i; the kc steps start at value off of run 0)
 * instead of a packed strip: the same bits as on pack_a_runs' strip. */
typedef void (*tc_sgemm_ukernel_ur)(int64_t kc, const float *const (*r)[6], int64_t off, int64_t len,
                                    const float *b, float *c, int64_t ldc, float alpha, float beta, bool first);

/* A 7 x NR tile of a product of few rows (a multiple of 7 of them) over
 * 6-high packed A strips: a[i] is row i's value at k step 0 (6 floats a
 * step), k step q's NR values of B at b + q * ldb; the bits of the 6-row
 * kernel (gemm_kernel_rows7_avx512.c). */
typedef void (*tc_sgemm_ukernel_rows7)(int64_t kc, const float *const a[7], const float *b, int64_t ldb, float *c,
                                       int64_t ldc, float alpha, float beta, bool first);

typedef struct {
    int mr, nr;
    tc_sgemm_ukernel kernel;
    tc_sgemm_pack_a6 pack_a6; /* NULL: plain C (mr != 6 or no AVX2) */
    tc_sgemm_pack_bt pack_bt; /* NULL: plain C */
    tc_sgemm_pack_at6 pack_at6; /* NULL: plain C (mr != 6 or no AVX2) */
    tc_sgemm_pack_a6r pack_a6r; /* NULL: no gathered A (tc_sgemm_packed_runs) */
    tc_sgemm_ukernel_ua kernel_ua; /* NULL: A always packed */
    tc_sgemm_ukernel_ua kernel_uat; /* op(A) = A^T in place (lda: between k steps), or NULL */
    tc_sgemm_ukernel_ub kernel_ub; /* B in place (products of few rows), or NULL: B always packed */
    tc_sgemm_ukernel_nw kernel_nw; /* full-height right edge tiles of w < nr columns straight into C, or NULL */
    tc_sgemm_ukernel_ur kernel_ur; /* A's runs in place (products of few column strips), or NULL */
    tc_sgemm_ukernel_rows7 kernel_rows7; /* 7-row tiles of few-row products (mr 6 only), or NULL */
} tc_sgemm_kernel_info;

void tc_sgemm_kernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            float alpha, float beta, bool first);
void tc_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                float alpha, float beta, bool first);
void tc_sgemm_kernel_avx2_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first);
void tc_sgemm_kernel_avx2_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                              float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512_nw(int64_t kc, const float *a, int64_t si, int64_t sq, const float *b, float *c,
                               int64_t ldc, float alpha, float beta, bool first, int w);
void tc_sgemm_kernel_avx512_rows7(int64_t kc, const float *const a[7], const float *b, int64_t ldb, float *c,
                                  int64_t ldc, float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512_ub(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                               float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512_ur(int64_t kc, const float *const (*r)[6], int64_t off, int64_t len, const float *b,
                               float *c, int64_t ldc, float alpha, float beta, bool first);
void tc_sgemm_kernel_avx2_ur(int64_t kc, const float *const (*r)[6], int64_t off, int64_t len, const float *b,
                             float *c, int64_t ldc, float alpha, float beta, bool first);
void tc_sgemm_pack_a6_avx2(const float *a, int64_t lda, int64_t kc, float *d);
void tc_sgemm_pack_a6r_avx2(const float *const r[6], int64_t kc, float *d);
void tc_sgemm_pack_at6_avx2(const float *a, int64_t lda, int64_t kc, float *d);
void tc_sgemm_pack_bt_avx2(const float *b, int64_t ldb, int64_t kc, int nr, float *d);
#define TC_SGEMM_AVX2_MR 6
#define TC_SGEMM_AVX2_NR 16
#define TC_SGEMM_GENERIC_MR 4
#define TC_SGEMM_GENERIC_NR 16
#define TC_SGEMM_AVX512_MR 6
#define TC_SGEMM_AVX512_NR 32

/* The packed kernel of an instruction-set level (every level has one). */
const tc_sgemm_kernel_info *tc_sgemm_kernel_for(int isa_level);

/* C = alpha op(A) op(B) + beta C, row-major, on up to `threads` pool
 * threads (1: on the calling thread only, no dispatch; inside a parallel
 * region the pool runs everything on the caller anyway). The operations on
 * each element depend on the kernel and K only: the same bits for any
 * `threads`. Pack buffers are the calling thread's, kept between calls. */
void tc_sgemm_packed(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, bool trans_b, int64_t m,
                     int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc);
/* tc_sgemm_packed with a bias row (n values): C = bias + alpha op(A)
 * op(B), beta ignored (the bits of beta = 1 on a C that held the bias). */
void tc_sgemm_packed_bias(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, bool trans_b, int64_t m,
                          int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                          const float *bias, float beta, float *c, int64_t ldc);
/* Whether tc_sgemm_packed reads op(B) (k x n) where it lies, or packs it
 * one KC x NR strip at a time just before its use, for products of m rows
 * (few rows: each B value serves m rows only, and packing all of B cost as
 * much as a fifth of the product). A function of the shape only; a B
 * prepared for such products is better left unpacked (tc_gemm_prepare_b_rows). */
bool tc_sgemm_few_rows(const tc_sgemm_kernel_info *kern, int64_t m, int64_t n);
/* op(B) (k x n, B^T when trans_b) packed once for many products with
 * kern: tc_sgemm_packed_b_floats floats at dst (64-byte aligned), in the
 * driver's own KC blocks of NR strips. tc_sgemm_packed_pb then computes
 * C = alpha op(A) B + beta C from them with exactly the kernel calls of
 * tc_sgemm_packed on the unpacked B: the same bits, for any threads.
 * With bias (n values, else NULL) C = bias + alpha op(A) B in every row,
 * beta ignored: the bits of beta = 1 on a C that held the bias before. */
int64_t tc_sgemm_packed_b_floats(const tc_sgemm_kernel_info *kern, int64_t k, int64_t n);
void tc_sgemm_pack_b(const tc_sgemm_kernel_info *kern, bool trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                     float *dst);
void tc_sgemm_packed_pb(const tc_sgemm_kernel_info *kern, int threads, bool trans_a, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *a, int64_t lda, const float *bpk, const float *bias, float beta,
                        float *c, int64_t ldc);
/* A function run on each finished tile of C: rows row..row+h-1, columns
 * col..col+w-1 at c (C's element (row, col)), ldc apart, once the tile
 * holds its final values and while it is still in cache (a convolution's
 * ReLU / clip / residual add: a separate pass over C re-read it from L3).
 * It must act on each element alone (the tiles depend on the thread count). */
typedef struct {
    void (*fn)(void *ctx, float *c, int64_t ldc, int64_t row, int64_t h, int64_t col, int64_t w);
    void *ctx;
    /* true: fn once on each part's whole block of C after its last K block
     * (a residual read row by row, F apart, cost more per 6-row tile than
     * a streaming pass; a part's block streams, in the same parallel region
     * as its product, while it is in that core's cache) */
    bool per_part;
} tc_sgemm_tile_ep;
/* tc_sgemm_packed_pb (not transposed, alpha 1, beta 0), then ep on every
 * tile of C: the bits of the product followed by ep over all of C. */
void tc_sgemm_packed_pb_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *bpk, const float *bias, float *c, int64_t ldc,
                           const tc_sgemm_tile_ep *ep);
/* tc_sgemm_packed_pb (alpha 1, beta 0) with op(A) gathered in runs (see
 * tc_gemm_a_runs in internal.h) straight into the kernel's A strips
 * instead of read from a matrix: the strips, and so the bits, are those of
 * the matrix the runs describe. Needs kern->pack_a6r (mr 6); false, with
 * nothing done, when that or the pack memory is missing. */
struct tc_gemm_a_runs;
bool tc_sgemm_packed_runs(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                          const struct tc_gemm_a_runs *ar, const float *bpk, const float *bias, float *c, int64_t ldc);
/* tc_sgemm_packed_runs with op(B) = b (k x n, row-major, ldb) not packed
 * before: the bits of tc_sgemm_packed_runs on tc_sgemm_pack_b's strips. */
/* tc_sgemm_packed_bias (alpha 1, beta 0, not transposed) then ep, as tc_sgemm_packed_pb_ep */
void tc_sgemm_packed_bias_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t lda, const float *b, int64_t ldb, const float *bias, float *c,
                             int64_t ldc, const tc_sgemm_tile_ep *ep);
/* tc_sgemm_packed_runs / _runs_b, then ep (NULL: none), as tc_sgemm_packed_pb_ep */
bool tc_sgemm_packed_runs_ep(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                             const struct tc_gemm_a_runs *ar, const float *bpk, const float *b, int64_t ldb,
                             const float *bias, float *c, int64_t ldc, const tc_sgemm_tile_ep *ep);
bool tc_sgemm_packed_runs_b(const tc_sgemm_kernel_info *kern, int threads, int64_t m, int64_t n, int64_t k,
                            const struct tc_gemm_a_runs *ar, const float *b, int64_t ldb, const float *bias, float *c,
                            int64_t ldc);
/* Frees the calling thread's pack buffers (tc_shutdown; pool workers free
 * theirs when they exit). */
void tc_sgemm_packed_release(void);
#endif
