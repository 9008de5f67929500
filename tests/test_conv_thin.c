/* Thin convolutions (one group, 1-4 input channels: conv_thin.c and the
 * direct kernels of conv_thin_direct.c) on strided shapes, against naive
 * loops in double, forward and the three gradients, on every instruction-set
 * path the CPU has, with results bit-identical for 1 and 2 threads on each.
 * The shapes are the stems' (InceptionV3's VALID 3x3 stride 2, ResNet's 7x7
 * stride 2 with pads of 3) at odd sizes: VALID layers whose taps end at the
 * input's last column (the direct kernels read the input in place) or short
 * of it (in place with the input's own row stride), strides 2 and 3 with
 * symmetric and uneven pads (the padded copy), batch 1 with 3 row blocks of
 * the kernel gradient made 4 balanced ones, 1-D and 3-D; for the input
 * gradient's phases (conv_thin_direct.c) pads of 0, 1 and 3 at batch 1 and
 * 3, phases that no tap reaches (1x1, dilated), strides 3 and 4. The kernel and bias
 * gradients are also taken with the input needing no gradient (a first
 * layer): the same bits as with it. */
#include "naive_conv.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int nd;
    int64_t n, sp[3], c, k[3], f, s[3], d[3], pb[3], pa[3];
} thin_case;

static const thin_case cases[] = {
    {2, 1, {21, 19}, 3, {3, 3}, 32, {2, 2}, {1, 1}, {0, 0}, {0, 0}},   /* VALID, taps end on the last column */
    {2, 2, {20, 22}, 1, {3, 3}, 37, {2, 2}, {1, 1}, {0, 0}, {0, 0}},   /* VALID, one column unread: row stride W */
    {2, 1, {101, 101}, 3, {3, 3}, 64, {2, 2}, {1, 1}, {0, 0}, {0, 0}}, /* 50 rows of 50 x 64: 3 dW blocks -> 4 */
    {2, 2, {23, 22}, 3, {7, 7}, 64, {2, 2}, {1, 1}, {3, 3}, {3, 3}},   /* ResNet's stem, odd size */
    {2, 1, {17, 25}, 2, {3, 3}, 20, {3, 3}, {1, 1}, {0, 0}, {0, 0}},   /* stride 3 VALID */
    {2, 3, {16, 13}, 4, {3, 5}, 33, {3, 2}, {1, 1}, {2, 1}, {0, 2}},   /* strides 3 and 2, uneven pads */
    {2, 1, {30, 29}, 1, {5, 5}, 16, {2, 2}, {2, 1}, {1, 0}, {2, 1}},   /* dilation, pads on one side */
    {1, 2, {301}, 1, {4}, 24, {2}, {1}, {0}, {0}},                     /* 1-D, even kernel */
    {3, 2, {5, 9, 8}, 3, {3, 3, 3}, 16, {2, 2, 2}, {1, 1, 1}, {0, 1, 0}, {0, 1, 1}}, /* 3-D */
    /* the phase-split input gradient: MobileNet's stem (pads of 1) at batch 3, ResNet's at batch 3 and 1,
     * a 1x1 and a dilated kernel (phases without a tap), a 2x2 (one tap per phase), stride 4 */
    {2, 3, {25, 23}, 3, {3, 3}, 32, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
    {2, 3, {19, 21}, 3, {7, 7}, 64, {2, 2}, {1, 1}, {3, 3}, {3, 3}},
    {2, 1, {37, 35}, 3, {7, 7}, 64, {2, 2}, {1, 1}, {3, 3}, {2, 3}},
    {2, 3, {15, 14}, 2, {1, 1}, 24, {2, 2}, {1, 1}, {0, 0}, {0, 0}},
    {2, 1, {24, 27}, 3, {3, 3}, 16, {2, 2}, {2, 2}, {2, 1}, {2, 2}},
    {2, 3, {18, 17}, 4, {2, 2}, 40, {2, 2}, {1, 1}, {0, 0}, {0, 1}},
    {2, 1, {31, 29}, 1, {5, 3}, 8, {4, 3}, {1, 1}, {3, 1}, {0, 1}},
};

typedef naive_dims dims3;

static naive_conv_case as_naive(const thin_case *b)
{
    naive_conv_case r = {.nd = b->nd, .n = b->n, .c = b->c, .f = b->f, .groups = 1};
    for (int i = 0; i < b->nd; i++)
        r.sp[i] = b->sp[i], r.k[i] = b->k[i], r.s[i] = b->s[i], r.d[i] = b->d[i], r.pb[i] = b->pb[i], r.pa[i] = b->pa[i];
    return r;
}

static dims3 dims_of(const thin_case *b)
{
    naive_conv_case r = as_naive(b);
    return naive_conv_dims(&r);
}

/* y, dx, dw, db from x, w, bias, gy in double (tests/util/naive_conv.c) */
static void naive(const thin_case *b, const float *x, const float *w, const float *bias, const float *gy, double *y,
                  double *dx, double *dw, double *db)
{
    naive_conv_case r = as_naive(b);
    naive_conv(&r, x, w, bias, gy, y, dx, dw, db);
}

static void assert_near(const tc_tensor *t, const double *ref, const char *what, size_t ci, int threads)
{
    for (int64_t i = 0; i < tc_numel(t); i++)
        if (fabs(t->data[i] - ref[i]) > 1e-4 * (1 + fabs(ref[i])))
            fail_msg("%s case %zu, %d threads: %s[%lld] is %.9g, loops %.9g", tc_isa_name(tc_isa()), ci, threads, what,
                     (long long)i, (double)t->data[i], ref[i]);
}

static void same_bits(const tc_tensor *a, const tc_tensor *b, const char *what, size_t ci)
{
    if (memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a)) != 0)
        fail_msg("%s case %zu: %s", tc_isa_name(tc_isa()), ci, what);
}

static void strided_against_loops(void **state)
{
    (void)state;
    const tc_isa_level keep = tc_isa();
    const int keep_threads = tc_num_threads();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const thin_case *b = &cases[ci];
            dims3 m = dims_of(b);
            int64_t xs[5], ks[5], ys[5];
            xs[0] = ys[0] = b->n;
            for (int i = 0; i < b->nd; i++) xs[1 + i] = b->sp[i], ks[i] = b->k[i], ys[1 + i] = m.out[3 - b->nd + i];
            xs[b->nd + 1] = b->c, ks[b->nd] = b->c, ks[b->nd + 1] = b->f, ys[b->nd + 1] = b->f;
            tc_rng rng = tc_rng_new(31 + ci);
            tc_tensor *x = tc_test_uniform(&rng, b->nd + 2, xs, -1, 1), *w = tc_test_uniform(&rng, b->nd + 2, ks, -1, 1);
            tc_tensor *bias = tc_test_uniform(&rng, 1, (int64_t[]){b->f}, -1, 1);
            tc_tensor *gy = tc_test_uniform(&rng, b->nd + 2, ys, -1, 1);
            double *ref[4] = {calloc((size_t)tc_numel(gy), sizeof(double)), calloc((size_t)tc_numel(x), sizeof(double)),
                              calloc((size_t)tc_numel(w), sizeof(double)), calloc((size_t)b->f, sizeof(double))};
            naive(b, x->data, w->data, bias->data, gy->data, ref[0], ref[1], ref[2], ref[3]);
            tc_conv_params p = {.padding = TC_EXPLICIT};
            for (int i = 0; i < b->nd; i++) {
                p.stride[i] = (int)b->s[i], p.dilation[i] = (int)b->d[i];
                p.pad_before[i] = b->pb[i], p.pad_after[i] = b->pa[i];
            }
            tc_tensor *kept[2][4], *first[2][2]; /* step tensors: alive until the reset */
            for (int threads = 1; threads <= 2; threads++) {
                tc_set_num_threads(threads);
                for (int xgrad = 1; xgrad >= 0; xgrad--) {
                    tc_set_requires_grad(x, xgrad);
                    tc_set_requires_grad(w, true);
                    tc_set_requires_grad(bias, true);
                    x->grad = w->grad = bias->grad = NULL;
                    tc_tensor *y = tc_conv(x, w, bias, &p);
                    tc_assert_ok(y);
                    assert_int_equal(tc_numel(y), tc_numel(gy));
                    assert_int_equal(tc_backward_with(y, gy), TC_OK);
                    assert_near(y, ref[0], "y", ci, threads);
                    assert_near(w->grad, ref[2], "dw", ci, threads);
                    assert_near(bias->grad, ref[3], "db", ci, threads);
                    if (xgrad) {
                        assert_near(x->grad, ref[1], "dx", ci, threads);
                        tc_tensor *r[4] = {y, x->grad, w->grad, bias->grad};
                        for (int i = 0; i < 4; i++) kept[threads - 1][i] = r[i];
                    } else {
                        assert_null(x->grad);
                        first[threads - 1][0] = w->grad, first[threads - 1][1] = bias->grad;
                    }
                }
            }
            for (int i = 0; i < 4; i++) same_bits(kept[0][i], kept[1][i], "a result differs between 1 and 2 threads", ci);
            for (int t = 0; t < 2; t++) {
                same_bits(first[t][0], kept[t][2], "dw without dx differs from dw with it", ci);
                same_bits(first[t][1], kept[t][3], "db without dx differs from db with it", ci);
            }
            for (int i = 0; i < 4; i++) free(ref[i]);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(keep_threads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(strided_against_loops)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
