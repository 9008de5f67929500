/* Convolution kernels packed once for inference (tc_conv_weights,
 * tc_conv_params.weights): the packed and the unpacked paths give the same
 * bits on every kernel (1x1 direct, im2col with many and few tiles, deep K
 * over several K blocks, groups, and the thin / depthwise kernels that pack
 * nothing), with and without bias and a fused epilogue, on every
 * instruction-set path and 1 and 2 threads; a pack is ignored for a kernel
 * that requires a gradient, for another tensor of the same shape, for other
 * groups and after a change of instruction set (each checked on values that
 * would differ if the stale pack were read), and on the AVX-512 path the
 * pack is what is read. All on the direct path (TC_CONV_DIRECT). */
#include "testutil.h"

#include <string.h>

typedef struct {
    const char *what;
    int64_t n, h, w, c, k, f, stride, groups;
} pk_case;

static const pk_case cases[] = {
    {"1x1 direct", 2, 7, 5, 24, 1, 40, 1, 1},
    {"1x1 direct, one row", 1, 1, 1, 48, 1, 33, 1, 1},
    {"im2col many tiles", 8, 33, 33, 64, 3, 17, 1, 1},
    {"im2col few tiles", 1, 9, 7, 40, 3, 19, 2, 1},
    {"deep K (3 K blocks)", 2, 6, 6, 70, 3, 45, 1, 1},
    {"thin", 3, 13, 11, 3, 5, 37, 1, 1},
    {"depthwise", 2, 10, 9, 35, 3, 35, 2, 35},
    {"groups", 2, 8, 8, 12, 3, 18, 1, 3},
};

static void same_bits(const tc_tensor *a, const tc_tensor *b, const char *what, const char *how)
{
    assert_int_equal(tc_numel(a), tc_numel(b));
    if (memcmp(a->data, b->data, sizeof(tc_scalar) * (size_t)tc_numel(a)) != 0)
        fail_msg("%s (%s, %s, %d threads): packed and unpacked kernels differ", what, how, tc_isa_name(tc_isa()),
                 tc_num_threads());
}

static void packed_equals_unpacked(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    bool was = tc_set_grad_enabled(false);
    for (int isa = TC_ISA_GENERIC; isa <= TC_ISA_AVX512; isa++) {
        if (!tc_isa_supported((tc_isa_level)isa)) continue;
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            const pk_case *e = &cases[ci];
            tc_rng rng = tc_rng_new(11 + ci);
            tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(e->n, e->h, e->w, e->c), -1, 1);
            tc_tensor *w = tc_tensor_keep(tc_test_uniform(&rng, TC_SHAPE(e->k, e->k, e->c / e->groups, e->f), -1, 1));
            tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(e->f), -1, 1);
            tc_conv_weights *pk = tc_conv_weights_prepare(w, (int)e->groups);
            assert_non_null(pk);
            tc_conv_params p = {.stride = {(int)e->stride, (int)e->stride}, .padding = TC_SAME, .groups = (int)e->groups};
            tc_tensor *y0 = tc_conv(x, w, b, &p);
            tc_assert_ok(y0);
            tc_tensor *res = tc_test_uniform(&rng, y0->ndim, y0->shape, -3, 3);
            for (int kind = 0; kind < 3; kind++) {
                tc_conv_params q = p;
                tc_tensor *bias = kind == 1 ? NULL : b;
                if (kind == 2) q.act = TC_CONV_RELU, q.residual = res;
                tc_tensor *ref = NULL;
                for (int threads = 1; threads <= 2; threads++) {
                    tc_set_num_threads(threads);
                    tc_tensor *plain = tc_conv(x, w, bias, &q);
                    q.weights = pk;
                    tc_tensor *packed = tc_conv(x, w, bias, &q);
                    q.weights = NULL;
                    tc_assert_ok(plain);
                    tc_assert_ok(packed);
                    const char *how = kind == 0 ? "bias" : kind == 1 ? "no bias" : "bias + residual + relu";
                    same_bits(packed, plain, e->what, how);
                    if (threads == 1) ref = packed;
                    else same_bits(packed, ref, e->what, "1 vs 2 threads");
                }
            }
            tc_conv_weights_free(pk);
            tc_tensor_free(w);
            tc_step_reset();
        }
    }
    tc_set_grad_enabled(was);
    tc_set_isa(keep);
    tc_set_num_threads(2);
}

/* a pack used where it must not be would give the old kernel's outputs */
static void stale_packs_are_ignored(void **state)
{
    (void)state;
    tc_isa_level keep = tc_isa();
    tc_rng rng = tc_rng_new(77);
    tc_tensor *x = tc_test_uniform(&rng, TC_SHAPE(2, 9, 9, 16), -1, 1);
    tc_tensor *w = tc_tensor_keep(tc_test_uniform(&rng, TC_SHAPE(3, 3, 16, 24), -1, 1));
    tc_tensor *w2 = tc_tensor_keep(tc_test_uniform(&rng, TC_SHAPE(3, 3, 16, 24), -1, 1));
    tc_tensor *b = tc_test_uniform(&rng, TC_SHAPE(24), -1, 1);
    tc_conv_weights *pk = tc_conv_weights_prepare(w, 1);
    assert_non_null(pk);
    tc_conv_params p = {.padding = TC_SAME}, q = p;
    q.weights = pk;
    /* another kernel of the same shape */
    same_bits(tc_conv(x, w2, b, &q), tc_conv(x, w2, b, &p), "another kernel", "pack of w");
    /* the kernel being trained: changed in place, requiring a gradient */
    tc_tensor *old = tc_conv(x, w, b, &p);
    for (int64_t i = 0; i < tc_numel(w); i++) w->data[i] = -w->data[i];
    /* (the contract broken on purpose, to show the packed path runs: where
     * the packed GEMM is in use, the pack still holds the old values) */
    if (tc_isa() != TC_ISA_GENERIC) same_bits(tc_conv(x, w, b, &q), old, "changed kernel", "the pack is read");
    tc_set_requires_grad(w, true);
    tc_tensor *trained = tc_conv(x, w, b, &q);
    same_bits(trained, tc_conv(x, w, b, &p), "trained kernel", "stale pack");
    assert_true(memcmp(trained->data, old->data, sizeof(tc_scalar) * (size_t)tc_numel(old)) != 0);
    tc_set_requires_grad(w, false);
    /* a pack made on another instruction-set path than the one in use (made
     * on the best path, used on each other one: the unpacked bits there) */
    tc_conv_weights_free(pk);
    pk = tc_conv_weights_prepare(w, 1);
    q.weights = pk;
    for (int isa = TC_ISA_GENERIC; isa < (int)tc_isa_best(); isa++) {
        assert_int_equal(tc_set_isa((tc_isa_level)isa), TC_OK);
        same_bits(tc_conv(x, w, b, &q), tc_conv(x, w, b, &p), "other ISA", "pack of the best ISA");
    }
    assert_int_equal(tc_set_isa(keep), TC_OK);
    /* other groups: the grouped convolution of the same kernel tensor viewed with 2 groups */
    tc_tensor *x2 = tc_test_uniform(&rng, TC_SHAPE(2, 9, 9, 32), -1, 1);
    tc_conv_params g2 = {.padding = TC_SAME, .groups = 2}, g2q = g2;
    g2q.weights = pk;
    same_bits(tc_conv(x2, w, b, &g2q), tc_conv(x2, w, b, &g2), "2 groups", "pack of 1 group");
    tc_conv_weights_free(pk);
    tc_tensor_free(w);
    tc_tensor_free(w2);
    tc_step_reset();
}

static void bad_kernels(void **state)
{
    (void)state;
    tc_tensor *w = tc_zeros(TC_SHAPE(3, 3, 4, 6));
    tc_assert_error(tc_conv_weights_prepare(NULL, 1), "conv weights");
    tc_assert_error(tc_conv_weights_prepare(tc_zeros(TC_SHAPE(4, 6)), 1), "conv weights", "rank");
    tc_assert_error(tc_conv_weights_prepare(w, 4), "conv weights", "groups");
    tc_assert_error(tc_conv_weights_prepare(tc_transpose(w, (int[]){1, 0, 2, 3}), 1), "conv weights", "contiguous");
    tc_conv_weights_free(NULL);
    tc_step_reset();
}

int main(void)
{
    /* the packing's bits are the direct path's: auto (the default) would run
     * the packed 3x3 kernels as Winograd (test_conv_winograd checks that) */
    tc_conv_set_algorithm(TC_CONV_DIRECT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packed_equals_unpacked),
        cmocka_unit_test(stale_packs_are_ignored),
        cmocka_unit_test(bad_kernels),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
