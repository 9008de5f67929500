/* The tests' reference convolution: plain loops in double over NHWC (or
 * N-D channels-last) data with explicit pads, every case seen as 3-D, grouped
 * (depthwise with a channel multiplier M is groups = C, F = C*M). Shared by
 * test_conv, test_conv_thin and test_conv_depthwise so the kernels of each are
 * checked against one definition. */
#ifndef TC_TESTS_NAIVE_CONV_H
#define TC_TESTS_NAIVE_CONV_H
#include <stdint.h>

typedef struct {
    int nd;                                               /* 1, 2 or 3 spatial axes */
    int64_t n, c, f, groups;                              /* images, in/out channels */
    int64_t sp[3], k[3], s[3], d[3], pb[3], pa[3];        /* per used axis */
} naive_conv_case;

/* the case's axes right-aligned in 3-D (unused leading axes of size 1) */
typedef struct {
    int64_t in[3], k[3], s[3], d[3], pb[3], out[3];
} naive_dims;

naive_dims naive_conv_dims(const naive_conv_case *b);

/* y = conv(x, w) + bias, and with gy the gradients dx, dw, db, all added into
 * the double arrays (zeroed by the caller); bias may be NULL. w is laid out
 * [taps][C/groups][F]; each (output, tap) pair is visited once. */
void naive_conv(const naive_conv_case *b, const float *x, const float *w, const float *bias, const float *gy,
                double *y, double *dx, double *dw, double *db);
#endif
