/* VQA training steps: the cookbook's model (tc_vqa_model, 13,707,240
 * parameters) on a batch of random image features [B, 4096] and questions
 * [B, 30, 300] (8 words, right-padded with zeros, as the recipe feeds them),
 * sparse cross-entropy, RMSprop, dropout on. Prints per-step wall and
 * process CPU time (best and median of the timed steps; the first two
 * steps warm the arena and are not timed).
 * Usage: bench_vqa [STEPS [BATCH]]   threads: TENSORCOOK_THREADS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorcook/tensorcook.h"

static double now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    tc_model *m;
    tc_tensor *img, *q, *y;
} ctx;

static tc_tensor *loss_fn(void *p)
{
    ctx *c = p;
    tc_tensor *in[2] = {c->img, c->q}, *logits;
    if (tc_model_forward_multi(c->m, 2, in, true, 1, &logits) != TC_OK) return NULL;
    return tc_sparse_softmax_cross_entropy(logits, c->y, NULL, TC_REDUCE_MEAN);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 10, batch = argc > 2 ? atoi(argv[2]) : 32;
    if (steps < 1 || steps > 1000 || batch < 1) return fprintf(stderr, "usage: bench_vqa [STEPS [BATCH]]\n"), 2;
    tc_model *m = tc_vqa_model(NULL);
    tc_optimizer *opt = tc_rmsprop(1e-3, 0.9, 0, 1e-7);
    if (!m || !opt) return fprintf(stderr, "%s\n", tc_last_error()), 1;
    tc_rng r = tc_rng_new(1);
    ctx c = {m, tc_tensor_new(TC_SHAPE(batch, 4096)), tc_tensor_new(TC_SHAPE(batch, 30, 300)), tc_tensor_new(TC_SHAPE(batch))};
    tc_rng_uniform(&r, c.img->data, batch * 4096, 0, 1);
    for (int b = 0; b < batch; b++) {
        tc_rng_normal(&r, c.q->data + (int64_t)b * 9000, 8 * 300, 0, 0.4f);
        c.y->data[b] = (tc_scalar)tc_rng_below(&r, 1000);
    }
    double *wall = malloc(sizeof(double) * (size_t)steps), *cpu = malloc(sizeof(double) * (size_t)steps);
    for (int s = 0; s < steps + 2; s++) { /* two warm-up steps: the first faults in the arena's pages */
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (tc_model_train_step(m, opt, loss_fn, &c, NULL) != TC_OK) return fprintf(stderr, "%s\n", tc_last_error()), 1;
        if (s > 1) wall[s - 2] = now(CLOCK_MONOTONIC) - w0, cpu[s - 2] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    qsort(wall, (size_t)steps, sizeof(double), cmp);
    qsort(cpu, (size_t)steps, sizeof(double), cmp);
    printf("tensorcook vqa %d threads batch %d: wall best %.3f median %.3f s/step; cpu best %.3f median %.3f s/step\n",
           tc_num_threads(), batch, wall[0], wall[steps / 2], cpu[0], cpu[steps / 2]);
    free(wall);
    free(cpu);
    tc_tensor_free(c.img);
    tc_tensor_free(c.q);
    tc_tensor_free(c.y);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_shutdown();
    return 0;
}
