/* Copy or add between two equally shaped strided layouts. */
#include "internal.h"

void tc_strided_apply(int ndim, const int64_t *shape, tc_scalar *dst, const int64_t *dst_strides,
                      const tc_scalar *src, const int64_t *src_strides, bool accumulate)
{
    int64_t n = tc_shape_numel(ndim, shape);
    if (n == 0) return;
    if (ndim == 0) {
        *dst = accumulate ? *dst + *src : *src;
        return;
    }
    int64_t idx[TC_MAX_DIMS] = {0};
    int64_t inner = shape[ndim - 1], ds = dst_strides[ndim - 1], ss = src_strides[ndim - 1];
    int64_t doff = 0, soff = 0;
    for (int64_t done = 0; done < n; done += inner) {
        tc_scalar *d = dst + doff;
        const tc_scalar *s = src + soff;
        if (accumulate)
            for (int64_t i = 0; i < inner; i++) d[i * ds] += s[i * ss];
        else
            for (int64_t i = 0; i < inner; i++) d[i * ds] = s[i * ss];
        for (int k = ndim - 2; k >= 0; k--) {
            idx[k]++;
            doff += dst_strides[k];
            soff += src_strides[k];
            if (idx[k] < shape[k]) break;
            doff -= idx[k] * dst_strides[k];
            soff -= idx[k] * src_strides[k];
            idx[k] = 0;
        }
    }
}
