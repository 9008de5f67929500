/* Xception as keras.applications builds it (xception.py): entry flow with
 * 1x1 stride-2 shortcut convolutions (automatic names conv2d,
 * batch_normalization, add), eight middle blocks (block5 .. block12) of
 * three ReLU + 3x3 SeparableConv2D + BatchNormalization, exit flow block13,
 * block14; no convolution has a bias; top avg_pool + predictions. */
#include "kgraph.h"

#include <stdio.h>

#define NAME(fmt, ...) (snprintf(n, sizeof n, fmt, __VA_ARGS__), n)

/* residual conv + bn, then [relu] sep bn relu sep bn pool, add */
static int entry_block(kg *g, int x, int block, int f1, int f2, bool first_relu)
{
    char n[64];
    int res = kg_conv(g, x, kg_w(g, f2), 1, 1, 2, TC_SAME, false, TC_LINEAR, NULL);
    res = kg_bn(g, res, 1e-3, true, NULL);
    if (first_relu) x = kg_act(g, x, TC_RELU, NAME("block%d_sepconv1_act", block));
    x = kg_sepconv(g, x, kg_w(g, f1), 3, NAME("block%d_sepconv1", block));
    x = kg_bn(g, x, 1e-3, true, NAME("block%d_sepconv1_bn", block));
    x = kg_act(g, x, TC_RELU, NAME("block%d_sepconv2_act", block));
    x = kg_sepconv(g, x, kg_w(g, f2), 3, NAME("block%d_sepconv2", block));
    x = kg_bn(g, x, 1e-3, true, NAME("block%d_sepconv2_bn", block));
    x = kg_pool(g, x, true, 3, 2, TC_SAME, NAME("block%d_pool", block));
    return kg_add(g, x, res, NULL);
}

int tc_zoo_xception(kg *g, int x, const tc_zoo_opts *o)
{
    char n[64];
    x = kg_conv(g, x, kg_w(g, 32), 3, 3, 2, TC_VALID, false, TC_LINEAR, "block1_conv1");
    x = kg_bn(g, x, 1e-3, true, "block1_conv1_bn");
    x = kg_act(g, x, TC_RELU, "block1_conv1_act");
    x = kg_conv(g, x, kg_w(g, 64), 3, 3, 1, TC_VALID, false, TC_LINEAR, "block1_conv2");
    x = kg_bn(g, x, 1e-3, true, "block1_conv2_bn");
    x = kg_act(g, x, TC_RELU, "block1_conv2_act");
    x = entry_block(g, x, 2, 128, 128, false);
    x = entry_block(g, x, 3, 256, 256, true);
    x = entry_block(g, x, 4, 728, 728, true);
    for (int i = 0; i < 8; i++) {
        int res = x, b = i + 5;
        for (int k = 1; k <= 3; k++) {
            x = kg_act(g, x, TC_RELU, NAME("block%d_sepconv%d_act", b, k));
            x = kg_sepconv(g, x, kg_w(g, 728), 3, NAME("block%d_sepconv%d", b, k));
            x = kg_bn(g, x, 1e-3, true, NAME("block%d_sepconv%d_bn", b, k));
        }
        x = kg_add(g, x, res, NULL);
    }
    x = entry_block(g, x, 13, 728, 1024, true);
    x = kg_sepconv(g, x, kg_w(g, 1536), 3, "block14_sepconv1");
    x = kg_bn(g, x, 1e-3, true, "block14_sepconv1_bn");
    x = kg_act(g, x, TC_RELU, "block14_sepconv1_act");
    x = kg_sepconv(g, x, kg_w(g, 2048), 3, "block14_sepconv2");
    x = kg_bn(g, x, 1e-3, true, "block14_sepconv2_bn");
    x = kg_act(g, x, TC_RELU, "block14_sepconv2_act");
    return kg_gap_top(g, x, o, "predictions");
}
