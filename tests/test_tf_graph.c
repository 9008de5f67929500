/* Reading TensorFlow GraphDef files (src/io/tf_graph_read.c).
 * tests/fixtures/gen_tf_graph.py writes the graphs with python3-protobuf from
 * the same schema (src/io/proto/tf_graph.proto); here they are parsed by the
 * protobuf-c code, inputs resolved and nodes ordered; bad files give one-line
 * errors naming the file and the problem. */
#include "testutil.h"

#include "../src/io/tf_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup_all(void **state)
{
    (void)state;
    return tc_test_generate("tf_graph", "gen_tf_graph.py");
}

static int teardown_all(void **state)
{
    (void)state;
    return tc_test_generated_cleanup();
}

static int position(const tf_graph *g, const char *name)
{
    int node = tc_tf_graph_find(g, name);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->order[i] == node) return i;
    return -1;
}

static void test_conv_graph_fields(void **state)
{
    (void)state;
    tf_graph *g;
    assert_int_equal(tc_tf_graph_read(tc_test_at("conv_relu_pool.pb"), &g), TC_OK);
    assert_int_equal(g->n_nodes, 7);
    assert_int_equal(g->def->versions->producer, 21);
    int conv = tc_tf_graph_find(g, "conv");
    assert_true(conv >= 0);
    const Tctf__NodeDef *d = g->def->node[conv];
    assert_string_equal(d->op, "Conv2D");
    assert_int_equal(g->n_inputs[conv], 2);
    assert_int_equal(g->inputs[conv][0].node, tc_tf_graph_find(g, "input"));
    assert_int_equal(g->inputs[conv][1].node, tc_tf_graph_find(g, "conv/w"));
    int seen = 0;
    for (size_t a = 0; a < d->n_attr; a++) {
        const Tctf__AttrValue *v = d->attr[a]->value;
        if (!strcmp(d->attr[a]->key, "padding")) {
            assert_int_equal(v->value_case, TCTF__ATTR_VALUE__VALUE_S);
            assert_memory_equal(v->s.data, "SAME", 4);
            seen++;
        } else if (!strcmp(d->attr[a]->key, "strides")) {
            assert_int_equal(v->value_case, TCTF__ATTR_VALUE__VALUE_LIST);
            assert_int_equal(v->list->n_i, 4);
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    /* the kernel constant: 3x3x3x4 floats as raw little-endian bytes */
    const Tctf__NodeDef *w = g->def->node[tc_tf_graph_find(g, "conv/w")];
    const Tctf__TensorProto *t = NULL;
    for (size_t a = 0; a < w->n_attr; a++)
        if (!strcmp(w->attr[a]->key, "value")) t = w->attr[a]->value->tensor;
    assert_non_null(t);
    assert_int_equal(t->dtype, TCTF__DATA_TYPE__DT_FLOAT);
    assert_int_equal(t->tensor_shape->n_dim, 4);
    assert_int_equal(t->tensor_content.len, 3 * 3 * 3 * 4 * sizeof(float));
    /* producers before consumers */
    assert_true(position(g, "input") < position(g, "conv"));
    assert_true(position(g, "conv") < position(g, "conv_bias"));
    assert_true(position(g, "relu") < position(g, "pool"));
    tc_tf_graph_free(g);
}

static void test_order_and_control_edges(void **state)
{
    (void)state;
    tf_graph *g;
    assert_int_equal(tc_tf_graph_read(tc_test_at("reversed.pb"), &g), TC_OK);
    assert_int_equal(position(g, "a"), 0);
    assert_int_equal(position(g, "b"), 1);
    assert_int_equal(position(g, "c"), 2);
    int b = tc_tf_graph_find(g, "b");
    assert_int_equal(g->n_inputs[b], 2);
    assert_int_equal(g->inputs[b][0].control, 0);
    assert_int_equal(g->inputs[b][1].control, 1);
    tc_tf_graph_free(g);
}

static void expect_error(const char *file, const char *needle)
{
    tf_graph *g = (tf_graph *)1;
    const char *path = tc_test_at(file);
    assert_int_not_equal(tc_tf_graph_read(path, &g), TC_OK);
    assert_null(g);
    const char *msg = tc_last_error();
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, needle));
    assert_null(strchr(msg, '\n'));
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_error("cycle.pb", "cycle");
    expect_error("missing.pb", "'nowhere:1'");
    expect_error("truncated.pb", "not a TensorFlow GraphDef");
    expect_error("random.pb", "not a TensorFlow GraphDef");
    expect_error("no_such_file.pb", "no_such_file.pb");
}

/* max |a - e| relative to the largest |e| (elementwise relative errors
 * mean nothing where a value crosses zero) */
static double rel_err(const tc_tensor *a, const tc_tensor *e)
{
    assert_int_equal(a->ndim, e->ndim);
    for (int d = 0; d < a->ndim; d++) assert_int_equal(a->shape[d], e->shape[d]);
    int64_t n = tc_numel(e);
    tc_scalar *av = malloc(sizeof *av * (size_t)(n + 1));
    assert_int_equal(tc_read_values(a, av), TC_OK);
    double worst = 0, scale = 1e-12;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)av[i] - (double)e->data[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as worst */
        if (fabs((double)e->data[i]) > scale) scale = fabs((double)e->data[i]);
    }
    free(av);
    return worst / scale;
}

typedef struct { double y_err, g_err; tc_tensor *y, *g; } case_result;

/* Runs CASE: feed CASE_x.npy to 'input', fetch, backward from the mean. */
static case_result run_case(const char *dir, const char *name, const char *fetch)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.pb", dir, name);
    tc_tf_model *m = tc_tf_load(p);
    if (!m) fail_msg("%s: %s", name, tc_last_error());
    snprintf(p, sizeof p, "%s/%s_x.npy", dir, name);
    tc_tensor *x = tc_npy_load(p);
    snprintf(p, sizeof p, "%s/%s_y.npy", dir, name);
    tc_tensor *ye = tc_npy_load(p);
    snprintf(p, sizeof p, "%s/%s_gx.npy", dir, name);
    tc_tensor *ge = tc_npy_load(p);
    assert_non_null(x), assert_non_null(ye), assert_non_null(ge);
    tc_set_requires_grad(x, true);
    const char *feed = "input";
    tc_tensor *y = NULL;
    if (tc_tf_run(m, 1, &feed, &x, 1, &fetch, &y) != TC_OK) fail_msg("%s: %s", name, tc_last_error());
    case_result r = {.y_err = rel_err(y, ye)};
    r.y = tc_tensor_keep(y);
    assert_int_equal(tc_backward(tc_mean(y, 0, NULL, false)), TC_OK);
    assert_non_null(x->grad);
    r.g_err = rel_err(x->grad, ge);
    r.g = tc_tensor_keep(x->grad);
    tc_step_reset();
    tc_tensor_free(x), tc_tensor_free(ye), tc_tensor_free(ge);
    tc_tf_free(m);
    return r;
}

static bool same_values(const tc_tensor *a, const tc_tensor *b)
{
    return tc_numel(a) == tc_numel(b) && !memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a));
}

/* Every operator against PyTorch (gen_tf_graph.py evaluates each graph with
 * its own implementation of the op): outputs to 1e-5 and the gradient of
 * mean(output) w.r.t. the input to 1e-4, relative to the largest value; the
 * same bits with 1 and 2 threads; every translated op in some case. */
static void test_ops_against_pytorch(void **state)
{
    (void)state;
    char dir[600], p[1000];
    snprintf(dir, sizeof dir, "%s/ops", tc_test_dir());
    snprintf(p, sizeof p, "%s/cases.txt", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    int n_ops = 0;
    while (tc_tf_ops[n_ops].op) n_ops++;
    int *used = calloc((size_t)n_ops, sizeof(int));
    char name[128], fetch[128];
    int cases = 0;
    while (fscanf(f, "%127s %127s", name, fetch) == 2) {
        cases++;
        snprintf(p, sizeof p, "%s/%s.pb", dir, name);
        tc_tf_model *m = tc_tf_load(p);
        assert_non_null(m);
        for (int i = 0; i < tc_tf_node_count(m); i++)
            for (int k = 0; k < n_ops; k++) used[k] += !strcmp(tc_tf_ops[k].op, tc_tf_node_op(m, i));
        tc_tf_free(m);
        tc_set_num_threads(1);
        case_result one = run_case(dir, name, fetch);
        tc_set_num_threads(2);
        case_result two = run_case(dir, name, fetch);
        printf("  %-40s output %.2e  input gradient %.2e\n", name, one.y_err, one.g_err);
        if (!(one.y_err <= 1e-5) || !(one.g_err <= 1e-4))
            fail_msg("%s (%s): output error %g, gradient error %g", name, fetch, one.y_err, one.g_err);
        if (!same_values(one.y, two.y) || !same_values(one.g, two.g)) fail_msg("%s: 1 and 2 threads differ", name);
        tc_tensor_free(one.y), tc_tensor_free(one.g), tc_tensor_free(two.y), tc_tensor_free(two.g);
    }
    fclose(f);
    assert_true(cases >= 39);
    for (int k = 0; k < n_ops; k++)
        if (!used[k]) fail_msg("operator %s is in no test graph", tc_tf_ops[k].op);
    free(used);
}

/* Only what a fetch needs runs: the inception block's head needs a 32x32
 * input, its bottleneck layer does not. Feeding errors name the node. */
static void test_fetch_runs_only_what_it_needs(void **state)
{
    (void)state;
    char p[700];
    snprintf(p, sizeof p, "%s/ops/inception_mixed4d.pb", tc_test_dir());
    tc_tf_model *m = tc_tf_load(p);
    assert_non_null(m);
    assert_int_equal(tc_tf_input_count(m), 1);
    int64_t dims[TC_MAX_DIMS];
    assert_int_equal(tc_tf_input_shape(m, 0, dims), 4);
    assert_int_equal(dims[0], -1), assert_int_equal(dims[3], 3);
    assert_true(tc_tf_find(m, "mixed4d_3x3_bottleneck_pre_relu:0") >= 0);
    assert_true(tc_tf_param_count(m) > 0);
    tc_tensor *x = tc_full(TC_SHAPE(1, 24, 20, 3), 1);
    const char *feed = "input", *fetch = "mixed4d_3x3_bottleneck_pre_relu:0", *head = "output2";
    tc_tensor *y = NULL;
    assert_int_equal(tc_tf_run(m, 1, &feed, &x, 1, &fetch, &y), TC_OK);
    assert_int_equal(y->shape[1], 6), assert_int_equal(y->shape[2], 5), assert_int_equal(y->shape[3], 6);
    assert_int_not_equal(tc_tf_run(m, 1, &feed, &x, 1, &head, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "node 'avgpool0"));
    assert_null(strchr(tc_last_error(), '\n'));
    assert_int_not_equal(tc_tf_run(m, 0, NULL, NULL, 1, &fetch, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "node 'input' (Placeholder): the placeholder is not fed"));
    const char *nowhere = "nowhere";
    assert_int_not_equal(tc_tf_run(m, 1, &nowhere, &x, 1, &fetch, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "no node 'nowhere' to feed"));
    assert_int_not_equal(tc_tf_run(m, 1, &feed, &x, 1, &nowhere, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "no tensor 'nowhere' to fetch"));
    tc_tensor *wrong = tc_full(TC_SHAPE(1, 8, 8, 4), 1);
    assert_int_not_equal(tc_tf_run(m, 1, &feed, &wrong, 1, &fetch, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "the placeholder is [-1, -1, -1, 3]"));
    tc_step_reset();
    tc_tf_free(m);
}

static void expect_load_error(const char *file, const char *needle)
{
    const char *path = tc_test_at(file);
    assert_null(tc_tf_load(path));
    const char *msg = tc_last_error();
    if (!strstr(msg, path) || !strstr(msg, needle) || strchr(msg, '\n'))
        fail_msg("%s: message '%s' lacks '%s'", file, msg, needle);
}

static void test_load_errors(void **state)
{
    (void)state;
    expect_load_error("unknown_op.pb", "node 'weird': operator 'FooBarOp' is not supported");
    expect_load_error("cycle.pb", "cycle");
    expect_load_error("missing.pb", "'nowhere:1'");
    expect_load_error("truncated.pb", "not a TensorFlow GraphDef");
    expect_load_error("random.pb", "not a TensorFlow GraphDef");
    /* loads (two small splats), but their sum is refused, not allocated */
    tc_tf_model *m = tc_tf_load(tc_test_at("too_big.pb"));
    assert_non_null(m);
    const char *fetch = "sum";
    tc_tensor *y;
    assert_int_not_equal(tc_tf_run(m, 0, NULL, NULL, 1, &fetch, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "node 'sum' (Add): the result would hold 5.37e+08 values (at most 2^28)"));
    const char *feed = "input", *conv = "conv";
    tc_tensor *x = tc_full(TC_SHAPE(1, 5, 4, 3), 1);
    assert_int_not_equal(tc_tf_run(m, 1, &feed, &x, 1, &conv, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "node 'conv' (Conv2D): the padded input would hold"));
    tc_step_reset();
    tc_tf_free(m);
}

/* The inputs the fuzzer kept (tests/fuzz/regressions/tf_graph): each loads
 * and runs, or fails with a one-line error naming the file, never crashes
 * (oom-a3ae94d5: a Pad to 2.7e8 values, now refused). */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    const char *dir = TC_FIXTURES "/../fuzz/regressions/tf_graph";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int seen = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "README")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tc_tf_model *m = tc_tf_load(path);
        if (!m) {
            assert_non_null(strstr(tc_last_error(), e->d_name));
            assert_null(strchr(tc_last_error(), '\n'));
        }
        /* run as the fuzz target does: placeholders fed, the first nodes fetched */
        int n_in = tc_tf_input_count(m) < 8 ? tc_tf_input_count(m) : 8;
        const char *feed[8];
        tc_tensor *x[8];
        for (int k = 0; k < n_in; k++) {
            feed[k] = tc_tf_node_name(m, tc_tf_input_node(m, k));
            x[k] = tc_full(TC_SHAPE(1, 5, 4, 3), 0.5f);
        }
        for (int i = 0; m && i < tc_tf_node_count(m) && i < 32; i++) {
            const char *fetch = tc_tf_node_name(m, i);
            tc_tensor *y;
            if (tc_tf_run(m, n_in, feed, x, 1, &fetch, &y) != TC_OK) {
                assert_non_null(strstr(tc_last_error(), e->d_name));
                assert_null(strchr(tc_last_error(), '\n'));
            }
        }
        tc_step_reset();
        tc_tf_free(m);
        seen++;
    }
    closedir(d);
    assert_true(seen > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_graph_fields),
        cmocka_unit_test(test_order_and_control_edges),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_ops_against_pytorch),
        cmocka_unit_test(test_fetch_runs_only_what_it_needs),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
