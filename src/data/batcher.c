/* The shuffling batcher. A background thread assembles batch b+1 (copying
 * the rows of a seeded permutation, then augmenting) while the caller uses
 * batch b; two buffers alternate. The order and the augmentation depend
 * only on the seed, not on timing. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/data.h"

#include <pthread.h>
#include <stdlib.h>

struct tc_batcher {
    const tc_dataset *d;
    int64_t n, batch, per_x, per_y, nbatches;
    bool shuffle, drop_last, has_aug;
    tc_augment_opts aug;
    tc_rng order_rng, aug_rng;
    int64_t *perm;
    int64_t epoch_batch;       /* index of the batch handed out next */
    tc_tensor *x[2], *y[2];    /* full-size buffers */
    tc_tensor *xv[2], *yv[2];  /* views of the ready part (last batch may be smaller) */
    int ready;                 /* buffer being prepared / ready */
    pthread_t worker;
    bool running;
    int64_t prepared;          /* which epoch batch the buffer holds */
};

static int64_t batch_rows(const tc_batcher *b, int64_t i)
{
    int64_t start = i * b->batch;
    return b->n - start < b->batch ? b->n - start : b->batch;
}

static void new_permutation(tc_batcher *b)
{
    for (int64_t i = 0; i < b->n; i++) b->perm[i] = i;
    if (b->shuffle) tc_rng_shuffle(&b->order_rng, b->perm, b->n);
}

static void fill(tc_batcher *b, int buf, int64_t i)
{
    int64_t rows = batch_rows(b, i);
    for (int64_t r = 0; r < rows; r++) {
        int64_t src = b->perm[i * b->batch + r];
        memcpy(b->x[buf]->data + r * b->per_x, b->d->x->data + src * b->per_x, sizeof(tc_scalar) * (size_t)b->per_x);
        if (b->d->y) memcpy(b->y[buf]->data + r * b->per_y, b->d->y->data + src * b->per_y, sizeof(tc_scalar) * (size_t)b->per_y);
    }
    int64_t xs[TC_MAX_DIMS], ys[TC_MAX_DIMS];
    memcpy(xs, b->x[buf]->shape, sizeof xs);
    xs[0] = rows;
    b->xv[buf]->shape[0] = rows;
    if (b->d->y) b->yv[buf]->shape[0] = rows;
    (void)ys;
    if (b->has_aug && b->xv[buf]->ndim == 4) {
        /* the augmentation stream of batch i is fixed by the epoch position */
        tc_rng r = tc_rng_new(b->aug_rng.seed ^ (uint64_t)(b->aug_rng.counter * 1000003u + (uint64_t)i));
        tc_augment_batch(b->xv[buf], &b->aug, &r);
    }
}

static void *worker_main(void *arg)
{
    tc_batcher *b = arg;
    fill(b, b->ready, b->prepared);
    return NULL;
}

static tc_tensor *view_of_long_lived(tc_tensor *t)
{
    tc_tensor *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    *v = *t;
    v->flags = TC_LONG_LIVED; /* struct freed by tc_tensor_free, data not */
    v->grad = NULL;
    return v;
}

tc_batcher *tc_batcher_new(const tc_dataset *d, int64_t batch, bool shuffle, bool drop_last, uint64_t seed,
                           const tc_augment_opts *augment)
{
    if (!d || !d->x || batch < 1 || tc_dataset_size(d) < 1) {
        tc_error(TC_ERR_ARG, "batcher: empty data set or batch size %lld < 1", (long long)batch);
        return NULL;
    }
    tc_batcher *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->d = d;
    b->n = tc_dataset_size(d);
    b->batch = batch < b->n ? batch : b->n;
    b->shuffle = shuffle;
    b->drop_last = drop_last;
    b->per_x = tc_numel(d->x) / b->n;
    b->per_y = d->y ? tc_numel(d->y) / b->n : 0;
    b->nbatches = drop_last ? b->n / b->batch : (b->n + b->batch - 1) / b->batch;
    b->order_rng = tc_rng_new(seed);
    b->aug_rng = tc_rng_new(seed ^ 0xA5A5A5A5ull);
    if (augment) b->aug = *augment, b->has_aug = augment->flip_lr || augment->max_rotation_degrees > 0;
    b->perm = malloc(sizeof(int64_t) * (size_t)b->n);
    for (int i = 0; i < 2; i++) {
        int64_t xs[TC_MAX_DIMS];
        memcpy(xs, d->x->shape, sizeof xs);
        xs[0] = b->batch;
        b->x[i] = tc_tensor_new(d->x->ndim, xs);
        b->xv[i] = b->x[i] ? view_of_long_lived(b->x[i]) : NULL;
        if (d->y) {
            int64_t ys[TC_MAX_DIMS];
            memcpy(ys, d->y->shape, sizeof ys);
            ys[0] = b->batch;
            b->y[i] = tc_tensor_new(d->y->ndim, ys);
            b->yv[i] = b->y[i] ? view_of_long_lived(b->y[i]) : NULL;
        }
    }
    if (!b->perm || !b->xv[0] || !b->xv[1] || (d->y && (!b->yv[0] || !b->yv[1]))) {
        tc_batcher_free(b);
        tc_error(TC_ERR_MEMORY, "batcher: out of memory");
        return NULL;
    }
    new_permutation(b);
    /* prepare the first batch now, synchronously */
    b->ready = 0;
    b->prepared = 0;
    fill(b, 0, 0);
    return b;
}

int64_t tc_batcher_batches_per_epoch(const tc_batcher *b) { return b ? b->nbatches : 0; }

bool tc_batcher_next(tc_batcher *b, tc_tensor **x, tc_tensor **y)
{
    if (!b) return false;
    if (b->running) {
        pthread_join(b->worker, NULL);
        b->running = false;
    }
    if (b->epoch_batch >= b->nbatches) {
        /* end of the epoch: reshuffle and prepare the first batch of the next */
        b->epoch_batch = 0;
        b->aug_rng.counter++;
        new_permutation(b);
        b->prepared = 0;
        fill(b, b->ready, 0);
        return false;
    }
    int cur = b->ready;
    if (x) *x = b->xv[cur];
    if (y) *y = b->d->y ? b->yv[cur] : NULL;
    b->epoch_batch++;
    if (b->epoch_batch < b->nbatches) {
        b->ready = 1 - cur;
        b->prepared = b->epoch_batch;
        b->running = pthread_create(&b->worker, NULL, worker_main, b) == 0;
        if (!b->running) fill(b, b->ready, b->prepared);
    } else {
        b->ready = 1 - cur;
    }
    return true;
}

void tc_batcher_free(tc_batcher *b)
{
    if (!b) return;
    if (b->running) pthread_join(b->worker, NULL);
    for (int i = 0; i < 2; i++) {
        tc_tensor_free(b->x[i]);
        tc_tensor_free(b->y[i]);
        free(b->xv[i]);
        free(b->yv[i]);
    }
    free(b->perm);
    free(b);
}
