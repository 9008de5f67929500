/* Inference speed of an imported ONNX model: images per second (best of N
 * wall-clock runs) and the median process CPU time of a run (all threads
 * together: on a loaded machine the figure that still compares).
 * Usage: bench_onnx MODEL.onnx BATCH [REPEATS]  (TENSORCOOK_THREADS sets threads)
 * The model is rewritten for inference (tc_onnx_prepare_inference:
 * BatchNormalization folded, activations and residual adds fused into the
 * convolutions) unless BENCH_NO_FOLD is set. BENCH_PRECISION=bf16|int8 packs
 * the constant kernels in that precision (tc_onnx_set_precision); the
 * 3x3 stride-1 Convs run as Winograd with the transformed kernels kept with
 * the model by default (TENSORCOOK_CONV=auto), TENSORCOOK_CONV=direct gives
 * the im2col path (the line ends with "conv ..."). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorcook/tensorcook.h"
#include "tensorcook/onnx.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_onnx MODEL.onnx BATCH [REPEATS]\n");
        return 2;
    }
    int batch = atoi(argv[2]), repeats = argc > 3 ? atoi(argv[3]) : 3;
    tc_onnx_model *m = tc_onnx_load(argv[1]);
    if (!m) {
        fprintf(stderr, "bench_onnx: %s\n", tc_last_error());
        return 1;
    }
    int folded = 0, fused = 0;
    tc_precision prec = TC_PRECISION_FP32;
    const char *ps = getenv("BENCH_PRECISION");
    if (ps && *ps && !tc_precision_parse(ps, &prec)) {
        fprintf(stderr, "bench_onnx: BENCH_PRECISION=%s: expected fp32, bf16 or int8\n", ps);
        return 2;
    }
    tc_onnx_set_precision(m, prec);
    if (!getenv("BENCH_NO_FOLD") && tc_onnx_prepare_inference(m, &folded, &fused) != TC_OK) {
        fprintf(stderr, "bench_onnx: %s\n", tc_last_error());
        return 1;
    }
    int64_t dims[TC_MAX_DIMS];
    int r = tc_onnx_input_shape(m, 0, dims);
    if (r < 1) {
        fprintf(stderr, "bench_onnx: the first input has no declared shape\n");
        return 1;
    }
    dims[0] = batch;
    for (int d = 1; d < r; d++)
        if (dims[d] < 0) dims[d] = 1;
    tc_set_grad_enabled(false);
    double best = 1e30, *cpu = calloc((size_t)repeats + 1, sizeof *cpu);
    if (!cpu) return 1;
    /* one input for every run: drawing 8 x 299 x 299 x 3 normals took longer
     * than MobileNet-v2's inference */
    tc_tensor *x = tc_tensor_new(r, dims);
    if (!x) return 1;
    tc_rng g = tc_rng_new(1);
    tc_rng_normal(&g, x->data, tc_numel(x), 0, 1);
    for (int i = 0; i <= repeats; i++) {
        tc_tensor *y;
        double t = now(), c = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (tc_onnx_run(m, 1, &x, 1, &y) != TC_OK) {
            fprintf(stderr, "bench_onnx: %s\n", tc_last_error());
            return 1;
        }
        t = now() - t;
        if (i > 0) cpu[i - 1] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c;
        if (i > 0 && t < best) best = t; /* the first run warms up */
        if (getenv("TC_BENCH_VERBOSE"))
            fprintf(stderr, "run %d: %.3f s, arena high water %zu MB, arena mallocs %zu\n", i, t,
                    tc_arena_high_water() >> 20, tc_arena_malloc_count());
        tc_step_reset();
    }
    qsort(cpu, (size_t)repeats, sizeof *cpu, by_value);
    printf("tensorcook %s batch %d threads %d: %.2f images/s (%d BatchNormalization folded, %d epilogues fused; "
           "median CPU %.1f ms a run; %s; conv %s)\n",
           argv[1], batch, tc_num_threads(), batch / best, folded, fused, repeats > 0 ? cpu[repeats / 2] * 1e3 : 0.0,
           tc_precision_name(prec), tc_conv_algorithm_name(tc_conv_get_algorithm()));
    free(cpu);
    tc_tensor_free(x);
    tc_onnx_free(m);
    tc_shutdown();
    return 0;
}
