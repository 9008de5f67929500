/* The small GEMM the thin-layer convolutions (conv_thin.c) are made of, one
 * version per instruction set. Not installed.
 *   C[m][n] = (bias ? bias[n] : accumulate ? C[m][n] : 0)
 *             + sum_k A[m*ars + k*aks] * B[k*ldb + n]     m < M, n < N, k < K
 * A is read by element (broadcast), so one kernel serves P @ W (ars = K,
 * aks = 1), P^T @ dY (ars = 1, aks = K) and dY @ W^T. Every C element sums
 * its K terms in order k = 0, 1, ..., so the result does not depend on how
 * callers split M or N. */
#ifndef TC_OPS_CONV_THIN_H
#define TC_OPS_CONV_THIN_H

#include <stdbool.h>
#include <stdint.h>

#include "tensorcook/core.h"

#define TC_THIN_GEMM_ARGS                                                                                        \
    int64_t M, int64_t N, int64_t K, const tc_scalar *A, int64_t ars, int64_t aks, const tc_scalar *B, int64_t ldb, \
        const tc_scalar *bias, bool accumulate, tc_scalar *C, int64_t ldc

void tc_thin_gemm_generic(TC_THIN_GEMM_ARGS);
#ifndef TC_DOUBLE
void tc_thin_gemm_avx2(TC_THIN_GEMM_ARGS);
void tc_thin_gemm_avx512(TC_THIN_GEMM_ARGS);
#endif

#endif
