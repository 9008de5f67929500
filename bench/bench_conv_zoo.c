/* Convolution speed on the layers of VGG16, ResNet-50 and InceptionV3
 * (bench/conv_zoo_shapes.h), forward alone (inference: nothing needs a
 * gradient) and forward + backward (training: kernel and bias gradients,
 * and the input gradient except for a first layer of <= 4 channels, which
 * no network needs), as a fraction of this machine's 1-core FMA peak for
 * the ISA path in use (TENSORCOOK_ISA) measured at start-up (bench/peak.h),
 * per CPU-second used at 1 thread: the share of the cycles the run took
 * that did useful FMAs (time threads spend waiting counts against it); at
 * more threads per wall second against the peak of that many cores.
 * Usage: TENSORCOOK_THREADS=N bench_conv_zoo [REPEATS] [BATCH]   (5, 1)
 * One line per layer and pass (best of REPEATS after a warm-up):
 *   name pass threads N batch B  wall ms  GFLOP/s  cpu ms  GFLOP/cpu-s  % of peak
 * On a shared machine the CPU-time figure is the steadier one at 1 thread.
 * BENCH_ONLY=NAME times only the layers whose name starts with NAME.
 * BENCH_CONV=both adds, on the 3x3 stride-1 layers, a "dx" pass (forward +
 * input gradient, the kernel needing none: DeepDream, style transfer) and
 * runs every pass with the direct path and with Winograd F(4x4,3x3)
 * (tc_conv_set_algorithm), the two alternating repeat by repeat so both see
 * the same load; the rows say "direct" or "wino". Winograd's GFLOP figures
 * count the direct convolution's FLOPs (an effective rate: it does 4x
 * fewer multiplications), so its "% of peak" may pass 100.
 * BENCH_SPLIT=1 adds, on every layer (direct path), a "dx" pass (forward +
 * input gradient) and a "dw" pass (forward + kernel and bias gradients, the
 * input needing none), so each backward product can be told apart from the
 * forward: dX = dx - fwd, dW = dw - fwd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conv_zoo_shapes.h"
#include "peak.h"
#include "tensorcook/tensorcook.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    double wall, cpu;
} best_time;

/* One pass of layer s at batch n; false on an error (printed). */
static bool run_once(const zoo_conv_shape *s, int n, bool train, bool dx, bool xgrad, tc_tensor *w, tc_tensor *b,
                     tc_rng *rng, best_time *t)
{
    tc_tensor *x = tc_empty(TC_SHAPE(n, s->h, s->w, s->c));
    if (!x) return false;
    tc_rng_normal(rng, x->data, tc_numel(x), 0, 1);
    if ((train && s->c > 4 && xgrad) || dx) tc_set_requires_grad(x, true);
    train = train || dx;
    tc_conv_params p = {.stride = {s->stride, s->stride}, .padding = TC_EXPLICIT,
                        .pad_before = {s->ph, s->pw}, .pad_after = {s->ph, s->pw}};
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    tc_tensor *y = tc_conv(x, w, b, &p);
    bool ok = y != NULL;
    if (ok && train) ok = tc_backward_with(y, tc_full(y->ndim, y->shape, 1)) == TC_OK;
    t->wall = clock_s(CLOCK_MONOTONIC) - w0;
    t->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (!ok) fprintf(stderr, "bench_conv_zoo: %s: %s\n", s->name, tc_last_error());
    tc_step_reset();
    return ok;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 5, batch = argc > 2 ? atoi(argv[2]) : 1;
    if (repeats < 1 || batch < 1) {
        fprintf(stderr, "usage: bench_conv_zoo [REPEATS >= 1] [BATCH >= 1]\n");
        return 2;
    }
    int threads = tc_num_threads();
    /* % of the peak of the ISA path in use (TENSORCOOK_ISA=avx2 on an AVX-512
     * CPU is measured against the 256-bit loop; generic against SSE) */
    const char *isa = tc_isa_name(tc_isa());
    double peak = measure_peak_isa(1, isa);
    /* With more threads "% of peak" is wall GFLOP/s over the peak of that
     * many cores: the process CPU clock read at the end of a pass of a few
     * ms misses what a still running (spinning) pool worker used since the
     * scheduler last charged it, so GFLOP/cpu-s at 2 threads read up to 180%
     * of a core's peak on this machine (quiet, 2026-12-03). */
    const double peak_n = threads > 1 ? measure_peak_isa(threads, isa) : peak;
    printf("measured FMA peak (%s loop, the ISA path in use): %.1f GFLOP/s on 1 core, %.1f on %d (best loop, %s: %.1f);"
           " running on %d thread(s)\n", peak_isa_loop(isa), peak, peak_n, threads, peak_isa(), measure_peak(1), threads);
    tc_rng rng = tc_rng_new(1);
    for (size_t i = 0; i < sizeof ZOO_CONV_SHAPES / sizeof ZOO_CONV_SHAPES[0]; i++) {
        const zoo_conv_shape *s = &ZOO_CONV_SHAPES[i];
        const char *only = getenv("BENCH_ONLY");
        if (only && strncmp(s->name, only, strlen(only)) != 0) continue;
        int64_t ho = (s->h + 2 * s->ph - s->kh) / s->stride + 1, wo = (s->w + 2 * s->pw - s->kw) / s->stride + 1;
        double fwd_flops = 2.0 * batch * ho * wo * s->kh * s->kw * (double)s->c * s->f;
        const char *both = getenv("BENCH_CONV");
        const bool compare = both && !strcmp(both, "both") && s->kh == 3 && s->kw == 3 && s->stride == 1 &&
                             s->c >= 8 && s->f >= 8;
        const char *split_env = getenv("BENCH_SPLIT");
        const bool split = split_env && atoi(split_env) > 0 && !compare;
        for (int pass = 0; pass <= 3; pass++) { /* fwd, dx (compare or split), dw (split), train */
            if ((pass == 1 && !compare && !split) || (pass == 2 && !split)) continue;
            const bool train = pass >= 2, dx = pass == 1, xgrad = pass == 3;
            tc_tensor *w = tc_tensor_new(TC_SHAPE(s->kh, s->kw, s->c, s->f)), *b = tc_tensor_new(TC_SHAPE(s->f));
            if (!w || !b) {
                fprintf(stderr, "bench_conv_zoo: %s\n", tc_last_error());
                return 1;
            }
            tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.05f);
            tc_set_requires_grad(w, train);
            tc_set_requires_grad(b, train);
            const int nalg = compare ? 2 : 1;
            best_time best[2] = {{1e30, 1e30}, {1e30, 1e30}};
            for (int r = 0; r <= repeats; r++)
                for (int a = 0; a < nalg; a++) {
                    best_time t;
                    tc_conv_set_algorithm(a ? TC_CONV_WINOGRAD : TC_CONV_DIRECT);
                    bool ok = run_once(s, batch, train, dx, xgrad, w, b, &rng, &t);
                    tc_conv_set_algorithm(TC_CONV_DIRECT);
                    if (!ok) return 1;
                    if (r == 0) continue; /* warm-up: first-touch of the arena and the pack buffers */
                    if (t.wall < best[a].wall) best[a].wall = t.wall;
                    if (t.cpu < best[a].cpu) best[a].cpu = t.cpu;
                }
            /* training: forward, kernel gradient, and the input gradient where it is needed */
            double flops = fwd_flops * (train ? (s->c > 4 && xgrad ? 3 : 2) : dx ? 2 : 1);
            for (int a = 0; a < nalg; a++) {
                double g = flops / best[a].wall * 1e-9;
                printf("%-13s %-5s%s threads %d batch %d  %9.2f ms  %7.1f GFLOP/s  %9.2f cpu-ms  %7.1f GFLOP/cpu-s  %4.0f%% of peak\n",
                       s->name, train ? (xgrad ? "train" : "dw") : dx ? "dx" : "fwd", compare ? (a ? " wino  " : " direct") : "", threads,
                       batch, best[a].wall * 1e3, g, best[a].cpu * 1e3, flops / best[a].cpu * 1e-9,
                       threads > 1 ? 100 * g / peak_n : 100 * flops / best[a].cpu * 1e-9 / peak);
            }
            fflush(stdout);
            tc_tensor_free(w);
            tc_tensor_free(b);
        }
    }
    tc_shutdown();
    return 0;
}
