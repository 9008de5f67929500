/* Finite-difference gradient checks (double precision) for batch
 * normalisation (training and inference, with and without gamma/beta), LRN
 * (odd, even and over-wide windows), dropout and resizing (nearest and
 * linear, 1 to 3 spatial axes, every coordinate mode), on random shapes. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

static tc_rng rng;

static int64_t rnd(int64_t lo, int64_t hi) { return lo + (int64_t)tc_rng_below(&rng, (uint64_t)(hi - lo + 1)); }

/* ---- batch norm ------------------------------------------------------------ */
typedef struct {
    bool training, affine;
} bn_case;

static tc_tensor *b_bn(tc_tensor **in, void *ctx)
{
    bn_case *c = ctx;
    return tc_batch_norm(in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, in[3], in[4], c->training, 0.9,
                         1e-3);
}

static void batch_norm(void **state)
{
    for (int t = 0; t < 16; t++) {
        int ndim = 2 + t % 4; /* [N, C] to [N, D, H, W, C] */
        int64_t shape[5];
        shape[0] = t < 4 ? 1 : rnd(1, 3); /* batch 1 with spatial > 1 first */
        for (int i = 1; i < ndim - 1; i++) shape[i] = rnd(t < 4 ? 2 : 1, 4);
        if (ndim == 2 && shape[0] == 1) shape[0] = 3; /* [1, C] has no variance */
        int64_t C = rnd(1, 4);
        shape[ndim - 1] = C;
        tc_tensor *in[5] = {tc_test_uniform(&rng, ndim, shape, -2, 3), tc_test_uniform(&rng, TC_SHAPE(C), 0.5, 1.5),
                            tc_test_uniform(&rng, TC_SHAPE(C), -1, 1), tc_test_uniform(&rng, TC_SHAPE(C), -1, 1),
                            tc_test_uniform(&rng, TC_SHAPE(C), 0.5, 2)};
        bn_case c = {t % 2 == 0, t % 3 != 2};
        /* training: running statistics are updated, not differentiated */
        bool check[5] = {true, c.affine, c.affine, !c.training, !c.training};
        char what[160];
        snprintf(what, sizeof what, "batch_norm %s%s x %s", c.training ? "training" : "inference",
                 c.affine ? " affine" : "", tc_shape_str(in[0], (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX));
        tc_gradcheck_(b_bn, &c, 5, in, check, 1e-6, 1e-6, what, __FILE__, __LINE__);
        tc_step_reset();
    }
}

/* ---- LRN ----------------------------------------------------------------------- */
typedef struct {
    int size;
    double alpha, beta, bias;
} lrn_case;
static tc_tensor *b_lrn(tc_tensor **in, void *ctx)
{
    lrn_case *c = ctx;
    return tc_lrn(in[0], c->size, c->alpha, c->beta, c->bias);
}

static void lrn(void **state)
{
    for (int size = 1; size <= 8; size++) {
        int ndim = 2 + size % 3;
        int64_t shape[4];
        for (int i = 0; i < ndim - 1; i++) shape[i] = rnd(1, 3);
        shape[ndim - 1] = size == 8 ? 5 : rnd(3, 7); /* size 8 > channels */
        lrn_case c = {size, 0.1 + 0.1 * size, 0.5 + 0.05 * size, 1 + 0.25 * (size % 3)};
        tc_tensor *x = tc_test_uniform(&rng, ndim, shape, -2, 2);
        char what[96];
        snprintf(what, sizeof what, "lrn size %d", size);
        tc_gradcheck_(b_lrn, &c, 1, &x, NULL, 1e-6, 1e-6, what, __FILE__, __LINE__);
        tc_step_reset();
    }
}

/* ---- dropout ---------------------------------------------------------------------- */
static tc_tensor *b_dropout(tc_tensor **in, void *ctx)
{
    tc_rng r = tc_rng_new(99); /* the same mask in every pass */
    return tc_dropout(in[0], *(double *)ctx, true, &r);
}

static void dropout(void **state)
{
    double rates[] = {0.2, 0.5, 0.9};
    for (int i = 0; i < 3; i++) {
        tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(3, 7, 5), -1, 1);
        tc_gradcheck(b_dropout, &rates[i], 1, &x, NULL, 1e-6, 1e-6);
        tc_step_reset();
    }
}

/* ---- resize ------------------------------------------------------------------------- */
typedef struct {
    int64_t out[3];
    tc_resize_params p;
    bool bilinear;
} resize_case;
static tc_tensor *b_resize(tc_tensor **in, void *ctx)
{
    resize_case *c = ctx;
    return c->bilinear ? tc_resize_bilinear(in[0], c->out[0], c->out[1]) : tc_resize(in[0], c->out, &c->p);
}

static void resize(void **state)
{
    for (int t = 0; t < 30; t++) {
        int nsp = 1 + t % 3;
        int64_t shape[5];
        resize_case c = {{0}};
        shape[0] = rnd(1, 2);
        shape[nsp + 1] = rnd(1, 3);
        for (int i = 0; i < nsp; i++) {
            shape[1 + i] = rnd(1, nsp == 3 ? 3 : 5);
            c.out[i] = rnd(1, nsp == 3 ? 5 : 8); /* up, down and to length 1 */
        }
        c.p.mode = t % 2 ? TC_RESIZE_NEAREST : TC_RESIZE_LINEAR;
        c.p.coord = (tc_coord_mode)(int)((t / 2) % 5);
        c.p.nearest = (tc_nearest_mode)(int)tc_rng_below(&rng, 4);
        if (t % 7 == 3) c.p.scale[0] = 1.5; /* an explicit scale on the first axis */
        tc_tensor *x = tc_test_uniform(&rng, nsp + 2, shape, -1, 1);
        char what[160];
        snprintf(what, sizeof what, "resize %s coord %d nearest %d x %s", t % 2 ? "nearest" : "linear", (int)c.p.coord,
                 (int)c.p.nearest, tc_shape_str(x, (char[TC_SHAPE_STR_MAX]){0}, TC_SHAPE_STR_MAX));
        tc_gradcheck_(b_resize, &c, 1, &x, NULL, 1e-6, 1e-6, what, __FILE__, __LINE__);
        tc_step_reset();
    }
    resize_case up = {{7, 5}, .bilinear = true}, down = {{2, 3}, .bilinear = true};
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 4, 6, 3), -1, 1);
    tc_gradcheck(b_resize, &up, 1, &x, NULL, 1e-6, 1e-6);
    tc_gradcheck(b_resize, &down, 1, &x, NULL, 1e-6, 1e-6);
    tc_step_reset();
}

int main(void)
{
    rng = tc_rng_new(2718);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_norm),
        cmocka_unit_test(lrn),
        cmocka_unit_test(dropout),
        cmocka_unit_test(resize),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
