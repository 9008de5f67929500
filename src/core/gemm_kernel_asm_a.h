/* Where the 6-row AVX2 and AVX-512 micro-kernels' broadcasts read A, as
 * inline-assembly address strings (ISA-neutral: both kernel files use the
 * same general registers). X(i, q) is row i, step q of a group of four.
 * Private to gemm_kernel_avx2.c and gemm_kernel_avx512.c. */
#ifndef TC_CORE_GEMM_KERNEL_ASM_A_H
#define TC_CORE_GEMM_KERNEL_ASM_A_H

/* the packed strip: step q of row i at a[q * 6 + i] (rax) */
#define A_PACKED(i, q) #q "*24+" #i "*4(%%rax)"

/* six rows of a row-major A in place: rows 0-2 from rax (row 0), rows 3-5
 * from rdx (row 3), %[l] = lda in bytes */
#define A_ROWS(i, q) A_ROW_##i(q)
#define A_ROW_0(q) #q "*4(%%rax)"
#define A_ROW_1(q) #q "*4(%%rax,%[l])"
#define A_ROW_2(q) #q "*4(%%rax,%[l],2)"
#define A_ROW_3(q) #q "*4(%%rdx)"
#define A_ROW_4(q) #q "*4(%%rdx,%[l])"
#define A_ROW_5(q) #q "*4(%%rdx,%[l],2)"

/* op(A) = A^T in place: step q of the group at rax + q lda (q < 3, %[l] =
 * lda in bytes) or rdx = rax + 3 lda, row i the i-th float there */
#define A_COLS(i, q) A_COL_##q(i)
#define A_COL_0(i) #i "*4(%%rax)"
#define A_COL_1(i) #i "*4(%%rax,%[l])"
#define A_COL_2(i) #i "*4(%%rax,%[l],2)"
#define A_COL_3(i) #i "*4(%%rdx)"

/* patch runs in place: row i's run in rcx, rdx, rsi, rdi, r8, r9, the
 * offset into the runs in rax */
#define A_RUN(i, q) A_RUN_##i(q)
#define A_RUN_0(q) #q "*4(%%rcx,%%rax)"
#define A_RUN_1(q) #q "*4(%%rdx,%%rax)"
#define A_RUN_2(q) #q "*4(%%rsi,%%rax)"
#define A_RUN_3(q) #q "*4(%%rdi,%%rax)"
#define A_RUN_4(q) #q "*4(%%r8,%%rax)"
#define A_RUN_5(q) #q "*4(%%r9,%%rax)"

#endif
