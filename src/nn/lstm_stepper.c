/* The batch-1 LSTM step for generation loops (declared in rnn.h).
 *
 * tc_lstm_step builds a step from ops (two products, an add, the fused
 * cell), each a step tensor, and a product of one row goes through BLAS
 * GEMV on the row-major weights. Here the weights are prepared once:
 *   - the gate pre-activations are one product of [x, h] with the stacked
 *     [kernel; recurrent] (one-hot input: of h with recurrent, plus the
 *     kernel row of the id with the bias already added);
 *   - the stacked matrix is a tc_gemv plan whose panel q holds the columns
 *     of units 16q..16q+15 of the gates i, f, c, o (16 columns each), so the
 *     thread that computes panel q has everything the cell of those 16
 *     units needs: one parallel loop per step, each unit's state written by
 *     one thread (the same bits for any number of threads).
 * A step only reads the weights and writes the state: no allocation, no
 * tape. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "../core/vmath.h"
#include "tensorcook/rnn.h"

#include <math.h>
#include <stdlib.h>

#define UNITS 16 /* units per panel: 4 gates x 16 = TC_GEMV_PANEL columns */
_Static_assert(4 * UNITS == TC_GEMV_PANEL, "a panel holds the four gates of UNITS units");

struct tc_lstm_stepper {
    int64_t I, H, blocks;  /* blocks of UNITS units */
    bool one_hot;
    tc_scalar forget_bias, clip; /* clip: +inf when off */
    tc_gemv_plan *w;       /* [x; h] (or h for one-hot input) -> gates, panel layout */
    tc_scalar *base;       /* added to the product: bias [blocks * 64], or for one-hot
                              input kernel row + bias [I, blocks * 64], packed columns */
    tc_scalar *in;         /* the product's input vector [x, h] (or h) */
};

/* position of gate k (i, f, c, o) among the weight blocks, per tc_lstm_gates (as in rnn.c) */
static const int gate_block[3][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 2, 3, 1}};

void tc_lstm_stepper_free(tc_lstm_stepper *s)
{
    if (!s) return;
    tc_gemv_plan_free(s->w);
    free(s->base);
    free(s->in);
    free(s);
}

int64_t tc_lstm_stepper_units(const tc_lstm_stepper *s) { return s ? s->H : 0; }

tc_lstm_stepper *tc_lstm_stepper_new(const tc_tensor *kernel, const tc_tensor *recurrent, const tc_tensor *bias,
                                     const tc_lstm_params *params, bool one_hot_input)
{
    return tc_lstm_stepper_new_prec(kernel, recurrent, bias, params, one_hot_input, TC_PRECISION_FP32);
}

tc_lstm_stepper *tc_lstm_stepper_new_prec(const tc_tensor *kernel, const tc_tensor *recurrent, const tc_tensor *bias,
                                          const tc_lstm_params *params, bool one_hot_input, tc_precision prec)
{
    static const tc_lstm_params defaults = {0};
    const tc_lstm_params *p = params ? params : &defaults;
    if (!kernel || !recurrent) return tc_error(TC_ERR_ARG, "lstm_stepper: kernel and recurrent are required"), NULL;
    int64_t H = recurrent->ndim == 2 ? recurrent->shape[0] : -1;
    if (kernel->ndim != 2 || H < 1 || kernel->shape[0] < 1 || kernel->shape[1] != 4 * H || recurrent->shape[1] != 4 * H)
        return tc_error(TC_ERR_SHAPE, "lstm_stepper: kernel %s and recurrent %s do not fit (need [I, 4H] and [H, 4H])",
                        TC_SHP(kernel), TC_SHP(recurrent)),
               NULL;
    if (bias && (bias->ndim != 1 || bias->shape[0] != 4 * H))
        return tc_error(TC_ERR_SHAPE, "lstm_stepper: bias %s must be [%lld]", TC_SHP(bias), (long long)(4 * H)), NULL;
    if ((unsigned)p->gates > TC_GATES_IOFC)
        return tc_error(TC_ERR_ARG, "lstm_stepper: unknown gate order %d", (int)p->gates), NULL;
    if (p->hard_sigmoid) return tc_error(TC_ERR_UNSUPPORTED, "lstm_stepper: hard_sigmoid gates are not supported"), NULL;
    tc_lstm_stepper *s = calloc(1, sizeof *s);
    if (!s) return tc_error(TC_ERR_MEMORY, "lstm_stepper: out of memory"), NULL;
    s->I = kernel->shape[0], s->H = H, s->blocks = (H + UNITS - 1) / UNITS, s->one_hot = one_hot_input;
    s->forget_bias = (tc_scalar)p->forget_bias;
    s->clip = p->clip > 0 ? (tc_scalar)p->clip : (tc_scalar)INFINITY;
    int64_t width = s->blocks * TC_GEMV_PANEL, K = one_hot_input ? H : s->I + H;
    /* packed column -> column of the [., 4H] weights (-1: padding past H) */
    int64_t *cols = malloc(sizeof(int64_t) * (size_t)width);
    tc_step_mark mark = tc_step_get_mark();
    const tc_scalar *kd = tc_packed(kernel), *ud = tc_packed(recurrent), *bd = bias ? tc_packed(bias) : NULL;
    tc_scalar *stacked = one_hot_input ? NULL : malloc(sizeof(tc_scalar) * (size_t)(K * 4 * H));
    int64_t base_rows = one_hot_input ? s->I : 1;
    s->base = calloc((size_t)(base_rows * width), sizeof(tc_scalar));
    s->in = calloc((size_t)K, sizeof(tc_scalar));
    if (!cols || !kd || !ud || (bias && !bd) || (!one_hot_input && !stacked) || !s->base || !s->in) {
        tc_error(TC_ERR_MEMORY, "lstm_stepper: out of memory");
        goto fail;
    }
    for (int64_t pc = 0; pc < width; pc++) {
        int64_t q = pc / TC_GEMV_PANEL, gate = pc % TC_GEMV_PANEL / UNITS, unit = q * UNITS + pc % UNITS;
        cols[pc] = unit < H ? gate_block[p->gates][gate] * H + unit : -1;
    }
    for (int64_t r = 0; r < base_rows; r++)
        for (int64_t pc = 0; pc < width; pc++) {
            if (cols[pc] < 0) continue;
            /* one-hot: x @ kernel + bias is exactly kernel[id] + bias */
            tc_scalar k = one_hot_input ? kd[r * 4 * H + cols[pc]] : 0, b = bd ? bd[cols[pc]] : 0;
            s->base[r * width + pc] = one_hot_input ? k + b : b;
        }
    if (!one_hot_input) {
        memcpy(stacked, kd, sizeof(tc_scalar) * (size_t)(s->I * 4 * H));
        memcpy(stacked + s->I * 4 * H, ud, sizeof(tc_scalar) * (size_t)(H * 4 * H));
    }
    s->w = tc_gemv_plan_new_prec(K, 4 * H, one_hot_input ? ud : stacked, 4 * H, cols, width, prec);
    if (!s->w) goto fail;
    free(stacked);
    free(cols);
    tc_step_release(mark);
    return s;
fail:
    free(stacked);
    free(cols);
    tc_step_release(mark);
    tc_lstm_stepper_free(s);
    return NULL;
}

typedef struct {
    const tc_lstm_stepper *s;
    const tc_scalar *base; /* [blocks * 64] */
    tc_scalar *h, *c;
} step_job;

static inline tc_scalar clip_to(tc_scalar v, tc_scalar lim) { return v < -lim ? -lim : v > lim ? lim : v; }

/* The cell of one block of UNITS units from its gate pre-activations g
 * (i, f, c, o: UNITS each, bias included): fixed-length loops, so the
 * compiler makes them SIMD. */
static void cell_block(const tc_lstm_stepper *s, const tc_scalar *restrict g, const tc_scalar *restrict c_prev,
                       tc_scalar *restrict h_out, tc_scalar *restrict c_out)
{
    tc_scalar lim = s->clip, fb = s->forget_bias;
    for (int u = 0; u < UNITS; u++) {
        tc_scalar i = tc_vsigmoid(clip_to(g[u], lim)), f = tc_vsigmoid(clip_to(g[UNITS + u] + fb, lim));
        tc_scalar cc = tc_vtanh(clip_to(g[2 * UNITS + u], lim)), o = tc_vsigmoid(clip_to(g[3 * UNITS + u], lim));
        tc_scalar cn = f * c_prev[u] + i * cc;
        c_out[u] = cn;
        h_out[u] = o * tc_vtanh(cn);
    }
}

static void step_blocks(void *ctx, int64_t begin, int64_t end)
{
    step_job *j = ctx;
    const tc_lstm_stepper *s = j->s;
    _Alignas(64) tc_scalar g[TC_GEMV_PANEL];
    tc_scalar c_prev[UNITS], h_new[UNITS], c_new[UNITS];
    for (int64_t q = begin; q < end; q++) {
        tc_gemv_run_panels(s->w, s->in, g, q, q + 1);
        const tc_scalar *b = j->base + q * TC_GEMV_PANEL;
        for (int k = 0; k < TC_GEMV_PANEL; k++) g[k] = b[k] + g[k];
        int64_t u0 = q * UNITS, n = s->H - u0 < UNITS ? s->H - u0 : UNITS;
        memset(c_prev, 0, sizeof c_prev);
        memcpy(c_prev, j->c + u0, sizeof(tc_scalar) * (size_t)n);
        cell_block(s, g, c_prev, h_new, c_new);
        memcpy(j->h + u0, h_new, sizeof(tc_scalar) * (size_t)n);
        memcpy(j->c + u0, c_new, sizeof(tc_scalar) * (size_t)n);
    }
}

/* h and c are written by the blocks in place: the product reads s->in, a copy of h. */
static tc_status run_step(tc_lstm_stepper *s, const tc_scalar *base, tc_scalar *h, tc_scalar *c)
{
    memcpy(s->in + (s->one_hot ? 0 : s->I), h, sizeof(tc_scalar) * (size_t)s->H);
    step_job j = {s, base, h, c};
    tc_gemv_load_input(s->w, s->in); /* int8: x quantised once, before the blocks split it */
    tc_parallel_for(s->blocks, tc_gemv_grain(s->w), step_blocks, &j);
    return TC_OK;
}

tc_status tc_lstm_stepper_step(tc_lstm_stepper *s, const tc_scalar *x, tc_scalar *h, tc_scalar *c)
{
    if (!s || !x || !h || !c) return tc_error(TC_ERR_ARG, "lstm_stepper_step: NULL argument");
    if (s->one_hot) return tc_error(TC_ERR_STATE, "lstm_stepper_step: this stepper takes one-hot ids (lstm_stepper_step_id)");
    memcpy(s->in, x, sizeof(tc_scalar) * (size_t)s->I);
    return run_step(s, s->base, h, c);
}

tc_status tc_lstm_stepper_step_id(tc_lstm_stepper *s, int64_t id, tc_scalar *h, tc_scalar *c)
{
    if (!s || !h || !c) return tc_error(TC_ERR_ARG, "lstm_stepper_step_id: NULL argument");
    if (!s->one_hot) return tc_error(TC_ERR_STATE, "lstm_stepper_step_id: this stepper was made for dense inputs");
    if (id < 0 || id >= s->I)
        return tc_error(TC_ERR_ARG, "lstm_stepper_step_id: id %lld is not in [0, %lld)", (long long)id, (long long)s->I);
    return run_step(s, s->base + id * s->blocks * TC_GEMV_PANEL, h, c);
}
