/* Inference 3x3 convolutions with the kernel prepared once (tc_conv_weights,
 * as the ONNX importer and the zoo's inference plans do): direct path
 * against Winograd F(4x4,3x3) with its transformed kernel kept, on the 3x3
 * stride-1 layers of ResNet-50 and Inception-v3 at several batches, the two
 * alternating repeat by repeat so both see the same load. Every call is
 * forced to take Winograd whatever its tile count
 * (TENSORCOOK_WINO_MIN_TILES=0, set here unless given), so the rows show
 * where the kept kernel's threshold (conv_winograd.c) should be.
 * Usage: TENSORCOOK_THREADS=1 bench_wino_kept [REPEATS] [BATCH...]   (5; 1 2 4 8)
 * One line per layer and batch: tiles, best CPU ms of the direct path, of
 * Winograd with the kept kernel and with the per-call one, and the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

typedef struct {
    const char *name;
    int hw, c, f;
} layer;

/* ResNet-50's and Inception-v3's 3x3 stride-1 convolutions (the ONNX models of bench/onnx_models.py) */
static const layer LAYERS[] = {
    {"res2_3x3", 56, 64, 64},      {"res3_3x3", 28, 128, 128},  {"res4_3x3", 14, 256, 256},
    {"res5_3x3", 7, 512, 512},     {"inc_conv3", 147, 32, 64},  {"inc_35_64_96", 35, 64, 96},
    {"inc_35_96_96", 35, 96, 96},  {"inc_8_448_384", 8, 448, 384},
};

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    setenv("TENSORCOOK_WINO_MIN_TILES", "0", 0);
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    int batches[16] = {1, 2, 4, 8}, nb = 4;
    if (argc > 2) {
        nb = 0;
        for (int i = 2; i < argc && nb < 16; i++) batches[nb++] = atoi(argv[i]);
    }
    if (repeats < 1) {
        fprintf(stderr, "usage: bench_wino_kept [REPEATS >= 1] [BATCH...]\n");
        return 2;
    }
    tc_set_grad_enabled(false);
    tc_rng rng = tc_rng_new(1);
    printf("threads %d, CPU ms (best of %d), Winograd forced on every tile count\n", tc_num_threads(), repeats);
    for (size_t li = 0; li < sizeof LAYERS / sizeof LAYERS[0]; li++) {
        const layer *l = &LAYERS[li];
        tc_tensor *w = tc_tensor_new(TC_SHAPE(3, 3, l->c, l->f)), *b = tc_tensor_new(TC_SHAPE(l->f));
        if (!w || !b) return 1;
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.05f);
        tc_rng_normal(&rng, b->data, tc_numel(b), 0, 0.05f);
        tc_conv_weights *pk = tc_conv_weights_prepare(w, 1);
        if (!pk) {
            fprintf(stderr, "bench_wino_kept: %s\n", tc_last_error());
            return 1;
        }
        for (int bi = 0; bi < nb; bi++) {
            const int n = batches[bi];
            tc_tensor *x = tc_tensor_new(TC_SHAPE(n, l->hw, l->hw, l->c));
            if (!x) return 1;
            tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
            tc_conv_params p = {.padding = TC_SAME, .weights = pk, .act = TC_CONV_RELU};
            /* direct (panels kept), Winograd (kernel kept), Winograd (transformed per call) */
            double best[3] = {1e30, 1e30, 1e30};
            for (int r = 0; r <= repeats; r++)
                for (int a = 0; a < 3; a++) {
                    tc_conv_set_algorithm(a ? TC_CONV_WINOGRAD : TC_CONV_DIRECT);
                    p.weights = a == 2 ? NULL : pk;
                    double c0 = cpu_s();
                    tc_tensor *y = tc_conv(x, w, b, &p);
                    double t = cpu_s() - c0;
                    if (!y) {
                        fprintf(stderr, "bench_wino_kept: %s: %s\n", l->name, tc_last_error());
                        return 1;
                    }
                    tc_step_reset();
                    if (r > 0 && t < best[a]) best[a] = t; /* r == 0 warms up (and makes the kept kernel) */
                }
            const int t4 = (l->hw + 3) / 4;
            printf("%-14s batch %d  tiles %5d  direct %8.2f ms  wino kept %8.2f ms  per call %8.2f ms  direct/kept %.2f  "
                   "direct/per-call %.2f\n", l->name, n, n * t4 * t4, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3,
                   best[0] / best[1], best[0] / best[2]);
            fflush(stdout);
            tc_tensor_free(x);
        }
        tc_conv_set_algorithm(TC_CONV_DIRECT);
        tc_conv_weights_free(pk);
        tc_tensor_free(w);
        tc_tensor_free(b);
    }
    tc_shutdown();
    return 0;
}
