/* Optimizers against torch.optim (SGD, Nesterov, weight decay, Adam) and
 * NumPy versions of TensorFlow 1.x's RMSprop, tf.clip_by_global_norm and
 * tf.train.exponential_decay (tests/fixtures/gen_loss_optim.py): 5 steps on
 * two fixed parameters with fixed per-step gradients. Also gradient
 * accumulation, frozen parameters, slots for checkpoints, determinism over
 * thread counts and bad input. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tc_fixture *fx;

/* A long-lived parameter with values and a gradient buffer. */
static tc_tensor *param_from(const tc_tensor *values)
{
    tc_tensor *p = tc_tensor_from(values->ndim, values->shape, values->data);
    tc_set_requires_grad(p, true);
    p->grad = tc_tensor_new(values->ndim, values->shape);
    return p;
}

static void free_params(int n, tc_tensor **ps)
{
    for (int i = 0; i < n; i++) tc_tensor_free(ps[i]);
}

/* Runs 5 steps of opt on the fixture's parameters; compares with name_a / name_b. */
static void check_rule(const char *name, tc_optimizer *opt)
{
    if (!opt) fail_msg("%s: %s", name, tc_last_error());
    tc_tensor *ps[2] = {param_from(tc_fixture_get(fx, "p0_a")), param_from(tc_fixture_get(fx, "p0_b"))};
    tc_tensor *grads[2] = {tc_fixture_get(fx, "grads_a"), tc_fixture_get(fx, "grads_b")};
    for (int s = 0; s < 5; s++) {
        for (int k = 0; k < 2; k++) {
            int64_t len = tc_numel(ps[k]);
            memcpy(ps[k]->grad->data, grads[k]->data + s * len, sizeof(tc_scalar) * (size_t)len);
        }
        assert_int_equal(tc_optimizer_step(opt, 2, ps), TC_OK);
        /* the step reads the gradients without changing them (clipping included) */
        assert_memory_equal(ps[0]->grad->data, grads[0]->data + s * 12, sizeof(tc_scalar) * 12);
    }
    assert_int_equal(tc_optimizer_steps(opt), 5);
    char key[96];
    print_message("%s\n", name);
    for (int k = 0; k < 2; k++) {
        snprintf(key, sizeof key, "%s_%c", name, 'a' + k);
        tc_assert_close(ps[k], tc_fixture_get(fx, key), 1e-6, 1e-6);
    }
    free_params(2, ps);
    tc_optimizer_free(opt);
    tc_step_reset();
}

#define NEW(kind, ...) tc_optimizer_new(kind, &(tc_optim_opts){__VA_ARGS__})

static void sgd_vs_torch(void **state)
{
    check_rule("sgd", NEW(TC_OPT_SGD, .lr = 0.1));
    check_rule("sgd_wd", NEW(TC_OPT_SGD, .lr = 0.1, .weight_decay = 0.05));
    check_rule("sgd_momentum", tc_sgd(0.1, 0.9, false));
    check_rule("sgd_nesterov", tc_sgd(0.05, 0.8, true));
    check_rule("sgd_nesterov_wd", NEW(TC_OPT_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01));
    check_rule("sgd_momentum_clipnorm_decay",
               NEW(TC_OPT_SGD, .lr = 0.1, .momentum = 0.9, .clip_norm = 2.5, .lr_decay_rate = 0.5, .lr_decay_steps = 2));
    check_rule("sgd_clipvalue_staircase", NEW(TC_OPT_SGD, .lr = 0.2, .clip_value = 0.5, .lr_decay_rate = 0.3,
                                               .lr_decay_steps = 2, .lr_staircase = true));
}

static void adam_vs_torch(void **state)
{
    check_rule("adam", tc_adam(0.01));
    check_rule("adam_betas_wd", NEW(TC_OPT_ADAM, .lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1));
    check_rule("adam_clip_both", NEW(TC_OPT_ADAM, .lr = 0.01, .clip_value = 1.0, .clip_norm = 3.0));
}

static void rmsprop_vs_tensorflow(void **state)
{
    check_rule("rmsprop_tf", tc_rmsprop(0.007, 0.92, 0.5, 1e-10));
    check_rule("rmsprop_tf_defaults", tc_optimizer_new(TC_OPT_RMSPROP, NULL));
    check_rule("rmsprop_tf_centered_wd", NEW(TC_OPT_RMSPROP, .lr = 0.01, .decay = 0.9, .momentum = 0.3, .eps = 1e-6,
                                              .centered = true, .weight_decay = 0.02));
    check_rule("rmsprop_tf_decay_clip", NEW(TC_OPT_RMSPROP, .lr = 0.01, .decay = 0.9, .clip_norm = 3.0,
                                             .lr_decay_rate = 0.5, .lr_decay_steps = 2, .lr_staircase = true));
}

static void clipping_helpers(void **state)
{
    tc_tensor *ps[3] = {param_from(tc_fixture_get(fx, "p0_a")), param_from(tc_fixture_get(fx, "p0_b")),
                        tc_tensor_new(TC_SHAPE(2))}; /* the third has no gradient */
    tc_tensor *ga = tc_fixture_get(fx, "grads_a"), *gb = tc_fixture_get(fx, "grads_b");
    memcpy(ps[0]->grad->data, ga->data, sizeof(tc_scalar) * 12);
    memcpy(ps[1]->grad->data, gb->data, sizeof(tc_scalar) * 5);
    double norm = tc_clip_grad_norm(3, ps, 2.0);
    assert_true(fabs(norm - tc_fixture_get(fx, "global_norm")->data[0]) < 1e-5);
    assert_true(norm > 2.0); /* the case clips */
    tc_assert_close(ps[0]->grad, tc_fixture_get(fx, "clip_norm_2_a"), 1e-6, 1e-7);
    tc_assert_close(ps[1]->grad, tc_fixture_get(fx, "clip_norm_2_b"), 1e-6, 1e-7);
    /* the clipped norm is the threshold itself (not 1, KANN's rescaling) */
    assert_true(fabs(tc_clip_grad_norm(3, ps, 0) - 2.0) < 1e-5);
    /* below the threshold: unchanged */
    tc_tensor *before = tc_copy_of(ps[0]->grad->data, TC_SHAPE(3, 4));
    assert_true(fabs(tc_clip_grad_norm(3, ps, 10.0) - 2.0) < 1e-5);
    assert_memory_equal(before->data, ps[0]->grad->data, sizeof(tc_scalar) * 12);
    /* by value */
    ps[1]->grad->data[0] = 3, ps[1]->grad->data[1] = -3, ps[1]->grad->data[2] = 0.05f;
    assert_int_equal(tc_clip_grad_value(3, ps, 0.1), TC_OK);
    assert_true(ps[1]->grad->data[0] == (tc_scalar)0.1 && ps[1]->grad->data[1] == (tc_scalar)-0.1 &&
                ps[1]->grad->data[2] == (tc_scalar)0.05f);
    /* errors */
    assert_true(tc_clip_grad_norm(3, ps, -1) < 0);
    assert_true(strstr(tc_last_error(), "clip_grad_norm") && strstr(tc_last_error(), "-1"));
    assert_true(tc_clip_grad_norm(2, NULL, 1) < 0);
    assert_int_not_equal(tc_clip_grad_value(3, ps, -0.5), TC_OK);
    assert_true(strstr(tc_last_error(), "clip_grad_value") && strstr(tc_last_error(), "-0.5"));
    free_params(3, ps);
    tc_step_reset();
}

/* Two backward calls add their gradients; one step uses the sum; zero_grads
 * clears; frozen parameters and parameters without a gradient are skipped. */
static void accumulation_and_frozen(void **state)
{
    tc_tensor *w = tc_tensor_from(TC_SHAPE(3), (tc_scalar[]){1, 2, 3});
    tc_tensor *frozen = tc_tensor_from(TC_SHAPE(3), (tc_scalar[]){5, 5, 5});
    tc_tensor *unused = tc_tensor_from(TC_SHAPE(2), (tc_scalar[]){7, 7});
    tc_set_requires_grad(w, true);
    tc_set_requires_grad(unused, true);
    tc_tensor *x = tc_copy_of((tc_scalar[]){0.5f, -1, 2}, TC_SHAPE(3));
    for (int k = 0; k < 2; k++) {
        tc_tensor *loss = tc_sum(tc_mul(tc_mul(w, x), tc_full(TC_SHAPE(3), (tc_scalar)(k + 1))), 0, NULL, false);
        assert_int_equal(tc_backward(loss), TC_OK);
    }
    /* d/dw = x + 2x */
    for (int i = 0; i < 3; i++) assert_true(fabs(w->grad->data[i] - 3 * x->data[i]) < 1e-6);
    frozen->grad = tc_tensor_from(TC_SHAPE(3), (tc_scalar[]){1, 1, 1}); /* stale gradient of a frozen layer */
    tc_tensor *ps[4] = {w, frozen, unused, NULL};
    tc_optimizer *opt = tc_sgd(1.0, 0, false);
    assert_int_equal(tc_optimizer_step(opt, 4, ps), TC_OK);
    for (int i = 0; i < 3; i++) assert_true(fabs(w->data[i] - ((tc_scalar)(i + 1) - 3 * x->data[i])) < 1e-6);
    assert_true(frozen->data[0] == 5 && unused->data[0] == 7 && unused->grad == NULL);
    /* frozen gradients do not count in the global norm either */
    assert_true(fabs(tc_clip_grad_norm(4, ps, 0) - 3 * sqrt(0.25 + 1 + 4)) < 1e-5);
    tc_zero_grads(4, ps);
    for (int i = 0; i < 3; i++) assert_true(w->grad->data[i] == 0);
    assert_true(frozen->grad->data[0] == 0);
    tc_optimizer_free(opt);
    tc_tensor_free(w), tc_tensor_free(frozen), tc_tensor_free(unused);
    tc_step_reset();
}

/* Slots: names, counts, initial values, and restoring them reproduces an
 * uninterrupted run bit for bit (what checkpoints rely on). */
static void slots_and_restore(void **state)
{
    tc_optimizer *sgd = tc_sgd(0.1, 0, false), *mom = tc_sgd(0.1, 0.9, false), *adam = tc_adam(0.1);
    tc_optimizer *rms = tc_rmsprop(0.1, 0.9, 0.5, 1e-10), *crms = NEW(TC_OPT_RMSPROP, .centered = true);
    assert_int_equal(tc_optimizer_slot_count(sgd), 0);
    assert_int_equal(tc_optimizer_slot_count(mom), 1);
    assert_string_equal(tc_optimizer_slot_name(mom, 0), "momentum");
    assert_int_equal(tc_optimizer_slot_count(adam), 2);
    assert_string_equal(tc_optimizer_slot_name(adam, 0), "m");
    assert_string_equal(tc_optimizer_slot_name(adam, 1), "v");
    assert_null(tc_optimizer_slot_name(adam, 2));
    assert_int_equal(tc_optimizer_slot_count(rms), 2);
    assert_int_equal(tc_optimizer_slot_count(crms), 3);
    assert_string_equal(tc_optimizer_slot_name(crms, 2), "mg");
    tc_tensor *p = param_from(tc_fixture_get(fx, "p0_b"));
    tc_assert_error(tc_optimizer_slot(adam, p, 2), "optimizer_slot", "slot 2", "[5]");
    tc_assert_error(tc_optimizer_slot(adam, NULL, 0), "optimizer_slot", "NULL");
    /* TF 1.x: the mean square starts at one, the rest at zero */
    tc_tensor *ms = tc_optimizer_slot(rms, p, 0), *mo = tc_optimizer_slot(rms, p, 1);
    tc_assert_ok(ms);
    for (int i = 0; i < 5; i++) assert_true(ms->data[i] == 1 && mo->data[i] == 0);
    /* Adam's m after one step is (1 - beta1) g */
    tc_tensor *g = tc_fixture_get(fx, "grads_b");
    memcpy(p->grad->data, g->data, sizeof(tc_scalar) * 5);
    assert_int_equal(tc_optimizer_step(adam, 1, &p), TC_OK);
    tc_tensor *m = tc_optimizer_slot(adam, p, 0);
    for (int i = 0; i < 5; i++) assert_true(fabs(m->data[i] - 0.1 * g->data[i]) < 1e-6);
    tc_optimizer_free(sgd), tc_optimizer_free(mom), tc_optimizer_free(adam), tc_optimizer_free(rms), tc_optimizer_free(crms);
    tc_tensor_free(p);

    tc_optim_opts opts[] = {{.momentum = 0.9, .nesterov = true}, {.lr = 0.01, .clip_norm = 1}, {.momentum = 0.5, .centered = true}};
    for (int k = 0; k < 3; k++) {
        tc_optimizer_kind kind = (tc_optimizer_kind)k;
        tc_tensor *pa = param_from(tc_fixture_get(fx, "p0_b")), *pb = param_from(tc_fixture_get(fx, "p0_b"));
        tc_optimizer *a = tc_optimizer_new(kind, &opts[k]), *b = tc_optimizer_new(kind, &opts[k]);
        for (int s = 0; s < 5; s++) {
            memcpy(pa->grad->data, g->data + s * 5, sizeof(tc_scalar) * 5);
            memcpy(pb->grad->data, g->data + s * 5, sizeof(tc_scalar) * 5);
            assert_int_equal(tc_optimizer_step(a, 1, &pa), TC_OK);
            if (s == 1) { /* "checkpoint" b into a fresh optimizer */
                assert_int_equal(tc_optimizer_step(b, 1, &pb), TC_OK);
                tc_optimizer *c = tc_optimizer_new(kind, &opts[k]);
                for (int sl = 0; sl < tc_optimizer_slot_count(b); sl++)
                    memcpy(tc_optimizer_slot(c, pb, sl)->data, tc_optimizer_slot(b, pb, sl)->data, sizeof(tc_scalar) * 5);
                tc_optimizer_set_steps(c, tc_optimizer_steps(b));
                tc_optimizer_free(b);
                b = c;
            } else {
                assert_int_equal(tc_optimizer_step(b, 1, &pb), TC_OK);
            }
        }
        assert_memory_equal(pa->data, pb->data, sizeof(tc_scalar) * 5);
        tc_optimizer_free(a), tc_optimizer_free(b);
        tc_tensor_free(pa), tc_tensor_free(pb);
    }
    tc_step_reset();
}

/* A parameter large enough to be split over the pool (and a global norm
 * summed in blocks): the same bits with 1 and 2 threads. */
static void same_bits_for_any_thread_count(void **state)
{
    int64_t n = 300001;
    tc_scalar *result[2];
    for (int t = 0; t < 2; t++) {
        assert_int_equal(tc_set_num_threads(t + 1), TC_OK);
        tc_rng r = tc_rng_new(11);
        tc_tensor *p = tc_tensor_new(TC_SHAPE(n));
        tc_set_requires_grad(p, true);
        p->grad = tc_tensor_new(TC_SHAPE(n));
        tc_rng_uniform(&r, p->data, n, -1, 1);
        tc_optimizer *opt = NEW(TC_OPT_ADAM, .lr = 0.01, .clip_norm = 10, .weight_decay = 0.01);
        for (int s = 0; s < 3; s++) {
            tc_rng_uniform(&r, p->grad->data, n, -1, 1);
            assert_int_equal(tc_optimizer_step(opt, 1, &p), TC_OK);
        }
        result[t] = malloc(sizeof(tc_scalar) * (size_t)n);
        memcpy(result[t], p->data, sizeof(tc_scalar) * (size_t)n);
        tc_optimizer_free(opt);
        tc_tensor_free(p);
    }
    assert_memory_equal(result[0], result[1], sizeof(tc_scalar) * (size_t)n);
    free(result[0]), free(result[1]);
    tc_set_num_threads(2);
}

/* The vector kernels of Adam and RMSprop (update_avx2.c, update_avx512.c)
 * against the scalar loops (TENSORCOOK_ISA=generic): the same bits on every
 * ISA the CPU runs, on lengths that leave vector tails (37 and 1013: not
 * multiples of 8 or 16), with each gradient transform (clip by value with
 * some gradients past it and one NaN, global-norm clipping, weight decay)
 * and centered RMSprop. */
static void vector_kernels_match_scalar_on_every_isa(void **state)
{
    static const int64_t lens[2] = {37, 1013};
    static const tc_optimizer_kind kinds[5] = {TC_OPT_ADAM, TC_OPT_ADAM, TC_OPT_RMSPROP, TC_OPT_RMSPROP, TC_OPT_RMSPROP};
    const tc_optim_opts cases[5] = {
        {.lr = 0.01},
        {.lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1, .clip_value = 0.5, .clip_norm = 3},
        {.lr = 0.007, .decay = 0.92, .momentum = 0.5, .eps = 1e-10},
        {.lr = 0.01, .decay = 0.9, .momentum = 0.3, .eps = 1e-6, .centered = true, .weight_decay = 0.05, .clip_value = 0.7},
        {.lr = 0.01, .decay = 0.9, .eps = 1e-6, .centered = true, .clip_norm = 2},
    };
    tc_isa_level saved = tc_isa();
    for (int c = 0; c < 5; c++) {
        const tc_optim_opts *o = &cases[c];
        tc_scalar *ref[2] = {NULL, NULL};
        for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
            if (isa > (int)tc_isa_best()) break;
            assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
            tc_rng r = tc_rng_new(5);
            tc_tensor *ps[2];
            for (int k = 0; k < 2; k++) {
                ps[k] = tc_tensor_new(TC_SHAPE(lens[k]));
                tc_set_requires_grad(ps[k], true);
                ps[k]->grad = tc_tensor_new(TC_SHAPE(lens[k]));
                tc_rng_uniform(&r, ps[k]->data, lens[k], -1, 1);
            }
            tc_optimizer *opt = tc_optimizer_new(kinds[c], o);
            assert_non_null(opt);
            for (int s = 0; s < 4; s++) {
                for (int k = 0; k < 2; k++) tc_rng_uniform(&r, ps[k]->grad->data, lens[k], -1.5f, 1.5f);
                if (s == 2 && o->clip_value > 0 && o->clip_norm == 0) ps[1]->grad->data[500] = NAN;
                assert_int_equal(tc_optimizer_step(opt, 2, ps), TC_OK);
            }
            for (int k = 0; k < 2; k++) {
                if (!ref[k]) {
                    ref[k] = malloc(sizeof(tc_scalar) * (size_t)lens[k]);
                    memcpy(ref[k], ps[k]->data, sizeof(tc_scalar) * (size_t)lens[k]);
                } else {
                    assert_memory_equal(ref[k], ps[k]->data, sizeof(tc_scalar) * (size_t)lens[k]);
                }
                tc_tensor_free(ps[k]);
            }
            tc_optimizer_free(opt);
        }
        free(ref[0]), free(ref[1]);
    }
    tc_set_isa(saved);
}

/* End to end: each optimizer fits a small softmax regression (loss,
 * autodiff and update together); the loss falls well below its start. */
static void each_optimizer_trains(void **state)
{
    tc_optimizer *opts[3] = {tc_sgd(0.5, 0.9, true), tc_adam(0.05), tc_rmsprop(0.01, 0.9, 0.5, 1e-10)};
    for (int k = 0; k < 3; k++) {
        tc_rng r = tc_rng_new(3);
        tc_tensor *w = tc_tensor_new(TC_SHAPE(4, 3)), *b = tc_tensor_new(TC_SHAPE(3));
        tc_set_requires_grad(w, true);
        tc_set_requires_grad(b, true);
        tc_tensor *ps[2] = {w, b};
        tc_scalar x[32 * 4], y[32];
        tc_rng_uniform(&r, x, 32 * 4, -1, 1);
        for (int i = 0; i < 32; i++) /* separable classes: the largest of three fixed projections */
            y[i] = x[i * 4] > x[i * 4 + 1] + 0.2f ? 0 : x[i * 4 + 2] > 0 ? 1 : 2;
        double first = 0, last = 0;
        for (int s = 0; s < 150; s++) {
            tc_zero_grads(2, ps);
            tc_tensor *logits = tc_linear(tc_copy_of(x, TC_SHAPE(32, 4)), w, b);
            tc_tensor *loss = tc_sparse_softmax_cross_entropy(logits, tc_copy_of(y, TC_SHAPE(32)), NULL, TC_REDUCE_MEAN);
            tc_assert_ok(loss);
            if (s == 0) first = loss->data[0];
            last = loss->data[0];
            assert_int_equal(tc_backward(loss), TC_OK);
            assert_int_equal(tc_optimizer_step(opts[k], 2, ps), TC_OK);
            tc_step_reset();
        }
        print_message("%s: loss %.4f -> %.4f\n", k == 0 ? "sgd" : k == 1 ? "adam" : "rmsprop", first, last);
        assert_true(last < 0.35 * first);
        tc_optimizer_free(opts[k]);
        tc_tensor_free(w), tc_tensor_free(b);
    }
}

static void bad_input(void **state)
{
    tc_assert_error(NEW(TC_OPT_SGD, .lr = -1), "optimizer_new", "sgd", "lr -1");
    tc_assert_error(NEW(TC_OPT_ADAM, .clip_norm = -2), "optimizer_new", "adam", "clip_norm -2");
    tc_assert_error(NEW(TC_OPT_ADAM, .clip_value = -0.5), "optimizer_new", "clip_value -0.5");
    tc_assert_error(NEW(TC_OPT_ADAM, .beta1 = 1), "optimizer_new", "beta1 1");
    tc_assert_error(NEW(TC_OPT_RMSPROP, .decay = 1.5), "optimizer_new", "rmsprop", "decay 1.5");
    tc_assert_error(NEW(TC_OPT_SGD, .momentum = -0.1), "optimizer_new", "momentum -0.1");
    tc_assert_error(NEW(TC_OPT_SGD, .weight_decay = -1), "optimizer_new", "weight_decay -1");
    tc_assert_error(NEW(TC_OPT_SGD, .nesterov = true), "optimizer_new", "Nesterov");
    tc_assert_error(NEW(TC_OPT_SGD, .lr_decay_rate = 0.5), "optimizer_new", "lr_decay_steps 0");
    tc_assert_error(tc_sgd(NAN, 0, false), "optimizer_new", "lr nan");
    tc_assert_error(tc_optimizer_new((tc_optimizer_kind)7, NULL), "optimizer_new", "kind 7");
    assert_int_equal(tc_optimizer_step(NULL, 0, NULL), TC_ERR_ARG);
    assert_true(strstr(tc_last_error(), "optimizer_step") != NULL);

    tc_optimizer *opt = tc_adam(0.1);
    assert_int_equal(tc_optimizer_step(opt, 2, NULL), TC_ERR_ARG);
    assert_true(strstr(tc_last_error(), "adam step") && strstr(tc_last_error(), "NULL"));
    assert_int_equal(tc_optimizer_step(opt, -1, NULL), TC_ERR_ARG);
    /* gradient of another shape */
    tc_tensor *p = tc_tensor_new(TC_SHAPE(3));
    tc_set_requires_grad(p, true);
    p->grad = tc_tensor_new(TC_SHAPE(4));
    assert_int_equal(tc_optimizer_step(opt, 1, &p), TC_ERR_SHAPE);
    assert_true(strstr(tc_last_error(), "[3]") && strstr(tc_last_error(), "[4]"));
    assert_true(tc_clip_grad_norm(1, &p, 1) < 0);
    /* a step (arena) tensor is not a parameter */
    tc_tensor *t = tc_zeros(TC_SHAPE(3));
    tc_set_requires_grad(t, true);
    t->grad = tc_zeros(TC_SHAPE(3));
    assert_int_equal(tc_optimizer_step(opt, 1, &t), TC_ERR_ARG);
    assert_true(strstr(tc_last_error(), "tc_tensor_new") != NULL);
    assert_int_equal(tc_optimizer_steps(opt), 0); /* nothing happened */
    /* learning rate */
    tc_optimizer_set_lr(opt, -3);
    assert_true(strstr(tc_last_error(), "lr -3") != NULL);
    assert_true(tc_optimizer_lr(opt) == 0.1);
    tc_optimizer_set_lr(opt, 0.5);
    assert_true(tc_optimizer_lr(opt) == 0.5);
    tc_optimizer_free(opt);
    opt = NEW(TC_OPT_SGD, .lr = 1, .lr_decay_rate = 0.5, .lr_decay_steps = 4, .lr_staircase = true);
    tc_optimizer_set_steps(opt, 7);
    assert_true(tc_optimizer_lr(opt) == 0.5);
    tc_optimizer_free(opt);
    opt = NEW(TC_OPT_SGD, .lr = 1, .lr_decay_rate = 0.5, .lr_decay_steps = 4);
    tc_optimizer_set_steps(opt, 6);
    assert_true(fabs(tc_optimizer_lr(opt) - pow(0.5, 1.5)) < 1e-15);
    assert_int_equal(tc_optimizer_get_kind(opt), TC_OPT_SGD);
    assert_true(tc_optimizer_opts(opt)->lr_decay_steps == 4);
    tc_optimizer_free(opt);
    /* defaults */
    opt = tc_optimizer_new(TC_OPT_ADAM, NULL);
    const tc_optim_opts *o = tc_optimizer_opts(opt);
    assert_true(o->lr == 0.001 && o->beta1 == 0.9 && o->beta2 == 0.999 && o->eps == 1e-8);
    tc_optimizer_free(opt);
    tc_tensor_free(p);
    tc_step_reset();
}

/* A model's parameters and gradients are views of one flat block each, the
 * optimizer's slots follow the same layout, and the flat update gives the
 * same bits as updating each tensor on its own (loose copies), for every
 * rule, with a frozen layer in the middle (two stretches). */
static tc_model *flat_model(void)
{
    tc_nn_seed(7);
    return tc_sequential("flat", (tc_layer *[]){tc_dense(&(tc_dense_opts){.units = 13, .input_dim = 5, .act = TC_TANH}),
                                                tc_dense(&(tc_dense_opts){.units = 7, .name = "frozen"}),
                                                tc_dense(&(tc_dense_opts){.units = 3}), NULL});
}

static tc_tensor *flat_loss(void *ctx)
{
    tc_model *m = ctx;
    tc_rng r = tc_rng_new(11);
    tc_tensor *x = tc_test_uniform(&r, TC_SHAPE(4, 5), -1, 1);
    return tc_mean(tc_square(tc_model_forward(m, x, true)), 0, NULL, false);
}

static void model_parameters_are_one_block(void **state)
{
    const tc_optim_opts kinds[3] = {{.lr = 0.1, .momentum = 0.9}, {.lr = 0.01, .clip_norm = 0.05}, {.lr = 0.01, .momentum = 0.5, .centered = true}};
    for (int k = 0; k < 3; k++) {
        tc_model *m = flat_model();
        tc_layer_set_trainable(tc_model_layer(m, "frozen"), false);
        tc_model_refresh_trainable(m);
        int np = tc_model_param_count(m);
        for (int i = 1; i < np; i++) {
            assert_ptr_equal(tc_model_param(m, i)->block, tc_model_param(m, 0)->block);
            assert_true(tc_model_param(m, i)->offset > tc_model_param(m, i - 1)->offset);
        }
        /* the same parameters as loose tensors, trained side by side */
        tc_tensor **loose = calloc((size_t)np, sizeof *loose);
        for (int i = 0; i < np; i++) {
            loose[i] = tc_tensor_from(tc_model_param(m, i)->ndim, tc_model_param(m, i)->shape, tc_model_param(m, i)->data);
            tc_set_requires_grad(loose[i], tc_model_param_trainable(m, i));
        }
        tc_optimizer *flat = tc_optimizer_new((tc_optimizer_kind)k, &kinds[k]);
        tc_optimizer *each = tc_optimizer_new((tc_optimizer_kind)k, &kinds[k]);
        for (int step = 0; step < 3; step++) {
            double l1;
            assert_int_equal(tc_model_train_step(m, flat, flat_loss, m, &l1), TC_OK);
            /* the loose copies get the model's gradients */
            for (int i = 0; i < np; i++) {
                tc_tensor *g = tc_model_param(m, i)->grad;
                if (!tc_requires_grad(loose[i])) continue;
                if (!loose[i]->grad) loose[i]->grad = tc_tensor_new(loose[i]->ndim, loose[i]->shape);
                memcpy(loose[i]->grad->data, g->data, sizeof(tc_scalar) * (size_t)tc_numel(g));
            }
            assert_int_equal(tc_optimizer_step(each, np, loose), TC_OK);
            for (int i = 0; i < np; i++)
                assert_memory_equal(tc_model_param(m, i)->data, loose[i]->data, sizeof(tc_scalar) * (size_t)tc_numel(loose[i]));
        }
        for (int s = 0; s < tc_optimizer_slot_count(flat); s++) {
            tc_tensor *a = tc_optimizer_slot(flat, tc_model_param(m, 0), s), *b = tc_optimizer_slot(flat, tc_model_param(m, np - 1), s);
            assert_non_null(a->block);
            assert_ptr_equal(a->block, b->block);
        }
        tc_optimizer_free(flat), tc_optimizer_free(each);
        for (int i = 0; i < np; i++) tc_tensor_free(loose[i]);
        free(loose);
        tc_model_free(m);
        tc_step_reset();
    }
}

int main(void)
{
    fx = tc_fixture_load(TC_FIXTURE_PATH("optim/optimizers.tcfx"));
    if (!fx) {
        fprintf(stderr, "%s\n", tc_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgd_vs_torch),
        cmocka_unit_test(adam_vs_torch),
        cmocka_unit_test(rmsprop_vs_tensorflow),
        cmocka_unit_test(clipping_helpers),
        cmocka_unit_test(accumulation_and_frozen),
        cmocka_unit_test(slots_and_restore),
        cmocka_unit_test(same_bits_for_any_thread_count),
        cmocka_unit_test(vector_kernels_match_scalar_on_every_isa),
        cmocka_unit_test(each_optimizer_trains),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(model_parameters_are_one_block),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_fixture_free(fx);
    tc_shutdown();
    return rc;
}
