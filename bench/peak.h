/* The machine's measured float32 FMA peak, for the benchmarks' "% of peak"
 * columns: an FMA loop with enough independent accumulators to hide the
 * latency, compiled for AVX-512, AVX2+FMA and plain SSE and chosen from the
 * CPU's features at run time (one binary on any x86-64), or asked for by
 * name (measure_peak_isa: the peak of the ISA path a benchmark runs), run on
 * 1 and on N threads at once. Measured at start-up, never a constant from another
 * machine: Zen 4 (double-pumped AVX-512) and Zen 5 (full-width) differ 2x.
 *
 * Each loop is timed by its own thread's CPU clock, not the wall clock: on a
 * shared machine the wall-clock figure is the share of the cores this process
 * was given (the same binary measured 182-446 GFLOP/s on 2 Zen 5 cores within
 * a minute at load 2), so two programs measuring seconds apart disagreed by 2x.
 * The CPU-clock rate is what a core does while it runs the loop, so bench_ops
 * and bench_peak report the same peak whatever else runs. The wall-clock rate
 * is kept (peak_wall) to show how much of the machine the run had. */
#ifndef TC_BENCH_PEAK_H
#define TC_BENCH_PEAK_H

#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double peak_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define PEAK_ITERS 20000000L
#define PEAK_ACC 12 /* 12 independent chains: > latency x throughput on every core we know */

__attribute__((target("avx512f"))) static float peak_loop_avx512(long iters)
{
    __m512 acc[PEAK_ACC], a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float peak_loop_avx2(long iters)
{
    __m256 acc[PEAK_ACC], a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm256_add_ps(s, acc[i]);
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

/* no FMA: a multiply and an add per lane count as 2 flops, as an FMA does */
static float peak_loop_sse(long iters)
{
    __m128 acc[PEAK_ACC], a = _mm_set1_ps(0.9999f), b = _mm_set1_ps(1e-7f);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
    float out[4];
    __m128 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm_add_ps(s, acc[i]);
    _mm_storeu_ps(out, s);
    return out[0];
}

typedef struct {
    long iters;
    int width; /* floats per vector */
    double seconds; /* this thread's CPU time */
    double wall;
    volatile float sink;
} peak_job;

static double peak_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *peak_thread(void *arg)
{
    peak_job *j = arg;
    double t = peak_now(), c = peak_thread_cpu();
    if (j->width == 16) j->sink = peak_loop_avx512(j->iters);
    else if (j->width == 8) j->sink = peak_loop_avx2(j->iters);
    else j->sink = peak_loop_sse(j->iters);
    j->seconds = peak_thread_cpu() - c;
    j->wall = peak_now() - t;
    return NULL;
}

static const char *peak_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
    return "sse";
}

/* Vector width in floats of an ISA's loop: "avx512" 16, "avx2" 8, anything
 * else ("sse", "generic") 4, capped at what this CPU runs (asking for
 * avx512 on an AVX2-only CPU measures the avx2 loop). */
static inline int peak_width(const char *isa)
{
    const char *best = peak_isa();
    const int have = best[3] == '5' ? 16 : best[1] == 'v' ? 8 : 4;
    const int want = isa && !strcmp(isa, "avx512") ? 16 : isa && !strcmp(isa, "avx2") ? 8 : 4;
    return want < have ? want : have;
}

/* The name of the loop peak_width(isa) runs */
static inline const char *peak_isa_loop(const char *isa)
{
    const int w = peak_width(isa);
    return w == 16 ? "avx512" : w == 8 ? "avx2" : "sse";
}

/* GFLOP/s of `threads` FMA loops of one ISA ("avx512", "avx2", "sse")
 * started at once (best of 3), each at the rate of its own CPU time;
 * *wall_gflops (may be NULL) gets the best wall-clock sum, the part of that
 * peak this process was given. The peak of the ISA a code path runs is the
 * honest denominator for its "% of peak": a 256-bit path on a CPU with
 * full-width AVX-512 (Zen 5) can reach only about half the 512-bit peak. */
static double measure_peak_isa_wall(int threads, const char *isa, double *wall_gflops)
{
    const int width = peak_width(isa);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    double best = 0, best_wall = 0;
    for (int rep = 0; rep < 3; rep++) {
        peak_job jobs[64];
        pthread_t tid[64];
        for (int i = 0; i < threads; i++) {
            jobs[i] = (peak_job){.iters = PEAK_ITERS / (width / 4), .width = width};
            pthread_create(&tid[i], NULL, peak_thread, &jobs[i]);
        }
        double gf = 0, gw = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            double flops = 2.0 * PEAK_ACC * width * (double)jobs[i].iters;
            gf += flops / jobs[i].seconds * 1e-9;
            gw += flops / jobs[i].wall * 1e-9;
        }
        if (gf > best) best = gf;
        if (gw > best_wall) best_wall = gw;
    }
    if (wall_gflops) *wall_gflops = best_wall;
    return best;
}

static inline double measure_peak_isa(int threads, const char *isa) { return measure_peak_isa_wall(threads, isa, NULL); }

/* The peak of the best ISA this CPU has */
static inline double measure_peak_wall(int threads, double *wall_gflops)
{
    return measure_peak_isa_wall(threads, peak_isa(), wall_gflops);
}

static inline double measure_peak(int threads) { return measure_peak_wall(threads, NULL); }

#endif
