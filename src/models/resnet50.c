/* ResNet50 (v1: the stride on the first 1x1 convolution of a conv block
 * and on its shortcut), as keras.applications.ResNet50 of Keras 2.3+ /
 * tf.keras / Keras 3 (resnet.py: conv1_pad, conv1_conv, conv1_bn,
 * conv2_block1_0_conv ..., BatchNormalization epsilon 1.001e-5, Add of
 * [shortcut, x], top avg_pool + predictions), or with keras22_names as
 * Keras 2.2's resnet50.py (conv1, bn_conv1, res2a_branch2a, bn2a_branch1,
 * epsilon 1e-3, add of [x, shortcut], top fc1000). */
#include "kgraph.h"

#include <stdio.h>

/* Keras 2.3+: block1(x, filters, stride, conv_shortcut, name) */
static int block_v23(kg *g, int x, int f, int stride, bool conv_shortcut, const char *name)
{
    char n[64];
    const double eps = 1.001e-5;
    int sc = x;
    if (conv_shortcut) {
        snprintf(n, sizeof n, "%s_0_conv", name);
        sc = kg_conv(g, x, 4 * f, 1, 1, stride, TC_VALID, true, TC_LINEAR, n);
        snprintf(n, sizeof n, "%s_0_bn", name);
        sc = kg_bn(g, sc, eps, true, n);
    }
    snprintf(n, sizeof n, "%s_1_conv", name);
    x = kg_conv(g, x, f, 1, 1, stride, TC_VALID, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "%s_1_bn", name);
    x = kg_bn(g, x, eps, true, n);
    snprintf(n, sizeof n, "%s_1_relu", name);
    x = kg_act(g, x, TC_RELU, n);
    snprintf(n, sizeof n, "%s_2_conv", name);
    x = kg_conv(g, x, f, 3, 3, 1, TC_SAME, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "%s_2_bn", name);
    x = kg_bn(g, x, eps, true, n);
    snprintf(n, sizeof n, "%s_2_relu", name);
    x = kg_act(g, x, TC_RELU, n);
    snprintf(n, sizeof n, "%s_3_conv", name);
    x = kg_conv(g, x, 4 * f, 1, 1, 1, TC_VALID, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "%s_3_bn", name);
    x = kg_bn(g, x, eps, true, n);
    snprintf(n, sizeof n, "%s_add", name);
    x = kg_add(g, sc, x, n);
    snprintf(n, sizeof n, "%s_out", name);
    return kg_act(g, x, TC_RELU, n);
}

/* Keras 2.2: conv_block (shortcut conv) and identity_block */
static int block_v22(kg *g, int x, const int f[3], int stage, char block, int stride, bool conv_shortcut)
{
    char n[64];
    const double eps = 1e-3;
    int in = x;
    snprintf(n, sizeof n, "res%d%c_branch2a", stage, block);
    x = kg_conv(g, x, f[0], 1, 1, conv_shortcut ? stride : 1, TC_VALID, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "bn%d%c_branch2a", stage, block);
    x = kg_act(g, kg_bn(g, x, eps, true, n), TC_RELU, NULL);
    snprintf(n, sizeof n, "res%d%c_branch2b", stage, block);
    x = kg_conv(g, x, f[1], 3, 3, 1, TC_SAME, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "bn%d%c_branch2b", stage, block);
    x = kg_act(g, kg_bn(g, x, eps, true, n), TC_RELU, NULL);
    snprintf(n, sizeof n, "res%d%c_branch2c", stage, block);
    x = kg_conv(g, x, f[2], 1, 1, 1, TC_VALID, true, TC_LINEAR, n);
    snprintf(n, sizeof n, "bn%d%c_branch2c", stage, block);
    x = kg_bn(g, x, eps, true, n);
    int sc = in;
    if (conv_shortcut) {
        snprintf(n, sizeof n, "res%d%c_branch1", stage, block);
        sc = kg_conv(g, in, f[2], 1, 1, stride, TC_VALID, true, TC_LINEAR, n);
        snprintf(n, sizeof n, "bn%d%c_branch1", stage, block);
        sc = kg_bn(g, sc, eps, true, n);
    }
    x = kg_add(g, x, sc, NULL);
    return kg_act(g, x, TC_RELU, NULL);
}

int tc_zoo_resnet50(kg *g, int x, const tc_zoo_opts *o)
{
    static const int filters[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
    bool old = o->keras22_names;
    x = kg_call1(g, tc_zero_padding2d(3, 3, 3, 3, "conv1_pad"), x);
    x = kg_conv(g, x, kg_w(g, 64), 7, 7, 2, TC_VALID, true, TC_LINEAR, old ? "conv1" : "conv1_conv");
    x = kg_bn(g, x, old ? 1e-3 : 1.001e-5, true, old ? "bn_conv1" : "conv1_bn");
    x = kg_act(g, x, TC_RELU, old ? NULL : "conv1_relu");
    x = kg_call1(g, tc_zero_padding2d(1, 1, 1, 1, "pool1_pad"), x);
    x = kg_pool(g, x, true, 3, 2, TC_VALID, old ? NULL : "pool1_pool");
    for (int s = 0; s < 4; s++) {
        int f = kg_w(g, filters[s]), stride = s == 0 ? 1 : 2;
        for (int b = 0; b < blocks[s]; b++) {
            if (old) {
                x = block_v22(g, x, (int[]){f, f, 4 * f}, s + 2, (char)('a' + b), stride, b == 0);
            } else {
                char name[32];
                snprintf(name, sizeof name, "conv%d_block%d", s + 2, b + 1);
                x = block_v23(g, x, f, b == 0 ? stride : 1, b == 0, name);
            }
        }
    }
    if (o->include_top) {
        x = kg_global_pool(g, x, false, "avg_pool");
        return kg_dense(g, x, o->classes, TC_SOFTMAX, old ? "fc1000" : "predictions");
    }
    if (o->pooling == TC_ZOO_POOL_AVG) return kg_global_pool(g, x, false, old ? NULL : "avg_pool");
    if (o->pooling == TC_ZOO_POOL_MAX) return kg_global_pool(g, x, true, old ? NULL : "max_pool");
    return x;
}
