/* Float GEMM engines side by side on the shapes tensorcook runs: our packed
 * kernels (AVX-512 6x32, AVX2 6x16, generic 4x16, called straight through
 * the packed driver, src/core/gemm_pack.c) and OpenBLAS as tc_gemm runs it
 * on the generic path (fixed slices; set OPENBLAS_CORETYPE to pick its
 * kernel; the AVX2 path ran it too before it moved to the 6x16 kernel).
 * Shapes: bench/shapes.h's GEMMs and the per-tile GEMMs of the cookbook's
 * convolutions (MNIST conv2 K = 800 and CIFAR conv3 K = 576, ~160-227 rows
 * per tile: forward, kernel gradient P^T dY, input gradient dY W^T), plus a
 * few-row product as in batch-2 inference.
 * Each line: the best wall time and the least CPU time (getrusage, all
 * threads) per product over the repeats. On a shared machine the CPU time
 * is the steadier figure at 1 thread; wall time at 2 threads is only a
 * speed-up measurement when the second core is idle.
 * Usage: bench_gemm [repeats]   Threads: TENSORCOOK_THREADS (default all).
 * BENCH_ONLY=name,name runs only those shapes; BENCH_OWN=1 only our AVX-512
 * (best ISA) kernel, not OpenBLAS or the lower ISA paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tensorcook/tensorcook.h"
#include "peak.h"
#include "../src/core/gemm_pack.h" /* the packed kernels: core-internal */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

typedef struct {
    const char *name;
    int m, n, k;
    bool ta, tb;
} shape;

static const shape SHAPES[] = {
    {"matmul_1024", 1024, 1024, 1024, false, false}, {"lstm_gates", 128, 2048, 1024, false, false},
    {"mnist2_fwd", 160, 64, 800, false, false},      {"mnist2_dW", 800, 64, 160, true, false},
    {"mnist2_dP", 160, 800, 64, false, true},        {"cifar3_fwd", 227, 64, 576, false, false},
    {"rows2_xWt", 2, 1024, 1024, false, true},
    /* ResNet-50's 3x3 forward products at batch 1 (rows = pixels, K = 9 C_in, N = filters) */
    {"res2_3x3", 3136, 64, 576, false, false},      {"res3_3x3", 784, 128, 1152, false, false},
    {"res4_3x3", 196, 256, 2304, false, false},     {"res5_3x3", 49, 512, 4608, false, false},
};

int main(int argc, char **argv)
{
    const int repeats = argc > 1 ? atoi(argv[1]) : 20;
    const tc_isa_level best = tc_isa_best();
    /* each engine against the 1-core FMA peak of its own ISA's loop (OpenBLAS:
     * the best loop, whatever kernel it picked) */
    const char *loop[3] = {"sse", "avx2", "avx512"};
    double peak[3];
    for (int e = 0; e < 3; e++) peak[e] = measure_peak_isa(1, loop[e]);
    printf("threads %d, OPENBLAS_CORETYPE=%s; 1-core FMA peak (CPU time): sse %.1f, avx2 %.1f, avx512 %.1f GFLOP/s"
           " (capped at this CPU's best loop, %s)\n", tc_num_threads(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)", peak[0], peak[1], peak[2], peak_isa());
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const shape *g = &SHAPES[s];
        const char *only = getenv("BENCH_ONLY");
        if (only && *only) {
            bool hit = false;
            for (const char *p = only; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, g->name, strlen(g->name)) == 0 && (p[strlen(g->name)] == ',' || !p[strlen(g->name)]))
                    hit = true;
            if (!hit) continue;
        }
        const bool own_only = getenv("BENCH_OWN") && atoi(getenv("BENCH_OWN"));
        const int lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
        float *a = malloc(sizeof(float) * (size_t)g->m * (size_t)g->k);
        float *b = malloc(sizeof(float) * (size_t)g->k * (size_t)g->n);
        float *c = malloc(sizeof(float) * (size_t)g->m * (size_t)g->n);
        if (!a || !b || !c) return 1;
        for (size_t i = 0; i < (size_t)g->m * (size_t)g->k; i++) a[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)g->k * (size_t)g->n; i++) b[i] = (float)(i % 5) * 0.1f;
        const double flop = 2.0 * g->m * g->n * g->k;
        /* enough calls per timing that getrusage's resolution does not matter */
        int inner = (int)(2e8 / flop);
        if (inner < 1) inner = 1;
        for (int e = own_only ? (int)best : -1; e <= (int)best; e++) { /* -1: OpenBLAS through tc_gemm */
            const tc_sgemm_kernel_info *kern = e >= 0 ? tc_sgemm_kernel_for(e) : NULL;
            /* the generic path is the one still on OpenBLAS (AVX2 and AVX-512 run the packed kernels) */
            if (!kern && tc_set_isa(TC_ISA_GENERIC) != TC_OK) return 1;
            double wall = 1e30, cpu = 1e30;
            for (int r = 0; r <= repeats; r++) {
                double t0 = now(), c0 = cpu_now();
                for (int i = 0; i < inner; i++) {
                    if (kern)
                        tc_sgemm_packed(kern, tc_num_threads(), g->ta, g->tb, g->m, g->n, g->k, 1, a, lda, b, ldb, 0,
                                        c, g->n);
                    else
                        tc_gemm(g->ta, g->tb, g->m, g->n, g->k, 1, a, lda, b, ldb, 0, c, g->n);
                }
                double t = (now() - t0) / inner, u = (cpu_now() - c0) / inner;
                if (r == 0) continue; /* warm-up: buffers grown, caches filled */
                if (t < wall) wall = t;
                if (u < cpu) cpu = u;
            }
            const double pk = e < 0 ? peak[(int)best] : peak[e];
            printf("%-12s %5d x %5d x %5d ta %d tb %d  %-16s wall %8.3f ms %6.1f GFLOP/s   cpu %8.3f ms %6.1f GFLOP/cpu-s"
                   " %4.0f%% of %s peak\n",
                   g->name, g->m, g->n, g->k, g->ta, g->tb, e < 0 ? "openblas" : e == 0 ? "own generic 4x16" : e == 1 ? "own avx2 6x16" : "own avx512 6x32",
                   wall * 1e3, flop / wall * 1e-9, cpu * 1e3, flop / cpu * 1e-9, 100 * flop / cpu * 1e-9 / pk,
                   e < 0 ? peak_isa() : peak_isa_loop(loop[e]));
        }
        free(a);
        free(b);
        free(c);
    }
    tc_shutdown();
    return 0;
}
