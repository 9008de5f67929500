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

/* Philox-4x32-10 (core/rng.c's tc_philox) of PHILOX_LANES consecutive
 * counters at once: the same integer operations lane by lane, in loops the
 * compiler turns into vector multiplies, so the draws are tc_philox's bit for
 * bit. out[4 * l + w] = word w of counter ctr + l: the draws in order. */
#define PHILOX_LANES 16
static void philox_lanes(uint64_t key, uint64_t ctr, uint32_t out[4 * PHILOX_LANES])
{
    uint32_t c0[PHILOX_LANES], c1[PHILOX_LANES], c2[PHILOX_LANES] = {0}, c3[PHILOX_LANES] = {0};
    for (int l = 0; l < PHILOX_LANES; l++) c0[l] = (uint32_t)(ctr + (uint64_t)l), c1[l] = (uint32_t)((ctr + (uint64_t)l) >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        for (int l = 0; l < PHILOX_LANES; l++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0[l], p1 = (uint64_t)0xCD9E8D57u * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1, c3[l] = (uint32_t)p0, c0[l] = n0, c2[l] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int l = 0; l < PHILOX_LANES; l++)
        out[4 * l] = c0[l], out[4 * l + 1] = c1[l], out[4 * l + 2] = c2[l], out[4 * l + 3] = c3[l];
}

static void dropout_range(void *ctx, int64_t lo, int64_t hi)
{
    dropout_job *j = ctx;
    /* keep when u >= rate, u = draw / 2^32: compare the integer draw instead
     * (a float rate < 1 is at most 1 - 2^-24: the threshold fits 32 bits) */
    const uint32_t threshold = (uint32_t)ceil((double)j->rate * 4294967296.0);
    uint32_t o[4 * PHILOX_LANES];
    int64_t i = lo;
    while (i < hi) {
        /* the PHILOX_LANES blocks of 4 draws from draw i's block on */
        const uint64_t c = j->base + (uint64_t)i, b0 = c / 4;
        philox_lanes(j->seed, b0, o);
        int64_t end = i + (int64_t)((b0 + PHILOX_LANES) * 4 - c);
        if (end > hi) end = hi;
        const int64_t at = (int64_t)(c - b0 * 4) - i; /* o[i + at]: draw number base + i */
        for (; i < end; i++) j->keep[i] = o[i + at] >= threshold;
    }
    for (int64_t k = lo; k < hi; k++) j->y[k] = j->keep[k] ? j->x[k] * j->scale : 0;
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
