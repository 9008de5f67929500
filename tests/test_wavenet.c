/* WaveNet: loss and every gradient against an independent PyTorch
 * implementation (tests/fixtures/gen_wavenet.py), the per-sample generator's
 * logits against the tape's forward, fast generation = naive generation
 * exactly, the autoencoder's encoder, checkpoints and bad arguments. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Copies every "param:NAME" of the fixture into the model; each model parameter must be there. */
static void load_params(tc_fixture *fx, int n, tc_tensor *(*param)(const void *, int), const char *(*name)(const void *, int),
                        const void *m)
{
    char key[256];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "param:%s", name(m, i));
        if (!tc_fixture_has(fx, key)) fail_msg("fixture has no %s", key);
        tc_tensor *v = tc_fixture_get(fx, key);
        assert_true(tc_same_shape(v, param(m, i)));
        tc_read_values(v, param(m, i)->data);
    }
}

static tc_tensor *wn_param(const void *m, int i) { return tc_wavenet_param(m, i); }
static const char *wn_name(const void *m, int i) { return tc_wavenet_param_name(m, i); }
static tc_tensor *en_param(const void *m, int i) { return tc_wavenet_encoder_param(m, i); }
static const char *en_name(const void *m, int i) { return tc_wavenet_encoder_param_name(m, i); }

static void check_grads(tc_fixture *fx, int n, tc_tensor *(*param)(const void *, int), const char *(*name)(const void *, int),
                        const void *m)
{
    char key[256];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "grad:%s", name(m, i));
        tc_tensor *want = tc_fixture_get(fx, key);
        tc_tensor *p = param(m, i);
        if (!p->grad) fail_msg("%s has no gradient", name(m, i));
        tc_assert_close(p->grad, want, 1e-4, 1e-5);
    }
}

static tc_wavenet *model_for(tc_fixture *fx, const tc_wavenet_opts *o)
{
    tc_wavenet *w = tc_wavenet_new(o, 1);
    tc_assert_ok(w);
    /* the fixture holds exactly the model's parameters */
    load_params(fx, tc_wavenet_param_count(w), wn_param, wn_name, w);
    return w;
}

static void zero_grads(int n, tc_tensor *const *p) { tc_zero_grads(n, p); }

static void check_case(const char *file, const tc_wavenet_opts *o, bool conditioned)
{
    tc_fixture *fx = tc_fixture_load(file);
    tc_assert_ok(fx);
    tc_wavenet *w = model_for(fx, o);
    tc_tensor *ids = tc_fixture_get(fx, "ids");
    tc_tensor *gc = conditioned ? tc_fixture_get(fx, "gc") : NULL;
    tc_tensor *lc = conditioned ? tc_fixture_get(fx, "lc") : NULL;
    tc_tensor *loss = tc_wavenet_loss(w, ids, gc, lc, 8);
    tc_assert_ok(loss);
    tc_assert_close(loss, tc_fixture_get(fx, "loss"), 1e-5, 1e-5);
    assert_int_equal(tc_backward(loss), TC_OK);
    check_grads(fx, tc_wavenet_param_count(w), wn_param, wn_name, w);
    /* the per-sample step gives the tape's logits, sequence by sequence */
    tc_tensor *want = tc_fixture_get(fx, "logits");
    int64_t N = ids->shape[0], T = ids->shape[1] - 1, Q = 256;
    tc_wavenet_generator *g = tc_wavenet_generator_new(w);
    tc_assert_ok(g);
    for (int64_t b = 0; b < N; b++) {
        int seq[64];
        for (int64_t t = 0; t < T; t++) seq[t] = (int)tc_get(ids, (int64_t[]){b, t});
        tc_tensor *got = tc_empty(TC_SHAPE(T, Q));
        tc_tensor *lcb = lc ? tc_contiguous(tc_reshape(tc_narrow(lc, 0, b, 1), TC_SHAPE(lc->shape[1], lc->shape[2]))) : NULL;
        int gcb = gc ? (int)gc->data[b] : 0;
        assert_int_equal(tc_wavenet_generator_logits(g, T, seq, gcb, lcb, got->data), TC_OK);
        tc_assert_close(got, tc_reshape(tc_narrow(want, 0, b, 1), TC_SHAPE(T, Q)), 1e-4, 1e-5);
    }
    tc_wavenet_generator_free(g);
    zero_grads(tc_wavenet_param_count(w), tc_wavenet_params(w));
    tc_step_reset();
    tc_wavenet_free(w);
    tc_fixture_free(fx);
}

static void test_plain_matches_pytorch(void **state)
{
    (void)state;
    check_case(TC_FIXTURE_PATH("wavenet/plain.tcfx"),
               &(tc_wavenet_opts){.blocks = 2, .layers = 3, .residual_channels = 4, .dilation_channels = 5,
                                  .skip_channels = 6, .output_hidden = 7},
               false);
}

static void test_conditioned_matches_pytorch(void **state)
{
    (void)state;
    check_case(TC_FIXTURE_PATH("wavenet/conditioned.tcfx"),
               &(tc_wavenet_opts){.blocks = 1, .layers = 4, .residual_channels = 3, .dilation_channels = 4,
                                  .skip_channels = 5, .output_hidden = 6, .global_classes = 3, .local_channels = 2,
                                  .local_hop = 4},
               true);
}

static void test_autoencoder_matches_pytorch(void **state)
{
    (void)state;
    tc_fixture *fx = tc_fixture_load(TC_FIXTURE_PATH("wavenet/autoencoder.tcfx"));
    tc_assert_ok(fx);
    tc_wavenet *w = model_for(fx, &(tc_wavenet_opts){.blocks = 1, .layers = 3, .residual_channels = 4,
                                                     .dilation_channels = 4, .skip_channels = 5, .output_hidden = 6,
                                                     .local_channels = 2, .local_hop = 4});
    tc_wavenet_encoder *e =
        tc_wavenet_encoder_new(&(tc_wavenet_encoder_opts){.blocks = 1, .layers = 2, .channels = 3, .code_channels = 2, .hop = 4}, 1);
    tc_assert_ok(e);
    load_params(fx, tc_wavenet_encoder_param_count(e), en_param, en_name, e);
    tc_tensor *code = tc_wavenet_encode(e, tc_fixture_get(fx, "x"));
    tc_assert_ok(code);
    tc_assert_close(code, tc_fixture_get(fx, "code"), 1e-5, 1e-6);
    tc_tensor *loss = tc_wavenet_loss(w, tc_fixture_get(fx, "ids"), NULL, code, 6);
    tc_assert_close(loss, tc_fixture_get(fx, "loss"), 1e-5, 1e-5);
    assert_int_equal(tc_backward(loss), TC_OK);
    check_grads(fx, tc_wavenet_param_count(w), wn_param, wn_name, w);
    check_grads(fx, tc_wavenet_encoder_param_count(e), en_param, en_name, e);
    tc_step_reset();
    tc_wavenet_free(w);
    tc_wavenet_encoder_free(e);
    tc_fixture_free(fx);
}

/* Fast and naive generation draw the same ids: with and without prime, conditions, temperatures. */
static void check_fast_equals_naive(const tc_wavenet_opts *o, int64_t n_prime, double temperature)
{
    tc_wavenet *w = tc_wavenet_new(o, 5);
    tc_assert_ok(w);
    /* random biases too, so that every term of the step matters */
    tc_rng r = tc_rng_new(11);
    for (int i = 0; i < tc_wavenet_param_count(w); i++) {
        tc_tensor *p = tc_wavenet_param(w, i);
        if (p->ndim == 1) tc_rng_uniform(&r, p->data, tc_numel(p), -0.2f, 0.2f);
    }
    tc_wavenet_generator *g = tc_wavenet_generator_new(w);
    tc_assert_ok(g);
    enum { N = 300 };
    int prime[64], fast[N], naive[N];
    for (int64_t i = 0; i < n_prime; i++) prime[i] = (int)((i * 37 + 11) % 256);
    tc_tensor *lc = NULL;
    if (o->local_channels) {
        int64_t frames = (n_prime + N + o->local_hop - 1) / o->local_hop + 1;
        lc = tc_tensor_new(TC_SHAPE(frames, o->local_channels));
        tc_rng_uniform(&r, lc->data, tc_numel(lc), -1, 1);
    }
    tc_wavenet_gen_opts go = {.n_prime = n_prime, .prime = n_prime ? prime : NULL, .n = N, .temperature = temperature,
                              .gc = o->global_classes ? 1 : 0, .lc = lc};
    tc_rng a = tc_rng_new(99), b = tc_rng_new(99);
    assert_int_equal(tc_wavenet_generate(g, &go, &a, fast), TC_OK);
    go.naive = true;
    assert_int_equal(tc_wavenet_generate(g, &go, &b, naive), TC_OK);
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        if (fast[i] != naive[i]) fail_msg("sample %d: fast %d, naive %d", i, fast[i], naive[i]);
        distinct += i > 0 && fast[i] != fast[i - 1];
    }
    assert_true(distinct > N / 4); /* a real random sequence, not a constant */
    tc_tensor_free(lc);
    tc_wavenet_generator_free(g);
    tc_wavenet_free(w);
}

static void test_fast_generation_equals_naive(void **state)
{
    (void)state;
    tc_wavenet_opts plain = {.blocks = 2, .layers = 5, .residual_channels = 8, .skip_channels = 16};
    check_fast_equals_naive(&plain, 0, 1.0);
    check_fast_equals_naive(&plain, 40, 0.7);
    tc_wavenet_opts cond = {.blocks = 2, .layers = 4, .residual_channels = 6, .dilation_channels = 5,
                            .skip_channels = 7, .output_hidden = 9, .global_classes = 3, .local_channels = 4, .local_hop = 16};
    check_fast_equals_naive(&cond, 5, 1.3);
}

/* Layers large enough for the generator to split its products over the
 * pool: the same ids with 1 and 2 threads, and fast = naive. */
static void test_large_layers_any_thread_count(void **state)
{
    (void)state;
    tc_wavenet_opts o = {.blocks = 1, .layers = 3, .residual_channels = 256, .skip_channels = 64};
    check_fast_equals_naive(&o, 3, 1.0);
    tc_wavenet *w = tc_wavenet_new(&o, 3);
    tc_wavenet_generator *g = tc_wavenet_generator_new(w);
    int a[120], b[120];
    int threads = tc_num_threads();
    tc_rng r1 = tc_rng_new(4), r2 = tc_rng_new(4);
    tc_set_num_threads(1);
    assert_int_equal(tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n = 120}, &r1, a), TC_OK);
    tc_set_num_threads(2);
    assert_int_equal(tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n = 120}, &r2, b), TC_OK);
    tc_set_num_threads(threads);
    assert_memory_equal(a, b, sizeof a);
    tc_wavenet_generator_free(g);
    tc_wavenet_free(w);
}

static void test_receptive_field_and_summary(void **state)
{
    (void)state;
    tc_wavenet *w = tc_wavenet_new(&(tc_wavenet_opts){.blocks = 2, .layers = 10, .residual_channels = 64}, 1);
    tc_assert_ok(w);
    assert_int_equal(tc_wavenet_receptive_field(w), 2 * 1023 + 1);
    /* counted by hand: embedding 256*64; per layer 2*64*128 + 128 (dilated) + 64*64 + 64 (res, not on the
     * last layer) + 64*128 + 128 (skip); post 128*128 + 128, 128*256 + 256 */
    int64_t per = 2 * 64 * 128 + 128 + 64 * 128 + 128, res = 64 * 64 + 64;
    int64_t want = 256 * 64 + 20 * per + 19 * res + 128 * 128 + 128 + 128 * 256 + 256;
    assert_int_equal(tc_wavenet_count_params(w), want);
    char buf[1 << 14];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(tc_wavenet_summary(w, f, 0), TC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "block1_layer9 (dilation 512, gated)"));
    assert_non_null(strstr(buf, "Total params: 641,600"));
    assert_int_equal(want, 641600);
    tc_wavenet_free(w);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    tc_wavenet_opts o = {.blocks = 1, .layers = 3, .residual_channels = 4};
    tc_wavenet *a = tc_wavenet_new(&o, 1), *b = tc_wavenet_new(&o, 2);
    tc_checkpoint *ck = tc_checkpoint_new();
    assert_int_equal(tc_wavenet_checkpoint_put(ck, a, "decoder/"), TC_OK);
    assert_int_equal(tc_wavenet_checkpoint_get(ck, b, "decoder/"), TC_OK);
    for (int i = 0; i < tc_wavenet_param_count(a); i++)
        tc_assert_close(tc_wavenet_param(b, i), tc_wavenet_param(a, i), 0, 0);
    o.residual_channels = 5;
    tc_wavenet *c = tc_wavenet_new(&o, 1);
    float before = (float)tc_wavenet_param(c, 0)->data[0];
    assert_int_not_equal(tc_wavenet_checkpoint_get(ck, c, "decoder/"), TC_OK);
    assert_non_null(strstr(tc_last_error(), "decoder/embedding/embeddings is [256, 4] in the file but [256, 5]"));
    assert_true(tc_wavenet_param(c, 0)->data[0] == before); /* nothing changed */
    tc_checkpoint_free(ck);
    tc_wavenet_free(a);
    tc_wavenet_free(b);
    tc_wavenet_free(c);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tc_assert_error(tc_wavenet_new(&(tc_wavenet_opts){.layers = 30}, 1), "wavenet", "layers 30");
    tc_assert_error(tc_wavenet_new(&(tc_wavenet_opts){.local_channels = 3}, 1), "local_hop");
    tc_wavenet *w = tc_wavenet_new(&(tc_wavenet_opts){.blocks = 1, .layers = 2, .residual_channels = 4, .global_classes = 2}, 1);
    tc_tensor *ids = tc_zeros(TC_SHAPE(2, 9));
    tc_assert_error(tc_wavenet_loss(w, ids, NULL, NULL, 4), "wavenet_forward", "needs a global condition");
    tc_assert_error(tc_wavenet_loss(w, ids, tc_zeros(TC_SHAPE(2)), NULL, 40), "wavenet_loss", "40 target");
    tc_wavenet_generator *g = tc_wavenet_generator_new(w);
    int out[4];
    tc_rng r = tc_rng_new(1);
    assert_int_not_equal(tc_wavenet_generate(g, &(tc_wavenet_gen_opts){.n = 4, .gc = 5}, &r, out), TC_OK);
    assert_non_null(strstr(tc_last_error(), "global condition 5 outside [0, 2)"));
    tc_wavenet_generator_free(g);
    tc_step_reset();
    tc_wavenet_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_matches_pytorch),       cmocka_unit_test(test_conditioned_matches_pytorch),
        cmocka_unit_test(test_autoencoder_matches_pytorch), cmocka_unit_test(test_fast_generation_equals_naive),
        cmocka_unit_test(test_large_layers_any_thread_count),
        cmocka_unit_test(test_receptive_field_and_summary), cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_bad_arguments),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
