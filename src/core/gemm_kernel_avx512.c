/* AVX-512 6 x 32 SGEMM micro-kernel: 12 zmm accumulators, per k step two
 * loads of B and six broadcasts of A (gemm_pack.c packs the panels). The k
 * loop is unrolled by four with the panels prefetched a few steps ahead
 * and C's tile prefetched before the loop. Each accumulator lane still sums
 * its products in k order, one FMA per step.
 *
 * The k loop is written in inline assembly: gcc 12 compiled the intrinsics
 * loop with a vmovaps register copy for every other FMA (it picks
 * vfmadd132ps into the broadcast register, then moves the result back) and
 * kept the B prefetches as an inner loop with its own compare and branch.
 * That kernel reached ~97% of the FMA peak on panels in L1/L2 against ~100%
 * for the assembly loop (best of 40 alternating rounds; docs/perf.md,
 * "ukernel"). The instructions are the same FMAs on the same operands in
 * the same order (vfmadd231ps: c += x * b, one rounding), so every element
 * keeps its bits. */
#include "gemm_kernel_asm_a.h"
#include "gemm_pack.h"

#include <immintrin.h>

#define ZERO_TILE()                                                                                              \
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),                     \
           c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),                     \
           c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),                     \
           c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps()

static inline __attribute__((always_inline)) void prefetch_c(const float *c, int64_t ldc)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
}

/* C = alpha * acc + (first ? beta * C : C), with beta == 0 never reading C's
 * values. Unrolled over the named accumulators with the case chosen once:
 * the loop over an array of them had gcc spill all twelve to the stack and
 * test first and beta per vector (5% of the kernel's samples on 1024^3). */
#define OLD_C(p) _mm512_loadu_ps(p)
#define OLD_ZERO(p) _mm512_setzero_ps()
#define OLD_BETA(p) _mm512_mul_ps(vb, _mm512_loadu_ps(p))
#define ROW_OUT(i, OLD)                                                                                          \
    do {                                                                                                         \
        float *cp = c + (i) * ldc;                                                                               \
        _mm512_storeu_ps(cp, _mm512_fmadd_ps(va, c##i##0, OLD(cp)));                                             \
        _mm512_storeu_ps(cp + 16, _mm512_fmadd_ps(va, c##i##1, OLD(cp + 16)));                                   \
    } while (0)
#define TILE_OUT(OLD)                                                                                            \
    do {                                                                                                         \
        ROW_OUT(0, OLD); ROW_OUT(1, OLD); ROW_OUT(2, OLD); ROW_OUT(3, OLD); ROW_OUT(4, OLD); ROW_OUT(5, OLD);    \
    } while (0)
#define STORE_TILE()                                                                                             \
    do {                                                                                                         \
        const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                                      \
        (void)vb;                                                                                                \
        if (!first) TILE_OUT(OLD_C);                                                                             \
        else if (beta == 0) TILE_OUT(OLD_ZERO);                                                                  \
        else TILE_OUT(OLD_BETA);                                                                                 \
    } while (0)

/* The k loop in assembly, one asm statement for the unrolled loop and the
 * tail. Operands: the twelve accumulators %[cIJ] (row I, half J) and the
 * inputs; everything else is a clobbered scratch register, as gcc allows 30
 * operands and each accumulator counts twice: B's two vectors in zmm28 and
 * zmm29, two broadcast registers zmm30 and zmm31 used in turn (row i+1's
 * broadcast need not wait for row i's FMAs), the A pointer in rax (and
 * rdx, r8, r9 where a variant needs more), B's in r10, the count in r11. */
#define ACC_OPERANDS                                                                                             \
    [c00] "+v"(c00), [c01] "+v"(c01), [c10] "+v"(c10), [c11] "+v"(c11), [c20] "+v"(c20), [c21] "+v"(c21),       \
        [c30] "+v"(c30), [c31] "+v"(c31), [c40] "+v"(c40), [c41] "+v"(c41), [c50] "+v"(c50), [c51] "+v"(c51)
#define SCRATCH "cc", "memory", "rax", "rdx", "r8", "r9", "r10", "r11", "xmm28", "xmm29", "xmm30", "xmm31"

#define ROW_FMAS(reg, i)                                                                                         \
    "vfmadd231ps %%" reg ", %%zmm28, %[c" #i "0]\n\t"                                                            \
    "vfmadd231ps %%" reg ", %%zmm29, %[c" #i "1]\n\t"
/* one k step: A_AT(i, q) is the asm memory operand of A's value (i, q) */
#define ASM_STEP(q, A_AT)                                                                                        \
    "vmovaps " #q "*128(%%r10), %%zmm28\n\t"                                                                     \
    "vmovaps " #q "*128+64(%%r10), %%zmm29\n\t"                                                                  \
    "vbroadcastss " A_AT(0, q) ", %%zmm30\n\t" ROW_FMAS("zmm30", 0)                                              \
    "vbroadcastss " A_AT(1, q) ", %%zmm31\n\t" ROW_FMAS("zmm31", 1)                                              \
    "vbroadcastss " A_AT(2, q) ", %%zmm30\n\t" ROW_FMAS("zmm30", 2)                                              \
    "vbroadcastss " A_AT(3, q) ", %%zmm31\n\t" ROW_FMAS("zmm31", 3)                                              \
    "vbroadcastss " A_AT(4, q) ", %%zmm30\n\t" ROW_FMAS("zmm30", 4)                                              \
    "vbroadcastss " A_AT(5, q) ", %%zmm31\n\t" ROW_FMAS("zmm31", 5)
/* B's next lines, 8 steps (1 KB) ahead: two 64-byte lines a step */
#define PREFETCH_B(q) "prefetcht0 1024+" #q "*128(%%r10)\n\tprefetcht0 1088+" #q "*128(%%r10)\n\t"

/* The loop: SETUP once, then n4 groups of four steps (GROUP, then NEXT4
 * moves the A pointers), then n1 single steps (STEP1, then NEXT1). */
#define K_LOOP(SETUP, GROUP, NEXT4, STEP1, NEXT1, ...)                                                           \
    __asm__("mov %[bp], %%r10\n\t" SETUP                                                                         \
            "mov %[n4], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 2f\n\t"                                                                                          \
            "1:\n\t" GROUP NEXT4                                                                                 \
            "add $512, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 1b\n\t"                                                                                         \
            "2:\n\t"                                                                                             \
            "mov %[n1], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 4f\n\t"                                                                                          \
            "3:\n\t" STEP1 NEXT1                                                                                 \
            "add $128, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 3b\n\t"                                                                                         \
            "4:\n\t"                                                                                             \
            : ACC_OPERANDS                                                                                       \
            : [bp] "r"(b), [n4] "r"(kc / 4), [n1] "r"(kc % 4), __VA_ARGS__                                       \
            : SCRATCH)

/* A_PACKED, A_ROWS, A_COLS, A_RUN: gemm_kernel_asm_a.h */

void tc_sgemm_kernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    K_LOOP("mov %[ap], %%rax\n\t",
           PREFETCH_B(0) "prefetcht0 192(%%rax)\n\t" ASM_STEP(0, A_PACKED)
           PREFETCH_B(1) ASM_STEP(1, A_PACKED)
           PREFETCH_B(2) "prefetcht0 256(%%rax)\n\t" ASM_STEP(2, A_PACKED)
           PREFETCH_B(3) ASM_STEP(3, A_PACKED),
           "add $96, %%rax\n\t", ASM_STEP(0, A_PACKED), "add $24, %%rax\n\t", [ap] "r"(a));
    STORE_TILE();
}

/* The same tile with A read in place: six rows of a row-major A (k
 * contiguous, leading dimension lda) instead of a packed strip. For a
 * product with few columns (N = 64: each A strip served two tiles) packing
 * A cost a tenth of the time; here each broadcast reads row i's next value
 * itself. The FMAs, their order and the values are those of the packed
 * kernel on the strip pack_a would have made: the same bits. Rows 0-2 are
 * addressed from rax (row 0) and rows 3-5 from rdx (row 3), with %[l] =
 * lda in bytes as the index. */

void tc_sgemm_kernel_avx512_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    const int64_t l = lda * (int64_t)sizeof(float);
    K_LOOP("mov %[ap], %%rax\n\t"
           "lea (%%rax,%[l],2), %%rdx\n\t"
           "add %[l], %%rdx\n\t",
           PREFETCH_B(0) ASM_STEP(0, A_ROWS) PREFETCH_B(1) ASM_STEP(1, A_ROWS)
           PREFETCH_B(2) ASM_STEP(2, A_ROWS) PREFETCH_B(3) ASM_STEP(3, A_ROWS),
           "add $16, %%rax\n\tadd $16, %%rdx\n\t", ASM_STEP(0, A_ROWS), "add $4, %%rax\n\tadd $4, %%rdx\n\t",
           [ap] "r"(a), [l] "r"(l));
    STORE_TILE();
}

/* The same with op(A) = A^T read in place: k step p of the six rows is
 * the six contiguous floats at a + p * lda (the packed strip's layout, with
 * a stride of lda instead of 6), so the kernel gradient's P^T needs no
 * transposing copy. Same FMAs, order and values: the same bits. Steps 0-2
 * of a group of four are addressed from rax with %[l] = lda in bytes as
 * the index, step 3 from rdx = rax + 3 lda; the prefetches read the group
 * two ahead (steps 8-11) from r8 = rax + 8 lda and r9 = rax + 11 lda. */

void tc_sgemm_kernel_avx512_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    const int64_t l = lda * (int64_t)sizeof(float);
    K_LOOP("mov %[ap], %%rax\n\t"
           "lea (%%rax,%[l],2), %%rdx\n\t"
           "add %[l], %%rdx\n\t"
           "lea (%%rax,%[l],8), %%r8\n\t"
           "lea (%%rdx,%[l],8), %%r9\n\t",
           PREFETCH_B(0) "prefetcht0 (%%r8)\n\t" ASM_STEP(0, A_COLS)
           PREFETCH_B(1) "prefetcht0 (%%r8,%[l])\n\t" ASM_STEP(1, A_COLS)
           PREFETCH_B(2) "prefetcht0 (%%r8,%[l],2)\n\t" ASM_STEP(2, A_COLS)
           PREFETCH_B(3) "prefetcht0 (%%r9)\n\t" ASM_STEP(3, A_COLS),
           "lea (%%rax,%[l],4), %%rax\n\t"
           "lea (%%rdx,%[l],4), %%rdx\n\t"
           "lea (%%r8,%[l],4), %%r8\n\t"
           "lea (%%r9,%[l],4), %%r9\n\t",
           ASM_STEP(0, A_COLS), "add %[l], %%rax\n\t", [ap] "r"(a), [l] "r"(l));
    STORE_TILE();
}

/* The same tile with A's rows given as runs (tc_gemm_a_runs: a
 * convolution's patch rows, one run of `len` values per kernel tap, read in
 * place from the input or from a run of zeros): r[u][i] is run u of row i
 * and the kc steps start at value `off` of run 0. Each run's part is one
 * k loop over six row pointers (loaded from ap[6] into rcx, rdx, rsi,
 * rdi, r8, r9: gcc allows 30 operands; the byte offset in rax as the
 * index) with the accumulators kept in registers from run to run, so
 * every accumulator lane still sums its products in k order, one FMA per
 * step: the FMAs, order and values of the packed kernel on the strip
 * pack_a_runs would have made, the same bits without the transposing copy
 * (3-10% of a forward pass for products of few column strips). */
#define RUN_LOOP(GROUP, STEP1)                                                                                   \
    __asm__("mov %[bp], %%r10\n\t"                                                                               \
            "mov (%[ap]), %%rcx\n\t"                                                                             \
            "mov 8(%[ap]), %%rdx\n\t"                                                                            \
            "mov 16(%[ap]), %%rsi\n\t"                                                                           \
            "mov 24(%[ap]), %%rdi\n\t"                                                                           \
            "mov 32(%[ap]), %%r8\n\t"                                                                            \
            "mov 40(%[ap]), %%r9\n\t"                                                                            \
            "xor %%eax, %%eax\n\t"                                                                               \
            "mov %[n4], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 2f\n\t"                                                                                          \
            "1:\n\t" GROUP                                                                                       \
            "add $16, %%rax\n\t"                                                                                 \
            "add $512, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 1b\n\t"                                                                                         \
            "2:\n\t"                                                                                             \
            "mov %[n1], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 4f\n\t"                                                                                          \
            "3:\n\t" STEP1                                                                                       \
            "add $4, %%rax\n\t"                                                                                  \
            "add $128, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 3b\n\t"                                                                                         \
            "4:\n\t"                                                                                             \
            : ACC_OPERANDS                                                                                       \
            : [bp] "r"(b), [n4] "r"(seg / 4), [n1] "r"(seg % 4), [ap] "r"(ap)                                     \
            : "cc", "memory", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm28", "xmm29",     \
              "xmm30", "xmm31")

void tc_sgemm_kernel_avx512_ur(int64_t kc, const float *const (*r)[6], int64_t off, int64_t len, const float *b,
                               float *c, int64_t ldc, float alpha, float beta, bool first)
{
    prefetch_c(c, ldc);
    ZERO_TILE();
    for (int64_t u = 0, pos = 0; pos < kc; u++, off = 0) {
        const int64_t seg = len - off < kc - pos ? len - off : kc - pos;
        const float *ap[6];
        for (int i = 0; i < 6; i++) ap[i] = r[u][i] + off;
        RUN_LOOP(PREFETCH_B(0) ASM_STEP(0, A_RUN) PREFETCH_B(1) ASM_STEP(1, A_RUN)
                 PREFETCH_B(2) ASM_STEP(2, A_RUN) PREFETCH_B(3) ASM_STEP(3, A_RUN),
                 ASM_STEP(0, A_RUN));
        b += seg * 32;
        pos += seg;
    }
    STORE_TILE();
}
