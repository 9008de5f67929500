/* The three GEMMs of a convolution layer on a small map (7x7, 14x14) at a
 * given batch, straight through our packed driver (src/core/gemm_pack.c),
 * one thread, CPU time (steady on a shared machine):
 *   fwd: Y[M x F]  = P[M x K] W[K x F]     (M = batch x map pixels)
 *   dx:  dP[M x K] = dY[M x F] W^T          (B = W read transposed)
 *   dw:  dW[K x F] += P^T dY                (reduction over the M rows)
 *   pb:  the forward with W packed once before (tc_sgemm_pack_b, as the kept
 *        inference weights of tc_conv_weights), only P packed per call
 * with M rows, K = taps x C, F filters. Each line: best and median CPU ms of
 * REPEATS and % of the 1-core FMA peak of the ISA path in use; plus the
 * bytes each product must at least move (its operands and result once) to
 * tell a compute-bound product from one the memory system caps.
 * Usage: bench_smallmap [REPEATS] [BATCH]   (20, 1); BENCH_ONLY=NAME prefix,
 * BENCH_HUGE=1 puts the buffers on transparent huge pages (all 2 MB aligned),
 * BENCH_COLD=1 writes 64 MB before every product so that W comes from DRAM (as
 * in a whole model, whose weights do not fit the L3).
 * Shapes: res5_3x3 (49 x 4608 x 512), res5_1x1_out (49 x 512 x 2048),
 * res4_3x3 (196 x 2304 x 256), inc_1x1_8 (64 x 1280 x 320), res5_ds (49 x 1024 x 2048: layer4.0's
 * stride-2 1x1), inc_3x3dbl (64 x 4032 x 384: Mixed_7b's branch3x3dbl_2), scaled by BATCH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tensorcook/tensorcook.h"
#include "peak.h"
#include "../src/core/gemm_pack.h" /* the packed kernels: core-internal */

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 2 MB aligned, on transparent huge pages when BENCH_HUGE=1 (a hint) */
static float *fbuf(int64_t n)
{
    void *p = NULL;
    const size_t bytes = ((size_t)n * sizeof(float) + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    if (posix_memalign(&p, 2u << 20, bytes)) return NULL;
    const char *h = getenv("BENCH_HUGE");
#ifdef MADV_HUGEPAGE
    if (h && atoi(h) > 0) madvise(p, bytes, MADV_HUGEPAGE);
#else
    (void)h;
#endif
    return p;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const int repeats = argc > 1 ? atoi(argv[1]) : 20, batch = argc > 2 ? atoi(argv[2]) : 1;
    if (repeats < 1 || batch < 1) {
        fprintf(stderr, "usage: bench_smallmap [REPEATS] [BATCH]\n");
        return 2;
    }
    const char *isa = tc_isa_name(tc_isa());
    const double peak = measure_peak_isa(1, isa);
    const tc_sgemm_kernel_info *kern = tc_sgemm_kernel_for(tc_isa());
    if (!kern) {
        fprintf(stderr, "bench_smallmap: no packed kernel on the %s path\n", isa);
        return 1;
    }
    printf("packed %dx%d kernel (%s), 1-core peak %.1f GFLOP/s, batch %d\n", kern->mr, kern->nr, isa, peak, batch);
    const struct {
        const char *name;
        int64_t m, k, f;
    } shapes[] = {{"res5_3x3", 49, 4608, 512}, {"res5_1x1_out", 49, 512, 2048}, {"res4_3x3", 196, 2304, 256},
                  {"inc_1x1_8", 64, 1280, 320},
                  {"res5_ds", 49, 1024, 2048}, {"inc_3x3dbl", 64, 4032, 384}};
    const char *only = getenv("BENCH_ONLY"), *cold_env = getenv("BENCH_COLD");
    const size_t cold_bytes = (size_t)64 << 20;
    char *cold = cold_env && atoi(cold_env) > 0 ? malloc(cold_bytes) : NULL;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        if (only && strncmp(shapes[s].name, only, strlen(only)) != 0) continue;
        const int64_t m = shapes[s].m * batch, k = shapes[s].k, f = shapes[s].f;
        float *P = fbuf(m * k), *W = fbuf(k * f), *Y = fbuf(m * f), *dP = fbuf(m * k), *dW = fbuf(k * f);
        float *Wpk = fbuf(tc_sgemm_packed_b_floats(kern, k, f));
        double *t = malloc(sizeof(double) * (size_t)repeats);
        if (!P || !W || !Y || !dP || !dW || !Wpk || !t) return 1;
        for (int64_t i = 0; i < m * k; i++) P[i] = (float)((i * 7 % 13) - 6) * 0.1f;
        for (int64_t i = 0; i < k * f; i++) W[i] = (float)((i * 5 % 11) - 5) * 0.01f, dW[i] = 0;
        for (int64_t i = 0; i < m * f; i++) Y[i] = (float)((i * 3 % 7) - 3) * 0.1f;
        const double flops = 2.0 * (double)m * (double)k * (double)f;
        tc_sgemm_pack_b(kern, false, k, f, W, f, Wpk);
        for (int pass = 0; pass < 4; pass++) {
            double bytes = 4.0 * (double)(m * k + k * f + m * f) + (pass == 2 ? 4.0 * (double)(k * f) : 0);
            for (int r = -1; r < repeats; r++) {
                if (cold) memset(cold, r & 0xff, cold_bytes);
                const double c0 = cpu_s();
                if (pass == 0) tc_sgemm_packed(kern, 1, false, false, m, f, k, 1, P, k, W, f, 0, Y, f);
                else if (pass == 1) tc_sgemm_packed(kern, 1, false, true, m, k, f, 1, Y, f, W, f, 0, dP, k);
                else if (pass == 2) tc_sgemm_packed(kern, 1, true, false, k, f, m, 1, P, k, Y, f, 1, dW, f);
                else tc_sgemm_packed_pb(kern, 1, false, m, f, k, 1, P, k, Wpk, NULL, 0, Y, f);
                if (r >= 0) t[r] = cpu_s() - c0;
            }
            qsort(t, (size_t)repeats, sizeof *t, cmp);
            printf("%-13s %-3s M %5lld K %5lld F %5lld  best %7.3f ms  median %7.3f ms  %4.0f%% of peak  %6.2f MB min traffic"
                   " (%5.1f GB/s at best)\n",
                   shapes[s].name, pass == 0 ? "fwd" : pass == 1 ? "dx" : pass == 2 ? "dw" : "pb", (long long)m, (long long)k, (long long)f,
                   t[0] * 1e3, t[repeats / 2] * 1e3, 100 * flops / t[0] * 1e-9 / peak, bytes * 1e-6, bytes / t[0] * 1e-9);
        }
        free(P), free(W), free(Y), free(dP), free(dW), free(Wpk), free(t);
    }
    free(cold);
    tc_shutdown();
    return 0;
}
