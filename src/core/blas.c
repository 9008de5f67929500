/* The BLAS binding. Float products with m > 1 on the AVX-512 and AVX2 paths run our
 * packed GEMM (gemm_pack.c), which threads inside its own driver. Everything
 * else runs OpenBLAS, always on the calling thread: tc_gemm splits a large
 * product into slices of rows (or columns) of C fixed by the shape, shared
 * out over the pool threads, each element of C computed by one BLAS call
 * over the whole K, the same call whatever the thread count. */
#include "internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_pack.h"
#include "gemm_lowp.h"

#ifndef TC_DOUBLE
/* Which GEMM runs a float product (a rule of the ISA in use and nothing
 * else, so the bits never depend on the thread count): with AVX-512 our own
 * packed 6x32 kernel (gemm_pack.c), with AVX2+FMA our 6x16 kernel on the
 * same driver (gemm_kernel_avx2.c), so neither path's speed depends on which
 * kernel OPENBLAS_CORETYPE makes OpenBLAS pick (under TENSORCOOK_ISA=avx2
 * OpenBLAS ran its AVX-512 kernel when the variable was unset, its Haswell
 * one at about half that speed when set); the generic path stays on
 * OpenBLAS, which beats the generic C kernel (20 GFLOP/s) there. */
static const tc_sgemm_kernel_info *own_sgemm_kernel(void)
{
    const tc_isa_level isa = tc_isa();
    return isa == TC_ISA_AVX512 || isa == TC_ISA_AVX2 ? tc_sgemm_kernel_for(isa) : NULL;
}
#endif

void tc_blas_single_thread(void) { openblas_set_num_threads(1); }

void tc_gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    tc_scalar alpha, const tc_scalar *a, int64_t lda,
                    const tc_scalar *b, int64_t ldb, tc_scalar beta,
                    tc_scalar *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    if (m == 1) {
        /* a row vector times a matrix: GEMV, which streams B once instead of
         * packing it (one-step RNN generation, batch-1 dense layers) */
#ifdef TC_DOUBLE
        cblas_dgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (blasint)(trans_b ? n : k), (blasint)(trans_b ? k : n),
                    alpha, b, (blasint)ldb, a, trans_a ? (blasint)lda : 1, beta, c, 1);
#else
        cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (blasint)(trans_b ? n : k), (blasint)(trans_b ? k : n),
                    alpha, b, (blasint)ldb, a, trans_a ? (blasint)lda : 1, beta, c, 1);
#endif
        return;
    }
#ifndef TC_DOUBLE
    const tc_sgemm_kernel_info *own = own_sgemm_kernel();
    if (own) {
        tc_sgemm_packed(own, 1, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
#ifdef TC_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
#endif
}

/* Splitting a product over the pool.
 *
 * OpenBLAS computes an element of C with an instruction sequence that
 * depends on where the element falls in the call's panels: its kernels
 * treat the last, narrower panels of a call differently from full ones, and
 * which kernel runs depends on the CPU and on OPENBLAS_CORETYPE (Haswell and
 * Zen kernels differ in the edge panels, Cooperlake and SkylakeX did not).
 * So the product is always cut into the same slices, chosen from the shape
 * alone, and each slice is one BLAS call, whatever the thread count: with 1
 * thread the slices run one after the other, with N threads they are shared
 * out. Every element is then computed by the same call on the same data,
 * and the bits do not depend on the number of threads or on the kernel's
 * edge handling (see docs/determinism.md).
 *
 * Slice sizes: each slice repacks the other operand, about 1/(2 * slice)
 * copies per flop, which is what one thread pays over a single call. So
 * slices stay >= GEMM_MIN_SLICE (<= 1/1024 copies per flop: a few percent at
 * worst, measured 1-5% on the benchmark shapes) with two slices at least, so
 * that two threads always share a product; at most GEMM_MAX_SLICES, an even
 * number so two threads get equal shares; multiples of GEMM_BLOCK (whole
 * register tiles). */
typedef struct {
    bool ta, tb, split_rows;
    int64_t m, n, k, lda, ldb, ldc;
    tc_scalar alpha, beta;
    const tc_scalar *a, *b;
    tc_scalar *c;
    int64_t slice; /* rows (or columns) of C per slice */
} gemm_job;

#define GEMM_BLOCK 16
#define GEMM_MIN_SLICE 512
#define GEMM_MAX_SLICES 8
/* below this many flops a product is one call (splitting costs more than it gains) */
#define GEMM_SPLIT_FLOPS 4e6

static void gemm_range(void *ctx, int64_t begin, int64_t end)
{
    gemm_job *g = ctx;
    const int64_t dim = g->split_rows ? g->m : g->n;
    for (int64_t s = begin; s < end; s++) {
        int64_t lo = s * g->slice, hi = lo + g->slice < dim ? lo + g->slice : dim;
        if (g->split_rows) {
            const tc_scalar *a = g->ta ? g->a + lo : g->a + lo * g->lda;
            tc_gemm_serial(g->ta, g->tb, hi - lo, g->n, g->k, g->alpha, a, g->lda, g->b, g->ldb, g->beta,
                           g->c + lo * g->ldc, g->ldc);
        } else {
            const tc_scalar *b = g->tb ? g->b + lo * g->ldb : g->b + lo;
            tc_gemm_serial(g->ta, g->tb, g->m, hi - lo, g->k, g->alpha, g->a, g->lda, b, g->ldb, g->beta,
                           g->c + lo, g->ldc);
        }
    }
}

/* The slice length for a split dimension of dim (a function of dim only). */
static int64_t gemm_slice_len(int64_t dim)
{
    int64_t blocks = (dim + GEMM_BLOCK - 1) / GEMM_BLOCK;
    int64_t slices = dim / GEMM_MIN_SLICE;
    if (slices > GEMM_MAX_SLICES) slices = GEMM_MAX_SLICES;
    if (slices > 1) slices &= ~(int64_t)1; /* even: equal halves for two threads */
    if (slices < 2) slices = 2;
    if (slices > blocks) slices = blocks;
    if (slices < 1) slices = 1;
    int64_t per = (blocks + slices - 1) / slices;
    return per * GEMM_BLOCK;
}

void tc_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             tc_scalar alpha, const tc_scalar *a, int64_t lda,
             const tc_scalar *b, int64_t ldb, tc_scalar beta,
             tc_scalar *c, int64_t ldc)
{
#ifndef TC_DOUBLE
    /* Our own kernel threads inside its driver (one shared packed B, each
     * element computed by the same operations for any thread count). */
    const tc_sgemm_kernel_info *own = m > 1 ? own_sgemm_kernel() : NULL;
    if (own) {
        tc_sgemm_packed(own, tc_num_threads(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    /* OpenBLAS: fixed slices, a decision of the shape only, never of the
     * thread count. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    bool split_rows = m >= n;
    int64_t dim = split_rows ? m : n;
    int64_t slice = gemm_slice_len(dim);
    if (flops < GEMM_SPLIT_FLOPS || slice >= dim) {
        tc_gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    gemm_job g = {trans_a, trans_b, split_rows, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, slice};
    tc_parallel_for((dim + slice - 1) / slice, 1, gemm_range, &g);
}

/* kept: the packed floats in their own aligned block (pb->mem), else in the arena */
static bool prepare_b(tc_gemm_b_panel *pb, bool kept, bool trans_b, int64_t k, int64_t n, const tc_scalar *b,
                      int64_t ldb)
{
    *pb = (tc_gemm_b_panel){trans_b, k, n, ldb, b, NULL, NULL, NULL, NULL};
#ifndef TC_DOUBLE
    const tc_sgemm_kernel_info *own = own_sgemm_kernel();
    if (!own || k <= 0 || n <= 0) return true;
    const size_t bytes = sizeof(float) * (size_t)tc_sgemm_packed_b_floats(own, k, n);
    float *dst = kept ? aligned_alloc(64, (bytes + 63) / 64 * 64) : tc_arena_alloc(bytes);
    if (!dst) {
        if (kept) tc_error(TC_ERR_MEMORY, "gemm: out of memory packing a %lld x %lld operand", (long long)k, (long long)n);
        return false;
    }
    tc_sgemm_pack_b(own, trans_b, k, n, b, ldb, dst);
    pb->kern = own;
    pb->packed = dst;
    if (kept) pb->mem = dst;
#else
    (void)kept;
#endif
    return true;
}

bool tc_gemm_prepare_b(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b, int64_t ldb)
{
    return prepare_b(pb, false, trans_b, k, n, b, ldb);
}

bool tc_gemm_prepare_b_rows(tc_gemm_b_panel *pb, int64_t m, bool trans_b, int64_t k, int64_t n, const tc_scalar *b,
                            int64_t ldb)
{
#ifndef TC_DOUBLE
    const tc_sgemm_kernel_info *own = own_sgemm_kernel();
    if (own && k > 0 && tc_sgemm_few_rows(own, m, n)) { /* read in place (or strip by strip) by each product */
        *pb = (tc_gemm_b_panel){trans_b, k, n, ldb, b, own, NULL, NULL, NULL};
        return true;
    }
#endif
    (void)m;
    return prepare_b(pb, false, trans_b, k, n, b, ldb);
}

bool tc_gemm_prepare_b_kept(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b, int64_t ldb)
{
    return prepare_b(pb, true, trans_b, k, n, b, ldb);
}

bool tc_gemm_prepare_b_kept_prec(tc_gemm_b_panel *pb, bool trans_b, int64_t k, int64_t n, const tc_scalar *b,
                                 int64_t ldb, tc_precision prec)
{
#ifndef TC_DOUBLE
    if (prec != TC_PRECISION_FP32 && k > 0 && n > 0) {
        *pb = (tc_gemm_b_panel){trans_b, k, n, ldb, b, NULL, NULL, NULL, NULL};
        pb->lowp = tc_lowp_panel_new((int)prec, trans_b, k, n, b, ldb);
        return pb->lowp != NULL;
    }
#endif
    (void)prec;
    return prepare_b(pb, true, trans_b, k, n, b, ldb);
}

bool tc_gemm_packs_b(void)
{
#ifndef TC_DOUBLE
    return own_sgemm_kernel() != NULL;
#else
    return false;
#endif
}

void tc_gemm_b_panel_release(tc_gemm_b_panel *pb)
{
    if (!pb) return;
#ifndef TC_DOUBLE
    tc_lowp_panel_free(pb->lowp);
#endif
    free(pb->mem);
    *pb = (tc_gemm_b_panel){0};
}

/* The bias row copied into every row of C (then the product runs with beta 1) */
static void fill_bias(int64_t m, int64_t n, const tc_scalar *bias, tc_scalar *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) memcpy(c + i * ldc, bias, sizeof(tc_scalar) * (size_t)n);
}

#ifndef TC_DOUBLE
/* The packed kernel, when pb was packed for it and the product would run
 * it (m > 1: m == 1 runs GEMV in tc_gemm_serial; k <= 0 only scales C). */
static const tc_sgemm_kernel_info *prepacked_for(const tc_gemm_b_panel *pb, int64_t m)
{
    const tc_sgemm_kernel_info *own = own_sgemm_kernel();
    return pb->packed && m > 1 && pb->k > 0 && pb->n > 0 && pb->kern == (const void *)own ? own : NULL;
}

/* The packed kernel, when pb was left unpacked for it (tc_gemm_prepare_b_rows) */
static const tc_sgemm_kernel_info *in_place_for(const tc_gemm_b_panel *pb, int64_t m)
{
    const tc_sgemm_kernel_info *own = own_sgemm_kernel();
    return !pb->packed && !pb->lowp && m > 1 && pb->k > 0 && pb->n > 0 && pb->kern == (const void *)own ? own : NULL;
}
#endif

void tc_gemm_serial_b(bool trans_a, int64_t m, tc_scalar alpha, const tc_scalar *a, int64_t lda,
                      const tc_gemm_b_panel *pb, const tc_scalar *bias, tc_scalar beta, tc_scalar *c, int64_t ldc)
{
#ifndef TC_DOUBLE
    if (pb->lowp) { /* bf16 / int8 weights: their own kernels on every ISA, every m */
        tc_lowp_gemm(pb->lowp, 1, trans_a, m, alpha, a, lda, bias, beta, c, ldc);
        return;
    }
    const tc_sgemm_kernel_info *own = prepacked_for(pb, m);
    if (own) {
        tc_sgemm_packed_pb(own, 1, trans_a, m, pb->n, pb->k, alpha, a, lda, pb->packed, bias, beta, c, ldc);
        return;
    }
    if ((own = in_place_for(pb, m))) {
        tc_sgemm_packed_bias(own, 1, trans_a, pb->tb, m, pb->n, pb->k, alpha, a, lda, pb->b, pb->ldb, bias, beta, c,
                             ldc);
        return;
    }
#endif
    if (bias) fill_bias(m, pb->n, bias, c, ldc), beta = 1;
    tc_gemm_serial(trans_a, pb->tb, m, pb->n, pb->k, alpha, a, lda, pb->b, pb->ldb, beta, c, ldc);
}

void tc_gemm_b(bool trans_a, int64_t m, tc_scalar alpha, const tc_scalar *a, int64_t lda, const tc_gemm_b_panel *pb,
               const tc_scalar *bias, tc_scalar beta, tc_scalar *c, int64_t ldc)
{
#ifndef TC_DOUBLE
    if (pb->lowp) {
        tc_lowp_gemm(pb->lowp, tc_num_threads(), trans_a, m, alpha, a, lda, bias, beta, c, ldc);
        return;
    }
    const tc_sgemm_kernel_info *own = prepacked_for(pb, m);
    if (own) {
        tc_sgemm_packed_pb(own, tc_num_threads(), trans_a, m, pb->n, pb->k, alpha, a, lda, pb->packed, bias, beta, c,
                           ldc);
        return;
    }
    if ((own = in_place_for(pb, m))) {
        tc_sgemm_packed_bias(own, tc_num_threads(), trans_a, pb->tb, m, pb->n, pb->k, alpha, a, lda, pb->b, pb->ldb,
                             bias, beta, c, ldc);
        return;
    }
#endif
    if (bias) fill_bias(m, pb->n, bias, c, ldc), beta = 1;
    tc_gemm(trans_a, pb->tb, m, pb->n, pb->k, alpha, a, lda, pb->b, pb->ldb, beta, c, ldc);
}

bool tc_gemm_b_tiles(int64_t m, const tc_scalar *a, int64_t lda, const tc_gemm_b_panel *pb, const tc_scalar *bias,
                     tc_scalar *c, int64_t ldc, tc_gemm_tile_fn fn, void *ctx, bool per_part)
{
#ifndef TC_DOUBLE
    if (pb->lowp) return false;
    const tc_sgemm_tile_ep ep = {fn, ctx, per_part};
    const tc_sgemm_kernel_info *own = prepacked_for(pb, m);
    if (own) {
        tc_sgemm_packed_pb_ep(own, tc_num_threads(), m, pb->n, pb->k, a, lda, pb->packed, bias, c, ldc, &ep);
        return true;
    }
    if (!per_part || pb->tb || !(own = in_place_for(pb, m))) return false;
    tc_sgemm_packed_bias_ep(own, tc_num_threads(), m, pb->n, pb->k, a, lda, pb->b, pb->ldb, bias, c, ldc, &ep);
    return true;
#else
    (void)m, (void)a, (void)lda, (void)pb, (void)bias, (void)c, (void)ldc, (void)fn, (void)ctx, (void)per_part;
    return false;
#endif
}

bool tc_gemm_b_runs(bool pooled, int64_t m, const tc_gemm_a_runs *a, const tc_gemm_b_panel *pb,
                    const tc_scalar *bias, tc_scalar *c, int64_t ldc, tc_gemm_tile_fn fn, void *ctx, bool per_part)
{
#ifndef TC_DOUBLE
    const tc_sgemm_kernel_info *own = prepacked_for(pb, m), *inp = own ? NULL : in_place_for(pb, m);
    const tc_sgemm_tile_ep ep = {fn, ctx, per_part};
    const int threads = pooled ? tc_num_threads() : 1;
    if (inp && !pb->tb && inp->pack_a6r && a->run_len > 0 && pb->k % a->run_len == 0)
        return tc_sgemm_packed_runs_ep(inp, threads, m, pb->n, pb->k, a, NULL, pb->b, pb->ldb, bias, c, ldc,
                                       fn ? &ep : NULL);
    if (!own || !own->pack_a6r || a->run_len <= 0 || pb->k % a->run_len != 0) return false;
    return tc_sgemm_packed_runs_ep(own, threads, m, pb->n, pb->k, a, pb->packed, NULL, 0, bias, c, ldc, fn ? &ep : NULL);
#else
    (void)pooled, (void)m, (void)a, (void)pb, (void)bias, (void)c, (void)ldc, (void)fn, (void)ctx, (void)per_part;
    return false;
#endif
}
