/* Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
 * Value i of a draw is a pure function of (seed, counter + i), so kernels can
 * generate any slice of a draw on any thread and the result never depends on
 * how the work was split. */
#include "internal.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void tc_philox(uint64_t key, uint64_t counter, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

tc_rng tc_rng_new(uint64_t seed)
{
    tc_rng r = {seed, 0};
    return r;
}

static tc_rng default_rng = {0x5eed, 0};
tc_rng *tc_default_rng(void) { return &default_rng; }
void tc_manual_seed(uint64_t seed) { default_rng = tc_rng_new(seed); }

/* 24-bit (float) or 53-bit (double) uniform in [0, 1) from counter index i */
static double unit_at(uint64_t seed, uint64_t i)
{
    uint32_t o[4];
    tc_philox(seed, i, o);
    return (double)(((uint64_t)o[0] << 21) ^ (o[1] >> 11)) * (1.0 / 9007199254740992.0);
}

uint32_t tc_rng_u32(tc_rng *r)
{
    uint32_t o[4];
    tc_philox(r->seed, r->counter++, o);
    return o[0];
}

double tc_rng_double(tc_rng *r) { return unit_at(r->seed, r->counter++); }

uint64_t tc_rng_below(tc_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* rejection to avoid modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint32_t o[4];
        tc_philox(r->seed, r->counter++, o);
        uint64_t v = ((uint64_t)o[0] << 32) | o[1];
        if (v < limit) return v % n;
    }
}

void tc_rng_shuffle(tc_rng *r, int64_t *items, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tc_rng_below(r, (uint64_t)i + 1);
        int64_t t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

typedef struct {
    tc_scalar *out;
    uint64_t seed, base;
    double lo, hi, mean, std;
    int kind; /* 0 uniform, 1 normal, 2 truncated normal */
} fill_job;

/* Box-Muller on two uniforms of the element's own counter */
static double normal_at(uint64_t seed, uint64_t i, int attempt)
{
    uint32_t o[4];
    tc_philox(seed ^ ((uint64_t)attempt * 0x9E3779B97F4A7C15ull), i, o);
    double u1 = ((double)o[0] + 1.0) * (1.0 / 4294967297.0); /* (0, 1] */
    double u2 = (double)o[1] * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void fill_range(void *ctx, int64_t begin, int64_t end)
{
    fill_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        uint64_t c = j->base + (uint64_t)i;
        double v;
        if (j->kind == 0) {
            v = j->lo + (j->hi - j->lo) * unit_at(j->seed, c);
        } else {
            double z = normal_at(j->seed, c, 0);
            for (int a = 1; j->kind == 2 && fabs(z) > 2.0; a++) z = normal_at(j->seed, c, a);
            v = j->mean + j->std * z;
        }
        j->out[i] = (tc_scalar)v;
    }
}

static void fill(tc_rng *r, tc_scalar *out, int64_t n, int kind, double a, double b)
{
    if (!r) r = &default_rng;
    fill_job j = {out, r->seed, r->counter, a, b, a, b, kind};
    tc_parallel_for(n, 1 << 14, fill_range, &j);
    r->counter += (uint64_t)n;
}

void tc_rng_uniform(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar lo, tc_scalar hi)
{
    fill(r, out, n, 0, lo, hi);
}
void tc_rng_normal(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar mean, tc_scalar std)
{
    fill(r, out, n, 1, mean, std);
}
void tc_rng_truncated_normal(tc_rng *r, tc_scalar *out, int64_t n, tc_scalar mean, tc_scalar std)
{
    fill(r, out, n, 2, mean, std);
}
