/* Chains of Convs run image by image, and in row bands within an image, in
 * inference (onnx_block.c). */
#ifndef TC_ONNX_BLOCK_H
#define TC_ONNX_BLOCK_H

#include "onnx_run.h"

/* Up to three Convs, each the only reader of the one before (with its
 * fused epilogue): MobileNet-v2's expand 1x1 -> depthwise 3x3 -> project
 * 1x1 (+ residual Add). runs: the times it ran image by image or in bands. */
#define TC_ONNX_BLOCK_MAX 3
/* Row bands: an image's chain runs in bands of output rows whose
 * intermediate rows (expanded map + depthwise output) take at most this
 * many KiB (TENSORCOOK_ONNX_BAND overrides; 0: whole images), so they stay
 * in the core's L2 between the three Convs. */
#define TC_ONNX_BAND_KIB 1024
typedef struct onnx_block {
    int n;
    int node[TC_ONNX_BLOCK_MAX];
    int64_t runs;
    int64_t banded_runs; /* of those, the runs in row bands */
    int64_t bands;       /* bands per image at the last run */
    /* the last input it ran on and its result's shape (channels-last), which
     * lets the threads start on all images at once */
    bool shaped;
    int64_t in_shape[4], out_shape[4];
} onnx_block;

/* At the end of tc_onnx_prepare_inference: finds the chains, sets
 * m->nodes[first].block. */
tc_status tc_onnx_plan_blocks(tc_onnx_model *m);

/* At node k (a chain's first Conv): runs the chain image by image when the
 * batch's intermediate maps are large (TENSORCOOK_ONNX_BLOCK), in row bands
 * when one image's are (TENSORCOOK_ONNX_BAND), writes its
 * last value and sets done[j] for its nodes (the run loop then skips them
 * and their absorbed epilogue nodes). 1: ran; 0: declined (the nodes run as
 * usual); -1: failed (error set). */
int tc_onnx_block_run(onnx_ctx *c, int k, onnx_live *live, bool *done);

#endif
