/* Optimizer update rules against PyTorch (SGD, Adam) and TensorFlow 1.x's
 * RMSprop with clipping and decay (NumPy), 5 steps on fixed gradients. */
#include "testutil.h"

#include <math.h>
#include <string.h>

static tc_fixture *fx;

static tc_tensor *run(tc_optimizer *opt)
{
    tc_tensor *p0 = tc_fixture_get(fx, "p0"), *grads = tc_fixture_get(fx, "grads");
    tc_tensor *p = tc_tensor_from(1, p0->shape, p0->data);
    tc_set_requires_grad(p, true);
    p->grad = tc_tensor_new(1, p0->shape);
    for (int s = 0; s < 5; s++) {
        memcpy(p->grad->data, grads->data + s * 7, 7 * sizeof(tc_scalar));
        assert_int_equal(tc_optimizer_step(opt, 1, &p), TC_OK);
    }
    tc_tensor *out = tc_copy_of(p->data, 1, p->shape);
    tc_tensor_free(p);
    tc_optimizer_free(opt);
    return out;
}

static void update_rules(void **state)
{
    tc_assert_close(run(tc_sgd(0.1, 0, false)), tc_fixture_get(fx, "sgd"), 1e-6, 1e-6);
    tc_assert_close(run(tc_sgd(0.1, 0.9, false)), tc_fixture_get(fx, "sgd_momentum"), 1e-6, 1e-6);
    tc_assert_close(run(tc_optimizer_new(TC_OPT_SGD, &(tc_optim_opts){.lr = 0.1, .momentum = 0.9, .nesterov = true,
                                                                        .weight_decay = 0.01})),
                    tc_fixture_get(fx, "sgd_nesterov_wd"), 1e-6, 1e-6);
    tc_assert_close(run(tc_adam(0.01)), tc_fixture_get(fx, "adam"), 1e-6, 1e-6);
    tc_assert_close(run(tc_optimizer_new(TC_OPT_ADAM, &(tc_optim_opts){.lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6})),
                    tc_fixture_get(fx, "adam_betas"), 1e-6, 1e-6);
    tc_assert_close(run(tc_rmsprop(0.007, 0.92, 0.5, 1e-10)), tc_fixture_get(fx, "rmsprop_tf"), 1e-6, 1e-6);
    tc_assert_close(run(tc_optimizer_new(TC_OPT_RMSPROP, &(tc_optim_opts){.lr = 0.01, .decay = 0.9, .eps = 1e-10,
                                                                            .lr_decay_rate = 0.5, .lr_decay_steps = 2,
                                                                            .lr_staircase = true, .clip_norm = 1.0})),
                    tc_fixture_get(fx, "rmsprop_tf_decay_clip"), 1e-6, 1e-6);
    tc_arena_reset();
}

static void clipping_slots_and_frozen(void **state)
{
    tc_tensor *a = tc_tensor_new(TC_SHAPE(2)), *b = tc_tensor_new(TC_SHAPE(1)), *frozen = tc_tensor_new(TC_SHAPE(1));
    tc_set_requires_grad(a, true);
    tc_set_requires_grad(b, true);
    a->grad = tc_tensor_new(TC_SHAPE(2));
    b->grad = tc_tensor_new(TC_SHAPE(1));
    a->grad->data[0] = 3, a->grad->data[1] = 0, b->grad->data[0] = 4; /* norm 5 */
    tc_tensor *ps[3] = {a, b, frozen};
    double norm = tc_clip_grad_norm(3, ps, 2.5);
    assert_true(fabs(norm - 5) < 1e-6);
    assert_true(fabs(a->grad->data[0] - 1.5) < 1e-6 && fabs(b->grad->data[0] - 2) < 1e-6); /* to the threshold, not 1 */
    tc_clip_grad_value(3, ps, 1.0);
    assert_true(a->grad->data[0] == 1 && b->grad->data[0] == 1);
    tc_optimizer *opt = tc_adam(0.1);
    frozen->data[0] = 7;
    assert_int_equal(tc_optimizer_step(opt, 3, ps), TC_OK);
    assert_true(frozen->data[0] == 7); /* no gradient: untouched */
    assert_int_equal(tc_optimizer_slot_count(opt), 2);
    assert_string_equal(tc_optimizer_slot_name(opt, 1), "v");
    tc_tensor *m = tc_optimizer_slot(opt, a, 0);
    assert_true(fabs(m->data[0] - 0.1) < 1e-6); /* (1 - 0.9) * g */
    assert_int_equal(tc_optimizer_steps(opt), 1);
    tc_zero_grads(3, ps);
    assert_true(a->grad->data[0] == 0);
    tc_optimizer_free(opt);
    /* TF's RMSprop starts its mean square at one */
    opt = tc_rmsprop(0.1, 0.9, 0, 1e-10);
    assert_true(tc_optimizer_slot(opt, a, 0)->data[0] == 1);
    tc_optimizer_free(opt);
    tc_assert_error(tc_optimizer_new(TC_OPT_SGD, &(tc_optim_opts){.lr = -1}), "optimizer", "lr -1");
    tc_assert_error(tc_optimizer_new(TC_OPT_SGD, &(tc_optim_opts){.clip_norm = -2}), "optimizer", "clip_norm -2");
    assert_int_not_equal(tc_optimizer_step(NULL, 0, NULL), TC_OK);
    tc_tensor_free(a);
    tc_tensor_free(b);
    tc_tensor_free(frozen);
}

int main(void)
{
    fx = tc_fixture_load(TC_FIXTURE_PATH("torch/optimizers.tcfx"));
    if (!fx) {
        fprintf(stderr, "%s\n", tc_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(update_rules),
        cmocka_unit_test(clipping_slots_and_frozen),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_fixture_free(fx);
    tc_shutdown();
    return rc;
}
