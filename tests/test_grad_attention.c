/* Finite-difference gradient checks (double precision) of tc_attention:
 * dot and additive scores, with a learnable scale or additive weights, a
 * key mask and the causal mask. */
#include "testutil.h"

typedef struct {
    bool additive, masked, causal;
} att_case;

static tc_tensor *build(tc_tensor **in, void *ctx)
{
    const att_case *c = ctx;
    static tc_scalar mv[8] = {1, 1, 0, 1, 1, 0, 1, 1};
    tc_attention_params p = {.score = c->additive ? TC_SCORE_ADDITIVE : TC_SCORE_DOT, .scale = in[3],
                             .additive_weights = c->additive ? in[4] : NULL, .causal = c->causal, .scale_value = 0.8};
    tc_tensor *out, *w;
    if (tc_attention(in[0], in[1], in[2], c->masked ? tc_copy_of(mv, TC_SHAPE(2, 4)) : NULL, &p, &out, &w) != TC_OK) return NULL;
    return tc_concat(2, (tc_tensor *[]){tc_reshape(out, TC_SHAPE(-1)), tc_reshape(w, TC_SHAPE(-1))}, 0);
}

static void attention(void **state)
{
    tc_rng rng = tc_rng_new(5);
    att_case cases[] = {{false, false, false}, {false, true, true}, {true, true, false}, {true, false, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_tensor *in[5] = {tc_test_uniform(&rng, TC_SHAPE(2, 3, 3), -1, 1), tc_test_uniform(&rng, TC_SHAPE(2, 4, 3), -1, 1),
                            tc_test_uniform(&rng, TC_SHAPE(2, 4, 2), -1, 1), tc_test_uniform(&rng, TC_SHAPE(1), 0.5, 1.5),
                            tc_test_uniform(&rng, TC_SHAPE(3), -1, 1)};
        bool check[5] = {true, true, true, true, cases[i].additive};
        tc_gradcheck(build, &cases[i], 5, in, check, 1e-6, 1e-6);
        tc_step_reset();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(attention)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (tc_gradcheck_coverage(__FILE__)) rc = 1;
    tc_shutdown();
    return rc;
}
