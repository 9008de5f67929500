/* Packed single-precision GEMM (own blocking, see gemm_pack.c). Private to
 * src/core. Not yet wired into tc_gemm: see docs/perf.md status note. */
#ifndef TC_GEMM_PACK_H
#define TC_GEMM_PACK_H
#include <stdbool.h>
#include <stdint.h>

/* One micro-kernel: acc[MR][NR] = sum_p a[p*MR+i] * b[p*NR+j] over kc, then
 * c[i*ldc+j] = (first ? beta*c : c) + alpha*acc  (beta == 0: c ignored),
 * for a full MR x NR tile. */
typedef void (*tc_sgemm_ukernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                 float alpha, float beta, bool first);

typedef struct {
    int mr, nr;
    tc_sgemm_ukernel kernel;
} tc_sgemm_kernel_info;

void tc_sgemm_kernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first);
void tc_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            float alpha, float beta, bool first);
void tc_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          float alpha, float beta, bool first);
#define TC_SGEMM_AVX2_MR 6
#define TC_SGEMM_AVX2_NR 16
#define TC_SGEMM_GENERIC_MR 4
#define TC_SGEMM_GENERIC_NR 16
#define TC_SGEMM_AVX512_MR 6
#define TC_SGEMM_AVX512_NR 32

/* C = alpha op(A) op(B) + beta C, row-major, serial. Blocking depends on
 * the shape and the kernel only. */
void tc_sgemm_packed(const tc_sgemm_kernel_info *kern, bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc);
#endif
