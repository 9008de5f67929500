/* Reading TensorFlow GraphDef files (src/io/tf_graph_read.c).
 * tests/fixtures/gen_tf_graph.py writes the graphs with python3-protobuf from
 * the same schema (src/io/proto/tf_graph.proto); here they are parsed by the
 * protobuf-c code, inputs resolved and nodes ordered; bad files give one-line
 * errors naming the file and the problem. */
#include "testutil.h"

#include "../src/io/tf_internal.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_graph_fields),
        cmocka_unit_test(test_order_and_control_edges),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
