/* Winograd F(4x4, 3x3) convolutions (src/ops/conv_winograd.c, opt-in
 * through tc_conv_set_algorithm): the output and the input gradient against
 * a double-precision naive convolution, next to the direct (im2col) path on
 * the same values, on odd shapes (H, W not multiples of 4, 2x2 and 3x3
 * images, channels that are not multiples of the vector width, batch > 1,
 * SAME, VALID, asymmetric and 2-wide explicit padding, the few-blocks and
 * the many-blocks drivers), on every instruction-set path, bit-identical
 * for 1 and 2 threads; the kernel and bias gradients (direct path) equal
 * the direct path's bits; convolutions it does not take (stride 2,
 * dilation, groups, 5x5, few channels, fewer than 40 tiles) keep the
 * direct bits; the default is auto: Winograd only with a kept kernel
 * (tc_conv_weights of a kernel without gradient), plain calls direct.
 *
 * Tolerance: error / max |reference| over a case. Measured on these cases
 * with values uniform in [-1, 1], every ISA: direct <= 6e-7, Winograd
 * <= 6e-6 (printed at the end); the bound below, 2e-5, leaves a margin and
 * still fails for a wrong tap, offset or transform constant (a constant
 * off by 0.1% gave 4e-3). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 2e-5

typedef struct {
    const char *what;
    int64_t n, h, w, c, f;
    tc_padding pad;
    int64_t pb[2], pa[2]; /* TC_EXPLICIT */
    bool bias;
} wcase;

/* batches big enough for the 40 output tiles of 4x4 below which the
 * direct path is kept */
static const wcase cases[] = {
    {"7x9 SAME", 7, 7, 9, 8, 8, TC_SAME, {0}, {0}, true},
    {"3x3 images SAME, odd channels", 40, 3, 3, 17, 19, TC_SAME, {0}, {0}, true},
    {"2x2 images SAME", 41, 2, 2, 8, 24, TC_SAME, {0}, {0}, false},
    {"VALID 11x6", 14, 11, 6, 33, 40, TC_VALID, {0}, {0}, true},
    {"VALID to 1x1", 40, 3, 3, 9, 13, TC_VALID, {0}, {0}, true},
    {"explicit asymmetric", 7, 10, 7, 20, 12, TC_EXPLICIT, {0, 2}, {2, 1}, true},
    {"explicit 2 wide", 10, 5, 6, 8, 40, TC_EXPLICIT, {2, 2}, {2, 2}, true},
    {"deep channels", 5, 9, 10, 70, 45, TC_SAME, {0}, {0}, true},
    {"one image 27x25", 1, 27, 25, 24, 32, TC_SAME, {0}, {0}, true},
    {"many blocks (784 tiles)", 4, 56, 56, 16, 16, TC_SAME, {0}, {0}, true},
};

/* pads before and output sizes of the 3x3 stride-1 case */
static void geometry(const wcase *e, int64_t pb[2], int64_t out[2])
{
    const int64_t in[2] = {e->h, e->w};
    for (int a = 0; a < 2; a++) {
        int64_t lo = 0, hi = 0;
        if (e->pad == TC_SAME) lo = hi = 1;
        if (e->pad == TC_EXPLICIT) lo = e->pb[a], hi = e->pa[a];
        pb[a] = lo;
        out[a] = in[a] + lo + hi - 2;
    }
}

/* y = conv(x, w) + b and dx = conv^T(gy), in double */
static void naive(const wcase *e, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_tensor *gy,
                  double *y, double *dx)
{
    int64_t pb[2], o[2];
    geometry(e, pb, o);
    const int64_t C = e->c, F = e->f;
    memset(dx, 0, sizeof(double) * (size_t)(e->n * e->h * e->w * C));
    for (int64_t n = 0; n < e->n; n++)
        for (int64_t oh = 0; oh < o[0]; oh++)
            for (int64_t ow = 0; ow < o[1]; ow++) {
                double *yr = y + ((n * o[0] + oh) * o[1] + ow) * F;
                const tc_scalar *g = gy->data + ((n * o[0] + oh) * o[1] + ow) * F;
                for (int64_t f = 0; f < F; f++) yr[f] = b ? b->data[f] : 0;
                for (int a = 0; a < 3; a++)
                    for (int bb = 0; bb < 3; bb++) {
                        int64_t ih = oh + a - pb[0], iw = ow + bb - pb[1];
                        if (ih < 0 || ih >= e->h || iw < 0 || iw >= e->w) continue;
                        const tc_scalar *xr = x->data + ((n * e->h + ih) * e->w + iw) * C;
                        double *dxr = dx + ((n * e->h + ih) * e->w + iw) * C;
                        const tc_scalar *wr = w->data + (a * 3 + bb) * C * F;
                        for (int64_t c = 0; c < C; c++)
                            for (int64_t f = 0; f < F; f++) {
                                yr[f] += (double)xr[c] * wr[c * F + f];
                                dxr[c] += (double)g[f] * wr[c * F + f];
                            }
                    }
            }
}

/* max |a - ref| / max |ref| */
static double rel_err(const tc_tensor *a, const double *ref)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < tc_numel(a); i++) {
        double d = fabs(a->data[i] - ref[i]);
        if (d > err || isnan(d)) err = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    }
    return err / (scale > 0 ? scale : 1);
}

typedef struct {
    tc_tensor *y, *dx, *dw, *db;
} result;

static tc_conv_params params_of(const wcase *e)
{
    tc_conv_params p = {.padding = e->pad};
    for (int a = 0; a < 2; a++) p.pad_before[a] = e->pb[a], p.pad_after[a] = e->pa[a];
    return p;
}

static result run(const wcase *e, tc_conv_algorithm algo, int threads, tc_tensor *x, tc_tensor *w, tc_tensor *b,
                  tc_tensor *gy)
{
    int saved = tc_num_threads();
    tc_set_num_threads(threads);
    tc_conv_set_algorithm(algo);
    x->grad = w->grad = NULL;
    if (b) b->grad = NULL;
    tc_conv_params p = params_of(e);
    tc_tensor *y = tc_conv(x, w, b, &p);
    tc_assert_ok(y);
    if (tc_backward_with(y, gy) != TC_OK) fail_msg("%s: %s", e->what, tc_last_error());
    tc_conv_set_algorithm(TC_CONV_DIRECT);
    tc_set_num_threads(saved);
    return (result){y, x->grad, w->grad, b ? b->grad : NULL};
}

static void same_bits(const tc_tensor *a, const tc_tensor *b, const char *what, const char *which)
{
    assert_int_equal(tc_numel(a), tc_numel(b));
    if (memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a)) != 0)
        fail_msg("%s (%s, %s): %s", what, tc_isa_name(tc_isa()), which, "bits differ");
}

static void against_naive_every_isa(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    double worst_direct = 0, worst_wino = 0;
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const wcase *e = &cases[ci];
            int64_t pb[2], o[2];
            geometry(e, pb, o);
            tc_rng rng = tc_rng_new(100 + ci);
            tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){e->n, e->h, e->w, e->c}, -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, e->c, e->f}, -1, 1);
            tc_tensor *b = e->bias ? tc_test_uniform(&rng, 1, (int64_t[]){e->f}, -1, 1) : NULL;
            tc_tensor *gy = tc_test_uniform(&rng, 4, (int64_t[]){e->n, o[0], o[1], e->f}, -1, 1);
            tc_set_requires_grad(x, true);
            tc_set_requires_grad(w, true);
            if (b) tc_set_requires_grad(b, true);
            double *ry = malloc(sizeof(double) * (size_t)tc_numel(gy)), *rdx = malloc(sizeof(double) * (size_t)tc_numel(x));
            naive(e, x, w, b, gy, ry, rdx);
            result d = run(e, TC_CONV_DIRECT, 1, x, w, b, gy);
            result w1 = run(e, TC_CONV_WINOGRAD, 1, x, w, b, gy);
            result w2 = run(e, TC_CONV_WINOGRAD, 2, x, w, b, gy);
            const double ed[2] = {rel_err(d.y, ry), rel_err(d.dx, rdx)};
            const double ew[2] = {rel_err(w1.y, ry), rel_err(w1.dx, rdx)};
            for (int k = 0; k < 2; k++) {
                if (ed[k] > worst_direct) worst_direct = ed[k];
                if (ew[k] > worst_wino) worst_wino = ew[k];
                if (!(ew[k] <= TOL))
                    fail_msg("%s (%s): Winograd %s error %.3g > %.1g (direct %.3g)", e->what, tc_isa_name(tc_isa()),
                             k ? "dx" : "y", ew[k], TOL, ed[k]);
            }
            /* Winograd is the more accurate only by chance: it is the other path */
            if (memcmp(d.y->data, w1.y->data, sizeof(tc_scalar) * (size_t)tc_numel(d.y)) == 0)
                fail_msg("%s: the Winograd output has the direct bits (did it run?)", e->what);
            same_bits(w1.y, w2.y, e->what, "y, 1 vs 2 threads");
            same_bits(w1.dx, w2.dx, e->what, "dx, 1 vs 2 threads");
            same_bits(w1.dw, d.dw, e->what, "dw: the direct path's");
            same_bits(w2.dw, d.dw, e->what, "dw at 2 threads: the direct path's");
            if (b) same_bits(w1.db, d.db, e->what, "db: the direct path's");
            free(ry);
            free(rdx);
            tc_step_reset();
        }
    }
    assert_int_equal(tc_set_isa(keep), TC_OK);
    print_message("worst error / max|ref|: direct %.3g, winograd %.3g\n", worst_direct, worst_wino);
}

/* a fused epilogue (inference): Winograd + bias + residual + ReLU equals
 * Winograd + bias, then tc_add and tc_relu, bit for bit */
static void fused_epilogue(void **state)
{
    (void)state;
    bool was = tc_set_grad_enabled(false);
    tc_rng rng = tc_rng_new(7);
    tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){7, 9, 7, 24}, -1, 1);
    tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, 24, 20}, -1, 1);
    tc_tensor *b = tc_test_uniform(&rng, 1, (int64_t[]){20}, -1, 1);
    tc_tensor *res = tc_test_uniform(&rng, 4, (int64_t[]){7, 9, 7, 20}, -1, 1);
    tc_conv_set_algorithm(TC_CONV_WINOGRAD);
    tc_tensor *plain = tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME});
    tc_tensor *fused = tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME, .act = TC_CONV_RELU, .residual = res});
    tc_conv_set_algorithm(TC_CONV_DIRECT);
    tc_tensor *direct = tc_conv(x, w, b, &(tc_conv_params){.padding = TC_SAME});
    tc_assert_ok(plain);
    tc_assert_ok(fused);
    tc_tensor *sep = tc_relu(tc_add(plain, res));
    same_bits(fused, sep, "fused epilogue", "fused vs separate");
    if (memcmp(plain->data, direct->data, sizeof(tc_scalar) * (size_t)tc_numel(plain)) == 0)
        fail_msg("fused epilogue case: Winograd gave the direct bits (did it run?)");
    tc_set_grad_enabled(was);
    tc_step_reset();
}

/* convolutions Winograd does not take keep the direct bits when it is on */
static void ineligible_stay_direct(void **state)
{
    (void)state;
    bool was = tc_set_grad_enabled(false);
    tc_rng rng = tc_rng_new(9);
    struct {
        int64_t n, hw, k, c, f;
        int stride, dil, groups;
    } other[] = {{2, 40, 3, 16, 16, 2, 1, 1}, {2, 40, 3, 16, 16, 1, 2, 1}, {2, 40, 3, 16, 16, 1, 1, 2},
                 {2, 40, 5, 16, 16, 1, 1, 1}, {2, 40, 3, 4, 16, 1, 1, 1},  {2, 40, 3, 16, 6, 1, 1, 1},
                 {2, 40, 1, 16, 16, 1, 1, 1}, {1, 23, 3, 16, 16, 1, 1, 1} /* 36 tiles: too few */};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){other[i].n, other[i].hw, other[i].hw, other[i].c}, -1, 1);
        tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){other[i].k, other[i].k, other[i].c / other[i].groups, other[i].f}, -1, 1);
        tc_conv_params p = {.stride = {other[i].stride, other[i].stride}, .dilation = {other[i].dil, other[i].dil},
                            .padding = TC_SAME, .groups = other[i].groups};
        tc_tensor *d = tc_conv(x, w, NULL, &p);
        tc_conv_set_algorithm(TC_CONV_WINOGRAD);
        tc_tensor *wg = tc_conv(x, w, NULL, &p);
        tc_conv_set_algorithm(TC_CONV_DIRECT);
        tc_assert_ok(d);
        tc_assert_ok(wg);
        same_bits(d, wg, "ineligible convolution", "direct bits");
    }
    tc_set_grad_enabled(was);
    tc_step_reset();
}

/* Inference weights prepared once (tc_conv_weights) keep the Winograd
 * kernel, transformed and packed at the first Winograd call: the output
 * equals the per-call transform's bit for bit, for 1 and 2 threads, on
 * every ISA, also after a change of ISA (the kept kernel is then not
 * used); with it, calls of 128 outputs and under 40 tiles (direct without it) take Winograd
 * too, within the tolerance against the double reference, bit-identical
 * for 1 and 2 threads; under 128 output positions (8 full tiles; a 7x7
 * map fills 49 of its 4 tiles' 64), or without the selection, the
 * direct bits. */
static void kept_kernel(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    const int threads = tc_num_threads();
    bool was = tc_set_grad_enabled(false);
    const wcase kc[] = {
        {"kept: 7x9 SAME (56 tiles)", 7, 7, 9, 8, 8, TC_SAME, {0}, {0}, true},
        {"kept: deep channels (45 tiles)", 5, 9, 10, 70, 45, TC_SAME, {0}, {0}, true},
        {"kept: 14x14 one image (16 tiles)", 1, 14, 14, 40, 24, TC_SAME, {0}, {0}, true},
        {"kept: 7x7 two images (8 tiles, 98 outputs: direct)", 2, 7, 7, 19, 33, TC_SAME, {0}, {0}, false},
        {"kept: 8x8 two images (8 tiles, 128 outputs)", 2, 8, 8, 19, 33, TC_SAME, {0}, {0}, false},
        {"kept: 7x7 three images (12 tiles, 147 outputs)", 3, 7, 7, 16, 24, TC_SAME, {0}, {0}, true},
        {"kept: VALID 10x13 (9 tiles, 88 outputs: direct)", 1, 10, 13, 16, 17, TC_VALID, {0}, {0}, true},
        {"kept: 7x7 one image (4 tiles: direct)", 1, 7, 7, 16, 16, TC_SAME, {0}, {0}, true},
        /* 241 tiles, blocks of 240: the one-tile rest joins the block
         * before (no one-row product: the kept kernel has no unpacked U) */
        {"kept: 4x964 (241 tiles)", 1, 4, 964, 8, 8, TC_SAME, {0}, {0}, true},
    };
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        for (size_t ci = 0; ci < sizeof kc / sizeof kc[0]; ci++) {
            assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
            const wcase *e = &kc[ci];
            int64_t pb[2], o[2];
            geometry(e, pb, o);
            const int64_t tiles = e->n * ((o[0] + 3) / 4) * ((o[1] + 3) / 4);
            const bool enough = e->n * o[0] * o[1] >= 128; /* the kept kernel's threshold */
            tc_rng rng = tc_rng_new(300 + ci);
            tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){e->n, e->h, e->w, e->c}, -1, 1);
            tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, e->c, e->f}, -1, 1);
            tc_tensor *b = e->bias ? tc_test_uniform(&rng, 1, (int64_t[]){e->f}, -1, 1) : NULL;
            tc_tensor *gy = tc_zeros(4, (int64_t[]){e->n, o[0], o[1], e->f});
            double *ry = malloc(sizeof(double) * (size_t)tc_numel(gy)), *rdx = malloc(sizeof(double) * (size_t)tc_numel(x));
            naive(e, x, w, b, gy, ry, rdx);
            tc_conv_weights *pk = tc_conv_weights_prepare(w, 1);
            tc_assert_ok(pk);
            tc_conv_params p = params_of(e), pp = p;
            pp.weights = pk;
            tc_conv_set_algorithm(TC_CONV_DIRECT);
            tc_tensor *direct = tc_conv(x, w, b, &p), *direct_pk = tc_conv(x, w, b, &pp);
            tc_conv_set_algorithm(TC_CONV_WINOGRAD);
            tc_tensor *call = tc_conv(x, w, b, &p); /* transformed per call (direct under 40 tiles) */
            tc_set_num_threads(1);
            tc_tensor *kept1 = tc_conv(x, w, b, &pp); /* the first Winograd call makes the kept kernel */
            tc_set_num_threads(2);
            tc_tensor *kept2 = tc_conv(x, w, b, &pp);
            tc_tensor *kept2b = tc_conv(x, w, b, &pp);
            tc_conv_set_algorithm(TC_CONV_DIRECT);
            tc_tensor *off = tc_conv(x, w, b, &pp);
            /* auto (the default): the kept kernel's bits with the weights, the direct bits without */
            tc_conv_set_algorithm(TC_CONV_AUTO);
            tc_tensor *auto_plain = tc_conv(x, w, b, &p), *auto_pk = tc_conv(x, w, b, &pp);
            tc_conv_set_algorithm(TC_CONV_DIRECT);
            tc_assert_ok(auto_plain);
            tc_assert_ok(auto_pk);
            same_bits(auto_plain, direct, e->what, "auto without weights: direct");
            same_bits(auto_pk, enough ? kept1 : direct, e->what, "auto with weights: kept Winograd from 128 outputs");
            tc_assert_ok(direct);
            tc_assert_ok(direct_pk);
            tc_assert_ok(call);
            tc_assert_ok(kept1);
            tc_assert_ok(kept2);
            tc_assert_ok(kept2b);
            tc_assert_ok(off);
            same_bits(direct_pk, direct, e->what, "direct, prepared");
            same_bits(off, direct, e->what, "prepared, Winograd deselected: direct");
            same_bits(kept1, kept2, e->what, "kept, 1 vs 2 threads");
            same_bits(kept2b, kept2, e->what, "kept, again");
            if (tiles >= 40) same_bits(kept1, call, e->what, "kept vs per call");
            else same_bits(call, direct, e->what, "per call under 40 tiles: direct");
            if (!enough) same_bits(kept1, direct, e->what, "kept under 128 outputs: direct");
            else {
                if (memcmp(kept1->data, direct->data, sizeof(tc_scalar) * (size_t)tc_numel(direct)) == 0)
                    fail_msg("%s (%s): the kept-kernel output has the direct bits (did Winograd run?)", e->what,
                             tc_isa_name(tc_isa()));
                const double err = rel_err(kept1, ry);
                if (!(err <= TOL)) fail_msg("%s (%s): error %.3g > %.1g", e->what, tc_isa_name(tc_isa()), err, TOL);
            }
            /* another ISA than the one the kernel was kept for: the per-call transform of that ISA */
            for (int other = TC_ISA_GENERIC; other <= TC_ISA_AVX512 && tiles >= 40; other++) {
                if (other == isa || !tc_isa_supported((tc_isa_level)other)) continue;
                assert_int_equal(tc_set_isa((tc_isa_level)other), TC_OK);
                tc_conv_set_algorithm(TC_CONV_WINOGRAD);
                tc_tensor *ref = tc_conv(x, w, b, &p), *got = tc_conv(x, w, b, &pp);
                tc_conv_set_algorithm(TC_CONV_DIRECT);
                tc_assert_ok(ref);
                tc_assert_ok(got);
                same_bits(got, ref, e->what, "kept for another ISA: per call");
            }
            tc_set_num_threads(threads);
            tc_conv_weights_free(pk);
            free(ry);
            free(rdx);
            tc_step_reset();
        }
    }
    assert_int_equal(tc_set_isa(keep), TC_OK);
    tc_set_grad_enabled(was);
}

/* auto leaves bf16 / int8 inference weights on their reduced-precision
 * panels (the direct path's bits with them); winograd replaces them */
static void auto_keeps_lowp(void **state)
{
    (void)state;
    bool was = tc_set_grad_enabled(false);
    tc_rng rng = tc_rng_new(11);
    tc_tensor *x = tc_test_uniform(&rng, 4, (int64_t[]){2, 16, 16, 24}, -1, 1);
    tc_tensor *w = tc_test_uniform(&rng, 4, (int64_t[]){3, 3, 24, 32}, -1, 1);
    for (int prec = TC_PRECISION_BF16; prec <= TC_PRECISION_INT8; prec++) {
        tc_conv_weights *pk = tc_conv_weights_prepare_prec(w, 1, (tc_precision)prec);
        tc_assert_ok(pk);
        tc_conv_params pp = {.padding = TC_SAME, .weights = pk};
        tc_conv_set_algorithm(TC_CONV_DIRECT);
        tc_tensor *d = tc_conv(x, w, NULL, &pp);
        tc_conv_set_algorithm(TC_CONV_AUTO);
        tc_tensor *a = tc_conv(x, w, NULL, &pp);
        tc_conv_set_algorithm(TC_CONV_WINOGRAD);
        tc_tensor *wg = tc_conv(x, w, NULL, &pp);
        tc_conv_set_algorithm(TC_CONV_DIRECT);
        tc_assert_ok(d);
        tc_assert_ok(a);
        tc_assert_ok(wg);
        same_bits(a, d, "reduced-precision weights", "auto: the reduced-precision direct bits");
        if (memcmp(wg->data, d->data, sizeof(tc_scalar) * (size_t)tc_numel(d)) == 0)
            fail_msg("reduced-precision weights: winograd gave the direct bits (did it run?)");
        tc_conv_weights_free(pk);
    }
    tc_set_grad_enabled(was);
    tc_step_reset();
}

static void default_is_auto(void **state)
{
    (void)state;
    const char *env = getenv("TENSORCOOK_CONV");
    if (env && *env && strcmp(env, "auto")) skip();
    /* runs first (the tests below set it); the starting value is the environment's */
    assert_int_equal(tc_conv_get_algorithm(), TC_CONV_AUTO);
    assert_string_equal(tc_conv_algorithm_name(TC_CONV_WINOGRAD), "winograd");
    assert_string_equal(tc_conv_algorithm_name(TC_CONV_DIRECT), "direct");
    assert_string_equal(tc_conv_algorithm_name(TC_CONV_AUTO), "auto");
    tc_conv_set_algorithm((tc_conv_algorithm)7); /* an unknown value is direct */
    assert_int_equal(tc_conv_get_algorithm(), TC_CONV_DIRECT);
    tc_conv_set_algorithm(TC_CONV_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_is_auto),
        cmocka_unit_test(against_naive_every_isa),
        cmocka_unit_test(fused_epilogue),
        cmocka_unit_test(ineligible_stay_direct),
        cmocka_unit_test(kept_kernel),
        cmocka_unit_test(auto_keeps_lowp),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
