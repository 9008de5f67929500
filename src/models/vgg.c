/* VGG16 and VGG19 as keras.applications builds them (vgg16.py, vgg19.py):
 * five blocks of 3x3 SAME ReLU convolutions (2, 2, 3, 3, 3 or 2, 2, 4, 4, 4)
 * each closed by a 2x2 max pooling, names block1_conv1 ... block5_pool; the
 * top is Flatten, fc1 and fc2 (4096, ReLU) and predictions (softmax).
 * o->avg_pool swaps the max poolings for average poolings (Gatys et al.
 * found them better for style transfer); they are SAME-padded as the
 * cookbook's tf.nn.avg_pool, which on odd sizes keeps the last row and
 * column (VALID would drop them) and divides by the cells inside. */
#include "kgraph.h"

#include <stdio.h>

int tc_zoo_vgg(kg *g, int x, bool vgg19, const tc_zoo_opts *o)
{
    static const int convs16[5] = {2, 2, 3, 3, 3}, convs19[5] = {2, 2, 4, 4, 4};
    static const int filters[5] = {64, 128, 256, 512, 512};
    const int *convs = vgg19 ? convs19 : convs16;
    for (int b = 0; b < 5; b++) {
        char name[64];
        for (int c = 0; c < convs[b]; c++) {
            snprintf(name, sizeof name, "block%d_conv%d", b + 1, c + 1);
            x = kg_conv(g, x, kg_w(g, filters[b]), 3, 3, 1, TC_SAME, true, TC_RELU, name);
        }
        snprintf(name, sizeof name, "block%d_pool", b + 1);
        x = o->avg_pool ? kg_pool(g, x, false, 2, 2, TC_SAME, name) : kg_pool(g, x, true, 2, 2, TC_VALID, name);
    }
    if (o->include_top) {
        x = kg_call1(g, tc_flatten_layer("flatten"), x);
        x = kg_dense(g, x, kg_w(g, 4096), TC_RELU, "fc1");
        x = kg_dense(g, x, kg_w(g, 4096), TC_RELU, "fc2");
        return kg_dense(g, x, o->classes, TC_SOFTMAX, "predictions");
    }
    if (o->pooling == TC_ZOO_POOL_AVG) return kg_global_pool(g, x, false, NULL);
    if (o->pooling == TC_ZOO_POOL_MAX) return kg_global_pool(g, x, true, NULL);
    return x;
}
