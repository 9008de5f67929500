/* Training throughput (images/s) of the cookbook's MNIST and CIFAR-10
 * networks on random data: forward, backward and Adam, batch 128 / 96.
 * Prints wall-clock images/s and the process CPU time and wall time per step.
 * Usage: TENSORCOOK_THREADS=N bench_train [steps] [mnist|cifar] (default: both) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static tc_model *mnist(void)
{
    return tc_sequential("mnist", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 32, .kernel = 5, .padding = TC_SAME, .act = TC_RELU, .input_shape = {28, 28, 1}}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_conv2d(&(tc_conv_opts){.filters = 64, .kernel = 5, .padding = TC_SAME, .act = TC_RELU}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}), tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 1024, .act = TC_RELU}), tc_dropout_layer(0.15, NULL),
        tc_dense(&(tc_dense_opts){.units = 10}), NULL});
}

static tc_model *cifar(void)
{
    return tc_sequential("cifar", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = 32, .kernel = 3, .padding = TC_SAME, .act = TC_RELU, .input_shape = {32, 32, 3}}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_conv2d(&(tc_conv_opts){.filters = 64, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}),
        tc_conv2d(&(tc_conv_opts){.filters = 64, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}), tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = 512, .act = TC_RELU}), tc_dropout_layer(0.5, NULL),
        tc_dense(&(tc_dense_opts){.units = 10}), NULL});
}

static void run(const char *name, tc_model *m, int64_t batch, int64_t h, int64_t c, int steps)
{
    tc_optimizer *opt = tc_adam(1e-3);
    tc_tensor **ps;
    int np = tc_model_trainable_params(m, &ps);
    tc_rng r = tc_rng_new(1);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(batch, h, h, c)), *y = tc_tensor_new(TC_SHAPE(batch));
    tc_rng_uniform(&r, x->data, tc_numel(x), 0, 1);
    for (int64_t i = 0; i < batch; i++) y->data[i] = (tc_scalar)(i % 10);
    double t0 = 0, c0 = 0;
    for (int s = 0; s < steps + 2; s++) {
        if (s == 2) { /* two warm-up steps */
            t0 = clock_s(CLOCK_MONOTONIC);
            c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        tc_zero_grads(np, ps);
        tc_tensor *loss = tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), y, NULL, TC_REDUCE_MEAN);
        if (!loss || tc_backward(loss) != TC_OK || tc_optimizer_step(opt, np, ps) != TC_OK) {
            fprintf(stderr, "bench_train: %s\n", tc_last_error());
            exit(1);
        }
        tc_step_reset();
    }
    double t = clock_s(CLOCK_MONOTONIC) - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    /* process CPU time per step: the figure that holds on a loaded machine */
    printf("%-6s threads %d  %7.1f images/s  %7.2f cpu-ms/step  %7.2f wall-ms/step\n", name, tc_num_threads(),
           batch * steps / t, cpu / steps * 1e3, t / steps * 1e3);
    tc_tensor_free(x);
    tc_tensor_free(y);
    tc_optimizer_free(opt);
    tc_model_free(m);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 20;
    const char *only = argc > 2 ? argv[2] : NULL; /* one network, for profiling */
    if (!only || strcmp(only, "mnist") == 0) run("mnist", mnist(), 128, 28, 1, steps);
    if (!only || strcmp(only, "cifar") == 0) run("cifar", cifar(), 96, 32, 3, steps);
    tc_shutdown();
    return 0;
}
