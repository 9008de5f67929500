/* Masks (see layer.h): Keras' Masking layer, and the mask helpers that
 * Embedding(mask_zero), Add and Concatenate use. A mask is a step tensor of
 * 0/1 without gradient, shaped like its value without the feature axis. */
#include "layer.h"

tc_tensor *tc_mask_where_not(tc_tensor *x, tc_scalar v, bool over_features)
{
    int64_t shape[TC_MAX_DIMS];
    int ndim = over_features ? x->ndim - 1 : x->ndim;
    int64_t group = over_features ? x->shape[x->ndim - 1] : 1;
    for (int i = 0; i < ndim; i++) shape[i] = x->shape[i];
    const tc_scalar *d = tc_packed(x);
    tc_tensor *m = d ? tc_result(ndim, shape) : NULL;
    if (!m) return NULL;
    int64_t n = tc_numel(m);
    for (int64_t i = 0; i < n; i++) {
        bool keep = false;
        for (int64_t j = 0; j < group && !keep; j++) keep = d[i * group + j] != v;
        m->data[i] = keep;
    }
    return m;
}

/* mask of input i, or ones where it has none */
static tc_tensor *mask_or_ones(tc_tensor *x, tc_tensor *mask)
{
    return mask ? mask : tc_full(x->ndim - 1, x->shape, 1);
}

tc_status tc_mask_merge(int n, tc_tensor *const *x, tc_tensor *const *mask, int axis, tc_tensor **merged)
{
    bool any = false;
    for (int i = 0; i < n; i++) any |= mask[i] != NULL;
    *merged = NULL;
    if (!any) return TC_OK;
    tc_tensor *ms[TC_LAYER_MAX_INPUTS];
    for (int i = 0; i < n; i++)
        if (!(ms[i] = mask_or_ones(x[i], mask[i]))) return tc_last_status();
    tc_tensor *m = ms[0];
    if (axis > 0 && axis < x[0]->ndim - 1) {
        m = tc_concat(n, ms, axis); /* joined along a time axis */
    } else {
        for (int i = 1; i < n && m; i++) m = tc_mul(m, ms[i]); /* a step is kept where every input keeps it */
    }
    return (*merged = m) ? TC_OK : tc_last_status();
}

tc_status tc_mask_from_any(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    for (int i = 0; i < n_in; i++)
        if (in_from[i] >= 0) {
            out_from[0] = in_from[i];
            break;
        }
    return TC_OK;
}

/* ---- Masking -------------------------------------------------------------------------- */
static tc_status masking_build(tc_layer *l, int n_in, const tc_shp *in, tc_shp *out, tc_rng *rng)
{
    char b[96];
    if (n_in != 1) return tc_error(TC_ERR_ARG, "%s (Masking): takes 1 input, given %d", l->name, n_in);
    if (in->ndim < 1)
        return tc_error(TC_ERR_SHAPE, "%s (Masking): input %s has no feature axis", l->name, tc_shp_str(in, b, sizeof b));
    *out = *in;
    return TC_OK;
}

static tc_status masking_masks(tc_layer *l, int n_in, const tc_shp *in, const int *in_from, int self, int *out_from)
{
    out_from[0] = self; /* a new mask: an input mask is not looked at, as in Keras */
    return TC_OK;
}

static tc_status masking_run(tc_layer *l, int n, tc_tensor *const *x, tc_tensor *const *mask, bool training, tc_tensor **y,
                             tc_tensor **ymask)
{
    tc_tensor *m = tc_mask_where_not(x[0], (tc_scalar)l->o.mask_value, true);
    if (!m) return tc_last_status();
    int64_t shape[TC_MAX_DIMS];
    memcpy(shape, x[0]->shape, sizeof(int64_t) * (size_t)x[0]->ndim);
    shape[x[0]->ndim - 1] = 1;
    /* Keras zeroes the masked steps (the mask does not require a gradient) */
    y[0] = tc_mul(x[0], tc_reshape(m, x[0]->ndim, shape));
    ymask[0] = m;
    return y[0] ? TC_OK : tc_last_status();
}

static const tc_layer_ops masking_ops = {"Masking", "masking", masking_build, NULL, NULL, TC_MASK_OWN, masking_masks, masking_run};

tc_layer *tc_masking(double mask_value, const char *name)
{
    tc_layer *l = tc_layer_alloc(&masking_ops, name);
    if (l) l->o.mask_value = mask_value;
    return l;
}
