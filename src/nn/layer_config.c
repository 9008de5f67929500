/* A layer's options read back (tc_layer_get_config): what translators such
 * as the ONNX exporter need, without nn's private structures. */
#include "layer.h"

static bool is(const tc_layer *l, const char *type) { return !strcmp(l->ops->type, type); }
static bool starts(const tc_layer *l, const char *prefix) { return !strncmp(l->ops->type, prefix, strlen(prefix)); }

tc_status tc_layer_get_config(const tc_layer *l, tc_layer_config *c)
{
    if (!l || !c) return tc_error(TC_ERR_ARG, "layer_get_config: NULL %s", l ? "config" : "layer");
    memset(c, 0, sizeof *c);
    c->act = l->act;
    c->spatial_rank = l->nsp;
    c->is_max = l->is_max;
    /* the union holds the member of the layer's type only */
    if (is(l, "Dense")) c->dense = l->o.dense;
    else if (starts(l, "Conv") || is(l, "DepthwiseConv2D") || is(l, "SeparableConv2D")) c->conv = l->o.conv;
    else if (starts(l, "MaxPooling") || starts(l, "AveragePooling")) c->pool = l->o.pool;
    else if (is(l, "Embedding")) c->emb = l->o.emb;
    else if (is(l, "BatchNormalization")) c->bn = l->o.bn;
    else if (is(l, "Concatenate") || is(l, "RepeatVector")) c->axis = l->o.axis;
    else if (starts(l, "ZeroPadding")) memcpy(c->pad, l->o.pad, sizeof c->pad);
    else if (is(l, "Dropout")) c->rate = l->o.rate;
    else if (is(l, "Masking")) c->mask_value = l->o.mask_value;
    else if (is(l, "Attention") || is(l, "AdditiveAttention")) {
        c->use_scale = l->o.attention.use_scale;
        c->causal = l->o.attention.causal;
    }
    return TC_OK;
}

const tc_layer *tc_layer_wrapped_backward(const tc_layer *l) { return l && is(l, "Bidirectional") ? l->inner[1] : NULL; }
