/* Shared by the video recipe's files: fixed networks' features of the clips,
 * computed once and cached in OUT (recipes/video_features.c). */
#ifndef TC_RECIPES_VIDEO_H
#define TC_RECIPES_VIDEO_H

#include "common.h"

typedef struct {
    const char *out;        /* cache folder: OUT/features/ */
    const char *arch;       /* zoo model (features-*) or "c3d" (c3d-rnn) */
    const char *layer;      /* the layer whose output is the feature vector */
    const char *weights;    /* Keras .h5 (zoo notop file, or c3d-keras); NULL: random, seeded */
    int divisor;            /* widths divided by this (zoo width_div / C3D width_divisor) */
    int size;               /* frames are size x size */
    uint64_t seed;          /* of the random weights */
} video_extractor;

/* x: [N, T, size, size, 3] in [0, 1]. Per frame (a zoo CNN; T features) or per
 * clip of 16 frames (C3D; T/16 features): a long-lived [N, T or T/16, F].
 * Read from OUT/features/<tag>-<hash>.npy when a run with the same data,
 * network, layer, weights and seed wrote it; otherwise computed and written
 * there (atomically). NULL with a one-line message printed on failure. */
tc_tensor *video_features(const video_extractor *e, const tc_tensor *x, const char *split);

/* Feature standardisation with the training set's mean and std per feature
 * (constant features become 0), in place on [..., F] tensors. */
void video_standardize(tc_tensor *train, tc_tensor *test);

#endif
