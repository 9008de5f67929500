/* The batch-1 inference path (tc_gemv plans and tc_lstm_stepper) against
 * the op-built reference tc_lstm_step / tc_linear: random weights, sizes
 * that are and are not multiples of 16 units, one-hot and dense inputs,
 * every gate order, forget bias and clipping, a stack of layers with the
 * char-RNN's shape; the same bits for 1 and 2 threads; no allocation per
 * step; bad arguments. */
#include "testutil.h"
#include "../src/core/internal.h" /* tc_gemv_plan: kernel-level, not public */

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tc_tensor *uniform_param(tc_rng *r, int ndim, const int64_t *shape, double lim)
{
    tc_tensor *t = tc_tensor_new(ndim, shape);
    tc_rng_uniform(r, t->data, tc_numel(t), (tc_scalar)-lim, (tc_scalar)lim);
    return t;
}

/* |a - b| <= 1e-5 + 1e-5 |b| everywhere */
static void assert_close_arrays(const tc_scalar *a, const tc_scalar *b, int64_t n, const char *what, int step)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= 1e-5 + 1e-5 * fabs((double)b[i])))
            fail_msg("%s, step %d, element %lld: %.9g vs reference %.9g", what, step, (long long)i, (double)a[i], (double)b[i]);
}

static void char_rnn_step_matches_reference_loop(void **state);

/* ---- bf16 weights: every ISA path the CPU has, with and without vdpbf16ps ---------------- */
static void bf16_gemv_matches_rounded_product(void **state)
{
    (void)state;
    tc_rng r = tc_rng_new(12);
    const int64_t sizes[][2] = {{1, 1}, {37, 150}, {64, 64}, {301, 17}, {1000, 130}, {33, 65}};
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int dot = 0; dot < 2; dot++) {
            tc_gemv_set_bf16_dot(dot);
            bool x_rounded = dot && isa == TC_ISA_AVX512 && tc_cpu_has_avx512bf16() && sizeof(tc_scalar) == 4;
            for (int s = 0; s < 6; s++) {
                int64_t K = sizes[s][0], N = sizes[s][1], ldw = N + 3;
                tc_tensor *w = uniform_param(&r, TC_SHAPE(K, ldw), 1), *x = uniform_param(&r, TC_SHAPE(K), 1);
                tc_gemv_plan *p = tc_gemv_plan_new_prec(K, N, w->data, ldw, NULL, 0, TC_GEMV_BF16);
                tc_assert_ok(p);
                assert_int_equal(tc_gemv_plan_precision(p), TC_GEMV_BF16);
                int64_t width = tc_gemv_panels(p) * TC_GEMV_PANEL;
                tc_scalar *y = malloc(sizeof(tc_scalar) * (size_t)width), *y2 = malloc(sizeof(tc_scalar) * (size_t)width);
                for (int64_t j = 0; j < width; j++) y[j] = NAN;
                tc_gemv_run(p, x->data, y);
                for (int64_t j = 0; j < width; j++) {
                    double acc = 0, mag = 0;
                    for (int64_t k = 0; j < N && k < K; k++) {
                        double xv = x_rounded ? tc_bf16_round((float)x->data[k]) : (double)x->data[k];
                        double t = xv * tc_bf16_round((float)w->data[k * ldw + j]);
                        acc += t, mag += fabs(t);
                    }
                    /* float sums of K products: a few ulps of the magnitude */
                    if (!(fabs((double)y[j] - acc) <= 1e-5 * mag + 1e-7))
                        fail_msg("bf16 gemv isa %s dot %d size %d column %lld: %.9g vs %.9g", tc_isa_name((tc_isa_level)isa),
                                 dot, s, (long long)j, (double)y[j], acc);
                }
                /* and bf16 is close to the float product (3 significant digits) */
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++)
                        acc += (double)x->data[k] * w->data[k * ldw + j], mag += fabs((double)x->data[k] * w->data[k * ldw + j]);
                    assert_true(fabs((double)y[j] - acc) <= (x_rounded ? 2 : 1) * 0.0079 * mag + 1e-7);
                }
                for (int64_t q = 0; q < tc_gemv_panels(p); q++) tc_gemv_run_panels(p, x->data, y2 + q * TC_GEMV_PANEL, q, q + 1);
                assert_memory_equal(y, y2, sizeof(tc_scalar) * (size_t)width);
                free(y), free(y2);
                tc_gemv_plan_free(p);
                tc_tensor_free(w), tc_tensor_free(x);
            }
        }
    }
    tc_gemv_set_bf16_dot(true);
    tc_set_isa(keep);
}

static void bf16_rounding_is_nearest_even(void **state)
{
    (void)state;
    assert_true(tc_bf16_round(1.0f) == 1.0f);
    assert_true(tc_bf16_round(1.0f + 0x1p-8f) == 1.0f);             /* halfway: to even */
    assert_true(tc_bf16_round(1.0f + 0x1p-7f + 0x1p-8f) == 1.0f + 0x1p-6f);
    assert_true(tc_bf16_round(1.0f + 0x1p-8f + 0x1p-12f) == 1.0f + 0x1p-7f);
    assert_true(tc_bf16_round(-3.0f) == -3.0f);
    assert_true(isnan(tc_bf16_round(NAN)));
    assert_true(isinf(tc_bf16_round(INFINITY)));
}

/* ---- tc_gemv ---------------------------------------------------------------------------- */
static void gemv_matches_naive_product(void **state)
{
    tc_rng r = tc_rng_new(11);
    const int64_t sizes[][2] = {{1, 1}, {37, 150}, {64, 64}, {300, 17}, {1000, 130}};
    for (int s = 0; s < 5; s++) {
        int64_t K = sizes[s][0], N = sizes[s][1], ldw = N + 3; /* a row stride wider than N */
        tc_tensor *w = uniform_param(&r, TC_SHAPE(K, ldw), 1), *x = uniform_param(&r, TC_SHAPE(K), 1);
        tc_gemv_plan *p = tc_gemv_plan_new(K, N, w->data, ldw, NULL, 0);
        tc_assert_ok(p);
        assert_int_equal(tc_gemv_rows(p), K);
        int64_t width = tc_gemv_panels(p) * TC_GEMV_PANEL;
        assert_int_equal(tc_gemv_panels(p), (N + TC_GEMV_PANEL - 1) / TC_GEMV_PANEL);
        tc_scalar *y = malloc(sizeof(tc_scalar) * (size_t)width), *want = malloc(sizeof(tc_scalar) * (size_t)width);
        for (int64_t j = 0; j < width; j++) y[j] = NAN;
        tc_gemv_run(p, x->data, y);
        for (int64_t j = 0; j < width; j++) {
            double acc = 0;
            for (int64_t k = 0; j < N && k < K; k++) acc += (double)x->data[k] * (double)w->data[k * ldw + j];
            want[j] = (tc_scalar)acc; /* padding columns are 0 */
        }
        assert_close_arrays(y, want, width, "gemv", (int)s);
        /* panel by panel on this thread: the same bits */
        tc_scalar *y2 = malloc(sizeof(tc_scalar) * (size_t)width);
        for (int64_t q = 0; q < tc_gemv_panels(p); q++) tc_gemv_run_panels(p, x->data, y2 + q * TC_GEMV_PANEL, q, q + 1);
        assert_memory_equal(y, y2, sizeof(tc_scalar) * (size_t)width);
        free(y), free(y2), free(want);
        tc_gemv_plan_free(p);
        tc_tensor_free(w), tc_tensor_free(x);
    }
}

/* the same with the portable kernel that machines without AVX-512 use */
static void plain_gemv_matches_naive_product(void **state)
{
    setenv("TENSORCOOK_GEMV_PLAIN", "1", 1);
    gemv_matches_naive_product(state);
    char_rnn_step_matches_reference_loop(state);
    unsetenv("TENSORCOOK_GEMV_PLAIN");
}

static void gemv_column_map_and_errors(void **state)
{
    tc_rng r = tc_rng_new(12);
    int64_t K = 9, N = 5;
    tc_tensor *w = uniform_param(&r, TC_SHAPE(K, N), 1), *x = uniform_param(&r, TC_SHAPE(K), 1);
    const int64_t cols[] = {4, -1, 0, 0, 2};
    tc_gemv_plan *p = tc_gemv_plan_new(K, N, w->data, N, cols, 5);
    tc_assert_ok(p);
    tc_scalar y[TC_GEMV_PANEL];
    tc_gemv_run(p, x->data, y);
    for (int j = 0; j < TC_GEMV_PANEL; j++) {
        double acc = 0;
        for (int64_t k = 0; j < 5 && cols[j] >= 0 && k < K; k++) acc += (double)x->data[k] * (double)w->data[k * N + cols[j]];
        assert_true(fabs(y[j] - acc) <= 1e-6);
    }
    assert_memory_equal(&y[2], &y[3], sizeof(tc_scalar)); /* the same column twice */
    tc_gemv_plan_free(p);
    tc_assert_error(tc_gemv_plan_new(K, N, w->data, N, (const int64_t[]){0, 5}, 2), "gemv_plan", "column 5", "[9, 5]");
    tc_assert_error(tc_gemv_plan_new(K, N, w->data, N - 1, NULL, 0), "gemv_plan", "[9, 5]");
    tc_assert_error(tc_gemv_plan_new(0, N, w->data, N, NULL, 0), "gemv_plan");
    tc_tensor_free(w), tc_tensor_free(x);
}

/* ---- one layer against tc_lstm_step --------------------------------------------------------- */
typedef struct {
    int64_t I, H;
    bool one_hot, bias;
    tc_lstm_gates gates;
    double forget_bias, clip;
} layer_case;

static void layer_matches_reference(const layer_case *lc, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    int64_t I = lc->I, H = lc->H;
    double lim = lc->clip > 0 ? 1.5 : 0.4; /* clipping cases: pre-activations beyond the clip */
    tc_tensor *k = uniform_param(&r, TC_SHAPE(I, 4 * H), lim), *u = uniform_param(&r, TC_SHAPE(H, 4 * H), lim);
    tc_tensor *b = lc->bias ? uniform_param(&r, TC_SHAPE(4 * H), 1) : NULL;
    tc_lstm_params p = {.gates = lc->gates, .forget_bias = lc->forget_bias, .clip = lc->clip};
    tc_lstm_stepper *s = tc_lstm_stepper_new(k, u, b, &p, lc->one_hot);
    tc_assert_ok(s);
    assert_int_equal(tc_lstm_stepper_units(s), H);
    tc_tensor *h_ref = uniform_param(&r, TC_SHAPE(1, H), 0.9), *c_ref = uniform_param(&r, TC_SHAPE(1, H), 2);
    tc_scalar *h = malloc(sizeof(tc_scalar) * (size_t)H), *c = malloc(sizeof(tc_scalar) * (size_t)H);
    memcpy(h, h_ref->data, sizeof(tc_scalar) * (size_t)H);
    memcpy(c, c_ref->data, sizeof(tc_scalar) * (size_t)H);
    char what[160];
    snprintf(what, sizeof what, "I %lld H %lld %s gates %d forget bias %g clip %g%s", (long long)I, (long long)H,
             lc->one_hot ? "one-hot" : "dense", (int)lc->gates, lc->forget_bias, lc->clip, lc->bias ? "" : " no bias");
    for (int t = 0; t < 6; t++) {
        tc_step_mark m = tc_step_get_mark();
        tc_tensor *x = tc_zeros(TC_SHAPE(1, I));
        int64_t id = (int64_t)tc_rng_below(&r, (uint64_t)I);
        if (lc->one_hot) x->data[id] = 1;
        else tc_rng_uniform(&r, x->data, I, -1, 1);
        tc_tensor *hn = h_ref, *cn = c_ref;
        assert_int_equal(tc_lstm_step(x, k, u, b, NULL, &p, &hn, &cn), TC_OK);
        memcpy(h_ref->data, hn->data, sizeof(tc_scalar) * (size_t)H);
        memcpy(c_ref->data, cn->data, sizeof(tc_scalar) * (size_t)H);
        assert_int_equal(lc->one_hot ? tc_lstm_stepper_step_id(s, id, h, c) : tc_lstm_stepper_step(s, x->data, h, c), TC_OK);
        tc_step_release(m);
        assert_close_arrays(h, h_ref->data, H, what, t);
        assert_close_arrays(c, c_ref->data, H, what, t);
    }
    free(h), free(c);
    tc_lstm_stepper_free(s);
    tc_tensor_free(k), tc_tensor_free(u), tc_tensor_free(b), tc_tensor_free(h_ref), tc_tensor_free(c_ref);
    tc_step_reset();
}

static void one_layer_matches_lstm_step(void **state)
{
    const layer_case cases[] = {
        {1, 1, true, true, TC_GATES_IFCO, 0, 0},   {5, 3, false, true, TC_GATES_IFCO, 0, 0},
        {7, 16, true, true, TC_GATES_IFCO, 0, 0},  {7, 16, false, false, TC_GATES_IFCO, 0, 0},
        {30, 20, true, true, TC_GATES_ICFO, 1, 0}, {33, 37, false, true, TC_GATES_IOFC, 0, 0},
        {64, 100, true, false, TC_GATES_IOFC, 0.5, 0}, {100, 64, false, true, TC_GATES_ICFO, 1, 0},
        {12, 50, false, true, TC_GATES_IFCO, 0, 0.75}, {12, 45, true, true, TC_GATES_IOFC, 1, 0.5},
        {97, 129, true, true, TC_GATES_IFCO, 0, 0}, {129, 200, false, true, TC_GATES_IFCO, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) layer_matches_reference(&cases[i], 100 + i);
}

/* ---- the char-RNN's generation step: 3 x LSTM 512, one-hot vocabulary, dense ----------------- */
#define LAYERS 3
typedef struct {
    int64_t V, H;
    tc_tensor *k[LAYERS], *u[LAYERS], *b[LAYERS], *w_out, *b_out;
} stack_net;

static void stack_init(stack_net *n, int64_t V, int64_t H, uint64_t seed)
{
    tc_rng r = tc_rng_new(seed);
    n->V = V, n->H = H;
    for (int l = 0; l < LAYERS; l++) {
        int64_t in = l ? H : V;
        n->k[l] = uniform_param(&r, TC_SHAPE(in, 4 * H), sqrt(6.0 / (double)(in + 4 * H)));
        n->u[l] = uniform_param(&r, TC_SHAPE(H, 4 * H), sqrt(6.0 / (double)(5 * H)));
        n->b[l] = uniform_param(&r, TC_SHAPE(4 * H), 0.5);
    }
    n->w_out = uniform_param(&r, TC_SHAPE(H, V), sqrt(6.0 / (double)(H + V)));
    n->b_out = uniform_param(&r, TC_SHAPE(V), 0.5);
}

static void stack_free(stack_net *n)
{
    for (int l = 0; l < LAYERS; l++) tc_tensor_free(n->k[l]), tc_tensor_free(n->u[l]), tc_tensor_free(n->b[l]);
    tc_tensor_free(n->w_out), tc_tensor_free(n->b_out);
}

typedef struct {
    tc_lstm_stepper *s[LAYERS];
    tc_gemv_plan *out;
    tc_scalar *h, *c, *logits; /* [LAYERS * H], [LAYERS * H], [out width] */
} fast_net;

static void fast_init_prec(fast_net *f, const stack_net *n, tc_precision prec)
{
    for (int l = 0; l < LAYERS; l++) {
        f->s[l] = tc_lstm_stepper_new_prec(n->k[l], n->u[l], n->b[l], NULL, l == 0, prec);
        tc_assert_ok(f->s[l]);
    }
    f->out = tc_gemv_plan_new_prec(n->H, n->V, n->w_out->data, n->V, NULL, 0, prec);
    tc_assert_ok(f->out);
    f->h = calloc((size_t)(LAYERS * n->H), sizeof(tc_scalar));
    f->c = calloc((size_t)(LAYERS * n->H), sizeof(tc_scalar));
    f->logits = calloc((size_t)(tc_gemv_panels(f->out) * TC_GEMV_PANEL), sizeof(tc_scalar));
}

static void fast_init(fast_net *f, const stack_net *n) { fast_init_prec(f, n, TC_PRECISION_FP32); }

static void fast_free(fast_net *f)
{
    for (int l = 0; l < LAYERS; l++) tc_lstm_stepper_free(f->s[l]);
    tc_gemv_plan_free(f->out);
    free(f->h), free(f->c), free(f->logits);
}

/* one character: the recipe's loop */
static void fast_step(fast_net *f, const stack_net *n, int64_t id)
{
    int64_t H = n->H;
    assert_int_equal(tc_lstm_stepper_step_id(f->s[0], id, f->h, f->c), TC_OK);
    for (int l = 1; l < LAYERS; l++)
        assert_int_equal(tc_lstm_stepper_step(f->s[l], f->h + (l - 1) * H, f->h + l * H, f->c + l * H), TC_OK);
    tc_gemv_run(f->out, f->h + (LAYERS - 1) * H, f->logits);
    for (int64_t j = 0; j < n->V; j++) f->logits[j] += n->b_out->data[j];
}

static void char_rnn_step_matches_reference_loop(void **state)
{
    stack_net n;
    stack_init(&n, 97, 512, 7);
    fast_net f;
    fast_init(&f, &n);
    tc_tensor *h[LAYERS], *c[LAYERS];
    for (int l = 0; l < LAYERS; l++) h[l] = tc_tensor_new(TC_SHAPE(1, n.H)), c[l] = tc_tensor_new(TC_SHAPE(1, n.H));
    tc_rng r = tc_rng_new(8);
    bool was = tc_set_grad_enabled(false);
    for (int t = 0; t < 40; t++) {
        /* the old generation loop (recipes/charrnn.c before the stepper) */
        tc_step_mark m = tc_step_get_mark();
        int64_t id = (int64_t)tc_rng_below(&r, (uint64_t)n.V);
        tc_tensor *x = tc_zeros(TC_SHAPE(1, n.V)), *in = x;
        x->data[id] = 1;
        for (int l = 0; l < LAYERS; l++) {
            tc_tensor *hl = h[l], *cl = c[l];
            assert_int_equal(tc_lstm_step(in, n.k[l], n.u[l], n.b[l], NULL, NULL, &hl, &cl), TC_OK);
            memcpy(h[l]->data, hl->data, sizeof(tc_scalar) * (size_t)n.H);
            memcpy(c[l]->data, cl->data, sizeof(tc_scalar) * (size_t)n.H);
            in = h[l];
        }
        tc_tensor *logits = tc_linear(in, n.w_out, n.b_out);
        tc_assert_ok(logits);
        fast_step(&f, &n, id);
        assert_close_arrays(f.logits, logits->data, n.V, "logits", t);
        for (int l = 0; l < LAYERS; l++) assert_close_arrays(f.h + l * n.H, h[l]->data, n.H, "h", t);
        tc_step_release(m);
    }
    tc_set_grad_enabled(was);
    for (int l = 0; l < LAYERS; l++) tc_tensor_free(h[l]), tc_tensor_free(c[l]);
    fast_free(&f);
    stack_free(&n);
    tc_step_reset();
}

/* 1 and 2 threads: the same bits (each output computed by one thread over
 * the whole sum). H = 300: 19 blocks of 16 units, each 77 KB of weights or
 * more, so 2 threads do split them. */
static void same_bits_for_threads(tc_precision prec)
{
    stack_net n;
    stack_init(&n, 61, 300, 9);
    int ids[12];
    tc_rng r = tc_rng_new(10);
    for (int t = 0; t < 12; t++) ids[t] = (int)tc_rng_below(&r, (uint64_t)n.V);
    tc_scalar *runs[2];
    int64_t per_step = 2 * LAYERS * n.H + n.V, width = 0;
    for (int threads = 1; threads <= 2; threads++) {
        assert_int_equal(tc_set_num_threads(threads), TC_OK);
        assert_int_equal(tc_num_threads(), threads);
        fast_net f;
        fast_init_prec(&f, &n, prec);
        width = tc_gemv_panels(f.out) * TC_GEMV_PANEL;
        tc_scalar *all = runs[threads - 1] = malloc(sizeof(tc_scalar) * (size_t)(12 * per_step));
        for (int t = 0; t < 12; t++) {
            fast_step(&f, &n, ids[t]);
            memcpy(all + t * per_step, f.h, sizeof(tc_scalar) * (size_t)(LAYERS * n.H));
            memcpy(all + t * per_step + LAYERS * n.H, f.c, sizeof(tc_scalar) * (size_t)(LAYERS * n.H));
            memcpy(all + t * per_step + 2 * LAYERS * n.H, f.logits, sizeof(tc_scalar) * (size_t)n.V);
        }
        fast_free(&f);
    }
    assert_true(width >= n.V);
    assert_memory_equal(runs[0], runs[1], sizeof(tc_scalar) * (size_t)(12 * per_step));
    free(runs[0]), free(runs[1]);
    stack_free(&n);
    assert_int_equal(tc_set_num_threads(2), TC_OK);
}

static void same_bits_for_any_thread_count(void **state)
{
    (void)state;
    same_bits_for_threads(TC_PRECISION_FP32);
}

/* the same with bf16 weights, on every bf16 kernel the CPU can run */
static void same_bits_for_any_thread_count_bf16(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int dot = 0; dot < 2; dot++) {
            tc_gemv_set_bf16_dot(dot);
            same_bits_for_threads(TC_PRECISION_BF16);
        }
    }
    tc_gemv_set_bf16_dot(true);
    tc_set_isa(keep);
}

/* the same with int8 weights: every ISA, the dot way with and without
 * VNNI, the weight-only way (the stepper quantises its input once per step,
 * before the blocks are split over the threads) */
static void same_bits_for_any_thread_count_int8(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int way = 0; way < 3; way++) {
            tc_gemv_set_int8_dot(way < 2);
            tc_gemv_set_int8_vnni(way == 0);
            same_bits_for_threads(TC_PRECISION_INT8);
        }
    }
    tc_gemv_set_int8_dot(true);
    tc_gemv_set_int8_vnni(true);
    tc_set_isa(keep);
}

/* A step allocates nothing: no arena memory, no malloc. */
static void steps_allocate_nothing(void **state)
{
    stack_net n;
    stack_init(&n, 20, 40, 3);
    fast_net f;
    fast_init(&f, &n);
    fast_step(&f, &n, 1);
    tc_step_mark m = tc_step_get_mark();
    size_t mallocs = tc_arena_malloc_count();
    for (int t = 0; t < 50; t++) fast_step(&f, &n, t % n.V);
    assert_int_equal(tc_step_get_mark().arena_position, m.arena_position);
    assert_int_equal(tc_step_get_mark().tape_len, m.tape_len);
    assert_int_equal(tc_arena_malloc_count(), mallocs);
    fast_free(&f);
    stack_free(&n);
}

static void stepper_errors(void **state)
{
    tc_rng r = tc_rng_new(4);
    tc_tensor *k = uniform_param(&r, TC_SHAPE(6, 12), 1), *u = uniform_param(&r, TC_SHAPE(3, 12), 1);
    tc_tensor *bad = uniform_param(&r, TC_SHAPE(4, 12), 1), *b5 = uniform_param(&r, TC_SHAPE(5), 1);
    tc_assert_error(tc_lstm_stepper_new(k, bad, NULL, NULL, false), "lstm_stepper", "[6, 12]", "[4, 12]");
    tc_assert_error(tc_lstm_stepper_new(k, u, b5, NULL, false), "lstm_stepper", "bias", "[5]", "[12]");
    tc_assert_error(tc_lstm_stepper_new(NULL, u, NULL, NULL, false), "lstm_stepper");
    tc_assert_error(tc_lstm_stepper_new(k, u, NULL, &(tc_lstm_params){.gates = 7}, false), "lstm_stepper", "gate order 7");
    tc_lstm_stepper *dense = tc_lstm_stepper_new(k, u, NULL, NULL, false), *hot = tc_lstm_stepper_new(k, u, NULL, NULL, true);
    tc_assert_ok(dense);
    tc_assert_ok(hot);
    tc_scalar x[6] = {0}, h[3] = {0}, c[3] = {0};
    assert_int_equal(tc_lstm_stepper_step_id(dense, 1, h, c), TC_ERR_STATE);
    assert_non_null(strstr(tc_last_error(), "dense inputs"));
    assert_int_equal(tc_lstm_stepper_step(hot, x, h, c), TC_ERR_STATE);
    assert_int_equal(tc_lstm_stepper_step_id(hot, 6, h, c), TC_ERR_ARG);
    assert_non_null(strstr(tc_last_error(), "id 6 is not in [0, 6)"));
    assert_int_equal(tc_lstm_stepper_step_id(hot, -1, h, c), TC_ERR_ARG);
    assert_int_equal(tc_lstm_stepper_step(dense, NULL, h, c), TC_ERR_ARG);
    assert_int_equal(tc_lstm_stepper_step_id(hot, 5, h, c), TC_OK);
    tc_lstm_stepper_free(dense);
    tc_lstm_stepper_free(hot);
    tc_lstm_stepper_free(NULL);
    tc_tensor_free(k), tc_tensor_free(u), tc_tensor_free(bad), tc_tensor_free(b5);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemv_matches_naive_product),
        cmocka_unit_test(bf16_gemv_matches_rounded_product),
        cmocka_unit_test(bf16_rounding_is_nearest_even),
        cmocka_unit_test(plain_gemv_matches_naive_product),
        cmocka_unit_test(gemv_column_map_and_errors),
        cmocka_unit_test(one_layer_matches_lstm_step),
        cmocka_unit_test(char_rnn_step_matches_reference_loop),
        cmocka_unit_test(same_bits_for_any_thread_count),
        cmocka_unit_test(same_bits_for_any_thread_count_bf16),
        cmocka_unit_test(same_bits_for_any_thread_count_int8),
        cmocka_unit_test(steps_allocate_nothing),
        cmocka_unit_test(stepper_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
