/* Convolution layers of the ImageNet models the zoo and the ONNX importer
 * run (VGG16 at 224x224, ResNet-50, InceptionV3 at 299x299), for
 * bench_conv_zoo.c. bench/torch_conv_zoo.py reads this table from this file
 * (one entry per line, in this exact form), so both sides time the same
 * layers. Padding is explicit and symmetric (pad on each side), which gives
 * Keras' SAME output sizes for these layers and their FLOPs. */
#ifndef TC_BENCH_CONV_ZOO_SHAPES_H
#define TC_BENCH_CONV_ZOO_SHAPES_H

typedef struct {
    const char *name;
    int h, w, c;     /* NHWC input (the batch is the run's) */
    int kh, kw, f;   /* kh x kw kernel, f filters */
    int stride, ph, pw; /* stride, padding on each side (rows, columns) */
} zoo_conv_shape;

static const zoo_conv_shape ZOO_CONV_SHAPES[] = {
    {"vgg_conv1_2", 224, 224, 64, 3, 3, 64, 1, 1, 1},
    {"vgg_conv2_2", 112, 112, 128, 3, 3, 128, 1, 1, 1},
    {"vgg_conv3_3", 56, 56, 256, 3, 3, 256, 1, 1, 1},
    {"vgg_conv4_3", 28, 28, 512, 3, 3, 512, 1, 1, 1},
    {"vgg_conv5_3", 14, 14, 512, 3, 3, 512, 1, 1, 1},
    {"res_conv1", 224, 224, 3, 7, 7, 64, 2, 3, 3},
    {"res2_1x1_in", 56, 56, 256, 1, 1, 64, 1, 0, 0},
    {"res2_3x3", 56, 56, 64, 3, 3, 64, 1, 1, 1},
    {"res2_1x1_out", 56, 56, 64, 1, 1, 256, 1, 0, 0},
    {"res3_3x3", 28, 28, 128, 3, 3, 128, 1, 1, 1},
    {"res4_1x1_in", 14, 14, 1024, 1, 1, 256, 1, 0, 0},
    {"res4_3x3", 14, 14, 256, 3, 3, 256, 1, 1, 1},
    {"res5_3x3", 7, 7, 512, 3, 3, 512, 1, 1, 1},
    {"res5_1x1_out", 7, 7, 512, 1, 1, 2048, 1, 0, 0},
    {"inc_conv1", 299, 299, 3, 3, 3, 32, 2, 0, 0},
    {"inc_conv3", 147, 147, 32, 3, 3, 64, 1, 1, 1},
    {"inc_5x5", 35, 35, 48, 5, 5, 64, 1, 2, 2},
    {"inc_1x7", 17, 17, 160, 1, 7, 160, 1, 0, 3},
    {"inc_7x1", 17, 17, 160, 7, 1, 192, 1, 3, 0},
    {"inc_3x3_s2", 17, 17, 192, 3, 3, 320, 2, 0, 0},
    {"inc_1x1_8", 8, 8, 1280, 1, 1, 320, 1, 0, 0},
};

#endif
