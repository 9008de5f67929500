/* Inverted dropout with a counter-based mask: element i is kept when the
 * generator's draw number (counter + i) is at least the rate, whichever
 * thread computes it. One Philox call gives 4 draws, so draws are taken in
 * blocks of 4 aligned on the counter. */
#include "ops_internal.h"

#include <math.h>

typedef struct {
    tc_scalar rate, scale;
    uint64_t seed, base;
    const tc_scalar *x;
    tc_scalar *y;
    unsigned char *keep;
    const tc_scalar *g; /* backward */
} dropout_job;

static void dropout_range(void *ctx, int64_t lo, int64_t hi)
{
    dropout_job *j = ctx;
    uint32_t o[4];
    uint64_t block = UINT64_MAX;
    /* keep when u >= rate, u = draw / 2^32: compare the integer draw instead */
    double threshold = ceil((double)j->rate * 4294967296.0);
    for (int64_t i = lo; i < hi; i++) {
        uint64_t c = j->base + (uint64_t)i;
        if (c / 4 != block) {
            block = c / 4;
            tc_philox(j->seed, block, o);
        }
        j->keep[i] = (double)o[c % 4] >= threshold;
    }
    for (int64_t i = lo; i < hi; i++) j->y[i] = j->keep[i] ? j->x[i] * j->scale : 0;
}

tc_tensor *tc_dropout(tc_tensor *x, tc_scalar rate, bool training, tc_rng *rng)
{
    TC_CHECK(x, TC_ERR_ARG, "dropout: input is NULL");
    TC_CHECK(rate >= 0 && rate < 1, TC_ERR_ARG, "dropout: rate %g must be in [0, 1) (input %s)", (double)rate,
             TC_SHP(x));
    if (!training || rate == 0) return x;
    if (!rng) rng = tc_default_rng();
    int64_t n = tc_numel(x);
    dropout_job j = {rate, 1 / (1 - rate), rng->seed, rng->counter, tc_packed(x), NULL, NULL, NULL};
    tc_tensor *y = tc_result(x->ndim, x->shape);
    j.keep = tc_arena_alloc((size_t)(n + 1));
    if (!y || !j.x || !j.keep) return NULL;
    j.y = y->data;
    /* advance past the draws used, to the next block of 4 */
    rng->counter = (rng->counter + (uint64_t)n + 3) & ~(uint64_t)3;
    tc_parallel_for(n, 8192, dropout_range, &j);
    tc_node *nd = tc_record(TC_OP_dropout, y, 1, &x, sizeof j);
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

static void dropout_grad_range(void *ctx, int64_t lo, int64_t hi)
{
    dropout_job *j = ctx;
    for (int64_t i = lo; i < hi; i++) j->y[i] += j->keep[i] ? j->g[i] * j->scale : 0;
}

tc_status tc_backward_dropout(tc_node *n, const tc_tensor *gy)
{
    dropout_job j = *(const dropout_job *)n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return TC_OK;
    j.g = gy->data;
    j.y = gx->data;
    tc_parallel_for(tc_numel(gy), 8192, dropout_grad_range, &j);
    return TC_OK;
}
