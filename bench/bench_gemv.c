/* Row-vector products (batch-1 inference, e.g. one char-RNN step) are bound
 * by how fast the weights stream from the cache. This measures:
 *   1. the read bandwidth a plain streaming loop gets from L2, L3 and DRAM
 *      (the ceiling for any GEMV kernel), at 1 and 2 threads;
 *   2. x [1, 1024] @ W [1024, 2048] (8 MB, stays in L3) with OpenBLAS'
 *      cblas_sgemv and with tensorcook's packed tc_gemv_run;
 *   3. the char-RNN generation working set (3 x LSTM 512, vocabulary 100):
 *      W1 [512, 2048] (the one-hot layer reads only its recurrent weights),
 *      W2, W3 [1024, 2048] (kernel and recurrent stacked), dense [512, 128]:
 *      20.2 MB per step, run back to back as a step does; and the same with
 *      bf16 weights (10.1 MB) and int8 weights (5.1 MB, x quantised per
 *      product unless TENSORCOOK_INT8_DOT=0).
 * Buffers of 2 MB or more are on transparent huge pages, as tc_gemv plans are.
 * Usage: bench_gemv [repeats]     (prints the median and best of the repeats)
 * Threads: each line runs at 1 and at 2 threads (tc_set_num_threads). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tensorcook/tensorcook.h"
#include "../src/core/internal.h" /* tc_gemv_plan: kernel-level, not public */

#ifdef __AVX512F__
#include <immintrin.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(void *ctx);

/* Seconds per call: median and best over `repeats` timings of `inner` calls. */
static void time_it(bench_fn fn, void *ctx, int inner, int repeats, double *median, double *best)
{
    double *t = malloc(sizeof(double) * (size_t)repeats);
    fn(ctx); /* warm the caches */
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (int i = 0; i < inner; i++) fn(ctx);
        t[r] = (now() - t0) / inner;
    }
    qsort(t, (size_t)repeats, sizeof(double), cmp_double);
    *median = t[repeats / 2];
    *best = t[0];
    free(t);
}

static void report(const char *what, int threads, double bytes, double median, double best)
{
    printf("%-34s threads %d  %9.1f us  %7.1f GB/s (best %7.1f)\n", what, threads, median * 1e6, bytes / median * 1e-9,
           bytes / best * 1e-9);
    fflush(stdout);
}

/* ---- 1. streaming read ------------------------------------------------------ */
typedef struct {
    const float *buf;
    int64_t n; /* floats, a multiple of 64 */
    float sums[64];
} read_job;

static float sum_range(const float *p, int64_t n)
{
#ifdef __AVX512F__
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
#else
    float a[16] = {0};
    for (int64_t i = 0; i < n; i += 16)
        for (int j = 0; j < 16; j++) a[j] += p[i + j];
    float s = 0;
    for (int j = 0; j < 16; j++) s += a[j];
    return s;
#endif
}

static void read_range(void *ctx, int64_t b, int64_t e)
{
    read_job *j = ctx;
    j->sums[tc_thread_id() * 16] += sum_range(j->buf + b * 1024, (e - b) * 1024);
}

static void read_all(void *ctx)
{
    read_job *j = ctx;
    tc_parallel_for(j->n / 1024, 1, read_range, j);
}

/* ---- 2. one product ------------------------------------------------------------ */
typedef struct {
    int64_t k, n;
    const float *w, *x;
    float *y;
    tc_gemv_plan *plan;
} gemv_job;

static void sgemv_range(void *ctx, int64_t b, int64_t e)
{
    gemv_job *j = ctx;
    int64_t lo = b * 64, hi = e * 64 < j->n ? e * 64 : j->n;
    cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)j->k, (blasint)(hi - lo), 1.0f, j->w + lo, (blasint)j->n, j->x, 1, 0.0f,
                j->y + lo, 1);
}

/* OpenBLAS GEMV, columns split over the pool in blocks of 64 */
static void run_sgemv(void *ctx)
{
    gemv_job *j = ctx;
    tc_parallel_for((j->n + 63) / 64, 4, sgemv_range, j);
}

static void run_packed(void *ctx)
{
    gemv_job *j = ctx;
    tc_gemv_run(j->plan, j->x, j->y);
}

/* ---- 3. the char-RNN step's products, back to back ------------------------------- */
#define STEP_MATS 4
typedef struct {
    gemv_job m[STEP_MATS];
} step_job;

static void step_sgemv(void *ctx)
{
    step_job *s = ctx;
    for (int i = 0; i < STEP_MATS; i++) run_sgemv(&s->m[i]);
}

static void step_packed(void *ctx)
{
    step_job *s = ctx;
    for (int i = 0; i < STEP_MATS; i++) run_packed(&s->m[i]);
}

/* on 2 MB pages where large, as tc_gemv_plan_new does */
static float *random_floats(tc_rng *r, int64_t n)
{
    float *p = NULL;
    size_t bytes = sizeof(float) * (size_t)n, align = bytes >= (2u << 20) ? (2u << 20) : 64;
    if (posix_memalign((void **)&p, align, bytes)) return NULL;
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    tc_rng_uniform(r, p, n, -1, 1);
    return p;
}

static gemv_job make_job_prec(tc_rng *r, int64_t k, int64_t n, tc_precision prec)
{
    gemv_job j = {k, n, random_floats(r, k * n), random_floats(r, k), random_floats(r, n + 64), NULL};
    j.plan = tc_gemv_plan_new_prec(k, n, j.w, n, NULL, 0, prec);
    return j;
}

static gemv_job make_job(tc_rng *r, int64_t k, int64_t n) { return make_job_prec(r, k, n, TC_PRECISION_FP32); }

static void free_job(gemv_job *j)
{
    free((void *)j->w), free((void *)j->x), free(j->y);
    tc_gemv_plan_free(j->plan);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 15;
    if (repeats < 1) repeats = 1;
#ifdef TC_DOUBLE
    fprintf(stderr, "bench_gemv: needs the float build\n");
    return 1;
#endif
    tc_rng r = tc_rng_new(1);
    int64_t sizes_kb[] = {512, 4096, 6144, 8192, 12288, 16384, 20480, 24576, 32768, 262144};
    int n_sizes = (int)(sizeof sizes_kb / sizeof sizes_kb[0]);
    float *big = random_floats(&r, sizes_kb[n_sizes - 1] * 256);
    if (!big) return 1;
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        for (int s = 0; s < n_sizes; s++) {
            read_job j = {big, sizes_kb[s] * 256, {0}};
            double bytes = (double)sizes_kb[s] * 1024, med, best;
            time_it(read_all, &j, (int)(1 + 65536 / sizes_kb[s]), repeats, &med, &best);
            char what[64];
            snprintf(what, sizeof what, "read %lld KB", (long long)sizes_kb[s]);
            report(what, threads, bytes, med, best);
        }
    }
    free(big);

    gemv_job one = make_job(&r, 1024, 2048);
    /* the two kernels agree (different summation order: close, not equal) */
    float *ref = malloc(sizeof(float) * 2048);
    run_sgemv(&one);
    memcpy(ref, one.y, sizeof(float) * 2048);
    run_packed(&one);
    double worst = 0;
    for (int i = 0; i < 2048; i++) {
        double d = ref[i] - one.y[i];
        if (d < 0) d = -d;
        if (d > worst) worst = d;
    }
    printf("1x1024 @ 1024x2048: packed vs sgemv max |difference| %.3g\n", worst);
    free(ref);
    step_job step = {{make_job(&r, 512, 2048), make_job(&r, 1024, 2048), make_job(&r, 1024, 2048), make_job(&r, 512, 128)}};
    /* the same products with bf16 and int8 weights (int8: the way TENSORCOOK_INT8_DOT picks) */
    step_job step_lp[2];
    const tc_precision lp[2] = {TC_PRECISION_BF16, TC_PRECISION_INT8};
    const char *lp_name[2] = {"char-RNN step products, bf16", "char-RNN step products, int8"};
    for (int p = 0; p < 2; p++)
        step_lp[p] = (step_job){{make_job_prec(&r, 512, 2048, lp[p]), make_job_prec(&r, 1024, 2048, lp[p]),
                                 make_job_prec(&r, 1024, 2048, lp[p]), make_job_prec(&r, 512, 128, lp[p])}};
    double step_bytes = 0;
    for (int i = 0; i < STEP_MATS; i++) step_bytes += 4.0 * (double)step.m[i].k * (double)step.m[i].n;
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        double med, best, bytes = 4.0 * 1024 * 2048;
        time_it(run_sgemv, &one, 20, repeats, &med, &best);
        report("1x1024 @ 1024x2048 cblas_sgemv", threads, bytes, med, best);
        time_it(run_packed, &one, 20, repeats, &med, &best);
        report("1x1024 @ 1024x2048 tc_gemv_run", threads, bytes, med, best);
        time_it(step_sgemv, &step, 10, repeats, &med, &best);
        report("char-RNN step products, sgemv", threads, step_bytes, med, best);
        printf("%-34s           -> at most %.0f steps/s\n", "", 1 / med);
        time_it(step_packed, &step, 10, repeats, &med, &best);
        report("char-RNN step products, packed", threads, step_bytes, med, best);
        printf("%-34s           -> at most %.0f steps/s\n", "", 1 / med);
        for (int p = 0; p < 2; p++) { /* GB/s of the bytes streamed: 2 per weight (bf16), 1 (int8) */
            time_it(step_packed, &step_lp[p], 10, repeats, &med, &best);
            report(lp_name[p], threads, step_bytes / (p ? 4 : 2), med, best);
            printf("%-34s           -> at most %.0f steps/s%s%s\n", "", 1 / med, p ? ", kernel " : "",
                   p ? tc_gemv_int8_kernel() : "");
        }
    }
    free_job(&one);
    for (int i = 0; i < STEP_MATS; i++) free_job(&step.m[i]), free_job(&step_lp[0].m[i]), free_job(&step_lp[1].m[i]);
    tc_shutdown();
    return 0;
}
