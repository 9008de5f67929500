/* The NSynth-style encoder: non-causal dilated convolutions over the
 * waveform, a 1x1 projection to a few code channels, and average pooling
 * to one code vector every hop samples. Its code conditions a WaveNet
 * decoder locally (tc_wavenet_opts.local_channels / local_hop). */
#include "wavenet_internal.h"

#include <stdlib.h>
#include <string.h>

tc_wavenet_encoder *tc_wavenet_encoder_new(const tc_wavenet_encoder_opts *opts, uint64_t seed)
{
    tc_wavenet_encoder_opts o = opts ? *opts : (tc_wavenet_encoder_opts){0};
    if (!o.blocks) o.blocks = 1;
    if (!o.layers) o.layers = 8;
    if (!o.channels) o.channels = 32;
    if (!o.code_channels) o.code_channels = 16;
    if (!o.hop) o.hop = 512;
    if (o.blocks < 1 || o.layers < 1 || o.layers > 20 || o.channels < 1 || o.code_channels < 1 || o.hop < 1) {
        tc_error(TC_ERR_ARG, "wavenet_encoder: bad options (blocks %d, layers %d, channels %d, code %d, hop %d)", o.blocks,
                 o.layers, o.channels, o.code_channels, o.hop);
        return NULL;
    }
    tc_wavenet_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        tc_error(TC_ERR_MEMORY, "wavenet_encoder: out of memory");
        return NULL;
    }
    e->o = o;
    int64_t R = o.channels;
    char name[128];
    tc_rng r = tc_rng_new(seed);
    tc_tensor *t;
#define ADD(init_in, init_out, nm, ...)                                                       \
    do {                                                                                      \
        if (!(t = tc_param_list_add(&e->p, nm, TC_SHAPE(__VA_ARGS__)))) goto fail;           \
        if ((init_in) > 0) tc_wavenet_glorot(&r, t, init_in, init_out);                          \
    } while (0)
    ADD(1, R, "enc_input/kernel", 1, R);
    ADD(0, 0, "enc_input/bias", R);
    for (int l = 0; l < o.blocks * o.layers; l++) {
        snprintf(name, sizeof name, "enc_layer%d/dilated_kernel", l);
        ADD(3 * R, 3 * R, name, 3, R, R);
        snprintf(name, sizeof name, "enc_layer%d/dilated_bias", l);
        ADD(0, 0, name, R);
        snprintf(name, sizeof name, "enc_layer%d/res_kernel", l);
        ADD(R, R, name, R, R);
        snprintf(name, sizeof name, "enc_layer%d/res_bias", l);
        ADD(0, 0, name, R);
    }
    ADD(R, o.code_channels, "enc_code/kernel", R, o.code_channels);
    ADD(0, 0, "enc_code/bias", o.code_channels);
#undef ADD
    return e;
fail:
    tc_wavenet_encoder_free(e);
    return NULL;
}

void tc_wavenet_encoder_free(tc_wavenet_encoder *e)
{
    if (!e) return;
    tc_param_list_free(&e->p);
    free(e);
}

const tc_wavenet_encoder_opts *tc_wavenet_encoder_options(const tc_wavenet_encoder *e) { return e ? &e->o : NULL; }
int tc_wavenet_encoder_param_count(const tc_wavenet_encoder *e) { return e ? e->p.n : 0; }
tc_tensor *tc_wavenet_encoder_param(const tc_wavenet_encoder *e, int i)
{
    return e && i >= 0 && i < e->p.n ? e->p.t[i] : NULL;
}
const char *tc_wavenet_encoder_param_name(const tc_wavenet_encoder *e, int i)
{
    return e && i >= 0 && i < e->p.n ? e->p.names[i] : NULL;
}
tc_tensor *tc_wavenet_encoder_param_by_name(const tc_wavenet_encoder *e, const char *name)
{
    return e ? tc_wavenet_encoder_param(e, tc_param_list_find(&e->p, name)) : NULL;
}
int64_t tc_wavenet_encoder_count_params(const tc_wavenet_encoder *e) { return e ? tc_param_list_numel(&e->p) : 0; }

tc_tensor *tc_wavenet_encode(tc_wavenet_encoder *e, tc_tensor *x)
{
    char s[TC_SHAPE_STR_MAX];
    if (!e || !x || x->ndim != 3 || x->shape[2] != 1 || x->shape[1] < e->o.hop || x->shape[1] % e->o.hop) {
        tc_error(TC_ERR_SHAPE, "wavenet_encode: input %s must be [N, T, 1] with T a multiple of %d",
                 x ? tc_shape_str(x, s, sizeof s) : "(none)", e ? e->o.hop : 0);
        return NULL;
    }
    tc_tensor **P = e->p.t;
    int k = 0;
    tc_tensor *h = tc_linear(x, P[0], P[1]);
    k = 2;
    for (int l = 0; l < e->o.blocks * e->o.layers; l++, k += 4) {
        tc_conv_params cp = {.padding = TC_SAME, .dilation = {1 << (l % e->o.layers)}};
        tc_tensor *c = tc_relu(tc_conv(tc_relu(h), P[k], P[k + 1], &cp));
        h = tc_add(h, tc_linear(c, P[k + 2], P[k + 3]));
    }
    tc_tensor *code = tc_linear(h, P[k], P[k + 1]);
    tc_pool_params pp = {.kernel = {e->o.hop}, .stride = {e->o.hop}};
    return tc_avg_pool(code, &pp);
}

tc_status tc_wavenet_encoder_summary(const tc_wavenet_encoder *e, FILE *out, int64_t length)
{
    if (!e || !out) return tc_error(TC_ERR_ARG, "wavenet_encoder_summary: no encoder or stream");
    const tc_wavenet_encoder_opts *o = &e->o;
    char T[24], F[24];
    if (length > 0) {
        snprintf(T, sizeof T, "%lld", (long long)length);
        snprintf(F, sizeof F, "%lld", (long long)(length / o->hop));
    } else {
        snprintf(T, sizeof T, "None");
        snprintf(F, sizeof F, "None");
    }
    const char *rule = "_____________________________________________________________________________________";
    const char *dbl = "=====================================================================================";
    fprintf(out, "Model: \"wavenet_encoder\" (non-causal, %d x %d layers, code %d channels every %d samples)\n%s\n",
            o->blocks, o->layers, o->code_channels, o->hop, rule);
    fprintf(out, "%-44s %-22s %12s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    char shape[64], name[96];
    snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->channels);
    fprintf(out, "%-44s %-22s %12lld\n", "enc_input (Conv1D 1x1)", shape,
            (long long)(tc_numel(e->p.t[0]) + tc_numel(e->p.t[1])));
    int k = 2;
    for (int l = 0; l < o->blocks * o->layers; l++, k += 4) {
        snprintf(name, sizeof name, "enc_layer%d (dilation %d, SAME, residual)", l, 1 << (l % o->layers));
        fprintf(out, "%-44s %-22s %12lld\n", name, shape,
                (long long)(tc_numel(e->p.t[k]) + tc_numel(e->p.t[k + 1]) + tc_numel(e->p.t[k + 2]) +
                            tc_numel(e->p.t[k + 3])));
    }
    snprintf(shape, sizeof shape, "(None, %s, %d)", T, o->code_channels);
    fprintf(out, "%-44s %-22s %12lld\n", "enc_code (Conv1D 1x1)", shape,
            (long long)(tc_numel(e->p.t[k]) + tc_numel(e->p.t[k + 1])));
    snprintf(shape, sizeof shape, "(None, %s, %d)", F, o->code_channels);
    fprintf(out, "%-44s %-22s %12d\n", "enc_pool (AveragePooling1D)", shape, 0);
    fprintf(out, "%s\nTotal params: %lld\n%s\n", dbl, (long long)tc_wavenet_encoder_count_params(e), rule);
    return TC_OK;
}

tc_status tc_wavenet_encoder_checkpoint_put(tc_checkpoint *ck, const tc_wavenet_encoder *e, const char *prefix)
{
    if (!ck || !e) return tc_error(TC_ERR_ARG, "wavenet_encoder_checkpoint_put: no checkpoint or encoder");
    return tc_param_list_put(ck, &e->p, prefix);
}

tc_status tc_wavenet_encoder_checkpoint_get(const tc_checkpoint *ck, tc_wavenet_encoder *e, const char *prefix)
{
    if (!ck || !e) return tc_error(TC_ERR_ARG, "wavenet_encoder_checkpoint_get: no checkpoint or encoder");
    return tc_param_list_get(ck, &e->p, prefix, "wavenet encoder");
}
