/* tc_onnx_prepare_inference on a CNN exported by PyTorch with its
 * BatchNormalization nodes kept (tests/fixtures/gen_onnx_fold.py): the
 * counts of folded BatchNormalizations and planned epilogues, the rewritten
 * model's output against the unrewritten one (1e-5 relative) and against
 * PyTorch's, on every instruction-set path; with a gradient to record the
 * epilogues run as the separate nodes (same bits, and the input gradient
 * flows). */
#include "testutil.h"

#include "tensorcook/onnx.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static tc_onnx_model *load(bool prepare, int *folded, int *fused)
{
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURES "/onnx/fold_cnn.onnx");
    if (!m) fail_msg("%s", tc_last_error());
    if (prepare && tc_onnx_prepare_inference(m, folded, fused) != TC_OK) fail_msg("%s", tc_last_error());
    return m;
}

static tc_tensor *run(tc_onnx_model *m, tc_tensor *x)
{
    tc_tensor *y = NULL;
    if (tc_onnx_run(m, 1, &x, 1, &y) != TC_OK) fail_msg("%s", tc_last_error());
    return y;
}

static void folded_matches_unfolded(void **state)
{
    (void)state;
    int folded = -1, fused = -1;
    tc_onnx_model *plain = load(false, NULL, NULL), *fast = load(true, &folded, &fused);
    /* five Conv+BN pairs; epilogues: relu, add+relu, relu+clip, add+relu (downsample), and the
     * broadcast add+relu planned (it falls back at run time); the conv read twice is left alone */
    assert_int_equal(folded, 5);
    assert_int_equal(fused, 5);
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/fold_cnn.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    /* kept: the loop resets the step */
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x")), *want = tc_tensor_keep(tc_fixture_get(fx, "out"));
    tc_isa_level keep = tc_isa();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        bool was = tc_set_grad_enabled(false);
        tc_tensor *a = tc_contiguous(run(plain, x)), *b = tc_contiguous(run(fast, x));
        tc_set_grad_enabled(was);
        char what[64];
        snprintf(what, sizeof what, "folded vs unfolded (%s)", tc_isa_name(tc_isa()));
        tc_assert_close_(b, a, 1e-5, 1e-6, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "folded vs PyTorch (%s)", tc_isa_name(tc_isa()));
        tc_assert_close_(b, want, 1e-4, 1e-5, what, __FILE__, __LINE__);
        /* No check that the bits changed: that the folding happened is the
         * counts above. The output of this small net (a mean over the image,
         * then Gemm) is bit-identical to the unfolded one under some BLAS
         * kernels (OPENBLAS_CORETYPE=Haswell, generic path). */
        /* with a gradient to record: the epilogue nodes run as themselves, same bits, gradients flow */
        tc_tensor *xg = tc_contiguous(x);
        tc_set_requires_grad(xg, true);
        tc_tensor *c = run(fast, xg);
        assert_int_equal(tc_backward(tc_sum(c, 0, NULL, false)), TC_OK);
        tc_assert_close(tc_contiguous(c), b, 0, 0);
        assert_non_null(xg->grad);
        double g2 = 0;
        for (int64_t i = 0; i < tc_numel(xg->grad); i++) g2 += xg->grad->data[i] * xg->grad->data[i];
        assert_true(g2 > 0);
        tc_step_reset();
    }
    tc_set_isa(keep);
    tc_tensor_free(x);
    tc_tensor_free(want);
    tc_fixture_free(fx);
    tc_onnx_free(plain);
    tc_onnx_free(fast);
}

/* Conv kernels converted and packed at their first run (cl_kernels,
 * tc_conv_weights) must not outlive a fine-tune: once an initializer has
 * been marked for training and changed, inference gives what a model
 * loaded with the new values gives, bit for bit, not the old outputs. */
static bool is_kernel(const tc_tensor *w, const char *name)
{
    return w->ndim == 4 && strstr(name, ".weight"); /* the Conv kernels (not the [1, C, 1, 1] constant 'pb') */
}

static void trained_kernels_are_not_stale(void **state)
{
    const char *name;
    (void)state;
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/fold_cnn.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x"));
    tc_onnx_model *m = load(false, NULL, NULL), *fresh = load(false, NULL, NULL);
    bool was = tc_set_grad_enabled(false);
    tc_tensor *before = tc_tensor_keep(tc_contiguous(run(m, x))); /* packs made here */
    tc_set_grad_enabled(was);
    int changed = 0;
    for (int i = 0; i < tc_onnx_initializer_count(m); i++) {
        tc_tensor *w = tc_onnx_initializer(m, i, &name), *w2 = tc_onnx_initializer(fresh, i, NULL);
        if (!is_kernel(w, name)) continue;
        tc_set_requires_grad(w, true); /* as a fine-tune would, then an optimizer step */
        for (int64_t k = 0; k < tc_numel(w); k++) w->data[k] = w2->data[k] = w->data[k] * (tc_scalar)0.75;
        tc_set_requires_grad(w, false);
        changed++;
    }
    assert_true(changed > 0);
    tc_step_reset();
    /* each model is run once with the flags set (what marks its copies stale:
     * the reference too, whose kernels were converted at load from the old
     * values; it never ran, so it never made a pack) */
    tc_onnx_model *both[2] = {m, fresh};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < tc_onnx_initializer_count(both[k]); i++) {
            tc_tensor *w = tc_onnx_initializer(both[k], i, &name);
            if (is_kernel(w, name)) tc_set_requires_grad(w, true);
        }
        assert_non_null(run(both[k], x));
        tc_step_reset();
        for (int i = 0; i < tc_onnx_initializer_count(both[k]); i++) {
            tc_tensor *w = tc_onnx_initializer(both[k], i, &name);
            if (is_kernel(w, name)) tc_set_requires_grad(w, false);
        }
    }
    was = tc_set_grad_enabled(false);
    tc_tensor *after = tc_contiguous(run(m, x)), *want = tc_contiguous(run(fresh, x));
    tc_set_grad_enabled(was);
    tc_assert_close(after, want, 0, 0);
    assert_true(memcmp(after->data, before->data, sizeof(tc_scalar) * (size_t)tc_numel(after)) != 0);
    tc_step_reset();
    tc_tensor_free(x);
    tc_tensor_free(before);
    tc_fixture_free(fx);
    tc_onnx_free(m);
    tc_onnx_free(fresh);
}

static int node_named(const tc_onnx_model *m, const char *name)
{
    for (int i = 0; i < tc_onnx_node_count(m); i++)
        if (!strcmp(tc_onnx_node_name(m, i), name)) return i;
    fail_msg("no node %s", name);
    return -1;
}

/* tc_onnx_set_profiling: per-node run counts (0 for the folded, fused and
 * Constant nodes, which never run), the products' FLOPs from their shapes, times
 * that add up, totals cleared when switched on again, none when off */
static void profiling_counts_runs_and_flops(void **state)
{
    (void)state;
    tc_onnx_model *m = load(true, NULL, NULL);
    tc_tensor *x = tc_tensor_new(4, (int64_t[]){2, 3, 12, 11});
    tc_rng rng = tc_rng_new(5);
    tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
    tc_set_grad_enabled(false);
    (void)run(m, x); /* before profiling: not counted */
    assert_int_equal(tc_onnx_set_profiling(m, true), TC_OK);
    tc_tensor *y = NULL;
    for (int r = 0; r < 3; r++) y = run(m, x);
    const int c1 = node_named(m, "/c1/Conv"), bn = node_named(m, "/b1/BatchNormalization");
    const int dw = node_named(m, "/dw/Conv"), fc = node_named(m, "/fc/Gemm"), relu = node_named(m, "/Relu");
    assert_int_equal(tc_onnx_node_profile_of(m, c1).runs, 3);
    assert_int_equal(tc_onnx_node_profile_of(m, fc).runs, 3);
    assert_int_equal(tc_onnx_node_profile_of(m, bn).runs, 0);   /* folded into c1 */
    assert_int_equal(tc_onnx_node_profile_of(m, relu).runs, 0); /* c1's epilogue */
    /* the Constant nodes became initializers at load (onnx_fold_const.c) */
    assert_int_equal(tc_onnx_node_profile_of(m, node_named(m, "/Constant")).runs, 0);
    assert_int_equal(tc_onnx_node_profile_of(m, node_named(m, "/Constant_1")).runs, 0);
    /* Gemm [2, 16] x [16, 5]: 2 x 10 x 16 FLOPs a run */
    assert_true(tc_onnx_node_profile_of(m, fc).flops == 3 * 2.0 * 10 * 16);
    assert_int_equal(y->shape[0], 2);
    /* c1: 3x3x3 taps per output value (8 filters); dw: 3x3 per output value (one channel each) */
    const double f1 = tc_onnx_node_profile_of(m, c1).flops, fd = tc_onnx_node_profile_of(m, dw).flops;
    assert_true(f1 > 0 && fmod(f1, 3 * 2.0 * 27 * 8 * 2) == 0);
    assert_true(fd > 0 && fmod(fd, 3 * 2.0 * 9 * 8 * 2) == 0);
    double total = 0;
    for (int i = 0; i < tc_onnx_node_count(m); i++) {
        const tc_onnx_node_profile p = tc_onnx_node_profile_of(m, i);
        assert_true(p.seconds >= 0 && p.cpu_seconds >= 0);
        total += p.seconds;
    }
    assert_true(total > 0);
    assert_int_equal(tc_onnx_set_profiling(m, true), TC_OK); /* cleared */
    assert_int_equal(tc_onnx_node_profile_of(m, c1).runs, 0);
    assert_int_equal(tc_onnx_set_profiling(m, false), TC_OK);
    (void)run(m, x);
    assert_int_equal(tc_onnx_node_profile_of(m, c1).runs, 0);
    assert_null(tc_onnx_node_name(m, tc_onnx_node_count(m)));
    assert_int_equal(tc_onnx_set_profiling(NULL, true), TC_ERR_ARG);
    tc_set_grad_enabled(true);
    tc_step_reset();
    tc_tensor_free(x);
    tc_onnx_free(m);
}

/* Pad + AveragePool (tests/fixtures/gen_onnx_pad_pool.py): the constant
 * zero Pads become their pools' pads and never run; the Pads whose pads the
 * graph computes (F.pad) still run; the output has the same bits as the
 * model run as it is, on every instruction set and at 1 and 2 threads, and
 * matches PyTorch */
static void pad_folds_into_avg_pool(void **state)
{
    (void)state;
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/pad_pool.tcfx");
    assert_non_null(fx);
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x")), *want = tc_tensor_keep(tc_fixture_get(fx, "out"));
    tc_onnx_model *plain = tc_onnx_load(TC_FIXTURES "/onnx/pad_pool.onnx"), *m = tc_onnx_load(TC_FIXTURES "/onnx/pad_pool.onnx");
    if (!plain || !m) fail_msg("%s", tc_last_error());
    assert_int_equal(tc_onnx_prepare_inference(m, NULL, NULL), TC_OK);
    assert_int_equal(tc_onnx_set_profiling(m, true), TC_OK);
    tc_set_grad_enabled(false);
    tc_isa_level keep = tc_isa();
    int saved = tc_num_threads();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int threads = 1; threads <= 2; threads++) {
            tc_set_num_threads(threads);
            tc_tensor *y0 = run(plain, x), *y = run(m, x);
            assert_int_equal(tc_numel(y), tc_numel(want));
            assert_int_equal(tc_numel(y0), tc_numel(want));
            if (memcmp(y->data, y0->data, sizeof(tc_scalar) * (size_t)tc_numel(y)))
                fail_msg("%s threads %d: rewritten output differs from the model as it is", tc_isa_name(tc_isa()), threads);
            for (int64_t i = 0; i < tc_numel(y); i++)
                if (fabsf(y->data[i] - want->data[i]) > 1e-5f * (1 + fabsf(want->data[i])))
                    fail_msg("y[%lld] = %g, PyTorch %g", (long long)i, y->data[i], want->data[i]);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(saved);
    static const char *folded[] = {"/Pad", "/Pad_1", "/Pad_3", "/Pad_4", "/Pad_6"}, *kept[] = {"/Pad_2", "/Pad_5"};
    for (int i = 0; i < 5; i++) assert_int_equal(tc_onnx_node_profile_of(m, node_named(m, folded[i])).runs, 0);
    for (int i = 0; i < 2; i++) assert_true(tc_onnx_node_profile_of(m, node_named(m, kept[i])).runs > 0);
    tc_set_grad_enabled(true);
    tc_onnx_free(plain);
    tc_onnx_free(m);
    tc_tensor_free(x);
    tc_tensor_free(want);
    tc_fixture_free(fx);
}

/* Constant and Identity nodes (tests/fixtures/gen_onnx_identity.py: a bias
 * shared through Identity nodes, Clip bounds from Constant nodes): after
 * prepare_inference they never run but the Identity on the graph output
 * does, and the output has the same bits as the model run as it is, on
 * every instruction set and at 1 and 2 threads */
static void constants_and_identities_fold(void **state)
{
    (void)state;
    tc_onnx_model *plain = tc_onnx_load(TC_FIXTURES "/onnx/identity_bias.onnx"),
                  *m = tc_onnx_load(TC_FIXTURES "/onnx/identity_bias.onnx");
    if (!plain || !m) fail_msg("%s", tc_last_error());
    assert_int_equal(tc_onnx_prepare_inference(m, NULL, NULL), TC_OK);
    assert_int_equal(tc_onnx_set_profiling(m, true), TC_OK);
    tc_tensor *x = tc_tensor_new(4, (int64_t[]){2, 3, 9, 8});
    tc_rng rng = tc_rng_new(7);
    tc_rng_normal(&rng, x->data, tc_numel(x), 0, 1);
    tc_set_grad_enabled(false);
    tc_isa_level keep = tc_isa();
    int saved = tc_num_threads();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int threads = 1; threads <= 2; threads++) {
            tc_set_num_threads(threads);
            tc_tensor *y0 = run(plain, x), *y = run(m, x);
            assert_int_equal(tc_numel(y), 2 * 6 * 9 * 8);
            assert_int_equal(tc_numel(y0), tc_numel(y));
            if (memcmp(y->data, y0->data, sizeof(tc_scalar) * (size_t)tc_numel(y)))
                fail_msg("%s threads %d: rewritten output differs from the model as it is", tc_isa_name(tc_isa()), threads);
            bool clipped = false; /* the Constant bounds took effect */
            for (int64_t i = 0; i < tc_numel(y); i++) {
                assert_true(y->data[i] >= 0 && y->data[i] <= 6);
                clipped |= y->data[i] == 6;
            }
            assert_true(clipped);
            tc_step_reset();
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(saved);
    static const char *gone[] = {"/Identity", "/Identity_1", "/lo", "/hi"};
    for (int i = 0; i < 4; i++) assert_int_equal(tc_onnx_node_profile_of(m, node_named(m, gone[i])).runs, 0);
    assert_true(tc_onnx_node_profile_of(m, node_named(m, "/Identity_out")).runs > 0); /* a graph output: kept */
    assert_true(tc_onnx_node_profile_of(m, node_named(m, "/c1/Conv")).runs > 0);
    tc_set_grad_enabled(true);
    tc_onnx_free(plain);
    tc_onnx_free(m);
    tc_tensor_free(x);
}

static void bad_input(void **state)
{
    (void)state;
    assert_int_equal(tc_onnx_prepare_inference(NULL, NULL, NULL), TC_ERR_ARG);
    assert_non_null(strstr(tc_last_error(), "NULL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(folded_matches_unfolded),
                                       cmocka_unit_test(trained_kernels_are_not_stale),
                                       cmocka_unit_test(profiling_counts_runs_and_flops),
                                       cmocka_unit_test(pad_folds_into_avg_pool),
                                       cmocka_unit_test(constants_and_identities_fold), cmocka_unit_test(bad_input)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
