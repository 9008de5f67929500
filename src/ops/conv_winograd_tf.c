/* conv_winograd_tf.inc's transforms compiled for generic. */
#include "conv_winograd.h"

#define SUFFIX(name) name##_generic
#include "conv_winograd_tf.inc"
