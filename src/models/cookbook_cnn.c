/* The cookbook's two image classifiers (chapter 4): the MNIST CNN and
 * TFLearn's CIFAR-10 CNN, layer by layer as the book gives them. */
#include "tensorcook/models.h"

static int or_default(int v, int d) { return v > 0 ? v : d; }
static int64_t or_default64(int64_t v, int64_t d) { return v > 0 ? v : d; }
static double rate_or_default(double v, double d) { return v < 0 ? 0 : v > 0 ? v : d; }

tc_model *tc_mnist_cnn(const tc_mnist_cnn_opts *opts)
{
    tc_mnist_cnn_opts o = opts ? *opts : (tc_mnist_cnn_opts){0};
    int64_t h = or_default64(o.height, 28), w = or_default64(o.width, 28), c = or_default64(o.channels, 1);
    double drop = rate_or_default(o.dropout, 0.15);
    return tc_sequential("mnist_cnn", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = or_default(o.filters1, 32), .kernel = 5, .padding = TC_SAME, .act = TC_RELU,
                                  .input_shape = {h, w, c}}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_conv2d(&(tc_conv_opts){.filters = or_default(o.filters2, 64), .kernel = 5, .padding = TC_SAME, .act = TC_RELU}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = or_default(o.hidden, 1024), .act = TC_RELU}),
        tc_dropout_layer(drop, NULL), /* keep probability 0.85 */
        tc_dense(&(tc_dense_opts){.units = or_default(o.classes, 10)}),
        NULL});
}

tc_model *tc_cifar10_cnn(const tc_cifar10_cnn_opts *opts)
{
    tc_cifar10_cnn_opts o = opts ? *opts : (tc_cifar10_cnn_opts){0};
    int64_t h = or_default64(o.height, 32), w = or_default64(o.width, 32), c = or_default64(o.channels, 3);
    int f2 = or_default(o.filters2, 64);
    /* TFLearn's conv_2d defaults to SAME padding */
    return tc_sequential("cifar10_cnn", (tc_layer *[]){
        tc_conv2d(&(tc_conv_opts){.filters = or_default(o.filters1, 32), .kernel = 3, .padding = TC_SAME, .act = TC_RELU,
                                  .input_shape = {h, w, c}}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_conv2d(&(tc_conv_opts){.filters = f2, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}),
        tc_conv2d(&(tc_conv_opts){.filters = f2, .kernel = 3, .padding = TC_SAME, .act = TC_RELU}),
        tc_maxpool2d(&(tc_pool_opts){.pool = 2}),
        tc_flatten_layer(NULL),
        tc_dense(&(tc_dense_opts){.units = or_default(o.hidden, 512), .act = TC_RELU}),
        tc_dropout_layer(rate_or_default(o.dropout, 0.5), NULL),
        tc_dense(&(tc_dense_opts){.units = or_default(o.classes, 10)}), /* softmax is inside the loss */
        NULL});
}
