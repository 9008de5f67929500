/* `tensorcook onnx run --profile`: the per-node report (onnx_profile.c). */
#ifndef TC_RECIPES_ONNX_PROFILE_H
#define TC_RECIPES_ONNX_PROFILE_H

#include <stdio.h>

#include "tensorcook/tensorcook.h"
#include "tensorcook/onnx.h"

/* Prints to f where m's time went over its runs profiled runs (per operator
 * type, then the top nodes), with the products' GFLOP/s. */
void onnx_print_profile(const tc_onnx_model *m, int runs, FILE *f);

#endif
