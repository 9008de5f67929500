/* Conv chains run image by image (src/io/onnx_block.c) on a small
 * MobileNet-v2-like net of odd sizes (tests/fixtures/gen_onnx_block.py):
 * the chains found (two inverted-residual blocks, stride 1 with its
 * residual and stride 2 without, and an expansion-1 block of two Convs),
 * the image-by-image output bit-identical to the node-by-node one at
 * batch 3 on 1 and 2 threads and the AVX2 and AVX-512 paths (the generic
 * one declines), and both against PyTorch; batch 1, a gradient to record, the default size
 * threshold and TENSORCOOK_ONNX_BLOCK=0 run node by node; the profiler
 * still counts the chain's nodes. Row bands (TENSORCOOK_ONNX_BAND): every
 * band height from one row up (odd heights, the last band shorter, the
 * stride-2 chain's 13 input rows to 7 output rows), at batch 1 and 3, on 1
 * and 2 threads and AVX2/AVX-512, bit-identical to node by node. */
#include "testutil.h"

#include "tensorcook/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tc_onnx_model *load(void)
{
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURES "/onnx/block_irnet.onnx");
    if (!m) fail_msg("%s", tc_last_error());
    int folded = 0, fused = 0;
    if (tc_onnx_prepare_inference(m, &folded, &fused) != TC_OK) fail_msg("%s", tc_last_error());
    assert_int_equal(folded, 8);
    return m;
}

/* the model's output with TENSORCOOK_ONNX_BLOCK=mode ("0": node by node,
 * "1": chains image by image from 1 KiB of maps, NULL: the default), long-lived */
static tc_tensor *run(tc_onnx_model *m, tc_tensor *x, const char *mode)
{
    if (mode) setenv("TENSORCOOK_ONNX_BLOCK", mode, 1);
    else unsetenv("TENSORCOOK_ONNX_BLOCK");
    tc_tensor *y = NULL;
    if (tc_onnx_run(m, 1, &x, 1, &y) != TC_OK) fail_msg("%s", tc_last_error());
    y = tc_tensor_keep(tc_contiguous(y));
    tc_step_reset();
    return y;
}

static void image_by_image_matches_node_by_node(void **state)
{
    (void)state;
    tc_onnx_model *m = load();
    assert_int_equal(tc_onnx_block_count(m), 3);
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/block_irnet.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x")), *want = tc_tensor_keep(tc_fixture_get(fx, "out"));
    assert_int_equal(x->shape[0], 3);
    bool was = tc_set_grad_enabled(false);
    tc_isa_level keep = tc_isa();
    int threads = tc_num_threads();
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        tc_tensor *one = NULL;
        for (int t = 1; t <= 2; t++) {
            tc_set_num_threads(t);
            int64_t before = tc_onnx_block_runs(m);
            tc_tensor *plain = run(m, x, "0");
            assert_int_equal(tc_onnx_block_runs(m), before);
            tc_tensor *blocked = run(m, x, "1");
            /* the generic path (OpenBLAS, whose bits depend on the panels) stays node by node */
            assert_int_equal(tc_onnx_block_runs(m), before + (tc_isa() == TC_ISA_GENERIC ? 0 : 3));
            char what[96];
            snprintf(what, sizeof what, "image by image vs node by node (%s, %d threads)", tc_isa_name(tc_isa()), t);
            tc_assert_close_(blocked, plain, 0, 0, what, __FILE__, __LINE__);
            snprintf(what, sizeof what, "image by image vs PyTorch (%s, %d threads)", tc_isa_name(tc_isa()), t);
            tc_assert_close_(blocked, want, 1e-4, 1e-5, what, __FILE__, __LINE__);
            if (one) tc_assert_close(blocked, one, 0, 0); /* 1 and 2 threads: same bits */
            else one = tc_tensor_keep(blocked);
            tc_tensor_free(plain);
            if (blocked != one) tc_tensor_free(blocked);
        }
        tc_tensor_free(one);
    }
    tc_set_isa(keep);
    tc_set_num_threads(threads);
    tc_set_grad_enabled(was);
    unsetenv("TENSORCOOK_ONNX_BLOCK");
    tc_tensor_free(x);
    tc_tensor_free(want);
    tc_fixture_free(fx);
    tc_onnx_free(m);
}

/* the model's output in row bands of `kib` KiB of intermediate rows
 * (TENSORCOOK_ONNX_BLOCK=1), long-lived */
static tc_tensor *run_banded(tc_onnx_model *m, tc_tensor *x, const char *kib)
{
    setenv("TENSORCOOK_ONNX_BAND", kib, 1);
    tc_tensor *y = run(m, x, "1");
    unsetenv("TENSORCOOK_ONNX_BAND");
    return y;
}

static void row_bands_match_node_by_node(void **state)
{
    (void)state;
    tc_onnx_model *m = load();
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/block_irnet.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *x3 = tc_tensor_keep(tc_fixture_get(fx, "in:x")), *want = tc_tensor_keep(tc_fixture_get(fx, "out"));
    tc_tensor *x1 = tc_tensor_keep(tc_contiguous(tc_narrow(x3, 0, 2, 1)));
    bool was = tc_set_grad_enabled(false);
    tc_isa_level keep = tc_isa();
    int threads = tc_num_threads();
    /* 1 KiB: one-row bands (the 19-channel expand's 11-pixel rows are 836
     * bytes); 5, 7, 9 KiB: 2 to 4 rows, uneven last bands; 64: whole images
     * (batch 3: image by image; batch 1: node by node) */
    const char *kibs[] = {"1", "5", "7", "9", "64"};
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (int batch = 1; batch <= 3; batch += 2) {
            tc_tensor *x = batch == 1 ? x1 : x3;
            tc_tensor *ref = tc_tensor_keep(tc_contiguous(tc_narrow(want, 0, batch == 1 ? 2 : 0, batch)));
            tc_tensor *one[5] = {NULL};
            for (int t = 1; t <= 2; t++) {
                tc_set_num_threads(t);
                tc_tensor *plain = run(m, x, "0");
                for (int j = 0; j < 5; j++) {
                    int64_t runs = tc_onnx_block_runs(m), banded = tc_onnx_block_banded_runs(m);
                    tc_tensor *y = run_banded(m, x, kibs[j]);
                    /* the chains in bands: the expansion-1 one's 7 x 6 x 9 map
                     * (1.5 KB) only at 1 KiB; at batch 1 the others node by node */
                    int bands = tc_isa() == TC_ISA_GENERIC ? 0 : (int[]){3, 2, 2, 2, 0}[j];
                    assert_int_equal(tc_onnx_block_banded_runs(m), banded + bands);
                    assert_int_equal(tc_onnx_block_runs(m),
                                     runs + (tc_isa() == TC_ISA_GENERIC ? 0 : batch == 1 ? bands : 3));
                    char what[128];
                    snprintf(what, sizeof what, "bands of %s KiB vs node by node (%s, batch %d, %d threads)", kibs[j],
                             tc_isa_name(tc_isa()), batch, t);
                    tc_assert_close_(y, plain, 0, 0, what, __FILE__, __LINE__);
                    tc_assert_close_(y, ref, 1e-4, 1e-5, what, __FILE__, __LINE__);
                    if (one[j]) {
                        tc_assert_close_(y, one[j], 0, 0, what, __FILE__, __LINE__); /* same bits as 1 thread */
                        tc_tensor_free(y);
                    } else
                        one[j] = y;
                }
                tc_tensor_free(plain);
            }
            for (int j = 0; j < 5; j++) tc_tensor_free(one[j]);
            tc_tensor_free(ref);
        }
    }
    tc_set_isa(keep);
    tc_set_num_threads(threads);
    tc_set_grad_enabled(was);
    unsetenv("TENSORCOOK_ONNX_BLOCK");
    tc_tensor_free(x1);
    tc_tensor_free(x3);
    tc_tensor_free(want);
    tc_fixture_free(fx);
    tc_onnx_free(m);
}

/* batch 1, the default threshold (the fixture's maps are far below 4 MB)
 * and a gradient to record: node by node, same bits as forced image by image */
static void declined_cases_run_node_by_node(void **state)
{
    (void)state;
    tc_onnx_model *m = load();
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/block_irnet.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x"));
    bool was = tc_set_grad_enabled(false);
    tc_tensor *forced = run(m, x, "1");
    int64_t before = tc_onnx_block_runs(m);
    tc_tensor *dflt = run(m, x, NULL);
    assert_int_equal(tc_onnx_block_runs(m), before);
    tc_assert_close(dflt, forced, 0, 0);
    tc_tensor *x1 = tc_tensor_keep(tc_narrow(x, 0, 1, 1)), *one = run(m, x1, "1");
    assert_int_equal(tc_onnx_block_runs(m), before);
    /* a lone image through our kernels gives its bits in the batch; the
     * generic path (OpenBLAS: bits depend on where a row falls in its panels,
     * and chains are declined there) only to rounding */
    if (tc_isa() == TC_ISA_GENERIC) tc_assert_close(one, tc_narrow(forced, 0, 1, 1), 1e-5, 1e-6);
    else tc_assert_close(one, tc_narrow(forced, 0, 1, 1), 0, 0);
    tc_set_grad_enabled(true);
    tc_tensor *xg = tc_tensor_keep(tc_contiguous(x));
    tc_set_requires_grad(xg, true);
    setenv("TENSORCOOK_ONNX_BLOCK", "1", 1);
    tc_tensor *y = NULL;
    if (tc_onnx_run(m, 1, &xg, 1, &y) != TC_OK) fail_msg("%s", tc_last_error());
    assert_int_equal(tc_onnx_block_runs(m), before);
    tc_assert_close(tc_contiguous(y), forced, 0, 0);
    assert_int_equal(tc_backward(tc_sum(y, 0, NULL, false)), TC_OK);
    assert_non_null(xg->grad);
    tc_step_reset();
    tc_set_grad_enabled(was);
    unsetenv("TENSORCOOK_ONNX_BLOCK");
    tc_tensor_free(xg);
    tc_tensor_free(x1);
    tc_tensor_free(one);
    tc_tensor_free(dflt);
    tc_tensor_free(forced);
    tc_tensor_free(x);
    tc_fixture_free(fx);
    tc_onnx_free(m);
}

/* the profiler counts each Conv of a chain once per run, with its FLOPs */
static void profiled_chains_count_their_nodes(void **state)
{
    (void)state;
    tc_onnx_model *m = load();
    tc_fixture *fx = tc_fixture_load(TC_FIXTURES "/onnx/block_irnet.tcfx");
    if (!fx) fail_msg("%s", tc_last_error());
    tc_tensor *x = tc_tensor_keep(tc_fixture_get(fx, "in:x"));
    bool was = tc_set_grad_enabled(false);
    assert_int_equal(tc_onnx_set_profiling(m, true), TC_OK);
    tc_tensor *y1 = run(m, x, "1"), *y2 = run(m, x, "1");
    assert_int_equal(tc_onnx_block_runs(m), tc_isa() == TC_ISA_GENERIC ? 0 : 6);
    int convs = 0;
    for (int i = 0; i < tc_onnx_node_count(m); i++) {
        if (strcmp(tc_onnx_node_op(m, i), "Conv")) continue;
        tc_onnx_node_profile p = tc_onnx_node_profile_of(m, i);
        assert_int_equal(p.runs, 2);
        assert_true(p.flops > 0);
        convs++;
    }
    assert_int_equal(convs, 9);
    tc_set_grad_enabled(was);
    unsetenv("TENSORCOOK_ONNX_BLOCK");
    tc_tensor_free(y1);
    tc_tensor_free(y2);
    tc_tensor_free(x);
    tc_fixture_free(fx);
    tc_onnx_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(image_by_image_matches_node_by_node),
        cmocka_unit_test(declined_cases_run_node_by_node),
        cmocka_unit_test(profiled_chains_count_their_nodes),
        cmocka_unit_test(row_bands_match_node_by_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
