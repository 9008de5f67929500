/* Image features of the vqa recipe: VGG16's fc2 output (4096 values; the
 * seed's get_image_features: load_img to 224 x 224, preprocess_input, the
 * model up to fc2), or small raw pictures for a comparison. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vqa.h"

#define PIXELS 16

struct vqa_extractor {
    vqa_feature_opts o;
    tc_model *vgg;
    int dim;
};

void vqa_features_describe(const vqa_feature_opts *o, char *buf, size_t n, bool for_file)
{
    if (o->kind == VQA_FEATURES_PIXELS) {
        snprintf(buf, n, for_file ? "pixels%d_l2" : "pixels (%d x %d x 3), L2-normalised", PIXELS, PIXELS);
        return;
    }
    const char *w = o->vgg_weights ? strrchr(o->vgg_weights, '/') : NULL;
    w = w ? w + 1 : o->vgg_weights;
    if (for_file) {
        if (w) snprintf(buf, n, "vgg16_fc2_l2_div%d_%s", o->vgg_div, w);
        else snprintf(buf, n, "vgg16_fc2_l2_div%d_random%llu", o->vgg_div, (unsigned long long)o->vgg_seed);
        for (char *p = buf; *p; p++)
            if (*p == '.' || *p == ' ') *p = '_';
    } else if (w) {
        snprintf(buf, n, "VGG16 fc2, L2-normalised (weights %s)%s", o->vgg_weights, o->vgg_div > 1 ? " narrowed for tests" : "");
    } else {
        snprintf(buf, n, "VGG16 fc2, L2-normalised, with RANDOM weights (seed %llu; no --vgg-weights)%s", (unsigned long long)o->vgg_seed,
                 o->vgg_div > 1 ? ", narrowed for tests" : "");
    }
}

vqa_extractor *vqa_extractor_new(const vqa_feature_opts *o)
{
    vqa_extractor *e = calloc(1, sizeof *e);
    e->o = *o;
    if (o->kind == VQA_FEATURES_PIXELS) {
        e->dim = PIXELS * PIXELS * 3;
        return e;
    }
    tc_nn_seed(o->vgg_seed);
    e->vgg = tc_zoo_model(TC_ZOO_VGG16, &(tc_zoo_opts){.include_top = true, .width_div = o->vgg_div});
    if (!e->vgg || (o->vgg_weights && tc_load_keras_weights(e->vgg, o->vgg_weights, NULL) != TC_OK)) {
        vqa_extractor_free(e);
        return NULL;
    }
    int64_t shape[4];
    tc_layer_output_shape(tc_model_layer(e->vgg, "fc2"), shape);
    e->dim = (int)shape[0];
    return e;
}

int vqa_extractor_dim(const vqa_extractor *e) { return e->dim; }

bool vqa_extractor_run(vqa_extractor *e, const char *path, tc_scalar *out)
{
    int64_t side = e->vgg ? 224 : PIXELS;
    /* Keras' load_img(target_size=(224, 224)): nearest neighbour */
    tc_tensor *img = tc_image_load_resized(path, side, side, e->vgg ? TC_INTERP_NEAREST : TC_INTERP_BILINEAR);
    if (!img) return false;
    bool ok = true;
    if (!e->vgg) {
        for (int64_t i = 0; i < e->dim; i++) out[i] = img->data[i] / (tc_scalar)255;
    } else {
        tc_preprocess_input(img, TC_PREPROCESS_CAFFE);
        tc_step_mark mark = tc_step_get_mark();
        bool was = tc_set_grad_enabled(false);
        tc_tensor *x = tc_tensor_from(4, (int64_t[]){1, 224, 224, 3}, img->data);
        tc_tensor *f = x ? tc_model_forward_to(e->vgg, x, "fc2", false) : NULL;
        if (f) memcpy(out, f->data, sizeof(tc_scalar) * (size_t)e->dim);
        ok = f != NULL;
        tc_tensor_free(x);
        tc_set_grad_enabled(was);
        tc_step_release(mark);
    }
    tc_tensor_free(img);
    /* L2-normalised, as Agrawal et al.'s "deeper LSTM Q + norm I" (the
     * paper the seed follows): the 4096 values of any scale (random
     * weights, ImageNet's) weigh as much as the question's 512 */
    double ss = 0;
    for (int i = 0; ok && i < e->dim; i++) ss += (double)out[i] * out[i];
    for (int i = 0; ok && ss > 0 && i < e->dim; i++) out[i] = (tc_scalar)(out[i] / sqrt(ss));
    return ok;
}

void vqa_extractor_free(vqa_extractor *e)
{
    if (!e) return;
    tc_model_free(e->vgg);
    free(e);
}
