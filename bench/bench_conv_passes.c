/* Each pass of a convolution layer's training step timed on its own: the
 * forward, then the backward with only one of the input gradient (dx), the
 * kernel gradient (dw) or the bias gradient (db) asked for, on the layers of
 * bench/conv_zoo_shapes.h. bench_conv_zoo's "train" row is the sum of them;
 * this one says which pass is the slow one. Per CPU-second at 1 thread, as a
 * fraction of the measured FMA peak of the ISA path in use (bench/peak.h);
 * db (F x rows additions, no FLOPs worth a peak) prints its time only.
 * Each backward row is net of "seed": tc_backward_with's copy of the given
 * output gradient into the output's (a fresh tensor of the output's size
 * and a memcpy, timed after each backward; bench_conv_zoo's "train" rows
 * include it, a network's training step does not: its next op writes dY).
 * Usage: TENSORCOOK_THREADS=N bench_conv_passes [REPEATS] [BATCH]   (10, 1)
 * BENCH_ONLY=NAME times only the layers whose name starts with NAME;
 * BENCH_PASS=fwd|dx|dw|db only that pass (and the forward before it: for perf).
 * One line per layer and pass (best of REPEATS after a warm-up):
 *   name pass  cpu ms  wall ms  GFLOP/cpu-s  % of peak */
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

enum { FWD, DX, DW, DB, SEED, NPASS };
static const char *PASS_NAME[NPASS] = {"fwd", "dx", "dw", "db", "seed"};

/* One forward (and backward for the gradient of pass) of layer s at batch n;
 * the forward's and the backward's CPU and wall seconds into t[0..1], t[2..3] */
static bool run_once(const zoo_conv_shape *s, int n, int pass, tc_tensor *w, tc_tensor *b, const tc_tensor *x0,
                     double t[6])
{
    tc_tensor *x = tc_empty(TC_SHAPE(n, s->h, s->w, s->c));
    if (!x) return false;
    memcpy(x->data, x0->data, sizeof(tc_scalar) * (size_t)tc_numel(x));
    tc_set_requires_grad(x, pass == DX);
    tc_set_requires_grad(w, pass == DW);
    tc_set_requires_grad(b, pass == DB);
    tc_conv_params p = {.stride = {s->stride, s->stride}, .padding = TC_EXPLICIT,
                        .pad_before = {s->ph, s->pw}, .pad_after = {s->ph, s->pw}};
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    tc_tensor *y = tc_conv(x, w, b, &p);
    bool ok = y != NULL;
    double c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w1 = clock_s(CLOCK_MONOTONIC);
    tc_tensor *gy = ok && pass != FWD ? tc_full(y->ndim, y->shape, 1) : NULL;
    double c2 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w2 = clock_s(CLOCK_MONOTONIC);
    if (gy) ok = tc_backward_with(y, gy) == TC_OK;
    double c3 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w3 = clock_s(CLOCK_MONOTONIC);
    t[0] = c1 - c0, t[1] = w1 - w0, t[2] = c3 - c2, t[3] = w3 - w2, t[4] = t[5] = 1e30;
    if (ok && gy) { /* the seed alone: what tc_backward_with did before the conv's backward */
        double c4 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w4 = clock_s(CLOCK_MONOTONIC);
        tc_tensor *g = tc_empty(y->ndim, y->shape);
        ok = g != NULL;
        if (ok) memcpy(g->data, gy->data, sizeof(tc_scalar) * (size_t)tc_numel(gy));
        t[4] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c4, t[5] = clock_s(CLOCK_MONOTONIC) - w4;
    }
    if (!ok) fprintf(stderr, "bench_conv_passes: %s: %s\n", s->name, tc_last_error());
    tc_step_reset();
    return ok;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 10, batch = argc > 2 ? atoi(argv[2]) : 1;
    if (repeats < 1 || batch < 1) {
        fprintf(stderr, "usage: bench_conv_passes [REPEATS >= 1] [BATCH >= 1]\n");
        return 2;
    }
    const char *isa = tc_isa_name(tc_isa());
    const double peak = measure_peak_isa(1, isa);
    printf("measured FMA peak (%s loop): %.1f GFLOP/s on 1 core; running on %d thread(s)\n", peak_isa_loop(isa), peak,
           tc_num_threads());
    tc_rng rng = tc_rng_new(1);
    const char *only = getenv("BENCH_ONLY"), *only_pass = getenv("BENCH_PASS");
    for (size_t i = 0; i < sizeof ZOO_CONV_SHAPES / sizeof ZOO_CONV_SHAPES[0]; i++) {
        const zoo_conv_shape *s = &ZOO_CONV_SHAPES[i];
        if (only && strncmp(s->name, only, strlen(only)) != 0) continue;
        int64_t ho = (s->h + 2 * s->ph - s->kh) / s->stride + 1, wo = (s->w + 2 * s->pw - s->kw) / s->stride + 1;
        const double flops = 2.0 * batch * ho * wo * s->kh * s->kw * (double)s->c * s->f;
        tc_tensor *w = tc_tensor_new(TC_SHAPE(s->kh, s->kw, s->c, s->f)), *b = tc_tensor_new(TC_SHAPE(s->f));
        tc_tensor *x0 = tc_tensor_new(TC_SHAPE(batch, s->h, s->w, s->c));
        if (!w || !b || !x0) {
            fprintf(stderr, "bench_conv_passes: %s\n", tc_last_error());
            return 1;
        }
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.05f);
        tc_rng_normal(&rng, x0->data, tc_numel(x0), 0, 1);
        /* best CPU and wall time of each pass; the passes alternate repeat by
         * repeat so that all of them see the same load */
        double best[NPASS][2];
        for (int q = 0; q < NPASS; q++) best[q][0] = best[q][1] = 1e30;
        for (int r = 0; r <= repeats; r++)
            for (int q = 0; q < SEED; q++) {
                if (q == DX && s->c <= 4) continue; /* a first layer: no network needs its dX */
                if (only_pass && strcmp(only_pass, PASS_NAME[q]) != 0) continue;
                double t[6];
                if (!run_once(s, batch, q, w, b, x0, t)) return 1;
                if (r == 0) continue; /* warm-up */
                const double cpu = q == FWD ? t[0] : t[2], wall = q == FWD ? t[1] : t[3];
                if (cpu < best[q][0]) best[q][0] = cpu;
                if (wall < best[q][1]) best[q][1] = wall;
                if (t[4] < best[SEED][0]) best[SEED][0] = t[4];
                if (t[5] < best[SEED][1]) best[SEED][1] = t[5];
            }
        for (int q = DX; q < SEED; q++) /* net of the seed */
            if (best[q][0] < 1e30) best[q][0] -= best[SEED][0], best[q][1] -= best[SEED][1];
        for (int q = 0; q < NPASS; q++) {
            if (best[q][0] >= 1e30) continue;
            if (q >= DB)
                printf("%-13s %-3s  %8.3f cpu-ms %8.3f ms\n", s->name, PASS_NAME[q], best[q][0] * 1e3, best[q][1] * 1e3);
            else
                printf("%-13s %-3s  %8.3f cpu-ms %8.3f ms  %7.1f GFLOP/cpu-s  %4.0f%% of peak\n", s->name, PASS_NAME[q],
                       best[q][0] * 1e3, best[q][1] * 1e3, flops / best[q][0] * 1e-9,
                       100 * flops / best[q][0] * 1e-9 / peak);
        }
        fflush(stdout);
        tc_tensor_free(w);
        tc_tensor_free(b);
        tc_tensor_free(x0);
    }
    tc_shutdown();
    return 0;
}
