/* Saliency maps (keras-vis' visualize_saliency): the gradient of one
 * output with respect to the image, under the ReLU backprop mode chosen for
 * this call (plain, guided, rectified: tc_set_relu_grad_mode), |g| maximised
 * over channels and scaled to [0, 1]; shown as a jet heatmap over the image. */
#include <math.h>

#include "visualize.h"

tc_tensor *vis_saliency(const vis_target *t, const tc_tensor *x0, tc_relu_grad_mode mode, tc_tensor **raw)
{
    int64_t H = x0->shape[1], W = x0->shape[2];
    tc_tensor *x = tc_copy_of(x0->data, 4, x0->shape);
    tc_tensor *map = tc_tensor_new(2, (int64_t[]){H, W});
    if (!x || !map) return NULL;
    tc_set_requires_grad(x, true);
    tc_tensor *y = vis_target_output(t, x);
    tc_tensor *out = y ? tc_mean(tc_narrow(y, y->ndim - 1, t->index, 1), 0, NULL, false) : NULL;
    tc_relu_grad_mode was = tc_set_relu_grad_mode(mode);
    bool ok = out && tc_backward(out) == TC_OK;
    tc_set_relu_grad_mode(was);
    if (ok && raw) ok = (*raw = tc_tensor_keep(x->grad)) != NULL;
    if (ok) {
        const tc_scalar *g = x->grad->data;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t p = 0; p < H * W; p++) {
            double m = 0;
            for (int c = 0; c < 3; c++) m = fmax(m, fabs(g[p * 3 + c]));
            map->data[p] = (tc_scalar)m;
            lo = fmin(lo, m), hi = fmax(hi, m);
        }
        for (int64_t p = 0; p < H * W; p++) map->data[p] = (tc_scalar)((map->data[p] - lo) / (hi - lo + 1e-7));
    }
    tc_step_reset();
    if (!ok) {
        tc_tensor_free(map);
        return NULL;
    }
    return map;
}

/* matplotlib's jet: piecewise linear red, green, blue */
static double jet_part(double v, double centre)
{
    double a = 1.5 - fabs(4 * v - centre);
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

tc_tensor *vis_overlay(const tc_tensor *rgb, const tc_tensor *map)
{
    int64_t H = map->shape[0], W = map->shape[1];
    tc_tensor *o = tc_tensor_new(3, (int64_t[]){H, W, 3});
    if (!o) return NULL;
    for (int64_t p = 0; p < H * W; p++) {
        double v = map->data[p], jet[3] = {jet_part(v, 3), jet_part(v, 2), jet_part(v, 1)};
        for (int c = 0; c < 3; c++) o->data[p * 3 + c] = (tc_scalar)(0.5 * rgb->data[p * 3 + c] + 0.5 * 255 * jet[c]);
    }
    return o;
}
