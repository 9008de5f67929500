/* ONNX Resize and Upsample on the interpolation matrices of src/ops/resize.c. */
#include "onnx_run.h"

#include <math.h>
#include <stdlib.h>

static tc_status resize(onnx_ctx *c, tc_tensor *x, const double *scales, const int64_t *sizes, const double *roi,
                        const tc_resize_axis_opts *a, tc_tensor **out)
{
    tc_tensor *y = x;
    for (int d = 0; d < x->ndim; d++) {
        int64_t in = x->shape[d], o;
        double scale;
        if (sizes) {
            o = sizes[d];
            scale = (double)o / (double)in;
        } else {
            scale = scales[d];
            o = (int64_t)floor((double)in * scale);
        }
        if (o <= 0 || in <= 0) return tc_onnx_fail(c, TC_ERR_SHAPE, "axis %d: size %lld resized to %lld", d, (long long)in, (long long)o);
        bool identity = o == in && scale == 1.0 && a->coord != TC_COORD_TF_CROP_AND_RESIZE;
        if (identity) continue;
        ONNX_TRY(c, y = tc_resize_axis(y, d, o, scale, a, roi ? roi[d] : 0, roi ? roi[d + x->ndim] : 1));
    }
    if (y == x) ONNX_TRY(c, y = tc_mul_scalar(x, 1));
    *out = y;
    return TC_OK;
}

/* Resize's attributes, parsed once at load */
static tc_status read_attrs(const onnx_node *n, tc_resize_axis_opts *a, const char *default_coord)
{
    const char *mode = tc_onnx_attr_string(n, "mode", "nearest");
    const char *coord = tc_onnx_attr_string(n, "coordinate_transformation_mode", default_coord);
    const char *nearest = tc_onnx_attr_string(n, "nearest_mode", "round_prefer_floor");
    if (!strcmp(mode, "nearest")) a->mode = TC_RESIZE_NEAREST;
    else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) a->mode = TC_RESIZE_LINEAR;
    else if (!strcmp(mode, "cubic")) a->mode = TC_RESIZE_CUBIC;
    else return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "mode '%s'", mode);
    static const char *coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                   "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    int ci = -1;
    for (int i = 0; i < 6; i++)
        if (!strcmp(coord, coords[i])) ci = i;
    if (ci < 0) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'", coord);
    a->coord = (tc_coord_mode)ci;
    static const char *nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int ni = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(nearest, nears[i])) ni = i;
    if (ni < 0) return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "nearest_mode '%s'", nearest);
    a->nearest = (tc_nearest_mode)ni;
    a->cubic_a = tc_onnx_attr_float(n, "cubic_coeff_a", -0.75f);
    a->exclude_outside = tc_onnx_attr_int(n, "exclude_outside", 0) != 0;
    a->extrapolation = tc_onnx_attr_float(n, "extrapolation_value", 0);
    return TC_OK;
}

tc_status tc_onnx_prep_resize(tc_onnx_model *m, onnx_node *n)
{
    tc_resize_axis_opts *a = ATTRS_NEW(tc_resize_axis_opts);
    if (!a) return tc_last_status();
    return read_attrs(n, a, m->opset >= 11 ? "half_pixel" : "asymmetric");
}

typedef struct {
    tc_resize_axis_opts a;
    int n_scales;
    float scales[TC_MAX_DIMS];
} upsample_attrs;

tc_status tc_onnx_prep_upsample(tc_onnx_model *m, onnx_node *n)
{
    (void)m;
    upsample_attrs *u = ATTRS_NEW(upsample_attrs);
    if (!u) return tc_last_status();
    const char *mode = tc_onnx_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "bilinear"))
        return tc_onnx_prep_fail(n, TC_ERR_UNSUPPORTED, "mode '%s'", mode);
    u->a.mode = !strcmp(mode, "nearest") ? TC_RESIZE_NEAREST : TC_RESIZE_LINEAR;
    u->a.coord = TC_COORD_ASYMMETRIC;
    u->a.nearest = TC_NEAREST_FLOOR;
    u->n_scales = tc_onnx_attr_floats(n, "scales", u->scales, TC_MAX_DIMS);
    return TC_OK;
}

static int read_doubles(onnx_ctx *c, const tc_tensor *t, double *v, int max)
{
    int64_t k = tc_numel(t);
    if (k > max) return -1;
    tc_scalar tmp[2 * TC_MAX_DIMS];
    tc_read_values(t, tmp);
    for (int64_t i = 0; i < k; i++) v[i] = tmp[i];
    return (int)k;
}

tc_status tc_onnx_op_resize(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    if (n_in < 1 || !in[0]) return tc_onnx_fail(c, TC_ERR_ARG, "input is missing");
    tc_tensor *x = in[0];
    int r = x->ndim;
    const tc_resize_axis_opts *a = ATTRS(tc_resize_axis_opts);
    double scales[TC_MAX_DIMS], roi[2 * TC_MAX_DIMS];
    int64_t sizes[TC_MAX_DIMS];
    bool have_roi = false, have_sizes = false, have_scales = false;
    tc_tensor *t_scales = c->m->opset >= 11 ? (n_in > 2 ? in[2] : NULL) : (n_in > 1 ? in[1] : NULL);
    tc_tensor *t_sizes = c->m->opset >= 11 && n_in > 3 ? in[3] : NULL;
    if (c->m->opset >= 11 && n_in > 1 && in[1] && tc_numel(in[1]) > 0) {
        if (read_doubles(c, in[1], roi, 2 * TC_MAX_DIMS) != 2 * r) return tc_onnx_fail(c, TC_ERR_SHAPE, "roi must have %d values", 2 * r);
        have_roi = true;
    }
    if (t_sizes && tc_numel(t_sizes) > 0) {
        if (tc_onnx_ints(c, t_sizes, sizes, TC_MAX_DIMS, "sizes") != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "sizes must have %d values", r);
        have_sizes = true;
    } else if (t_scales && tc_numel(t_scales) > 0) {
        if (read_doubles(c, t_scales, scales, TC_MAX_DIMS) != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "scales must have %d values", r);
        have_scales = true;
    }
    if (!have_sizes && !have_scales) return tc_onnx_fail(c, TC_ERR_ARG, "needs scales or sizes");
    return resize(c, x, have_scales ? scales : NULL, have_sizes ? sizes : NULL, have_roi ? roi : NULL, a, out);
}

tc_status tc_onnx_op_upsample(onnx_ctx *c, const onnx_node *n, int n_in, tc_tensor **in, int n_out, tc_tensor **out)
{
    if (n_in < 1 || !in[0]) return tc_onnx_fail(c, TC_ERR_ARG, "input is missing");
    int r = in[0]->ndim;
    const upsample_attrs *u = ATTRS(upsample_attrs);
    double scales[TC_MAX_DIMS];
    int k;
    if (n_in > 1 && in[1]) k = read_doubles(c, in[1], scales, TC_MAX_DIMS);
    else {
        k = u->n_scales;
        for (int i = 0; i < k && i < TC_MAX_DIMS; i++) scales[i] = u->scales[i];
    }
    if (k != r) return tc_onnx_fail(c, TC_ERR_SHAPE, "scales must have %d values", r);
    return resize(c, in[0], scales, NULL, NULL, &u->a, out);
}
