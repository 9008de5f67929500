/* int8-weight row-vector products (src/core/gemv_int8*.c) against double
 * sums of the same quantised values: odd shapes (K and N not multiples of
 * 4, 16 or 64), every ISA path the CPU has, the dot way with and without the
 * VNNI instructions and the weight-only way; every dot path gives the same
 * bits (also with every product at +-127 x 127, the AVX2 kernel's int16
 * pair bound); panel by panel = whole; 1 and 2 threads the same bits; the error
 * against the float product within the quantisation bound; zero, NaN and
 * bad inputs. */
#include "testutil.h"
#include "../src/core/internal.h" /* tc_gemv_plan: kernel-level, not public */

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int64_t sizes[][2] = {{1, 1}, {3, 5}, {37, 150}, {64, 64}, {301, 17}, {1000, 130}, {33, 65}, {6, 200}};
#define N_SIZES 8

/* the spec of gemv_int8.h, in double: q and s of column j */
static void quantise_column(const tc_scalar *w, int64_t ldw, int64_t k, int64_t j, int *q, double *s)
{
    double amax = 0;
    for (int64_t r = 0; r < k; r++) amax = fmax(amax, fabs((double)w[r * ldw + j]));
    for (int64_t r = 0; r < k; r++) q[r] = amax > 0 ? (int)nearbyint((double)w[r * ldw + j] * 127.0 / amax) : 0;
    *s = (double)(tc_scalar)(amax / 127.0);
}

/* x's quantisation (float arithmetic, as the plan does it) */
static double quantise_input(const tc_scalar *x, int64_t k, int *xq)
{
    tc_scalar amax = 0;
    for (int64_t r = 0; r < k; r++) amax = fmax(amax, fabs(x[r]));
    tc_scalar inv = (tc_scalar)127 / amax;
    for (int64_t r = 0; r < k; r++) xq[r] = (int)nearbyint((double)(tc_scalar)(x[r] * inv));
    return (double)(amax / (tc_scalar)127);
}

typedef struct {
    int isa, dot, vnni;
} path;

static int paths(path *out)
{
    int n = 0;
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        out[n++] = (path){isa, 1, 1};
        if (isa > TC_ISA_GENERIC) out[n++] = (path){isa, 1, 0};
        out[n++] = (path){isa, 0, 1};
    }
    return n;
}

static void use_path(path p)
{
    assert_int_equal(tc_set_isa((tc_isa_level)p.isa), TC_OK);
    tc_gemv_set_int8_dot(p.dot);
    tc_gemv_set_int8_vnni(p.vnni);
}

static void restore(tc_isa_level keep)
{
    tc_gemv_set_int8_dot(true);
    tc_gemv_set_int8_vnni(true);
    tc_set_isa(keep);
}

static void int8_matches_quantised_reference(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    path ps[9];
    int np = paths(ps);
    tc_rng r = tc_rng_new(21);
    for (int s = 0; s < N_SIZES; s++) {
        int64_t K = sizes[s][0], N = sizes[s][1], ldw = N + 3;
        tc_tensor *w = tc_tensor_new(TC_SHAPE(K, ldw)), *x = tc_tensor_new(TC_SHAPE(K));
        tc_rng_uniform(&r, w->data, K * ldw, -1, 1);
        tc_rng_uniform(&r, x->data, K, -1, 1);
        for (int64_t k = 0; k < K; k += 7) w->data[k * ldw] *= 40; /* an outlier row in column 0 */
        int *q = malloc(sizeof(int) * (size_t)K), *xq = malloc(sizeof(int) * (size_t)K);
        double t = quantise_input(x->data, K, xq);
        tc_scalar *dot_bits = NULL;
        for (int pi = 0; pi < np; pi++) {
            use_path(ps[pi]);
            tc_gemv_plan *p = tc_gemv_plan_new_prec(K, N, w->data, ldw, NULL, 0, TC_GEMV_INT8);
            tc_assert_ok(p);
            assert_int_equal(tc_gemv_plan_precision(p), TC_GEMV_INT8);
            int64_t width = tc_gemv_panels(p) * TC_GEMV_PANEL;
            tc_scalar *y = malloc(sizeof(tc_scalar) * (size_t)width), *y2 = malloc(sizeof(tc_scalar) * (size_t)width);
            for (int64_t j = 0; j < width; j++) y[j] = y2[j] = NAN;
            tc_gemv_run(p, x->data, y);
            for (int64_t j = 0; j < width; j++) {
                if (j >= N) {
                    assert_true(y[j] == 0);
                    continue;
                }
                double sw, ref = 0, mag = 0, exact = 0, bound = 0;
                quantise_column(w->data, ldw, K, j, q, &sw);
                for (int64_t k = 0; k < K; k++) {
                    double xv = ps[pi].dot ? t * xq[k] : (double)x->data[k], term = xv * sw * q[k];
                    double wv = (double)w->data[k * ldw + j];
                    ref += term, mag += fabs(term), exact += (double)x->data[k] * wv;
                    /* |x w - x' w'| <= |x| |w - w'| + |w'| |x - x'|: half a step each */
                    bound += fabs((double)x->data[k]) * sw / 2 + (ps[pi].dot ? fabs(sw * q[k]) * t / 2 : 0);
                }
                /* dot: an exact integer sum, one conversion and one product: ~2 ulps;
                 * weight-only: float sums of K products */
                double tol = ps[pi].dot ? 3e-7 * fabs(ref) + 1e-30 : 1e-5 * mag + 1e-7;
                if (!(fabs((double)y[j] - ref) <= tol))
                    fail_msg("int8 isa %s dot %d vnni %d size %d column %lld: %.9g vs %.9g", tc_isa_name((tc_isa_level)ps[pi].isa),
                             ps[pi].dot, ps[pi].vnni, s, (long long)j, (double)y[j], ref);
                if (!(fabs((double)y[j] - exact) <= bound * 1.0001 + tol))
                    fail_msg("int8 size %d column %lld: %.9g vs float product %.9g, beyond the rounding bound %.3g", s,
                             (long long)j, (double)y[j], exact, bound);
            }
            /* panel by panel after one load: the same bits */
            tc_gemv_load_input(p, x->data);
            for (int64_t qq = 0; qq < tc_gemv_panels(p); qq++) tc_gemv_run_panels(p, x->data, y2 + qq * TC_GEMV_PANEL, qq, qq + 1);
            assert_memory_equal(y, y2, sizeof(tc_scalar) * (size_t)width);
            /* every dot path: the same integers, the same epilogue, the same bits */
            if (ps[pi].dot && !dot_bits) {
                dot_bits = y, y = NULL;
            } else if (ps[pi].dot) {
                if (memcmp(dot_bits, y, sizeof(tc_scalar) * (size_t)width))
                    fail_msg("int8 dot isa %s vnni %d size %d: not the bits of the first dot path",
                             tc_isa_name((tc_isa_level)ps[pi].isa), ps[pi].vnni, s);
            }
            free(y), free(y2);
            tc_gemv_plan_free(p);
        }
        free(dot_bits), free(q), free(xq);
        tc_tensor_free(w), tc_tensor_free(x);
    }
    restore(keep);
}

/* a product split over 2 threads: the bits of 1 thread, on every path */
static void int8_same_bits_for_threads(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    path ps[9];
    int np = paths(ps);
    tc_rng r = tc_rng_new(22);
    int64_t K = 1001, N = 1030; /* 17 panels of ~64 KB: split over the pool */
    tc_tensor *w = tc_tensor_new(TC_SHAPE(K, N)), *x = tc_tensor_new(TC_SHAPE(K));
    tc_rng_uniform(&r, w->data, K * N, -1, 1);
    tc_rng_uniform(&r, x->data, K, -1, 1);
    for (int pi = 0; pi < np; pi++) {
        use_path(ps[pi]);
        tc_gemv_plan *p = tc_gemv_plan_new_prec(K, N, w->data, N, NULL, 0, TC_GEMV_INT8);
        tc_assert_ok(p);
        assert_true(tc_gemv_grain(p) < tc_gemv_panels(p));
        int64_t width = tc_gemv_panels(p) * TC_GEMV_PANEL;
        tc_scalar *y[2];
        for (int th = 1; th <= 2; th++) {
            assert_int_equal(tc_set_num_threads(th), TC_OK);
            y[th - 1] = malloc(sizeof(tc_scalar) * (size_t)width);
            tc_gemv_run(p, x->data, y[th - 1]);
        }
        assert_memory_equal(y[0], y[1], sizeof(tc_scalar) * (size_t)width);
        free(y[0]), free(y[1]);
        tc_gemv_plan_free(p);
    }
    assert_int_equal(tc_set_num_threads(2), TC_OK);
    tc_tensor_free(w), tc_tensor_free(x);
    restore(keep);
}

/* Inputs and weights at the extremes: x of +-1 quantises to xq = +-127 and
 * each column's q to +-127 with the sign of x (or against it), so every
 * product is +-16,129 and the AVX2 kernel's vpmaddubsw pairs reach
 * 2 x 127 x 127 = 32,258 (u x q with u = xq + 128 would saturate them).
 * Every dot path: the exact sum, the same bits. */
static void int8_extreme_values_exact(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    path ps[9];
    int np = paths(ps);
    int64_t K = 259, N = 70;
    tc_tensor *w = tc_tensor_new(TC_SHAPE(K, N)), *x = tc_tensor_new(TC_SHAPE(K));
    for (int64_t k = 0; k < K; k++) {
        x->data[k] = (k * 5 + k / 7) % 3 ? 1 : -1;
        for (int64_t j = 0; j < N; j++) w->data[k * N + j] = (tc_scalar)((j % 3 == 2 ? -1 : 1) * x->data[k]);
    }
    tc_scalar *first = NULL, y[128];
    for (int pi = 0; pi < np; pi++) {
        if (!ps[pi].dot) continue;
        use_path(ps[pi]);
        tc_gemv_plan *p = tc_gemv_plan_new_prec(K, N, w->data, N, NULL, 0, TC_GEMV_INT8);
        tc_assert_ok(p);
        tc_gemv_run(p, x->data, y);
        /* sum_k xq q = +-127 * 127 * K exactly, times (1/127) (1/127) */
        for (int64_t j = 0; j < N; j++) {
            double want = (j % 3 == 2 ? -1.0 : 1.0) * (double)K;
            if (!(fabs((double)y[j] - want) <= 1e-6 * (double)K))
                fail_msg("int8 isa %s vnni %d column %lld: %.9g, exact %.9g", tc_isa_name((tc_isa_level)ps[pi].isa),
                         ps[pi].vnni, (long long)j, (double)y[j], want);
        }
        if (!first) {
            first = malloc(sizeof y);
            memcpy(first, y, sizeof y);
        } else {
            assert_memory_equal(first, y, sizeof(tc_scalar) * (size_t)N);
        }
        tc_gemv_plan_free(p);
    }
    free(first);
    tc_tensor_free(w), tc_tensor_free(x);
    restore(keep);
}

static void int8_special_inputs_and_errors(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    path ps[9];
    int np = paths(ps);
    tc_rng r = tc_rng_new(23);
    int64_t K = 70, N = 40;
    tc_tensor *w = tc_tensor_new(TC_SHAPE(K, N)), *x = tc_zeros(TC_SHAPE(K));
    tc_rng_uniform(&r, w->data, K * N, -1, 1);
    for (int64_t k = 0; k < K; k++) w->data[k * N + 5] = 0; /* a zero column: scale 0 */
    tc_scalar y[64];
    for (int pi = 0; pi < np; pi++) {
        use_path(ps[pi]);
        tc_gemv_plan *p = tc_gemv_plan_new_prec(K, N, w->data, N, NULL, 0, TC_GEMV_INT8);
        tc_assert_ok(p);
        memset(x->data, 0, sizeof(tc_scalar) * (size_t)K);
        tc_gemv_run(p, x->data, y); /* x = 0: every output 0 */
        for (int j = 0; j < 64; j++) assert_true(y[j] == 0);
        x->data[3] = 0.5;
        tc_gemv_run(p, x->data, y); /* one nonzero input */
        for (int j = 0; j < N; j++) {
            double sw = 0;
            for (int64_t k = 0; k < K; k++) sw = fmax(sw, fabs((double)w->data[k * N + j]));
            double want = 0.5 * nearbyint(w->data[3 * N + j] * 127.0 / (sw > 0 ? sw : 1)) * (sw / 127);
            assert_true(fabs((double)y[j] - want) <= 1e-6 * fabs(want) + 1e-30);
        }
        x->data[9] = (tc_scalar)NAN;
        tc_gemv_run(p, x->data, y);
        for (int j = 0; j < N; j++) assert_true(isnan((double)y[j]));
        x->data[9] = (tc_scalar)INFINITY;
        tc_gemv_run(p, x->data, y);
        for (int j = 0; j < N; j++) assert_true(ps[pi].dot ? isnan((double)y[j]) : !isfinite((double)y[j]));
        tc_gemv_plan_free(p);
    }
    restore(keep);
    w->data[7] = (tc_scalar)INFINITY;
    tc_assert_error(tc_gemv_plan_new_prec(K, N, w->data, N, NULL, 0, TC_GEMV_INT8), "int8 weights must be finite");
    tc_tensor *tall = tc_zeros(TC_SHAPE(65537, 1));
    tc_assert_error(tc_gemv_plan_new_prec(65537, 1, tall->data, 1, NULL, 0, TC_GEMV_INT8), "K <= 65536");
    tc_assert_error(tc_gemv_plan_new_prec(K, N, w->data, N, NULL, 0, (tc_gemv_precision)3), "unknown precision 3");
    tc_tensor_free(tall);
    tc_tensor_free(w), tc_tensor_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int8_matches_quantised_reference),
        cmocka_unit_test(int8_same_bits_for_threads),
        cmocka_unit_test(int8_extreme_values_exact),
        cmocka_unit_test(int8_special_inputs_and_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
