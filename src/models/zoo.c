/* The zoo's entry points: options, Keras' names and sizes of the five
 * architectures, preprocessing, and layer access by Keras index. */
#include "../core/internal.h"
#include "kgraph.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name, *keras, *model_name;
    int64_t size, min_size;
    tc_preprocess_mode mode;
} ARCH[TC_ZOO_COUNT] = {
    {"vgg16", "VGG16", "vgg16", 224, 32, TC_PREPROCESS_CAFFE},
    {"vgg19", "VGG19", "vgg19", 224, 32, TC_PREPROCESS_CAFFE},
    {"resnet50", "ResNet50", "resnet50", 224, 32, TC_PREPROCESS_CAFFE},
    {"inception_v3", "InceptionV3", "inception_v3", 299, 75, TC_PREPROCESS_TF},
    {"xception", "Xception", "xception", 299, 71, TC_PREPROCESS_TF},
};

int tc_zoo_arch_from_name(const char *name)
{
    for (int a = 0; name && a < TC_ZOO_COUNT; a++)
        if (!strcasecmp(name, ARCH[a].name) || !strcmp(name, ARCH[a].keras)) return a;
    if (name && (!strcasecmp(name, "inceptionv3") || !strcasecmp(name, "inception-v3"))) return TC_ZOO_INCEPTION_V3;
    return -1;
}
const char *tc_zoo_arch_name(tc_zoo_arch a) { return a >= 0 && a < TC_ZOO_COUNT ? ARCH[a].name : NULL; }
int64_t tc_zoo_default_size(tc_zoo_arch a) { return a >= 0 && a < TC_ZOO_COUNT ? ARCH[a].size : 0; }
const char *tc_zoo_keras_weights_file(tc_zoo_arch a, bool include_top)
{
    static const char *const files[TC_ZOO_COUNT][2] = {
        {"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"},
        {"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg19_weights_tf_dim_ordering_tf_kernels.h5"},
        {"resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet50_weights_tf_dim_ordering_tf_kernels.h5"},
        {"inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"},
        {"xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "xception_weights_tf_dim_ordering_tf_kernels.h5"},
    };
    return a >= 0 && a < TC_ZOO_COUNT ? files[a][include_top ? 1 : 0] : NULL;
}

tc_preprocess_mode tc_zoo_preprocess_mode(tc_zoo_arch a)
{
    return a >= 0 && a < TC_ZOO_COUNT ? ARCH[a].mode : TC_PREPROCESS_CAFFE;
}

tc_model *tc_zoo_model_with_top(tc_zoo_arch arch, const tc_zoo_opts *opts, const char *name, tc_layer *const *top)
{
    tc_zoo_opts o = opts ? *opts : (tc_zoo_opts){.include_top = true};
    int n_top = 0;
    while (top && top[n_top]) n_top++;
    bool bad_arch = arch < 0 || arch >= TC_ZOO_COUNT;
    if (!bad_arch) {
        if (o.classes == 0) o.classes = 1000;
        if (o.height == 0) o.height = ARCH[arch].size;
        if (o.width == 0) o.width = ARCH[arch].size;
    }
    const char *why = NULL;
    char msg[200];
    if (bad_arch) why = "unknown architecture";
    else if (o.classes < 1) why = "classes must be at least 1";
    else if (o.height < ARCH[arch].min_size || o.width < ARCH[arch].min_size) {
        snprintf(msg, sizeof msg, "input %lldx%lld is smaller than %s's minimum %lldx%lld", (long long)o.height,
                 (long long)o.width, ARCH[arch].keras, (long long)ARCH[arch].min_size, (long long)ARCH[arch].min_size);
        why = msg;
    } else if (o.include_top && (arch == TC_ZOO_VGG16 || arch == TC_ZOO_VGG19) && o.width_div <= 1 &&
               (o.height != 224 || o.width != 224)) {
        why = "with include_top the input must be 224x224 (Keras' rule: the Flatten before fc1 fixes it)";
    } else if (o.include_top && n_top) {
        why = "layers on top need include_top false";
    } else if (o.avg_pool && arch != TC_ZOO_VGG16 && arch != TC_ZOO_VGG19) {
        why = "avg_pool is for VGG16 and VGG19 only";
    } else if (o.pooling < TC_ZOO_POOL_NONE || o.pooling > TC_ZOO_POOL_MAX) {
        why = "pooling must be none, avg or max";
    }
    if (why) {
        for (int i = 0; i < n_top; i++) tc_layer_free(top[i]);
        tc_error(TC_ERR_ARG, "zoo %s: %s", bad_arch ? "?" : ARCH[arch].name, why);
        return NULL;
    }
    kg g;
    kg_init(&g, o.width_div);
    int x = 0;
    switch (arch) {
    case TC_ZOO_VGG16: x = tc_zoo_vgg(&g, x, false, &o); break;
    case TC_ZOO_VGG19: x = tc_zoo_vgg(&g, x, true, &o); break;
    case TC_ZOO_RESNET50: x = tc_zoo_resnet50(&g, x, &o); break;
    case TC_ZOO_INCEPTION_V3: x = tc_zoo_inception_v3(&g, x, &o); break;
    default: x = tc_zoo_xception(&g, x, &o); break;
    }
    for (int i = 0; i < n_top; i++) x = kg_call1(&g, top[i], x);
    return kg_model(&g, name ? name : ARCH[arch].model_name, o.height, o.width, x);
}

tc_model *tc_zoo_model(tc_zoo_arch arch, const tc_zoo_opts *o) { return tc_zoo_model_with_top(arch, o, NULL, NULL); }

tc_status tc_preprocess_input(tc_tensor *x, tc_preprocess_mode mode)
{
    if (!x || x->ndim < 1 || x->shape[x->ndim - 1] != 3 || !tc_is_contiguous(x))
        return tc_error(TC_ERR_SHAPE, "preprocess_input: needs a contiguous [..., 3] RGB tensor, given %s",
                        x ? TC_SHP(x) : "NULL");
    int64_t n = tc_numel(x) / 3;
    tc_scalar *p = x->data;
    if (mode == TC_PREPROCESS_TF) {
        for (int64_t i = 0; i < 3 * n; i++) p[i] = p[i] / (tc_scalar)127.5 - 1;
        return TC_OK;
    }
    if (mode != TC_PREPROCESS_CAFFE) return tc_error(TC_ERR_ARG, "preprocess_input: unknown mode %d", (int)mode);
    /* Keras: x[..., ::-1] (RGB -> BGR), then the BGR means subtracted */
    const tc_scalar mean[3] = {(tc_scalar)103.939, (tc_scalar)116.779, (tc_scalar)123.68};
    for (int64_t i = 0; i < n; i++, p += 3) {
        tc_scalar r = p[0], b = p[2];
        p[0] = b - mean[0];
        p[1] = p[1] - mean[1];
        p[2] = r - mean[2];
    }
    return TC_OK;
}

tc_layer *tc_zoo_layer_at(const tc_model *m, int i) { return i >= 1 ? tc_model_layer_at(m, i - 1) : NULL; }
int tc_zoo_layer_count(const tc_model *m) { return m ? tc_model_layer_count(m) + 1 : 0; }

void tc_zoo_set_trainable(tc_model *m, int from, int to, bool trainable)
{
    int n = tc_zoo_layer_count(m);
    if (from < 0) from = 0;
    if (to < 0 || to > n) to = n;
    for (int i = from; i < to; i++) {
        tc_layer *l = tc_zoo_layer_at(m, i);
        if (l) tc_layer_set_trainable(l, trainable);
    }
    tc_model_refresh_trainable(m);
}

const char *tc_zoo_inception_block_of(const tc_model *m, int i)
{
    for (int k = i < 1 ? 1 : i; k < tc_zoo_layer_count(m); k++) {
        const char *name = tc_layer_name(tc_zoo_layer_at(m, k));
        if (!strncmp(name, "mixed", 5) && name[5]) {
            const char *p = name + 5;
            while (isdigit((unsigned char)*p)) p++;
            if (!*p) return name;
        }
    }
    return NULL;
}
