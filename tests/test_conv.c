/* Convolution against PyTorch (fixtures written by tests/fixtures/gen_conv.py:
 * output and input, kernel and bias gradients), against a naive loop on
 * shapes large enough for several im2col tiles and kernel-gradient blocks,
 * bit-identical results on 1 and 2 threads, and bad-input messages. */
#include "naive_conv.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *FIXTURES[] = {
    "conv1d_valid_s2",      "conv1d_causal_d3",          "conv1d_same_even_k4",  "conv1d_depthwise_m2_lower",
    "conv2d_same_s2",       "conv2d_same_even_dilated",  "conv2d_same_lower_even_s2", "conv2d_explicit_asym",
    "conv2d_stride_gt_kernel", "conv2d_groups2",         "conv2d_depthwise_m2",  "conv2d_1x1",
    "conv2d_1x1_s2",        "conv2d_nobias_dil3",        "conv2d_valid_k5",      "conv3d_same_s",
    "conv3d_valid_dil",
};

static void against_pytorch(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof FIXTURES / sizeof FIXTURES[0]; c++) {
        char path[512], what[128];
        snprintf(path, sizeof path, "%s/conv/%s.tcfx", TC_FIXTURES, FIXTURES[c]);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *x = tc_fixture_get(fx, "in:x"), *w = tc_fixture_get(fx, "in:w");
        tc_tensor *b = tc_fixture_has(fx, "in:b") ? tc_fixture_get(fx, "in:b") : NULL;
        tc_tensor *st = tc_fixture_get(fx, "stride"), *dl = tc_fixture_get(fx, "dilation");
        tc_tensor *pb = tc_fixture_get(fx, "pad_before"), *pa = tc_fixture_get(fx, "pad_after");
        tc_conv_params p = {.padding = (tc_padding)tc_fixture_get(fx, "padding")->data[0],
                            .groups = (int)tc_fixture_get(fx, "groups")->data[0]};
        for (int i = 0; i < x->ndim - 2; i++) {
            p.stride[i] = (int)st->data[i];
            p.dilation[i] = (int)dl->data[i];
            p.pad_before[i] = (int64_t)pb->data[i];
            p.pad_after[i] = (int64_t)pa->data[i];
        }
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(w, true);
        if (b) tc_set_requires_grad(b, true);
        tc_tensor *y = tc_conv(x, w, b, &p);
        if (!y) fail_msg("%s: %s", FIXTURES[c], tc_last_error());
        snprintf(what, sizeof what, "%s out", FIXTURES[c]);
        tc_assert_close_(y, tc_fixture_get(fx, "out"), 1e-4, 1e-4, what, __FILE__, __LINE__);
        if (tc_backward_with(y, tc_fixture_get(fx, "gout")) != TC_OK) fail_msg("%s: %s", FIXTURES[c], tc_last_error());
        snprintf(what, sizeof what, "%s d/dx", FIXTURES[c]);
        tc_assert_close_(x->grad, tc_fixture_get(fx, "grad:x"), 1e-4, 1e-4, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "%s d/dw", FIXTURES[c]);
        tc_assert_close_(w->grad, tc_fixture_get(fx, "grad:w"), 1e-4, 1e-4, what, __FILE__, __LINE__);
        if (b) {
            snprintf(what, sizeof what, "%s d/db", FIXTURES[c]);
            tc_assert_close_(b->grad, tc_fixture_get(fx, "grad:b"), 1e-4, 1e-4, what, __FILE__, __LINE__);
        }
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

/* ---- a naive convolution (explicit pads, every case seen as 3-D) ------------ */
typedef struct {
    int nd;
    int64_t n, sp[3], c, k[3], f, s[3], d[3], pb[3], pa[3];
    int groups;
} big_case;

typedef naive_dims dims3;

static naive_conv_case as_naive(const big_case *b)
{
    naive_conv_case r = {.nd = b->nd, .n = b->n, .c = b->c, .f = b->f, .groups = b->groups};
    for (int i = 0; i < b->nd; i++)
        r.sp[i] = b->sp[i], r.k[i] = b->k[i], r.s[i] = b->s[i], r.d[i] = b->d[i], r.pb[i] = b->pb[i], r.pa[i] = b->pa[i];
    return r;
}

static dims3 dims_of(const big_case *b)
{
    naive_conv_case r = as_naive(b);
    return naive_conv_dims(&r);
}

/* y, dx, dw, db from x, w, bias, gy in double (tests/util/naive_conv.c) */
static void naive(const big_case *b, const float *x, const float *w, const float *bias, const float *gy, double *y,
                  double *dx, double *dw, double *db)
{
    naive_conv_case r = as_naive(b);
    naive_conv(&r, x, w, bias, gy, y, dx, dw, db);
}

static void assert_near(const tc_tensor *t, const double *ref, const char *what)
{
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < tc_numel(t); i++) {
        double e = fabs(t->data[i] - ref[i]) / (1 + fabs(ref[i])); /* sums of hundreds of float terms of size ~1 */
        if (e > worst) worst = e, at = i;
    }
    if (worst > 1e-4) fail_msg("%s: element %lld is %g, expected %g", what, (long long)at, (double)t->data[at], ref[at]);
}

typedef struct {
    tc_tensor *y, *dx, *dw, *db;
} conv_result;

static conv_result run_big(const big_case *b, tc_tensor *x, tc_tensor *w, tc_tensor *bias, tc_tensor *gy)
{
    tc_conv_params p = {.padding = TC_EXPLICIT, .groups = b->groups};
    for (int i = 0; i < b->nd; i++) {
        p.stride[i] = (int)b->s[i], p.dilation[i] = (int)b->d[i];
        p.pad_before[i] = b->pb[i], p.pad_after[i] = b->pa[i];
    }
    x->grad = w->grad = bias->grad = NULL;
    tc_tensor *y = tc_conv(x, w, bias, &p);
    tc_assert_ok(y);
    if (tc_backward_with(y, gy) != TC_OK) fail_msg("%s", tc_last_error());
    return (conv_result){y, x->grad, w->grad, bias->grad};
}

static void big_shapes_and_threads(void **state)
{
    (void)state;
    big_case cases[] = {
        /* a kernel of over 64K values (K = 1152, F = 64) on 4095 patch rows: the
         * larger tiles that amortise repacking the kernel on the OpenBLAS paths
         * (4 tiles of ~1024 rows), 16 L2-sized tiles of 12-row multiples on AVX-512 */
        {2, 1, {63, 65}, 128, {3, 3}, 64, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* K = 576: 2 tiles per 16x16 image; 3 images: 3 kernel-gradient blocks */
        {2, 3, {16, 16}, 64, {3, 3}, 32, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* 1-D, K = 288: 3 tiles of a 1000-long sequence, causal-like pads, dilation */
        {1, 2, {1000}, 32, {9}, 8, {1}, {2}, {16}, {0}, 1},
        /* groups and strides over several tiles, asymmetric pads */
        {2, 9, {20, 18}, 48, {5, 3}, 16, {2, 1}, {1, 2}, {2, 0}, {3, 2}, 2},
        /* thin first layer (K = 27): patches kept for backward, tiles across images, 8 blocks */
        {2, 20, {12, 12}, 3, {3, 3}, 16, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* thin direct kernels (conv_thin.c): 1 channel, F = 37 (masked vector tails), even kernel, dilation */
        {2, 5, {13, 11}, 1, {4, 2}, 37, {1, 1}, {1, 2}, {2, 1}, {1, 0}, 1},
        /* thin, stride > kernel, F = 70 (a 64-column block and a tail), 4 channels */
        {2, 3, {17, 19}, 4, {2, 3}, 70, {3, 4}, {1, 1}, {0, 1}, {1, 1}, 1},
        /* thin 1-D causal-like pads (WaveNet's first layer), F = 5 */
        {1, 4, {300}, 1, {2}, 5, {1}, {3}, {3}, {0}, 1},
        /* thin 3-D (C3D's first layer shape, small), F = 16 */
        {3, 3, {4, 7, 6}, 3, {3, 3, 3}, 16, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        /* the direct thin kernels (conv_thin_direct.c) on AVX2/AVX-512: batch 1, 5x5x1 -> 32 with
         * SAME pads on a row of 31 (not a multiple of any pixel tile: 14, 12, 6, 8) */
        {2, 1, {9, 31}, 1, {5, 5}, 32, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 1},
        /* 3x3x3 -> 64 (dX tiles at a compile-time F of 64), VALID, width 29 */
        {2, 2, {10, 29}, 3, {3, 3}, 64, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* 2 channels -> 16, stride 2, asymmetric pads (dX through the patch path) */
        {2, 3, {11, 15}, 2, {3, 3}, 16, {2, 2}, {1, 1}, {1, 0}, {1, 1}, 1},
        /* 4 channels -> 33 (a 32-block and a 1-lane tail), dilation 2 on the width */
        {2, 2, {8, 20}, 4, {3, 3}, 33, {1, 1}, {1, 2}, {1, 2}, {1, 2}, 1},
        /* 1 channel -> 48 (a full and a half block), a 1x7 kernel on a row of 40 */
        {2, 2, {6, 40}, 1, {1, 7}, 48, {1, 1}, {1, 1}, {0, 3}, {0, 3}, 1},
        /* a row narrower than the kernel: every pixel next to the border */
        {2, 2, {4, 3}, 1, {5, 5}, 20, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 1},
        /* thin and grouped (K = 2*3*2), strided */
        {2, 11, {9, 10}, 4, {2, 3}, 6, {2, 1}, {1, 1}, {0, 1}, {1, 1}, 2},
        /* 3-D, K = 864 (fewer than 256 rows in 128K values: the 256-row tile floor), 5,184 rows
         * in 21 tiles crossing the two images: the parallel tiled forward and 2 gradient blocks */
        {3, 2, {8, 18, 18}, 32, {3, 3, 3}, 16, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        /* batch 1, one image block (conv_im2col.c's backward_one_block): a WaveNet layer, 1-D causal,
         * dilation 8, 64 -> 128 channels on 1,030 steps, one tile, each gradient product split over the pool */
        {1, 1, {1030}, 64, {2}, 128, {1}, {8}, {8}, {0}, 1},
        /* batch 1 over 32 tiles (K = 288: 455-row tiles, the last shorter), 2 groups: dW summed across
         * tiles, dX col2im where tiles meet */
        {2, 1, {121, 119}, 64, {3, 3}, 22, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        /* batch 1, one block (conv_im2col.c): dW split over its rows (K = 1,080 = 180 strips of 6, ~540 a
         * thread, each part's own im2col columns starting inside a tap), dX in two waves of tiles, stride 2 and
         * dilation; a 7x7 map (49 rows: too few for the waves, dX tile by tile); 3-D with waves of 4-plane tiles
         * and 3-D with tiles sharing a plane (no waves); K = 7 (a last dW unit of 1 row on 2 threads) */
        {2, 1, {40, 37}, 120, {3, 3}, 40, {2, 2}, {2, 1}, {2, 1}, {1, 1}, 1},
        {2, 1, {7, 7}, 40, {3, 3}, 24, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {3, 1, {16, 8, 8}, 16, {3, 3, 3}, 8, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {3, 1, {6, 10, 12}, 16, {3, 3, 3}, 8, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
        {2, 1, {30, 31}, 7, {1, 1}, 12, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* batch 1, rows of 700: 256-row tiles are under one image row, so the dX waves take 4 tiles of
         * 2,275 rows (3.25 image rows), each done in 256-row pieces */
        {2, 1, {13, 700}, 64, {3, 3}, 8, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* few rows (tc_sgemm_few_rows): a 7x7 map at batch 1, F = 200 (a part last strip, 3 bias
         * blocks of 64 and a tail): W read in place forward, W^T packed strip by strip for dX */
        {2, 1, {7, 7}, 32, {3, 3}, 200, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* few rows, 1x1 direct with F = 1030 (rows 4 KB apart and more: W packed strip by strip) */
        {2, 1, {5, 6}, 48, {1, 1}, 1030, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* few rows over 2 images (one gradient block, the map being small: conv.c), stride 2 */
        {2, 2, {7, 7}, 16, {3, 3}, 160, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* dX as the forward of dY (conv_backward_dx_fwd.c: maps >= 784, rows >= 2 C F): an even kernel
         * with dilation 2 and uneven pads (pb 3, pa 3 over a span of 6; pb 0, pa 1), and 1-D with pb 4 / pa 2 */
        {2, 1, {30, 32}, 16, {4, 2}, 16, {1, 1}, {2, 1}, {3, 0}, {3, 1}, 1},
        {1, 2, {900}, 16, {3}, 24, {1}, {3}, {4}, {2}, 1},
        /* depthwise, multiplier 2, 3-D */
        {3, 10, {5, 6, 7}, 4, {3, 2, 3}, 8, {1, 2, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 2}, 4},
    };
    tc_rng rng = tc_rng_new(11);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const big_case *b = &cases[ci];
        dims3 m = dims_of(b);
        int64_t xs[5], ks[5], ys[5];
        xs[0] = ys[0] = b->n;
        for (int i = 0; i < b->nd; i++) xs[1 + i] = b->sp[i], ks[i] = b->k[i], ys[1 + i] = m.out[3 - b->nd + i];
        xs[b->nd + 1] = b->c, ks[b->nd] = b->c / b->groups, ks[b->nd + 1] = b->f, ys[b->nd + 1] = b->f;
        tc_tensor *x = tc_test_uniform(&rng, b->nd + 2, xs, -1, 1), *w = tc_test_uniform(&rng, b->nd + 2, ks, -1, 1);
        tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){b->f}, -1, 1);
        tc_tensor *gy = tc_test_uniform(&rng, b->nd + 2, ys, -1, 1);
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(bias, true);
        double *ref[4] = {calloc((size_t)tc_numel(gy), sizeof(double)), calloc((size_t)tc_numel(x), sizeof(double)),
                          calloc((size_t)tc_numel(w), sizeof(double)), calloc((size_t)b->f, sizeof(double))};
        naive(b, x->data, w->data, bias->data, gy->data, ref[0], ref[1], ref[2], ref[3]);
        int saved_threads = tc_num_threads();
        tc_set_num_threads(1);
        conv_result one = run_big(b, x, w, bias, gy);
        tc_set_num_threads(2);
        conv_result two = run_big(b, x, w, bias, gy);
        tc_set_num_threads(saved_threads);
        assert_near(one.y, ref[0], "y");
        assert_near(one.dx, ref[1], "dx");
        assert_near(one.dw, ref[2], "dw");
        assert_near(one.db, ref[3], "db");
        const tc_tensor *a[4] = {one.y, one.dx, one.dw, one.db}, *c[4] = {two.y, two.dx, two.dw, two.db};
        for (int i = 0; i < 4; i++)
            if (memcmp(a[i]->data, c[i]->data, sizeof(tc_scalar) * (size_t)tc_numel(a[i])) != 0)
                fail_msg("case %zu: result %d differs between 1 and 2 threads", ci, i);
        for (int i = 0; i < 4; i++) free(ref[i]);
        tc_step_reset();
    }
}

/* Each case against the naive double reference on every ISA path the machine
 * has, and 1 thread = 2 threads bit for bit */
static void check_cases_every_isa(const big_case *cases, size_t n_cases, uint64_t seed)
{
    const tc_isa_level isa0 = tc_isa();
    const int saved_threads = tc_num_threads();
    tc_rng rng = tc_rng_new(seed);
    for (size_t ci = 0; ci < n_cases; ci++) {
        const big_case *b = &cases[ci];
        dims3 m = dims_of(b);
        int64_t xs[5], ks[5], ys[5];
        xs[0] = ys[0] = b->n;
        for (int i = 0; i < b->nd; i++) xs[1 + i] = b->sp[i], ks[i] = b->k[i], ys[1 + i] = m.out[3 - b->nd + i];
        xs[b->nd + 1] = b->c, ks[b->nd] = b->c / b->groups, ks[b->nd + 1] = b->f, ys[b->nd + 1] = b->f;
        tc_tensor *x = tc_test_uniform(&rng, b->nd + 2, xs, -1, 1), *w = tc_test_uniform(&rng, b->nd + 2, ks, -1, 1);
        tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){b->f}, -1, 1);
        tc_tensor *gy = tc_test_uniform(&rng, b->nd + 2, ys, -1, 1);
        tc_set_requires_grad(x, true);
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(bias, true);
        double *ref[4] = {calloc((size_t)tc_numel(gy), sizeof(double)), calloc((size_t)tc_numel(x), sizeof(double)),
                          calloc((size_t)tc_numel(w), sizeof(double)), calloc((size_t)b->f, sizeof(double))};
        naive(b, x->data, w->data, bias->data, gy->data, ref[0], ref[1], ref[2], ref[3]);
        for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
            assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
            tc_set_num_threads(1);
            conv_result one = run_big(b, x, w, bias, gy);
            tc_set_num_threads(2);
            conv_result two = run_big(b, x, w, bias, gy);
            assert_near(one.y, ref[0], "y");
            assert_near(one.dx, ref[1], "dx");
            assert_near(one.dw, ref[2], "dw");
            assert_near(one.db, ref[3], "db");
            const tc_tensor *a[4] = {one.y, one.dx, one.dw, one.db}, *c[4] = {two.y, two.dx, two.dw, two.db};
            for (int i = 0; i < 4; i++)
                if (memcmp(a[i]->data, c[i]->data, sizeof(tc_scalar) * (size_t)tc_numel(a[i])) != 0)
                    fail_msg("case %zu, %s: result %d differs between 1 and 2 threads", ci,
                             tc_isa_name((tc_isa_level)isa), i);
        }
        for (int i = 0; i < 4; i++) free(ref[i]);
        tc_step_reset();
    }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
    tc_set_num_threads(saved_threads);
}

/* Small maps at batch > 1 (conv.c: the batch is one gradient block when its
 * patch rows make at most two tiles; dW rows split over the threads, dX in
 * waves or tile by tile) and 7-row tiles of few-row products (M = 98 = 14 x
 * 7: gemm_pack.c's few_rows_tiles7, F = 150 with a part last strip; 6-row
 * strips on AVX2), on every ISA path, 1 and 2 threads: the naive
 * reference, and the same bits for both thread counts. */
static void small_maps_every_isa(void **state)
{
    (void)state;
    const big_case cases[] = {
        {2, 2, {7, 7}, 24, {3, 3}, 150, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 3, {14, 14}, 24, {3, 3}, 40, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 8, {8, 8}, 40, {1, 1}, 36, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 4, {9, 9}, 16, {3, 3}, 48, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
    };
    check_cases_every_isa(cases, sizeof cases / sizeof cases[0], 23);
}

/* dW of stride-1 2-D layers with rows of >= 48 outputs at one gradient block
 * (conv_backward_dw_rows.c: products read from the input rows, summed per
 * output row, so other bits than the im2col tiles): the naive reference on
 * every ISA path, and the same bits for 1 and 2 threads (dW's rows split
 * between the threads, a split that crosses kernel rows with C = 7). */
static void dw_from_input_rows_every_isa(void **state)
{
    (void)state;
    const big_case cases[] = {
        /* 3x3 SAME, F = 64 (2 column strips on AVX-512, 4 on AVX2: A^T read in place) */
        {2, 1, {20, 50}, 24, {3, 3}, 64, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* 7 channels (kernel rows of 35 values: strips across kernel rows and dW units), a 3x5
         * kernel, uneven pads on both axes (2 top, 1 bottom; none left, 3 right), F = 40 */
        {2, 1, {9, 49}, 7, {3, 5}, 40, {1, 1}, {1, 1}, {2, 0}, {1, 3}, 1},
        /* VALID: the input rows read where they lie (no padded copy), F = 33 */
        {2, 1, {6, 50}, 16, {3, 3}, 33, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* two images in one gradient block (the ring of padded rows across images) */
        {2, 2, {5, 48}, 16, {3, 3}, 24, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* 64 channels: the BLAS path (generic ISA) too, its products a tap's 64 rows each */
        {2, 1, {6, 48}, 64, {3, 3}, 16, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* six images of 12x48 in image blocks (conv_im2col.c's backward_blocks: each block's partial
         * dW from its images' rows, summed in block order) */
        {2, 6, {12, 48}, 16, {3, 3}, 24, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
    };
    check_cases_every_isa(cases, sizeof cases / sizeof cases[0], 29);
}

/* The forward pass on our packed kernels (AVX2, AVX-512) packs its A panels
 * straight from the input (conv_im2col.c's patch runs, no im2col copy):
 * the output must be the bits of the patch matrix, built here by plain
 * loops, times the kernel viewed as [K, F] (tc_matmul runs the same packed
 * kernel, whose bits do not depend on how the rows are cut). Padding on
 * every side, strides, dilation, rows crossing images, 1-D and 3-D, the
 * few-tiles path (each GEMM split over the pool) and the many-tiles one,
 * on 1 and 2 threads. */
static void patch_runs_give_the_im2col_bits(void **state)
{
    (void)state;
    if (tc_isa_best() < TC_ISA_AVX2) {
        print_message("no AVX2 here: the patch runs are not used, nothing to compare\n");
        return;
    }
    const tc_isa_level isa0 = tc_isa();
    big_case cases[] = {
        {2, 2, {13, 11}, 32, {3, 3}, 40, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},  /* few tiles, SAME-like pads */
        {2, 3, {20, 17}, 48, {3, 2}, 70, {2, 1}, {2, 1}, {2, 0}, {1, 1}, 1},  /* strides, dilation, uneven pads */
        {2, 1, {61, 60}, 64, {3, 3}, 64, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},  /* 3660 rows: many 252-row tiles */
        {1, 2, {700}, 16, {3}, 24, {1}, {4}, {8}, {0}, 1},                    /* 1-D causal-like, dilation 4 */
        {3, 2, {5, 6, 7}, 16, {3, 3, 3}, 33, {1, 2, 1}, {1, 1, 1}, {1, 1, 1}, {1, 0, 1}, 1}, /* 3-D */
    };
    for (int isa = TC_ISA_AVX2; isa <= (int)tc_isa_best(); isa++) { /* the AVX2 6x16 and AVX-512 6x32 kernels */
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        tc_rng rng = tc_rng_new(23);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const big_case *b = &cases[ci];
            dims3 m = dims_of(b);
            int64_t xs[5], ks[5];
            xs[0] = b->n;
            for (int i = 0; i < b->nd; i++) xs[1 + i] = b->sp[i], ks[i] = b->k[i];
            xs[b->nd + 1] = b->c, ks[b->nd] = b->c, ks[b->nd + 1] = b->f;
            tc_tensor *x = tc_test_uniform(&rng, b->nd + 2, xs, -1, 1), *w = tc_test_uniform(&rng, b->nd + 2, ks, -1, 1);
            const int64_t opos = m.out[0] * m.out[1] * m.out[2], ipos = m.in[0] * m.in[1] * m.in[2];
            const int64_t K = m.k[0] * m.k[1] * m.k[2] * b->c, rows = b->n * opos;
            tc_tensor *P = tc_full(2, (int64_t[]){rows, K}, 0);
            for (int64_t r = 0; r < rows; r++) {
                const int64_t n = r / opos, o = r % opos;
                const int64_t od = o / (m.out[1] * m.out[2]), oh = (o / m.out[2]) % m.out[1], ow = o % m.out[2];
                tc_scalar *dst = P->data + r * K;
                for (int64_t kd = 0; kd < m.k[0]; kd++)
                    for (int64_t kh = 0; kh < m.k[1]; kh++)
                        for (int64_t kw = 0; kw < m.k[2]; kw++, dst += b->c) {
                            const int64_t id = od * m.s[0] - m.pb[0] + kd * m.d[0], ih = oh * m.s[1] - m.pb[1] + kh * m.d[1],
                                          iw = ow * m.s[2] - m.pb[2] + kw * m.d[2];
                            if (id < 0 || id >= m.in[0] || ih < 0 || ih >= m.in[1] || iw < 0 || iw >= m.in[2]) continue;
                            memcpy(dst, x->data + (n * ipos + (id * m.in[1] + ih) * m.in[2] + iw) * b->c,
                                   sizeof(tc_scalar) * (size_t)b->c);
                        }
            }
            tc_tensor *want = tc_matmul(P, tc_reshape(w, 2, (int64_t[]){K, b->f}));
            tc_assert_ok(want);
            tc_conv_params p = {.padding = TC_EXPLICIT, .groups = 1};
            for (int i = 0; i < b->nd; i++) {
                p.stride[i] = (int)b->s[i], p.dilation[i] = (int)b->d[i];
                p.pad_before[i] = b->pb[i], p.pad_after[i] = b->pa[i];
            }
            const int saved = tc_num_threads();
            for (int t = 1; t <= 2; t++) {
                tc_set_num_threads(t);
                tc_tensor *y = tc_conv(x, w, NULL, &p);
                tc_assert_ok(y);
                assert_int_equal(tc_numel(y), tc_numel(want));
                if (memcmp(y->data, want->data, sizeof(tc_scalar) * (size_t)tc_numel(y)) != 0)
                    fail_msg("%s, case %zu, %d threads: the forward pass differs from im2col + GEMM", tc_isa_name(tc_isa()), ci, t);
            }
            tc_set_num_threads(saved);
            tc_step_reset();
        }
    }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
}

/* A kernel used twice at batch 1 (one image block: its gradient products
 * add straight into the kernel's gradient, conv_im2col.c): the second use
 * must add to what the first left there. */
static void kernel_gradient_accumulates_at_batch_1(void **state)
{
    (void)state;
    const big_case b = {2, 1, {30, 29}, 24, {3, 3}, 20, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    dims3 m = dims_of(&b);
    tc_rng rng = tc_rng_new(29);
    tc_tensor *x1 = tc_test_uniform(&rng, 4, (int64_t[]){1, 30, 29, 24}, -1, 1);
    tc_tensor *x2 = tc_test_uniform(&rng, 4, (int64_t[]){1, 30, 29, 24}, -1, 1);
    tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, 24, 20}, -1, 1);
    tc_tensor *gy = tc_test_uniform(&rng, 4, (int64_t[]){1, m.out[1], m.out[2], 20}, -1, 1);
    tc_tensor *zb = tc_full(1, (int64_t[]){20}, 0);
    const int64_t ny = tc_numel(gy), nx = tc_numel(x1), nw = tc_numel(w);
    double *y = calloc((size_t)ny, sizeof(double)), *dx = calloc((size_t)nx, sizeof(double));
    double *dw = calloc((size_t)nw, sizeof(double)), *db = calloc(20, sizeof(double));
    naive(&b, x1->data, w->data, zb->data, gy->data, y, dx, dw, db);
    naive(&b, x2->data, w->data, zb->data, gy->data, y, dx, dw, db); /* dw: both uses summed */
    tc_tensor *dws[2];
    for (int t = 1; t <= 2; t++) {
        const int saved = tc_num_threads();
        tc_set_num_threads(t);
        tc_set_requires_grad(w, true);
        w->grad = NULL;
        tc_conv_params p = {.padding = TC_EXPLICIT, .pad_before = {1, 1}, .pad_after = {1, 1}};
        tc_tensor *out = tc_add(tc_conv(x1, w, NULL, &p), tc_conv(x2, w, NULL, &p));
        tc_assert_ok(out);
        if (tc_backward_with(out, gy) != TC_OK) fail_msg("%s", tc_last_error());
        tc_set_num_threads(saved);
        dws[t - 1] = w->grad;
        assert_near(w->grad, dw, "dw of a kernel used twice");
    }
    if (memcmp(dws[0]->data, dws[1]->data, sizeof(tc_scalar) * (size_t)nw) != 0)
        fail_msg("dw of a kernel used twice differs between 1 and 2 threads");
    free(y), free(dx), free(dw), free(db);
    tc_step_reset();
}

/* a thin layer whose kernel needs no gradient but whose bias does: the bias
 * gradient alone (conv_thin_direct.c's column sums), the same for 1 and 2 threads */
static void thin_bias_gradient_only(void **state)
{
    (void)state;
    tc_rng rng = tc_rng_new(5);
    tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){3, 7, 9, 2}, -1, 1);
    tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, 2, 37}, -1, 1);
    tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){37}, -1, 1);
    tc_tensor *gy = tc_test_uniform(&rng, 4, (int64_t[]){3, 7, 9, 37}, -1, 1);
    tc_set_requires_grad(bias, true);
    double ref[37] = {0};
    for (int64_t i = 0; i < tc_numel(gy); i++) ref[i % 37] += gy->data[i];
    tc_tensor *db[2];
    for (int t = 0; t < 2; t++) {
        int saved = tc_num_threads();
        tc_set_num_threads(t + 1);
        bias->grad = NULL;
        tc_tensor *y = tc_conv(x, w, bias, &(tc_conv_params){.padding = TC_SAME});
        tc_assert_ok(y);
        if (tc_backward_with(y, gy) != TC_OK) fail_msg("%s", tc_last_error());
        tc_set_num_threads(saved);
        db[t] = bias->grad;
        assert_near(db[t], ref, "db");
    }
    if (memcmp(db[0]->data, db[1]->data, sizeof(tc_scalar) * 37) != 0) fail_msg("db differs between 1 and 2 threads");
    tc_step_reset();
}

/* On every ISA path this machine has (generic, AVX2, AVX-512), 1 and 2
 * threads: the bias gradient is the in-order float sum of dY's rows per
 * column where the plan sums them so (conv_colsum.inc's row-streaming
 * kernels; 1x1 direct plans and single images: column counts around
 * the vector widths and register blocks, 1x1 direct and 3x3 plans, the
 * pooled and the serial sizes), and the input gradient, written into a
 * fresh gradient (a 1x1 direct layer's GEMM with beta 0,
 * conv_backward_direct.c; a stride-1 layer's forward of dY,
 * conv_backward_dx_fwd.c), is the naive one and has the values of the same
 * product added to a gradient of zeros (an input whose gradient exists). */
static void direct_and_bias_gradients_every_isa(void **state)
{
    (void)state;
    const tc_isa_level isa0 = tc_isa();
    /* n, h, w, c, k, f: F past 16 x 16 (a second register block), tails of 1..15 lanes */
    const int64_t cases[][6] = {{1, 9, 7, 24, 1, 1}, {1, 10, 30, 16, 1, 17}, {2, 5, 6, 40, 1, 300},
                                {1, 12, 13, 8, 3, 64}, {1, 7, 11, 20, 3, 255}, {3, 4, 5, 12, 1, 513},
                                /* maps of >= 784 positions: dX as the forward of dY (conv_backward_dx_fwd.c),
                                 * rows >= 2 C F, batch 1 and 2 (one and two image blocks), F = 20 (runs with a tail) */
                                {1, 28, 30, 16, 3, 20}, {2, 29, 28, 16, 3, 40}};
    for (int isa = TC_ISA_GENERIC; isa <= (int)tc_isa_best(); isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        tc_rng rng = tc_rng_new(31);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const int64_t n = cases[ci][0], h = cases[ci][1], wd = cases[ci][2], c = cases[ci][3], k = cases[ci][4],
                          f = cases[ci][5], rows = n * h * wd;
            const big_case b = {2, n, {h, wd}, c, {k, k}, f, {1, 1}, {1, 1}, {k / 2, k / 2}, {k / 2, k / 2}, 1};
            tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){n, h, wd, c}, -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){k, k, c, f}, -1, 1);
            tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){f}, -1, 1);
            tc_tensor *gy = tc_test_uniform(&rng, 4, (int64_t[]){n, h, wd, f}, -1, 1);
            /* a 1x1 direct plan and a single image sum all rows in order (tc_conv_colsum); other plans
             * of several images may sum per image block (a rule of the shape that other work tunes):
             * there db is checked against the naive sum and between thread counts only */
            const bool in_order = k == 1 || n == 1;
            float *want = calloc((size_t)f, sizeof(float));
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < f; j++) want[j] += gy->data[r * f + j];
            double *ref[4] = {calloc((size_t)tc_numel(gy), sizeof(double)), calloc((size_t)tc_numel(x), sizeof(double)),
                              calloc((size_t)tc_numel(w), sizeof(double)), calloc((size_t)f, sizeof(double))};
            naive(&b, x->data, w->data, bias->data, gy->data, ref[0], ref[1], ref[2], ref[3]);
            tc_conv_params p = {.padding = TC_EXPLICIT, .pad_before = {k / 2, k / 2}, .pad_after = {k / 2, k / 2}};
            tc_tensor *dx1[2] = {NULL, NULL}, *db1[2] = {NULL, NULL};
            const int saved = tc_num_threads();
            for (int t = 1; t <= 2; t++) {
                tc_set_num_threads(t);
                tc_set_requires_grad(bias, true);
                tc_set_requires_grad(x, true);
                tc_set_requires_grad(w, true);
                bias->grad = x->grad = w->grad = NULL;
                tc_tensor *y = tc_conv(x, w, bias, &p);
                tc_assert_ok(y);
                if (tc_backward_with(y, gy) != TC_OK) fail_msg("%s", tc_last_error());
                assert_near(bias->grad, ref[3], "db");
                if (in_order && memcmp(bias->grad->data, want, sizeof(float) * (size_t)f) != 0)
                    fail_msg("%s, case %zu, %d threads: db is not the in-order sum of dY's rows", tc_isa_name(tc_isa()),
                             ci, t);
                assert_near(x->grad, ref[1], "dx");
                assert_near(w->grad, ref[2], "dw");
                dx1[t - 1] = x->grad, db1[t - 1] = bias->grad;
                { /* a gradient that already exists (zeros here): the product is added to it */
                    x->grad = tc_zeros(4, x->shape);
                    tc_tensor *y2 = tc_conv(x, w, NULL, &p);
                    tc_assert_ok(y2);
                    if (tc_backward_with(y2, gy) != TC_OK) fail_msg("%s", tc_last_error());
                    for (int64_t i = 0; i < tc_numel(x); i++) /* == : 0 + v may be +0 where v is -0 */
                        if (x->grad->data[i] != dx1[t - 1]->data[i])
                            fail_msg("%s, case %zu: dX written fresh differs from dX added to zeros at %lld",
                                     tc_isa_name(tc_isa()), ci, (long long)i);
                }
            }
            tc_set_num_threads(saved);
            if (memcmp(db1[0]->data, db1[1]->data, sizeof(tc_scalar) * (size_t)f) != 0)
                fail_msg("%s, case %zu: db differs between 1 and 2 threads", tc_isa_name(tc_isa()), ci);
            if (memcmp(dx1[0]->data, dx1[1]->data, sizeof(tc_scalar) * (size_t)tc_numel(x)) != 0)
                fail_msg("%s, case %zu: dx differs between 1 and 2 threads", tc_isa_name(tc_isa()), ci);
            free(want);
            for (int i = 0; i < 4; i++) free(ref[i]);
            tc_step_reset();
        }
    }
    assert_int_equal(tc_set_isa(isa0), TC_OK);
}

static void bad_inputs(void **state)
{
    (void)state;
    tc_tensor *x = tc_zeros(TC_SHAPE(1, 5, 5, 3));
    /* channel mismatch */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 4, 8)), NULL, NULL), "conv", "[1, 5, 5, 3]", "[3, 3, 4, 8]");
    /* kernel rank vs input rank */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 8)), NULL, NULL), "conv", "[3, 3, 8]", "[1, 5, 5, 3]");
    tc_assert_error(tc_conv(tc_zeros(TC_SHAPE(5, 3)), tc_zeros(TC_SHAPE(3, 8)), NULL, NULL), "conv", "[5, 3]");
    /* groups not dividing the channels or the filters */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 1, 8)), NULL, &(tc_conv_params){.groups = 2}), "conv", "groups",
                    "[1, 5, 5, 3]");
    tc_assert_error(tc_conv(tc_zeros(TC_SHAPE(1, 5, 5, 4)), tc_zeros(TC_SHAPE(3, 3, 2, 5)), NULL,
                            &(tc_conv_params){.groups = 2}),
                    "conv", "groups", "[3, 3, 2, 5]");
    /* CAUSAL on 2-D */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), NULL, &(tc_conv_params){.padding = TC_CAUSAL}), "conv",
                    "CAUSAL", "[1, 5, 5, 3]");
    /* window larger than the (padded) input */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(7, 7, 3, 8)), NULL, NULL), "conv", "does not fit", "[7, 7, 3, 8]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), NULL, &(tc_conv_params){.dilation = {3, 1}}), "conv",
                    "does not fit", "[1, 5, 5, 3]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(8, 3, 3, 8)), NULL,
                            &(tc_conv_params){.padding = TC_EXPLICIT, .pad_before = {1, 0}, .pad_after = {1, 0}}),
                    "conv", "does not fit", "[8, 3, 3, 8]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), NULL,
                            &(tc_conv_params){.padding = TC_EXPLICIT, .pad_before = {-1, 0}}),
                    "conv", "negative", "[1, 5, 5, 3]");
    /* bias of the wrong size */
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), tc_zeros(TC_SHAPE(4)), NULL), "conv", "bias", "[4]");
    /* NULL inputs */
    tc_assert_error(tc_conv(NULL, tc_zeros(TC_SHAPE(3, 3, 3, 8)), NULL, NULL), "conv", "NULL");
    tc_assert_error(tc_conv(x, NULL, NULL, NULL), "conv", "NULL");
    /* output sizes */
    assert_int_equal(tc_conv_out_size(28, 5, 1, 1, TC_VALID, 0, 0), 24);
    assert_int_equal(tc_conv_out_size(28, 5, 1, 1, TC_SAME, 0, 0), 28);
    assert_int_equal(tc_conv_out_size(7, 4, 2, 1, TC_SAME_LOWER, 0, 0), 4);
    assert_int_equal(tc_conv_out_size(10, 3, 3, 1, TC_EXPLICIT, 2, 1), 4);
    assert_int_equal(tc_conv_out_size(10, 3, 1, 4, TC_CAUSAL, 0, 0), 10);
    assert_int_equal(tc_conv_out_size(4, 3, 1, 2, TC_VALID, 0, 0), -1);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_pytorch),
        cmocka_unit_test(big_shapes_and_threads),
        cmocka_unit_test(small_maps_every_isa),
        cmocka_unit_test(dw_from_input_rows_every_isa),
        cmocka_unit_test(patch_runs_give_the_im2col_bits),
        cmocka_unit_test(kernel_gradient_accumulates_at_batch_1),
        cmocka_unit_test(thin_bias_gradient_only),
        cmocka_unit_test(direct_and_bias_gradients_every_isa),
        cmocka_unit_test(bad_inputs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
