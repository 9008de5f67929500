/* The benchmark shapes, shared with torch_ops.py (keep them in sync):
 * the conv layers of the cookbook's MNIST and CIFAR-10 networks and the
 * GEMMs of issue 2, and the max pools of those networks. */
#ifndef TC_BENCH_SHAPES_H
#define TC_BENCH_SHAPES_H

typedef struct {
    const char *name;
    int n, h, w, c, k, f; /* NHWC input, k x k kernel, f filters, SAME padding, stride 1 */
} conv_shape;

static const conv_shape CONV_SHAPES[] = {
    {"mnist_conv1", 128, 28, 28, 1, 5, 32},
    {"mnist_conv2", 128, 14, 14, 32, 5, 64},
    {"cifar_conv1", 96, 32, 32, 3, 3, 32},
    {"cifar_conv2", 96, 16, 16, 32, 3, 64},
    {"cifar_conv3", 96, 16, 16, 64, 3, 64},
};

typedef struct {
    const char *name;
    int m, k, n;
} gemm_shape;

static const gemm_shape GEMM_SHAPES[] = {
    {"matmul_1024", 1024, 1024, 1024},
    {"lstm_gates", 128, 1024, 2048},
};

/* max pooling after the cookbook's conv layers (2x2, stride 2) and the
 * ResNet-50 stem's 3x3 stride-2 pad-1 pool */
typedef struct {
    const char *name;
    int n, h, w, c, k, s, pad; /* NHWC input, k x k window, stride s, pad on each side */
} pool_shape;

static const pool_shape POOL_SHAPES[] = {
    {"mnist_pool1", 128, 28, 28, 32, 2, 2, 0},
    {"mnist_pool2", 128, 14, 14, 64, 2, 2, 0},
    {"cifar_pool1", 96, 32, 32, 32, 2, 2, 0},
    {"cifar_pool2", 96, 16, 16, 64, 2, 2, 0},
    {"resnet_pool", 8, 112, 112, 64, 3, 2, 1},
};

#endif
