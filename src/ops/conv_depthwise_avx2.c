/* conv_depthwise.h's line kernels for AVX2 + FMA (8 channels per vector;
 * the channel tail through masked loads and stores). */
#include "conv_depthwise.h"

#ifndef TC_DOUBLE
#include "vec_avx2.h"
#include "conv_depthwise_line.inc"
#endif
