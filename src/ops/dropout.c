/* Inverted dropout with a counter-based mask: element i is kept when the
 * generator's draw i is at least the rate, whichever thread computes it. */
#include "../core/internal.h"

typedef struct {
    tc_scalar rate, scale;
    uint64_t seed, base;
    const tc_scalar *x;
    tc_scalar *y;
    unsigned char *keep;
} dropout_job;

static void dropout_range(void *ctx, int64_t lo, int64_t hi)
{
    dropout_job *j = ctx;
    /* one Philox call gives 4 draws: blocks of 4 elements share it */
    for (int64_t i = lo; i < hi; i++) {
        uint32_t o[4];
        uint64_t c = j->base + (uint64_t)i;
        tc_philox(j->seed, c / 4, o);
        double u = o[c % 4] * (1.0 / 4294967296.0);
        j->keep[i] = u >= j->rate;
        j->y[i] = j->keep[i] ? j->x[i] * j->scale : 0;
    }
}

tc_tensor *tc_dropout(tc_tensor *x, tc_scalar rate, bool training, tc_rng *rng)
{
    TC_CHECK(x, TC_ERR_ARG, "dropout: input is NULL");
    TC_CHECK(rate >= 0 && rate < 1, TC_ERR_ARG, "dropout: rate %g must be in [0, 1) (input %s)", (double)rate, TC_SHP(x));
    if (!training || rate == 0) return x;
    if (!rng) rng = tc_default_rng();
    int64_t n = tc_numel(x);
    dropout_job j = {rate, 1 / (1 - rate), rng->seed, rng->counter, tc_packed(x), NULL, NULL};
    tc_tensor *y = tc_result(x->ndim, x->shape);
    j.keep = tc_arena_alloc((size_t)(n + 1));
    if (!y || !j.x || !j.keep) return NULL;
    j.y = y->data;
    /* keep the 4-draw blocks aligned with the counter for any split */
    rng->counter += (uint64_t)(n + 4);
    rng->counter &= ~(uint64_t)3;
    tc_parallel_for(n, 8192, dropout_range, &j);
    tc_node *nd = tc_record(TC_OP_dropout, y, 1, &x, sizeof j);
    if (nd) memcpy(nd->saved, &j, sizeof j);
    return y;
}

void tc_backward_dropout(tc_node *n, const tc_tensor *gy)
{
    const dropout_job *j = n->saved;
    tc_tensor *gx = tc_grad_for(n->inputs[0]);
    if (!gx) return;
    int64_t len = tc_numel(gy);
    for (int64_t i = 0; i < len; i++)
        if (j->keep[i]) gx->data[i] += gy->data[i] * j->scale;
}
