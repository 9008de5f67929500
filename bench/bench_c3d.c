/* C3D training steps (Tran et al.'s full widths, 16x112x112x3 clips, 487
 * classes): forward, sparse softmax cross-entropy, backward and Adam on
 * random clips. Prints wall and CPU seconds per step (process CPU time, all
 * threads: the figure to compare on a loaded machine).
 * Usage: TENSORCOOK_THREADS=N bench_c3d [steps] [batch] [divisor] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 2;
    int divisor = argc > 3 ? atoi(argv[3]) : 1;
    tc_nn_seed(1);
    tc_model *m = tc_c3d(&(tc_c3d_opts){.width_divisor = divisor});
    tc_optimizer *opt = tc_adam(1e-4);
    if (!m || !opt || steps < 1 || batch < 1) {
        fprintf(stderr, "bench_c3d: %s\n", m && opt ? "bad arguments" : tc_last_error());
        return 1;
    }
    tc_tensor **ps;
    int np = tc_model_trainable_params(m, &ps);
    tc_rng r = tc_rng_new(1);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(batch, 16, 112, 112, 3)), *y = tc_tensor_new(TC_SHAPE(batch));
    tc_rng_uniform(&r, x->data, tc_numel(x), 0, 1);
    for (int64_t i = 0; i < batch; i++) y->data[i] = (tc_scalar)(i * 37 % 487);
    double w0 = 0, c0 = 0;
    for (int s = 0; s < steps + 2; s++) {
        if (s == 2) w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID); /* two warm-up steps: the first faults in the step arena's pages */
        tc_zero_grads(np, ps);
        tc_tensor *loss = tc_sparse_softmax_cross_entropy(tc_model_forward(m, x, true), y, NULL, TC_REDUCE_MEAN);
        if (!loss || tc_backward(loss) != TC_OK || tc_optimizer_step(opt, np, ps) != TC_OK) {
            fprintf(stderr, "bench_c3d: %s\n", tc_last_error());
            return 1;
        }
        tc_step_reset();
    }
    double wall = (clock_s(CLOCK_MONOTONIC) - w0) / steps, cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / steps;
    printf("tensorcook c3d threads %d batch %lld: %.3f s/step wall, %.3f s/step cpu\n", tc_num_threads(), (long long)batch,
           wall, cpu);
    tc_tensor_free(x);
    tc_tensor_free(y);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_shutdown();
    return 0;
}
