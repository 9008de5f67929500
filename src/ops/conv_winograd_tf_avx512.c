/* conv_winograd_tf.inc's transforms compiled for avx512 (this file's target flags, CMakeLists.txt). */
#include "conv_winograd.h"

#define SUFFIX(name) name##_avx512
#include "conv_winograd_tf.inc"
