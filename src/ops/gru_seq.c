/* The fused GRU over a whole sequence, one tape node (the companion of
 * lstm_seq.c; the same layouts and the same reasons). Gates z, r, h~ in
 * blocks of H; h' = h~ + z (h - h~).
 *   reset_after (Keras 2, PyTorch, CuDNN): h~ = tanh(x_h + r * (h U_h + b_rh)),
 *     one GEMM per step for all three blocks;
 *   otherwise (TensorFlow's GRUCell): h~ = tanh(x_h + (r * h) U_h), a second,
 *     H x H GEMM per step once r is known.
 * Backward walks the steps in reverse (one or two GEMMs each) and forms the
 * recurrent kernel's gradient as one product over all steps at the end.
 *
 * Layouts (b: batch row, t: time step, G = 3H):
 *   xw  [B, T, G]   x W + b_input
 *   hp  [B, T, H]   the state before step t (in processing order)
 *   act [B, T, 4H]  z, r, h~, and q: r * h (reset_after false) or h U_h + b_rh
 *   y   [B*T + B, H]: rows b*T + t the outputs (mask * h), then the final h. */
#include "ops_internal.h"
#include "broadcast.h" /* TC_FOR_VEC, and vmath.h: tc_vsigmoid, tc_vtanh */

typedef struct {
    int64_t B, T, H;
    bool reset_after, reverse, has_h0, has_br;
    const tc_scalar *xw, *U, *br, *mask;
    tc_scalar *hp, *act;
} gru_saved;

typedef struct {
    const gru_saved *s;
    int64_t t, t_next;
    const tc_scalar *g;  /* [B, G] (reset_after) or [B, 2H]: h U for this step */
    tc_scalar *q;        /* [B, H] reset_after false: (r h) U_h of this step */
    tc_scalar *y;
    const tc_scalar *gy;
    tc_scalar *dh, *dG, *dR, *drh; /* dR: gradient of h U (reset_after) */
} gru_job;

static void sig_sum(tc_scalar *restrict a, const tc_scalar *restrict g, const tc_scalar *restrict xw,
                    const tc_scalar *restrict bias, int64_t n)
{
    if (bias) TC_FOR_VEC(k, n, a[k] = tc_vsigmoid(g[k] + xw[k] + bias[k]));
    else TC_FOR_VEC(k, n, a[k] = tc_vsigmoid(g[k] + xw[k]));
}

/* reset_after: q = h U_h + b_rh, h~ = tanh(x_h + r q) */
static void candidate_after(tc_scalar *restrict hh, tc_scalar *restrict q, const tc_scalar *restrict g,
                            const tc_scalar *restrict bias, const tc_scalar *restrict xh, const tc_scalar *restrict r, int64_t H)
{
    if (bias) TC_FOR_VEC(k, H, q[k] = g[k] + bias[k]);
    else memcpy(q, g, sizeof(tc_scalar) * (size_t)H);
    TC_FOR_VEC(k, H, hh[k] = tc_vtanh(xh[k] + r[k] * q[k])); /* one store per loop: what GCC vectorises */
}

static void candidate_before(tc_scalar *restrict hh, const tc_scalar *restrict g, const tc_scalar *restrict xh, int64_t H)
{
    TC_FOR_VEC(k, H, hh[k] = tc_vtanh(xh[k] + g[k]));
}

static void gru_update(const tc_scalar *restrict z, const tc_scalar *restrict hh, const tc_scalar *restrict hprev, tc_scalar m,
                       tc_scalar *restrict y, tc_scalar *restrict hn, int64_t H)
{
    TC_FOR_VEC(k, H, {
        tc_scalar h = hh[k] + z[k] * (hprev[k] - hh[k]);
        y[k] = m * h;
        hn[k] = hprev[k] + m * (h - hprev[k]);
    });
}

static void mul_into(tc_scalar *restrict out, const tc_scalar *restrict a, const tc_scalar *restrict b, int64_t n)
{
    TC_FOR_VEC(k, n, out[k] = a[k] * b[k]);
}

static tc_scalar *next_state(const gru_job *j, int64_t b)
{
    const gru_saved *s = j->s;
    return j->t_next >= 0 ? s->hp + (b * s->T + j->t_next) * s->H : j->y + (s->B * s->T + b) * s->H;
}

/* reset_after: everything of the step in one pass */
static void forward_after(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        const tc_scalar *g = j->g + b * G, *xw = s->xw + bt * G, *br = s->br;
        tc_scalar *a = s->act + bt * 4 * H;
        sig_sum(a, g, xw, br, 2 * H);
        candidate_after(a + 2 * H, a + 3 * H, g + 2 * H, br ? br + 2 * H : NULL, xw + 2 * H, a + H, H);
        gru_update(a, a + 2 * H, s->hp + bt * H, s->mask ? s->mask[bt] : 1, j->y + bt * H, next_state(j, b), H);
    }
}

/* reset_after false, first pass: z, r and r * h (the second GEMM's input) */
static void forward_gates(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        tc_scalar *a = s->act + bt * 4 * H;
        sig_sum(a, j->g + b * 2 * H, s->xw + bt * G, NULL, 2 * H);
        mul_into(a + 3 * H, a + H, s->hp + bt * H, H);
    }
}

/* reset_after false, second pass: h~ from (r h) U_h, and the new state */
static void forward_candidate(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        tc_scalar *a = s->act + bt * 4 * H;
        candidate_before(a + 2 * H, j->q + b * H, s->xw + bt * G + 2 * H, H);
        gru_update(a, a + 2 * H, s->hp + bt * H, s->mask ? s->mask[bt] : 1, j->y + bt * H, next_state(j, b), H);
    }
}

tc_tensor *tc_gru_seq_fused(tc_tensor *xw, tc_tensor *U, tc_tensor *br, tc_tensor *h0, tc_tensor *mask, bool reset_after,
                            bool reverse)
{
    TC_CHECK(xw && U, TC_ERR_ARG, "gru_seq: NULL input");
    TC_CHECK(xw->ndim == 3 && U->ndim == 2 && U->shape[1] == 3 * U->shape[0] && xw->shape[2] == U->shape[1], TC_ERR_SHAPE,
             "gru_seq: projections %s do not fit recurrent kernel %s (need [B, T, 3H] and [H, 3H])", TC_SHP(xw), TC_SHP(U));
    const int64_t B = xw->shape[0], T = xw->shape[1], H = U->shape[0], G = 3 * H;
    TC_CHECK(!br || (reset_after && br->ndim == 1 && br->shape[0] == G), TC_ERR_SHAPE,
             "gru_seq: recurrent bias %s must be [%lld] (reset_after only)", TC_SHP(br), (long long)G);
    TC_CHECK(!h0 || (h0->ndim == 2 && h0->shape[0] == B && h0->shape[1] == H), TC_ERR_SHAPE,
             "gru_seq: initial h %s must be [%lld, %lld]", TC_SHP(h0), (long long)B, (long long)H);
    TC_CHECK(!mask || (mask->ndim == 2 && mask->shape[0] == B && mask->shape[1] == T), TC_ERR_SHAPE,
             "gru_seq: mask %s must be [%lld, %lld]", TC_SHP(mask), (long long)B, (long long)T);
    gru_saved s = {B, T, H, reset_after, reverse, h0 != NULL, br != NULL};
    s.xw = tc_packed(xw);
    s.U = tc_packed(U);
    s.br = br ? tc_packed(br) : NULL;
    s.mask = mask ? tc_packed(mask) : NULL;
    const tc_scalar *h0d = h0 ? tc_packed(h0) : NULL;
    s.hp = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * T * H + 1));
    s.act = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(4 * B * T * H + 1));
    tc_scalar *g = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * G + 1));
    tc_scalar *q = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * H + 1));
    tc_tensor *y = tc_result(2, (int64_t[]){B * T + B, H});
    if (!s.xw || !s.U || (br && !s.br) || (mask && !s.mask) || (h0 && !h0d) || !s.hp || !s.act || !g || !q || !y) return NULL;
    tc_scalar *first = T ? s.hp + (reverse ? T - 1 : 0) * H : y->data; /* where h0 goes */
    for (int64_t b = 0; b < B; b++) {
        tc_scalar *dst = first + (T ? b * T * H : b * H);
        if (h0d) memcpy(dst, h0d + b * H, sizeof(tc_scalar) * (size_t)H);
        else memset(dst, 0, sizeof(tc_scalar) * (size_t)H);
    }
    for (int64_t k = 0; k < T; k++) {
        int64_t t = reverse ? T - 1 - k : k;
        gru_job j = {&s, t, k == T - 1 ? -1 : reverse ? t - 1 : t + 1, g, q, y->data, NULL, NULL, NULL, NULL, NULL};
        const tc_scalar *hp = s.hp + t * H;
        if (reset_after) {
            tc_gemm(false, false, B, G, H, 1, hp, T * H, s.U, G, 0, g, G);
            tc_parallel_for(B, 1 + 4096 / (H + 1), forward_after, &j);
        } else {
            tc_gemm(false, false, B, 2 * H, H, 1, hp, T * H, s.U, G, 0, g, 2 * H);
            tc_parallel_for(B, 1 + 4096 / (H + 1), forward_gates, &j);
            tc_gemm(false, false, B, H, H, 1, s.act + t * 4 * H + 3 * H, T * 4 * H, s.U + 2 * H, G, 0, q, H);
            tc_parallel_for(B, 1 + 4096 / (H + 1), forward_candidate, &j);
        }
    }
    tc_tensor *inputs[4] = {xw, U};
    int n_in = 2;
    if (br) inputs[n_in++] = br;
    if (h0) inputs[n_in++] = h0;
    tc_node *nd = tc_record(TC_OP_gru_seq, y, n_in, inputs, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

/* ---- backward -------------------------------------------------------------------- */
/* reset_after: dG (of xw), dR (of h U) and dh (carried part plus the direct z path) */
/* (Each loop stores to one array: the form GCC vectorises.) */
static void cell_back_after(const tc_scalar *restrict a, const tc_scalar *restrict hprev, const tc_scalar *restrict gy,
                            tc_scalar m, tc_scalar *restrict dh, tc_scalar *restrict dg, tc_scalar *restrict dr, int64_t H)
{
    const tc_scalar *restrict z = a, *restrict r = a + H, *restrict hh = a + 2 * H, *restrict q = a + 3 * H;
    tc_scalar *restrict dz = dg, *restrict drr = dg + H, *restrict dhp = dg + 2 * H; /* pre-activation gradients */
    TC_FOR_VEC(k, H, dz[k] = m * (dh[k] + gy[k]) * (hprev[k] - hh[k]) * z[k] * (1 - z[k]));
    TC_FOR_VEC(k, H, dhp[k] = m * (dh[k] + gy[k]) * (1 - z[k]) * (1 - hh[k] * hh[k]));
    TC_FOR_VEC(k, H, drr[k] = dhp[k] * q[k] * r[k] * (1 - r[k]));
    memcpy(dr, dg, sizeof(tc_scalar) * (size_t)(2 * H));
    tc_scalar *restrict drh = dr + 2 * H;
    TC_FOR_VEC(k, H, drh[k] = dhp[k] * r[k]);
    TC_FOR_VEC(k, H, dh[k] = (1 - m) * dh[k] + m * (dh[k] + gy[k]) * z[k]);
}

static void backward_after(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        cell_back_after(s->act + bt * 4 * H, s->hp + bt * H, j->gy + bt * H, s->mask ? s->mask[bt] : 1, j->dh + b * H,
                        j->dG + bt * G, j->dR + bt * G, H);
    }
}

/* reset_after false, first pass: dz, dh~ (into dG), the direct and carried parts of dh */
static void cell_back_candidate(const tc_scalar *restrict a, const tc_scalar *restrict hprev, const tc_scalar *restrict gy,
                                tc_scalar m, tc_scalar *restrict dh, tc_scalar *restrict dg, int64_t H)
{
    const tc_scalar *restrict z = a, *restrict hh = a + 2 * H;
    tc_scalar *restrict dz = dg, *restrict dhp = dg + 2 * H;
    TC_FOR_VEC(k, H, dz[k] = m * (dh[k] + gy[k]) * (hprev[k] - hh[k]) * z[k] * (1 - z[k]));
    TC_FOR_VEC(k, H, dhp[k] = m * (dh[k] + gy[k]) * (1 - z[k]) * (1 - hh[k] * hh[k]));
    TC_FOR_VEC(k, H, dh[k] = (1 - m) * dh[k] + m * (dh[k] + gy[k]) * z[k]);
}

/* second pass, once drh = dh~ U_h^T is known: dr and the path through r * h */
static void cell_back_reset(const tc_scalar *restrict a, const tc_scalar *restrict hprev, const tc_scalar *restrict drh,
                            tc_scalar *restrict dh, tc_scalar *restrict dgr, int64_t H)
{
    const tc_scalar *restrict r = a + H;
    TC_FOR_VEC(k, H, {
        dgr[k] = drh[k] * hprev[k] * r[k] * (1 - r[k]);
        dh[k] += drh[k] * r[k];
    });
}

static void backward_candidate(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        cell_back_candidate(s->act + bt * 4 * H, s->hp + bt * H, j->gy + bt * H, s->mask ? s->mask[bt] : 1, j->dh + b * H,
                            j->dG + bt * G, H);
    }
}

static void backward_reset(void *ctx, int64_t lo, int64_t hi)
{
    const gru_job *j = ctx;
    const gru_saved *s = j->s;
    const int64_t T = s->T, H = s->H, G = 3 * H;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t bt = b * T + j->t;
        cell_back_reset(s->act + bt * 4 * H, s->hp + bt * H, j->drh + b * H, j->dh + b * H, j->dG + bt * G + H, H);
    }
}


tc_status tc_backward_gru_seq(tc_node *n, const tc_tensor *gy)
{
    const gru_saved *s = n->saved;
    const int64_t B = s->B, T = s->T, H = s->H, G = 3 * H;
    int next = 2;
    tc_tensor *gxw = tc_grad_for(n->inputs[0]), *gU = tc_grad_for(n->inputs[1]);
    tc_tensor *gbr = s->has_br ? tc_grad_for(n->inputs[next++]) : NULL;
    tc_tensor *gh0 = s->has_h0 ? tc_grad_for(n->inputs[next]) : NULL;
    if (!gxw && !gU && !gbr && !gh0) return TC_OK;
    tc_scalar *dh = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * H + 1));
    tc_scalar *drh = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * H + 1));
    tc_scalar *dG = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * T * G + 1));
    tc_scalar *dR = s->reset_after ? tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * T * G + 1)) : dG;
    /* U^T [3H, H] once: the per-step products then run as NN GEMMs (faster in OpenBLAS than NT) */
    tc_scalar *Ut = T > 0 ? tc_arena_alloc(sizeof(tc_scalar) * (size_t)(G * H + 1)) : dh;
    if (!dh || !drh || !dG || !dR || !Ut) return tc_last_status();
    if (T > 0) tc_strided_apply(2, (int64_t[]){G, H}, Ut, (int64_t[]){H, 1}, s->U, (int64_t[]){1, G}, false);
    memcpy(dh, gy->data + B * T * H, sizeof(tc_scalar) * (size_t)(B * H));
    for (int64_t k = T - 1; k >= 0; k--) {
        int64_t t = s->reverse ? T - 1 - k : k;
        gru_job j = {s, t, -1, NULL, NULL, NULL, gy->data, dh, dG, dR, drh};
        if (s->reset_after) {
            tc_parallel_for(B, 1 + 4096 / (H + 1), backward_after, &j);
            tc_gemm(false, false, B, H, G, 1, dR + t * G, T * G, Ut, H, 1, dh, H);
        } else {
            tc_parallel_for(B, 1 + 4096 / (H + 1), backward_candidate, &j);
            tc_gemm(false, false, B, H, H, 1, dG + t * G + 2 * H, T * G, Ut + 2 * H * H, H, 0, drh, H);
            tc_parallel_for(B, 1 + 4096 / (H + 1), backward_reset, &j);
            tc_gemm(false, false, B, H, 2 * H, 1, dG + t * G, T * G, Ut, H, 1, dh, H);
        }
    }
    if (T > 0 && gU) {
        if (s->reset_after) {
            tc_gemm(true, false, H, G, B * T, 1, s->hp, H, dR, G, 1, gU->data, G);
        } else { /* z, r from h; h~ from r * h (saved in act's fourth block) */
            tc_gemm(true, false, H, 2 * H, B * T, 1, s->hp, H, dG, G, 1, gU->data, G);
            tc_gemm(true, false, H, H, B * T, 1, s->act + 3 * H, 4 * H, dG + 2 * H, G, 1, gU->data + 2 * H, G);
        }
    }
    if (T > 0) tc_accumulate_grad(gxw, dG, B * T * G);
    if (T > 0 && gbr) /* the recurrent bias: dR summed over all rows */
        tc_reduce_sum_into(dR, 2, (int64_t[]){B * T, G}, (bool[]){true, false}, 1.0, gbr->data, true);
    tc_accumulate_grad(gh0, dh, B * H);
    return TC_OK;
}
