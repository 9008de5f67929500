/* AVX2+FMA 6 x 16 SGEMM micro-kernel: 12 ymm accumulators, per k step two
 * loads of B and six broadcasts of A (gemm_pack.c packs the panels). The k
 * loop is unrolled by four with the panels prefetched a few steps ahead
 * and C's tile prefetched before the loop, so the two FMA pipes are the
 * only limit while the panels sit in L1/L2. Each accumulator lane still
 * sums its products in k order, one FMA per step. The three kernels (A
 * packed, A read in place, A^T read in place) differ only in where the
 * broadcasts read A: the same FMAs on the same values, the same bits.
 *
 * The k loop is inline assembly, as in gemm_kernel_avx512.c: with only the
 * 16 ymm registers of a plain -mavx2 build (a real AVX2 CPU, TC_NATIVE
 * off) gcc 12 spilled two accumulators to the stack inside the loop of the
 * in-place kernels, and added register copies in all three. Here the twelve
 * accumulators are ymm0-11 ("x" operands), B's two vectors ymm12-13 and the
 * broadcasts ymm14-15 in turn: all 16, nothing spilled. Same FMAs
 * (vfmadd231ps: c += x * b, one rounding) in the same order: same bits. */
#include "gemm_kernel_asm_a.h"
#include "gemm_pack.h"

#include <immintrin.h>

#define ZERO_TILE()                                                                                              \
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),                     \
           c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),                     \
           c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),                     \
           c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()

static inline __attribute__((always_inline)) void prefetch_c(const float *c, int64_t ldc)
{
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }
}

/* C = alpha * acc + (first ? beta * C : C), with beta == 0 never reading C's
 * values; over the named accumulators with the case chosen once (a loop
 * over an array of them spilled all twelve to the stack) */
#define OLD_C(p) _mm256_loadu_ps(p)
#define OLD_ZERO(p) _mm256_setzero_ps()
#define OLD_BETA(p) _mm256_mul_ps(vb, _mm256_loadu_ps(p))
#define ROW_OUT(i, OLD)                                                                                          \
    do {                                                                                                         \
        float *cp = c + (i) * ldc;                                                                               \
        _mm256_storeu_ps(cp, _mm256_fmadd_ps(va, c##i##0, OLD(cp)));                                             \
        _mm256_storeu_ps(cp + 8, _mm256_fmadd_ps(va, c##i##1, OLD(cp + 8)));                                     \
    } while (0)
#define TILE_OUT(OLD)                                                                                            \
    do {                                                                                                         \
        ROW_OUT(0, OLD); ROW_OUT(1, OLD); ROW_OUT(2, OLD); ROW_OUT(3, OLD); ROW_OUT(4, OLD); ROW_OUT(5, OLD);    \
    } while (0)
#define STORE_TILE()                                                                                             \
    do {                                                                                                         \
        const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);                                      \
        (void)vb;                                                                                                \
        if (!first) TILE_OUT(OLD_C);                                                                             \
        else if (beta == 0) TILE_OUT(OLD_ZERO);                                                                  \
        else TILE_OUT(OLD_BETA);                                                                                 \
    } while (0)

/* Operands: the twelve accumulators %[cIJ] (row I, half J); scratch: B in
 * ymm12-13, broadcasts in ymm14-15, the A pointers in rax / rdx / r8 / r9,
 * B's in r10, the count in r11. */
#define ACC_OPERANDS                                                                                             \
    [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20), [c21] "+x"(c21),       \
        [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)
#define SCRATCH "cc", "memory", "rax", "rdx", "r8", "r9", "r10", "r11", "xmm12", "xmm13", "xmm14", "xmm15"

#define ROW_FMAS(reg, i)                                                                                         \
    "vfmadd231ps %%" reg ", %%ymm12, %[c" #i "0]\n\t"                                                            \
    "vfmadd231ps %%" reg ", %%ymm13, %[c" #i "1]\n\t"
/* one k step: A_AT(i, q) is the asm memory operand of A's value (i, q) */
#define ASM_STEP(q, A_AT)                                                                                        \
    "vmovaps " #q "*64(%%r10), %%ymm12\n\t"                                                                      \
    "vmovaps " #q "*64+32(%%r10), %%ymm13\n\t"                                                                   \
    "vbroadcastss " A_AT(0, q) ", %%ymm14\n\t" ROW_FMAS("ymm14", 0)                                              \
    "vbroadcastss " A_AT(1, q) ", %%ymm15\n\t" ROW_FMAS("ymm15", 1)                                              \
    "vbroadcastss " A_AT(2, q) ", %%ymm14\n\t" ROW_FMAS("ymm14", 2)                                              \
    "vbroadcastss " A_AT(3, q) ", %%ymm15\n\t" ROW_FMAS("ymm15", 3)                                              \
    "vbroadcastss " A_AT(4, q) ", %%ymm14\n\t" ROW_FMAS("ymm14", 4)                                              \
    "vbroadcastss " A_AT(5, q) ", %%ymm15\n\t" ROW_FMAS("ymm15", 5)
/* B's next line, 8 steps (512 bytes) ahead: one 64-byte line a step */
#define PREFETCH_B(q) "prefetcht0 512+" #q "*64(%%r10)\n\t"

/* SETUP once, then n4 groups of four steps (GROUP, then NEXT4 moves the A
 * pointers), then n1 single steps (STEP1, then NEXT1) */
#define K_LOOP(SETUP, GROUP, NEXT4, STEP1, NEXT1, ...)                                                           \
    __asm__("mov %[bp], %%r10\n\t" SETUP                                                                         \
            "mov %[n4], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 2f\n\t"                                                                                          \
            "1:\n\t" GROUP NEXT4                                                                                 \
            "add $256, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 1b\n\t"                                                                                         \
            "2:\n\t"                                                                                             \
            "mov %[n1], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 4f\n\t"                                                                                          \
            "3:\n\t" STEP1 NEXT1                                                                                 \
            "add $64, %%r10\n\t"                                                                                 \
            "dec %%r11\n\t"                                                                                      \
            "jnz 3b\n\t"                                                                                         \
            "4:\n\t"                                                                                             \
            : ACC_OPERANDS                                                                                       \
            : [bp] "r"(b), [n4] "r"(kc / 4), [n1] "r"(kc % 4), __VA_ARGS__                                       \
            : SCRATCH)

/* A_PACKED, A_ROWS, A_COLS, A_RUN: gemm_kernel_asm_a.h */

void tc_sgemm_kernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
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
 * contiguous, leading dimension lda) instead of a packed strip, for
 * products with few column strips where a packed A strip would serve only
 * a few tiles (gemm_pack.c a_in_place). Same FMAs, order and values as the
 * packed kernel on the strip pack_a would have made: the same bits. Rows
 * 0-2 from rax (row 0), rows 3-5 from rdx (row 3), %[l] = lda in bytes. */

void tc_sgemm_kernel_avx2_ua(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
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

/* The same with op(A) = A^T read in place: k step p of the six rows is the
 * six contiguous floats at a + p * lda (the packed strip's layout with a
 * stride of lda instead of 6): the kernel gradient's P^T needs no
 * transposing copy. Same FMAs, order and values: the same bits. Steps 0-2
 * of a group from rax with %[l] = lda in bytes as the index, step 3 from
 * rdx = rax + 3 lda; the prefetches read steps 8-11 from r8 = rax + 8 lda
 * and r9 = rax + 11 lda. */

void tc_sgemm_kernel_avx2_uat(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
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

/* Packs six rows of A (row-major, k contiguous) into the kernels' k-major
 * 6-wide strip: 8 x 8 transposes in registers (rows 6 and 7 zero), each
 * output step stored as 8 floats of which the next store overwrites the
 * last two (so the strip's buffer needs 2 floats of slack after it). The
 * scalar k-outer copy took ~0.5 ns per float, a third of a conv tile's
 * GEMM time at N = 64. */
void tc_sgemm_pack_a6_avx2(const float *a, int64_t lda, int64_t kc, float *d)
{
    const float *const r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
    tc_sgemm_pack_a6r_avx2(r, kc, d);
}

/* The same from six row pointers anywhere (convolution patches gathered
 * straight from the input, tc_gemm_b_runs) */
void tc_sgemm_pack_a6r_avx2(const float *const r[6], int64_t kc, float *d)
{
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4], *r5 = r[5];
    int64_t p = 0;
    const __m256 z = _mm256_setzero_ps();
    for (; p + 8 <= kc; p += 8) {
        __m256 x0 = _mm256_loadu_ps(r0 + p), x1 = _mm256_loadu_ps(r1 + p), x2 = _mm256_loadu_ps(r2 + p),
               x3 = _mm256_loadu_ps(r3 + p), x4 = _mm256_loadu_ps(r4 + p), x5 = _mm256_loadu_ps(r5 + p);
        __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1), t2 = _mm256_unpacklo_ps(x2, x3),
               t3 = _mm256_unpackhi_ps(x2, x3), t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5),
               t6 = _mm256_unpacklo_ps(z, z), t7 = t6;
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        /* column q (k = p + q) of the 8 x 8 block: rows 0-3 from u, rows 4-7 from u+4 */
        __m256 c0 = _mm256_permute2f128_ps(u0, u4, 0x20), c1 = _mm256_permute2f128_ps(u1, u5, 0x20),
               c2 = _mm256_permute2f128_ps(u2, u6, 0x20), c3 = _mm256_permute2f128_ps(u3, u7, 0x20),
               c4 = _mm256_permute2f128_ps(u0, u4, 0x31), c5 = _mm256_permute2f128_ps(u1, u5, 0x31),
               c6 = _mm256_permute2f128_ps(u2, u6, 0x31), c7 = _mm256_permute2f128_ps(u3, u7, 0x31);
        float *o = d + p * 6;
        _mm256_storeu_ps(o + 0, c0);
        _mm256_storeu_ps(o + 6, c1);
        _mm256_storeu_ps(o + 12, c2);
        _mm256_storeu_ps(o + 18, c3);
        _mm256_storeu_ps(o + 24, c4);
        _mm256_storeu_ps(o + 30, c5);
        _mm256_storeu_ps(o + 36, c6);
        _mm256_storeu_ps(o + 42, c7);
    }
    for (; p < kc; p++) {
        float *o = d + p * 6;
        o[0] = r0[p];
        o[1] = r1[p];
        o[2] = r2[p];
        o[3] = r3[p];
        o[4] = r4[p];
        o[5] = r5[p];
    }
}

/* 8 x 8 transpose of rows r[0..7] at column p into out[q * stride], q = 0..7 */
static inline void transpose8(const float *const r[8], int64_t p, float *out, int64_t stride)
{
    __m256 x0 = _mm256_loadu_ps(r[0] + p), x1 = _mm256_loadu_ps(r[1] + p), x2 = _mm256_loadu_ps(r[2] + p),
           x3 = _mm256_loadu_ps(r[3] + p), x4 = _mm256_loadu_ps(r[4] + p), x5 = _mm256_loadu_ps(r[5] + p),
           x6 = _mm256_loadu_ps(r[6] + p), x7 = _mm256_loadu_ps(r[7] + p);
    __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1), t2 = _mm256_unpacklo_ps(x2, x3),
           t3 = _mm256_unpackhi_ps(x2, x3), t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5),
           t6 = _mm256_unpacklo_ps(x6, x7), t7 = _mm256_unpackhi_ps(x6, x7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(out + 0 * stride, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(out + 1 * stride, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(out + 2 * stride, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(out + 3 * stride, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(out + 4 * stride, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(out + 5 * stride, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(out + 6 * stride, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(out + 7 * stride, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Packs one full strip of op(B) = B^T (nr rows of b, k contiguous, nr a
 * multiple of 8) into d[p * nr + j] by 8 x 8 transposes (the scalar
 * column-by-column copy made a transposed B cost more than the product
 * when M is a few rows). */
void tc_sgemm_pack_bt_avx2(const float *b, int64_t ldb, int64_t kc, int nr, float *d)
{
    for (int jb = 0; jb < nr; jb += 8) {
        const float *r[8];
        for (int j = 0; j < 8; j++) r[j] = b + (int64_t)(jb + j) * ldb;
        int64_t p = 0;
        for (; p + 8 <= kc; p += 8) transpose8(r, p, d + p * nr + jb, nr);
        for (; p < kc; p++)
            for (int j = 0; j < 8; j++) d[p * nr + jb + j] = r[j][p];
    }
}

/* Packs six columns of op(A) = A^T (row p of a, six contiguous floats at
 * a + p * lda) into a k-major strip d[p * 6 + i]: one masked 6-float load
 * and one 8-float store a row, the store's last two floats overwritten by
 * the next row (two copies of 16 and 8 bytes a row were 8% of a batch-1
 * res2 3x3 training step). The mask keeps the load inside A; the store may
 * write 2 floats past the strip, as tc_sgemm_pack_a6_avx2 does. */
void tc_sgemm_pack_at6_avx2(const float *a, int64_t lda, int64_t kc, float *d)
{
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        const __m256 x0 = _mm256_maskload_ps(a + (p + 0) * lda, six), x1 = _mm256_maskload_ps(a + (p + 1) * lda, six),
                     x2 = _mm256_maskload_ps(a + (p + 2) * lda, six), x3 = _mm256_maskload_ps(a + (p + 3) * lda, six);
        _mm256_storeu_ps(d + (p + 0) * 6, x0);
        _mm256_storeu_ps(d + (p + 1) * 6, x1);
        _mm256_storeu_ps(d + (p + 2) * 6, x2);
        _mm256_storeu_ps(d + (p + 3) * 6, x3);
    }
    for (; p < kc; p++) _mm256_storeu_ps(d + p * 6, _mm256_maskload_ps(a + p * lda, six));
}

/* The same tile with A's rows given as runs read in place (gemm_pack.h
 * tc_sgemm_ukernel_ur: a convolution's patch runs, N <= 64): one k loop
 * per run over six row pointers loaded from ap[6] into rcx, rdx, rsi, rdi,
 * r8, r9 with the byte offset in rax as the index, the accumulators kept
 * from run to run. Same FMAs, order and values as the packed kernel on
 * pack_a_runs' strip: the same bits. */
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
            "add $256, %%r10\n\t"                                                                                \
            "dec %%r11\n\t"                                                                                      \
            "jnz 1b\n\t"                                                                                         \
            "2:\n\t"                                                                                             \
            "mov %[n1], %%r11\n\t"                                                                               \
            "test %%r11, %%r11\n\t"                                                                              \
            "jz 4f\n\t"                                                                                          \
            "3:\n\t" STEP1                                                                                       \
            "add $4, %%rax\n\t"                                                                                  \
            "add $64, %%r10\n\t"                                                                                 \
            "dec %%r11\n\t"                                                                                      \
            "jnz 3b\n\t"                                                                                         \
            "4:\n\t"                                                                                             \
            : ACC_OPERANDS                                                                                       \
            : [bp] "r"(b), [n4] "r"(seg / 4), [n1] "r"(seg % 4), [ap] "r"(ap)                                     \
            : "cc", "memory", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm12", "xmm13",     \
              "xmm14", "xmm15")

void tc_sgemm_kernel_avx2_ur(int64_t kc, const float *const (*r)[6], int64_t off, int64_t len, const float *b,
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
        b += seg * 16;
        pos += seg;
    }
    STORE_TILE();
}
