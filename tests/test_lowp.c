/* Reduced-precision inference GEMMs (src/core/gemm_lowp.c) and the
 * convolutions that use them (tc_conv_weights_prepare_prec):
 * - every kernel the machine can run (each ISA path, with and without the
 *   dot-product instructions) against a double reference computed from the
 *   SAME converted values: for int8 the integer sums are exact, so the only
 *   difference left is the float epilogue (a few ulp); for bf16 the
 *   products are exact in float and only the float accumulation differs;
 *   odd shapes (1 x 1, sizes off the register blocks), op(A) = A^T, B^T,
 *   bias, beta;
 * - every int8 path the same bits (exact integer sums), on operands that
 *   put the AVX2 (no VNNI) kernel's int16 pairs at their bound;
 * - the bits of 1 and 2 threads (the GEMM on every path, and a convolution);
 * - a convolution with bf16 / int8 weights against the float one, within a
 *   tolerance, and really on the reduced path (not the float bits);
 * - the same end to end: an imported ONNX CNN (Conv, BatchNormalization,
 *   residual Adds, Gemm) with tc_onnx_set_precision, and a zoo ResNet50 (a
 *   quarter of the width) with tc_model_prepare_inference_prec. */
#include "testutil.h"
#include "tensorcook/onnx.h"

#include "../src/core/gemm_lowp.h"
#include "../src/core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float bf16_value(float f)
{
    uint32_t u = (uint32_t)tc_lowp_bf16_bits(f) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

static float *uniform(tc_rng *rng, int64_t n, float lo, float hi)
{
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (n > 0) tc_rng_uniform(rng, v, n, lo, hi);
    return v;
}

typedef struct {
    int64_t m, k, n;
    bool ta, tb, bias;
    float alpha, beta;
} mm_case;

static const mm_case mm_cases[] = {
    {1, 1, 1, false, false, false, 1, 0},  {5, 7, 3, false, false, true, 1, 0},
    {13, 37, 33, false, true, false, 1, 0}, {29, 130, 65, true, false, true, 1, 0},
    {50, 259, 31, false, false, false, 0.5f, 1.5f}, {12, 64, 32, false, false, true, 1, 0},
    {97, 18, 100, true, true, false, -2, 0.25f}, {2, 515, 7, false, false, true, 1, 0},
};

/* C = alpha op(A) B (+ bias | + beta C) through a reduced-precision panel,
 * checked element by element against a double reference of the same
 * quantised values */
static void check_case(const mm_case *e, tc_precision prec, uint64_t seed)
{
    tc_rng rng = tc_rng_new(seed);
    const int64_t m = e->m, k = e->k, n = e->n, lda = e->ta ? m + 3 : k + 2, ldb = e->tb ? k + 1 : n + 5;
    float *a = uniform(&rng, (e->ta ? k : m) * lda, -1, 1);
    float *b = uniform(&rng, (e->tb ? n : k) * ldb, -1, 1);
    float *bias = uniform(&rng, n, -1, 1);
    /* ReLU-like rows in A (all >= 0) and a zero row, as the activations of a network have */
    for (int64_t p = 0; p < k; p++) {
        float *x = e->ta ? &a[p * lda + 0] : &a[0 * lda + p];
        *x = fabsf(*x);
        if (m > 2) *(e->ta ? &a[p * lda + 2] : &a[2 * lda + p]) = 0;
    }
    const int64_t ldc = n + 4;
    float *c = uniform(&rng, m * ldc, -1, 1), *c0 = malloc(sizeof(float) * (size_t)(m * ldc));
    memcpy(c0, c, sizeof(float) * (size_t)(m * ldc));
    tc_gemm_b_panel pb;
    assert_true(tc_gemm_prepare_b_kept_prec(&pb, e->tb, k, n, b, ldb, prec));
    assert_non_null(pb.lowp);
    tc_gemm_serial_b(e->ta, m, e->alpha, a, lda, &pb, e->bias ? bias : NULL, e->beta, c, ldc);
    const tc_lowp_panel *lp = pb.lowp;
    const char *kname = tc_lowp_kernel_name((int)prec);
    const bool a_bf16 = strstr(kname, "vdpbf16ps") != NULL;
    uint8_t *u = malloc((size_t)k);
    for (int64_t i = 0; i < m; i++) {
        float sa = 0;
        int32_t zp = 0;
        const float *row = e->ta ? a + i : a + i * lda;
        const int64_t step = e->ta ? lda : 1;
        if (prec == TC_PRECISION_INT8) tc_lowp_quantize_row(row, k, step, u, &sa, &zp);
        for (int64_t j = 0; j < n; j++) {
            double ref, scale_of_error;
            const double base = e->bias ? bias[j] : e->beta == 0 ? 0 : (double)e->beta * c0[i * ldc + j];
            if (prec == TC_PRECISION_INT8) {
                /* the stored int8 weights of column j, and the exact integer sum */
                int64_t acc = 0;
                const int8_t *q = lp->q + (j / 32) * lp->kp * 32;
                for (int64_t p = 0; p < k; p++) acc += (int64_t)(u[p] - zp) * q[(p / 4) * 128 + (j % 32) * 4 + p % 4];
                const double v = (double)e->alpha * sa * lp->scale[j] * (double)acc;
                ref = base + v;
                scale_of_error = 4e-7 * (fabs(v) + fabs(base)) + 1e-30;
            } else {
                double s = 0, sabs = 0;
                for (int64_t p = 0; p < k; p++) {
                    const float x = row[p * step];
                    const double av = a_bf16 ? bf16_value(x) : x;
                    const double bv = bf16_value(e->tb ? b[j * ldb + p] : b[p * ldb + j]);
                    s += av * bv;
                    sabs += fabs(av * bv);
                }
                ref = base + (double)e->alpha * s;
                scale_of_error = (double)(k + 4) * 1.2e-7 * (fabs((double)e->alpha) * sabs + fabs(base)) + 1e-30;
            }
            const double got = c[i * ldc + j];
            if (!(fabs(got - ref) <= scale_of_error))
                fail_msg("%s %s [%lld x %lld x %lld ta %d tb %d]: C[%lld][%lld] = %.9g, reference %.9g", kname,
                         tc_isa_name(tc_isa()), (long long)m, (long long)k, (long long)n, e->ta, e->tb, (long long)i,
                         (long long)j, got, ref);
        }
        /* the padding past n is untouched */
        for (int64_t j = n; j < ldc; j++) assert_true(c[i * ldc + j] == c0[i * ldc + j]);
    }
    tc_gemm_b_panel_release(&pb);
    free(u);
    free(a);
    free(b);
    free(bias);
    free(c);
    free(c0);
}

/* the kernel settings a test walks: dot-product instructions off, on, and
 * (int8) on but VNNI off: the AVX2 kernel a CPU without VNNI runs */
static void use_dot_mode(int mode)
{
    tc_lowp_set_dot(mode >= 1);
    tc_gemv_set_int8_vnni(mode != 2);
}

static void kernels_match_reference(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    int kernels_run = 0;
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int dot = 0; dot <= 2; dot++) {
            use_dot_mode(dot);
            for (int pr = 1; pr <= 2; pr++) {
                for (size_t ci = 0; ci < sizeof mm_cases / sizeof mm_cases[0]; ci++)
                    check_case(&mm_cases[ci], (tc_precision)pr, 100 + ci * 7 + (uint64_t)pr);
                print_message("isa %s, dot %d: %s\n", tc_isa_name(tc_isa()), dot, tc_lowp_kernel_name(pr));
                kernels_run++;
            }
        }
    }
    use_dot_mode(1);
    assert_int_equal(tc_set_isa(keep), TC_OK);
    assert_true(kernels_run >= 4);
}

/* C of one int8 product on the current path */
static void int8_product(int64_t m, int64_t k, int64_t n, const float *a, const float *b, const float *bias, float *c)
{
    tc_gemm_b_panel pb;
    assert_true(tc_gemm_prepare_b_kept_prec(&pb, false, k, n, b, n, TC_PRECISION_INT8));
    tc_gemm_serial_b(false, m, 1, a, k, &pb, bias, 0, c, n);
    tc_gemm_b_panel_release(&pb);
}

/* Every int8 kernel (vpdpbusd AVX-512 / AVX-VNNI, the AVX2 vpmaddubsw one,
 * C) sums the same integers and every epilogue is the same formula, so C is
 * the same bits on every path. The operands put the AVX2 kernel's int16
 * pairs at their bound: rows of +-1 quantise to u = 0 and 255 (s = u - 128 =
 * -128 and 127), columns of sign(a) quantise to q = +-127 with the sign of s,
 * so a pair reaches 2 x 128 x 127 = 32,512 (u x q pairs would saturate
 * vpmaddubsw at 64,770); other rows and columns random. */
static void int8_paths_same_bits(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    tc_rng rng = tc_rng_new(77);
    const int64_t m = 23, k = 301, n = 45;
    float *a = uniform(&rng, m * k, -1, 1), *b = uniform(&rng, k * n, -1, 1), *bias = uniform(&rng, n, -1, 1);
    for (int64_t p = 0; p < k; p++) {
        const float sgn = (p * 7 + p / 3) % 5 < 2 ? -1.0f : 1.0f;
        for (int64_t i = 0; i < 6; i++) a[i * k + p] = sgn;           /* u in {0, 255}, zp 128 */
        a[7 * k + p] = -1.0f;                                          /* a constant row: u = 0 */
        for (int64_t j = 0; j < 5; j++) b[p * n + j] = j % 2 ? -sgn : sgn; /* q = +-127 */
    }
    float *ref = malloc(sizeof(float) * (size_t)(m * n)), *c = malloc(sizeof(float) * (size_t)(m * n));
    assert_int_equal(tc_set_isa(TC_ISA_GENERIC), TC_OK);
    int8_product(m, k, n, a, b, bias, ref);
    /* the integers really are at the bound: row 0 x column 0 sums (u - zp) q = 128 x 127 x k */
    assert_true(fabsf(ref[0] - bias[0]) > 0.9f * (float)k);
    int paths = 0;
    for (int isa = TC_ISA_AVX2; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int dot = 0; dot <= 2; dot++) {
            use_dot_mode(dot);
            int8_product(m, k, n, a, b, bias, c);
            if (memcmp(c, ref, sizeof(float) * (size_t)(m * n))) {
                for (int64_t i = 0; i < m * n; i++)
                    if (c[i] != ref[i])
                        fail_msg("%s on %s: C[%lld][%lld] = %.9g, generic C %.9g", tc_lowp_kernel_name(TC_PRECISION_INT8),
                                 tc_isa_name(tc_isa()), (long long)(i / n), (long long)(i % n), c[i], ref[i]);
            }
            paths++;
        }
    }
    use_dot_mode(1);
    assert_int_equal(tc_set_isa(keep), TC_OK);
    print_message("%d int8 paths: the bits of the generic kernel\n", paths);
    free(a), free(b), free(bias), free(c), free(ref);
}

/* a product big enough to be split over the pool: the same bits as one thread */
static void threads_same_bits(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    tc_rng rng = tc_rng_new(5);
    const int64_t m = 301, k = 203, n = 75;
    float *a = uniform(&rng, m * k, -1, 1), *b = uniform(&rng, k * n, -1, 1), *bias = uniform(&rng, n, -1, 1);
    float *c1 = malloc(sizeof(float) * (size_t)(m * n)), *c2 = malloc(sizeof(float) * (size_t)(m * n));
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int pm = 0; pm < 6; pm++) {
            const int pr = 1 + pm / 3;
            use_dot_mode(pm % 3);
            tc_gemm_b_panel pb;
            assert_true(tc_gemm_prepare_b_kept_prec(&pb, false, k, n, b, n, (tc_precision)pr));
            tc_set_num_threads(1);
            tc_gemm_b(false, m, 1, a, k, &pb, bias, 0, c1, n);
            tc_set_num_threads(2);
            tc_gemm_b(false, m, 1, a, k, &pb, bias, 0, c2, n);
            if (memcmp(c1, c2, sizeof(float) * (size_t)(m * n)))
                fail_msg("%s on %s: 1 and 2 threads differ", tc_lowp_kernel_name(pr), tc_isa_name(tc_isa()));
            tc_gemm_b_panel_release(&pb);
        }
    }
    use_dot_mode(1);
    assert_int_equal(tc_set_isa(keep), TC_OK);
    free(a), free(b), free(bias), free(c1), free(c2);
}

typedef struct {
    const char *what;
    int64_t n, h, w, c, k, f, stride, groups;
} conv_case;

static const conv_case conv_cases[] = {
    {"1x1 direct", 2, 7, 5, 24, 1, 40, 1, 1},
    {"3x3 im2col", 2, 11, 9, 19, 3, 37, 1, 1},
    {"3x3 stride 2", 1, 12, 13, 32, 3, 64, 2, 1},
    {"groups", 2, 8, 8, 12, 3, 18, 1, 3},
};

/* |y - y_fp32| relative to max |y_fp32|, through tc_conv with prepared weights */
static void conv_close_to_fp32(void **state)
{
    (void)state;
    bool was = tc_set_grad_enabled(false);
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const conv_case *e = &conv_cases[ci];
        tc_rng rng = tc_rng_new(31 + ci);
        tc_tensor *x = tc_relu(tc_test_uniform(&rng, TC_SHAPE(e->n, e->h, e->w, e->c), -1, 1));
        tc_tensor *w = tc_tensor_keep(tc_test_uniform(&rng, TC_SHAPE(e->k, e->k, e->c / e->groups, e->f), -1, 1));
        tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(e->f), -0.1, 0.1);
        tc_conv_params p = {.stride = {(int)e->stride, (int)e->stride}, .padding = TC_SAME, .groups = (int)e->groups};
        tc_tensor *y = tc_conv(x, w, b, &p);
        tc_assert_ok(y);
        double ymax = 0;
        for (int64_t i = 0; i < tc_numel(y); i++) ymax = fmax(ymax, fabs(y->data[i]));
        for (int pr = 1; pr <= 2; pr++) {
            tc_conv_weights *pk = tc_conv_weights_prepare_prec(w, (int)e->groups, (tc_precision)pr);
            assert_non_null(pk);
            tc_conv_params q = p;
            q.weights = pk;
            q.act = TC_CONV_RELU;
            tc_set_num_threads(1);
            tc_tensor *y1 = tc_conv(x, w, b, &q);
            tc_set_num_threads(2);
            tc_tensor *yq = tc_conv(x, w, b, &q);
            tc_assert_ok(y1);
            tc_assert_ok(yq);
            if (memcmp(y1->data, yq->data, sizeof(tc_scalar) * (size_t)tc_numel(yq)))
                fail_msg("%s %s: 1 and 2 threads differ", e->what, tc_precision_name((tc_precision)pr));
            double worst = 0;
            bool differs = false;
            for (int64_t i = 0; i < tc_numel(y); i++) {
                const double want = y->data[i] > 0 ? y->data[i] : 0;
                worst = fmax(worst, fabs(yq->data[i] - want));
                differs |= yq->data[i] != (tc_scalar)want;
            }
            const double tol = pr == TC_PRECISION_BF16 ? 1e-2 : 3e-2;
            if (worst > tol * ymax)
                fail_msg("%s %s: largest difference %.3g, %.3g of max |y| (tolerance %.3g)", e->what,
                         tc_precision_name((tc_precision)pr), worst, worst / ymax, tol);
            assert_true(differs); /* the reduced-precision panels were used */
            tc_conv_weights_free(pk);
        }
        tc_tensor_free(w);
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
}

/* max |a - b| / max |b| over all values (any layout), and whether any differ */
static double rel_diff(const tc_tensor *a, const tc_tensor *b, bool *differs)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(tc_numel(a), tc_numel(b));
    tc_scalar *x = malloc(sizeof *x * (size_t)tc_numel(a)), *y = malloc(sizeof *y * (size_t)tc_numel(b));
    assert_int_equal(tc_read_values(a, x), TC_OK);
    assert_int_equal(tc_read_values(b, y), TC_OK);
    double d = 0, m = 0;
    *differs = false;
    for (int64_t i = 0; i < tc_numel(a); i++) {
        d = fmax(d, fabs((double)x[i] - (double)y[i]));
        m = fmax(m, fabs((double)y[i]));
        *differs |= x[i] != y[i];
    }
    free(x);
    free(y);
    assert_true(m > 0 && isfinite(m));
    return d / m;
}

static tc_tensor *kept_copy(const tc_tensor *t)
{
    assert_non_null(t);
    tc_tensor *k = tc_tensor_new(t->ndim, t->shape);
    assert_int_equal(tc_read_values(t, k->data), TC_OK);
    return k;
}

static void onnx_model_close_to_fp32(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/fold_cnn.onnx"));
    assert_non_null(m);
    assert_int_equal(tc_onnx_prepare_inference(m, NULL, NULL), TC_OK);
    bool was = tc_set_grad_enabled(false);
    tc_rng rng = tc_rng_new(9);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(2, 3, 12, 11));
    tc_rng_uniform(&rng, x->data, tc_numel(x), -1, 1);
    tc_tensor *y = NULL;
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    tc_tensor *ref = kept_copy(y);
    tc_step_reset();
    for (int pr = 1; pr <= 2; pr++) {
        assert_int_equal(tc_onnx_set_precision(m, (tc_precision)pr), TC_OK);
        assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
        bool differs;
        const double d = rel_diff(y, ref, &differs);
        print_message("fold_cnn.onnx %s: largest difference %.2e of max |y|\n", tc_precision_name((tc_precision)pr), d);
        assert_true(differs);
        assert_true(d < (pr == TC_PRECISION_BF16 ? 2e-2 : 6e-2));
        tc_step_reset();
    }
    /* back to fp32: the packs are made again, the float bits come back */
    assert_int_equal(tc_onnx_set_precision(m, TC_PRECISION_FP32), TC_OK);
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    assert_memory_equal(y->data, ref->data, sizeof(tc_scalar) * (size_t)tc_numel(ref));
    assert_int_not_equal(tc_onnx_set_precision(m, (tc_precision)7), TC_OK);
    tc_clear_error();
    tc_step_reset();
    tc_set_grad_enabled(was);
    tc_tensor_free(ref);
    tc_tensor_free(x);
    tc_onnx_free(m);
}

static void zoo_case(tc_zoo_arch arch)
{
    tc_nn_seed(3);
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = false, .pooling = TC_ZOO_POOL_AVG,
                                                    .height = 40, .width = 40, .width_div = 4});
    assert_non_null(m);
    tc_tensor *x = tc_tensor_new(TC_SHAPE(1, 40, 40, 3));
    tc_rng r = tc_rng_new(5);
    tc_rng_uniform(&r, x->data, tc_numel(x), -1, 1);
    bool was = tc_set_grad_enabled(false);
    assert_int_equal(tc_model_prepare_inference(m, NULL, NULL), TC_OK);
    tc_tensor *ref = kept_copy(tc_model_forward(m, x, false));
    tc_step_reset();
    for (int pr = 1; pr <= 2; pr++) {
        assert_int_equal(tc_model_prepare_inference_prec(m, (tc_precision)pr, NULL, NULL), TC_OK);
        bool differs;
        const double d = rel_diff(tc_model_forward(m, x, false), ref, &differs);
        print_message("zoo %s/4 %s: largest difference %.2e of max |y|\n", tc_zoo_arch_name(arch),
                      tc_precision_name((tc_precision)pr), d);
        assert_true(differs);
        assert_true(d < (pr == TC_PRECISION_BF16 ? 2e-2 : 8e-2));
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    tc_tensor_free(ref);
    tc_tensor_free(x);
    tc_model_free(m);
}

/* ResNet50: chains of Conv, BatchNormalization, Add, ReLU; VGG16: convolutions with their own ReLU, alone */
static void zoo_model_close_to_fp32(void **state)
{
    (void)state;
    zoo_case(TC_ZOO_RESNET50);
    zoo_case(TC_ZOO_VGG16);
}

static void precision_names(void **state)
{
    (void)state;
    tc_precision p = TC_PRECISION_FP32;
    assert_true(tc_precision_parse("bf16", &p) && p == TC_PRECISION_BF16);
    assert_true(tc_precision_parse("int8", &p) && p == TC_PRECISION_INT8);
    assert_true(tc_precision_parse("fp32", &p) && p == TC_PRECISION_FP32);
    assert_false(tc_precision_parse("fp16", &p));
    assert_false(tc_precision_parse(NULL, &p));
    assert_string_equal(tc_precision_name(TC_PRECISION_INT8), "int8");
    tc_gemm_b_panel pb;
    float big = 1;
    assert_false(tc_gemm_prepare_b_kept_prec(&pb, false, 70000, 1, &big, 1, TC_PRECISION_INT8));
    tc_clear_error();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernels_match_reference),
        cmocka_unit_test(int8_paths_same_bits),
        cmocka_unit_test(threads_same_bits),
        cmocka_unit_test(conv_close_to_fp32),
        cmocka_unit_test(onnx_model_close_to_fp32),
        cmocka_unit_test(zoo_model_close_to_fp32),
        cmocka_unit_test(precision_names),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
