/* Building a model from a Keras model_config (the JSON that Keras'
 * _serialize_model stores in the root attribute model_config):
 *   {"class_name": "Sequential", "config": {"name": ..., "layers": [...]}}
 *     (Keras 2.0/2.1: "config" is the list of layers itself)
 *   {"class_name": "Model" | "Functional", "config": {"name", "layers":
 *     [{"name", "class_name", "config", "inbound_nodes": [[[layer, node,
 *     tensor, kwargs], ...], ...]}], "input_layers", "output_layers"}}
 * Each layer's config becomes the tensorcook constructor's options; every
 * class or option tensorcook lacks is collected, and one error names them
 * all. Options that only matter for training from scratch (initialisers,
 * regularisers, constraints) are ignored. */
#include "keras_h5_internal.h"
#include "mismatch_list.h"

#include <stdarg.h>
#include <stdlib.h>

#include "tensorcook/rnn.h"

/* ---- JSON access (json null counts as absent) ------------------------------------------ */
static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) return NULL;
    return json_object_is_type(v, json_type_null) ? NULL : v;
}
static const char *jstr(json_object *o, const char *key, const char *def)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}
static int64_t jint(json_object *o, const char *key, int64_t def)
{
    json_object *v = jget(o, key);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ? json_object_get_int64(v)
                                                                                                      : def;
}
static double jdouble(json_object *o, const char *key, double def)
{
    json_object *v = jget(o, key);
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ? json_object_get_double(v)
                                                                                                      : def;
}
static bool jbool(json_object *o, const char *key, bool def)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}
/* a list of ints or one int (repeated n times); returns the count, 0 if absent, -1 if malformed */
static int jints(json_object *o, const char *key, int n, int *out)
{
    json_object *v = jget(o, key);
    if (!v) return 0;
    if (json_object_is_type(v, json_type_int)) {
        for (int k = 0; k < n; k++) out[k] = json_object_get_int(v);
        return n;
    }
    if (!json_object_is_type(v, json_type_array) || (int)json_object_array_length(v) > n) return -1;
    int m = (int)json_object_array_length(v);
    for (int k = 0; k < m; k++) {
        json_object *e = json_object_array_get_idx(v, (size_t)k);
        if (!json_object_is_type(e, json_type_int)) return -1;
        out[k] = json_object_get_int(e);
    }
    return m;
}

/* ---- layers --------------------------------------------------------------------------------- */
static bool activation(const char *name, tc_activation *a)
{
    static const struct {
        const char *keras;
        tc_activation tc;
    } map[] = {{"linear", TC_LINEAR}, {"relu", TC_RELU},         {"sigmoid", TC_SIGMOID}, {"tanh", TC_TANH},
               {"softmax", TC_SOFTMAX}, {"elu", TC_ELU},         {"softplus", TC_SOFTPLUS}};
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        if (!strcmp(name, map[k].keras)) {
            *a = map[k].tc;
            return true;
        }
    return false;
}

typedef struct {
    const char *name, *cls; /* for messages: "dense_1", "bidirectional_1/LSTM" */
    const char *ctor;       /* the name given to the constructor (NULL: a wrapped layer's) */
    tc_mismatches *pb;
    bool ok;
} ctx;

static void bad(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(ctx *c, const char *fmt, ...)
{
    char item[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    tc_mismatch(c->pb, "%s (%s): %s", c->name, c->cls, item);
    c->ok = false;
}

static tc_activation act_of(ctx *c, json_object *cfg, const char *key, const char *def)
{
    const char *s = jstr(cfg, key, def);
    tc_activation a = TC_LINEAR;
    if (!activation(s, &a)) bad(c, "%s '%s' is not supported", key, s);
    return a;
}

static tc_padding padding_of(ctx *c, json_object *cfg, bool causal_ok)
{
    const char *p = jstr(cfg, "padding", "valid");
    if (!strcmp(p, "valid")) return TC_VALID;
    if (!strcmp(p, "same")) return TC_SAME;
    if (!strcmp(p, "causal") && causal_ok) return TC_CAUSAL;
    bad(c, "padding '%s' is not supported", p);
    return TC_VALID;
}

static void channels_last(ctx *c, json_object *cfg)
{
    const char *df = jstr(cfg, "data_format", "channels_last");
    if (strcmp(df, "channels_last")) bad(c, "data_format '%s' is not supported (tensorcook is channels_last)", df);
}

static int nsp_of(const char *cls)
{
    size_t n = strlen(cls);
    return n >= 2 && cls[n - 1] == 'D' && cls[n - 2] >= '1' && cls[n - 2] <= '3' ? cls[n - 2] - '0' : 0;
}

static tc_layer *conv(ctx *c, json_object *cfg, int nsp, int kind)
{
    tc_conv_opts o = {.name = c->ctor};
    int k[3] = {0}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
    if (kind != 1) o.filters = (int)jint(cfg, "filters", 0);
    if (jints(cfg, "kernel_size", nsp, k) != nsp || jints(cfg, "strides", nsp, s) < 0 || jints(cfg, "dilation_rate", nsp, d) < 0)
        bad(c, "kernel_size, strides or dilation_rate do not have %d values", nsp);
    for (int a = 0; a < nsp; a++) {
        o.kernel_dims[a] = k[a];
        o.strides[a] = s[a];
        o.dilations[a] = d[a];
    }
    o.padding = padding_of(c, cfg, nsp == 1 && kind == 0);
    o.act = act_of(c, cfg, "activation", "linear");
    o.no_bias = !jbool(cfg, "use_bias", true);
    if (kind) o.depth_multiplier = (int)jint(cfg, "depth_multiplier", 1);
    channels_last(c, cfg);
    if (!c->ok) return NULL;
    if (kind == 1) return tc_depthwise_conv2d(&o);
    if (kind == 2) return tc_separable_conv2d(&o);
    return nsp == 1 ? tc_conv1d(&o) : nsp == 2 ? tc_conv2d(&o) : tc_conv3d(&o);
}

static tc_layer *pool(ctx *c, json_object *cfg, int nsp, bool is_max)
{
    tc_pool_opts o = {.name = c->ctor};
    int p[3] = {2, 2, 2}, s[3] = {0};
    int ns = jints(cfg, "strides", nsp, s);
    if (jints(cfg, "pool_size", nsp, p) < 0 || ns < 0) bad(c, "pool_size or strides do not have %d values", nsp);
    for (int a = 0; a < nsp; a++) {
        o.pool_dims[a] = p[a];
        o.strides[a] = ns > 0 ? s[a] : p[a];
    }
    o.padding = padding_of(c, cfg, false);
    channels_last(c, cfg);
    if (!c->ok) return NULL;
    if (is_max) return nsp == 1 ? tc_maxpool1d(&o) : nsp == 2 ? tc_maxpool2d(&o) : tc_maxpool3d(&o);
    return nsp == 1 ? tc_avgpool1d(&o) : nsp == 2 ? tc_avgpool2d(&o) : tc_avgpool3d(&o);
}

static tc_layer *rnn(ctx *c, json_object *cfg)
{
    tc_rnn_opts o = {.name = c->ctor};
    o.units = (int)jint(cfg, "units", 0);
    o.return_sequences = jbool(cfg, "return_sequences", false);
    o.return_state = jbool(cfg, "return_state", false);
    o.go_backwards = jbool(cfg, "go_backwards", false);
    bool simple = !strcmp(c->cls, "SimpleRNN");
    if (simple) {
        o.act = act_of(c, cfg, "activation", "tanh");
        if (o.act == TC_LINEAR) bad(c, "activation 'linear' is not supported for SimpleRNN");
    } else {
        const char *a = jstr(cfg, "activation", "tanh"), *ra = jstr(cfg, "recurrent_activation", "hard_sigmoid");
        if (strcmp(a, "tanh")) bad(c, "activation '%s' is not supported (tensorcook's %s uses tanh)", a, c->cls);
        if (!strcmp(ra, "hard_sigmoid")) o.hard_sigmoid = true; /* Keras 2.0-2.2's default */
        else if (strcmp(ra, "sigmoid"))
            bad(c, "recurrent_activation '%s' is not supported (sigmoid or hard_sigmoid)", ra);
    }
    if (!jbool(cfg, "use_bias", true)) bad(c, "use_bias false is not supported");
    if (jbool(cfg, "stateful", false)) bad(c, "stateful is not supported");
    if (!strcmp(c->cls, "GRU")) o.reset_after = jbool(cfg, "reset_after", false);
    if (!c->ok) return NULL;
    if (!strcmp(c->cls, "LSTM")) return tc_lstm_layer(&o);
    return !strcmp(c->cls, "GRU") ? tc_gru_layer(&o) : tc_simple_rnn_layer(&o);
}

static tc_layer *make_layer(ctx *c, json_object *cfg, int *bn_axis);

/* Bidirectional / TimeDistributed: the wrapped layer's class and config */
static tc_layer *wrapped(ctx *c, json_object *cfg)
{
    json_object *inner = jget(cfg, "layer");
    const char *icls = jstr(inner, "class_name", NULL);
    json_object *icfg = jget(inner, "config");
    if (!icls || !icfg) {
        bad(c, "no wrapped layer");
        return NULL;
    }
    char disp[200];
    snprintf(disp, sizeof disp, "%s/%s", c->name, icls);
    /* the wrapper names its inner layers (forward_lstm, ...): no name of their own */
    ctx ic = {.name = disp, .cls = icls, .ctor = NULL, .pb = c->pb, .ok = true};
    tc_layer *l = NULL;
    int axis = -1;
    if (!strcmp(c->cls, "Bidirectional")) {
        const char *mm = jstr(cfg, "merge_mode", "concat");
        if (strcmp(mm, "concat")) bad(c, "merge_mode '%s' is not supported (only concat)", mm);
        if (strcmp(icls, "LSTM") && strcmp(icls, "GRU") && strcmp(icls, "SimpleRNN")) {
            bad(c, "wraps %s (only LSTM, GRU, SimpleRNN)", icls);
            return NULL;
        }
        l = rnn(&ic, icfg);
    } else l = make_layer(&ic, icfg, &axis);
    if (!l && ic.ok) tc_mismatch(c->pb, "%s (%s): %s", disp, icls, tc_last_error());
    if (!l || !ic.ok || !c->ok) {
        c->ok = false;
        tc_layer_free(l);
        return NULL;
    }
    l = !strcmp(c->cls, "Bidirectional") ? tc_bidirectional(l, c->ctor) : tc_time_distributed(l, c->ctor);
    if (!l) {
        tc_mismatch(c->pb, "%s (%s): %s", c->name, c->cls, tc_last_error());
        c->ok = false;
    }
    return l;
}

/* One Keras layer; NULL when unsupported (the problem is recorded).
 * bn_axis: a BatchNormalization's axis, checked once shapes are known. */
static tc_layer *make_layer(ctx *c, json_object *cfg, int *bn_axis)
{
    const char *cls = c->cls;
    int nsp = nsp_of(cls);
    tc_layer *l = NULL;
    if (!strcmp(cls, "Dense")) {
        tc_dense_opts o = {.name = c->ctor, .units = (int)jint(cfg, "units", 0)};
        o.act = act_of(c, cfg, "activation", "linear");
        o.no_bias = !jbool(cfg, "use_bias", true);
        if (!c->ok) return NULL;
        l = tc_dense(&o);
    } else if (!strncmp(cls, "Conv", 4) && nsp && !strcmp(cls + 4, nsp == 1 ? "1D" : nsp == 2 ? "2D" : "3D"))
        l = conv(c, cfg, nsp, 0);
    else if (!strcmp(cls, "DepthwiseConv2D")) l = conv(c, cfg, 2, 1);
    else if (!strcmp(cls, "SeparableConv2D")) l = conv(c, cfg, 2, 2);
    else if (!strncmp(cls, "MaxPooling", 10) && nsp) l = pool(c, cfg, nsp, true);
    else if (!strncmp(cls, "AveragePooling", 14) && nsp) l = pool(c, cfg, nsp, false);
    else if ((!strncmp(cls, "GlobalAveragePooling", 20) || !strncmp(cls, "GlobalMaxPooling", 16)) && nsp) {
        channels_last(c, cfg);
        if (jbool(cfg, "keepdims", false)) bad(c, "keepdims is not supported");
        if (!c->ok) return NULL;
        l = cls[6] == 'A' ? tc_global_avgpool(c->ctor) : tc_global_maxpool(c->ctor);
    } else if (!strcmp(cls, "Flatten")) {
        channels_last(c, cfg);
        if (!c->ok) return NULL;
        l = tc_flatten_layer(c->ctor);
    } else if (!strcmp(cls, "Reshape")) {
        json_object *ts = jget(cfg, "target_shape");
        int n = ts && json_object_is_type(ts, json_type_array) ? (int)json_object_array_length(ts) : -1;
        int64_t shape[TC_MAX_DIMS];
        if (n < 1 || n > TC_MAX_DIMS) {
            bad(c, "target_shape is missing or has more than %d values", TC_MAX_DIMS);
            return NULL;
        }
        for (int k = 0; k < n; k++) shape[k] = json_object_get_int64(json_object_array_get_idx(ts, (size_t)k));
        l = tc_reshape_layer(n, shape, c->ctor);
    } else if (!strcmp(cls, "Dropout")) {
        if (jget(cfg, "noise_shape")) bad(c, "noise_shape is not supported");
        if (!c->ok) return NULL;
        l = tc_dropout_layer(jdouble(cfg, "rate", 0), c->ctor);
    } else if (!strcmp(cls, "Activation")) {
        tc_activation a = act_of(c, cfg, "activation", "linear");
        if (!c->ok) return NULL;
        l = tc_activation_layer(a, c->ctor);
    } else if (!strcmp(cls, "ReLU") || !strcmp(cls, "LeakyReLU") || !strcmp(cls, "ELU") || !strcmp(cls, "Softmax")) {
        /* the advanced-activation layers that equal one of tensorcook's activations */
        tc_activation a = TC_RELU;
        if (!strcmp(cls, "ReLU")) {
            if (jget(cfg, "max_value") || jdouble(cfg, "negative_slope", 0) != 0 || jdouble(cfg, "threshold", 0) != 0)
                bad(c, "max_value, negative_slope or threshold is not supported");
        } else if (!strcmp(cls, "LeakyReLU")) {
            double alpha = jdouble(cfg, "alpha", jdouble(cfg, "negative_slope", 0.3));
            if (alpha != 0.3) bad(c, "alpha %g is not supported (tensorcook's leaky ReLU has alpha 0.3)", alpha);
            a = TC_LEAKY_RELU;
        } else if (!strcmp(cls, "ELU")) {
            if (jdouble(cfg, "alpha", 1.0) != 1.0) bad(c, "alpha %g is not supported (only 1)", jdouble(cfg, "alpha", 1.0));
            a = TC_ELU;
        } else {
            json_object *ax = jget(cfg, "axis");
            if (ax && !(json_object_is_type(ax, json_type_int) && json_object_get_int(ax) == -1))
                bad(c, "softmax over another axis than the last is not supported");
            a = TC_SOFTMAX;
        }
        if (!c->ok) return NULL;
        l = tc_activation_layer(a, c->ctor);
    } else if (!strcmp(cls, "BatchNormalization")) {
        json_object *ax = jget(cfg, "axis");
        if (ax && json_object_is_type(ax, json_type_array) && json_object_array_length(ax) == 1)
            ax = json_object_array_get_idx(ax, 0);
        if (ax && !json_object_is_type(ax, json_type_int)) bad(c, "axis over several axes is not supported");
        *bn_axis = ax ? json_object_get_int(ax) : -1;
        if (jbool(cfg, "renorm", false)) bad(c, "renorm is not supported");
        if (!c->ok) return NULL;
        l = tc_batchnorm(&(tc_batchnorm_opts){.name = c->ctor, .momentum = jdouble(cfg, "momentum", 0.99),
                                              .eps = jdouble(cfg, "epsilon", 1e-3), .no_scale = !jbool(cfg, "scale", true),
                                              .no_center = !jbool(cfg, "center", true)});
    } else if (!strcmp(cls, "Embedding")) {
        l = tc_embedding(&(tc_embedding_opts){.name = c->ctor, .input_dim = (int)jint(cfg, "input_dim", 0),
                                              .output_dim = (int)jint(cfg, "output_dim", 0),
                                              .mask_zero = jbool(cfg, "mask_zero", false)});
    } else if (!strcmp(cls, "Concatenate")) l = tc_concatenate((int)jint(cfg, "axis", -1), c->ctor);
    else if (!strcmp(cls, "Add")) l = tc_add_layer(c->ctor);
    else if (!strcmp(cls, "RepeatVector")) l = tc_repeat_vector((int)jint(cfg, "n", 1), c->ctor);
    else if (!strcmp(cls, "Masking")) l = tc_masking(jdouble(cfg, "mask_value", 0), c->ctor);
    else if (!strcmp(cls, "LSTM") || !strcmp(cls, "GRU") || !strcmp(cls, "SimpleRNN")) l = rnn(c, cfg);
    else if (!strcmp(cls, "Bidirectional") || !strcmp(cls, "TimeDistributed")) l = wrapped(c, cfg);
    else if (!strcmp(cls, "Attention") || !strcmp(cls, "AdditiveAttention")) {
        bool scale = jbool(cfg, "use_scale", !strcmp(cls, "AdditiveAttention")), causal = jbool(cfg, "causal", false);
        if (jdouble(cfg, "dropout", 0) != 0) bad(c, "dropout is not supported");
        if (!c->ok) return NULL;
        l = cls[0] == 'A' && cls[1] == 't' ? tc_attention_layer(scale, causal, c->ctor)
                                           : tc_additive_attention_layer(scale, causal, c->ctor);
    } else {
        tc_mismatch(c->pb, "%s (%s): layer class not supported", c->name, cls);
        c->ok = false;
        return NULL;
    }
    if (!l && c->ok) {
        tc_mismatch(c->pb, "%s (%s): %s", c->name, cls, tc_last_error());
        c->ok = false;
    }
    if (l && !jbool(cfg, "trainable", true)) tc_layer_set_trainable(l, false);
    return l;
}

/* batch_input_shape [null, d1, ...] -> shape without the batch axis; -1 if none */
static int input_shape(json_object *cfg, int64_t *shape, tc_mismatches *pb, const char *name)
{
    json_object *b = jget(cfg, "batch_input_shape");
    if (!b) b = jget(cfg, "batch_shape");
    if (!b || !json_object_is_type(b, json_type_array) || json_object_array_length(b) < 2 ||
        json_object_array_length(b) > TC_MAX_DIMS + 1)
        return -1;
    int n = (int)json_object_array_length(b) - 1;
    for (int k = 0; k < n; k++) {
        json_object *e = json_object_array_get_idx(b, (size_t)k + 1);
        if (!e || !json_object_is_type(e, json_type_int)) {
            tc_mismatch(pb, "%s: input dimension %d is not fixed (tensorcook builds models for fixed shapes)", name, k + 1);
            return -2;
        }
        shape[k] = json_object_get_int64(e);
    }
    return n;
}

static const char *layer_name(json_object *l)
{
    const char *n = jstr(l, "name", NULL);
    return n ? n : jstr(jget(l, "config"), "name", NULL);
}

typedef struct {
    json_object *entry;
    tc_layer *layer;
    int bn_axis;
} built;

static bool check_bn_axes(tc_model *m, built *b, int n, tc_mismatches *pb)
{
    for (int i = 0; i < n; i++) {
        if (!b[i].layer || strcmp(tc_layer_type(b[i].layer), "BatchNormalization") || b[i].bn_axis < 0) continue;
        int64_t shape[TC_MAX_DIMS];
        tc_layer *l = tc_model_layer(m, layer_name(b[i].entry));
        int r = l ? tc_layer_output_shape(l, shape) : -1;
        if (r >= 0 && b[i].bn_axis != r)
            tc_mismatch(pb, "%s (BatchNormalization): axis %d is not the last axis of its input (tensorcook normalises the last)",
                    layer_name(b[i].entry), b[i].bn_axis);
    }
    return pb->n == 0;
}

static tc_model *fail_model(const tc_keras_file *f, tc_mismatches *pb)
{
    tc_error(TC_ERR_UNSUPPORTED, "keras %s: cannot build the model (%d unsupported layer%s or option%s)%s", f->path, pb->n,
             pb->n == 1 ? "" : "s", pb->n == 1 ? "" : "s", tc_mismatches_text(pb));
    return NULL;
}

static void free_built(built *b, int n)
{
    for (int i = 0; i < n; i++) tc_layer_free(b[i].layer); /* layers no model holds */
    free(b);
}

static tc_model *sequential(const tc_keras_file *f, json_object *layers, const char *name)
{
    int n = (int)json_object_array_length(layers);
    built *b = calloc((size_t)n + 1, sizeof *b);
    tc_layer **list = calloc((size_t)n + 1, sizeof *list);
    if (!b || !list) {
        free(b);
        free(list);
        tc_error(TC_ERR_MEMORY, "keras %s: out of memory", f->path);
        return NULL;
    }
    tc_mismatches pb = {0};
    int64_t shape[TC_MAX_DIMS];
    int nd = -1, k = 0;
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(layers, (size_t)i), *cfg = jget(e, "config");
        const char *cls = jstr(e, "class_name", "?"), *ln = layer_name(e);
        b[i].entry = e;
        b[i].bn_axis = -1;
        if (!ln) {
            tc_mismatch(&pb, "layer %d has no name", i);
            continue;
        }
        if (nd == -1 && k == 0) nd = input_shape(cfg, shape, &pb, ln);
        if (!strcmp(cls, "InputLayer")) continue;
        ctx c = {.name = ln, .cls = cls, .ctor = ln, .pb = &pb, .ok = true};
        b[i].layer = make_layer(&c, cfg, &b[i].bn_axis);
        if (b[i].layer) list[k++] = b[i].layer;
    }
    if (nd == -1) tc_mismatch(&pb, "the first layer has no batch_input_shape");
    if (pb.n) {
        free(list);
        free_built(b, n);
        return fail_model(f, &pb);
    }
    tc_model *m = tc_sequential_with_input(name, nd, shape, list); /* owns the layers now */
    free(list);
    if (!m) {
        char inner[700];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_error(tc_last_status(), "keras %s: %s", f->path, inner);
        free(b);
        return NULL;
    }
    bool ok = check_bn_axes(m, b, n, &pb);
    free(b);
    if (!ok) {
        tc_model_free(m);
        return fail_model(f, &pb);
    }
    return m;
}

/* ---- functional models ---------------------------------------------------------------------- */
typedef struct {
    int n_nodes;            /* calls made so far */
    tc_value *out0;         /* output 0 of each call */
} calls;

static int entry_of(json_object *layers, const char *name)
{
    for (size_t i = 0; name && i < json_object_array_length(layers); i++) {
        const char *n = layer_name(json_object_array_get_idx(layers, i));
        if (n && !strcmp(n, name)) return (int)i;
    }
    return -1;
}

/* the value [layer, node, tensor] refers to, or -1 when not made yet; -2 when malformed */
static tc_value ref_value(tc_graph *g, json_object *layers, calls *cl, json_object *ref)
{
    if (!ref || !json_object_is_type(ref, json_type_array) || json_object_array_length(ref) < 3) return -2;
    json_object *nm = json_object_array_get_idx(ref, 0);
    int e = entry_of(layers, json_object_is_type(nm, json_type_string) ? json_object_get_string(nm) : NULL);
    int node = json_object_get_int(json_object_array_get_idx(ref, 1));
    int t = json_object_get_int(json_object_array_get_idx(ref, 2));
    if (e < 0 || node < 0 || t < 0) return -2;
    if (node >= cl[e].n_nodes) return -1;
    tc_value v = cl[e].out0[node];
    return t == 0 ? v : tc_graph_output(g, v, t);
}

static tc_model *functional(const tc_keras_file *f, json_object *cfg, const char *name)
{
    json_object *layers = jget(cfg, "layers"), *ins = jget(cfg, "input_layers"), *outs = jget(cfg, "output_layers");
    tc_mismatches pb = {0};
    if (!layers || !ins || !outs || !json_object_is_type(layers, json_type_array) || !json_object_is_type(ins, json_type_array) ||
        !json_object_is_type(outs, json_type_array)) {
        tc_error(TC_ERR_FORMAT, "keras %s: model_config lacks layers, input_layers or output_layers", f->path);
        return NULL;
    }
    int n = (int)json_object_array_length(layers);
    built *b = calloc((size_t)n + 1, sizeof *b);
    calls *cl = calloc((size_t)n + 1, sizeof *cl);
    tc_graph *g = NULL;
    tc_model *m = NULL;
    if (!b || !cl) goto oom;
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(layers, (size_t)i), *nodes = jget(e, "inbound_nodes");
        const char *cls = jstr(e, "class_name", "?"), *ln = layer_name(e);
        b[i].entry = e;
        b[i].bn_axis = -1;
        int nn = nodes && json_object_is_type(nodes, json_type_array) ? (int)json_object_array_length(nodes) : 0;
        if (!(cl[i].out0 = calloc((size_t)nn + 1, sizeof(tc_value)))) goto oom;
        if (!ln) {
            tc_mismatch(&pb, "layer %d has no name", i);
            continue;
        }
        if (nodes && !json_object_is_type(nodes, json_type_array)) tc_mismatch(&pb, "%s: inbound_nodes is not a list", ln);
        for (int k = 0; k < nn; k++) {
            json_object *node = json_object_array_get_idx(nodes, (size_t)k);
            if (!json_object_is_type(node, json_type_array))
                tc_mismatch(&pb, "%s: inbound node format not supported (Keras 3's)", ln);
        }
        if (!strcmp(cls, "InputLayer")) continue;
        ctx c = {.name = ln, .cls = cls, .ctor = ln, .pb = &pb, .ok = true};
        b[i].layer = make_layer(&c, jget(e, "config"), &b[i].bn_axis);
    }
    if (pb.n) goto unsupported;
    if (!(g = tc_graph_new())) goto oom;
    /* inputs, in input_layers order */
    int n_in = (int)json_object_array_length(ins), n_out = (int)json_object_array_length(outs);
    tc_value *iv = calloc((size_t)n_in + 1, sizeof *iv), *ov = calloc((size_t)n_out + 1, sizeof *ov);
    if (!iv || !ov) {
        free(iv);
        free(ov);
        goto oom;
    }
    for (int k = 0; k < n_in; k++) {
        json_object *r = json_object_array_get_idx(ins, (size_t)k);
        bool listed = r && json_object_is_type(r, json_type_array) && json_object_array_length(r) > 0;
        int e = listed ? entry_of(layers, json_object_get_string(json_object_array_get_idx(r, 0))) : -1;
        int64_t shape[TC_MAX_DIMS];
        int nd = e >= 0 ? input_shape(jget(json_object_array_get_idx(layers, (size_t)e), "config"), shape, &pb,
                                      layer_name(json_object_array_get_idx(layers, (size_t)e)))
                        : -1;
        if (e < 0 || strcmp(jstr(json_object_array_get_idx(layers, (size_t)e), "class_name", ""), "InputLayer")) {
            tc_mismatch(&pb, "input %d is not an InputLayer", k);
            continue;
        }
        if (nd == -1) tc_mismatch(&pb, "%s: no batch_input_shape", layer_name(json_object_array_get_idx(layers, (size_t)e)));
        if (nd < 0) continue;
        iv[k] = cl[e].out0[0] = tc_graph_input(g, nd, shape, layer_name(json_object_array_get_idx(layers, (size_t)e)));
        cl[e].n_nodes = 1;
    }
    /* calls, in any order their inputs allow (shared layers may be listed before their inputs) */
    for (bool progress = pb.n == 0; progress;) {
        progress = false;
        for (int i = 0; i < n; i++) {
            json_object *nodes = jget(b[i].entry, "inbound_nodes");
            int nn = nodes ? (int)json_object_array_length(nodes) : 0;
            while (b[i].layer && cl[i].n_nodes < nn) {
                json_object *node = json_object_array_get_idx(nodes, (size_t)cl[i].n_nodes);
                int k = (int)json_object_array_length(node);
                tc_value in[16];
                bool ready = k > 0 && k <= 16;
                for (int q = 0; q < k && ready; q++) {
                    in[q] = ref_value(g, layers, cl, json_object_array_get_idx(node, (size_t)q));
                    if (in[q] == -2) {
                        tc_mismatch(&pb, "%s: inbound node refers to an unknown layer", layer_name(b[i].entry));
                        ready = false;
                    }
                    ready = ready && in[q] >= 0;
                }
                if (!ready) break;
                tc_value v = tc_graph_call(g, b[i].layer, k, in);
                cl[i].out0[cl[i].n_nodes++] = v;
                if (v < 0) { /* the graph's own error (shapes...) */
                    tc_mismatch(&pb, "%s", tc_last_error());
                    progress = false;
                    i = n;
                    break;
                }
                progress = true;
            }
        }
    }
    for (int i = 0; i < n && pb.n == 0; i++) {
        json_object *nodes = jget(b[i].entry, "inbound_nodes");
        int nn = nodes ? (int)json_object_array_length(nodes) : 0;
        if (b[i].layer && cl[i].n_nodes < nn) tc_mismatch(&pb, "%s: its inputs are never computed", layer_name(b[i].entry));
    }
    for (int k = 0; k < n_out && pb.n == 0; k++) {
        ov[k] = ref_value(g, layers, cl, json_object_array_get_idx(outs, (size_t)k));
        if (ov[k] < 0) tc_mismatch(&pb, "output %d refers to a layer that is not computed", k);
    }
    for (int i = 0; i < n; i++)
        if (b[i].layer && cl[i].n_nodes == 0 && pb.n == 0) tc_mismatch(&pb, "%s: layer is never called", layer_name(b[i].entry));
    if (pb.n) {
        free(iv);
        free(ov);
        goto unsupported;
    }
    m = tc_graph_model(g, name, n_in, iv, n_out, ov);
    g = NULL;
    free(iv);
    free(ov);
    if (!m) {
        char inner[700];
        snprintf(inner, sizeof inner, "%s", tc_last_error());
        tc_error(tc_last_status(), "keras %s: %s", f->path, inner);
    } else if (!check_bn_axes(m, b, n, &pb)) {
        tc_model_free(m);
        m = NULL;
        fail_model(f, &pb);
    }
    for (int i = 0; i < n; i++) free(cl[i].out0);
    free(cl);
    free(b);
    return m;
oom:
    tc_error(TC_ERR_MEMORY, "keras %s: out of memory", f->path);
unsupported:
    if (g) {
        tc_graph_free(g); /* frees the layers it was given */
        for (int i = 0; i < n && b; i++)
            if (cl && cl[i].n_nodes) b[i].layer = NULL;
    }
    for (int i = 0; cl && i < n; i++) free(cl[i].out0);
    free(cl);
    if (pb.n) {
        if (b) free_built(b, n);
        return fail_model(f, &pb);
    }
    if (b) free_built(b, n);
    return NULL;
}

tc_model *kh5_build_model(const tc_keras_file *f)
{
    const char *cls = f->model_class;
    json_object *cfg = jget(f->config, "config");
    const char *name = jstr(cfg, "name", "model");
    if (!strcmp(cls, "Sequential")) {
        json_object *layers = cfg && json_object_is_type(cfg, json_type_array) ? cfg : jget(cfg, "layers");
        if (!layers || !json_object_is_type(layers, json_type_array)) {
            tc_error(TC_ERR_FORMAT, "keras %s: the Sequential model_config has no list of layers", f->path);
            return NULL;
        }
        return sequential(f, layers, cfg && json_object_is_type(cfg, json_type_array) ? "sequential" : name);
    }
    if (!strcmp(cls, "Model") || !strcmp(cls, "Functional")) return functional(f, cfg, name);
    tc_error(TC_ERR_UNSUPPORTED, "keras %s: model class %s is not supported (Sequential, Model, Functional)", f->path, cls);
    return NULL;
}

tc_model *tc_load_keras_model(const char *path)
{
    tc_keras_file *f = tc_keras_open(path);
    if (!f) return NULL;
    if (!f->config) {
        tc_error(TC_ERR_FORMAT, "keras %s: no model_config attribute (a weight-only file: build the model and use "
                                "tc_load_keras_weights)", path);
        tc_keras_close(f);
        return NULL;
    }
    tc_model *m = kh5_build_model(f);
    if (m) tc_model_refresh_trainable(m);
    if (m && kh5_load_into(f, m, NULL) != TC_OK) {
        tc_model_free(m);
        m = NULL;
    }
    tc_keras_close(f);
    return m;
}
