/* C3D's convolutions one at a time (Tran et al.'s full widths, 3x3x3 SAME,
 * ReLU as in the network), and its fc6: forward, kernel gradient alone, and
 * kernel + input gradient, in CPU milliseconds (process CPU time of all
 * threads: the figure to compare on a loaded machine) and GFLOP/s of CPU
 * time. Best of the repeats after one warm-up; the step arena is reset after
 * each, as a training step does.
 * Usage: TENSORCOOK_THREADS=N bench_conv3d [repeats] [batch] [layer-name] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *name;
    int d, h, w, c, f; /* input [d, h, w, c], f filters; f = 0: fc6 (Dense of c inputs, 4096 units) */
} layer;

static const layer LAYERS[] = {
    {"conv1", 16, 112, 112, 3, 64},  {"conv2", 16, 56, 56, 64, 128}, {"conv3a", 8, 28, 28, 128, 256},
    {"conv3b", 8, 28, 28, 256, 256}, {"conv4a", 4, 14, 14, 256, 512}, {"conv4b", 4, 14, 14, 512, 512},
    {"conv5a", 2, 7, 7, 512, 512},   {"conv5b", 2, 7, 7, 512, 512},   {"fc6", 1, 1, 1, 8192, 0},
};

/* one pass: forward, then the gradients asked for; returns forward and backward CPU seconds */
static int pass(const layer *L, int64_t batch, tc_tensor *w, tc_tensor *b, bool input_grad, tc_rng *rng, double *tf,
                double *tb)
{
    bool fc = L->f == 0;
    tc_tensor *x = fc ? tc_empty(TC_SHAPE(batch, L->c)) : tc_empty(TC_SHAPE(batch, L->d, L->h, L->w, L->c));
    tc_rng_uniform(rng, x->data, tc_numel(x), 0, 1);
    tc_set_requires_grad(x, input_grad);
    double t0 = cpu_s();
    tc_tensor *y = fc ? tc_add(tc_matmul(x, w), b)
                      : tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME, .act = TC_CONV_RELU});
    if (fc && y) y = tc_relu(y);
    double t1 = cpu_s();
    if (!y || tc_backward_with(y, tc_full(y->ndim, y->shape, 1)) != TC_OK) {
        fprintf(stderr, "bench_conv3d: %s\n", tc_last_error());
        return 1;
    }
    double t2 = cpu_s();
    *tf = t1 - t0, *tb = t2 - t1;
    tc_step_reset();
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 3;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 2;
    const char *only = argc > 3 ? argv[3] : NULL;
    if (repeats < 1 || batch < 1) {
        fprintf(stderr, "bench_conv3d: bad arguments (usage: bench_conv3d [repeats] [batch] [layer])\n");
        return 1;
    }
    tc_rng rng = tc_rng_new(1);
    double total = 0;
    for (size_t i = 0; i < sizeof LAYERS / sizeof LAYERS[0]; i++) {
        const layer *L = &LAYERS[i];
        if (only && strcmp(only, L->name)) continue;
        bool fc = L->f == 0;
        tc_tensor *w = fc ? tc_tensor_new(TC_SHAPE(L->c, 4096)) : tc_tensor_new(TC_SHAPE(3, 3, 3, L->c, L->f));
        tc_tensor *b = tc_tensor_new(TC_SHAPE(fc ? 4096 : L->f));
        tc_rng_normal(&rng, w->data, tc_numel(w), 0, 0.05f);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(b, true);
        double fwd = 1e30, dw = 1e30, dxdw = 1e30;
        for (int r = 0; r <= repeats; r++) {
            double tf, tb, tf2, tb2;
            if (pass(L, batch, w, b, false, &rng, &tf, &tb) || pass(L, batch, w, b, true, &rng, &tf2, &tb2)) return 1;
            if (r == 0) continue;
            fwd = tf < fwd ? tf : fwd;
            fwd = tf2 < fwd ? tf2 : fwd;
            dw = tb < dw ? tb : dw;
            dxdw = tb2 < dxdw ? tb2 : dxdw;
        }
        double gemm = fc ? 2.0 * batch * L->c * 4096
                         : 2.0 * batch * L->d * L->h * L->w * 27.0 * L->c * L->f; /* one of the three products */
        bool no_dx = i == 0;                                                      /* conv1's input is the data */
        printf("%-7s batch %lld  fwd %8.1f ms %6.1f GF/s  dW %8.1f ms %6.1f GF/s  dX %8.1f ms %6.1f GF/s  step %8.1f ms\n",
               L->name, (long long)batch, fwd * 1e3, gemm / fwd * 1e-9, dw * 1e3, gemm / dw * 1e-9, (dxdw - dw) * 1e3,
               gemm / (dxdw - dw) * 1e-9, (fwd + (no_dx ? dw : dxdw)) * 1e3);
        fflush(stdout);
        total += fwd + (no_dx ? dw : dxdw);
        tc_tensor_free(w);
        tc_tensor_free(b);
    }
    printf("total   %.1f ms CPU (threads %d)\n", total * 1e3, tc_num_threads());
    tc_shutdown();
    return 0;
}
