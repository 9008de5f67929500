/* The fused LSTM cell: from the gate pre-activations g = x W + h U + b
 * [B, 4H] and the previous cell state c [B, H] to [h' | c'] [B, 2H], in one
 * pass, with one backward. It replaces a dozen element-wise ops per time
 * step (each a pass over memory and a tape node). Gate blocks may be in
 * any order (order[k]: the block of gate k in i, f, c, o). */
#include "broadcast.h" /* vmath.h: tc_vsigmoid, tc_vtanh */

typedef struct {
    int64_t B, H;
    int order[4];
    tc_scalar forget_bias;
    tc_scalar *act;     /* [B, 4H]: i, f, c~, o after their activations */
    tc_scalar *tanh_c;  /* [B, H] */
    const tc_scalar *c_prev;
} cell_saved;


typedef struct {
    cell_saved *s;
    const tc_scalar *g;
    tc_scalar *y;
    const tc_scalar *gy;
    tc_scalar *gg, *gc;
    bool gg_fresh, gc_fresh; /* uninitialised gradients: written, not added to */
} cell_job;

static void forward_rows(void *ctx, int64_t lo, int64_t hi)
{
    cell_job *j = ctx;
    const cell_saved *s = j->s;
    int64_t H = s->H;
    for (int64_t b = lo; b < hi; b++) {
        const tc_scalar *g = j->g + b * 4 * H, *c = s->c_prev + b * H;
        tc_scalar *a = s->act + b * 4 * H, *h_out = j->y + b * 2 * H, *c_out = h_out + H, *tc_ = s->tanh_c + b * H;
        const tc_scalar *gi = g + s->order[0] * H, *gf = g + s->order[1] * H, *gc = g + s->order[2] * H, *go = g + s->order[3] * H;
        for (int64_t k = 0; k < H; k++) {
            tc_scalar i = tc_vsigmoid(gi[k]), f = tc_vsigmoid(gf[k] + s->forget_bias), cc = tc_vtanh(gc[k]), o = tc_vsigmoid(go[k]);
            tc_scalar cn = f * c[k] + i * cc, t = tc_vtanh(cn);
            a[k] = i, a[H + k] = f, a[2 * H + k] = cc, a[3 * H + k] = o;
            tc_[k] = t;
            c_out[k] = cn;
            h_out[k] = o * t;
        }
    }
}

/* Fused cell; NULL on bad shapes. */
tc_tensor *tc_lstm_cell_fused(tc_tensor *g, tc_tensor *c, const int *order, tc_scalar forget_bias)
{
    TC_CHECK(g && c, TC_ERR_ARG, "lstm_cell: NULL input");
    TC_CHECK(g->ndim == 2 && c->ndim == 2 && g->shape[0] == c->shape[0] && g->shape[1] == 4 * c->shape[1], TC_ERR_SHAPE,
             "lstm_cell: gates %s do not fit cell state %s (need [B, 4H] and [B, H])", TC_SHP(g), TC_SHP(c));
    int64_t B = g->shape[0], H = c->shape[1];
    cell_saved s = {B, H, {order[0], order[1], order[2], order[3]}, forget_bias};
    s.act = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * 4 * H + 1));
    s.tanh_c = tc_arena_alloc(sizeof(tc_scalar) * (size_t)(B * H + 1));
    s.c_prev = tc_packed(c);
    const tc_scalar *gd = tc_packed(g);
    tc_tensor *y = tc_result(2, (int64_t[]){B, 2 * H});
    if (!s.act || !s.tanh_c || !s.c_prev || !gd || !y) return NULL;
    cell_job j = {&s, gd, y->data, NULL, NULL, NULL};
    tc_parallel_for(B, 1 + 4096 / (H + 1), forward_rows, &j);
    tc_node *nd = tc_record(TC_OP_lstm_cell, y, 2, (tc_tensor *[]){g, c}, sizeof s);
    if (nd) memcpy(nd->saved, &s, sizeof s);
    return y;
}

static void backward_rows(void *ctx, int64_t lo, int64_t hi)
{
    cell_job *j = ctx;
    const cell_saved *s = j->s;
    int64_t H = s->H;
    for (int64_t b = lo; b < hi; b++) {
        const tc_scalar *a = s->act + b * 4 * H, *t = s->tanh_c + b * H, *c = s->c_prev + b * H;
        const tc_scalar *dh = j->gy + b * 2 * H, *dcn = dh + H;
        tc_scalar *dg = j->gg ? j->gg + b * 4 * H : NULL, *dc = j->gc ? j->gc + b * H : NULL;
        for (int64_t k = 0; k < H; k++) {
            tc_scalar i = a[k], f = a[H + k], cc = a[2 * H + k], o = a[3 * H + k];
            tc_scalar dct = dcn[k] + dh[k] * o * (1 - t[k] * t[k]); /* total gradient of c' */
            if (dg) {
                tc_scalar *d0 = dg + s->order[0] * H + k, *d1 = dg + s->order[1] * H + k;
                tc_scalar *d2 = dg + s->order[2] * H + k, *d3 = dg + s->order[3] * H + k;
                tc_scalar v0 = dct * cc * i * (1 - i), v1 = dct * c[k] * f * (1 - f), v2 = dct * i * (1 - cc * cc);
                tc_scalar v3 = dh[k] * t[k] * o * (1 - o);
                if (j->gg_fresh) *d0 = v0, *d1 = v1, *d2 = v2, *d3 = v3;
                else *d0 += v0, *d1 += v1, *d2 += v2, *d3 += v3;
            }
            if (dc) {
                if (j->gc_fresh) dc[k] = dct * f;
                else dc[k] += dct * f;
            }
        }
    }
}

tc_status tc_backward_lstm_cell(tc_node *n, const tc_tensor *gy)
{
    cell_saved *s = n->saved;
    bool fg, fc; /* every element of a first gradient is written by backward_rows */
    tc_tensor *gg = tc_grad_for_overwrite(n->inputs[0], &fg);
    tc_tensor *gc = n->inputs[1] == n->inputs[0] ? tc_grad_for(n->inputs[1]) : tc_grad_for_overwrite(n->inputs[1], &fc);
    if (n->inputs[1] == n->inputs[0]) fc = false;
    if (!gg && !gc) return TC_OK;
    cell_job j = {s, NULL, NULL, gy->data, gg ? gg->data : NULL, gc ? gc->data : NULL, fg, fc};
    tc_parallel_for(s->B, 1 + 4096 / (s->H + 1), backward_rows, &j);
    return TC_OK;
}
