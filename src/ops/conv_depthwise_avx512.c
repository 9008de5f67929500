/* conv_depthwise.h's line kernels for AVX-512 (16 channels per vector; the
 * channel tail through masks). */
#include "conv_depthwise.h"

#ifndef TC_DOUBLE
#include "vec_avx512.h"
#include "conv_depthwise_line.inc"
#endif
