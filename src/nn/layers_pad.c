/* Keras' ZeroPadding2D: zeros around the spatial axes (ResNet50 pads
 * before its 7x7 stride-2 convolution and its first max pooling). */
#include "layer.h"

static tc_status zpad_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1 || in->ndim != 3)
        return tc_error(TC_ERR_SHAPE, "%s (ZeroPadding2D): input %s must be (rows, cols, channels)", l->name,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    *out = *in;
    out->d[0] += l->o.pad[0] + l->o.pad[1];
    out->d[1] += l->o.pad[2] + l->o.pad[3];
    return TC_OK;
}
static tc_tensor *zpad_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    const int64_t *p = l->o.pad;
    return tc_pad(x[0], (int64_t[]){0, p[0], p[2], 0}, (int64_t[]){0, p[1], p[3], 0}, TC_PAD_CONSTANT, 0);
}
static const tc_layer_ops zpad_ops = {"ZeroPadding2D", "zero_padding2d", zpad_build, zpad_call};

tc_layer *tc_zero_padding2d(int top, int bottom, int left, int right, const char *name)
{
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
        tc_layer_ctor_error("ZeroPadding2D: paddings (%d, %d, %d, %d) must be >= 0", top, bottom, left, right);
        return NULL;
    }
    tc_layer *l = tc_layer_alloc(&zpad_ops, name);
    if (!l) return NULL;
    l->o.pad[0] = top;
    l->o.pad[1] = bottom;
    l->o.pad[2] = left;
    l->o.pad[3] = right;
    return l;
}

static tc_status zpad3_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1 || in->ndim != 4)
        return tc_error(TC_ERR_SHAPE, "%s (ZeroPadding3D): input %s must be (depth, rows, cols, channels)", l->name,
                        n_in == 1 ? tc_shp_str(in, b, sizeof b) : "(several)");
    *out = *in;
    for (int a = 0; a < 3; a++) out->d[a] += l->o.pad[2 * a] + l->o.pad[2 * a + 1];
    return TC_OK;
}
static tc_tensor *zpad3_call(tc_layer *l, int n, tc_tensor *const *x, bool training)
{
    const int64_t *p = l->o.pad;
    return tc_pad(x[0], (int64_t[]){0, p[0], p[2], p[4], 0}, (int64_t[]){0, p[1], p[3], p[5], 0}, TC_PAD_CONSTANT, 0);
}
static const tc_layer_ops zpad3_ops = {"ZeroPadding3D", "zero_padding3d", zpad3_build, zpad3_call};

tc_layer *tc_zero_padding3d(const int pads[6], const char *name)
{
    for (int i = 0; i < 6; i++)
        if (pads[i] < 0) {
            tc_layer_ctor_error("ZeroPadding3D: paddings must be >= 0 (got %d)", pads[i]);
            return NULL;
        }
    tc_layer *l = tc_layer_alloc(&zpad3_ops, name);
    if (!l) return NULL;
    for (int i = 0; i < 6; i++) l->o.pad[i] = pads[i];
    return l;
}
