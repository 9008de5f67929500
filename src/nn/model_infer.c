/* The inference rewrite of a layer model (tc_model_prepare_inference, nn.h),
 * the layer-API counterpart of the ONNX importer's (src/io/onnx_fuse.c).
 * A chain of calls
 *     Conv1D/2D/3D or SeparableConv2D (no activation of its own)
 *     [-> BatchNormalization] [-> Add with one other value] [-> ReLU Activation]
 * of at least two calls, where each value inside the chain is read by the
 * next call only (never a model output, never masked), runs as one
 * convolution: the BatchNormalization folded into a copy of the kernel and
 * bias (in double: s = gamma / sqrt(var + eps), kernel * s, (bias - mean) *
 * s + beta), the Add and the ReLU as the convolution's epilogue
 * (tc_conv_params.residual / .act, the same float operations as tc_add and
 * tc_relu). The layers and their weights stay as they are (summary,
 * checkpoints and weight files see the model unchanged); the fused chain
 * runs in place of the chain's last call, where the residual has been
 * computed too (Keras' layer order puts a block's shortcut after its last
 * convolution).
 * Per run, a chain runs as it is instead when the run trains (which also
 * discards the plan: its folded copies would go stale), when a value inside
 * it is asked for (tc_model_forward_to a BatchNormalization), when the run
 * stops inside it, or when gradients are recorded for any of its weights.
 * A folded kernel is also packed once into the GEMM's panels
 * (tc_conv_weights_prepare, same bits as packing it per call): 9% of a
 * batch-1 ResNet50 went to packing kernels on one thread. The layer's own
 * kernel (no BatchNormalization) is not packed: it may change under the
 * plan (it is trainable), the copies cannot. A pack is passed only while
 * no gradient is recorded through the convolution, so no tape ever keeps
 * a pointer to panels that tc_infer_free releases.
 * With a reduced precision (tc_model_prepare_inference_prec: bf16, int8)
 * every chain's kernel is packed in it, the layer's own kernel too (the
 * caller promises frozen weights, as for an ONNX model's initializers; the
 * pack is still ignored for a kernel that requires a gradient), and a
 * convolution outside any chain runs as a chain of its own, its own ReLU
 * (VGG's convolutions carry one) as the epilogue. */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int head, bn, add, relu, tail; /* calls (-1: not in the chain) */
    int res;                       /* the Add's other input value, -1: none */
    tc_tensor *kernel, *bias;      /* folded copies, or the layer's own (not owned) when no BatchNormalization */
    tc_conv_weights *packed;       /* the kernel's panels (owned), or NULL */
    bool own_relu;                 /* reduced precision: a convolution with its own ReLU, alone (VGG's) */
    bool owns;                     /* kernel and bias are copies (folded, or taken for a reduced precision) */
} chain;

struct tc_infer_plan {
    int n_chains;
    chain *chains;
    int *chain_of; /* per call: the chain it belongs to, -1: none */
    int64_t fused_runs;
    int n_packed;   /* chains with a pack */
    bool no_pack;   /* tc_model_inference_use_packed(m, false): run without the packs */
};

void tc_infer_free(struct tc_infer_plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_chains; i++) {
        tc_conv_weights_free(p->chains[i].packed);
        if (p->chains[i].owns) {
            tc_tensor_free(p->chains[i].kernel);
            tc_tensor_free(p->chains[i].bias);
        }
    }
    free(p->chains);
    free(p->chain_of);
    free(p);
}

void tc_model_drop_inference(tc_model *m)
{
    if (!m) return;
    tc_infer_free(m->infer);
    m->infer = NULL;
}

int64_t tc_model_inference_fused_runs(const tc_model *m) { return m && m->infer ? m->infer->fused_runs : 0; }

int tc_model_inference_use_packed(tc_model *m, bool on)
{
    if (!m || !m->infer) return 0;
    m->infer->no_pack = !on;
    return on ? m->infer->n_packed : 0;
}

static bool is_type(const tc_layer *l, const char *type) { return !strcmp(l->ops->type, type); }

/* the one call that reads value v, if exactly one does, once, v is no
 * model output and carries no mask, and that call is in no chain yet; -1 otherwise */
static int sole_reader(const tc_model *m, const int *uses, const int *taken, int v)
{
    if (uses[v] != 1 || m->g.values[v].mask_from >= 0) return -1;
    for (int c = 0; c < m->g.n_calls; c++)
        for (int i = 0; i < m->g.calls[c].n_in; i++)
            if (m->g.calls[c].in[i] == v) return taken[c] < 0 ? c : -1;
    return -1;
}

/* the layer is called once in the model (a shared layer's weights serve other calls too) */
static bool called_once(const tc_model *m, const tc_layer *l)
{
    int n = 0;
    for (int c = 0; c < m->g.n_calls; c++) n += m->g.calls[c].layer == l;
    return n == 1;
}

/* a long-lived copy of t's values (NULL: error set) */
static tc_tensor *copy_of(const tc_tensor *t)
{
    tc_tensor *c = tc_tensor_new(t->ndim, t->shape);
    if (c && tc_read_values(t, c->data) != TC_OK) {
        tc_tensor_free(c);
        return NULL;
    }
    return c;
}

/* kernel and bias with BatchNormalization bn folded in (new long-lived tensors) */
static tc_status fold(const tc_layer *conv, int ki, const tc_layer *bn, tc_tensor **kernel, tc_tensor **bias)
{
    const tc_tensor *w = conv->w[ki];
    const tc_tensor *b = conv->o.conv.no_bias ? NULL : conv->w[ki + 1];
    int k = 0;
    const tc_tensor *gamma = bn->o.bn.no_scale ? NULL : bn->w[k++];
    const tc_tensor *beta = bn->o.bn.no_center ? NULL : bn->w[k++];
    const tc_tensor *mean = bn->w[k], *var = bn->w[k + 1];
    int64_t F = w->shape[w->ndim - 1], n = tc_numel(w);
    if (tc_numel(mean) != F) return tc_error(TC_ERR_SHAPE, "prepare_inference: %s has %lld channels, %s %lld", conv->name,
                                             (long long)F, bn->name, (long long)tc_numel(mean));
    *kernel = tc_tensor_new(w->ndim, w->shape);
    *bias = tc_tensor_new(1, &F);
    double *s = malloc(sizeof *s * (size_t)F);
    if (!*kernel || !*bias || !s) {
        tc_tensor_free(*kernel);
        tc_tensor_free(*bias);
        free(s);
        return tc_error(TC_ERR_MEMORY, "prepare_inference: out of memory");
    }
    const tc_scalar *wd = tc_packed(w), *bd = b ? tc_packed(b) : NULL, *gd = gamma ? tc_packed(gamma) : NULL,
                    *betad = beta ? tc_packed(beta) : NULL, *md = tc_packed(mean), *vd = tc_packed(var);
    for (int64_t f = 0; f < F; f++) {
        s[f] = (gd ? (double)gd[f] : 1.0) / sqrt((double)vd[f] + bn->o.bn.eps);
        (*bias)->data[f] = (tc_scalar)(((bd ? (double)bd[f] : 0.0) - (double)md[f]) * s[f] + (betad ? (double)betad[f] : 0.0));
    }
    for (int64_t i = 0; i < n; i++) (*kernel)->data[i] = (tc_scalar)((double)wd[i] * s[i % F]); /* [..., F]: F last */
    free(s);
    return TC_OK;
}

/* The chain that starts at call c, if there is one worth fusing; calls
 * already in a chain (taken[call] >= 0: an Add that a block's shortcut
 * convolution, met first, took with the main path as its residual) are not
 * taken again. */
/* The kernel index of a convolution the rewrite may run, counting one with
 * its own ReLU (which the epilogue then applies) when own_relu allows it */
static int chain_kernel_index(const tc_layer *l, bool own_relu)
{
    if (!own_relu || l->act != TC_RELU) return tc_conv_layer_kernel_index(l);
    tc_layer linear = *l; /* the same layer seen without its activation */
    linear.act = TC_LINEAR;
    return tc_conv_layer_kernel_index(&linear);
}

/* lone (reduced precision, where packing the kernel is the point): a
 * convolution is a chain of its own too, with its own ReLU as the epilogue */
static bool find_chain(const tc_model *m, const int *uses, const int *taken, int c, bool lone, chain *ch)
{
    const call *k = &m->g.calls[c];
    if (k->n_in != 1 || k->n_out != 1 || chain_kernel_index(k->layer, lone) < 0 || !called_once(m, k->layer))
        return false;
    *ch = (chain){.head = c, .bn = -1, .add = -1, .relu = -1, .tail = c, .res = -1};
    if (k->layer->act == TC_RELU) { /* only with lone (chain_kernel_index) */
        ch->own_relu = true;
        return true;
    }
    int v = k->first_out, r = sole_reader(m, uses, taken, v);
    const call *n = r >= 0 ? &m->g.calls[r] : NULL;
    if (n && is_type(n->layer, "BatchNormalization") && called_once(m, n->layer)) {
        ch->bn = ch->tail = r;
        v = n->first_out;
        r = sole_reader(m, uses, taken, v);
        n = r >= 0 ? &m->g.calls[r] : NULL;
    }
    if (n && is_type(n->layer, "Add") && n->n_in == 2) {
        int other = n->in[0] == v ? n->in[1] : n->in[0];
        if (other != v && m->g.values[other].mask_from < 0) {
            ch->add = ch->tail = r;
            ch->res = other;
            v = n->first_out;
            r = sole_reader(m, uses, taken, v);
            n = r >= 0 ? &m->g.calls[r] : NULL;
        }
    }
    if (n && is_type(n->layer, "Activation") && n->layer->act == TC_RELU) ch->relu = ch->tail = r;
    return ch->tail != c || lone;
}

tc_status tc_model_prepare_inference(tc_model *m, int *folded, int *fused)
{
    return tc_model_prepare_inference_prec(m, TC_PRECISION_FP32, folded, fused);
}

tc_status tc_model_prepare_inference_prec(tc_model *m, tc_precision prec, int *folded, int *fused)
{
    if (folded) *folded = 0;
    if (fused) *fused = 0;
    if (!m) return tc_error(TC_ERR_ARG, "prepare_inference: model is NULL");
    tc_model_drop_inference(m);
    struct tc_infer_plan *p = calloc(1, sizeof *p);
    int *uses = calloc((size_t)m->g.n_values + 1, sizeof *uses);
    if (p) p->chain_of = malloc(sizeof *p->chain_of * ((size_t)m->g.n_calls + 1));
    if (p) p->chains = calloc((size_t)m->g.n_calls + 1, sizeof *p->chains);
    if (!p || !uses || !p->chain_of || !p->chains) {
        free(uses);
        tc_infer_free(p);
        return tc_error(TC_ERR_MEMORY, "prepare_inference: out of memory");
    }
    for (int c = 0; c < m->g.n_calls; c++) {
        p->chain_of[c] = -1;
        for (int i = 0; i < m->g.calls[c].n_in; i++) uses[m->g.calls[c].in[i]]++;
    }
    for (int i = 0; i < m->n_outputs; i++) uses[m->outputs[i]] += 2; /* never inside a chain */
    int n_folded = 0, n_fused = 0;
    for (int c = 0; c < m->g.n_calls; c++) {
        chain ch;
        const bool lone = prec != TC_PRECISION_FP32;
        if (p->chain_of[c] >= 0 || !find_chain(m, uses, p->chain_of, c, lone, &ch)) continue;
        tc_layer *conv = m->g.calls[c].layer;
        int ki = chain_kernel_index(conv, lone);
        if (ch.bn >= 0) {
            if (fold(conv, ki, m->g.calls[ch.bn].layer, &ch.kernel, &ch.bias) != TC_OK) {
                free(uses);
                tc_infer_free(p);
                return tc_last_status();
            }
            /* conv layers have no groups (conv_params); a depthwise or thin
             * kernel gets an object that packs nothing, which is harmless */
            ch.owns = true;
            ch.packed = tc_conv_weights_prepare_prec(ch.kernel, 1, prec);
            if (!ch.packed) {
                tc_tensor_free(ch.kernel);
                tc_tensor_free(ch.bias);
                free(uses);
                tc_infer_free(p);
                return tc_last_status();
            }
            p->n_packed++;
            n_folded++;
        } else {
            ch.kernel = conv->w[ki];
            ch.bias = conv->o.conv.no_bias ? NULL : conv->w[ki + 1];
            if (prec != TC_PRECISION_FP32) {
                /* copies that no gradient is required for (tc_conv ignores a pack of a
                 * kernel that requires one, as the layer's trainable kernel does) */
                if (!(ch.kernel = copy_of(ch.kernel)) || (ch.bias && !(ch.bias = copy_of(ch.bias))) ||
                    !(ch.packed = tc_conv_weights_prepare_prec(ch.kernel, 1, prec))) {
                    if (ch.kernel != conv->w[ki]) tc_tensor_free(ch.kernel);
                    if (ch.bias && ch.bias != conv->w[ki + 1]) tc_tensor_free(ch.bias);
                    free(uses);
                    tc_infer_free(p);
                    return tc_last_status();
                }
                ch.owns = true;
                p->n_packed++;
            }
        }
        n_fused += ch.add >= 0 || ch.relu >= 0;
        int id = p->n_chains++;
        p->chains[id] = ch;
        for (int j = 0; j < 4; j++) {
            int call_of[4] = {ch.head, ch.bn, ch.add, ch.relu};
            if (call_of[j] >= 0) p->chain_of[call_of[j]] = id;
        }
    }
    free(uses);
    m->infer = p;
    if (folded) *folded = n_folded;
    if (fused) *fused = n_fused;
    return TC_OK;
}

/* gradients would be recorded for a weight of one of the chain's layers */
static bool weights_need_grad(const tc_model *m, const chain *ch)
{
    if (!tc_grad_enabled()) return false;
    int calls[4] = {ch->head, ch->bn, ch->add, ch->relu};
    for (int j = 0; j < 4; j++) {
        const tc_layer *l = calls[j] >= 0 ? m->g.calls[calls[j]].layer : NULL;
        for (int i = 0; l && i < l->n_weights; i++)
            if (tc_requires_grad(l->w[i])) return true;
    }
    return false;
}

int *tc_infer_schedule(tc_model *m, bool training, int end, int n_want, const int *want)
{
    struct tc_infer_plan *p = m->infer;
    if (!p) return NULL;
    if (training) {
        tc_model_drop_inference(m);
        return NULL;
    }
    int *run_as = tc_arena_alloc(sizeof *run_as * ((size_t)m->g.n_calls + 1));
    if (!run_as) return NULL; /* then everything runs as it is */
    for (int c = 0; c < m->g.n_calls; c++) run_as[c] = -1;
    for (int i = 0; i < p->n_chains; i++) {
        const chain *ch = &p->chains[i];
        if (ch->tail >= end || weights_need_grad(m, ch)) continue;
        bool asked = false; /* a value inside the chain: the outputs of every call but the tail */
        int inner[3] = {ch->head, ch->bn, ch->add};
        for (int j = 0; j < 3 && !asked; j++)
            for (int w = 0; inner[j] >= 0 && inner[j] != ch->tail && w < n_want; w++)
                asked |= want[w] == m->g.calls[inner[j]].first_out;
        if (asked) continue;
        int calls[4] = {ch->head, ch->bn, ch->add, ch->relu};
        for (int j = 0; j < 4; j++)
            if (calls[j] >= 0) run_as[calls[j]] = -2;
        run_as[ch->tail] = ch->tail;
    }
    return run_as;
}

tc_tensor *tc_infer_run(tc_model *m, int c, tc_tensor *const *val)
{
    struct tc_infer_plan *p = m->infer;
    const chain *ch = &p->chains[p->chain_of[c]];
    const call *head = &m->g.calls[ch->head];
    tc_tensor *x = val[head->in[0]], *res = ch->res >= 0 ? val[ch->res] : NULL;
    p->fused_runs++;
    /* the pack only where no gradient is recorded (the tape would keep its pointer) */
    bool taped = tc_grad_enabled() && (tc_requires_grad(x) || tc_requires_grad(res));
    return tc_conv_layer_run(head->layer, x, ch->kernel, ch->bias,
                             ch->relu >= 0 || ch->own_relu ? TC_CONV_RELU : TC_CONV_ACT_NONE, res,
                             p->no_pack || taped ? NULL : ch->packed);
}
