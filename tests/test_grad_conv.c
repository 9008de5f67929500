/* Finite-difference gradient checks (double precision) for convolution:
 * input, kernel and bias gradients in 1-D, 2-D and 3-D with the odd cases. */
#include "testutil.h"

static tc_rng rng;

typedef struct {
    int nd;               /* spatial rank */
    int64_t n, sp[3], c;  /* input */
    int64_t k[3], f;      /* kernel */
    tc_conv_params p;
    bool bias;
} conv_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    conv_case *c = ctx;
    return tc_conv(in[0], in[1], c->bias ? in[2] : NULL, &c->p);
}

static void run(conv_case *c)
{
    int64_t xs[5], ks[5];
    xs[0] = c->n;
    for (int i = 0; i < c->nd; i++) xs[1 + i] = c->sp[i], ks[i] = c->k[i];
    xs[c->nd + 1] = c->c;
    int g = c->p.groups > 0 ? c->p.groups : 1;
    ks[c->nd] = c->c / g;
    ks[c->nd + 1] = c->f;
    tc_tensor *in[3] = {tc_test_uniform(&rng, c->nd + 2, xs, -1, 1), tc_test_uniform(&rng, c->nd + 2, ks, -1, 1),
                        tc_test_uniform(&rng, TC_SHAPE(c->f), -1, 1)};
    tc_gradcheck(build, c, c->bias ? 3 : 2, in, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

static void conv2d_cases(void **state)
{
    conv_case cases[] = {
        {2, 2, {5, 5}, 3, {3, 3}, 4, {.padding = TC_VALID}, true},
        {2, 1, {6, 5}, 2, {4, 2}, 3, {.padding = TC_SAME}, true},                        /* SAME, even kernel */
        {2, 2, {7, 6}, 3, {2, 3}, 2, {.padding = TC_SAME, .stride = {2, 3}}, false},     /* SAME with strides */
        {2, 1, {7, 7}, 2, {2, 2}, 3, {.padding = TC_VALID, .stride = {3, 3}}, true},     /* stride > kernel */
        {2, 1, {8, 7}, 2, {3, 2}, 2, {.padding = TC_VALID, .dilation = {2, 3}}, true},   /* dilation */
        {2, 1, {5, 6}, 2, {3, 3}, 2, {.padding = TC_SAME_LOWER, .stride = {2, 2}}, true},
        {2, 1, {4, 5}, 3, {3, 2}, 2, {.padding = TC_EXPLICIT, .pad_before = {2, 0}, .pad_after = {0, 1}}, true},
        {2, 2, {5, 5}, 4, {3, 3}, 6, {.padding = TC_SAME, .groups = 2}, true},           /* groups */
        {2, 1, {5, 4}, 3, {3, 3}, 6, {.padding = TC_SAME, .groups = 3}, true},           /* depthwise, multiplier 2 */
        {2, 2, {4, 3}, 5, {1, 1}, 3, {.padding = TC_VALID}, true},                       /* 1x1: no im2col */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i]);
}

/* Winograd F(4x4,3x3) (tc_conv_set_algorithm): its input gradient (and
 * the direct kernel and bias gradients of a Winograd plan) in double; 40
 * images of one 4x4 output tile each reach its 40-tile floor */
static void winograd_cases(void **state)
{
    conv_case cases[] = {
        {2, 40, {2, 2}, 8, {3, 3}, 9, {.padding = TC_SAME}, true},
        {2, 40, {2, 3}, 9, {3, 3}, 8, {.padding = TC_EXPLICIT, .pad_before = {2, 0}, .pad_after = {0, 1}}, false},
    };
    tc_conv_set_algorithm(TC_CONV_WINOGRAD);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i]);
    tc_conv_set_algorithm(TC_CONV_DIRECT);
}

static void conv1d_3d_cases(void **state)
{
    conv_case cases[] = {
        {1, 2, {9}, 3, {3}, 2, {.padding = TC_CAUSAL, .dilation = {2}}, true},           /* WaveNet-style */
        {1, 1, {8}, 2, {4}, 3, {.padding = TC_SAME, .stride = {3}}, true},
        {1, 2, {7}, 4, {3}, 4, {.padding = TC_VALID, .groups = 4}, false},
        {3, 1, {4, 5, 4}, 2, {2, 3, 2}, 3, {.padding = TC_SAME}, true},
        {3, 2, {5, 4, 4}, 2, {3, 2, 2}, 2, {.padding = TC_VALID, .stride = {2, 1, 2}, .dilation = {1, 2, 1}}, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i]);
}

/* more odd cases: causal with dilation 3, 1x1 with stride, 3-D depthwise,
 * and a patch row long enough (K = 3*3*160 > 128K/tile rows) that one image
 * spans several im2col tiles */
static void odd_cases(void **state)
{
    conv_case cases[] = {
        {1, 1, {10}, 2, {3}, 2, {.padding = TC_CAUSAL, .dilation = {3}}, false},
        {1, 3, {6}, 2, {2}, 4, {.padding = TC_SAME_LOWER, .groups = 2}, true},
        {2, 2, {5, 5}, 3, {1, 1}, 2, {.padding = TC_VALID, .stride = {2, 2}}, true},      /* 1x1, strided: im2col */
        {2, 1, {6, 6}, 2, {2, 2}, 2, {.padding = TC_SAME, .stride = {2, 2}, .dilation = {2, 2}}, true},
        {2, 1, {5, 3}, 2, {2, 2}, 2, {.padding = TC_EXPLICIT, .pad_before = {0, 3}, .pad_after = {4, 0}}, false},
        {3, 2, {3, 4, 3}, 2, {2, 2, 2}, 4, {.padding = TC_SAME_LOWER, .groups = 2}, true}, /* 3-D depthwise x2 */
        {3, 1, {3, 3, 3}, 3, {1, 1, 1}, 2, {.padding = TC_VALID}, true},                  /* 3-D 1x1x1 */
        {2, 1, {10, 10}, 160, {3, 3}, 1, {.padding = TC_SAME}, true},                      /* several tiles */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i]);
}

/* random shapes and parameters (seeded): 1-3 spatial axes, batch 1-3 */
static void random_cases(void **state)
{
    tc_rng r = tc_rng_new(77);
    for (int trial = 0; trial < 18; trial++) {
        conv_case c = {0};
        c.nd = 1 + trial % 3;
        c.n = 1 + (int64_t)tc_rng_below(&r, 3);
        int groups = 1 + (int)tc_rng_below(&r, 3);
        c.c = groups * (1 + (int64_t)tc_rng_below(&r, 2));
        c.f = groups * (1 + (int64_t)tc_rng_below(&r, 2));
        c.p.groups = groups;
        c.bias = tc_rng_below(&r, 2);
        int pads[] = {TC_VALID, TC_SAME, TC_SAME_LOWER, TC_EXPLICIT, TC_CAUSAL};
        c.p.padding = (tc_padding)pads[tc_rng_below(&r, c.nd == 1 ? 5 : 4)];
        for (int i = 0; i < c.nd; i++) {
            c.sp[i] = (c.nd == 3 ? 3 : 4) + (int64_t)tc_rng_below(&r, 4);
            c.k[i] = 1 + (int64_t)tc_rng_below(&r, 3);
            c.p.stride[i] = 1 + (int)tc_rng_below(&r, 3);
            c.p.dilation[i] = 1 + (int)tc_rng_below(&r, 2);
            c.p.pad_before[i] = (int64_t)tc_rng_below(&r, 3);
            c.p.pad_after[i] = (int64_t)tc_rng_below(&r, 2);
            if (tc_conv_out_size(c.sp[i], c.k[i], c.p.stride[i], c.p.dilation[i], c.p.padding, c.p.pad_before[i],
                                 c.p.pad_after[i]) < 1)
                c.p.dilation[i] = 1, c.k[i] = 1;
        }
        run(&c);
    }
}

static void sizes_and_errors(void **state)
{
    /* the seed's example: a 5x5 window on 28x28 gives 24x24 with VALID, 28x28 with SAME */
    assert_int_equal(tc_conv_out_size(28, 5, 1, 1, TC_VALID, 0, 0), 24);
    assert_int_equal(tc_conv_out_size(28, 5, 1, 1, TC_SAME, 0, 0), 28);
    assert_int_equal(tc_conv_out_size(28, 5, 2, 1, TC_SAME, 0, 0), 14);
    assert_int_equal(tc_conv_out_size(10, 3, 1, 4, TC_CAUSAL, 0, 0), 10);
    tc_tensor *x = tc_zeros(TC_SHAPE(1, 5, 5, 3));
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 4, 8)), NULL, NULL), "conv", "[1, 5, 5, 3]", "[3, 3, 4, 8]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 8)), NULL, NULL), "conv", "[3, 3, 8]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 1, 8)), NULL, &(tc_conv_params){.groups = 2}), "conv", "groups");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), NULL, &(tc_conv_params){.padding = TC_CAUSAL}), "conv", "CAUSAL");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(7, 7, 3, 8)), NULL, NULL), "conv", "does not fit", "[7, 7, 3, 8]");
    tc_assert_error(tc_conv(x, tc_zeros(TC_SHAPE(3, 3, 3, 8)), tc_zeros(TC_SHAPE(4)), NULL), "conv", "bias", "[4]");
    tc_assert_error(tc_conv(NULL, x, NULL, NULL), "conv", "NULL");
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(5);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv2d_cases),
        cmocka_unit_test(conv1d_3d_cases),
        cmocka_unit_test(winograd_cases),
        cmocka_unit_test(odd_cases),
        cmocka_unit_test(random_cases),
        cmocka_unit_test(sizes_and_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
