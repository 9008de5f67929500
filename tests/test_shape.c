/* Shape ops (concat, split, slice, narrow, pad, tile, expand, gather):
 * outputs and gradients against NumPy/PyTorch on the fixtures written by
 * tests/fixtures/gen_shape.py, large inputs (the memcpy and thread-pool
 * paths) against plain per-element loops, bit-identical results for 1 and 2
 * threads, and bad input. */
#include "testutil.h"

#include <math.h>
#include <string.h>

/* ---- fixtures ------------------------------------------------------------------------- */
/* Builds the case's outputs from its inputs; returns how many (0 on error). */
typedef int (*build_fn)(tc_tensor **ins, tc_tensor **outs);

typedef struct {
    const char *name;
    const char *inputs[4];
    build_fn build;
} shape_case;

static int b_concat_axis1(tc_tensor **in, tc_tensor **out)
{
    return (out[0] = tc_concat(4, in, 1)) != NULL;
}
static int b_concat_last(tc_tensor **in, tc_tensor **out)
{
    return (out[0] = tc_concat(3, (tc_tensor *[]){in[0], in[1], in[0]}, -1)) != NULL;
}
static int b_split(tc_tensor **in, tc_tensor **out)
{
    return tc_split(in[0], 2, 4, (int64_t[]){1, 3, 0, 2}, out) == TC_OK ? 4 : 0;
}
static int b_narrow(tc_tensor **in, tc_tensor **out) { return (out[0] = tc_narrow(in[0], 1, 1, 3)) != NULL; }
static int b_slice_steps(tc_tensor **in, tc_tensor **out)
{
    /* x[4:0:-2, -100:100:2, -1:-8:-3] */
    out[0] = tc_slice(in[0], (int64_t[]){4, -100, -1}, (int64_t[]){0, 100, -8}, (int64_t[]){-2, 2, -3});
    return out[0] != NULL;
}
static int b_slice_clamp(tc_tensor **in, tc_tensor **out)
{
    /* x[-2:10, 5:-10:-1] */
    out[0] = tc_slice(in[0], (int64_t[]){-2, 5}, (int64_t[]){10, -10}, (int64_t[]){1, -1});
    return out[0] != NULL;
}
static int b_slice_of_transpose(tc_tensor **in, tc_tensor **out)
{
    /* x.transpose(2, 0, 1)[::-2, 1:, :3] */
    tc_tensor *t = tc_transpose(in[0], (int[]){2, 0, 1});
    out[0] = tc_slice(t, (int64_t[]){INT64_MAX, 1, 0}, (int64_t[]){INT64_MIN, INT64_MAX, 3}, (int64_t[]){-2, 1, 1});
    return out[0] != NULL;
}
static int b_pad_constant(tc_tensor **in, tc_tensor **out)
{
    out[0] = tc_pad(in[0], (int64_t[]){1, 0, 4}, (int64_t[]){2, 3, 4}, TC_PAD_CONSTANT, 0.25f);
    return out[0] != NULL;
}
static int b_pad_reflect(tc_tensor **in, tc_tensor **out)
{
    out[0] = tc_pad(in[0], (int64_t[]){1, 0, 4}, (int64_t[]){2, 3, 4}, TC_PAD_REFLECT, 0);
    return out[0] != NULL;
}
static int b_pad_edge(tc_tensor **in, tc_tensor **out)
{
    out[0] = tc_pad(in[0], (int64_t[]){3, 2, 1}, (int64_t[]){0, 5, 1}, TC_PAD_EDGE, 0);
    return out[0] != NULL;
}
static int b_tile(tc_tensor **in, tc_tensor **out) { return (out[0] = tc_tile(in[0], (int64_t[]){2, 4, 1})) != NULL; }
static int b_expand(tc_tensor **in, tc_tensor **out)
{
    return (out[0] = tc_expand(in[0], 4, (int64_t[]){2, 3, 4, 5})) != NULL;
}
static int b_expand_two_way(tc_tensor **in, tc_tensor **out)
{
    return (out[0] = tc_expand(in[0], 2, (int64_t[]){4, 1})) != NULL;
}
static int b_gather0(tc_tensor **in, tc_tensor **out) { return (out[0] = tc_gather(in[0], in[1], 0)) != NULL; }
static int b_gather1(tc_tensor **in, tc_tensor **out) { return (out[0] = tc_gather(in[0], in[1], 1)) != NULL; }
static int b_gather_last(tc_tensor **in, tc_tensor **out)
{
    /* torch.gather with the same ids on each row == gather on axis -1 of a 1-D id list, per row */
    tc_tensor *g = tc_gather(in[0], in[1], -1); /* [3, 3] */
    return (out[0] = g) != NULL;
}

static const shape_case cases[] = {
    {"concat_axis1", {"a", "b", "c", "d"}, b_concat_axis1},
    {"concat_last", {"a", "b"}, b_concat_last},
    {"split_axis2", {"x"}, b_split},
    {"narrow", {"x"}, b_narrow},
    {"slice_steps", {"x"}, b_slice_steps},
    {"slice_clamp", {"x"}, b_slice_clamp},
    {"slice_of_transpose", {"x"}, b_slice_of_transpose},
    {"pad_constant", {"x"}, b_pad_constant},
    {"pad_reflect", {"x"}, b_pad_reflect},
    {"pad_edge", {"x"}, b_pad_edge},
    {"tile", {"x"}, b_tile},
    {"expand", {"x"}, b_expand},
    {"expand_two_way", {"x"}, b_expand_two_way},
    {"gather_embedding", {"table", "ids"}, b_gather0},
    {"gather_axis1", {"table", "ids"}, b_gather1},
    {"gather_last", {"table", "ids"}, b_gather_last},
};

static void against_fixtures(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const shape_case *sc = &cases[c];
        char path[512], key[64], what[128];
        snprintf(path, sizeof path, "%s/shape/%s.tcfx", TC_FIXTURES, sc->name);
        tc_fixture *fx = tc_fixture_load(path);
        if (!fx) fail_msg("%s", tc_last_error());
        tc_tensor *ins[4] = {0}, *outs[8] = {0};
        int n = 0;
        for (; n < 4 && sc->inputs[n]; n++) {
            snprintf(key, sizeof key, "in:%s", sc->inputs[n]);
            ins[n] = tc_fixture_get(fx, key);
            snprintf(key, sizeof key, "grad:%s", sc->inputs[n]);
            tc_set_requires_grad(ins[n], tc_fixture_has(fx, key));
        }
        int nout = sc->build(ins, outs);
        if (nout == 0) fail_msg("%s: %s", sc->name, tc_last_error());
        /* L = sum_k sum(out_k * gout_k): one backward gives every input's gradient */
        tc_tensor *loss = tc_scalar_tensor(0);
        for (int k = 0; k < nout; k++) {
            snprintf(key, sizeof key, "out:%d", k);
            snprintf(what, sizeof what, "%s out %d", sc->name, k);
            tc_assert_close_(outs[k], tc_fixture_get(fx, key), 0, 0, what, __FILE__, __LINE__); /* copies are exact */
            snprintf(key, sizeof key, "gout:%d", k);
            loss = tc_add(loss, tc_sum(tc_mul(outs[k], tc_fixture_get(fx, key)), 0, NULL, false));
        }
        if (tc_backward(loss) != TC_OK) fail_msg("%s: %s", sc->name, tc_last_error());
        for (int i = 0; i < n; i++) {
            snprintf(key, sizeof key, "grad:%s", sc->inputs[i]);
            if (!tc_fixture_has(fx, key)) continue;
            snprintf(what, sizeof what, "%s d/d%s", sc->name, sc->inputs[i]);
            if (!ins[i]->grad) fail_msg("%s: no gradient", what);
            tc_assert_close_(ins[i]->grad, tc_fixture_get(fx, key), 1e-5, 1e-5, what, __FILE__, __LINE__);
        }
        print_message("%-20s %d output(s) and gradients match\n", sc->name, nout);
        tc_fixture_free(fx);
        tc_step_reset();
    }
}

/* ---- large inputs: parallel and memcpy paths against per-element loops ---------------- */
static tc_rng rng;

/* Value of x at a 3-D index, any strides. */
static float at3(const tc_tensor *x, int64_t i, int64_t j, int64_t k)
{
    return (float)tc_get(x, (int64_t[]){i, j, k});
}

static int64_t reflect(int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }
static int64_t edge(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

static void large_forward(void **state)
{
    (void)state;
    int64_t A = 37, B = 41, C = 29; /* about 44k values, rows that are not multiples of anything */
    tc_tensor *x = tc_test_uniform(&rng, 3, (int64_t[]){A, B, C}, -1, 1);
    /* a strided view as input: the packed-copy paths */
    tc_tensor *xt = tc_transpose(x, (int[]){1, 0, 2}); /* [B, A, C] */

    int64_t pb[3] = {2, 0, 5}, pa[3] = {1, 7, 3};
    tc_tensor *r = tc_pad(xt, pb, pa, TC_PAD_REFLECT, 0), *e = tc_pad(xt, pb, pa, TC_PAD_EDGE, 0);
    tc_tensor *k = tc_pad(xt, pb, pa, TC_PAD_CONSTANT, -3);
    tc_assert_ok(r);
    tc_assert_ok(e);
    tc_assert_ok(k);
    for (int64_t i = 0; i < r->shape[0]; i++)
        for (int64_t j = 0; j < r->shape[1]; j++)
            for (int64_t l = 0; l < r->shape[2]; l++) {
                int64_t si = i - pb[0], sj = j - pb[1], sl = l - pb[2];
                float vr = at3(xt, reflect(si, B), reflect(sj, A), reflect(sl, C));
                float ve = at3(xt, edge(si, B), edge(sj, A), edge(sl, C));
                bool inside = si >= 0 && si < B && sj >= 0 && sj < A && sl >= 0 && sl < C;
                float vk = inside ? at3(xt, si, sj, sl) : -3.0f;
                if (at3(r, i, j, l) != vr || at3(e, i, j, l) != ve || at3(k, i, j, l) != vk)
                    fail_msg("pad at [%lld, %lld, %lld]", (long long)i, (long long)j, (long long)l);
            }

    tc_tensor *t = tc_tile(xt, (int64_t[]){2, 1, 3});
    tc_assert_ok(t);
    for (int64_t i = 0; i < t->shape[0]; i++)
        for (int64_t j = 0; j < t->shape[1]; j++)
            for (int64_t l = 0; l < t->shape[2]; l++)
                if (at3(t, i, j, l) != at3(xt, i % B, j % A, l % C)) fail_msg("tile at [%lld, %lld, %lld]", (long long)i, (long long)j, (long long)l);

    tc_tensor *row = tc_narrow(xt, 1, 3, 1); /* [B, 1, C] */
    tc_tensor *ex = tc_expand(row, 3, (int64_t[]){B, 50, C});
    tc_assert_ok(ex);
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < 50; j++)
            for (int64_t l = 0; l < C; l++)
                if (at3(ex, i, j, l) != at3(xt, i, 3, l)) fail_msg("expand at [%lld, %lld, %lld]", (long long)i, (long long)j, (long long)l);

    /* concat of a view, a contiguous tensor and a negative-step slice along axis 1 */
    tc_tensor *y = tc_test_uniform(&rng, 3, (int64_t[]){B, 5, C}, -1, 1);
    tc_tensor *s = tc_slice(xt, (int64_t[]){0, -1, 0}, (int64_t[]){B, -A - 1, C}, (int64_t[]){1, -2, 1});
    tc_tensor *cat = tc_concat(3, (tc_tensor *[]){xt, y, s}, 1);
    tc_assert_ok(cat);
    int64_t ns = s->shape[1];
    assert_int_equal(cat->shape[1], A + 5 + ns);
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < A + 5 + ns; j++)
            for (int64_t l = 0; l < C; l++) {
                float want = j < A ? at3(xt, i, j, l) : j < A + 5 ? at3(y, i, j - A, l) : at3(xt, i, A - 1 - 2 * (j - A - 5), l);
                if (at3(cat, i, j, l) != want) fail_msg("concat at [%lld, %lld, %lld]", (long long)i, (long long)j, (long long)l);
            }

    /* embedding lookup: 3000 ids into a [500, 64] table */
    tc_tensor *table = tc_test_uniform(&rng, 2, (int64_t[]){500, 64}, -1, 1);
    tc_scalar ids[3000];
    for (int i = 0; i < 3000; i++) ids[i] = (tc_scalar)((i * 7919) % 1000 - 500); /* negatives too */
    tc_tensor *g = tc_gather(table, tc_copy_of(ids, 2, (int64_t[]){60, 50}), 0);
    tc_assert_ok(g);
    for (int i = 0; i < 3000; i++) {
        int64_t k = (int64_t)ids[i] < 0 ? (int64_t)ids[i] + 500 : (int64_t)ids[i];
        if (memcmp(g->data + (int64_t)i * 64, table->data + k * 64, 64 * sizeof(tc_scalar)))
            fail_msg("gather row %d", i);
    }
    /* along the last axis of a strided table (single values per index) */
    tc_tensor *tt = tc_transpose(tc_test_uniform(&rng, 2, (int64_t[]){200, 300}, -1, 1), (int[]){1, 0});
    for (int i = 0; i < 150; i++) ids[i] = (tc_scalar)((i * 37) % 400 - 200);
    tc_tensor *gl = tc_gather(tt, tc_copy_of(ids, 1, (int64_t[]){150}), -1); /* [300, 150] */
    tc_assert_ok(gl);
    for (int64_t r2 = 0; r2 < 300; r2++)
        for (int64_t i = 0; i < 150; i++) {
            int64_t k = (int64_t)ids[i] < 0 ? (int64_t)ids[i] + 200 : (int64_t)ids[i];
            if (tc_get(gl, (int64_t[]){r2, i}) != tc_get(tt, (int64_t[]){r2, k}))
                fail_msg("gather on the last axis at [%lld, %lld]", (long long)r2, (long long)i);
        }
    tc_step_reset();
}

/* ---- determinism: gradients bit-identical for 1 and 2 threads ---------------------------- */
static tc_tensor *grads_of_everything(tc_tensor *x, tc_tensor *table, tc_tensor *ids)
{
    tc_zero_grad(x);
    tc_zero_grad(table);
    tc_tensor *p = tc_pad(x, (int64_t[]){3, 1, 2}, (int64_t[]){2, 4, 2}, TC_PAD_REFLECT, 0);
    tc_tensor *t = tc_tile(tc_slice(x, (int64_t[]){-1, 0, 0}, (int64_t[]){INT64_MIN, INT64_MAX, INT64_MAX},
                                    (int64_t[]){-3, 2, 1}), (int64_t[]){4, 3, 1});
    /* 4 rows of the output feed each input row: addition order matters beyond 2 */
    tc_tensor *e = tc_expand(tc_narrow(x, 1, 2, 1), 4, (int64_t[]){3, x->shape[0], 40, x->shape[2]});
    const int64_t flat[1] = {-1};
    tc_tensor *c = tc_concat(3, (tc_tensor *[]){tc_reshape(p, 1, flat), tc_reshape(t, 1, flat), tc_reshape(e, 1, flat)}, 0);
    tc_tensor *g = tc_gather(table, ids, 0);
    tc_rng fixed_g = tc_rng_new(98);
    tc_tensor *w = tc_test_uniform(&fixed_g, g->ndim, g->shape, -1, 1); /* repeats get different gradients */
    tc_rng fixed = tc_rng_new(99); /* the same weights in every call: distinct gradients per position */
    tc_tensor *wc = tc_test_uniform(&fixed, c->ndim, c->shape, -1, 1);
    tc_tensor *loss = tc_add(tc_sum(tc_mul(tc_mul(c, c), wc), 0, NULL, false), tc_sum(tc_mul(tc_mul(g, g), w), 0, NULL, false));
    if (tc_backward(loss) != TC_OK) fail_msg("%s", tc_last_error());
    tc_tensor *both = tc_concat(2, (tc_tensor *[]){tc_reshape(x->grad, 1, (int64_t[]){-1}),
                                                   tc_reshape(table->grad, 1, (int64_t[]){-1})}, 0);
    return tc_tensor_keep(both);
}

static void thread_determinism(void **state)
{
    (void)state;
    int64_t xs[3] = {30, 33, 40};
    tc_tensor *x0 = tc_test_uniform(&rng, 3, xs, -1, 1), *t0 = tc_test_uniform(&rng, 2, (int64_t[]){300, 48}, -1, 1);
    tc_tensor *x = tc_tensor_keep(x0), *table = tc_tensor_keep(t0);
    tc_set_requires_grad(x, true);
    tc_set_requires_grad(table, true);
    tc_scalar ids[4000];
    for (int i = 0; i < 4000; i++) ids[i] = (tc_scalar)((i * 31) % 37 - 12); /* few rows, many repeats */
    tc_tensor *idt = tc_tensor_from(1, (int64_t[]){4000}, ids);
    int saved = tc_num_threads();
    tc_set_num_threads(1);
    tc_tensor *g1 = grads_of_everything(x, table, idt);
    tc_step_reset();
    tc_set_num_threads(2);
    tc_tensor *g2 = grads_of_everything(x, table, idt);
    tc_step_reset();
    tc_set_num_threads(saved);
    assert_int_equal(tc_numel(g1), tc_numel(g2));
    assert_memory_equal(g1->data, g2->data, sizeof(tc_scalar) * (size_t)tc_numel(g1));
    /* and the table's gradient is right: row k gets 2 * table[k] * w[i] for every i with ids[i] == k */
    tc_rng fixed_g = tc_rng_new(98);
    tc_tensor *w = tc_test_uniform(&fixed_g, 2, (int64_t[]){4000, 48}, -1, 1);
    static double want[300 * 48];
    memset(want, 0, sizeof want);
    for (int i = 0; i < 4000; i++) {
        int k = (int)ids[i] < 0 ? (int)ids[i] + 300 : (int)ids[i];
        for (int c = 0; c < 48; c++) want[k * 48 + c] += 2.0 * table->data[k * 48 + c] * w->data[i * 48 + c];
    }
    int64_t nx = tc_numel(x);
    for (int k = 0; k < 300 * 48; k++)
        if (fabs(g2->data[nx + k] - want[k]) > 1e-4 * (1 + fabs(want[k])))
            fail_msg("table gradient at %d: %g vs %g", k, (double)g2->data[nx + k], want[k]);
    tc_step_reset();
    tc_tensor_free(g1);
    tc_tensor_free(g2);
    tc_tensor_free(x);
    tc_tensor_free(table);
    tc_tensor_free(idt);
}

/* ---- views share memory; empty and scalar edge cases -------------------------------------- */
static void views_and_edges(void **state)
{
    (void)state;
    tc_scalar v[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    tc_tensor *x = tc_copy_of(v, TC_SHAPE(3, 4));
    tc_tensor *s = tc_slice(x, (int64_t[]){2, 3}, (int64_t[]){-4, -5}, (int64_t[]){-1, -2}); /* x[2::-1, 3::-2] */
    tc_assert_ok(s);
    assert_ptr_equal(s->storage, x->storage); /* a view, no copy */
    tc_scalar es[6] = {11, 9, 7, 5, 3, 1};
    tc_assert_close(s, tc_copy_of(es, TC_SHAPE(3, 2)), 0, 0);
    /* empty slices (start past end) and narrow with a negative start */
    tc_tensor *empty = tc_slice(x, (int64_t[]){2, 0}, (int64_t[]){1, 4}, NULL);
    tc_assert_ok(empty);
    assert_int_equal(empty->shape[0], 0);
    tc_tensor *nw = tc_narrow(x, -1, -2, 2);
    tc_scalar en[6] = {2, 3, 6, 7, 10, 11};
    tc_assert_close(nw, tc_copy_of(en, TC_SHAPE(3, 2)), 0, 0);
    /* split parts are views */
    tc_tensor *parts[2];
    assert_int_equal(tc_split(x, 0, 2, (int64_t[]){1, 2}, parts), TC_OK);
    assert_ptr_equal(parts[1]->data, x->data + 4);
    /* concat of one input copies it; size-0 parts are allowed */
    tc_tensor *c1 = tc_concat(1, &x, 0);
    tc_assert_close(c1, x, 0, 0);
    tc_tensor *c0 = tc_concat(2, (tc_tensor *[]){tc_zeros(TC_SHAPE(0, 4)), x}, 0);
    tc_assert_close(c0, x, 0, 0);
    /* pad, tile and expand of scalars and empty tensors */
    tc_tensor *sc = tc_scalar_tensor(2.5f);
    tc_tensor *ps = tc_pad(sc, NULL, NULL, TC_PAD_EDGE, 0);
    tc_assert_ok(ps);
    assert_int_equal(ps->ndim, 0);
    assert_true(ps->data[0] == 2.5f);
    tc_tensor *es2 = tc_expand(sc, 2, (int64_t[]){2, 3});
    tc_assert_close(es2, tc_full(TC_SHAPE(2, 3), 2.5f), 0, 0);
    tc_tensor *pe = tc_pad(tc_zeros(TC_SHAPE(0, 2)), (int64_t[]){1, 0}, (int64_t[]){1, 1}, TC_PAD_CONSTANT, 7);
    tc_assert_close(pe, tc_full(TC_SHAPE(2, 3), 7), 0, 0);
    tc_tensor *t0 = tc_tile(x, (int64_t[]){0, 2});
    tc_assert_ok(t0);
    assert_int_equal(tc_numel(t0), 0);
    /* gather with no indices, and gather of a 0-d index */
    tc_tensor *g0 = tc_gather(x, tc_zeros(TC_SHAPE(0)), 1);
    tc_assert_ok(g0);
    assert_int_equal(g0->ndim, 2);
    assert_int_equal(g0->shape[1], 0);
    tc_tensor *gs = tc_gather(x, tc_scalar_tensor(-1), 0);
    tc_assert_close(gs, tc_copy_of(v + 8, TC_SHAPE(4)), 0, 0);
    tc_step_reset();
}

/* ---- bad input -------------------------------------------------------------------------- */
static void bad_input(void **state)
{
    (void)state;
    tc_tensor *x = tc_zeros(TC_SHAPE(2, 3)), *parts[3];
    /* concat */
    tc_assert_error(tc_concat(2, (tc_tensor *[]){x, tc_zeros(TC_SHAPE(3, 3))}, 1), "concat", "[3, 3]", "[2, 3]");
    tc_assert_error(tc_concat(2, (tc_tensor *[]){x, tc_zeros(TC_SHAPE(2, 3, 1))}, 0), "concat", "[2, 3, 1]", "[2, 3]");
    tc_assert_error(tc_concat(2, (tc_tensor *[]){x, NULL}, 0), "concat", "input 1", "NULL");
    tc_assert_error(tc_concat(0, (tc_tensor *[]){x}, 0), "concat", "no inputs");
    tc_assert_error(tc_concat(1, (tc_tensor *[]){x}, 2), "concat", "axis 2", "[2, 3]");
    tc_assert_error(tc_concat(1, (tc_tensor *[]){tc_scalar_tensor(1)}, 0), "concat", "axis 0", "[]");
    /* split */
    assert_int_equal(tc_split(x, 1, 2, (int64_t[]){1, 1}, parts), TC_ERR_SHAPE);
    assert_non_null(strstr(tc_last_error(), "split"));
    assert_non_null(strstr(tc_last_error(), "[2, 3]"));
    assert_non_null(strstr(tc_last_error(), "add up to 2"));
    assert_int_equal(tc_split(x, 1, 2, (int64_t[]){4, -1}, parts), TC_ERR_SHAPE);
    assert_non_null(strstr(tc_last_error(), "split"));
    assert_int_equal(tc_split(x, -3, 1, (int64_t[]){2}, parts), TC_ERR_ARG);
    assert_non_null(strstr(tc_last_error(), "axis -3"));
    assert_int_equal(tc_split(NULL, 0, 1, (int64_t[]){2}, parts), TC_ERR_ARG);
    assert_non_null(strstr(tc_last_error(), "split"));
    assert_int_equal(tc_split(x, 0, 0, (int64_t[]){2}, parts), TC_ERR_ARG);
    /* slice / narrow */
    tc_assert_error(tc_slice(x, (int64_t[]){0, 0}, (int64_t[]){1, 1}, (int64_t[]){1, 0}), "slice", "step 0", "[2, 3]");
    tc_assert_error(tc_slice(NULL, (int64_t[]){0}, (int64_t[]){1}, NULL), "slice", "NULL");
    tc_assert_error(tc_slice(x, NULL, (int64_t[]){1, 1}, NULL), "slice", "NULL", "[2, 3]");
    tc_assert_error(tc_narrow(x, 1, 2, 2), "narrow", "[2, 3]", "start 2");
    tc_assert_error(tc_narrow(x, 2, 0, 1), "narrow", "axis 2", "[2, 3]");
    tc_assert_error(tc_narrow(x, 0, -3, 1), "narrow", "[2, 3]");
    tc_assert_error(tc_narrow(NULL, 0, 0, 1), "narrow", "NULL");
    /* pad */
    tc_assert_error(tc_pad(x, (int64_t[]){0, 3}, (int64_t[]){0, 0}, TC_PAD_REFLECT, 0), "pad", "reflect", "[2, 3]");
    tc_assert_error(tc_pad(x, (int64_t[]){0, 0}, (int64_t[]){2, 0}, TC_PAD_REFLECT, 0), "pad", "reflect", "[2, 3]");
    tc_assert_error(tc_pad(x, (int64_t[]){-1, 0}, (int64_t[]){0, 0}, TC_PAD_CONSTANT, 0), "pad", "negative", "[2, 3]");
    tc_assert_error(tc_pad(x, (int64_t[]){0, 0}, (int64_t[]){0, 0}, (tc_pad_mode)7, 0), "pad", "mode", "[2, 3]");
    tc_assert_error(tc_pad(tc_zeros(TC_SHAPE(0, 2)), (int64_t[]){1, 0}, (int64_t[]){0, 0}, TC_PAD_EDGE, 0), "pad",
                    "edge", "[0, 2]");
    tc_assert_error(tc_pad(x, NULL, (int64_t[]){0, 0}, TC_PAD_CONSTANT, 0), "pad", "NULL", "[2, 3]");
    tc_assert_error(tc_pad(NULL, (int64_t[]){0}, (int64_t[]){0}, TC_PAD_CONSTANT, 0), "pad", "NULL");
    /* tile / expand */
    tc_assert_error(tc_tile(x, (int64_t[]){1, -2}), "tile", "negative", "[2, 3]");
    tc_assert_error(tc_tile(x, NULL), "tile", "NULL", "[2, 3]");
    tc_assert_error(tc_tile(NULL, (int64_t[]){1}), "tile", "NULL");
    tc_assert_error(tc_expand(x, 2, (int64_t[]){4, 3}), "expand", "[2, 3]", "[4, 3]");
    tc_assert_error(tc_expand(x, 3, (int64_t[]){5, 2, 2}), "expand", "[2, 3]", "[5, 2, 2]");
    tc_assert_error(tc_expand(x, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 2, 3}), "expand", "rank 9", "[2, 3]");
    tc_assert_error(tc_expand(NULL, 1, (int64_t[]){1}), "expand", "NULL");
    /* gather */
    tc_assert_error(tc_gather(x, tc_full(TC_SHAPE(1), 2), 0), "gather", "index 2", "[2, 3]");
    tc_assert_error(tc_gather(x, tc_full(TC_SHAPE(2), -4), 1), "gather", "index -4", "[2, 3]");
    tc_assert_error(tc_gather(x, tc_full(TC_SHAPE(1), 0.5f), 1), "gather", "whole", "[2, 3]");
    tc_assert_error(tc_gather(x, tc_full(TC_SHAPE(1), 0), 2), "gather", "axis 2", "[2, 3]");
    tc_assert_error(tc_gather(NULL, x, 0), "gather", "table", "NULL");
    tc_assert_error(tc_gather(x, NULL, 0), "gather", "indices", "NULL", "[2, 3]");
    tc_assert_error(tc_gather(tc_zeros(TC_SHAPE(2, 1, 1, 1, 1, 1, 1)), tc_zeros(TC_SHAPE(1, 1, 1)), 0), "gather",
                    "[2, 1, 1, 1, 1, 1, 1]", "[1, 1, 1]");
    /* errors propagate through chains */
    tc_assert_error(tc_concat(2, (tc_tensor *[]){x, tc_slice(x, (int64_t[]){0, 0}, (int64_t[]){1, 1}, (int64_t[]){0, 1})},
                              0),
                    "concat", "NULL");
    tc_step_reset();
}

/* contiguous inputs are copied by result rows in one region (concat.c):
 * channels-last branch outputs of odd channel counts joined on the last axis
 * and on axis 1, small (one thread) and large (split over the pool), at 1
 * and 2 threads, against per-element loops */
static void concat_rows_against_loops(void **state)
{
    (void)state;
    static const int64_t C[4] = {3, 17, 1, 40};
    int saved = tc_num_threads();
    for (int threads = 1; threads <= 2; threads++) {
        tc_set_num_threads(threads);
        for (int big = 0; big < 2; big++)
            for (int axis = 1; axis <= 3; axis += 2) {
                int64_t N = big ? 3 : 1, H = big ? 19 : 2, W = big ? 23 : 3;
                tc_tensor *xs[4];
                int64_t total = 0;
                for (int i = 0; i < 4; i++) {
                    int64_t sh[4] = {N, H, W, C[i]};
                    if (axis == 1) sh[1] = C[i], sh[3] = 5;
                    xs[i] = tc_test_uniform(&rng, 4, sh, -1, 1);
                    total += C[i];
                }
                tc_tensor *y = tc_concat(4, xs, axis);
                tc_assert_ok(y);
                assert_int_equal(y->shape[axis], total);
                int64_t at = 0;
                for (int i = 0; i < 4; i++) {
                    const tc_tensor *x = xs[i];
                    for (int64_t e = 0; e < tc_numel(x); e++) {
                        int64_t idx[4], r = e, off = 0;
                        for (int d = 3; d >= 0; d--) idx[d] = r % x->shape[d], r /= x->shape[d];
                        idx[axis] += at;
                        for (int d = 0; d < 4; d++) off += idx[d] * y->strides[d];
                        if (memcmp(&y->data[off], &x->data[e], sizeof(tc_scalar)))
                            fail_msg("threads %d big %d axis %d input %d value %lld", threads, big, axis, i, (long long)e);
                    }
                    at += C[i];
                }
                tc_step_reset();
            }
    }
    tc_set_num_threads(saved);
}

int main(void)
{
    rng = tc_rng_new(5);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_fixtures), cmocka_unit_test(large_forward), cmocka_unit_test(thread_determinism),
        cmocka_unit_test(views_and_edges),  cmocka_unit_test(bad_input), cmocka_unit_test(concat_rows_against_loops),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
