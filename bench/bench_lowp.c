/* int8 products per kernel path, in CPU time (a loaded machine's wall clock
 * measures the load): the reduced-precision GEMM (gemm_lowp.c) on ResNet-50
 * convolution shapes as im2col products (M output positions of a 224 image,
 * K = taps x C_in, N = C_out), and the batch-1 row-vector products of one
 * char-RNN step (3 x LSTM 512, vocabulary 128: W [512, 2048], [1024, 2048] x 2,
 * [512, 128], as bench_gemv).
 * The path is the environment's: TENSORCOOK_ISA=generic|avx2|avx512,
 * TENSORCOOK_INT8_VNNI=0 (no vpdpbusd: a Haswell .. Zen 3 CPU's kernels),
 * TENSORCOOK_LOWP_DOT=0; the kernels in use are printed. One thread.
 * Usage: bench_lowp [repeats]   (median and best CPU time of the repeats)
 * BENCH_PRECISION=bf16 runs the same products with bf16 weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorcook/tensorcook.h"
#include "../src/core/gemm_lowp.h"
#include "../src/core/internal.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *name;
    int64_t m, k, n;
} shape;

static const shape shapes[] = {
    {"res2 3x3 56x56 64->64", 3136, 576, 64},
    {"res2 1x1 56x56 64->256", 3136, 64, 256},
    {"res3 3x3 28x28 128->128", 784, 1152, 128},
    {"res4 3x3 14x14 256->256", 196, 2304, 256},
    {"res5 3x3 7x7 512->512", 49, 4608, 512},
    {"res5 1x1 7x7 2048->512", 49, 2048, 512},
};

int main(int argc, char **argv)
{
    const int repeats = argc > 1 ? atoi(argv[1]) : 7;
    tc_precision prec = TC_PRECISION_INT8;
    const char *ps = getenv("BENCH_PRECISION");
    if (ps && !tc_precision_parse(ps, &prec)) {
        fprintf(stderr, "bench_lowp: BENCH_PRECISION=%s: expected bf16 or int8\n", ps);
        return 2;
    }
    tc_set_num_threads(1);
    tc_rng r = tc_rng_new(3);
    double *t = malloc(sizeof(double) * (size_t)(repeats > 0 ? repeats : 1));
    printf("isa %s, GEMM kernel %s, GEMV kernel %s, %d repeats, CPU time of one thread\n", tc_isa_name(tc_isa()),
           tc_lowp_kernel_name((int)prec), prec == TC_PRECISION_INT8 ? tc_gemv_int8_kernel() : "bf16", repeats);
    double total_med = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *e = &shapes[s];
        float *a = malloc(sizeof(float) * (size_t)(e->m * e->k)), *b = malloc(sizeof(float) * (size_t)(e->k * e->n));
        float *c = malloc(sizeof(float) * (size_t)(e->m * e->n)), *bias = calloc((size_t)e->n, sizeof(float));
        tc_rng_uniform(&r, a, e->m * e->k, 0, 1); /* post-ReLU activations */
        tc_rng_uniform(&r, b, e->k * e->n, -1, 1);
        tc_gemm_b_panel pb;
        if (!tc_gemm_prepare_b_kept_prec(&pb, false, e->k, e->n, b, e->n, prec)) return 1;
        const double macs = (double)e->m * (double)e->k * (double)e->n;
        const int inner = macs < 2e8 ? (int)(2e8 / macs) : 1;
        tc_gemm_serial_b(false, e->m, 1, a, e->k, &pb, bias, 0, c, e->n); /* warm */
        for (int i = 0; i < repeats; i++) {
            double t0 = cpu_now();
            for (int j = 0; j < inner; j++) tc_gemm_serial_b(false, e->m, 1, a, e->k, &pb, bias, 0, c, e->n);
            t[i] = (cpu_now() - t0) / inner;
        }
        qsort(t, (size_t)repeats, sizeof *t, cmp_double);
        total_med += t[repeats / 2];
        printf("gemm %-26s %5lld x %5lld x %4lld: %8.1f us median, %8.1f best, %6.1f GMAC/CPU-s\n", e->name,
               (long long)e->m, (long long)e->k, (long long)e->n, t[repeats / 2] * 1e6, t[0] * 1e6,
               macs / t[repeats / 2] * 1e-9);
        tc_gemm_b_panel_release(&pb);
        free(a), free(b), free(c), free(bias);
    }
    printf("gemm shapes together: %.2f ms median\n", total_med * 1e3);

    /* one char-RNN step's row-vector products */
    const int64_t dims[4][2] = {{512, 2048}, {1024, 2048}, {1024, 2048}, {512, 128}};
    tc_gemv_plan *plan[4];
    float *x[4], *y[4];
    double bytes = 0;
    for (int i = 0; i < 4; i++) {
        const int64_t k = dims[i][0], n = dims[i][1];
        float *w = malloc(sizeof(float) * (size_t)(k * n));
        tc_rng_uniform(&r, w, k * n, -1, 1);
        plan[i] = tc_gemv_plan_new_prec(k, n, w, n, NULL, 0, prec);
        if (!plan[i]) return 1;
        free(w);
        x[i] = malloc(sizeof(float) * (size_t)k);
        tc_rng_uniform(&r, x[i], k, -1, 1);
        y[i] = malloc(sizeof(float) * (size_t)(tc_gemv_panels(plan[i]) * TC_GEMV_PANEL));
        bytes += (double)(k * n) * (prec == TC_PRECISION_INT8 ? 1 : 2);
    }
    const int steps = 200;
    for (int i = 0; i < repeats; i++) {
        double t0 = cpu_now();
        for (int s = 0; s < steps; s++)
            for (int m = 0; m < 4; m++) tc_gemv_run(plan[m], x[m], y[m]);
        t[i] = (cpu_now() - t0) / steps;
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp_double);
    printf("gemv char-RNN step (%.1f MB of weights): %6.1f us median, %6.1f best, %5.1f GB/CPU-s\n", bytes * 1e-6,
           t[repeats / 2] * 1e6, t[0] * 1e6, bytes / t[repeats / 2] * 1e-9);
    for (int i = 0; i < 4; i++) tc_gemv_plan_free(plan[i]), free(x[i]), free(y[i]);
    free(t);
    tc_shutdown();
    return 0;
}
