/* Normalisation values, augmentation geometry and the batcher's seeded
 * order: the parts of src/data that change numbers rather than read files. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tc_dataset *make_set(int64_t n, int64_t h, int64_t w, int64_t c)
{
    tc_dataset *d = calloc(1, sizeof *d);
    d->x = tc_tensor_new(TC_SHAPE(n, h, w, c));
    d->y = tc_tensor_new(TC_SHAPE(n));
    d->classes = (int)n;
    for (int64_t i = 0; i < n; i++) d->y->data[i] = (tc_scalar)i;
    return d;
}

/* Statistics come from the training set only; every feature position of the
 * training set ends with mean 0 and std 1; other sets use the same statistics. */
static void normalizer_statistics(void **state)
{
    (void)state;
    tc_dataset *tr = make_set(6, 2, 2, 1), *te = make_set(2, 2, 2, 1);
    for (int64_t i = 0; i < 6; i++)
        for (int64_t j = 0; j < 4; j++) tr->x->data[i * 4 + j] = (tc_scalar)(j == 3 ? 0.5 : (double)(i * (j + 1)) + j);
    for (int64_t j = 0; j < 8; j++) te->x->data[j] = 1;
    tc_normalizer nz = {0};
    assert_int_equal(tc_normalizer_fit(&nz, tr), TC_OK);
    /* feature 0 takes 0..5: mean 2.5, population std sqrt(35/12) */
    assert_true(fabs(nz.mean->data[0] - 2.5) < 1e-6);
    assert_true(fabs(nz.std->data[0] - sqrt(35.0 / 12)) < 1e-5);
    assert_int_equal(tc_normalizer_apply(&nz, tr), TC_OK);
    for (int64_t j = 0; j < 3; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < 6; i++) s += tr->x->data[i * 4 + j];
        for (int64_t i = 0; i < 6; i++) s2 += pow(tr->x->data[i * 4 + j] - s / 6, 2);
        assert_true(fabs(s / 6) < 1e-5);
        assert_true(fabs(sqrt(s2 / 6) - 1) < 1e-5);
    }
    /* a constant feature is only centred, not divided by ~0 */
    for (int64_t i = 0; i < 6; i++) assert_true(tr->x->data[i * 4 + 3] == 0);
    assert_int_equal(tc_normalizer_apply(&nz, te), TC_OK);
    assert_true(fabs(te->x->data[0] - (1 - 2.5) / sqrt(35.0 / 12)) < 1e-5);
    assert_true(fabs(te->x->data[3] - 0.5) < 1e-6);
    /* a set of another shape is refused with both shapes named */
    tc_dataset *other = make_set(2, 3, 3, 1);
    assert_int_equal(tc_normalizer_apply(&nz, other), TC_ERR_SHAPE);
    assert_non_null(strstr(tc_last_error(), "[2, 3, 3, 1]"));
    tc_normalizer_free(&nz);
    tc_dataset_free(tr);
    tc_dataset_free(te);
    tc_dataset_free(other);
}

/* GLOBAL: one mean and std over every value (TFLearn); PER_CHANNEL: one per
 * last-axis channel (Keras). Values are checked against sums done here. */
static void normalizer_scopes(void **state)
{
    (void)state;
    tc_dataset *tr = make_set(3, 2, 2, 2), *te = make_set(1, 3, 3, 2);
    double s = 0, sc[2] = {0};
    for (int64_t i = 0; i < 24; i++) {
        tr->x->data[i] = (tc_scalar)((i * 7) % 11) + (i % 2 ? 10 : 0);
        s += tr->x->data[i], sc[i % 2] += tr->x->data[i];
    }
    double mean = s / 24, var = 0, mc[2] = {sc[0] / 12, sc[1] / 12}, vc[2] = {0};
    for (int64_t i = 0; i < 24; i++) {
        var += pow(tr->x->data[i] - mean, 2) / 24;
        vc[i % 2] += pow(tr->x->data[i] - mc[i % 2], 2) / 12;
    }
    for (int64_t i = 0; i < 18; i++) te->x->data[i] = 5;
    tc_normalizer g = {0}, c = {0};
    assert_int_equal(tc_normalizer_fit_scope(&g, tr, TC_NORM_GLOBAL), TC_OK);
    assert_int_equal(tc_normalizer_fit_scope(&c, tr, TC_NORM_PER_CHANNEL), TC_OK);
    assert_int_equal(tc_numel(g.mean), 1);
    assert_int_equal(tc_numel(c.mean), 2);
    assert_true(fabs(g.mean->data[0] - mean) < 1e-5 && fabs(g.std->data[0] - sqrt(var)) < 1e-5);
    for (int k = 0; k < 2; k++) assert_true(fabs(c.mean->data[k] - mc[k]) < 1e-5 && fabs(c.std->data[k] - sqrt(vc[k])) < 1e-5);
    /* both apply to examples of another size; a global one to any shape */
    tc_dataset *te2 = make_set(1, 3, 3, 2);
    for (int64_t i = 0; i < 18; i++) te2->x->data[i] = 5;
    assert_int_equal(tc_normalizer_apply(&g, te), TC_OK);
    assert_int_equal(tc_normalizer_apply(&c, te2), TC_OK);
    assert_true(fabs(te->x->data[7] - (5 - mean) / sqrt(var)) < 1e-5);
    assert_true(fabs(te2->x->data[6] - (5 - mc[0]) / sqrt(vc[0])) < 1e-5);
    assert_true(fabs(te2->x->data[7] - (5 - mc[1]) / sqrt(vc[1])) < 1e-5);
    tc_dataset *three = make_set(1, 2, 2, 3);
    assert_int_equal(tc_normalizer_apply(&c, three), TC_ERR_SHAPE);
    assert_non_null(strstr(tc_last_error(), "[1, 2, 2, 3]"));
    assert_int_equal(tc_normalizer_fit_scope(&g, tr, (tc_norm_scope)7), TC_ERR_ARG);
    tc_normalizer_free(&g);
    tc_normalizer_free(&c);
    tc_dataset_free(tr);
    tc_dataset_free(te);
    tc_dataset_free(te2);
    tc_dataset_free(three);
}

/* A flip without rotation gives each image either unchanged or exactly
 * mirrored, about half of each; a rotation by <= N degrees keeps the centre
 * of a constant image and stays a bilinear blend (values within the input's range). */
static void augmentation_geometry(void **state)
{
    (void)state;
    const int64_t B = 64, H = 5, W = 4, C = 2, per = H * W * C;
    tc_tensor *x = tc_tensor_new(TC_SHAPE(B, H, W, C));
    for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] = (tc_scalar)(i % per);
    tc_rng rng = tc_rng_new(11);
    tc_augment_opts flip = {.flip_lr = true};
    assert_int_equal(tc_augment_batch(x, &flip, &rng), TC_OK);
    int flipped = 0;
    for (int64_t b = 0; b < B; b++) {
        const tc_scalar *img = x->data + b * per;
        bool same = true, mirror = true;
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++)
                for (int64_t c = 0; c < C; c++) {
                    tc_scalar v = img[(y * W + xx) * C + c];
                    same &= v == (tc_scalar)((y * W + xx) * C + c);
                    mirror &= v == (tc_scalar)((y * W + (W - 1 - xx)) * C + c);
                }
        assert_true(same != mirror);
        flipped += mirror;
    }
    assert_true(flipped > 16 && flipped < 48);
    tc_tensor_free(x);

    tc_tensor *k = tc_tensor_new(TC_SHAPE(8, 9, 9, 1));
    for (int64_t i = 0; i < tc_numel(k); i++) k->data[i] = 2;
    tc_augment_opts rot = {.max_rotation_degrees = 25};
    assert_int_equal(tc_augment_batch(k, &rot, &rng), TC_OK);
    int changed = 0;
    for (int64_t b = 0; b < 8; b++) {
        assert_true(fabs(k->data[b * 81 + 4 * 9 + 4] - 2) < 1e-5); /* the centre stays */
        for (int64_t i = 0; i < 81; i++) {
            assert_true(k->data[b * 81 + i] >= -1e-6 && k->data[b * 81 + i] <= 2 + 1e-5);
            changed += k->data[b * 81 + i] < 2 - 1e-4; /* corners rotate in from the zero fill */
        }
    }
    assert_true(changed > 0);
    tc_tensor_free(k);
    tc_tensor *bad = tc_tensor_new(TC_SHAPE(3, 4));
    assert_int_equal(tc_augment_batch(bad, &rot, &rng), TC_ERR_SHAPE);
    assert_non_null(strstr(tc_last_error(), "[3, 4]"));
    tc_tensor_free(bad);
}

/* The order of one epoch of labels, as a string of indices. */
static void epoch_order(tc_batcher *b, int64_t *order, int64_t *n)
{
    tc_tensor *x, *y;
    *n = 0;
    while (tc_batcher_next(b, &x, &y))
        for (int64_t r = 0; r < y->shape[0]; r++) order[(*n)++] = (int64_t)y->data[r];
}

/* The background thread does not change the result: the same seed gives the
 * same orders and the same augmented pixels; another seed another order; each
 * epoch reshuffles; drop_last drops only the short tail. */
static void batcher_seeded(void **state)
{
    (void)state;
    tc_dataset *d = make_set(23, 6, 6, 1);
    for (int64_t i = 0; i < tc_numel(d->x); i++) d->x->data[i] = (tc_scalar)(i % 37) / 37;
    tc_augment_opts aug = {.flip_lr = true, .max_rotation_degrees = 10};
    tc_batcher *a = tc_batcher_new(d, 5, true, false, 3, &aug), *b = tc_batcher_new(d, 5, true, false, 3, &aug);
    tc_batcher *c = tc_batcher_new(d, 5, true, false, 4, NULL);
    assert_non_null(a);
    assert_int_equal(tc_batcher_batches_per_epoch(a), 5);
    int64_t oa[2][23], ob[23], oc[23], n;
    for (int e = 0; e < 2; e++) {
        tc_tensor *xa, *ya, *xb, *yb;
        int64_t k = 0;
        while (tc_batcher_next(a, &xa, &ya)) {
            assert_true(tc_batcher_next(b, &xb, &yb));
            assert_int_equal(tc_numel(xa), tc_numel(xb));
            assert_memory_equal(xa->data, xb->data, sizeof(tc_scalar) * (size_t)tc_numel(xa));
            for (int64_t r = 0; r < ya->shape[0]; r++) {
                assert_true(ya->data[r] == yb->data[r]);
                oa[e][k++] = (int64_t)ya->data[r];
            }
        }
        assert_false(tc_batcher_next(b, &xb, &yb));
        assert_int_equal(k, 23);
    }
    assert_true(memcmp(oa[0], oa[1], sizeof oa[0]) != 0); /* reshuffled per epoch */
    epoch_order(c, oc, &n);
    assert_int_equal(n, 23);
    assert_true(memcmp(oa[0], oc, sizeof oc) != 0); /* another seed */
    tc_batcher_free(a);
    tc_batcher_free(b);
    tc_batcher_free(c);

    tc_batcher *dl = tc_batcher_new(d, 5, false, true, 1, NULL);
    assert_int_equal(tc_batcher_batches_per_epoch(dl), 4);
    epoch_order(dl, ob, &n);
    assert_int_equal(n, 20);
    for (int64_t i = 0; i < 20; i++) assert_int_equal(ob[i], i); /* no shuffle: in order */
    tc_batcher_free(dl);
    tc_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalizer_statistics),
        cmocka_unit_test(normalizer_scopes),
        cmocka_unit_test(augmentation_geometry),
        cmocka_unit_test(batcher_seeded),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return r;
}
