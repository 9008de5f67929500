/* Where the second thread goes, pass by pass: the pool's per-region thread
 * CPU times (TENSORCOOK_POOL_STATS, src/core/threads_stats.c, switched on
 * here) counted per layer and pass of bench/conv_zoo_shapes.h at batch 1:
 * the forward, the backward with only dx, dw or db asked for, and "train"
 * (the forward and the backward of all three, as bench_conv_zoo's train
 * row). Each pass is bracketed by empty regions, so the serial time before
 * and after it counts to it; the input copy and the seed tensor are made
 * outside. Thread CPU time holds on a loaded machine where wall time at 2
 * threads does not (the other processes' turns decide it): at T threads a
 * pass's "crit" (its serial time + the slowest chunk of each region) is the
 * wall time it would take with T free cores, "work" the CPU all threads
 * spent in it. Run at 1 and at 2 threads and divide (bench/conv_crit.sh):
 * ideal 2-thread speed-up = 1-thread work / 2-thread crit.
 * Usage: TENSORCOOK_THREADS=N bench_conv_crit [REPEATS]   (10; one warm-up)
 * BENCH_ONLY=NAME only the layers whose name starts with NAME;
 * BENCH_PASS=fwd|dx|dw|db|train only that pass.
 * Prints at exit (stderr) one line per layer and pass, sums over REPEATS:
 *   pool stats tag LAYER/PASS/Tt crit MS work MS serial MS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_zoo_shapes.h"
#include "tensorcook/tensorcook.h"
#include "../src/core/threads_stats.h" /* tc_pool_stats_tag: core-internal */

enum { FWD, DX, DW, DB, TRAIN, NPASS };
static const char *PASS_NAME[NPASS] = {"fwd", "dx", "dw", "db", "train"};

static void nothing(void *ctx, int64_t lo, int64_t hi) { (void)ctx, (void)lo, (void)hi; }
/* an empty region: the serial time since the last one counts to the tag in force */
static void mark(void) { tc_parallel_for(1, 1, nothing, NULL); }

#define NLAYERS (sizeof ZOO_CONV_SHAPES / sizeof ZOO_CONV_SHAPES[0])
static char tag_names[NLAYERS][NPASS][64];

/* one pass q of layer s; the tag (NULL: the warm-up) counts its regions */
static bool run_pass(const zoo_conv_shape *s, int q, tc_tensor *w, tc_tensor *b, const tc_tensor *x0, const char *tag)
{
    const bool first_layer = s->c <= 4; /* no network needs its dX */
    tc_tensor *x = tc_empty(TC_SHAPE(1, s->h, s->w, s->c));
    if (!x) return false;
    memcpy(x->data, x0->data, sizeof(tc_scalar) * (size_t)tc_numel(x));
    tc_set_requires_grad(x, q == DX || (q == TRAIN && !first_layer));
    tc_set_requires_grad(w, q == DW || q == TRAIN);
    tc_set_requires_grad(b, q == DB || q == TRAIN);
    tc_conv_params p = {.stride = {s->stride, s->stride}, .padding = TC_EXPLICIT,
                        .pad_before = {s->ph, s->pw}, .pad_after = {s->ph, s->pw}};
    const int64_t ho = (s->h + 2 * s->ph - s->kh) / s->stride + 1, wo = (s->w + 2 * s->pw - s->kw) / s->stride + 1;
    tc_tensor *gy = q != FWD ? tc_full(TC_SHAPE(1, ho, wo, s->f), 1) : NULL;
    if (q != FWD && !gy) return false;
    mark();
    tc_pool_stats_tag(q == FWD || q == TRAIN ? tag : NULL);
    tc_tensor *y = tc_conv(x, w, b, &p);
    bool ok = y != NULL;
    if (q != TRAIN) mark(), tc_pool_stats_tag(NULL);
    if (ok && q != FWD) {
        if (q != TRAIN) mark(), tc_pool_stats_tag(tag);
        ok = tc_backward_with(y, gy) == TC_OK;
        mark();
        tc_pool_stats_tag(NULL);
    }
    tc_step_reset();
    return ok;
}

int main(int argc, char **argv)
{
    const int repeats = argc > 1 ? atoi(argv[1]) : 10;
    if (repeats < 1) {
        fprintf(stderr, "usage: bench_conv_crit [REPEATS >= 1]\n");
        return 2;
    }
    setenv("TENSORCOOK_POOL_STATS", "1", 1); /* read at the first region */
    const char *only = getenv("BENCH_ONLY"), *only_pass = getenv("BENCH_PASS");
    printf("bench_conv_crit: %d thread(s), %d repeats; the figures are printed at exit\n", tc_num_threads(), repeats);
    fflush(stdout);
    tc_rng rng = tc_rng_new(1);
    for (size_t i = 0; i < NLAYERS; i++) {
        const zoo_conv_shape *s = &ZOO_CONV_SHAPES[i];
        if (only && strncmp(s->name, only, strlen(only)) != 0) continue;
        tc_tensor *w = tc_tensor_new(TC_SHAPE(s->kh, s->kw, s->c, s->f)), *b = tc_tensor_new(TC_SHAPE(s->f));
        tc_tensor *x0 = tc_tensor_new(TC_SHAPE(1, s->h, s->w, s->c));
        if (!w || !b || !x0) {
            fprintf(stderr, "bench_conv_crit: %s\n", tc_last_error());
            return 1;
        }
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.05f);
        tc_rng_normal(&rng, x0->data, tc_numel(x0), 0, 1);
        for (int q = 0; q < NPASS; q++)
            snprintf(tag_names[i][q], sizeof tag_names[i][q], "%s/%s/%dt", s->name, PASS_NAME[q], tc_num_threads());
        for (int r = 0; r <= repeats; r++) /* the passes alternate repeat by repeat: the same load for all */
            for (int q = 0; q < NPASS; q++) {
                if ((q == DX && s->c <= 4) || (only_pass && strcmp(only_pass, PASS_NAME[q]) != 0)) continue;
                if (!run_pass(s, q, w, b, x0, r ? tag_names[i][q] : NULL)) {
                    fprintf(stderr, "bench_conv_crit: %s: %s\n", s->name, tc_last_error());
                    return 1;
                }
            }
        tc_tensor_free(w);
        tc_tensor_free(b);
        tc_tensor_free(x0);
    }
    tc_shutdown();
    return 0;
}
