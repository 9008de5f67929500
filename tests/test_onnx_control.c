/* ONNX control flow (If, Loop, Scan) against PyTorch: outputs and every
 * gradient of small models whose bodies read outer-scope values (also two
 * scopes up), carry values and emit scan outputs
 * (tests/fixtures/gen_onnx_control.py); malformed bodies give one-line
 * errors. */
#include "testutil.h"

#include <string.h>

#include "tensorcook/onnx.h"

typedef struct {
    tc_onnx_model *m;
    tc_tensor *extra; /* a non-differentiable last input (If's condition), or NULL */
} run_ctx;

static tc_tensor *run_model(tc_tensor **ins, void *ctx)
{
    run_ctx *r = ctx;
    int n = tc_onnx_input_count(r->m);
    tc_tensor *all[8], *y = NULL;
    for (int i = 0; i < n; i++) all[i] = i == n - 1 && r->extra ? r->extra : ins[i];
    return tc_onnx_run(r->m, n, all, 1, &y) == TC_OK ? y : NULL;
}

static void check(const char *model, const char *fixture, int n, const char *const *diff, tc_tensor *extra)
{
    char mp[512], fp[512];
    snprintf(mp, sizeof mp, "%s/onnx/%s.onnx", TC_FIXTURES, model);
    snprintf(fp, sizeof fp, "%s/onnx/%s.tcfx", TC_FIXTURES, fixture);
    run_ctx r = {tc_onnx_load(mp), extra};
    tc_assert_ok(r.m);
    tc_check_fixture_case(fp, fixture, n, diff, run_model, &r, 1e-4, 1e-5);
    tc_onnx_free(r.m);
}

/* Loop with a trip count: an RNN whose body holds an If reading W from the
 * main graph; gradients to h0, W (two scopes up) and x (read by Gather with
 * the iteration number) */
static void loop_matches_torch(void **state)
{
    (void)state;
    check("loop_rnn", "loop_rnn", 3, (const char *[]){"h0", "W", "x"}, NULL);
}

/* Loop ended by the body's condition (no trip count) */
static void while_loop_matches_torch(void **state)
{
    (void)state;
    check("loop_while", "loop_while", 2, (const char *[]){"s0", "c"}, NULL);
}

/* Scan 16: input axes and directions, output axes (negative) and directions */
static void scan_matches_torch(void **state)
{
    (void)state;
    check("scan_axes", "scan_axes", 4, (const char *[]){"s0", "a", "b", "k"}, NULL);
}

/* If: each branch, chosen by a boolean input */
static void if_matches_torch(void **state)
{
    (void)state;
    int64_t none = 1;
    tc_tensor *yes = tc_full(0, &none, 1), *no = tc_full(0, &none, 0);
    tc_tensor *keep_yes = tc_tensor_keep(yes), *keep_no = tc_tensor_keep(no);
    check("if_select", "if_select_then", 2, (const char *[]){"x", "w"}, keep_yes);
    check("if_select", "if_select_else", 2, (const char *[]){"x", "w"}, keep_no);
    tc_tensor_free(keep_yes);
    tc_tensor_free(keep_no);
}

/* The Loop's scan output and final state agree (the same h_T two ways), and
 * the loop runs again on the same model (subgraphs are reusable) */
static void loop_outputs_agree(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/loop_rnn.onnx"));
    tc_assert_ok(m);
    tc_rng g = tc_rng_new(3);
    for (int rep = 0; rep < 2; rep++) {
        tc_tensor *in[3] = {tc_test_uniform(&g, 2, (int64_t[]){2, 3}, -1, 1), tc_test_uniform(&g, 2, (int64_t[]){3, 3}, -1, 1),
                            tc_test_uniform(&g, 3, (int64_t[]){4, 2, 3}, -1, 1)};
        tc_tensor *out[2];
        assert_int_equal(tc_onnx_run(m, 3, in, 2, out), TC_OK);
        assert_int_equal(out[0]->ndim, 3);
        assert_int_equal(out[0]->shape[0], 4);
        tc_assert_close(tc_narrow(out[0], 0, 3, 1), tc_reshape(out[1], 3, (int64_t[]){1, 2, 3}), 0, 0);
        tc_step_reset();
    }
    tc_onnx_free(m);
}

/* Malformed bodies: one line naming the file, the node and the body */
static void bad_bodies(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/bad_loop_body.onnx"));
    tc_assert_ok(m); /* loads (to be inspected); fails when it runs */
    tc_tensor *in[2] = {tc_full(0, (int64_t[]){1}, 3), tc_zeros(1, (int64_t[]){1})}, *y;
    assert_int_not_equal(tc_onnx_run(m, 2, in, 1, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "bad_loop_body.onnx: Loop node"));
    assert_non_null(strstr(tc_last_error(), "the body has 2 inputs"));
    assert_null(strchr(tc_last_error(), '\n'));
    tc_onnx_free(m);
    m = tc_onnx_load(TC_FIXTURE_PATH("onnx/bad_if_name.onnx"));
    tc_assert_ok(m);
    tc_tensor *in2[2] = {tc_zeros(1, (int64_t[]){1}), tc_full(0, (int64_t[]){1}, 0)};
    assert_int_not_equal(tc_onnx_run(m, 2, in2, 1, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "If node (output 'y') then_branch: Neg node"));
    assert_non_null(strstr(tc_last_error(), "'nowhere' is not defined"));
    tc_onnx_free(m);
    tc_step_reset();
}

/* A while loop whose condition never turns false stops with an error */
static void endless_while_stops(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/loop_while.onnx"));
    tc_assert_ok(m);
    tc_tensor *in[2] = {tc_zeros(1, (int64_t[]){3}), tc_zeros(1, (int64_t[]){3})}, *y; /* 0 + 0 + 0 stays < 40 */
    assert_int_not_equal(tc_onnx_run(m, 2, in, 1, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "without its condition turning false"));
    tc_onnx_free(m);
    tc_step_reset();
}

/* Nodes that will not run are found before running, subgraphs included,
 * each named */
static void unsupported_nodes_listed(void **state)
{
    (void)state;
    char line[1024];
    tc_onnx_model *m = tc_onnx_load("/usr/share/libonnx-testdata/data/node/test_if_seq/model.onnx");
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_unsupported(m, 0, line, sizeof line), 2);
    assert_string_equal(line, "If node (output 'res') then_branch: SequenceConstruct node (output 'then_out'): operator "
                              "'SequenceConstruct' is not supported");
    tc_onnx_unsupported(m, 1, line, sizeof line);
    assert_non_null(strstr(line, "else_branch: SequenceConstruct node (output 'else_out')"));
    assert_true(tc_onnx_node_supported(m, 0)); /* the If itself translates */
    tc_onnx_free(m);
    m = tc_onnx_load("/usr/share/libonnx-testdata/data/node/test_adam/model.onnx"); /* another domain: loads, listed */
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_unsupported(m, 0, line, sizeof line), 1);
    assert_non_null(strstr(line, "operator 'Adam' of domain 'ai.onnx.preview.training' is not supported"));
    assert_false(tc_onnx_node_supported(m, 0));
    tc_onnx_free(m);
    m = tc_onnx_load(TC_FIXTURE_PATH("onnx/loop_rnn.onnx"));
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_unsupported(m, 0, line, sizeof line), 0);
    tc_onnx_free(m);
    m = tc_onnx_load(TC_FIXTURE_PATH("onnx/bad_loop_body.onnx")); /* refused attributes count too */
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_unsupported(m, 0, line, sizeof line), 1);
    assert_non_null(strstr(line, "the body has 2 inputs"));
    tc_onnx_free(m);
    assert_non_null(tc_onnx_supported_op(0));
    bool has_scan = false;
    for (int i = 0; tc_onnx_supported_op(i); i++) has_scan |= !strcmp(tc_onnx_supported_op(i), "Scan");
    assert_true(has_scan);
}

/* 1 and 2 threads give bit-identical results through the bodies */
static void threads_identical(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/scan_axes.onnx"));
    tc_assert_ok(m);
    tc_rng g = tc_rng_new(9);
    tc_tensor *in[4] = {tc_test_uniform(&g, 1, (int64_t[]){3}, -1, 1), tc_test_uniform(&g, 2, (int64_t[]){5, 3}, -1, 1),
                        tc_test_uniform(&g, 2, (int64_t[]){3, 5}, -1, 1), tc_test_uniform(&g, 1, (int64_t[]){3}, -1, 1)};
    tc_tensor *y1, *y2;
    tc_set_num_threads(1);
    assert_int_equal(tc_onnx_run(m, 4, in, 1, &y1), TC_OK);
    tc_set_num_threads(2);
    assert_int_equal(tc_onnx_run(m, 4, in, 1, &y2), TC_OK);
    tc_assert_close(y1, y2, 0, 0);
    tc_onnx_free(m);
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_matches_torch),  cmocka_unit_test(while_loop_matches_torch),
        cmocka_unit_test(scan_matches_torch),  cmocka_unit_test(if_matches_torch),
        cmocka_unit_test(loop_outputs_agree),  cmocka_unit_test(bad_bodies),
        cmocka_unit_test(endless_while_stops), cmocka_unit_test(threads_identical),
        cmocka_unit_test(unsupported_nodes_listed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
