/* WaveNet generation speed, batch 1: fast (per-layer queues) vs naive
 * (the receptive field re-run per sample), and training-step time.
 * Usage: bench_wavenet [blocks layers channels [skip]] [--samples N] [--naive N] [--train-steps N]
 *                      [--local C [--hop H]]
 * --local C: a decoder with local conditioning of C channels every H (512)
 * samples, as the recipe's --autoencoder decodes a code (a random code here).
 * Prints samples/s (wall and CPU time) and checks that both methods agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    tc_wavenet *w;
    tc_tensor *ids;
    int64_t target;
} ctx;

static tc_tensor *loss_fn(void *p)
{
    ctx *c = p;
    return tc_wavenet_loss(c->w, c->ids, NULL, NULL, c->target);
}

int main(int argc, char **argv)
{
    int blocks = 2, layers = 10, channels = 64, skip = 0, pos = 0;
    long samples = 16000, naive = 20, train_steps = 0, target = 1024, local = 0, hop = 512;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) samples = atol(argv[++i]);
        else if (!strcmp(argv[i], "--naive") && i + 1 < argc) naive = atol(argv[++i]);
        else if (!strcmp(argv[i], "--train-steps") && i + 1 < argc) train_steps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--target") && i + 1 < argc) target = atol(argv[++i]);
        else if (!strcmp(argv[i], "--local") && i + 1 < argc) local = atol(argv[++i]);
        else if (!strcmp(argv[i], "--hop") && i + 1 < argc) hop = atol(argv[++i]);
        else if (pos == 0) blocks = atoi(argv[i]), pos++;
        else if (pos == 1) layers = atoi(argv[i]), pos++;
        else if (pos == 2) channels = atoi(argv[i]), pos++;
        else if (pos == 3) skip = atoi(argv[i]), pos++;
    }
    tc_wavenet *w = tc_wavenet_new(&(tc_wavenet_opts){.blocks = blocks, .layers = layers, .residual_channels = channels,
                                                      .skip_channels = skip,
                                                      .local_channels = (int)local, .local_hop = local ? (int)hop : 0}, 1);
    if (!w) {
        fprintf(stderr, "%s\n", tc_last_error());
        return 1;
    }
    if (local > 0 && train_steps > 0) {
        fprintf(stderr, "bench_wavenet: --train-steps times the unconditioned model only (drop --local)\n");
        return 2;
    }
    tc_wavenet_generator *g = tc_wavenet_generator_new(w);
    int *fast = malloc(sizeof(int) * (size_t)samples), *slow = malloc(sizeof(int) * (size_t)(naive + 1));
    printf("wavenet %d x %d, %d residual channels, skip %d: %lld parameters, receptive field %lld, threads %d\n", blocks,
           layers, channels, tc_wavenet_options(w)->skip_channels, (long long)tc_wavenet_count_params(w),
           (long long)tc_wavenet_receptive_field(w), tc_num_threads());
    tc_rng r = tc_rng_new(7);
    int64_t P = tc_wavenet_receptive_field(w); /* a receptive field of silence first: the naive method then runs at full width */
    tc_tensor *lc = NULL;
    if (local > 0) { /* a code covering the prime and the samples, values like an encoder's */
        int64_t frames = (P + samples + hop - 1) / hop + 1;
        lc = tc_tensor_new(TC_SHAPE(frames, local));
        tc_rng lr = tc_rng_new(3); /* its own stream: r must start the same for both methods */
        tc_rng_uniform(&lr, lc->data, tc_numel(lc), -1, 1);
        printf("local conditioning: %ld channels every %ld samples\n", local, hop);
    }
    double w0 = wall(), c0 = cpu();
    tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n_prime = P, .n = samples, .lc = lc}, &r, fast);
    double fw = wall() - w0, fc = cpu() - c0;
    double fs = (double)(samples + P); /* the prime runs the same per-sample step */
    printf("fast:  %ld samples after %lld primed  %.0f samples/s (wall)  %.0f samples/s (cpu)\n", samples, (long long)P, fs / fw, fs / fc);
    if (naive > 0) {
        r = tc_rng_new(7);
        w0 = wall(), c0 = cpu();
        tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n_prime = P, .n = naive, .lc = lc, .naive = true}, &r, slow);
        double nw = wall() - w0, nc = cpu() - c0;
        int same = 1;
        for (long i = 0; i < naive && i < samples; i++) same &= slow[i] == fast[i];
        printf("naive: %ld samples  %.1f samples/s (wall)  %.1f samples/s (cpu)  fast/naive %.0fx (wall) %.0fx (cpu)  same samples: %s\n",
               naive, naive / nw, naive / nc, (fs / fw) / (naive / nw), (fs / fc) / (naive / nc),
               same ? "yes" : "NO");
    }
    if (train_steps > 0) {
        int64_t T = tc_wavenet_receptive_field(w) - 1 + target;
        tc_tensor *ids = tc_tensor_new(TC_SHAPE(1, T + 1));
        tc_rng_uniform(&r, ids->data, T + 1, 0, 255.99f);
        for (int64_t i = 0; i <= T; i++) ids->data[i] = (tc_scalar)(int)ids->data[i];
        tc_optimizer *opt = tc_adam(1e-3);
        ctx c = {w, ids, target};
        int n = tc_wavenet_param_count(w);
        double best = 1e30, best_cpu = 1e30;
        for (long s = 0; s < train_steps + 2; s++) {
            double t0 = wall(), u0 = cpu();
            tc_zero_grads(n, tc_wavenet_params(w));
            tc_tensor *loss = loss_fn(&c);
            tc_backward(loss);
            tc_optimizer_step(opt, n, tc_wavenet_params(w));
            tc_step_reset();
            double dt = wall() - t0, du = cpu() - u0;
            if (s > 1 && dt < best) best = dt; /* the first two steps warm the arena (page faults) */
            if (s > 1 && du < best_cpu) best_cpu = du;
        }
        printf("train: window %lld inputs, %ld targets: best %.3f s/step wall, %.3f s/step cpu over %ld steps (%.0f samples/s cpu)\n",
               (long long)T, target, best, best_cpu, train_steps, T / best_cpu);
        tc_optimizer_free(opt);
        tc_tensor_free(ids);
    }
    free(fast);
    free(slow);
    tc_tensor_free(lc);
    tc_wavenet_generator_free(g);
    tc_wavenet_free(w);
    tc_shutdown();
    return 0;
}
