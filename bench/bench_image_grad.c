/* The ops of a style-transfer step other than the convolutions, at the
 * shapes of VGG19 on a 300x400 image: the Gram matrices of the five style
 * layers (forward + backward), the four 2x2 average pools and the ReLUs of
 * the thirteen convolutions up to conv5_1 (forward + backward, their input
 * gradients first ones, as in the step). Process-CPU milliseconds per step
 * of each: the best of REPEATS (on a loaded machine the minimum is the
 * fairer figure).
 * Usage: bench_image_grad [THREADS] [REPEATS] */
#include "tensorcook/tensorcook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef enum { GRAM, AVG_POOL, RELU } kind;

/* y = op(h) and its backward for h a step tensor that requires a gradient
 * (so its gradient is a first one, as in the step), gy all ones */
static double run(kind k, const tc_tensor *x)
{
    tc_tensor *h = tc_empty(x->ndim, x->shape);
    memcpy(h->data, x->data, sizeof(tc_scalar) * (size_t)tc_numel(x));
    tc_set_requires_grad(h, true);
    tc_tensor *gy = NULL;
    double t0 = cpu_now();
    tc_tensor *y = k == GRAM ? tc_gram(h) : k == AVG_POOL ? tc_avg_pool(h, &(tc_pool_params){.kernel = {2, 2}}) : tc_relu(h);
    double t1 = cpu_now();
    if (y) gy = tc_full(y->ndim, y->shape, 1);
    double t2 = cpu_now();
    if (!y || !gy || tc_backward_with(y, gy) != TC_OK) {
        fprintf(stderr, "bench_image_grad: %s\n", tc_last_error());
        exit(1);
    }
    double t3 = cpu_now();
    tc_step_reset();
    return (t1 - t0) + (t3 - t2);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, repeats = argc > 2 ? atoi(argv[2]) : 5;
    tc_set_num_threads(threads);
    static const struct { const char *name; kind k; int64_t H, W, C; } cases[] = {
        {"gram conv1_1 300x400x64", GRAM, 300, 400, 64},   {"gram conv2_1 150x200x128", GRAM, 150, 200, 128},
        {"gram conv3_1 75x100x256", GRAM, 75, 100, 256},   {"gram conv4_1 37x50x512", GRAM, 37, 50, 512},
        {"gram conv5_1 18x25x512", GRAM, 18, 25, 512},     {"avg_pool 300x400x64", AVG_POOL, 300, 400, 64},
        {"avg_pool 150x200x128", AVG_POOL, 150, 200, 128}, {"avg_pool 75x100x256", AVG_POOL, 75, 100, 256},
        {"avg_pool 37x50x512", AVG_POOL, 37, 50, 512},     {"relu x2 300x400x64", RELU, 300, 400, 64},
        {"relu x2 150x200x128", RELU, 150, 200, 128},      {"relu x4 75x100x256", RELU, 75, 100, 256},
        {"relu x4 37x50x512", RELU, 37, 50, 512},          {"relu x1 18x25x512", RELU, 18, 25, 512},
    };
    static const int count[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 4, 1};
    double total = 0;
    printf("threads %d, best of %d, process CPU ms (forward + backward, times the layers of that shape)\n", threads, repeats);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_rng rng = tc_rng_new(1);
        tc_tensor *x = tc_tensor_new(TC_SHAPE(1, cases[i].H, cases[i].W, cases[i].C));
        tc_rng_uniform(&rng, x->data, tc_numel(x), -1, 1);
        tc_set_requires_grad(x, true);
        double best = 1e30;
        for (int r = 0; r <= repeats; r++) { /* run 0 warms up: first touches of the arena and of x's gradient */
            double t = run(cases[i].k, x);
            if (r > 0 && t < best) best = t;
        }
        tc_tensor_free(x);
        best *= count[i];
        total += best;
        printf("%-28s %8.2f ms\n", cases[i].name, 1e3 * best);
    }
    printf("%-28s %8.2f ms\n", "total", 1e3 * total);
    tc_shutdown();
    return 0;
}
