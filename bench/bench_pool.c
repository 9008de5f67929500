/* Max pooling forward and backward of bench/shapes.h's pools (the MNIST and
 * CIFAR-10 2x2 pools, ResNet's overlapping 3x3 stride-2 stem) in process CPU
 * time, so a loaded machine slows the figures less than wall-clock time
 * does; run it at TENSORCOOK_THREADS=1 beside bench/torch_pool.py.
 * Usage: TENSORCOOK_THREADS=1 bench_pool [repeats]
 * Per shape, best of the repeats after one warm-up: forward (winners kept:
 * a gradient is to come) and backward (tc_backward_with from a gradient of
 * ones, the seed copy included, as PyTorch's y.backward(ones) is timed).
 * BENCH_POOL=avg times average pooling of the same windows instead. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shapes.h"
#include "tensorcook/tensorcook.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 20;
    tc_rng rng = tc_rng_new(1);
    const char *kind = getenv("BENCH_POOL");
    const bool avg = kind && !strcmp(kind, "avg");
    printf("tensorcook ISA %d, %d thread(s), %s pooling, process CPU time\n", (int)tc_isa(), tc_num_threads(),
           avg ? "average" : "max");
    for (size_t s = 0; s < sizeof POOL_SHAPES / sizeof POOL_SHAPES[0]; s++) {
        const pool_shape *c = &POOL_SHAPES[s];
        tc_pool_params pp = {.kernel = {c->k, c->k}, .stride = {c->s, c->s}, .padding = TC_EXPLICIT,
                             .pad_before = {c->pad, c->pad}, .pad_after = {c->pad, c->pad}};
        double best_fwd = 1e30, best_bwd = 1e30;
        for (int r = 0; r <= repeats; r++) {
            tc_tensor *x = tc_empty(TC_SHAPE(c->n, c->h, c->w, c->c));
            tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
            tc_set_requires_grad(x, true);
            double t = cpu_now();
            tc_tensor *y = avg ? tc_avg_pool(x, &pp) : tc_max_pool(x, &pp);
            double tf = cpu_now();
            tc_tensor *g = y ? tc_full(y->ndim, y->shape, 1) : NULL;
            double tg = cpu_now();
            if (!g || tc_backward_with(y, g) != TC_OK) {
                fprintf(stderr, "bench_pool: %s\n", tc_last_error());
                return 1;
            }
            double tb = cpu_now();
            if (r > 0 && tf - t < best_fwd) best_fwd = tf - t;
            if (r > 0 && tb - tg < best_bwd) best_bwd = tb - tg;
            tc_step_reset();
        }
        printf("%-12s forward %7.3f ms  backward %7.3f ms  fwd+bwd %7.3f ms\n", c->name, best_fwd * 1e3,
               best_bwd * 1e3, (best_fwd + best_bwd) * 1e3);
        fflush(stdout);
    }
    tc_shutdown();
    return 0;
}
