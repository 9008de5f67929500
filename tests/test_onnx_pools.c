/* The ONNX Lp operators (LpPool 1-D with SAME_UPPER and 2-D with explicit
 * pads, GlobalLpPool, LpNormalization with p 1 and 2) and MaxRoiPool against
 * PyTorch (torchvision's roi_pool): outputs and gradients
 * (tests/fixtures/gen_onnx_pools.py). */
#include "testutil.h"

#include "tensorcook/onnx.h"

static tc_tensor *rois; /* MaxRoiPool's second input (not differentiated) */

static tc_tensor *run_model(tc_tensor **ins, void *ctx)
{
    tc_tensor *y = NULL, *all[2] = {ins[0], rois};
    return tc_onnx_run(ctx, tc_onnx_input_count(ctx), all, 1, &y) == TC_OK ? y : NULL;
}

static void check(const char *name)
{
    char mp[512], fp[512];
    snprintf(mp, sizeof mp, "%s/onnx/%s.onnx", TC_FIXTURES, name);
    snprintf(fp, sizeof fp, "%s/onnx/%s.tcfx", TC_FIXTURES, name);
    tc_onnx_model *m = tc_onnx_load(mp);
    tc_assert_ok(m);
    tc_check_fixture_case(fp, name, 1, (const char *[]){"x"}, run_model, m, 1e-4, 1e-5);
    tc_onnx_free(m);
}

static void lp_pool(void **state)
{
    (void)state;
    check("lp_pool_2d");
    check("lp_pool_1d_same");
}

static void global_lp_pool(void **state)
{
    (void)state;
    check("global_lp_pool");
}

static void lp_normalization(void **state)
{
    (void)state;
    check("lp_norm_1");
    check("lp_norm_2");
}

static void max_roi_pool(void **state)
{
    (void)state;
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("onnx/max_roi_pool.tcfx"));
    tc_assert_ok(fx);
    rois = tc_fixture_get(fx, "in:rois");
    tc_assert_ok(rois);
    check("max_roi_pool");
    rois = NULL;
    tc_fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(lp_pool), cmocka_unit_test(global_lp_pool),
                                       cmocka_unit_test(lp_normalization), cmocka_unit_test(max_roi_pool)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
