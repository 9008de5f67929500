/* conv_colsum.h's column sums for AVX-512 (16 columns per vector, the
 * column tail through masks). */
#include "conv_colsum.h"

#ifndef TC_DOUBLE
#include "vec_avx512.h"
#include "conv_colsum.inc"
#endif
