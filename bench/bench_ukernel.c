/* The AVX-512 6 x 32 micro-kernels alone (src/core/gemm_kernel_avx512.c:
 * A packed, A in place, A^T in place), on panels as the packed driver
 * feeds them, kc = 256:
 *   l1  one A strip and one B strip over and over (everything in L1): the
 *       kernel's own ceiling;
 *   l2  the driver's loop order on one MC x KC block of A (24 strips, 144
 *       rows, in L2) and 32 B strips (1024 columns): each B strip stays in L1
 *       while the A strips stream from L2, and the 144 x 1024 C is read and
 *       written once per call, as in the middle K block of a product.
 * Each figure: the best of ROUNDS short timings (CPU time of this thread),
 * the kernels alternating round by round, so a loaded machine hurts them
 * alike; % of the FMA peak measured at start (bench/peak.h, CPU clock).
 * Usage: bench_ukernel [ROUNDS]   (default 30) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peak.h"
#include "tensorcook/tensorcook.h"
#include "../src/core/gemm_pack.h" /* the packed kernels: core-internal */

#define KC 256
#define MSTRIPS 24
#define NSTRIPS 32

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* one timing of kernel variant v (0 packed, 1 A in place, 2 A^T in place)
 * in mode l2 (else l1): GFLOP per CPU-second */
static double run(const tc_sgemm_kernel_info *k, int v, int l2, const float *ap, const float *ar, const float *at,
                  const float *b, float *c)
{
    const int64_t ldc = NSTRIPS * 32, lda = KC, ldat = MSTRIPS * 6;
    long calls = 0;
    const double t0 = cpu_now();
    for (int rep = 0; rep < (l2 ? 3 : 2000); rep++)
        for (int js = 0; js < (l2 ? NSTRIPS : 1); js++)
            for (int is = 0; is < (l2 ? MSTRIPS : 1); is++) {
                const float *bs = b + (int64_t)js * KC * 32;
                float *ct = c + (int64_t)is * 6 * ldc + js * 32;
                if (v == 0) k->kernel(KC, ap + (int64_t)is * KC * 6, bs, ct, ldc, 1, 1, false);
                else if (v == 1) k->kernel_ua(KC, ar + (int64_t)is * 6 * lda, lda, bs, ct, ldc, 1, 1, false);
                else k->kernel_uat(KC, at + is * 6, ldat, bs, ct, ldc, 1, 1, false);
                calls++;
            }
    return 2.0 * 6 * 32 * KC * (double)calls / (cpu_now() - t0) * 1e-9;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 30;
    if (tc_isa_best() < TC_ISA_AVX512) {
        printf("bench_ukernel: no AVX-512 on this CPU\n");
        return 0;
    }
    const tc_sgemm_kernel_info *k = tc_sgemm_kernel_for(TC_ISA_AVX512);
    const double peak = measure_peak(1);
    const size_t na = (size_t)MSTRIPS * 6 * KC, nb = (size_t)NSTRIPS * 32 * KC, nc = (size_t)MSTRIPS * 6 * NSTRIPS * 32;
    float *ap = aligned_alloc(64, na * sizeof(float)), *ar = aligned_alloc(64, na * sizeof(float));
    float *at = aligned_alloc(64, na * sizeof(float)), *b = aligned_alloc(64, nb * sizeof(float));
    float *c = aligned_alloc(64, nc * sizeof(float));
    if (!ap || !ar || !at || !b || !c) return 1;
    for (size_t i = 0; i < na; i++) ap[i] = ar[i] = at[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < nb; i++) b[i] = (float)(i % 5) * 0.01f;
    memset(c, 0, nc * sizeof(float));
    static const char *names[3] = {"A packed", "A in place", "A^T in place"};
    double best[2][3] = {{0}};
    for (int r = 0; r < rounds; r++)
        for (int l2 = 0; l2 < 2; l2++)
            for (int v = 0; v < 3; v++) {
                const double g = run(k, v, l2, ap, ar, at, b, c);
                if (g > best[l2][v]) best[l2][v] = g;
            }
    printf("measured FMA peak (%s loop): %.1f GFLOP/s on 1 core; kc %d, best of %d rounds\n", peak_isa(), peak, KC,
           rounds);
    for (int l2 = 0; l2 < 2; l2++)
        for (int v = 0; v < 3; v++)
            printf("6x32 %-13s %s  %6.1f GFLOP/cpu-s  %5.1f%% of peak\n", names[v], l2 ? "l2" : "l1", best[l2][v],
                   100 * best[l2][v] / peak);
    free(ap), free(ar), free(at), free(b), free(c);
    return 0;
}
