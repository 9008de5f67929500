/* TimeDistributed: applies a layer to every time step of a [batch, time,
 * ...] input (Keras' wrapper): the steps are folded into the batch, the
 * layer runs once, the result is unfolded. Dense already acts per step on a
 * 3-D input; the wrapper gives Keras' names and summary, and works for any
 * layer (a Conv2D per video frame). The inner layer's weights move into
 * the wrapper with their own names (time_distributed/kernel, as Keras). */
#include "layer.h"

static tc_status td_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    tc_layer *r = l->inner[0];
    if (n_in != 1 || in->ndim < 2)
        return tc_error(TC_ERR_SHAPE, "%s (TimeDistributed): input %s must be (timesteps, ...)", l->name,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    tc_shp step = {in->ndim - 1}, outs[TC_LAYER_MAX_OUTPUTS] = {{0}};
    for (int i = 1; i < in->ndim; i++) step.d[i - 1] = in->d[i];
    snprintf(r->name, sizeof r->name, "%s", l->name);
    if (r->ops->retype) r->ops = r->ops->retype(r, 1, &step);
    if (r->ops->build(r, 1, &step, outs, rng) != TC_OK) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        return tc_error(tc_last_status(), "%s (TimeDistributed): %s", l->name, inner);
    }
    const tc_shp o = outs[0];
    if (r->n_out > 1) return tc_error(TC_ERR_ARG, "%s (TimeDistributed): the inner layer has %d outputs; it must have one", l->name, r->n_out);
    if (o.ndim + 1 >= TC_MAX_DIMS) return tc_error(TC_ERR_SHAPE, "%s (TimeDistributed): output rank too high", l->name);
    r->built = true;
    r->out[0] = o;
    for (int i = 0; i < r->n_weights; i++) {
        l->w[i] = r->w[i];
        l->w_trainable[i] = r->w_trainable[i];
        memcpy(l->wname[i], r->wname[i], sizeof l->wname[i]);
    }
    l->n_weights = r->n_weights;
    r->n_weights = 0; /* owned by the wrapper now; r->w still points at them */
    out->ndim = o.ndim + 1;
    out->d[0] = in->d[0];
    for (int i = 0; i < o.ndim; i++) out->d[i + 1] = o.d[i];
    return TC_OK;
}

static tc_tensor *td_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    tc_layer *r = l->inner[0];
    const tc_tensor *in = x[0];
    int64_t folded[TC_MAX_DIMS], B = in->shape[0], T = in->shape[1];
    folded[0] = B * T;
    for (int i = 2; i < in->ndim; i++) folded[i - 1] = in->shape[i];
    tc_tensor *y = r->ops->call(r, 1, (tc_tensor *[]){tc_reshape(x[0], in->ndim - 1, folded)}, training);
    if (!y) return NULL;
    int64_t unfolded[TC_MAX_DIMS] = {B, T};
    for (int i = 1; i < y->ndim; i++) unfolded[i + 1] = y->shape[i];
    return tc_reshape(y, y->ndim + 1, unfolded);
}

static const tc_layer_ops td_ops = {"TimeDistributed", "time_distributed", td_build, td_call, NULL, TC_MASK_PASS, NULL, NULL};

tc_layer *tc_time_distributed(tc_layer *layer, const char *name)
{
    if (!layer || layer->built || layer->owned || !layer->ops->call) {
        tc_layer_ctor_error("TimeDistributed: needs a new layer with one output (Dense, Conv2D, ...)%s%s",
                            layer ? ", not " : "", layer ? layer->ops->type : "");
        if (layer && !layer->owned) tc_layer_free(layer);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&td_ops, name);
    if (!l) return NULL;
    l->inner[0] = layer;
    layer->owned = true; /* freed with the wrapper */
    if (layer->has_input_shape) { /* a first layer's input shape is per step; the wrapper's needs the time axis */
        tc_layer_ctor_error("TimeDistributed: give the input shape (timesteps, ...) to the model, not to the inner layer");
        tc_layer_free(l);
        return NULL;
    }
    return l;
}
