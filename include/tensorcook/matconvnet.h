/* MatConvNet SimpleNN files (.mat), e.g. imagenet-vgg-verydeep-19.mat.
 *
 * The file holds a cell array `layers` (top level, or inside a struct `net`)
 * of structs with `name` and `type`; a conv layer has `weights` = {F, b}
 * (older files: `filters` and `biases`). MatConvNet's vl_nnconv documents
 * F as FH x FW x FC x K (MATLAB's first index is the row, i.e. the height),
 * stored column-major; it is converted to the Keras kernel layout
 * (H, W, C_in, C_out) row-major. Fields are looked up by name, never by
 * position (the public copies of the VGG19 file order them differently).
 * The mean image is meta.normalization.averageImage (newer files) or
 * normalization.averageImage (older); either a 3-vector or an H x W x 3
 * image, whose per-channel mean is taken.
 * v5 files (zlib-compressed or not) and v7.3 (HDF5) files are read through
 * libmatio. */
#ifndef TENSORCOOK_MATCONVNET_H
#define TENSORCOOK_MATCONVNET_H

#include "core.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MatConvNet's VGG names to the zoo's Keras names: convX_Y -> blockX_convY;
 * other names are kept. Writes at most n bytes (NUL included). */
void tc_matconvnet_keras_name(const char *mat_name, char *out, size_t n);

/* Loads the conv layers of a MatConvNet file into m by name (after the
 * mapping above). Every layer of m that has weights must be found in the
 * file with the same kernel and bias shapes; file layers the model does not
 * have (fc6..fc8 for a model without the top) are ignored. Any problem: one
 * error naming the file and the layer, and nothing changed. */
tc_status tc_load_matconvnet_weights(tc_model *m, const char *path);

/* The per-channel mean (RGB) of the file's averageImage. */
tc_status tc_matconvnet_mean(const char *path, double mean_rgb[3]);

#ifdef __cplusplus
}
#endif
#endif
