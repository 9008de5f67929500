/* One LSTM / GRU layer over a whole batch of sequences, forward + backward
 * (gradients of the input, the weights and the bias), in sequences/s: the
 * fused sequence kernel and the per-step composition of ops it replaced.
 * Shapes of the char-RNN's middle layer: batch 128, 25 steps, 512 -> 512.
 * Usage: TENSORCOOK_THREADS=N bench_rnn [steps] (bench/compare_rnn.sh runs
 * PyTorch's nn.LSTM / nn.GRU beside it). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { B = 128, T = 25, I = 512, H = 512 };

static double run(bool gru, bool composed, int steps)
{
    tc_rng r = tc_rng_new(1);
    int G = gru ? 3 : 4;
    tc_tensor *x = tc_tensor_new(TC_SHAPE(B, T, I)), *k = tc_tensor_new(TC_SHAPE(I, G * H)),
              *u = tc_tensor_new(TC_SHAPE(H, G * H)), *b = tc_tensor_new(gru ? 2 : 1, gru ? (int64_t[]){2, G * H} : (int64_t[]){G * H});
    tc_tensor *w[4] = {x, k, u, b};
    for (int i = 0; i < 4; i++) {
        tc_rng_uniform(&r, w[i]->data, tc_numel(w[i]), -0.05f, 0.05f);
        tc_set_requires_grad(w[i], true);
    }
    double best = 0;
    for (int s = -1; s < steps; s++) { /* step -1 warms the arena up */
        double t0 = now();
        tc_zero_grads(4, w);
        tc_tensor *seq, *h;
        tc_status st = gru ? tc_gru(x, k, u, b, NULL, NULL, &(tc_gru_params){.reset_after = true, .composed = composed}, &seq, &h)
                           : tc_lstm(x, k, u, b, NULL, NULL, NULL, NULL, &(tc_lstm_params){.composed = composed}, &seq, &h, NULL);
        if (st != TC_OK || tc_backward(tc_sum(seq, 0, NULL, false)) != TC_OK) {
            fprintf(stderr, "bench_rnn: %s\n", tc_last_error());
            exit(1);
        }
        tc_step_reset();
        double rate = B / (now() - t0);
        if (s >= 0 && rate > best) best = rate;
    }
    for (int i = 0; i < 4; i++) tc_tensor_free(w[i]);
    return best;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 5;
    for (int gru = 0; gru < 2; gru++)
        printf("%-5s threads %d  fused %7.1f  composed %7.1f sequences/s\n", gru ? "gru" : "lstm", tc_num_threads(),
               run(gru, false, steps), run(gru, true, steps));
    tc_shutdown();
    return 0;
}
