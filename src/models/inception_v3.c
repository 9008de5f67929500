/* InceptionV3 as keras.applications builds it (inception_v3.py): every
 * conv2d_bn is a Conv2D without bias, a BatchNormalization with
 * scale=False and a ReLU Activation, all with automatic names (conv2d,
 * batch_normalization, activation, ...) in creation order; the blocks'
 * concatenations are mixed0 .. mixed10 (mixed9_0, mixed9_1 and unnamed ones
 * inside the last two); top avg_pool + predictions. In Keras 2 the base has
 * 311 layers; layers[249:] are the top two blocks (mixed9, mixed10). */
#include "kgraph.h"

#include <stdio.h>

static int cbn(kg *g, int x, int filters, int r, int c, tc_padding pad, int stride)
{
    x = kg_conv(g, x, kg_w(g, filters), r, c, stride, pad, false, TC_LINEAR, NULL);
    x = kg_bn(g, x, 1e-3, false, NULL);
    return kg_act(g, x, TC_RELU, NULL);
}
#define CBN(x, f, r, c) cbn(g, (x), (f), (r), (c), TC_SAME, 1)

static int avg_branch(kg *g, int x, int f)
{
    return CBN(kg_pool(g, x, false, 3, 1, TC_SAME, NULL), f, 1, 1);
}

int tc_zoo_inception_v3(kg *g, int x, const tc_zoo_opts *o)
{
    char name[16];
    x = cbn(g, x, 32, 3, 3, TC_VALID, 2);
    x = cbn(g, x, 32, 3, 3, TC_VALID, 1);
    x = CBN(x, 64, 3, 3);
    x = kg_pool(g, x, true, 3, 2, TC_VALID, NULL);
    x = cbn(g, x, 80, 1, 1, TC_VALID, 1);
    x = cbn(g, x, 192, 3, 3, TC_VALID, 1);
    x = kg_pool(g, x, true, 3, 2, TC_VALID, NULL);
    /* mixed 0, 1, 2: 35 x 35 */
    for (int i = 0; i < 3; i++) {
        int b1 = CBN(x, 64, 1, 1);
        int b5 = CBN(CBN(x, 48, 1, 1), 64, 5, 5);
        int b3 = CBN(CBN(CBN(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
        int bp = avg_branch(g, x, i == 0 ? 32 : 64);
        snprintf(name, sizeof name, "mixed%d", i);
        x = kg_concat(g, 4, (int[]){b1, b5, b3, bp}, name);
    }
    /* mixed 3: 17 x 17 */
    {
        int b3 = cbn(g, x, 384, 3, 3, TC_VALID, 2);
        int bd = cbn(g, CBN(CBN(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, TC_VALID, 2);
        int bp = kg_pool(g, x, true, 3, 2, TC_VALID, NULL);
        x = kg_concat(g, 3, (int[]){b3, bd, bp}, "mixed3");
    }
    /* mixed 4 .. 7 */
    for (int i = 4; i <= 7; i++) {
        int f = i == 4 ? 128 : i == 7 ? 192 : 160;
        int b1 = CBN(x, 192, 1, 1);
        int b7 = CBN(CBN(CBN(x, f, 1, 1), f, 1, 7), 192, 7, 1);
        int bd = CBN(CBN(CBN(CBN(CBN(x, f, 1, 1), f, 7, 1), f, 1, 7), f, 7, 1), 192, 1, 7);
        int bp = avg_branch(g, x, 192);
        snprintf(name, sizeof name, "mixed%d", i);
        x = kg_concat(g, 4, (int[]){b1, b7, bd, bp}, name);
    }
    /* mixed 8: 8 x 8 */
    {
        int b3 = cbn(g, CBN(x, 192, 1, 1), 320, 3, 3, TC_VALID, 2);
        int b7 = cbn(g, CBN(CBN(CBN(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, TC_VALID, 2);
        int bp = kg_pool(g, x, true, 3, 2, TC_VALID, NULL);
        x = kg_concat(g, 3, (int[]){b3, b7, bp}, "mixed8");
    }
    /* mixed 9, 10 */
    for (int i = 0; i < 2; i++) {
        int b1 = CBN(x, 320, 1, 1);
        int b3 = CBN(x, 384, 1, 1);
        int b3a = CBN(b3, 384, 1, 3), b3b = CBN(b3, 384, 3, 1);
        snprintf(name, sizeof name, "mixed9_%d", i);
        b3 = kg_concat(g, 2, (int[]){b3a, b3b}, name);
        int bd = CBN(CBN(x, 448, 1, 1), 384, 3, 3);
        int bda = CBN(bd, 384, 1, 3), bdb = CBN(bd, 384, 3, 1);
        bd = kg_concat(g, 2, (int[]){bda, bdb}, NULL);
        int bp = avg_branch(g, x, 192);
        snprintf(name, sizeof name, "mixed%d", 9 + i);
        x = kg_concat(g, 4, (int[]){b1, b3, bd, bp}, name);
    }
    return kg_gap_top(g, x, o, "predictions");
}
