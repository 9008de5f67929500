/* conv_winograd_tf.inc's transforms compiled for avx2 (this file's target flags, CMakeLists.txt). */
#include "conv_winograd.h"

#define SUFFIX(name) name##_avx2
#include "conv_winograd_tf.inc"
