/* Speed of the hot kernels: conv2d forward+backward on the cookbook's layer
 * shapes and two GEMMs, in GFLOP/s and as a fraction of this machine's
 * FMA peak for the ISA path in use (TENSORCOOK_ISA), measured at start-up
 * (bench/peak.h: that ISA's FMA loop, capped at the CPU's features), on 1
 * core and on the N cores of the run.
 * Usage: TENSORCOOK_THREADS=N bench_ops [repeats]
 * Prints one line per shape (best of the repeats after one warm-up):
 *   name threads N ms GFLOP/s, % of the 1-core peak, % of the N-core peak
 * and, for the convolutions, the best CPU time and GFLOP/s per CPU-second.
 * With BENCH_SPLIT=1 it also prints forward and backward GFLOP/s to stderr.
 * Max pooling (forward + backward, memory-bound) is printed in input
 * elements per second, with the forward and backward times. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "peak.h"
#include "shapes.h"
#include "tensorcook/tensorcook.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* process CPU time: on a loaded machine (other jobs on the cores) it grows
 * less than wall-clock time does; with N threads it sums the N cores */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_1, peak_n; /* measured at start-up */
static double peak(int threads) { return threads >= 2 ? peak_n : peak_1; }

static void report(const char *name, int threads, double seconds, double flops)
{
    double gflops = flops / seconds * 1e-9;
    printf("%-12s threads %d  %8.2f ms  %7.1f GFLOP/s  %4.0f%% of 1-core peak  %4.0f%% of %d-core peak\n", name, threads,
           seconds * 1e3, gflops, 100 * gflops / peak(1), 100 * gflops / peak(threads), threads);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    int threads = tc_num_threads();
    double wall_1, wall_n;
    const char *isa = tc_isa_name(tc_isa()); /* the peak of the ISA path in use */
    peak_1 = measure_peak_isa_wall(1, isa, &wall_1);
    peak_n = threads > 1 ? measure_peak_isa_wall(threads, isa, &wall_n) : (wall_n = wall_1, peak_1);
    printf("measured FMA peak (%s loop, CPU time): %.1f GFLOP/s on 1 core, %.1f on %d"
           " (wall clock, the share this run got: %.1f, %.1f)\n", peak_isa_loop(isa), peak_1, peak_n, threads, wall_1, wall_n);
    tc_rng rng = tc_rng_new(1);
    for (size_t s = 0; s < sizeof CONV_SHAPES / sizeof CONV_SHAPES[0]; s++) {
        const conv_shape *c = &CONV_SHAPES[s];
        tc_tensor *w = tc_tensor_new(TC_SHAPE(c->k, c->k, c->c, c->f)), *b = tc_tensor_new(TC_SHAPE(c->f));
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.1f);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(b, true);
        double best = 1e30, best_fwd = 1e30, best_bwd = 1e30, best_cpu = 1e30;
        for (int r = 0; r <= repeats; r++) {
            tc_tensor *x = tc_empty(TC_SHAPE(c->n, c->h, c->w, c->c));
            tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
            tc_set_requires_grad(x, true); /* the input gradient too, as in a hidden layer */
            tc_tensor *g = tc_full(TC_SHAPE(c->n, c->h, c->w, c->f), 1);
            double t = now(), cpu = cpu_now();
            tc_tensor *y = tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME});
            double tf = now();
            if (!y || tc_backward_with(y, g) != TC_OK) {
                fprintf(stderr, "bench_ops: %s\n", tc_last_error());
                return 1;
            }
            double tb = now();
            cpu = cpu_now() - cpu;
            t = tb - t;
            if (r > 0 && t < best) best = t;
            if (r > 0 && cpu < best_cpu) best_cpu = cpu;
            if (r > 0 && tf - (tb - t) < best_fwd) best_fwd = tf - (tb - t);
            if (r > 0 && tb - tf < best_bwd) best_bwd = tb - tf;
            tc_step_reset();
        }
        /* forward, input gradient and kernel gradient: three GEMMs of 2*rows*K*F */
        double flops = 3.0 * 2.0 * c->n * c->h * c->w * (double)c->k * c->k * c->c * c->f;
        report(c->name, threads, best, flops);
        printf("%-12s   cpu %8.2f ms  %7.1f GFLOP/s per CPU-second\n", "", best_cpu * 1e3, flops / best_cpu * 1e-9);
        if (getenv("BENCH_SPLIT"))
            fprintf(stderr, "  %-12s forward %7.1f GFLOP/s  backward %7.1f GFLOP/s\n", c->name,
                    flops / 3 / best_fwd * 1e-9, flops * 2 / 3 / best_bwd * 1e-9);
        tc_tensor_free(w);
        tc_tensor_free(b);
    }
    for (size_t s = 0; s < sizeof GEMM_SHAPES / sizeof GEMM_SHAPES[0]; s++) {
        const gemm_shape *g = &GEMM_SHAPES[s];
        float *a = malloc(sizeof(float) * (size_t)g->m * g->k), *bm = malloc(sizeof(float) * (size_t)g->k * g->n);
        float *cm = malloc(sizeof(float) * (size_t)g->m * g->n);
        tc_rng_uniform(&rng, a, (int64_t)g->m * g->k, -1, 1);
        tc_rng_uniform(&rng, bm, (int64_t)g->k * g->n, -1, 1);
        double best = 1e30;
        for (int r = 0; r <= repeats; r++) {
            double t = now();
            tc_gemm(false, false, g->m, g->n, g->k, 1, a, g->k, bm, g->n, 0, cm, g->n);
            t = now() - t;
            if (r > 0 && t < best) best = t;
        }
        double flops = 2.0 * g->m * g->n * (double)g->k;
        report(g->name, threads, best, flops);
        free(a);
        free(bm);
        free(cm);
    }
    /* max pooling forward + backward: input elements per second (a memory-bound op) */
    for (size_t s = 0; s < sizeof POOL_SHAPES / sizeof POOL_SHAPES[0]; s++) {
        const pool_shape *c = &POOL_SHAPES[s];
        tc_pool_params pp = {.kernel = {c->k, c->k}, .stride = {c->s, c->s}, .padding = TC_EXPLICIT,
                             .pad_before = {c->pad, c->pad}, .pad_after = {c->pad, c->pad}};
        double best = 1e30, best_fwd = 1e30, best_bwd = 1e30;
        for (int r = 0; r <= repeats; r++) {
            tc_tensor *x = tc_empty(TC_SHAPE(c->n, c->h, c->w, c->c));
            tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
            tc_set_requires_grad(x, true);
            double t = now();
            tc_tensor *y = tc_max_pool(x, &pp);
            double tf = now();
            if (!y || tc_backward_with(y, tc_full(y->ndim, y->shape, 1)) != TC_OK) {
                fprintf(stderr, "bench_ops: %s\n", tc_last_error());
                return 1;
            }
            double tb = now();
            if (r > 0 && tb - t < best) best = tb - t;
            if (r > 0 && tf - t < best_fwd) best_fwd = tf - t;
            if (r > 0 && tb - tf < best_bwd) best_bwd = tb - tf;
            tc_step_reset();
        }
        printf("%-12s threads %d  %8.2f ms  %7.2f Gelem/s  forward %7.2f ms  backward %7.2f ms\n", c->name, threads,
               best * 1e3, (double)c->n * c->h * c->w * c->c / best * 1e-9, best_fwd * 1e3, best_bwd * 1e3);
        fflush(stdout);
    }
    tc_shutdown();
    return 0;
}
