/* Interpolation weights shared by tc_resize and the ONNX importer's Resize. */
#ifndef TC_RESIZE_H
#define TC_RESIZE_H

#include "../core/internal.h"

typedef enum { M_NEAREST, M_LINEAR, M_CUBIC } rmode;
/* same order as tc_coord_mode, plus crop-and-resize */
typedef enum { C_HALF_PIXEL, C_PYTORCH_HALF_PIXEL, C_ALIGN_CORNERS, C_ASYMMETRIC, C_TF_HALF_PIXEL_FOR_NN,
               C_TF_CROP_AND_RESIZE } rcoord;
typedef enum { N_PREFER_FLOOR, N_PREFER_CEIL, N_FLOOR, N_CEIL } rnearest;

typedef struct {
    rmode mode;
    rcoord coord;
    rnearest nearest;
    double cubic_a;
    bool exclude_outside;
    double extrapolation;
} rattrs;

/* Resize axis `axis` of x to `out` entries (scale: the coordinate scale;
 * roi_lo/hi: crop box for tf_crop_and_resize). */
tc_tensor *tc_resize_axis(tc_tensor *x, int axis, int64_t out, double scale, const rattrs *a, double roi_lo,
                          double roi_hi);

#endif
