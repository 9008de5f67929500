/* The thin first layers (issue 10 part 2: MNIST conv1 5x5x1->32 on 28x28,
 * batch 128; CIFAR conv1 3x3x3->32 on 32x32, batch 96) timed in process CPU
 * time, so a loaded machine (other jobs on the cores) slows the figures
 * less than wall-clock time does; run it at TENSORCOOK_THREADS=1.
 * Usage: TENSORCOOK_THREADS=1 bench_thin [repeats]
 * Per shape, best of the repeats after one warm-up: forward; forward +
 * dW + db (a first layer: the input needs no gradient); forward + dW + db +
 * dX (as bench_ops times it); GFLOP/s counting 2*rows*K*F per product, and
 * as a fraction of the FMA loop of bench/peak.h timed the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peak.h"
#include "shapes.h"
#include "tensorcook/tensorcook.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the 1-core FMA peak in CPU time (best of 5), by this thread's clock: the
 * process clock also counted OpenBLAS's server threads spinning after they
 * start, and read half the peak (114 of 228 GFLOP/s, 2026-12-03) */
static double cpu_peak(void)
{
    const char *isa = peak_isa();
    int width = isa[3] == '5' ? 16 : isa[1] == 'v' ? 8 : 4;
    long iters = PEAK_ITERS / (width / 4);
    double best = 0;
    volatile float sink;
    for (int rep = 0; rep < 5; rep++) {
        double t = thread_cpu_now();
        sink = width == 16 ? peak_loop_avx512(iters) : width == 8 ? peak_loop_avx2(iters) : peak_loop_sse(iters);
        t = thread_cpu_now() - t;
        double gf = 2.0 * PEAK_ACC * width * (double)iters / t * 1e-9;
        if (gf > best) best = gf;
    }
    (void)sink;
    return best;
}

/* CPU seconds of one step; phase 0: forward, 1: + dW + db, 2: + dX */
static double step(const conv_shape *c, tc_rng *rng, tc_tensor *w, tc_tensor *b, int phase)
{
    tc_tensor *x = tc_empty(TC_SHAPE(c->n, c->h, c->w, c->c));
    tc_rng_normal(rng, x->data, tc_numel(x), 0, 1);
    if (phase == 2) tc_set_requires_grad(x, true);
    tc_tensor *g = tc_full(TC_SHAPE(c->n, c->h, c->w, c->f), 1);
    double t = cpu_now();
    tc_tensor *y = tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME});
    if (!y || (phase > 0 && tc_backward_with(y, g) != TC_OK)) {
        fprintf(stderr, "bench_thin: %s\n", tc_last_error());
        exit(1);
    }
    t = cpu_now() - t;
    tc_step_reset();
    return t;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 10;
    double peak = cpu_peak();
    /* the wall-clock figure shows how loaded the machine is */
    printf("FMA peak (%s loop): %.1f GFLOP/s in CPU time, %.1f in wall-clock time; tensorcook ISA %d, %d thread(s)\n",
           peak_isa(), peak, measure_peak(1), (int)tc_isa(), tc_num_threads());
    static const char *names[] = {"mnist_conv1", "cifar_conv1"};
    tc_rng rng = tc_rng_new(1);
    for (size_t s = 0; s < sizeof CONV_SHAPES / sizeof CONV_SHAPES[0]; s++) {
        const conv_shape *c = &CONV_SHAPES[s];
        bool wanted = false;
        for (int i = 0; i < 2; i++) wanted |= strcmp(c->name, names[i]) == 0;
        if (!wanted) continue;
        tc_tensor *w = tc_tensor_new(TC_SHAPE(c->k, c->k, c->c, c->f)), *b = tc_tensor_new(TC_SHAPE(c->f));
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.1f);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(b, true);
        double gemm = 2.0 * c->n * c->h * c->w * (double)c->k * c->k * c->c * c->f, best[3] = {1e30, 1e30, 1e30};
        for (int r = 0; r <= repeats; r++)
            for (int ph = 0; ph < 3; ph++) {
                double t = step(c, &rng, w, b, ph);
                if (r > 0 && t < best[ph]) best[ph] = t;
            }
        printf("%-12s fwd %6.2f ms %6.1f GF/s %3.0f%% | fwd+dW+db %6.2f ms %6.1f GF/s %3.0f%% | +dX %6.2f ms %6.1f GF/s "
               "%3.0f%% of peak\n",
               c->name, best[0] * 1e3, gemm / best[0] * 1e-9, 100 * gemm / best[0] * 1e-9 / peak, best[1] * 1e3,
               2 * gemm / best[1] * 1e-9, 100 * 2 * gemm / best[1] * 1e-9 / peak, best[2] * 1e3,
               3 * gemm / best[2] * 1e-9, 100 * 3 * gemm / best[2] * 1e-9 / peak);
        fflush(stdout);
        tc_tensor_free(w);
        tc_tensor_free(b);
    }
    tc_shutdown();
    return 0;
}
