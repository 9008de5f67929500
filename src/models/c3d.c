/* C3D: the 3-D convolutional network of Tran et al. ("Learning
 * Spatiotemporal Features with 3D Convolutional Networks", 2015), with the
 * layer names of the c3d-keras port (conv1 ... fc8) so its weights load by name. */
#include "tensorcook/models.h"

static int or_default(int v, int d) { return v > 0 ? v : d; }

static tc_layer *conv(int filters, const char *name, const int64_t *input_shape)
{
    tc_conv_opts o = {.filters = filters, .kernel = 3, .padding = TC_SAME, .act = TC_RELU, .name = name};
    if (input_shape)
        for (int i = 0; i < 4; i++) o.input_shape[i] = input_shape[i];
    return tc_conv3d(&o);
}

static tc_layer *pool(int depth, const char *name)
{
    return tc_maxpool3d(&(tc_pool_opts){.pool_dims = {depth, 2, 2}, .strides = {depth, 2, 2}, .name = name});
}

tc_model *tc_c3d(const tc_c3d_opts *opts)
{
    tc_c3d_opts o = opts ? *opts : (tc_c3d_opts){0};
    int64_t in[4] = {or_default(o.frames, 16), or_default(o.height, 112), or_default(o.width, 112), 3};
    int d = or_default(o.width_divisor, 1);
    double drop = o.dropout < 0 ? 0 : o.dropout > 0 ? o.dropout : 0.5;
    tc_layer *layers[32];
    int n = 0;
    layers[n++] = conv(64 / d, "conv1", in);
    layers[n++] = pool(1, "pool1");
    layers[n++] = conv(128 / d, "conv2", NULL);
    layers[n++] = pool(2, "pool2");
    layers[n++] = conv(256 / d, "conv3a", NULL);
    layers[n++] = conv(256 / d, "conv3b", NULL);
    layers[n++] = pool(2, "pool3");
    layers[n++] = conv(512 / d, "conv4a", NULL);
    layers[n++] = conv(512 / d, "conv4b", NULL);
    layers[n++] = pool(2, "pool4");
    layers[n++] = conv(512 / d, "conv5a", NULL);
    layers[n++] = conv(512 / d, "conv5b", NULL);
    layers[n++] = tc_zero_padding3d((const int[6]){0, 0, 1, 1, 1, 1}, "zeropad5");
    layers[n++] = pool(2, "pool5");
    layers[n++] = tc_flatten_layer("flatten_1");
    layers[n++] = tc_dense(&(tc_dense_opts){.units = 4096 / d, .act = TC_RELU, .name = "fc6"});
    if (drop > 0) layers[n++] = tc_dropout_layer(drop, "dropout_1");
    layers[n++] = tc_dense(&(tc_dense_opts){.units = 4096 / d, .act = TC_RELU, .name = "fc7"});
    if (!o.no_top) {
        if (drop > 0) layers[n++] = tc_dropout_layer(drop, "dropout_2");
        layers[n++] = tc_dense(&(tc_dense_opts){.units = or_default(o.classes, 487), .name = o.top_name ? o.top_name : "fc8"});
    }
    layers[n] = NULL;
    return tc_sequential("c3d", layers);
}
