/* Core: tensors, arena, randomness, threads, tape mechanics, errors. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "testutil.h"

#include "../src/core/gemm_pack.h" /* the packed kernels (core-internal) */
#include "../src/core/internal.h" /* tc_gemm_prepare_b and the calls on a prepared B */

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

static void tensor_basics(void **state)
{
    tc_tensor *t = tc_tensor_new(TC_SHAPE(2, 3));
    tc_assert_ok(t);
    assert_int_equal(tc_numel(t), 6);
    assert_true(tc_is_contiguous(t));
    char buf[TC_SHAPE_STR_MAX];
    assert_string_equal(tc_shape_str(t, buf, sizeof buf), "[2, 3]");
    tc_set(t, (int64_t[]){1, 2}, 5);
    assert_true(tc_get(t, (int64_t[]){1, 2}) == 5);
    assert_true(t->data[5] == 5);
    tc_tensor_free(t);

    tc_assert_error(tc_tensor_new(TC_SHAPE(2, -1)), "negative dimension", "[2, -1]");
    tc_assert_error(tc_tensor_new(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}), "9 dimensions");
    tc_assert_error(tc_reshape(NULL, TC_SHAPE(2)), "reshape", "NULL");
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3));
    tc_assert_error(tc_reshape(x, TC_SHAPE(4, 2)), "reshape", "[2, 3]", "[4, 2]");
    tc_assert_error(tc_matmul(x, x), "matmul", "[2, 3]");
    tc_assert_error(tc_transpose(x, (int[]){0, 0}), "transpose", "permutation");
    tc_step_reset();
}

static void views_share_memory(void **state)
{
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3));
    for (int i = 0; i < 6; i++) x->data[i] = (tc_scalar)i;
    tc_tensor *t = tc_transpose(x, (int[]){1, 0});
    assert_false(tc_is_contiguous(t));
    assert_true(tc_get(t, (int64_t[]){2, 1}) == 5);
    tc_tensor *c = tc_contiguous(t);
    tc_scalar expect[6] = {0, 3, 1, 4, 2, 5};
    assert_memory_equal(c->data, expect, sizeof expect);
    tc_tensor *r = tc_reshape(x, TC_SHAPE(3, -1));
    assert_ptr_equal(r->data, x->data); /* a view, no copy */
    assert_int_equal(r->shape[1], 2);
    tc_step_reset();
}

static tc_tensor *tiny_step(tc_tensor *w, tc_tensor *x)
{
    /* several MB per step: the arena needs more than one block the first time */
    for (int i = 0; i < 4; i++) assert_non_null(tc_zeros(TC_SHAPE(1024, 1024)));
    tc_tensor *y = tc_linear(x, w, NULL);
    tc_tensor *yy = tc_matmul(tc_reshape(y, TC_SHAPE(1, -1)), tc_reshape(y, TC_SHAPE(-1, 1)));
    assert_int_equal(tc_backward(yy), TC_OK);
    return yy;
}

static void arena_steady_state_does_not_malloc(void **state)
{
    tc_tensor *w = tc_tensor_new(TC_SHAPE(64, 32));
    tc_set_requires_grad(w, true);
    tc_rng r = tc_rng_new(1);
    tc_rng_uniform(&r, w->data, tc_numel(w), -1, 1);
    for (int step = 0; step < 2; step++) {
        tc_tensor *x = tc_empty(TC_SHAPE(16, 64));
        tc_rng_uniform(&r, x->data, tc_numel(x), -1, 1);
        tiny_step(w, x);
        tc_step_reset();
    }
    size_t before = tc_arena_malloc_count();
    for (int step = 0; step < 5; step++) {
        tc_tensor *x = tc_empty(TC_SHAPE(16, 64));
        tc_rng_uniform(&r, x->data, tc_numel(x), -1, 1);
        tiny_step(w, x);
        tc_step_reset();
    }
    assert_int_equal(tc_arena_malloc_count(), before);
    tc_tensor_free(w);
}

/* One step of `bytes` made of odd-sized pieces, each written with a pattern
 * of (seed, piece) and all read back at the end: pieces must not overlap and
 * offsets must grow by at least each piece's size. */
static void patterned_step(size_t bytes, unsigned seed)
{
    enum { PIECE = (3 << 20) + 40, MAXP = 4096 };
    static unsigned *pieces[MAXP];
    size_t n = 0;
    for (size_t done = 0; done < bytes; done += PIECE, n++) {
        assert_true(n < MAXP);
        size_t before = tc_arena_position();
        pieces[n] = tc_arena_alloc(PIECE);
        assert_non_null(pieces[n]);
        assert_true(tc_arena_position() >= before + PIECE);
        for (size_t i = 0; i < PIECE / sizeof(unsigned); i++) pieces[n][i] = seed * 2654435761u + (unsigned)(n * 40503u + i);
    }
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < PIECE / sizeof(unsigned); i += 97)
            assert_true(pieces[k][i] == seed * 2654435761u + (unsigned)(k * 40503u + i));
    tc_step_reset();
}

static long minor_faults(void)
{
    struct rusage u;
    assert_int_equal(getrusage(RUSAGE_THREAD, &u), 0);
    return u.ru_minflt;
}

/* Steps of varying size (bucketed batches, octaves): after a step of size S,
 * steps up to S allocate nothing and touch no fresh pages; a bigger step
 * grows the arena once and the sizes up to it allocate nothing again. */
static void check_varying_steps(bool check_faults)
{
    tc_step_reset();
    size_t S = tc_arena_high_water() + ((size_t)40 << 20);
    patterned_step(S, 1); /* warm-up: may grow, chain and consolidate */
    size_t mallocs = tc_arena_malloc_count();
    long faults = minor_faults();
    patterned_step(S, 2);
    patterned_step(S / 3, 3);
    patterned_step(S / 2, 4);
    patterned_step(S, 5);
    assert_int_equal(tc_arena_malloc_count(), mallocs);
    /* a step of S touches S / 4096 pages; re-faulting them would show here */
    if (check_faults) assert_true(minor_faults() - faults < (long)(S / 4096 / 20));
    patterned_step(2 * S, 6); /* bigger: grows */
    mallocs = tc_arena_malloc_count();
    patterned_step(S, 7);
    patterned_step(2 * S, 8);
    patterned_step(S / 2, 9);
    assert_int_equal(tc_arena_malloc_count(), mallocs);
}

static void arena_reuses_memory_across_step_sizes(void **state)
{
    check_varying_steps(true);
    /* the malloc'd fallback (no reservation): the same, except that its
     * consolidation into one block faults that block in once */
    setenv("TENSORCOOK_ARENA", "malloc", 1);
    tc_arena_shutdown();
    check_varying_steps(false);
    unsetenv("TENSORCOOK_ARENA");
    tc_arena_shutdown();
}

/* ---- gradients written instead of zero-filled and added to ---------------- */
static tc_tensor *grad_leaf(tc_rng *r, int nd, const int64_t *shape, float lo, float hi)
{
    tc_tensor *t = tc_tensor_new(nd, shape);
    tc_rng_uniform(r, t->data, tc_numel(t), lo, hi);
    tc_set_requires_grad(t, true);
    return t;
}

/* through a reshape the operand is an intermediate: its gradient is a fresh
 * step buffer that the op writes (tc_grad_for_overwrite); directly, the op
 * adds into the leaf's zeroed gradient */
static tc_tensor *operand(tc_tensor *t, bool via_view) { return via_view ? tc_reshape(t, t->ndim, t->shape) : t; }

enum { N_GRAD_LEAVES = 9 };

static void overwrite_terms(tc_tensor *const *v, tc_tensor *const *c, bool via_view)
{
    tc_tensor *terms[] = {
        /* linear dX and dW */
        tc_mse(tc_linear(operand(v[0], via_view), operand(v[1], via_view), c[0]), c[1], TC_REDUCE_MEAN),
        /* matmul with a broadcast A: [2,1,4,5] @ [3,5,6] revisits each A batch */
        tc_mse(tc_matmul(operand(v[2], via_view), operand(v[3], via_view)), c[2], TC_REDUCE_SUM),
        /* sparse CE with zero weights: those rows have no gradient terms */
        tc_sparse_softmax_cross_entropy(operand(v[4], via_view), c[3], c[4], TC_REDUCE_SUM),
        tc_softmax_cross_entropy(operand(v[5], via_view), c[5], NULL, TC_REDUCE_MEAN),
        tc_sigmoid_cross_entropy(operand(v[6], via_view), c[6], c[4], TC_REDUCE_SUM),
        tc_mse(operand(v[7], via_view), c[6], TC_REDUCE_MEAN),
        /* x @ x keeps the add */
        tc_mse(tc_matmul(operand(v[8], via_view), operand(v[8], via_view)), c[7], TC_REDUCE_MEAN),
    };
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
        assert_non_null(terms[i]);
        assert_int_equal(tc_backward(terms[i]), TC_OK);
    }
}

static void overwritten_gradients_equal_accumulated(void **state)
{
    tc_rng r = tc_rng_new(11);
    tc_tensor *v[N_GRAD_LEAVES] = {
        grad_leaf(&r, TC_SHAPE(6, 5), -1, 1),       grad_leaf(&r, TC_SHAPE(5, 7), -1, 1),
        grad_leaf(&r, TC_SHAPE(2, 1, 4, 5), -1, 1), grad_leaf(&r, TC_SHAPE(3, 5, 6), -1, 1),
        grad_leaf(&r, TC_SHAPE(6, 9), -3, 3),       grad_leaf(&r, TC_SHAPE(6, 9), -3, 3),
        grad_leaf(&r, TC_SHAPE(6), -3, 3),          grad_leaf(&r, TC_SHAPE(6), -3, 3),
        grad_leaf(&r, TC_SHAPE(4, 4), -1, 1),
    };
    tc_tensor *c[8] = {
        tc_tensor_new(TC_SHAPE(7)),    tc_tensor_new(TC_SHAPE(6, 7)), tc_tensor_new(TC_SHAPE(2, 3, 4, 6)),
        tc_tensor_new(TC_SHAPE(6)),    tc_tensor_new(TC_SHAPE(6)),    tc_tensor_new(TC_SHAPE(6, 9)),
        tc_tensor_new(TC_SHAPE(6)),    tc_tensor_new(TC_SHAPE(4, 4)),
    };
    for (int i = 0; i < 8; i++) tc_rng_uniform(&r, c[i]->data, tc_numel(c[i]), 0, 1);
    for (int i = 0; i < 6; i++) c[3]->data[i] = (tc_scalar)((i * 5) % 9);        /* class ids */
    for (int i = 0; i < 6; i++) c[4]->data[i] = i % 3 == 1 ? 0 : (tc_scalar)(i + 1); /* weights, some 0 */
    tc_scalar *direct[N_GRAD_LEAVES];
    for (int pass = 0; pass < 2; pass++) {
        /* leave NaN wherever the next step's buffers will be: an element a
         * fresh gradient's writer skips shows as NaN */
        tc_step_reset();
        size_t bytes = (size_t)8 << 20;
        float *junk = tc_arena_alloc(bytes);
        for (size_t i = 0; i < bytes / sizeof *junk; i++) junk[i] = NAN;
        tc_step_reset();
        for (int i = 0; i < N_GRAD_LEAVES; i++) tc_zero_grad(v[i]);
        overwrite_terms(v, c, pass == 1);
        for (int i = 0; i < N_GRAD_LEAVES; i++) {
            size_t n = (size_t)tc_numel(v[i]);
            assert_non_null(v[i]->grad);
            if (pass == 0) {
                direct[i] = malloc(sizeof(tc_scalar) * n);
                memcpy(direct[i], v[i]->grad->data, sizeof(tc_scalar) * n);
            } else {
                for (size_t e = 0; e < n; e++) assert_false(isnan(v[i]->grad->data[e]));
                assert_memory_equal(v[i]->grad->data, direct[i], sizeof(tc_scalar) * n); /* 0 + x == x */
                free(direct[i]);
            }
        }
    }
    tc_step_reset();
    for (int i = 0; i < N_GRAD_LEAVES; i++) tc_tensor_free(v[i]);
    for (int i = 0; i < 8; i++) tc_tensor_free(c[i]);
}

static void arena_marks_release_nested_work(void **state)
{
    tc_tensor *a = tc_zeros(TC_SHAPE(4));
    tc_step_mark m = tc_step_get_mark();
    for (int i = 0; i < 100; i++) assert_non_null(tc_zeros(TC_SHAPE(1000, 100)));
    tc_step_release(m);
    assert_true(tc_step_get_mark().arena_position == m.arena_position);
    a->data[0] = 1; /* still valid */
    tc_step_reset();
}

/* Recycled step memory (tc_arena_recycle, scratch scopes): later allocations
 * of 16 KB or more reuse it smallest-fit, small ones never do, adjacent
 * regions merge, a scope recycles all it allocated but the kept spans, and a
 * rewind forgets what lies past its position. */
static void arena_recycles_dead_memory(void **state)
{
    (void)state;
    enum { K = 64 << 10 };
    tc_step_reset();
    unsigned char *a = tc_arena_alloc(K), *b = tc_arena_alloc(K);
    assert_ptr_equal(b, a + K);
    tc_arena_recycle(a, K);
    unsigned char *small = tc_arena_alloc(100); /* small: bumped */
    assert_true(small >= b + K);
    size_t pos = tc_arena_position();
    unsigned char *c = tc_arena_alloc(K / 2), *d = tc_arena_alloc(K / 2);
    assert_ptr_equal(c, a);
    assert_ptr_equal(d, a + K / 2);
    assert_int_equal(tc_arena_position(), pos); /* nothing bumped */
    unsigned char *e = tc_arena_alloc(16 << 10); /* nothing left to reuse */
    assert_true(e >= small + 100);
    /* a, then b: one region of 2K */
    tc_arena_recycle(a, K);
    tc_arena_recycle(b, K);
    assert_ptr_equal(tc_arena_alloc(2 * K), a);
    /* smallest fit: a 3K hole and a K hole, a K/2 request takes the K one */
    tc_step_reset();
    unsigned char *big = tc_arena_alloc(3 * K), *sep = tc_arena_alloc(K), *little = tc_arena_alloc(K);
    (void)tc_arena_alloc(K);
    tc_arena_recycle(big, 3 * K);
    tc_arena_recycle(little, K);
    assert_ptr_equal(tc_arena_alloc(K / 2), little);
    assert_ptr_equal(tc_arena_alloc(2 * K), big);
    (void)sep;
    /* a scope: x and z come back, the kept y does not */
    tc_step_reset();
    tc_arena_scope sc = tc_arena_scope_begin();
    unsigned char *x = tc_arena_alloc(K), *y = tc_arena_alloc(K), *z = tc_arena_alloc(K);
    tc_arena_span keep = {y, y + K};
    tc_arena_scope_end(sc, 1, &keep);
    unsigned char *r1 = tc_arena_alloc(K), *r2 = tc_arena_alloc(K), *r3 = tc_arena_alloc(K);
    assert_true((r1 == x && r2 == z) || (r1 == z && r2 == x));
    assert_true(r3 >= z + K);
    /* a nested scope takes recycled memory: the outer scope's end recycles it again */
    tc_step_reset();
    unsigned char *hole = tc_arena_alloc(K);
    tc_arena_recycle(hole, K);
    sc = tc_arena_scope_begin();
    assert_ptr_equal(tc_arena_alloc(K), hole);
    tc_arena_scope_end(sc, 0, NULL);
    assert_ptr_equal(tc_arena_alloc(K), hole);
    /* a rewind forgets recycled memory past its position */
    tc_step_reset();
    tc_step_mark m = tc_step_get_mark();
    unsigned char *gone = tc_arena_alloc(K);
    tc_arena_recycle(gone, K);
    tc_step_release(m);
    unsigned char *p1 = tc_arena_alloc(K), *p2 = tc_arena_alloc(K);
    assert_true(p2 >= p1 + K);
    tc_step_reset();
}

static void rng_is_deterministic_across_threads(void **state)
{
    enum { N = 200003 };
    tc_scalar *a = malloc(sizeof(tc_scalar) * N), *b = malloc(sizeof(tc_scalar) * N);
    tc_set_num_threads(1);
    tc_rng r1 = tc_rng_new(7);
    tc_rng_normal(&r1, a, N, 0, 1);
    tc_set_num_threads(2);
    tc_rng r2 = tc_rng_new(7);
    tc_rng_normal(&r2, b, N, 0, 1);
    assert_memory_equal(a, b, sizeof(tc_scalar) * N);
    assert_int_equal(r1.counter, N);
    /* moments of the normal draw */
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) s += a[i], s2 += (double)a[i] * a[i];
    assert_true(fabs(s / N) < 0.01);
    assert_true(fabs(s2 / N - 1) < 0.02);
    /* a different seed differs */
    tc_rng r3 = tc_rng_new(8);
    tc_rng_normal(&r3, b, N, 0, 1);
    assert_true(memcmp(a, b, sizeof(tc_scalar) * N) != 0);
    /* truncated normal stays within 2 std */
    tc_rng_truncated_normal(&r3, b, N, 1, 0.5f);
    for (int i = 0; i < N; i++) assert_true(b[i] >= 0 && b[i] <= 2);
    /* uniform in range, mean near the middle */
    tc_rng_uniform(&r3, b, N, -2, 4);
    s = 0;
    for (int i = 0; i < N; i++) {
        assert_true(b[i] >= -2 && b[i] < 4);
        s += b[i];
    }
    assert_true(fabs(s / N - 1) < 0.02);
    free(a);
    free(b);
}

/* The same bits for 1, 2 and 3 threads, whichever kernel OpenBLAS picks
 * (scripts/test.sh runs this under every OPENBLAS_CORETYPE): row and column
 * splits, transposed operands, sizes that are not multiples of a tile. */
static void gemm_is_deterministic_across_threads(void **state)
{
    const struct { int64_t m, n, k; bool ta, tb; } cases[] = {
        {300, 517, 700, false, false}, {517, 300, 70, false, true}, {1000, 33, 64, true, false},
        {45, 2049, 129, true, true},   {803, 64, 1500, false, false},
    };
    int threads0 = tc_num_threads();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int64_t m = cases[ci].m, n = cases[ci].n, k = cases[ci].k;
        const bool ta = cases[ci].ta, tb = cases[ci].tb;
        tc_rng r = tc_rng_new(3 + ci);
        tc_tensor *a = tc_test_uniform(&r, TC_SHAPE(m * k), -1, 1);
        tc_tensor *b = tc_test_uniform(&r, TC_SHAPE(k * n), -1, 1);
        const int64_t lda = ta ? m : k, ldb = tb ? k : n;
        tc_tensor *c[3];
        for (int t = 0; t < 3; t++) {
            c[t] = tc_empty(TC_SHAPE(m, n));
            tc_set_num_threads(t + 1);
            tc_gemm(ta, tb, m, n, k, 1, a->data, lda, b->data, ldb, 0, c[t]->data, n);
        }
        for (int t = 1; t < 3; t++) {
            if (memcmp(c[0]->data, c[t]->data, sizeof(tc_scalar) * (size_t)(m * n)))
                fail_msg("case %zu (%lld x %lld x %lld): %d threads differ from 1", ci, (long long)m, (long long)n,
                         (long long)k, t + 1);
        }
        /* and against a naive product */
        for (int64_t i = 0; i < m; i += 37)
            for (int64_t j = 0; j < n; j += 41) {
                double s = 0;
                for (int64_t q = 0; q < k; q++)
                    s += (double)a->data[ta ? q * m + i : i * k + q] * b->data[tb ? j * k + q : q * n + j];
                assert_true(fabs(s - c[0]->data[i * n + j]) < 1e-3);
            }
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
}

/* tc_gemm on every instruction set this CPU runs (AVX-512 uses our own
 * packed kernel): odd shapes (1, not multiples of the 6x32 tile or of the
 * 256-deep K block), both transposes, padded strides, beta 0 (C full of NaN,
 * which must not leak), 1 and -0.7, against a double product; and the same
 * bits for 1, 2 and 3 threads on each path. */
/* One product to check: operands with padded leading dimensions, C
 * prefilled (NaN where beta == 0 must ignore it), and the reference in
 * double. */
typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    bool ta, tb;
    tc_scalar alpha, beta;
    tc_tensor *a, *b, *c0;
    double *want;
} gemm_case;

static void gemm_case_make(gemm_case *g, int64_t m, int64_t n, int64_t k, bool ta, bool tb, tc_scalar beta,
                           uint64_t seed)
{
    *g = (gemm_case){m, n, k, (ta ? m : k) + 3, (tb ? k : n) + 2, n + 5, ta, tb, 1.25f, beta, NULL, NULL, NULL, NULL};
    tc_rng r = tc_rng_new(seed);
    g->a = tc_test_uniform(&r, TC_SHAPE((ta ? k : m) * g->lda), -1, 1);
    g->b = tc_test_uniform(&r, TC_SHAPE((tb ? n : k) * g->ldb), -1, 1);
    g->c0 = tc_test_uniform(&r, TC_SHAPE(m * g->ldc), -1, 1);
    g->want = malloc(sizeof(double) * (size_t)(m * g->ldc));
    assert_non_null(g->want);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < g->ldc; j++) {
            double want = g->c0->data[i * g->ldc + j]; /* the padding stays */
            if (j < n) {
                double s = 0;
                for (int64_t q = 0; q < k; q++)
                    s += (double)g->a->data[ta ? q * g->lda + i : i * g->lda + q] *
                         g->b->data[tb ? j * g->ldb + q : q * g->ldb + j];
                want = g->alpha * s + (beta == 0 ? 0 : beta * want);
            }
            g->want[i * g->ldc + j] = want;
        }
}

/* Runs the case on 1, 2 and 3 threads through tc_gemm (kern NULL) or
 * straight through the packed driver with kern: the bits must not depend
 * on the thread count and the values must match the reference. */
static void gemm_case_run(const gemm_case *g, const tc_sgemm_kernel_info *kern, const char *what)
{
    const int64_t m = g->m, n = g->n, k = g->k, ldc = g->ldc;
    tc_tensor *c[3];
    for (int t = 0; t < 3; t++) {
        c[t] = tc_empty(TC_SHAPE(m * ldc));
        memcpy(c[t]->data, g->c0->data, sizeof(tc_scalar) * (size_t)(m * ldc));
        if (g->beta == 0)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) c[t]->data[i * ldc + j] = NAN;
        tc_set_num_threads(t + 1);
        if (kern) {
            tc_sgemm_packed(kern, t + 1, g->ta, g->tb, m, n, k, g->alpha, g->a->data, g->lda, g->b->data, g->ldb,
                            g->beta, c[t]->data, ldc);
            continue;
        }
        tc_gemm(g->ta, g->tb, m, n, k, g->alpha, g->a->data, g->lda, g->b->data, g->ldb, g->beta, c[t]->data, ldc);
    }
    for (int t = 1; t < 3; t++)
        if (memcmp(c[0]->data, c[t]->data, sizeof(tc_scalar) * (size_t)(m * ldc)))
            fail_msg("%s, %lld x %lld x %lld ta %d tb %d beta %g: %d threads differ from 1", what, (long long)m,
                     (long long)n, (long long)k, g->ta, g->tb, (double)g->beta, t + 1);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldc; j++) {
            double got = c[0]->data[i * ldc + j], want = g->want[i * ldc + j];
            if (!(fabs(got - want) <= 1e-5 * (double)(k + 4)))
                fail_msg("%s, %lld x %lld x %lld ta %d tb %d beta %g: C[%lld][%lld] = %g, want %g", what,
                         (long long)m, (long long)n, (long long)k, g->ta, g->tb, (double)g->beta, (long long)i,
                         (long long)j, got, want);
        }
}

static void gemm_matches_naive_on_every_isa(void **state)
{
    (void)state;
    /* odd sizes around the register tiles (6x32, 6x16, 4x16), several K
     * blocks (KC 256), MC blocks (24 strips), NC blocks (2048) and, with M
     * of a few rows, threads that split columns instead of rows */
    const int64_t shapes[][3] = {{2, 1, 1},     {7, 33, 5},    {13, 65, 300},  {100, 37, 513}, {6, 32, 256},
                                 {700, 150, 70}, {31, 17, 1},  {64, 2100, 40}, {3, 2100, 530}, {301, 97, 260},
                                 {145, 4, 1030}, {1, 300, 40}, {2, 4200, 9}};
    const tc_isa_level isa0 = tc_isa();
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int tr = 0; tr < 4; tr++) {
            /* the four transposes per shape, beta 0 / 1 / -0.7 in turn: every
             * (transpose, beta) pair comes up on several shapes */
            const int bi = (int)((si + (size_t)tr) % 3);
            gemm_case g;
            gemm_case_make(&g, shapes[si][0], shapes[si][1], shapes[si][2], tr & 1, tr & 2,
                           bi == 0 ? 0 : bi == 1 ? 1 : -0.7f, 40 + si * 12 + tr * 3 + bi);
            for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
                assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
                char what[64];
                snprintf(what, sizeof what, "tc_gemm, %s", tc_isa_name((tc_isa_level)isa));
                gemm_case_run(&g, NULL, what);
                /* each ISA's packed kernel, whether tc_gemm routes to it or not */
                snprintf(what, sizeof what, "packed %s kernel", tc_isa_name((tc_isa_level)isa));
                gemm_case_run(&g, tc_sgemm_kernel_for(isa), what);
            }
            free(g.want);
            tc_step_reset();
        }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
    tc_set_num_threads(threads0);
}

/* A read in place by the kernel (kernel_ua, and kernel_uat for A^T:
 * products of few column strips) must give the bits of the same kernel on
 * packed A strips: every ISA's kernel info with those removed is the
 * reference; both transposes of A; odd M (a part
 * strip packed at the end of each MC block), several K and MC blocks, a
 * padded column strip, beta 0 / 1 / -0.7, 1 and 2 threads. */
static void in_place_a_matches_packed_a_bit_for_bit(void **state)
{
    (void)state;
    const int64_t shapes[][3] = {{7, 33, 5}, {301, 64, 600}, {145, 128, 257}, {6, 100, 40}, {1000, 20, 90}, {13, 1, 3}};
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2], ldb = n + 3, ldc = n + 2;
        tc_rng r = tc_rng_new(2100 + si);
        tc_tensor *a = tc_test_uniform(&r, TC_SHAPE((m + 1) * (k + 1)), -1, 1), *b = tc_test_uniform(&r, TC_SHAPE(k * ldb), -1, 1);
        tc_tensor *c0 = tc_test_uniform(&r, TC_SHAPE(m * ldc), -1, 1);
        tc_tensor *want = tc_empty(TC_SHAPE(m * ldc)), *got = tc_empty(TC_SHAPE(m * ldc));
        const size_t bytes = sizeof(tc_scalar) * (size_t)(m * ldc);
        for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
            const tc_sgemm_kernel_info *kern = tc_sgemm_kernel_for(isa);
            tc_sgemm_kernel_info packed = *kern;
            packed.kernel_ua = packed.kernel_uat = NULL;
            for (int t = 1; t <= 4; t++) {
                const bool ta = t > 2;
                const int64_t lda = ta ? m + 1 : k + 1; /* A [k, m] or [m, k] */
                tc_set_num_threads(2 - t % 2);
                const float beta = si % 3 == 0 ? 0 : si % 3 == 1 ? 1 : -0.7f;
                memcpy(want->data, c0->data, bytes);
                memcpy(got->data, c0->data, bytes);
                tc_sgemm_packed(&packed, 2 - t % 2, ta, false, m, n, k, 1.5f, a->data, lda, b->data, ldb, beta,
                                want->data, ldc);
                tc_sgemm_packed(kern, 2 - t % 2, ta, false, m, n, k, 1.5f, a->data, lda, b->data, ldb, beta, got->data,
                                ldc);
                if (memcmp(want->data, got->data, bytes))
                    fail_msg("A in place, %s, %lld x %lld x %lld, ta %d, %d threads: bits differ",
                             tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, 2 - t % 2);
            }
        }
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
}

/* op(A) given as runs (tc_gemm_b_runs, the convolutions' patches packed
 * straight from the input) must give the bits of tc_gemm_serial_b /
 * tc_gemm_b on the matrix the runs describe: some runs of that matrix are
 * the shared zero run (the padding), rows past m come as zeros, runs that
 * cross K blocks (KC 256) and MC blocks, with and without a bias, 1 and 2
 * threads; on the paths without our packed kernel it must refuse (false)
 * and leave C alone. */
typedef struct {
    const tc_scalar *a, *zeros;
    int64_t lda, m, len;
} runs_case;

/* run t of row i is a + i * lda + t * len, except every 7th (i + t), which is the zero run */
static void case_runs6(const void *ctx, int64_t i0, int64_t t0, int64_t nt, const tc_scalar *(*r)[6])
{
    const runs_case *rc = ctx;
    assert_true(nt >= 1 && nt <= TC_GEMM_RUNS_MAX);
    for (int64_t u = 0; u < nt; u++)
        for (int i = 0; i < 6; i++) {
            const int64_t row = i0 + i, t = t0 + u;
            r[u][i] = row < rc->m && (row + t) % 7 != 3 ? rc->a + row * rc->lda + t * rc->len : rc->zeros;
        }
}

static void gemm_runs_match_the_matrix_bit_for_bit(void **state)
{
    (void)state;
    /* m, n, run length, runs */
    const int64_t shapes[][4] = {{7, 33, 16, 3},   {100, 64, 64, 9},  {301, 97, 48, 12}, {2, 130, 300, 2},
                                 {145, 512, 512, 3}, {13, 2100, 24, 5}, {1, 40, 16, 2},  {250, 70, 100, 7},
                                 {37, 128, 24, 11}, {6, 32, 17, 16}};
    const tc_isa_level isa0 = tc_isa();
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t m = shapes[si][0], n = shapes[si][1], len = shapes[si][2], k = len * shapes[si][3];
        const int64_t lda = k + 3, ldc = n + 5;
        tc_rng r = tc_rng_new(1700 + si);
        tc_tensor *a = tc_test_uniform(&r, TC_SHAPE(m * lda), -1, 1), *b = tc_test_uniform(&r, TC_SHAPE(k * n), -1, 1);
        tc_tensor *bias = tc_test_uniform(&r, TC_SHAPE(n), -1, 1), *c0 = tc_test_uniform(&r, TC_SHAPE(m * ldc), -1, 1);
        tc_tensor *mat = tc_empty(TC_SHAPE(m * k)), *zeros = tc_full(1, (int64_t[]){len}, 0);
        tc_tensor *want = tc_empty(TC_SHAPE(m * ldc)), *got = tc_empty(TC_SHAPE(m * ldc));
        const runs_case rc = {a->data, zeros->data, lda, m, len};
        for (int64_t i = 0; i < m; i++) /* the matrix the runs describe */
            for (int64_t t = 0; t < k / len; t++)
                memcpy(mat->data + i * k + t * len, (i + t) % 7 != 3 ? a->data + i * lda + t * len : zeros->data,
                       sizeof(tc_scalar) * (size_t)len);
        const tc_gemm_a_runs ar = {case_runs6, &rc, len};
        const size_t bytes = sizeof(tc_scalar) * (size_t)(m * ldc);
        for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
            assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
            tc_gemm_b_panel pb;
            assert_true(tc_gemm_prepare_b(&pb, false, k, n, b->data, n));
            for (int t = 1; t <= 2; t++)
                for (int wb = 0; wb < 2; wb++) {
                    tc_set_num_threads(t);
                    const tc_scalar *bi = wb ? bias->data : NULL;
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    const bool pooled = t == 2;
                    if (pooled) tc_gemm_b(false, m, 1, mat->data, k, &pb, bi, 0, want->data, ldc);
                    else tc_gemm_serial_b(false, m, 1, mat->data, k, &pb, bi, 0, want->data, ldc);
                    const bool took = tc_gemm_b_runs(pooled, m, &ar, &pb, bi, got->data, ldc, NULL, NULL, false);
                    if (tc_isa() == TC_ISA_GENERIC || m == 1) { /* not our packed kernel (generic: OpenBLAS): refused, C untouched */
                        assert_false(took);
                        assert_memory_equal(got->data, c0->data, bytes);
                        continue;
                    }
                    assert_true(took);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("gemm runs, %s, %lld x %lld x %lld (runs of %lld), bias %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k,
                                 (long long)len, wb, t);
                }
        }
        tc_step_reset();
    }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
    tc_set_num_threads(threads0);
}

/* A's runs read in place by the kernel (kernel_ur: products of at most 4
 * column strips, runs of 16 or more) must give the bits of the same kernel
 * on the strips pack_a_runs makes: every ISA's kernel info without
 * kernel_ur is the reference. Runs that start inside a K block (len 24,
 * 100, 17: KC 256 is no multiple), several K and MC blocks, rows past m,
 * the zero run, padded column strips, 4 and 5 strips (the limit), with
 * and without a bias, 1 and 2 threads (the limit is N <= 128 on AVX-512,
 * N <= 64 on AVX2). */
static void runs_in_place_match_packed_runs_bit_for_bit(void **state)
{
    (void)state;
    /* m, n, run length, runs */
    const int64_t shapes[][4] = {{7, 33, 16, 3},   {37, 128, 24, 11}, {301, 64, 64, 9}, {145, 129, 16, 20},
                                 {250, 70, 100, 7}, {13, 96, 24, 40},  {6, 32, 17, 16}, {200, 16, 16, 9},
                                 {29, 48, 24, 13},  {40, 65, 24, 13}};
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t m = shapes[si][0], n = shapes[si][1], len = shapes[si][2], k = len * shapes[si][3];
        const int64_t lda = k + 3, ldb = n + 1, ldc = n + 5;
        tc_rng r = tc_rng_new(2300 + si);
        tc_tensor *a = tc_test_uniform(&r, TC_SHAPE(m * lda), -1, 1), *b = tc_test_uniform(&r, TC_SHAPE(k * ldb), -1, 1);
        tc_tensor *bias = tc_test_uniform(&r, TC_SHAPE(n), -1, 1), *zeros = tc_full(1, (int64_t[]){len}, 0);
        tc_tensor *want = tc_empty(TC_SHAPE(m * ldc)), *got = tc_empty(TC_SHAPE(m * ldc));
        const runs_case rc = {a->data, zeros->data, lda, m, len};
        const tc_gemm_a_runs ar = {case_runs6, &rc, len};
        const size_t bytes = sizeof(tc_scalar) * (size_t)(m * ldc);
        for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
            const tc_sgemm_kernel_info *kern = tc_sgemm_kernel_for(isa);
            tc_sgemm_kernel_info packed = *kern;
            packed.kernel_ur = NULL;
            for (int t = 1; t <= 2; t++)
                for (int wb = 0; wb < 2; wb++) {
                    const float *bi = wb ? bias->data : NULL;
                    memset(want->data, 0, bytes);
                    memset(got->data, 0, bytes);
                    const bool took0 = tc_sgemm_packed_runs_b(&packed, t, m, n, k, &ar, b->data, ldb, bi, want->data, ldc);
                    const bool took = tc_sgemm_packed_runs_b(kern, t, m, n, k, &ar, b->data, ldb, bi, got->data, ldc);
                    assert_int_equal(took0, took);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("runs in place, %s, %lld x %lld x %lld (runs of %lld), bias %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k,
                                 (long long)len, wb, t);
                }
        }
        tc_step_reset();
    }
    tc_set_num_threads(threads0);
}

/* B packed once (tc_sgemm_pack_b) and then read by tc_sgemm_packed_pb must
 * give exactly the bits of tc_sgemm_packed packing it itself, for every
 * ISA's kernel, both transposes, 1, 2 and 3 threads (grids that split
 * columns read strips in the middle of the packed K blocks), odd shapes
 * with several K and NC blocks; and tc_gemm_serial_b / tc_gemm_b (what
 * the convolutions call) the bits of tc_gemm_serial / tc_gemm. With a bias
 * row the result must be the bits of copying the bias into every row of C
 * and multiplying with beta = 1 (what the convolutions did before the bias
 * moved into the packed kernel's first K block), whatever C held; and a
 * panel kept outside the arena (tc_gemm_prepare_b_kept) the bits of the
 * arena one. */
static void fill_rows(tc_scalar *c, int64_t m, int64_t n, int64_t ldc, const tc_scalar *row)
{
    for (int64_t i = 0; i < m; i++) memcpy(c + i * ldc, row, sizeof(tc_scalar) * (size_t)n);
}

static void prepacked_b_matches_unpacked_bit_for_bit(void **state)
{
    (void)state;
    const int64_t shapes[][3] = {{2, 1, 1},     {7, 33, 5},    {13, 65, 300}, {100, 37, 513}, {301, 97, 260},
                                 {3, 2100, 530}, {64, 2100, 40}, {1, 50, 20},  {145, 4, 1030}, {250, 70, 27}};
    const tc_isa_level isa0 = tc_isa();
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int tr = 0; tr < 4; tr++) {
            const bool ta = tr & 1, tb = tr & 2;
            const int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
            const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
            const tc_scalar beta = tr == 1 ? 0.5f : tr == 2 ? 1 : 0;
            tc_rng r = tc_rng_new(900 + si * 4 + (size_t)tr);
            tc_tensor *a = tc_test_uniform(&r, TC_SHAPE((ta ? k : m) * lda), -1, 1);
            tc_tensor *b = tc_test_uniform(&r, TC_SHAPE((tb ? n : k) * ldb), -1, 1);
            tc_tensor *c0 = tc_test_uniform(&r, TC_SHAPE(m * ldc), -1, 1);
            tc_tensor *want = tc_empty(TC_SHAPE(m * ldc)), *got = tc_empty(TC_SHAPE(m * ldc));
            tc_tensor *bias = tc_test_uniform(&r, TC_SHAPE(n), -1, 1);
            const size_t bytes = sizeof(tc_scalar) * (size_t)(m * ldc);
            for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
                const tc_sgemm_kernel_info *kern = tc_sgemm_kernel_for(isa);
                float *bpk = aligned_alloc(64, ((size_t)tc_sgemm_packed_b_floats(kern, k, n) * sizeof(float) + 63) / 64 * 64);
                assert_non_null(bpk);
                tc_sgemm_pack_b(kern, tb, k, n, b->data, ldb, bpk);
                for (int t = 1; t <= 3; t++) {
                    tc_set_num_threads(t);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    tc_sgemm_packed(kern, t, ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, beta, want->data, ldc);
                    tc_sgemm_packed_pb(kern, t, ta, m, n, k, 1.25f, a->data, lda, bpk, NULL, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("prepacked %s kernel, %lld x %lld x %lld ta %d tb %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb, t);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    fill_rows(want->data, m, n, ldc, bias->data);
                    tc_sgemm_packed(kern, t, ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, 1, want->data, ldc);
                    tc_sgemm_packed_pb(kern, t, ta, m, n, k, 1.25f, a->data, lda, bpk, bias->data, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("prepacked %s kernel with bias, %lld x %lld x %lld ta %d tb %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb, t);
                }
                free(bpk);
                /* the conv-facing calls, on whatever path this ISA routes to */
                assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
                tc_gemm_b_panel pb, kept;
                assert_true(tc_gemm_prepare_b(&pb, tb, k, n, b->data, ldb));
                assert_true(tc_isa() != TC_ISA_GENERIC ? pb.packed != NULL : pb.packed == NULL); /* avx2, avx512: own kernels */
                assert_true(tc_gemm_prepare_b_kept(&kept, tb, k, n, b->data, ldb));
                assert_true(kept.mem == (void *)kept.packed);
                if (pb.packed)
                    assert_memory_equal(kept.packed, pb.packed,
                                        sizeof(float) * (size_t)tc_sgemm_packed_b_floats(tc_sgemm_kernel_for(isa), k, n));
                for (int t = 1; t <= 2; t++) {
                    tc_set_num_threads(t);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    tc_gemm_serial(ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, beta, want->data, ldc);
                    tc_gemm_serial_b(ta, m, 1.25f, a->data, lda, &pb, NULL, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_serial_b, %s, %lld x %lld x %lld ta %d tb %d: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    tc_gemm(ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, beta, want->data, ldc);
                    tc_gemm_b(ta, m, 1.25f, a->data, lda, &pb, NULL, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_b, %s, %lld x %lld x %lld ta %d tb %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb, t);
                    /* with a bias row, on the kept panel: against bias copied into C, beta 1 */
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    fill_rows(want->data, m, n, ldc, bias->data);
                    tc_gemm(ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, 1, want->data, ldc);
                    tc_gemm_b(ta, m, 1.25f, a->data, lda, &kept, bias->data, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_b with bias, %s, %lld x %lld x %lld ta %d tb %d, %d threads: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb, t);
                    memcpy(got->data, c0->data, bytes);
                    memcpy(want->data, c0->data, bytes);
                    fill_rows(want->data, m, n, ldc, bias->data);
                    tc_gemm_serial(ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, 1, want->data, ldc);
                    tc_gemm_serial_b(ta, m, 1.25f, a->data, lda, &kept, bias->data, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_serial_b with bias, %s, %lld x %lld x %lld ta %d tb %d: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb);
                }
                tc_gemm_b_panel_release(&kept);
            }
            tc_step_reset();
        }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
    tc_set_num_threads(threads0);
}

/* Products of few rows (tc_sgemm_few_rows: a 7x7 or 14x14 map's conv) read
 * B in place (AVX-512 kernel_ub) or pack it strip by strip; either must give
 * the bits of the same kernel on B packed once (tc_sgemm_packed_pb), for
 * every ISA's kernel (and the AVX-512 one with kernel_ub removed), both
 * transposes, with and without a bias, 1, 2 and 3 threads; odd M (part
 * row strips), a part last column strip, several K blocks, M past one MC
 * block. tc_gemm_prepare_b_rows' unpacked panel must give, through
 * tc_gemm_b, tc_gemm_serial_b and tc_gemm_b_runs, the bits of the panel
 * tc_gemm_prepare_b packs. */
static void few_rows_b_in_place_matches_packed_b_bit_for_bit(void **state)
{
    (void)state;
    const int64_t shapes[][3] = {{49, 200, 600}, {7, 161, 300}, {143, 257, 513}, {196, 512, 40}, {2, 170, 1},
                                 {385, 160, 30}, {64, 320, 257}};
    const tc_isa_level isa0 = tc_isa();
    const int threads0 = tc_num_threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int tr = 0; tr < 4; tr++) {
            const bool ta = tr & 1, tb = tr & 2;
            const int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
            const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
            const tc_scalar beta = tr == 1 ? 0.5f : tr == 2 ? 1 : 0;
            tc_rng r = tc_rng_new(3100 + si * 4 + (size_t)tr);
            tc_tensor *a = tc_test_uniform(&r, TC_SHAPE((ta ? k : m) * lda), -1, 1);
            tc_tensor *b = tc_test_uniform(&r, TC_SHAPE((tb ? n : k) * ldb), -1, 1);
            tc_tensor *c0 = tc_test_uniform(&r, TC_SHAPE(m * ldc), -1, 1), *bias = tc_test_uniform(&r, TC_SHAPE(n), -1, 1);
            tc_tensor *want = tc_empty(TC_SHAPE(m * ldc)), *got = tc_empty(TC_SHAPE(m * ldc));
            const size_t bytes = sizeof(tc_scalar) * (size_t)(m * ldc);
            for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++)
                for (int ub = 0; ub < 2; ub++) {
                    tc_sgemm_kernel_info kern = *tc_sgemm_kernel_for(isa);
                    if (ub) {
                        if (!kern.kernel_ub) continue;
                        kern.kernel_ub = NULL; /* strip by strip packing on the AVX-512 kernel too */
                    }
                    assert_true(tc_sgemm_few_rows(&kern, m, n) == (m != 385));
                    float *bpk = aligned_alloc(64, ((size_t)tc_sgemm_packed_b_floats(&kern, k, n) * sizeof(float) + 63) / 64 * 64);
                    assert_non_null(bpk);
                    tc_sgemm_pack_b(&kern, tb, k, n, b->data, ldb, bpk);
                    for (int t = 1; t <= 3; t++)
                        for (int wb = 0; wb < 2; wb++) {
                            const tc_scalar *bi = wb ? bias->data : NULL;
                            tc_set_num_threads(t);
                            memcpy(want->data, c0->data, bytes);
                            memcpy(got->data, c0->data, bytes);
                            tc_sgemm_packed_pb(&kern, t, ta, m, n, k, 1.25f, a->data, lda, bpk, bi, beta, want->data, ldc);
                            if (bi) tc_sgemm_packed_bias(&kern, t, ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, bi,
                                                         beta, got->data, ldc);
                            else tc_sgemm_packed(&kern, t, ta, tb, m, n, k, 1.25f, a->data, lda, b->data, ldb, beta,
                                                 got->data, ldc);
                            if (memcmp(want->data, got->data, bytes))
                                fail_msg("few rows, %s kernel%s, %lld x %lld x %lld ta %d tb %d bias %d, %d threads: bits differ",
                                         tc_isa_name((tc_isa_level)isa), ub ? " without kernel_ub" : "", (long long)m,
                                         (long long)n, (long long)k, ta, tb, wb, t);
                        }
                    free(bpk);
                }
            for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
                assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
                tc_gemm_b_panel packed, rows;
                assert_true(tc_gemm_prepare_b(&packed, tb, k, n, b->data, ldb));
                assert_true(tc_gemm_prepare_b_rows(&rows, m, tb, k, n, b->data, ldb));
                assert_true((rows.packed != NULL) == (tc_isa() != TC_ISA_GENERIC && m == 385)); /* 385: not few; generic: OpenBLAS */
                for (int t = 1; t <= 2; t++) {
                    tc_set_num_threads(t);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    tc_gemm_b(ta, m, 1.25f, a->data, lda, &packed, bias->data, beta, want->data, ldc);
                    tc_gemm_b(ta, m, 1.25f, a->data, lda, &rows, bias->data, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_b on a few-rows panel, %s, %lld x %lld x %lld ta %d tb %d: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb);
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    tc_gemm_serial_b(ta, m, 1.25f, a->data, lda, &packed, NULL, beta, want->data, ldc);
                    tc_gemm_serial_b(ta, m, 1.25f, a->data, lda, &rows, NULL, beta, got->data, ldc);
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_serial_b on a few-rows panel, %s, %lld x %lld x %lld ta %d tb %d: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k, ta, tb);
                    if (ta || tb || k % 3) continue;
                    /* op(A) as runs of k / 3 (every 7th the zero run), as the forward convolutions give it */
                    tc_tensor *zeros = tc_full(1, (int64_t[]){k / 3}, 0);
                    const runs_case rc = {a->data, zeros->data, lda, m, k / 3};
                    const tc_gemm_a_runs ar = {case_runs6, &rc, k / 3};
                    memcpy(want->data, c0->data, bytes);
                    memcpy(got->data, c0->data, bytes);
                    const bool took_packed = tc_gemm_b_runs(t == 2, m, &ar, &packed, bias->data, want->data, ldc, NULL, NULL, false);
                    const bool took_rows = tc_gemm_b_runs(t == 2, m, &ar, &rows, bias->data, got->data, ldc, NULL, NULL, false);
                    assert_true(took_packed == took_rows);
                    assert_true(took_rows == (tc_isa() != TC_ISA_GENERIC)); /* our packed GEMM runs AVX2 and AVX-512 */
                    if (memcmp(want->data, got->data, bytes))
                        fail_msg("tc_gemm_b_runs on a few-rows panel, %s, %lld x %lld x %lld: bits differ",
                                 tc_isa_name((tc_isa_level)isa), (long long)m, (long long)n, (long long)k);
                }
            }
            tc_step_reset();
        }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
    tc_set_num_threads(threads0);
}

static void isa_selection_is_checked(void **state)
{
    (void)state;
    tc_isa_level best = tc_isa_best();
    assert_true(tc_isa_supported(TC_ISA_GENERIC));
    assert_true(tc_isa() <= best);
    for (int i = TC_ISA_GENERIC; i <= (int)best; i++) {
        assert_int_equal(tc_set_isa((tc_isa_level)i), TC_OK);
        assert_int_equal(tc_isa(), i);
    }
    if (best < TC_ISA_AVX512) {
        assert_int_equal(tc_set_isa(TC_ISA_AVX512), TC_ERR_ARG);
        assert_non_null(strstr(tc_last_error(), "cannot run avx512"));
    }
    assert_int_equal(tc_set_isa((tc_isa_level)7), TC_ERR_ARG);
    assert_string_equal(tc_isa_name(TC_ISA_AVX2), "avx2");
    assert_int_equal(tc_set_isa(best), TC_OK);
}

static void parallel_for_covers_range_once(void **state)
{
    enum { N = 100000 };
    static int hits[N];
    memset(hits, 0, sizeof hits);
    tc_set_num_threads(2);
    struct { int *h; } ctx = {hits};
    void fn(void *c, int64_t b, int64_t e);
    tc_parallel_for(N, 100, fn, &ctx);
    for (int i = 0; i < N; i++) assert_int_equal(hits[i], 1);
    assert_int_equal(tc_set_num_threads(0), TC_ERR_ARG);
}
void fn(void *c, int64_t b, int64_t e)
{
    int *h = *(int **)c;
    for (int64_t i = b; i < e; i++) h[i]++;
}

/* Back-to-back regions of 1 to 7 chunks on 2 to 4 threads (workers
 * outside a job while the next is published, hand-overs without the lock;
 * test_core_nospin runs it with every wait asleep): each call returns only
 * once all its chunks have run, and their writes are seen. */
typedef struct {
    int round;
    int stamp[8];
    long total;
} handover_ctx;

static void handover_fn(void *c, int64_t b, int64_t e)
{
    handover_ctx *h = c;
    for (int64_t i = b; i < e; i++) h->stamp[i] = h->round;
    __atomic_add_fetch(&h->total, (long)(e - b), __ATOMIC_RELAXED);
}

static void parallel_for_back_to_back(void **state)
{
    (void)state;
    const int threads0 = tc_num_threads();
    for (int t = 2; t <= 4; t++) {
        tc_set_num_threads(t);
        handover_ctx h = {0};
        long want = 0;
        for (int r = 1; r <= 3000; r++) {
            const int n = 1 + r % 7;
            h.round = r;
            tc_parallel_for(n, 1, handover_fn, &h);
            want += n;
            assert_int_equal(__atomic_load_n(&h.total, __ATOMIC_RELAXED), want);
            for (int i = 0; i < n; i++) assert_int_equal(h.stamp[i], r);
        }
    }
    tc_set_num_threads(threads0);
}

static void tape_semantics(void **state)
{
    tc_tensor *w = tc_tensor_new(TC_SHAPE(3, 2));
    for (int i = 0; i < 6; i++) w->data[i] = (tc_scalar)(i + 1);
    tc_set_requires_grad(w, true);
    tc_tensor *x = tc_full(TC_SHAPE(1, 3), 1);
    /* not a scalar */
    tc_tensor *y = tc_linear(x, w, NULL);
    tc_assert_error(y && tc_backward(y) == TC_OK ? y : NULL, "backward", "[1, 2]");
    /* gradient accumulation across two backward calls */
    tc_tensor *s = tc_matmul(y, tc_full(TC_SHAPE(2, 1), 1)); /* sum of y: dW = 1 */
    assert_int_equal(tc_backward(s), TC_OK);
    assert_int_equal(tc_backward(s), TC_OK);
    for (int i = 0; i < 6; i++) assert_true(w->grad->data[i] == 2);
    tc_zero_grad(w);
    assert_true(w->grad->data[0] == 0);
    /* the dump names ops and leaves */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tc_tape_dump(f);
    fclose(f);
    assert_non_null(strstr(buf, "linear"));
    assert_non_null(strstr(buf, "matmul"));
    free(buf);
    /* no-grad mode records nothing */
    size_t n = tc_tape_length();
    bool was = tc_set_grad_enabled(false);
    tc_tensor *z = tc_linear(x, w, NULL);
    assert_int_equal(tc_tape_length(), n);
    assert_false(tc_requires_grad(z));
    tc_set_grad_enabled(was);
    tc_tensor *nograd = tc_linear(x, tc_zeros(TC_SHAPE(3, 2)), NULL);
    assert_null(nograd->node);
    tc_assert_error(tc_backward(nograd) == TC_OK ? nograd : NULL, "backward", "not computed");
    /* gradient with respect to an input */
    tc_set_requires_grad(x, true);
    tc_tensor *s2 = tc_matmul(tc_linear(x, w, NULL), tc_full(TC_SHAPE(2, 1), 1));
    assert_int_equal(tc_backward(s2), TC_OK);
    assert_true(x->grad->data[0] == 1 + 2 && x->grad->data[2] == 5 + 6);
    tc_step_reset();
    assert_int_equal(tc_tape_length(), 0);
    tc_tensor_free(w);
}

/* a value in [-1, 1) */
static float unit(tc_rng *r) { return (float)tc_rng_u32(r) / 2147483648.0f - 1; }

/* The AVX-512 right edge kernel (gemm_kernel_narrow_avx512.c, w < 32
 * columns straight into C) gives the bits of the full 6 x 32 kernel on a
 * tile copy (run_parts' other path): widths 1..31 (<= 16 computes one
 * half), A packed, rows in place and A^T in place, first with beta 0 and
 * 0.5 and a later K block (C read), odd kc; columns past w untouched. */
static void narrow_edge_kernel_matches_full_tile_bit_for_bit(void **state)
{
    (void)state;
    if (!tc_isa_supported(TC_ISA_AVX512)) skip();
    const tc_sgemm_kernel_info *kern = tc_sgemm_kernel_for(TC_ISA_AVX512);
    assert_non_null(kern->kernel_nw);
    const int64_t kc = 37, lda = 41, ldc = 45;
    float *a = aligned_alloc(64, sizeof(float) * 64 * 64), *ap = aligned_alloc(64, sizeof(float) * 6 * 64),
          *b = aligned_alloc(64, sizeof(float) * 32 * 64), *tile = aligned_alloc(64, sizeof(float) * 6 * 32);
    float c0[6 * 45], c[6 * 45];
    tc_rng rng = tc_rng_new(7);
    for (int i = 0; i < 64 * 64; i++) a[i] = unit(&rng);
    for (int i = 0; i < 6 * 45; i++) c0[i] = unit(&rng);
    for (int w = 1; w < 32; w++) {
        for (int64_t q = 0; q < kc; q++) /* the packed strip: zero past w */
            for (int j = 0; j < 32; j++) b[q * 32 + j] = j < w ? unit(&rng) : 0;
        for (int mode = 0; mode < 3; mode++) { /* packed, rows in place, A^T in place */
            const int64_t si = mode == 1 ? lda : 1, sq = mode == 0 ? 6 : mode == 1 ? 1 : lda;
            for (int64_t q = 0; q < kc; q++)
                for (int i = 0; i < 6; i++) ap[q * 6 + i] = a[i * si + q * sq];
            for (int cs = 0; cs < 3; cs++) {
                const bool first = cs < 2;
                const float beta = cs == 1 ? 0.5f : cs == 0 ? 0 : 1, alpha = 1.25f;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 32; j++) tile[i * 32 + j] = j < w ? c0[i * ldc + j] : 0;
                tc_sgemm_kernel_avx512(kc, ap, b, tile, 32, alpha, beta, first);
                memcpy(c, c0, sizeof c);
                kern->kernel_nw(kc, a, si, sq, b, c, ldc, alpha, beta, first, w);
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < ldc; j++) {
                        float want = j < w ? tile[i * 32 + j] : c0[i * ldc + j];
                        if (memcmp(&c[i * ldc + j], &want, sizeof want))
                            fail_msg("narrow kernel w %d mode %d case %d: C[%d][%d] = %g, full tile %g", w, mode, cs,
                                     i, j, (double)c[i * ldc + j], (double)want);
                    }
            }
        }
    }
    free(a), free(ap), free(b), free(tile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tensor_basics),
        cmocka_unit_test(views_share_memory),
        cmocka_unit_test(arena_steady_state_does_not_malloc),
        cmocka_unit_test(arena_reuses_memory_across_step_sizes),
        cmocka_unit_test(arena_marks_release_nested_work),
        cmocka_unit_test(arena_recycles_dead_memory),
        cmocka_unit_test(overwritten_gradients_equal_accumulated),
        cmocka_unit_test(rng_is_deterministic_across_threads),
        cmocka_unit_test(gemm_is_deterministic_across_threads),
        cmocka_unit_test(gemm_matches_naive_on_every_isa),
        cmocka_unit_test(prepacked_b_matches_unpacked_bit_for_bit),
        cmocka_unit_test(gemm_runs_match_the_matrix_bit_for_bit),
        cmocka_unit_test(runs_in_place_match_packed_runs_bit_for_bit),
        cmocka_unit_test(few_rows_b_in_place_matches_packed_b_bit_for_bit),
        cmocka_unit_test(in_place_a_matches_packed_a_bit_for_bit),
        cmocka_unit_test(narrow_edge_kernel_matches_full_tile_bit_for_bit),
        cmocka_unit_test(isa_selection_is_checked),
        cmocka_unit_test(parallel_for_covers_range_once),
        cmocka_unit_test(parallel_for_back_to_back),
        cmocka_unit_test(tape_semantics),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
