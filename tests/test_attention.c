/* Attention: tc_attention against PyTorch on fixtures (gen_attention.py:
 * dot and additive scores, key masks, causal masks, a learnable scale;
 * outputs, weights and every gradient), and the Keras layers Attention and
 * AdditiveAttention in models (shapes, weights, masks, errors). */
#include "testutil.h"

#include <math.h>
#include <string.h>

static tc_tensor *flat(tc_tensor *t) { return tc_reshape(t, 1, (int64_t[]){-1}); }

static void check_case(const char *file, bool additive, bool causal)
{
    tc_fixture *fx = tc_fixture_load(file);
    if (!fx) fail_msg("%s: %s", file, tc_last_error());
    const char *names[5] = {"q", "k", "v", "scale", "w"};
    tc_tensor *in[5];
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "in:%s", names[i]);
        in[i] = tc_fixture_get(fx, key);
        tc_set_requires_grad(in[i], true);
    }
    tc_attention_params p = {.score = additive ? TC_SCORE_ADDITIVE : TC_SCORE_DOT, .scale = in[3],
                             .additive_weights = additive ? in[4] : NULL, .causal = causal};
    tc_tensor *out, *w;
    assert_int_equal(tc_attention(in[0], in[1], in[2], tc_fixture_get(fx, "in:mask"), &p, &out, &w), TC_OK);
    tc_tensor *y = tc_concat(2, (tc_tensor *[]){flat(out), flat(w)}, 0);
    tc_assert_close(y, tc_fixture_get(fx, "out"), 1e-5, 1e-6);
    assert_int_equal(tc_backward_with(y, tc_fixture_get(fx, "gout")), TC_OK);
    for (int i = 0; i < (additive ? 5 : 4); i++) {
        char key[16];
        snprintf(key, sizeof key, "grad:%s", names[i]);
        tc_assert_close_(in[i]->grad, tc_fixture_get(fx, key), 1e-4, 1e-5, key, __FILE__, __LINE__);
    }
    tc_fixture_free(fx);
    tc_step_reset();
}

static void matches_pytorch(void **state)
{
    check_case(TC_FIXTURE_PATH("attention/dot_masked.tcfx"), false, false);
    check_case(TC_FIXTURE_PATH("attention/additive_masked_causal.tcfx"), true, true);
    check_case(TC_FIXTURE_PATH("attention/dot_causal.tcfx"), false, true);
}

/* masked keys get no weight at all; a constant scale_value is a plain factor */
static void masks_and_scale(void **state)
{
    tc_rng r = tc_rng_new(3);
    tc_tensor *q = tc_test_uniform(&r, TC_SHAPE(1, 2, 3), -1, 1), *k = tc_test_uniform(&r, TC_SHAPE(1, 4, 3), -1, 1);
    tc_tensor *v = tc_test_uniform(&r, TC_SHAPE(1, 4, 2), -1, 1), *w, *w2, *out;
    tc_scalar mv[4] = {1, 0, 1, 0};
    assert_int_equal(tc_attention(q, k, v, tc_copy_of(mv, TC_SHAPE(1, 4)), NULL, &out, &w), TC_OK);
    for (int i = 0; i < 2; i++) {
        assert_true(tc_get(w, (int64_t[]){0, i, 1}) == 0 && tc_get(w, (int64_t[]){0, i, 3}) == 0);
        assert_true(fabs(tc_get(w, (int64_t[]){0, i, 0}) + tc_get(w, (int64_t[]){0, i, 2}) - 1) < 1e-6);
    }
    assert_int_equal(tc_attention(q, k, v, NULL, &(tc_attention_params){.scale_value = 0.5}, NULL, &w), TC_OK);
    assert_int_equal(tc_attention(tc_mul_scalar(q, 0.5f), k, v, NULL, NULL, NULL, &w2), TC_OK);
    tc_assert_close(w, w2, 1e-6, 1e-7);
    tc_assert_error(tc_attention(q, tc_zeros(TC_SHAPE(1, 4, 5)), v, NULL, NULL, &out, NULL) == TC_OK ? q : NULL, "attention",
                    "[1, 4, 5]");
    tc_assert_error(tc_attention(q, k, v, tc_zeros(TC_SHAPE(1, 3)), NULL, &out, NULL) == TC_OK ? q : NULL, "attention",
                    "key mask [1, 3]");
    tc_step_reset();
}

/* The Keras layers: weights, output shapes, the value mask on the keys, the query mask on the outputs */
static void layers(void **state)
{
    for (int additive = 0; additive < 2; additive++) {
        tc_graph *g = tc_graph_new();
        tc_value qi = tc_graph_input(g, 1, (int64_t[]){3}, "query_ids"), vi = tc_graph_input(g, 1, (int64_t[]){5}, "value_ids");
        tc_value q = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = 20, .output_dim = 4, .mask_zero = true,
                                                                        .name = "qemb"}), 1, &qi);
        tc_value v = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = 20, .output_dim = 4, .mask_zero = true,
                                                                        .name = "vemb"}), 1, &vi);
        tc_layer *att = additive ? tc_additive_attention_layer(true, false, NULL) : tc_attention_layer(true, false, NULL);
        tc_value y = tc_graph_call(g, att, 2, (tc_value[]){q, v});
        tc_model *m = tc_graph_model(g, "att", 2, (tc_value[]){qi, vi}, 1, &y);
        tc_assert_ok(m);
        const char *lname = additive ? "additive_attention" : "attention";
        char wname[64];
        snprintf(wname, sizeof wname, "%s/scale", lname);
        tc_tensor *scale = tc_model_param_by_name(m, wname);
        assert_non_null(scale);
        assert_int_equal(tc_numel(scale), additive ? 4 : 1);
        assert_int_equal(tc_model_count_params(m, NULL, NULL), 2 * 80 + (additive ? 4 : 1));
        int64_t shape[2];
        assert_int_equal(tc_model_output_shape(m, 0, shape), 2);
        assert_true(shape[0] == 3 && shape[1] == 4);
        tc_scalar qv[6] = {1, 2, 0, 3, 4, 5}, vv[10] = {6, 7, 8, 0, 0, 9, 10, 11, 12, 13};
        tc_tensor *qids = tc_copy_of(qv, TC_SHAPE(2, 3)), *vids = tc_copy_of(vv, TC_SHAPE(2, 5)), *out;
        assert_int_equal(tc_model_forward_multi(m, 2, (tc_tensor *[]){qids, vids}, false, 1, &out), TC_OK);
        /* the same by hand: keys 3 and 4 of sample 0 are masked; query 2 of sample 0 is masked (output 0) */
        tc_tensor *want;
        tc_attention_params p = {.score = additive ? TC_SCORE_ADDITIVE : TC_SCORE_DOT};
        if (additive) p.additive_weights = scale;
        else p.scale = scale;
        tc_scalar km[10] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
        tc_tensor *qe = tc_gather(tc_model_param_by_name(m, "qemb/embeddings"), qids, 0);
        tc_tensor *ve = tc_gather(tc_model_param_by_name(m, "vemb/embeddings"), vids, 0);
        assert_int_equal(tc_attention(qe, ve, ve, tc_copy_of(km, TC_SHAPE(2, 5)), &p, &want, NULL), TC_OK);
        tc_scalar qmask[6] = {1, 1, 0, 1, 1, 1};
        want = tc_mul(want, tc_copy_of(qmask, TC_SHAPE(2, 3, 1)));
        tc_assert_close(out, want, 1e-6, 1e-7);
        for (int d = 0; d < 4; d++) assert_true(tc_get(out, (int64_t[]){0, 2, d}) == 0);
        tc_model_free(m);
        tc_step_reset();
    }
    /* the output carries the query's mask on: a layer that cannot take a mask refuses it */
    {
        tc_graph *g = tc_graph_new();
        tc_value qi = tc_graph_input(g, 1, (int64_t[]){3}, NULL);
        tc_value q = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = 9, .output_dim = 4, .mask_zero = true}), 1, &qi);
        tc_value y = tc_graph_call(g, tc_attention_layer(false, true, NULL), 2, (tc_value[]){q, q});
        y = tc_graph_call(g, tc_flatten_layer(NULL), 1, &y);
        tc_assert_error(tc_graph_model(g, "m", 1, &qi, 1, &y), "flatten (Flatten)", "mask");
    }
    /* errors: one input, shapes that do not fit */
    tc_graph *g = tc_graph_new();
    tc_value a = tc_graph_input(g, 2, (int64_t[]){3, 4}, NULL), b = tc_graph_input(g, 2, (int64_t[]){5, 6}, NULL);
    tc_graph_call(g, tc_attention_layer(false, false, NULL), 2, (tc_value[]){a, b});
    tc_assert_error(tc_graph_model(g, "m", 2, (tc_value[]){a, b}, 1, &a), "attention (Attention)", "(None, 3, 4)",
                    "(None, 5, 6)");
    g = tc_graph_new();
    a = tc_graph_input(g, 2, (int64_t[]){3, 4}, NULL);
    tc_graph_call(g, tc_additive_attention_layer(false, false, NULL), 1, &a);
    tc_assert_error(tc_graph_model(g, "m", 1, &a, 1, &a), "AdditiveAttention", "given 1 inputs");
    tc_step_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(matches_pytorch), cmocka_unit_test(masks_and_scale),
                                       cmocka_unit_test(layers)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
