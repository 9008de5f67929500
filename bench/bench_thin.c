/* The thin first layers (issue 10 part 2: MNIST conv1 5x5x1->32 on 28x28,
 * batch 128; CIFAR conv1 3x3x3->32 on 32x32, batch 96) timed in process CPU
 * time, so a loaded machine (other jobs on the cores) slows the figures
 * less than wall-clock time does; run it at TENSORCOOK_THREADS=1.
 * Usage: TENSORCOOK_THREADS=1 bench_thin [repeats]
 * Per shape, best of the repeats after one warm-up: forward; forward +
 * dW + db (a first layer: the input needs no gradient); forward + dW + db +
 * dX (as bench_ops times it); GFLOP/s counting 2*rows*K*F per product, and
 * as a fraction of the FMA loop of bench/peak.h timed the same way.
 * After them the strided stems of the zoo (bench/conv_zoo_shapes.h's
 * inc_conv1: 3x3 stride 2 VALID on 299x299, 3 -> 32; res_conv1: 7x7 stride
 * 2, pads of 3, on 224x224, 3 -> 64) at batch 1 and 8, the same phases
 * (bench/torch_thin.py times PyTorch on the same list). At more threads
 * the CPU time counts the workers too (an efficiency, not a speed).
 * BENCH_ONLY=NAME times only the shapes whose name starts with NAME. */
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

typedef struct {
    const char *name;
    int64_t n, h, w, c, k, f, stride, pad; /* pad < 0: SAME */
} thin_shape;

/* the strided stems (bench/conv_zoo_shapes.h: inc_conv1, res_conv1) */
static const thin_shape STEMS[] = {
    {"inc_conv1", 1, 299, 299, 3, 3, 32, 2, 0}, {"inc_conv1", 8, 299, 299, 3, 3, 32, 2, 0},
    {"res_conv1", 1, 224, 224, 3, 7, 64, 2, 3}, {"res_conv1", 8, 224, 224, 3, 7, 64, 2, 3},
};

static int64_t out_size(const thin_shape *c, int64_t in)
{
    return c->pad < 0 ? in : (in + 2 * c->pad - c->k) / c->stride + 1;
}

/* CPU seconds of one step; phase 0: forward, 1: + dW + db, 2: + dX */
static double step(const thin_shape *c, tc_rng *rng, tc_tensor *w, tc_tensor *b, int phase)
{
    tc_tensor *x = tc_empty(TC_SHAPE(c->n, c->h, c->w, c->c));
    tc_rng_normal(rng, x->data, tc_numel(x), 0, 1);
    if (phase == 2) tc_set_requires_grad(x, true);
    tc_tensor *g = tc_full(TC_SHAPE(c->n, out_size(c, c->h), out_size(c, c->w), c->f), 1);
    tc_conv_params p = {.padding = TC_SAME};
    if (c->pad >= 0) {
        p = (tc_conv_params){.padding = TC_EXPLICIT, .stride = {(int)c->stride, (int)c->stride},
                             .pad_before = {(int)c->pad, (int)c->pad}, .pad_after = {(int)c->pad, (int)c->pad}};
    }
    double t = cpu_now();
    tc_tensor *y = tc_conv(x, w, b, &p);
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
    thin_shape shapes[8];
    int ns = 0;
    for (size_t s = 0; s < sizeof CONV_SHAPES / sizeof CONV_SHAPES[0]; s++) {
        const conv_shape *c = &CONV_SHAPES[s];
        if (strcmp(c->name, "mnist_conv1") == 0 || strcmp(c->name, "cifar_conv1") == 0)
            shapes[ns++] = (thin_shape){c->name, c->n, c->h, c->w, c->c, c->k, c->f, 1, -1};
    }
    for (size_t s = 0; s < sizeof STEMS / sizeof STEMS[0]; s++) shapes[ns++] = STEMS[s];
    const char *only = getenv("BENCH_ONLY");
    tc_rng rng = tc_rng_new(1);
    for (int s = 0; s < ns; s++) {
        const thin_shape *c = &shapes[s];
        if (only && strncmp(c->name, only, strlen(only)) != 0) continue;
        tc_tensor *w = tc_tensor_new(TC_SHAPE(c->k, c->k, c->c, c->f)), *b = tc_tensor_new(TC_SHAPE(c->f));
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.1f);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(b, true);
        double gemm = 2.0 * c->n * out_size(c, c->h) * out_size(c, c->w) * (double)c->k * c->k * c->c * c->f,
               best[3] = {1e30, 1e30, 1e30};
        for (int r = 0; r <= repeats; r++)
            for (int ph = 0; ph < 3; ph++) {
                double t = step(c, &rng, w, b, ph);
                if (r > 0 && t < best[ph]) best[ph] = t;
            }
        char label[32];
        snprintf(label, sizeof label, c->stride > 1 ? "%s b%d" : "%s", c->name, (int)c->n);
        printf("%-12s fwd %6.2f ms %6.1f GF/s %3.0f%% | fwd+dW+db %6.2f ms %6.1f GF/s %3.0f%% | +dX %6.2f ms %6.1f GF/s "
               "%3.0f%% of peak\n",
               label, best[0] * 1e3, gemm / best[0] * 1e-9, 100 * gemm / best[0] * 1e-9 / peak, best[1] * 1e3,
               2 * gemm / best[1] * 1e-9, 100 * 2 * gemm / best[1] * 1e-9 / peak, best[2] * 1e3,
               3 * gemm / best[2] * 1e-9, 100 * 3 * gemm / best[2] * 1e-9 / peak);
        fflush(stdout);
        tc_tensor_free(w);
        tc_tensor_free(b);
    }
    tc_shutdown();
    return 0;
}
