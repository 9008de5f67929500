/* conv_colsum.h's column sums for AVX2 (8 columns per vector, the column
 * tail through masked loads and stores). */
#include "conv_colsum.h"

#ifndef TC_DOUBLE
#include "vec_avx2.h"
#include "conv_colsum.inc"
#endif
