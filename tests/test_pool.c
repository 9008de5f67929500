/* Pooling against PyTorch (fixtures of tests/fixtures/gen_pool_norm.py:
 * outputs and input gradients, float32 tolerances), max pooling against
 * naive loops on every instruction-set path and thread count (odd channel
 * counts, padding, stride > kernel, dilation, windows of more than 255
 * taps, ties and NaN: PyTorch's rule), output sizes of the padding modes,
 * and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    bool max, global;
    tc_pool_params p;
    bool keepdims;
} pool_case;

#define K(...) .kernel = {__VA_ARGS__}
#define S(...) .stride = {__VA_ARGS__}
static const pool_case cases[] = {
    {"max2d_same_k3s2", true, false, {K(3, 3), S(2, 2), .padding = TC_SAME}},
    {"max2d_same_k2s1", true, false, {K(2, 2), S(1, 1), .padding = TC_SAME}},
    {"max2d_same_lower_k4s3", true, false, {K(4, 4), S(3, 3), .padding = TC_SAME_LOWER}},
    {"max1d_same_k4s2", true, false, {K(4), S(2), .padding = TC_SAME}},
    {"max3d_same_k2s2", true, false, {K(2, 2, 2), .padding = TC_SAME}}, /* stride 0: the kernel */
    {"avg2d_same_k3s2", false, false, {K(3, 3), S(2, 2), .padding = TC_SAME}},
    {"avg2d_same_k2s1_incl", false, false, {K(2, 2), S(1, 1), .padding = TC_SAME, .count_include_pad = true}},
    {"avg1d_same_lower_k4s2", false, false, {K(4), S(2), .padding = TC_SAME_LOWER}},
    {"avg3d_same_k3s2", false, false, {K(3, 3, 3), S(2, 2, 2), .padding = TC_SAME}},
    {"max2d_ceil_pad1_k3s2", true, false,
     {K(3, 3), S(2, 2), .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}, .ceil_mode = true}},
    {"max2d_dil2_pad1_k3s2", true, false,
     {K(3, 3), S(2, 2), .dilation = {2, 2}, .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}}},
    {"max2d_k2s3", true, false, {K(2, 2), S(3, 3)}},
    {"max1d_ceil_k3s2", true, false, {K(3), S(2), .ceil_mode = true}},
    {"max3d_dil_ceil", true, false,
     {K(2, 3, 2), S(2, 2, 1), .dilation = {2, 1, 1}, .padding = TC_EXPLICIT, .pad_before = {0, 1, 1},
      .pad_after = {0, 1, 1}, .ceil_mode = true}},
    {"avg2d_ceil_pad1_excl", false, false,
     {K(3, 3), S(2, 2), .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}, .ceil_mode = true}},
    {"avg2d_ceil_pad1_incl", false, false,
     {K(3, 3), S(2, 2), .padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}, .ceil_mode = true,
      .count_include_pad = true}},
    {"avg2d_k2s3", false, false, {K(2, 2), S(3, 3)}},
    {"avg1d_ceil_pad1_incl", false, false,
     {K(4), S(3), .padding = TC_EXPLICIT, .pad_before = {1}, .pad_after = {1}, .ceil_mode = true,
      .count_include_pad = true}},
    {"avg3d_ceil_pad_excl", false, false,
     {K(3, 2, 3), S(2, 2, 2), .padding = TC_EXPLICIT, .pad_before = {1, 1, 1}, .pad_after = {1, 1, 1},
      .ceil_mode = true}},
    {"global_avg2d", false, true, {{0}}, true},
    {"global_max3d", true, true, {{0}}, false},
};

static tc_tensor *run_case(const pool_case *c, tc_tensor *x)
{
    if (c->global) return c->max ? tc_global_max_pool(x, c->keepdims) : tc_global_avg_pool(x, c->keepdims);
    return c->max ? tc_max_pool(x, &c->p) : tc_avg_pool(x, &c->p);
}

static void against_pytorch(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/pool/%s.tcfx", TC_FIXTURES, cases[i].name);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *x = tc_fixture_get(fx, "in:x");
        /* without a gradient to route (max pooling keeps no argmax) */
        tc_tensor *y0 = run_case(&cases[i], x);
        if (!y0) fail_msg("%s: %s", cases[i].name, tc_last_error());
        tc_assert_close_(y0, tc_fixture_get(fx, "out"), 1e-5, 1e-6, cases[i].name, __FILE__, __LINE__);
        tc_set_requires_grad(x, true);
        tc_tensor *y = run_case(&cases[i], x);
        if (!y) fail_msg("%s: %s", cases[i].name, tc_last_error());
        tc_assert_close_(y, tc_fixture_get(fx, "out"), 1e-5, 1e-6, cases[i].name, __FILE__, __LINE__);
        if (tc_backward_with(y, tc_fixture_get(fx, "gout")) != TC_OK) fail_msg("%s: %s", cases[i].name, tc_last_error());
        char what[128];
        snprintf(what, sizeof what, "%s d/dx", cases[i].name);
        tc_assert_close_(x->grad, tc_fixture_get(fx, "grad:x"), 1e-5, 1e-5, what, __FILE__, __LINE__);
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

/* The same forward and backward for one and two threads (bit-identical). */
static void thread_count_invariance(void **state)
{
    tc_rng rng = tc_rng_new(5);
    const tc_pool_params p = {K(3, 3), S(2, 2), .padding = TC_SAME};
    tc_tensor *ref_y = NULL, *ref_g = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        tc_rng r = rng;
        tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(3, 9, 10, 17), -1, 1);
        tc_set_requires_grad(x, true);
        tc_tensor *y = tc_add(tc_max_pool(x, &p), tc_avg_pool(x, &p));
        tc_assert_ok(y);
        assert_int_equal(tc_backward(tc_sum(y, 0, NULL, false)), TC_OK);
        tc_tensor *ky = tc_tensor_keep(y), *kg = tc_tensor_keep(x->grad);
        if (threads == 1) {
            ref_y = ky, ref_g = kg;
        } else {
            tc_assert_close(ky, ref_y, 0, 0);
            tc_assert_close(kg, ref_g, 0, 0);
            tc_tensor_free(ky);
            tc_tensor_free(kg);
        }
        tc_step_reset();
    }
    tc_tensor_free(ref_y);
    tc_tensor_free(ref_g);
    tc_set_num_threads(2);
}

/* Naive max pooling of [N, H, W, C] (2-D; the 1-D and 3-D cases are 2-D ones
 * with size-1 axes in make_plan) with explicit pads: the winner of each
 * window is the first cell greater than the running max or NaN (PyTorch's
 * rule), and backward adds g to it, in output order. */
typedef struct {
    int kh, kw, sh, sw, dh, dw, ph0, ph1, pw0, pw1;
    bool ceil;
} ref_pool;

static int64_t ref_out(int64_t in, int k, int s, int d, int p0, int p1, bool ceil)
{
    int64_t ext = in + p0 + p1 - ((int64_t)(k - 1) * d + 1);
    int64_t o = ceil ? (ext + s - 1) / s + 1 : ext / s + 1;
    if (ceil && (o - 1) * s >= in + p0) o--;
    return o;
}

static void ref_max_pool(const float *x, int64_t N, int64_t H, int64_t W, int64_t C, const ref_pool *q, float *y,
                         const float *g, float *gx)
{
    int64_t OH = ref_out(H, q->kh, q->sh, q->dh, q->ph0, q->ph1, q->ceil);
    int64_t OW = ref_out(W, q->kw, q->sw, q->dw, q->pw0, q->pw1, q->ceil);
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int64_t c = 0; c < C; c++) {
                    float m = -INFINITY;
                    int64_t arg = -1;
                    for (int a = 0; a < q->kh; a++)
                        for (int b = 0; b < q->kw; b++) {
                            int64_t ih = oh * q->sh - q->ph0 + a * q->dh, iw = ow * q->sw - q->pw0 + b * q->dw;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            int64_t at = ((n * H + ih) * W + iw) * C + c;
                            if (arg < 0 || x[at] > m || isnan(x[at])) m = x[at], arg = at;
                        }
                    int64_t o = ((n * OH + oh) * OW + ow) * C + c;
                    y[o] = m;
                    if (arg >= 0) gx[arg] += g[o];
                }
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

static void max_pool_against_loops(void **state)
{
    static const struct {
        int64_t N, H, W, C;
        ref_pool q;
    } shapes[] = {
        {2, 7, 9, 3, {2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false}},     /* odd sizes, C below every vector */
        {3, 8, 8, 17, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false}},    /* ResNet stem style, C = 16 + 1 */
        {1, 11, 10, 35, {3, 2, 2, 3, 1, 1, 1, 0, 0, 1, true}},   /* ceil mode, uneven pads, C = 32 + 3 */
        {2, 9, 9, 64, {2, 2, 3, 3, 1, 1, 0, 0, 0, 0, false}},    /* stride > kernel: unvisited cells */
        {1, 10, 12, 5, {3, 3, 1, 2, 2, 2, 2, 2, 1, 1, false}},   /* dilation */
        {1, 1, 13, 9, {1, 4, 1, 3, 1, 1, 0, 0, 2, 2, true}},     /* 1-D */
        {2, 17, 18, 20, {16, 17, 1, 1, 1, 1, 0, 0, 0, 0, false}}, /* 272 taps: the int32 winners */
        {1, 5, 5, 40, {2, 2, 2, 2, 1, 1, 2, 2, 2, 2, false}},     /* windows wholly in the padding */
    };
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const ref_pool *q = &shapes[s].q;
            int64_t N = shapes[s].N, H = shapes[s].H, W = shapes[s].W, C = shapes[s].C;
            for (int data = 0; data < 2; data++) { /* 0: continuous values; 1: ties among {-2..2} and NaNs */
                tc_rng rng = tc_rng_new(11 + s);
                tc_pool_params p = {.kernel = {q->kh, q->kw}, .stride = {q->sh, q->sw}, .dilation = {q->dh, q->dw},
                                    .padding = TC_EXPLICIT, .pad_before = {q->ph0, q->pw0},
                                    .pad_after = {q->ph1, q->pw1}, .ceil_mode = q->ceil};
                for (int threads = 1; threads <= 2; threads++) {
                    tc_set_num_threads(threads);
                    tc_rng r = rng;
                    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(N, H, W, C), -2, 2);
                    if (data)
                        for (int64_t i = 0; i < tc_numel(x); i++)
                            x->data[i] = i % 97 == 5 ? NAN : roundf(x->data[i]);
                    tc_set_requires_grad(x, true);
                    tc_tensor *x4 = H == 1 ? tc_reshape(x, 3, (int64_t[]){N, W, C}) : x;
                    tc_pool_params p1 = p;
                    if (H == 1) { /* the same window as a 1-D pool */
                        p1 = (tc_pool_params){.kernel = {q->kw}, .stride = {q->sw}, .dilation = {q->dw},
                                              .padding = TC_EXPLICIT, .pad_before = {q->pw0}, .pad_after = {q->pw1},
                                              .ceil_mode = q->ceil};
                    }
                    tc_tensor *y = tc_max_pool(x4, &p1);
                    tc_assert_ok(y);
                    tc_tensor *g = tc_test_uniform(&r, y->ndim, y->shape, -1, 1);
                    bool was = tc_set_grad_enabled(false); /* no gradient: no winners kept */
                    tc_tensor *y0 = tc_max_pool(x4, &p1);
                    tc_set_grad_enabled(was);
                    tc_assert_ok(y0);
                    assert_int_equal(tc_backward_with(y, g), TC_OK);
                    float *ry = calloc((size_t)tc_numel(y), sizeof(float)), *rg = calloc((size_t)tc_numel(x), sizeof(float));
                    ref_max_pool(x->data, N, H, W, C, q, ry, g->data, rg);
                    for (int64_t i = 0; i < tc_numel(y); i++)
                        if (!same_bits(y->data[i], ry[i]) || !same_bits(y0->data[i], ry[i]))
                            fail_msg("%s shape %zu data %d threads %d: y[%lld] = %g / %g, loops %g", tc_isa_name(tc_isa()),
                                     s, data, threads, (long long)i, y->data[i], y0->data[i], ry[i]);
                    for (int64_t i = 0; i < tc_numel(x); i++)
                        if (!same_bits(x->grad->data[i], rg[i]))
                            fail_msg("%s shape %zu data %d threads %d: dx[%lld] = %g, loops %g", tc_isa_name(tc_isa()), s,
                                     data, threads, (long long)i, x->grad->data[i], rg[i]);
                    free(ry);
                    free(rg);
                    tc_step_reset();
                }
            }
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* a gradient that already holds values is added to in output order: two
 * pools of the same input, summed (the second pool's backward writes x's
 * gradient, the first adds to it), against the loops run twice */
static void max_pool_accumulates(void **state)
{
    const ref_pool q = {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false};
    const int64_t N = 2, H = 9, W = 8, C = 37;
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int threads = 1; threads <= 2; threads++) {
            tc_set_num_threads(threads);
            tc_rng r = tc_rng_new(5);
            tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(N, H, W, C), -2, 2);
            for (int64_t i = 0; i < tc_numel(x); i += 7) x->data[i] = -0.0f; /* -0 gradients and ties with 0 */
            tc_set_requires_grad(x, true);
            tc_pool_params p = {.kernel = {3, 3}, .stride = {2, 2}, .padding = TC_EXPLICIT, .pad_before = {1, 1},
                                .pad_after = {1, 1}};
            tc_tensor *y1 = tc_max_pool(x, &p), *y2 = tc_max_pool(x, &p);
            tc_assert_ok(y1);
            tc_assert_ok(y2);
            tc_tensor *g = tc_test_uniform(&r, y1->ndim, y1->shape, -1, 1);
            for (int64_t i = 0; i < tc_numel(g); i += 5) g->data[i] = -0.0f;
            assert_int_equal(tc_backward_with(tc_add(y1, y2), g), TC_OK);
            float *ry = calloc((size_t)tc_numel(y1), sizeof(float)), *rg = calloc((size_t)tc_numel(x), sizeof(float));
            ref_max_pool(x->data, N, H, W, C, &q, ry, g->data, rg);
            ref_max_pool(x->data, N, H, W, C, &q, ry, g->data, rg);
            for (int64_t i = 0; i < tc_numel(x); i++)
                if (!same_bits(x->grad->data[i], rg[i]))
                    fail_msg("%s threads %d: dx[%lld] = %g, loops %g", tc_isa_name(tc_isa()), threads, (long long)i,
                             x->grad->data[i], rg[i]);
            free(ry);
            free(rg);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

static int64_t out_w(int64_t w, tc_pool_params p)
{
    tc_tensor *y = tc_max_pool(tc_zeros(TC_SHAPE(1, w, 1)), &p);
    if (!y) fail_msg("%s", tc_last_error());
    int64_t n = y->shape[1];
    tc_step_reset();
    return n;
}

static void output_sizes(void **state)
{
    /* TensorFlow SAME: ceil(in / stride) whatever the kernel */
    assert_int_equal(out_w(28, (tc_pool_params){K(2), .padding = TC_SAME}), 14);
    assert_int_equal(out_w(7, (tc_pool_params){K(3), S(2), .padding = TC_SAME}), 4);
    assert_int_equal(out_w(5, (tc_pool_params){K(4), S(1), .padding = TC_SAME}), 5);
    assert_int_equal(out_w(5, (tc_pool_params){K(2), S(3), .padding = TC_SAME}), 2);
    /* VALID: floor((in - k) / s) + 1 */
    assert_int_equal(out_w(7, (tc_pool_params){K(3), S(2)}), 3);
    assert_int_equal(out_w(8, (tc_pool_params){K(2), S(3)}), 3);
    /* ceil mode: 8, k3 s2 -> 4 (last window starts at 6, inside) */
    assert_int_equal(out_w(8, (tc_pool_params){K(3), S(2), .ceil_mode = true}), 4);
    /* the window that would start in the trailing padding is dropped:
     * in 5, pad 1+1, k2 s2: ceil((5+2-2)/2)+1 = 4, but window 3 starts at 6-1 = 5 >= 5 */
    assert_int_equal(out_w(5, (tc_pool_params){K(2), S(2), .padding = TC_EXPLICIT, .pad_before = {1},
                                               .pad_after = {1}, .ceil_mode = true}),
                     3);
    /* dilation widens the window: span (3-1)*2+1 = 5 */
    assert_int_equal(out_w(9, (tc_pool_params){K(3), S(1), .dilation = {2}}), 5);
    /* global pools keep or drop the spatial axes */
    tc_tensor *g = tc_global_avg_pool(tc_zeros(TC_SHAPE(2, 3, 4, 5, 6)), true);
    assert_int_equal(g->ndim, 5);
    assert_int_equal(g->shape[1] * g->shape[2] * g->shape[3], 1);
    g = tc_global_max_pool(tc_zeros(TC_SHAPE(2, 3, 6)), false);
    assert_int_equal(g->ndim, 2);
    assert_int_equal(g->shape[1], 6);
    tc_step_reset();
}

static void bad_input(void **state)
{
    tc_tensor *img = tc_zeros(TC_SHAPE(1, 4, 4, 3));
    /* wrong rank */
    tc_assert_error(tc_max_pool(tc_zeros(TC_SHAPE(4, 3)), &(tc_pool_params){K(2)}), "max_pool", "[4, 3]");
    tc_assert_error(tc_avg_pool(tc_zeros(TC_SHAPE(1, 2, 2, 2, 2, 2)), &(tc_pool_params){K(2, 2, 2)}), "avg_pool",
                    "[1, 2, 2, 2, 2, 2]");
    tc_assert_error(tc_global_avg_pool(tc_zeros(TC_SHAPE(4, 3)), false), "global_avg_pool", "[4, 3]");
    tc_assert_error(tc_global_max_pool(tc_zeros(TC_SHAPE(7)), true), "global_max_pool", "[7]");
    /* kernel larger than the (padded) input */
    tc_assert_error(tc_max_pool(img, &(tc_pool_params){K(5, 5)}), "max_pool", "[1, 4, 4, 3]");
    tc_assert_error(tc_avg_pool(img, &(tc_pool_params){K(2, 6), .padding = TC_EXPLICIT, .pad_before = {0, 1}}),
                    "avg_pool", "[1, 4, 4, 3]");
    tc_assert_error(tc_max_pool(img, &(tc_pool_params){K(3, 3), .dilation = {2, 2}}), "max_pool", "[1, 4, 4, 3]");
    /* bad parameters */
    tc_assert_error(tc_max_pool(img, &(tc_pool_params){K(0, 2)}), "max_pool", "kernel", "[1, 4, 4, 3]");
    tc_assert_error(tc_avg_pool(img, &(tc_pool_params){K(2, 2), S(-1, 1)}), "avg_pool", "stride", "[1, 4, 4, 3]");
    tc_assert_error(tc_max_pool(img, &(tc_pool_params){K(2, 2), .padding = TC_CAUSAL}), "max_pool", "padding", "[1, 4, 4, 3]");
    tc_assert_error(tc_avg_pool(img, &(tc_pool_params){K(2, 2), .padding = TC_EXPLICIT, .pad_before = {-1, 0}}),
                    "avg_pool", "[1, 4, 4, 3]");
    tc_assert_error(tc_max_pool(img, NULL), "max_pool", "[1, 4, 4, 3]");
    /* NULL input, and errors propagate through chains */
    tc_assert_error(tc_max_pool(NULL, &(tc_pool_params){K(2, 2)}), "max_pool", "NULL");
    tc_assert_error(tc_avg_pool(NULL, &(tc_pool_params){K(2, 2)}), "avg_pool", "NULL");
    tc_assert_error(tc_global_avg_pool(NULL, false), "global_avg_pool", "NULL");
    tc_assert_error(tc_global_max_pool(NULL, false), "global_max_pool", "NULL");
    tc_step_reset();
}

/* Average pool forward against float loops in the same order (0, then each
 * tap inside the input in kernel order, then times 1 / count): bit for bit,
 * on channels of 64 + 6 and 32 (the 64-channel register blocks and the
 * tail), with and without count_include_pad, 1 and 2 threads. */
static void avg_pool_bits(void **state)
{
    (void)state;
    const int64_t N = 2, H = 9, W = 7;
    for (int cs = 0; cs < 2; cs++)
        for (int inc = 0; inc < 2; inc++) {
            const int64_t C = cs ? 32 : 70;
            tc_rng rng = tc_rng_new(5 + cs);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(N, H, W, C), -2, 2);
            tc_pool_params p = {.kernel = {3, 3}, .stride = {1, 2}, .dilation = {1, 1}, .padding = TC_EXPLICIT,
                                .pad_before = {1, 1}, .pad_after = {1, 1}, .count_include_pad = inc};
            const int64_t OH = H, OW = (W + 2 - 3) / 2 + 1;
            for (int threads = 1; threads <= 2; threads++) {
                tc_set_num_threads(threads);
                tc_tensor *y = tc_avg_pool(x, &p);
                tc_assert_ok(y);
                assert_int_equal(tc_numel(y), N * OH * OW * C);
                for (int64_t n = 0; n < N; n++)
                    for (int64_t oh = 0; oh < OH; oh++)
                        for (int64_t ow = 0; ow < OW; ow++)
                            for (int64_t c = 0; c < C; c++) {
                                float acc = 0;
                                int cnt = 0;
                                for (int a = 0; a < 3; a++)
                                    for (int b = 0; b < 3; b++) {
                                        int64_t ih = oh - 1 + a, iw = ow * 2 - 1 + b;
                                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                        acc += x->data[((n * H + ih) * W + iw) * C + c];
                                        cnt++;
                                    }
                                float ref = acc * (1.0f / (float)(inc ? 9 : cnt));
                                float got = y->data[((n * OH + oh) * OW + ow) * C + c];
                                if (!same_bits(got, ref))
                                    fail_msg("C %lld include_pad %d: y[%lld,%lld,%lld,%lld] is %.9g, loops %.9g",
                                             (long long)C, inc, (long long)n, (long long)oh, (long long)ow,
                                             (long long)c, (double)got, (double)ref);
                            }
            }
            tc_step_reset();
        }
    tc_set_num_threads(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_pytorch),
        cmocka_unit_test(thread_count_invariance),
        cmocka_unit_test(max_pool_against_loops),
        cmocka_unit_test(max_pool_accumulates),
        cmocka_unit_test(avg_pool_bits),
        cmocka_unit_test(output_sizes),
        cmocka_unit_test(bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
