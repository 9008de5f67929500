/* The fused epilogue of tc_conv (tc_conv_params.act / .residual): without a
 * gradient, conv + bias + residual + ReLU / clip in one op gives the same
 * bits as tc_conv, tc_add and tc_relu / tc_clip, on every kernel (1x1
 * direct, im2col with many and with few tiles, thin first layers,
 * depthwise with multiplier 1 and 2, groups), every instruction-set path
 * and 1 and 2 threads. With a gradient, conv + ReLU stays fused and gives
 * the bits of the separate ops, outputs and gradients, in each ReLU
 * backprop mode; a residual or clip runs as those ops, and the residual gets
 * its gradient. Bad parameters are errors. */
#include "testutil.h"

#include <math.h>
#include <string.h>

typedef struct {
    const char *what;
    int64_t n, h, w, c, k, f, stride, groups;
} ep_case;

static const ep_case cases[] = {
    {"1x1 direct", 2, 7, 5, 24, 1, 40, 1, 1},
    {"im2col many tiles", 8, 33, 33, 64, 3, 17, 1, 1},
    {"im2col few tiles", 1, 9, 7, 40, 3, 19, 2, 1},
    {"thin", 3, 13, 11, 3, 5, 37, 1, 1},
    {"depthwise", 2, 10, 9, 35, 3, 35, 2, 35},
    {"depthwise m2", 2, 6, 7, 5, 3, 10, 1, 5},
    {"groups", 2, 8, 8, 12, 3, 18, 1, 3},
    /* a wide residual (F > 192) on each part's row blocks, in the product's
     * region: 1x1 over several MC blocks and two K blocks, 1x1 on a 7x7 map
     * (B read in place, few rows), 3x3 patch runs; a tile epilogue inside
     * the runs' product */
    {"1x1 wide residual", 1, 20, 20, 288, 1, 208, 1, 1},
    {"1x1 7x7 wide residual", 1, 7, 7, 96, 1, 260, 1, 1},
    {"3x3 runs wide residual", 1, 16, 16, 32, 3, 200, 1, 1},
    {"3x3 runs tile epilogue", 1, 12, 12, 48, 3, 40, 1, 1},
    {"3x3 runs 2 tiles wide residual", 1, 36, 36, 16, 3, 196, 1, 1},
};

static tc_tensor *separate(tc_tensor *x, tc_tensor *w, tc_tensor *b, const tc_conv_params *p)
{
    tc_conv_params plain = *p;
    plain.act = TC_CONV_ACT_NONE, plain.residual = NULL;
    tc_tensor *y = tc_conv(x, w, b, &plain);
    if (p->residual) y = tc_add(y, p->residual);
    if (p->act == TC_CONV_RELU) y = tc_relu(y);
    if (p->act == TC_CONV_CLIP) y = tc_clip(y, p->act_lo, p->act_hi);
    return y;
}

static void same_bits(const tc_tensor *a, const tc_tensor *b, const char *what, const char *how)
{
    assert_int_equal(tc_numel(a), tc_numel(b));
    if (memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a)) != 0)
        fail_msg("%s (%s, %s, %d threads): fused and separate ops differ", what, how, tc_isa_name(tc_isa()),
                 tc_num_threads());
}

static void fused_equals_separate(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    bool was = tc_set_grad_enabled(false); /* inference: the fused kernels run */
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const ep_case *e = &cases[ci];
            tc_rng rng = tc_rng_new(3 + ci);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(e->n, e->h, e->w, e->c), -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, TC_SHAPE(e->k, e->k, e->c / e->groups, e->f), -1, 1);
            tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(e->f), -1, 1);
            tc_conv_params p = {.stride = {(int)e->stride, (int)e->stride}, .padding = TC_SAME, .groups = (int)e->groups};
            tc_tensor *y0 = tc_conv(x, w, b, &p);
            tc_assert_ok(y0);
            tc_tensor *res = tc_test_uniform(&rng, y0->ndim, y0->shape, -3, 3);
            struct {
                tc_conv_act act;
                bool res, bias;
                const char *how;
            } kinds[] = {{TC_CONV_ACT_NONE, true, true, "residual"},     {TC_CONV_RELU, false, true, "relu"},
                         {TC_CONV_RELU, true, true, "residual + relu"}, {TC_CONV_CLIP, false, true, "relu6"},
                         {TC_CONV_CLIP, true, false, "residual + clip, no bias"}};
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                tc_conv_params q = p;
                q.act = kinds[k].act, q.residual = kinds[k].res ? res : NULL;
                q.act_lo = 0, q.act_hi = kinds[k].bias ? 6 : (tc_scalar)0.5;
                tc_tensor *bias = kinds[k].bias ? b : NULL, *ref = NULL;
                for (int threads = 1; threads <= 2; threads++) {
                    tc_set_num_threads(threads);
                    tc_tensor *fused = tc_conv(x, w, bias, &q), *sep = separate(x, w, bias, &q);
                    tc_assert_ok(fused);
                    tc_assert_ok(sep);
                    same_bits(fused, sep, e->what, kinds[k].how);
                    if (threads == 1) ref = fused;
                    else same_bits(fused, ref, e->what, "1 vs 2 threads");
                }
            }
            tc_step_reset();
        }
    }
    tc_set_grad_enabled(was);
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* The depthwise line kernels apply ReLU / clip in registers (max / min
 * instructions): NaN outputs and negative zeros must come out as tc_relu
 * and tc_clip make them. x is zero but for NaNs, the kernel negative and
 * the bias -0, so most outputs are -0 and some NaN. */
static void depthwise_special_values(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    bool was = tc_set_grad_enabled(false);
    const int64_t C = 21; /* a channel tail on both vector widths */
    tc_tensor *x = tc_zeros(TC_SHAPE(1, 6, 9, C)), *w = tc_full(TC_SHAPE(3, 3, 1, C), -0.5f);
    tc_tensor *b = tc_full(TC_SHAPE(C), -0.0f);
    for (int64_t i = 0; i < tc_numel(x); i += 37) x->data[i] = (tc_scalar)NAN;
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int k = 0; k < 3; k++) {
            tc_conv_params q = {.padding = TC_SAME, .groups = (int)C};
            q.act = k == 0 ? TC_CONV_RELU : TC_CONV_CLIP;
            q.act_lo = k == 2 ? -1 : 0, q.act_hi = 6;
            tc_tensor *fused = tc_conv(x, w, b, &q), *sep = separate(x, w, b, &q);
            tc_assert_ok(fused);
            tc_assert_ok(sep);
            same_bits(fused, sep, "depthwise, NaN and -0", k == 0 ? "relu" : k == 1 ? "clip 0..6" : "clip -1..6");
            int64_t nans = 0, negzeros = 0;
            for (int64_t i = 0; i < tc_numel(fused); i++) nans += isnan(fused->data[i]), negzeros += signbit(fused->data[i]) != 0;
            assert_true(k == 0 ? nans == 0 : nans > 0); /* ReLU maps NaN to 0; clip keeps it */
            assert_true(k == 0 ? negzeros == 0 : negzeros > 0);
        }
    }
    tc_step_reset();
    tc_set_grad_enabled(was);
    tc_set_isa(keep);
}

/* training with a fused ReLU: output and the gradients of input, kernel and
 * bias equal the separate tc_conv + tc_relu bit for bit, on every kernel,
 * path, thread count and ReLU backprop mode (plain, guided, rectified) */
static void training_fused_relu(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const ep_case *e = &cases[ci];
            tc_rng rng = tc_rng_new(21 + ci);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(e->n, e->h, e->w, e->c), -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, TC_SHAPE(e->k, e->k, e->c / e->groups, e->f), -1, 1);
            tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(e->f), -1, 1);
            tc_conv_params p = {.stride = {e->stride, e->stride}, .padding = TC_SAME, .groups = e->groups,
                                .act = TC_CONV_RELU};
            tc_tensor *t[3] = {x, w, b};
            for (int mode = TC_RELU_GRAD_PLAIN; mode <= TC_RELU_GRAD_RECTIFIED; mode++)
                for (int threads = 1; threads <= 2; threads++) {
                    tc_set_num_threads(threads);
                    tc_tensor *y[2], *g[2][3];
                    for (int pass = 0; pass < 2; pass++) {
                        for (int i = 0; i < 3; i++) {
                            tc_set_requires_grad(t[i], true);
                            t[i]->grad = NULL;
                        }
                        y[pass] = pass ? separate(x, w, b, &p) : tc_conv(x, w, b, &p);
                        tc_assert_ok(y[pass]);
                        tc_rng gr = tc_rng_new(77);
                        tc_tensor *gy = tc_test_uniform(&gr, y[pass]->ndim, y[pass]->shape, -1, 1);
                        tc_relu_grad_mode was = tc_set_relu_grad_mode((tc_relu_grad_mode)mode);
                        assert_int_equal(tc_backward_with(y[pass], gy), TC_OK);
                        tc_set_relu_grad_mode(was);
                        for (int i = 0; i < 3; i++) {
                            assert_non_null(t[i]->grad);
                            g[pass][i] = t[i]->grad;
                        }
                    }
                    char how[64];
                    snprintf(how, sizeof how, "training, relu mode %d", mode);
                    same_bits(y[0], y[1], e->what, how);
                    for (int i = 0; i < 3; i++) same_bits(g[0][i], g[1][i], e->what, how);
                }
            tc_step_reset(); /* x, w and b are step tensors: released once the case is done */
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* with a gradient the epilogue runs as the separate ops: same outputs and gradients, the residual's included */
static void training_runs_unfused(void **state)
{
    (void)state;
    tc_rng rng = tc_rng_new(9);
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 6, 6, 8), -1, 1), *w = tc_test_uniform(&rng, TC_SHAPE(3, 3, 8, 8), -1, 1);
    tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(8), -1, 1), *res = tc_test_uniform(&rng, TC_SHAPE(2, 6, 6, 8), -1, 1);
    tc_tensor *gy = tc_test_uniform(&rng, TC_SHAPE(2, 6, 6, 8), -1, 1);
    tc_tensor *t[4] = {x, w, b, res}, *g[2][4];
    tc_conv_params p = {.padding = TC_SAME, .act = TC_CONV_RELU, .residual = res};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            tc_set_requires_grad(t[i], true);
            t[i]->grad = NULL;
        }
        tc_tensor *y = pass ? separate(x, w, b, &p) : tc_conv(x, w, b, &p);
        tc_assert_ok(y);
        assert_int_equal(tc_backward_with(y, gy), TC_OK);
        for (int i = 0; i < 4; i++) {
            assert_non_null(t[i]->grad);
            g[pass][i] = t[i]->grad;
        }
    }
    for (int i = 0; i < 4; i++) tc_assert_close(g[0][i], g[1][i], 0, 0);
    /* the residual's gradient is gy where the sum is positive: not all zero, not all gy */
    int64_t zeros = 0;
    for (int64_t i = 0; i < tc_numel(res); i++) zeros += g[0][3]->data[i] == 0;
    assert_true(zeros > 0 && zeros < tc_numel(res));
    tc_step_reset();
}

static void bad_parameters(void **state)
{
    (void)state;
    tc_tensor *x = tc_zeros(TC_SHAPE(1, 4, 4, 2)), *w = tc_zeros(TC_SHAPE(3, 3, 2, 5));
    tc_assert_error(tc_conv(x, w, NULL, &(tc_conv_params){.padding = TC_SAME, .residual = tc_zeros(TC_SHAPE(1, 4, 4, 2))}),
                    "conv", "residual", "[1, 4, 4, 2]");
    tc_assert_error(tc_conv(x, w, NULL, &(tc_conv_params){.act = (tc_conv_act)7}), "conv", "activation");
    tc_assert_error(tc_conv(x, w, NULL, &(tc_conv_params){.act = TC_CONV_CLIP, .act_lo = 2, .act_hi = 1}), "conv", "clip");
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fused_equals_separate),
        cmocka_unit_test(depthwise_special_values),
        cmocka_unit_test(training_fused_relu),
        cmocka_unit_test(training_runs_unfused),
        cmocka_unit_test(bad_parameters),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
