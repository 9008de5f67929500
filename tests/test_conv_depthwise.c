/* Depthwise convolution (groups = C, multiplier M) against naive loops in
 * double, forward and the three gradients, on every instruction-set path
 * the CPU has (the vector line kernels of conv_depthwise.h for M = 1, the C
 * loops otherwise), with results bit-identical for 1 and 2 threads on each
 * path. Shapes: channel counts off the vector widths, fewer than 4 and not
 * a multiple of 4 output positions per line, strides (also > kernel),
 * dilation, asymmetric pads, 1-D and 3-D, multipliers 1 to 3, no bias. */
#include "naive_conv.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int nd;
    int64_t n, sp[3], c, m, k[3], s[3], d[3], pb[3], pa[3];
    bool bias;
} dw_case;

static const dw_case cases[] = {
    {2, 2, {9, 11}, 17, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true},  /* MobileNet 3x3, C = 16 + 1 */
    {2, 3, {13, 10}, 35, 1, {3, 3}, {2, 2}, {1, 1}, {1, 0}, {1, 1}, true}, /* stride 2, asymmetric pads */
    {2, 1, {7, 21}, 8, 1, {5, 5}, {1, 1}, {2, 2}, {4, 4}, {4, 4}, true},   /* dilation 2, wide padding */
    {2, 2, {10, 10}, 70, 1, {2, 2}, {3, 3}, {1, 1}, {0, 0}, {0, 0}, false}, /* stride > kernel, no bias */
    {2, 2, {6, 3}, 3, 1, {3, 1}, {1, 1}, {1, 1}, {1, 0}, {1, 0}, true},    /* OW = 3 < 4, C = 3 */
    {1, 4, {37}, 24, 1, {7}, {1}, {3}, {9}, {9}, true},                    /* 1-D, dilated */
    {3, 2, {4, 5, 6}, 19, 1, {3, 3, 3}, {1, 2, 1}, {1, 1, 2}, {1, 1, 2}, {1, 0, 2}, true}, /* 3-D */
    {2, 2, {8, 9}, 5, 2, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, true},   /* multiplier 2 */
    {2, 1, {5, 7}, 4, 3, {2, 3}, {2, 1}, {1, 2}, {0, 2}, {1, 2}, false},  /* multiplier 3 */
    /* wide lines, stride 1 and 2: positions inside and at both borders, a 1-position tail */
    {2, 2, {5, 29}, 21, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true},
    {2, 1, {6, 41}, 33, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 1}, true},
};

typedef naive_dims dims3;

static naive_conv_case as_naive(const dw_case *b)
{
    naive_conv_case r = {.nd = b->nd, .n = b->n, .c = b->c, .f = b->c * b->m, .groups = b->c};
    for (int i = 0; i < b->nd; i++)
        r.sp[i] = b->sp[i], r.k[i] = b->k[i], r.s[i] = b->s[i], r.d[i] = b->d[i], r.pb[i] = b->pb[i], r.pa[i] = b->pa[i];
    return r;
}

static dims3 dims_of(const dw_case *b)
{
    naive_conv_case r = as_naive(b);
    return naive_conv_dims(&r);
}

/* y, dx, dw, db from x, w, bias, gy in double (tests/util/naive_conv.c) */
static void naive(const dw_case *b, const float *x, const float *w, const float *bias, const float *gy, double *y,
                  double *dx, double *dw, double *db)
{
    naive_conv_case r = as_naive(b);
    naive_conv(&r, x, w, bias, gy, y, dx, dw, db);
}

static void assert_near(const tc_tensor *t, const double *ref, const char *what, size_t ci)
{
    for (int64_t i = 0; i < tc_numel(t); i++)
        if (fabs(t->data[i] - ref[i]) > 1e-5 * (1 + fabs(ref[i])))
            fail_msg("%s case %zu: %s[%lld] is %.9g, loops %.9g", tc_isa_name(tc_isa()), ci, what, (long long)i,
                     (double)t->data[i], ref[i]);
}

static void against_loops(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const dw_case *b = &cases[ci];
            dims3 m = dims_of(b);
            int64_t F = b->c * b->m, xs[5], ks[5], ys[5];
            xs[0] = ys[0] = b->n;
            for (int i = 0; i < b->nd; i++) xs[1 + i] = b->sp[i], ks[i] = b->k[i], ys[1 + i] = m.out[3 - b->nd + i];
            xs[b->nd + 1] = b->c, ks[b->nd] = 1, ks[b->nd + 1] = F, ys[b->nd + 1] = F;
            tc_rng rng = tc_rng_new(7 + ci);
            tc_tensor *x = tc_test_uniform(&rng, b->nd + 2, xs, -1, 1), *w = tc_test_uniform(&rng, b->nd + 2, ks, -1, 1);
            tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){F}, -1, 1);
            tc_tensor *gy = tc_test_uniform(&rng, b->nd + 2, ys, -1, 1);
            double *ref[4] = {calloc((size_t)tc_numel(gy), sizeof(double)), calloc((size_t)tc_numel(x), sizeof(double)),
                              calloc((size_t)tc_numel(w), sizeof(double)), calloc((size_t)F, sizeof(double))};
            naive(b, x->data, w->data, b->bias ? bias->data : NULL, gy->data, ref[0], ref[1], ref[2], ref[3]);
            tc_conv_params p = {.padding = TC_EXPLICIT, .groups = (int)b->c};
            for (int i = 0; i < b->nd; i++) {
                p.stride[i] = (int)b->s[i], p.dilation[i] = (int)b->d[i];
                p.pad_before[i] = b->pb[i], p.pad_after[i] = b->pa[i];
            }
            tc_tensor *kept[2][4];
            for (int threads = 1; threads <= 2; threads++) {
                tc_set_num_threads(threads);
                tc_set_requires_grad(x, true);
                tc_set_requires_grad(w, true);
                tc_set_requires_grad(bias, true);
                x->grad = w->grad = bias->grad = NULL;
                tc_tensor *y = tc_conv(x, w, b->bias ? bias : NULL, &p);
                tc_assert_ok(y);
                assert_int_equal(y->ndim, b->nd + 2);
                assert_int_equal(tc_numel(y), tc_numel(gy));
                assert_int_equal(tc_backward_with(y, gy), TC_OK);
                assert_near(y, ref[0], "y", ci);
                assert_near(x->grad, ref[1], "dx", ci);
                assert_near(w->grad, ref[2], "dw", ci);
                if (b->bias) assert_near(bias->grad, ref[3], "db", ci);
                tc_tensor *r[4] = {y, x->grad, w->grad, b->bias ? bias->grad : y};
                for (int i = 0; i < 4; i++) kept[threads - 1][i] = r[i]; /* step tensors: alive until the reset */
            }
            for (int i = 0; i < 4; i++)
                if (memcmp(kept[0][i]->data, kept[1][i]->data, sizeof(tc_scalar) * (size_t)tc_numel(kept[0][i])) != 0)
                    fail_msg("%s case %zu: result %d differs between 1 and 2 threads", tc_isa_name(tc_isa()), ci, i);
            for (int i = 0; i < 4; i++) free(ref[i]);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* The 8-position steps of 3-wide rows at strides 1 and 2
 * (conv_depthwise_line.inc) give the bits of the 4-position steps: a line
 * of 26 outputs (VALID, so 8-position steps from 0, with a ReLU and
 * channels off the vector widths) against the same outputs from crops of
 * the input 3 * stride + 3 columns wide, 4 outputs each, which only the
 * 4-position steps compute. */
static void wide_steps_same_bits(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    const int64_t H = 4, C = 37, OW = 26;
    for (int64_t s = 1; s <= 2; s++) {
        const int64_t W = (OW - 1) * s + 3, CW = 3 * s + 3;
        for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
            if (!tc_isa_supported((tc_isa_level)isa)) continue;
            assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
            tc_rng rng = tc_rng_new(99);
            tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){1, H, W, C}, -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, 1, C}, -1, 1);
            tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){C}, -1, 1);
            tc_conv_params p = {.padding = TC_VALID, .groups = (int)C, .act = TC_CONV_RELU};
            p.stride[0] = p.stride[1] = (int)s;
            tc_tensor *y = tc_conv(x, w, bias, &p);
            tc_assert_ok(y);
            const int64_t OH = (H - 3) / s + 1;
            for (int64_t o0 = 0; o0 + 4 <= OW; o0 += 3) {
                tc_tensor *xc = tc_tensor_new(4, (int64_t[]){1, H, CW, C});
                for (int64_t h = 0; h < H; h++)
                    memcpy(xc->data + h * CW * C, x->data + (h * W + o0 * s) * C, sizeof(tc_scalar) * (size_t)(CW * C));
                tc_tensor *yc = tc_conv(xc, w, bias, &p);
                tc_assert_ok(yc);
                assert_int_equal(yc->shape[2], 4);
                for (int64_t h = 0; h < OH; h++)
                    if (memcmp(yc->data + h * 4 * C, y->data + (h * OW + o0) * C, sizeof(tc_scalar) * (size_t)(4 * C)))
                        fail_msg("%s stride %lld: outputs %lld..%lld of row %lld differ from the crop's",
                                 tc_isa_name(tc_isa()), (long long)s, (long long)o0, (long long)o0 + 3, (long long)h);
                tc_tensor_free(xc);
            }
            assert_int_equal(y->shape[2], OW);
            tc_tensor_free(x), tc_tensor_free(w), tc_tensor_free(bias);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(against_loops), cmocka_unit_test(wide_steps_same_bits)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
