/* The vqa recipe's parts shared by training and answering. */
#ifndef TC_RECIPES_VQA_H
#define TC_RECIPES_VQA_H

#include "common.h"

typedef enum { VQA_FEATURES_VGG = 0, VQA_FEATURES_PIXELS } vqa_features_kind;

/* How image features are made; stored in the checkpoint so answering
 * makes the same ones. */
typedef struct {
    vqa_features_kind kind;
    const char *vgg_weights; /* a Keras VGG16 .h5 (with the top), or NULL: random, seeded by vgg_seed */
    uint64_t vgg_seed;
    int vgg_div;             /* VGG16 widths divided by this (1: Keras' VGG16; larger only for fast tests) */
} vqa_feature_opts;

/* A feature extractor: VGG16 up to fc2, or the picture itself shrunk to
 * 16 x 16 x 3 (--features pixels, a check of the rest of the model). */
typedef struct vqa_extractor vqa_extractor;
vqa_extractor *vqa_extractor_new(const vqa_feature_opts *o);
int vqa_extractor_dim(const vqa_extractor *e);
/* The features of one image file into out[dim]; false with tc_last_error. */
bool vqa_extractor_run(vqa_extractor *e, const char *path, tc_scalar *out);
void vqa_extractor_free(vqa_extractor *e);
/* A short description for messages and cache file names. */
void vqa_features_describe(const vqa_feature_opts *o, char *buf, size_t n, bool for_file);

#endif
