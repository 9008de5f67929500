/* ONNX loader safety: every malformed model gives an error naming the file
 * and the node or tensor, never a crash. Models are built here with
 * protobuf-c and written to temporary files. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensorcook/onnx.h"
#include "onnx.pb-c.h"

static char dir[64];

static const char *path_of(const char *name)
{
    static char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* A model builder: y = Relu(x + w), w an initializer of 4 floats. */
typedef struct {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto add, relu;
    Onnx__NodeProto *nodes[2];
    char *add_in[2], *add_out[1], *relu_in[1], *relu_out[1];
    Onnx__TensorProto w;
    Onnx__TensorProto *inits[1];
    int64_t w_dims[1];
    float w_data[4];
    Onnx__ValueInfoProto x_info, y_info;
    Onnx__ValueInfoProto *inputs[1], *outputs[1];
} builder;

static void build(builder *b)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.has_version = 1;
    b->opset.version = 13;
    b->opset.domain = "";
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.has_ir_version = 1;
    b->model.ir_version = 7;
    b->model.graph = &b->graph;
    onnx__node_proto__init(&b->add);
    onnx__node_proto__init(&b->relu);
    b->add.op_type = "Add";
    b->add.name = "add1";
    b->add_in[0] = "x", b->add_in[1] = "w", b->add_out[0] = "s";
    b->add.n_input = 2, b->add.input = b->add_in, b->add.n_output = 1, b->add.output = b->add_out;
    b->relu.op_type = "Relu";
    b->relu_in[0] = "s", b->relu_out[0] = "y";
    b->relu.n_input = 1, b->relu.input = b->relu_in, b->relu.n_output = 1, b->relu.output = b->relu_out;
    b->nodes[0] = &b->add, b->nodes[1] = &b->relu;
    b->graph.n_node = 2;
    b->graph.node = b->nodes;
    onnx__tensor_proto__init(&b->w);
    b->w.name = "w";
    b->w.has_data_type = 1;
    b->w.data_type = 1;
    b->w_dims[0] = 4;
    b->w.n_dims = 1, b->w.dims = b->w_dims;
    for (int i = 0; i < 4; i++) b->w_data[i] = (float)i - 1.5f;
    b->w.n_float_data = 4, b->w.float_data = b->w_data;
    b->inits[0] = &b->w;
    b->graph.n_initializer = 1, b->graph.initializer = b->inits;
    onnx__value_info_proto__init(&b->x_info);
    onnx__value_info_proto__init(&b->y_info);
    b->x_info.name = "x", b->y_info.name = "y";
    b->inputs[0] = &b->x_info, b->outputs[0] = &b->y_info;
    b->graph.n_input = 1, b->graph.input = b->inputs;
    b->graph.n_output = 1, b->graph.output = b->outputs;
}

static const char *save(builder *b, const char *name)
{
    size_t n = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&b->model, buf);
    const char *p = path_of(name);
    write_bytes(p, buf, n);
    free(buf);
    return p;
}

static void good_model_loads_and_runs(void **state)
{
    builder b;
    build(&b);
    const char *p = save(&b, "good.onnx");
    tc_onnx_model *m = tc_onnx_load(p);
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_input_count(m), 1);
    assert_int_equal(tc_onnx_node_count(m), 2);
    assert_int_equal(tc_onnx_param_count(m), 4);
    tc_tensor *x = tc_full(TC_SHAPE(4), 1), *y;
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    tc_scalar expect[4] = {0, 0.5f, 1.5f, 2.5f};
    tc_assert_close(y, tc_copy_of(expect, TC_SHAPE(4)), 0, 0);
    /* gradient with respect to the input flows through the import */
    tc_set_requires_grad(x, true);
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    assert_int_equal(tc_backward(tc_sum(y, 0, NULL, false)), TC_OK);
    tc_scalar g[4] = {0, 1, 1, 1};
    tc_assert_close(x->grad, tc_copy_of(g, TC_SHAPE(4)), 0, 0);
    tc_onnx_free(m);
    tc_step_reset();
}

/* Fine-tuning through an import: the initializer w of y = Relu(x + w) learns
 * to make y match a target; and a real conv model from the ONNX test data
 * gives gradients for its input image. */
static void fine_tune_through_import(void **state)
{
    builder b;
    build(&b);
    tc_onnx_model *m = tc_onnx_load(save(&b, "tune.onnx"));
    tc_assert_ok(m);
    const char *name;
    tc_tensor *w = tc_onnx_initializer(m, 0, &name);
    tc_set_requires_grad(w, true);
    tc_optimizer *opt = tc_sgd(0.2, 0, false);
    tc_scalar target_v[4] = {1, 2, 3, 4};
    double first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        tc_tensor *x = tc_full(TC_SHAPE(4), 3), *y; /* x + w > 0: every unit learns */
        assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
        tc_tensor *loss = tc_mse(y, tc_copy_of(target_v, TC_SHAPE(4)), TC_REDUCE_MEAN);
        tc_zero_grad(w);
        assert_int_equal(tc_backward(loss), TC_OK);
        assert_int_equal(tc_optimizer_step(opt, 1, &w), TC_OK);
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        tc_step_reset();
    }
    print_message("fine-tuning an imported initializer: loss %.4f -> %.6f\n", first, last);
    assert_true(last < first * 0.01);
    tc_optimizer_free(opt);
    tc_onnx_free(m);
    /* gradient of a conv model's output with respect to its input */
    const char *dir = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";
    char path[256];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    m = tc_onnx_load(path);
    if (!m) {
        print_message("skipped: %s\n", tc_last_error()); /* libonnx-testdata missing */
        return;
    }
    tc_tensor *in[2];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        tc_tensor *t = tc_onnx_read_tensor_file(path, NULL, NULL);
        tc_assert_ok(t);
        in[i] = tc_copy_of(t->data, t->ndim, t->shape);
        tc_tensor_free(t);
    }
    tc_set_requires_grad(in[0], true);
    tc_tensor *y;
    assert_int_equal(tc_onnx_run(m, 2, in, 1, &y), TC_OK);
    assert_int_equal(tc_backward(tc_sum(y, 0, NULL, false)), TC_OK);
    tc_assert_ok(in[0]->grad);
    /* d sum(conv(x, W)) / dx at the centre pixel = sum of the 3x3 kernel (all ones here) */
    double g = tc_get(in[0]->grad, (int64_t[]){0, 0, 3, 2});
    assert_true(g > 0);
    tc_onnx_free(m);
    tc_step_reset();
}

static void truncated_and_garbage_files(void **state)
{
    builder b;
    build(&b);
    size_t n = onnx__model_proto__get_packed_size(&b.model);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&b.model, buf);
    for (size_t cut = 1; cut < n; cut += 7) {
        write_bytes(path_of("cut.onnx"), buf, cut);
        tc_onnx_model *m = tc_onnx_load(path_of("cut.onnx"));
        /* a prefix may still parse as a smaller valid message; then it must
         * be a checked model. Either way: no crash, and errors name the file */
        if (!m) assert_non_null(strstr(tc_last_error(), "cut.onnx"));
        tc_onnx_free(m);
    }
    free(buf);
    write_bytes(path_of("garbage.onnx"), "\xff\xff\xff\xff\xff\x01\x02", 7);
    tc_assert_error(tc_onnx_load(path_of("garbage.onnx")), "garbage.onnx", "not a valid ONNX model");
    tc_assert_error(tc_onnx_load(path_of("missing.onnx")), "missing.onnx", "cannot open");
}

static void initializer_claims_too_much(void **state)
{
    builder b;
    build(&b);
    b.w_dims[0] = 1000; /* only 4 values stored */
    tc_assert_error(tc_onnx_load(save(&b, "big.onnx")), "big.onnx", "'w'", "shape needs 1000");
    build(&b);
    uint8_t raw[8] = {0};
    b.w.n_float_data = 0;
    b.w.has_raw_data = 1;
    b.w.raw_data.len = 8, b.w.raw_data.data = raw; /* 2 floats for 4 */
    tc_assert_error(tc_onnx_load(save(&b, "raw.onnx")), "raw.onnx", "'w'", "raw_data has 8 bytes");
    build(&b);
    b.w.data_type = 8; /* STRING */
    tc_assert_error(tc_onnx_load(save(&b, "str.onnx")), "str.onnx", "'w'", "STRING");
    build(&b);
    b.w.has_data_location = 1;
    b.w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    loc.key = "location", loc.value = "weights.bin";
    Onnx__StringStringEntryProto *ext[1] = {&loc};
    b.w.n_external_data = 1, b.w.external_data = ext;
    b.w.n_float_data = 0;
    write_bytes(path_of("weights.bin"), "\0\0\0\0\0\0\0\0", 8); /* 8 of 16 bytes */
    tc_assert_error(tc_onnx_load(save(&b, "ext.onnx")), "ext.onnx", "'w'", "weights.bin");
    float full[4] = {1, 2, 3, 4};
    write_bytes(path_of("weights.bin"), full, sizeof full);
    tc_onnx_model *m = tc_onnx_load(save(&b, "ext.onnx"));
    tc_assert_ok(m);
    const char *name;
    tc_tensor *w = tc_onnx_initializer(m, 0, &name);
    assert_string_equal(name, "w");
    assert_true(w->data[3] == 4);
    tc_onnx_free(m);
}

static void graph_errors(void **state)
{
    builder b;
    build(&b);
    b.add_in[0] = "nowhere";
    tc_assert_error(tc_onnx_load(save(&b, "undef.onnx")), "undef.onnx", "Add node 'add1'", "'nowhere'", "not defined");
    build(&b);
    b.add_in[0] = "y"; /* Add reads Relu's output, Relu reads Add's: a cycle */
    tc_assert_error(tc_onnx_load(save(&b, "cycle.onnx")), "cycle.onnx", "cycle");
    build(&b);
    b.relu.op_type = "FancyNewOp";
    tc_onnx_model *m = tc_onnx_load(save(&b, "unknown.onnx"));
    tc_assert_ok(m); /* known only when run */
    tc_tensor *x = tc_full(TC_SHAPE(4), 1), *y;
    assert_int_not_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    assert_non_null(strstr(tc_last_error(), "FancyNewOp"));
    assert_non_null(strstr(tc_last_error(), "not supported"));
    tc_onnx_free(m);
    build(&b);
    b.opset.version = 18;
    tc_assert_error(tc_onnx_load(save(&b, "old.onnx")), "old.onnx", "opset 18");
    build(&b);
    b.y_info.name = "z";
    tc_assert_error(tc_onnx_load(save(&b, "noout.onnx")), "noout.onnx", "'z'");
    tc_step_reset();
}

static void regression_files_do_not_crash(void **state)
{
    /* crashers found by the fuzzer (tests/fuzz/regressions) */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s/../fuzz/regressions 2>/dev/null", TC_FIXTURES);
    FILE *ls = popen(cmd, "r");
    char name[256];
    int n = 0;
    while (ls && fgets(name, sizeof name, ls)) {
        name[strcspn(name, "\n")] = '\0';
        char p[600];
        snprintf(p, sizeof p, "%s/../fuzz/regressions/%s", TC_FIXTURES, name);
        tc_onnx_model *m = tc_onnx_load(p);
        tc_onnx_free(m);
        n++;
    }
    if (ls) pclose(ls);
    print_message("%d fuzz regression files loaded without a crash\n", n);
}

/* ---- the trainable operators against PyTorch (tests/fixtures/gen_onnx.py) ---- */
typedef struct {
    tc_onnx_model *m;
    int n_extra;
    tc_tensor *extra[2]; /* non-differentiable inputs after the checked ones (labels) */
} run_ctx;

static tc_tensor *run_model(tc_tensor **ins, void *ctx)
{
    run_ctx *r = ctx;
    int n = tc_onnx_input_count(r->m);
    tc_tensor *all[8], *y = NULL;
    for (int i = 0; i < n - r->n_extra; i++) all[i] = ins[i];
    for (int i = 0; i < r->n_extra; i++) all[n - r->n_extra + i] = r->extra[i];
    return tc_onnx_run(r->m, n, all, 1, &y) == TC_OK ? y : NULL;
}

static void check_against_torch(const char *name, int n, const char *const *diff, const char *extra)
{
    char model[256], fx_path[256];
    snprintf(model, sizeof model, "%s", TC_FIXTURE_PATH("onnx/"));
    strncat(model, name, sizeof model - strlen(model) - 6);
    strcat(model, ".onnx");
    snprintf(fx_path, sizeof fx_path, "%.*s.tcfx", (int)(strlen(model) - 5), model);
    run_ctx r = {tc_onnx_load(model), 0, {NULL}};
    tc_assert_ok(r.m);
    tc_fixture *fx = NULL;
    if (extra) {
        char key[64];
        snprintf(key, sizeof key, "in:%s", extra);
        fx = tc_fixture_load(fx_path);
        tc_assert_ok(fx);
        r.extra[r.n_extra++] = tc_fixture_get(fx, key);
    }
    tc_check_fixture_case(fx_path, name, n, diff, run_model, &r, 2e-4, 2e-5);
    if (fx) tc_fixture_free(fx);
    tc_onnx_free(r.m);
}

/* ConvTranspose (groups, strides, pads, output_padding, dilation; 1-D, 2-D,
 * 3-D) and the two losses: outputs and gradients equal PyTorch's */
static void trainable_ops_match_torch(void **state)
{
    (void)state;
    const char *xwb[] = {"x", "w", "b"};
    check_against_torch("convt_groups", 3, xwb, NULL);
    check_against_torch("convt_dilated_1d", 3, xwb, NULL);
    check_against_torch("convt_3d", 2, xwb, NULL);
    check_against_torch("sce_loss", 1, (const char *[]){"scores"}, "labels");
    check_against_torch("nll_loss", 1, (const char *[]){"input"}, "target");
}

/* A ConvTranspose layer fine-tunes: gradient steps on its weights and bias
 * make its output approach a target. */
static void conv_transpose_fine_tunes(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/convt_groups.onnx"));
    tc_assert_ok(m);
    tc_rng g = tc_rng_new(5);
    tc_tensor *w = tc_tensor_new(4, (int64_t[]){4, 3, 3, 3}), *b = tc_tensor_new(1, (int64_t[]){6});
    tc_tensor *x = tc_tensor_new(4, (int64_t[]){2, 4, 5, 5}), *target = tc_tensor_new(4, (int64_t[]){2, 6, 10, 10});
    tc_rng_normal(&g, w->data, tc_numel(w), 0, 0.3f);
    tc_rng_normal(&g, b->data, tc_numel(b), 0, 0.3f);
    tc_rng_normal(&g, x->data, tc_numel(x), 0, 1);
    tc_rng_normal(&g, target->data, tc_numel(target), 0, 1);
    tc_set_requires_grad(w, true);
    tc_set_requires_grad(b, true);
    double first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        tc_tensor *y, *ins[3] = {x, w, b};
        assert_int_equal(tc_onnx_run(m, 3, ins, 1, &y), TC_OK);
        tc_tensor *loss = tc_mse(y, target, TC_REDUCE_MEAN);
        tc_assert_ok(loss);
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        tc_zero_grad(w);
        tc_zero_grad(b);
        assert_int_equal(tc_backward(loss), TC_OK);
        for (int64_t i = 0; i < tc_numel(w); i++) w->data[i] -= 0.2f * w->grad->data[i];
        for (int64_t i = 0; i < tc_numel(b); i++) b->data[i] -= 0.2f * b->grad->data[i];
        tc_step_reset();
    }
    print_message("ConvTranspose fine-tuning: loss %.4f -> %.4f\n", first, last);
    assert_true(last < 0.8 * first);
    tc_tensor_free(w), tc_tensor_free(b), tc_tensor_free(x), tc_tensor_free(target);
    tc_onnx_free(m);
}

/* No fixed limit on a node's inputs: a 40-input Concat */
static void forty_input_concat(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load(TC_FIXTURE_PATH("onnx/concat_many.onnx"));
    tc_assert_ok(m);
    assert_int_equal(tc_onnx_input_count(m), 40);
    tc_tensor *ins[40], *y;
    for (int i = 0; i < 40; i++) ins[i] = tc_full(2, (int64_t[]){1, 2}, (tc_scalar)i);
    assert_int_equal(tc_onnx_run(m, 40, ins, 1, &y), TC_OK);
    assert_int_equal(y->shape[0], 40);
    tc_scalar v[80];
    tc_read_values(y, v);
    for (int i = 0; i < 80; i++) assert_true(v[i] == (tc_scalar)(i / 2));
    tc_onnx_free(m);
    tc_step_reset();
}

/* Operators with two paths (a kernel when no gradient is wanted, composed
 * ops when one is) give the same values either way, on backend-test data */
static void gradient_paths_match(void **state)
{
    (void)state;
    const char *tests[] = {"test_dft", "test_dft_inverse", "test_stft_with_window", "test_cumsum_2d_axis_1",
                           "test_cumsum_1d_reverse_exclusive", "test_mod_mixed_sign_float32"};
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        char path[512];
        snprintf(path, sizeof path, "/usr/share/libonnx-testdata/data/node/%s/model.onnx", tests[t]);
        tc_onnx_model *m = tc_onnx_load(path);
        tc_assert_ok(m);
        int n = tc_onnx_input_count(m);
        tc_tensor *in[4], *plain, *traced;
        for (int i = 0; i < n; i++) {
            snprintf(path, sizeof path, "/usr/share/libonnx-testdata/data/node/%s/test_data_set_0/input_%d.pb", tests[t], i);
            tc_tensor *f = tc_onnx_read_tensor_file(path, NULL, NULL);
            tc_assert_ok(f);
            in[i] = tc_copy_of(f->data, f->ndim, f->shape);
            tc_tensor_free(f);
        }
        assert_int_equal(tc_onnx_run(m, n, in, 1, &plain), TC_OK);
        tc_set_requires_grad(in[0], true);
        assert_int_equal(tc_onnx_run(m, n, in, 1, &traced), TC_OK);
        assert_true(traced->flags & TC_REQUIRES_GRAD); /* the composed path ran */
        tc_tensor *mx = tc_max(tc_abs(plain), 0, NULL, false);
        tc_assert_close(traced, plain, 1e-4, 1e-5 * (mx->data[0] + 1));
        assert_int_equal(tc_backward(tc_sum(traced, 0, NULL, false)), TC_OK);
        tc_assert_ok(in[0]->grad);
        tc_onnx_free(m);
        tc_step_reset();
    }
}

/* Det's gradient is the cofactor matrix: for [[a, b], [c, d]] it is [[d, -c], [-b, a]] */
static void det_gradient_is_the_cofactor_matrix(void **state)
{
    (void)state;
    tc_onnx_model *m = tc_onnx_load("/usr/share/libonnx-testdata/data/node/test_det_nd/model.onnx");
    tc_assert_ok(m);
    tc_tensor *f = tc_onnx_read_tensor_file("/usr/share/libonnx-testdata/data/node/test_det_nd/test_data_set_0/input_0.pb", NULL, NULL);
    tc_assert_ok(f);
    assert_int_equal(f->ndim, 3);
    tc_tensor *x = tc_copy_of(f->data, f->ndim, f->shape), *y;
    tc_set_requires_grad(x, true);
    assert_int_equal(tc_onnx_run(m, 1, &x, 1, &y), TC_OK);
    assert_int_equal(tc_backward(tc_sum(y, 0, NULL, false)), TC_OK);
    tc_tensor *want = tc_empty(3, f->shape);
    for (int64_t b = 0; b < f->shape[0]; b++) {
        const tc_scalar *a = f->data + 4 * b;
        tc_scalar *g = want->data + 4 * b;
        g[0] = a[3], g[1] = -a[2], g[2] = -a[1], g[3] = a[0];
    }
    tc_assert_close(x->grad, want, 1e-5, 1e-5);
    tc_tensor_free(f);
    tc_onnx_free(m);
    tc_step_reset();
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tc_onnx_test_XXXXXX");
    assert_non_null(mkdtemp(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_model_loads_and_runs),
        cmocka_unit_test(fine_tune_through_import),
        cmocka_unit_test(truncated_and_garbage_files),
        cmocka_unit_test(initializer_claims_too_much),
        cmocka_unit_test(graph_errors),
        cmocka_unit_test(regression_files_do_not_crash),
        cmocka_unit_test(trainable_ops_match_torch),
        cmocka_unit_test(conv_transpose_fine_tunes),
        cmocka_unit_test(forty_input_concat),
        cmocka_unit_test(gradient_paths_match),
        cmocka_unit_test(det_gradient_is_the_cofactor_matrix),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    tc_shutdown();
    return rc;
}
