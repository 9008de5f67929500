/* The cookbook's character-level language model (chapter 6): stacked LSTMs
 * over character ids with dropout, and a dense layer over the vocabulary;
 * and its checkpoint, which also carries the vocabulary and the shape so
 * that sampling needs nothing but the file. */
#include "tensorcook/io.h"
#include "tensorcook/models.h"
#include "tensorcook/rnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 8

tc_model *tc_charrnn_model(const tc_charrnn_opts *o)
{
    int layers = o && o->layers ? o->layers : 3, units = o && o->units ? o->units : 512;
    double drop = !o || o->dropout == 0 ? 0.5 : o->dropout < 0 ? 0 : o->dropout;
    if (!o || o->vocab < 1 || o->seq_len < 1 || layers < 1 || layers > MAX_LAYERS || units < 1 || drop >= 1)
        return tc_error(TC_ERR_ARG, "charrnn_model: needs vocab and seq_len >= 1, 1 to %d layers, units >= 1, dropout < 1",
                        MAX_LAYERS), NULL;
    tc_layer *list[2 * MAX_LAYERS + 2] = {0};
    char names[2 * MAX_LAYERS][16];
    int n = 0;
    for (int l = 0; l < layers; l++) {
        snprintf(names[2 * l], sizeof names[0], "lstm_%d", l);
        snprintf(names[2 * l + 1], sizeof names[0], "dropout_%d", l);
        list[n++] = tc_lstm_layer(&(tc_rnn_opts){.units = units, .return_sequences = l < layers - 1, .unit_forget_bias = true,
                                                 .input_vocab = l == 0 ? o->vocab : 0, .name = names[2 * l]});
        list[n++] = tc_dropout_layer(drop, names[2 * l + 1]);
    }
    list[n++] = tc_dense(&(tc_dense_opts){.units = o->vocab, .name = "dense"});
    return tc_sequential_with_input("charrnn", 1, (int64_t[]){o->seq_len}, list);
}

/* layers and units of a model this file built */
static void shape_of(const tc_model *m, int *layers, int *units)
{
    *layers = 0, *units = 0;
    for (int i = 0; i < tc_model_layer_count(m); i++) {
        tc_layer *l = tc_model_layer_at(m, i);
        if (strcmp(tc_layer_type(l), "LSTM")) continue;
        ++*layers;
        *units = (int)tc_layer_weight(l, 1)->shape[0]; /* recurrent_kernel [units, 4 units] */
    }
}

tc_status tc_charrnn_save(const char *path, const tc_model *m, tc_optimizer *opt, int vocab, const uint32_t *chars,
                          double epoch)
{
    if (!m || !chars || vocab < 1) return tc_error(TC_ERR_ARG, "charrnn_save: needs a model and its vocabulary");
    int layers, units;
    shape_of(m, &layers, &units);
    tc_checkpoint *extra = tc_checkpoint_new();
    tc_tensor *voc = extra ? tc_tensor_new(TC_SHAPE(vocab)) : NULL;
    /* code points are below 2^21: exact as float32 */
    for (int i = 0; voc && i < vocab; i++) voc->data[i] = (tc_scalar)chars[i];
    tc_status s = !voc ? tc_last_status()
                  : tc_checkpoint_put(extra, "charrnn/vocabulary", voc) || tc_checkpoint_put_scalar(extra, "charrnn/layers", layers) ||
                          tc_checkpoint_put_scalar(extra, "charrnn/units", units) ||
                          tc_checkpoint_put_scalar(extra, "charrnn/epoch", epoch)
                      ? tc_last_status()
                      : tc_checkpoint_save_model(m, opt, path, extra);
    tc_tensor_free(voc);
    tc_checkpoint_free(extra);
    return s;
}

/* The checkpoint's entries without the legacy "charrnn/" ones (files
 * written before the model moved to the layer API kept its shape there). */
static tc_checkpoint *without_legacy(const tc_checkpoint *ck)
{
    tc_checkpoint *out = tc_checkpoint_new();
    for (int i = 0; out && i < tc_checkpoint_count(ck); i++) {
        const char *name = tc_checkpoint_name(ck, i);
        double v;
        if (!strncmp(name, "charrnn/", 8)) continue;
        tc_status s = tc_checkpoint_get_scalar(ck, name, &v) ? tc_checkpoint_put_scalar(out, name, v)
                                                              : tc_checkpoint_put(out, name, tc_checkpoint_get(ck, name));
        if (s != TC_OK) {
            tc_checkpoint_free(out);
            return NULL;
        }
    }
    return out;
}

tc_model *tc_charrnn_load(const char *path, int seq_len, tc_optimizer *opt, int *vocab, uint32_t **chars, double *epoch)
{
    if (!path || !vocab || !chars) return tc_error(TC_ERR_ARG, "charrnn_load: NULL argument"), NULL;
    *chars = NULL;
    *vocab = 0;
    tc_checkpoint *ck = tc_checkpoint_load(path);
    if (!ck) return NULL;
    /* the shape: extra/charrnn/... (tc_charrnn_save) or charrnn/... (older files) */
    const char *pre = tc_checkpoint_get(ck, "extra/charrnn/vocabulary") ? "extra/charrnn/" : "charrnn/";
    char key[64];
    double layers = 0, units = 0, ep = 0;
    snprintf(key, sizeof key, "%svocabulary", pre);
    const tc_tensor *voc = tc_checkpoint_get(ck, key);
    snprintf(key, sizeof key, "%slayers", pre);
    bool ok = voc && tc_checkpoint_get_scalar(ck, key, &layers);
    snprintf(key, sizeof key, "%sunits", pre);
    ok = ok && tc_checkpoint_get_scalar(ck, key, &units) && layers >= 1 && layers <= MAX_LAYERS && units >= 1 && units <= 1 << 20;
    snprintf(key, sizeof key, "%sepoch", pre);
    if (ok && !tc_checkpoint_get_scalar(ck, key, &ep)) ep = 0;
    if (!ok) {
        tc_checkpoint_free(ck);
        return tc_error(TC_ERR_FORMAT, "%s: not a charrnn checkpoint (no vocabulary, layers or units)", path), NULL;
    }
    int V = (int)tc_numel(voc);
    uint32_t *cps = malloc(sizeof(uint32_t) * (size_t)(V + 1));
    for (int i = 0; cps && i < V; i++) {
        double c = (double)voc->data[i];
        ok = ok && c >= 0 && c <= 0x10FFFF && (i == 0 || c > (double)cps[i - 1]);
        cps[i] = ok ? (uint32_t)c : 0;
    }
    tc_model *m = NULL;
    if (!cps) tc_error(TC_ERR_MEMORY, "%s: out of memory", path);
    else if (!ok) tc_error(TC_ERR_FORMAT, "%s: the vocabulary is not ascending code points", path);
    else m = tc_charrnn_model(&(tc_charrnn_opts){.vocab = V, .seq_len = seq_len, .layers = (int)layers, .units = (int)units});
    tc_status s = m ? TC_OK : tc_last_status();
    if (m) {
        /* the file is read once: its shape above, the weights here (tc_checkpoint_load_model's own step) */
        tc_checkpoint *clean = !strcmp(pre, "charrnn/") ? without_legacy(ck) : NULL;
        s = !strcmp(pre, "charrnn/") && !clean ? tc_last_status() : tc_checkpoint_get_model(clean ? clean : ck, m, opt);
        tc_checkpoint_free(clean);
    }
    tc_checkpoint_free(ck);
    if (s != TC_OK) {
        if (m && !strstr(tc_last_error(), path)) {
            char inner[1024];
            snprintf(inner, sizeof inner, "%s", tc_last_error());
            tc_error(s, "checkpoint %s: %s", path, inner);
        }
        tc_model_free(m);
        free(cps);
        return NULL;
    }
    *vocab = V;
    *chars = cps;
    if (epoch) *epoch = ep;
    return m;
}
