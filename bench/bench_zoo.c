/* Speed of the model zoo (src/models/) with random weights: inference of
 * VGG16, VGG19, ResNet50, InceptionV3 and Xception at batch 1 and 8 (each
 * at its own input size, 224 or 299, with the top), and the transfer
 * recipe's VGG16 fine-tuning step (256x256, Keras' layers[:15] frozen,
 * Flatten -> Dense 256 ReLU -> Dropout 0.5 -> Dense 1, sigmoid binary
 * cross-entropy, SGD 1e-4 momentum 0.9, batch 16).
 * Inference runs as the classify and features recipes run it: no gradient,
 * after tc_model_prepare_inference (BENCH_NO_FOLD=1 leaves that out;
 * BENCH_NO_PACK=1 keeps it but packs the folded kernels per call, as
 * before tc_model_inference_use_packed).
 * Each case runs twice to warm up (the first run grows the step arena, the
 * second faults in the one block that replaces its pieces), then REPEATS times; it prints, per case,
 * the process CPU time per image (all threads; the number that survives a
 * loaded machine) and the wall-clock images/s, both of the best run:
 *   MODEL BATCH cpu_ms_per_image images_per_s
 * bench/torch_zoo.py prints the same for PyTorch; bench/compare_zoo.sh pairs them.
 * Usage: TENSORCOOK_THREADS=N bench_zoo [REPEATS] [CASE...]
 *   CASE: vgg16 vgg19 resnet50 inception_v3 xception vgg16_finetune (default: all)
 *   BENCH_BATCH=B: inference at that batch only (profiling) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_zoo: %s: %s\n", what, tc_last_error());
    exit(1);
}

static void report(const char *name, int batch, double cpu, double wall)
{
    printf("%s %d %.2f %.2f\n", name, batch, 1e3 * cpu / batch, batch / wall);
    fflush(stdout);
}

static void inference(tc_zoo_arch arch, int repeats)
{
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = true});
    if (!m) die("build");
    int folded = 0, fused = 0;
    if (!getenv("BENCH_NO_FOLD") && tc_model_prepare_inference(m, &folded, &fused) != TC_OK) die("prepare_inference");
    int packed = tc_model_inference_use_packed(m, !getenv("BENCH_NO_PACK"));
    fprintf(stderr, "%s: %d BatchNormalization folded, %d epilogues fused, %d kernels packed\n", tc_zoo_arch_name(arch),
            folded, fused, packed);
    int64_t side = tc_zoo_default_size(arch);
    bool was = tc_set_grad_enabled(false);
    int batches[2] = {1, 8}, n_batches = 2;
    if (getenv("BENCH_BATCH")) batches[0] = atoi(getenv("BENCH_BATCH")), n_batches = 1;
    for (int b = 0; b < n_batches && batches[b] > 0; b++) {
        double best_cpu = 1e30, best_wall = 1e30;
        for (int i = 0; i < repeats + 2; i++) {
            tc_tensor *x = tc_tensor_new(TC_SHAPE(batches[b], side, side, 3));
            if (!x) die("input");
            tc_rng r = tc_rng_new(1);
            tc_rng_uniform(&r, x->data, tc_numel(x), -1, 1);
            double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            if (!tc_model_forward(m, x, false)) die(tc_zoo_arch_name(arch));
            double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
            if (i > 1 && cpu < best_cpu) best_cpu = cpu; /* runs 0 and 1 warm up */
            if (i > 1 && wall < best_wall) best_wall = wall;
            tc_step_reset();
            tc_tensor_free(x);
        }
        report(tc_zoo_arch_name(arch), batches[b], best_cpu, best_wall);
    }
    tc_set_grad_enabled(was);
    tc_model_free(m);
}

static void finetune(int repeats)
{
    const int batch = 16, side = 256;
    tc_model *m = tc_zoo_model_with_top(TC_ZOO_VGG16, &(tc_zoo_opts){.height = side, .width = side}, "vgg16_transfer",
                                        (tc_layer *[]){tc_flatten_layer("flatten"),
                                                       tc_dense(&(tc_dense_opts){.units = 256, .act = TC_RELU, .name = "dense"}),
                                                       tc_dropout_layer(0.5, "dropout"),
                                                       tc_dense(&(tc_dense_opts){.units = 1, .name = "dense_1"}), NULL});
    if (!m) die("build vgg16_finetune");
    tc_zoo_set_trainable(m, 0, 15, false);
    tc_optimizer *opt = tc_sgd(1e-4, 0.9, false);
    tc_tensor **ps;
    int np = tc_model_trainable_params(m, &ps);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(batch, side, side, 3)), *y = tc_tensor_new(TC_SHAPE(batch, 1));
    if (!opt || !x || !y) die("finetune setup");
    tc_rng r = tc_rng_new(1);
    tc_rng_uniform(&r, x->data, tc_numel(x), 0, 1); /* rescale 1/255 */
    for (int i = 0; i < batch; i++) y->data[i] = (tc_scalar)(i % 2);
    double best_cpu = 1e30, best_wall = 1e30;
    for (int s = 0; s < repeats + 2; s++) {
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        tc_zero_grads(np, ps);
        tc_tensor *loss = tc_sigmoid_cross_entropy(tc_model_forward(m, x, true), y, NULL, TC_REDUCE_MEAN);
        if (!loss || tc_backward(loss) != TC_OK || tc_optimizer_step(opt, np, ps) != TC_OK) die("finetune step");
        tc_step_reset();
        double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
        if (s > 1 && cpu < best_cpu) best_cpu = cpu;
        if (s > 1 && wall < best_wall) best_wall = wall;
    }
    report("vgg16_finetune", batch, best_cpu, best_wall);
    tc_tensor_free(x);
    tc_tensor_free(y);
    tc_optimizer_free(opt);
    tc_model_free(m);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 3;
    if (repeats < 1) repeats = 1;
    static const char *all[] = {"vgg16", "vgg19", "resnet50", "inception_v3", "xception", "vgg16_finetune"};
    int n = argc > 2 ? argc - 2 : 6;
    for (int i = 0; i < n; i++) {
        const char *c = argc > 2 ? argv[2 + i] : all[i];
        if (!strcmp(c, "vgg16_finetune")) {
            finetune(repeats);
            continue;
        }
        int arch = tc_zoo_arch_from_name(c);
        if (arch < 0) {
            fprintf(stderr, "bench_zoo: unknown case '%s'\n", c);
            return 2;
        }
        inference((tc_zoo_arch)arch, repeats);
    }
    tc_shutdown();
    return 0;
}
