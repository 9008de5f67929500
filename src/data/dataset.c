/* Data sets: ownership, splits and feature-wise normalisation. */
#include "../core/internal.h"
#include "tensorcook/autograd.h"
#include "tensorcook/ops.h"
#include "tensorcook/data.h"

#include <math.h>
#include <stdlib.h>

void tc_dataset_free(tc_dataset *d)
{
    if (!d) return;
    tc_tensor_free(d->x);
    tc_tensor_free(d->y);
    for (int i = 0; d->class_names && i < d->classes; i++) free(d->class_names[i]);
    free(d->class_names);
    free(d);
}

int64_t tc_dataset_size(const tc_dataset *d) { return d && d->x ? d->x->shape[0] : 0; }

/* rows [from, from+n) of t as a new long-lived tensor */
static tc_tensor *rows(const tc_tensor *t, int64_t from, int64_t n)
{
    if (!t) return NULL;
    int64_t shape[TC_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = n;
    int64_t per = t->shape[0] ? tc_numel(t) / t->shape[0] : 0;
    return tc_tensor_from(t->ndim, shape, t->data + from * per);
}

tc_status tc_dataset_split(tc_dataset *d, double fraction, tc_dataset **tail)
{
    if (!d || !tail || !(fraction > 0 && fraction < 1))
        return tc_error(TC_ERR_ARG, "dataset_split: fraction %g must be in (0, 1)", fraction);
    int64_t n = tc_dataset_size(d), k = (int64_t)floor((double)n * fraction);
    if (k < 1 || k >= n) return tc_error(TC_ERR_ARG, "dataset_split: %lld examples cannot give a split of %g", (long long)n, fraction);
    tc_dataset *t = calloc(1, sizeof *t);
    if (!t) return tc_error(TC_ERR_MEMORY, "dataset_split: out of memory");
    t->x = rows(d->x, n - k, k);
    t->y = d->y ? rows(d->y, n - k, k) : NULL;
    t->classes = d->classes;
    if (!t->x || (d->y && !t->y) || tc_dataset_truncate(d, n - k) != TC_OK) {
        tc_dataset_free(t);
        return tc_last_status();
    }
    *tail = t;
    return TC_OK;
}

tc_status tc_dataset_truncate(tc_dataset *d, int64_t n)
{
    if (!d || n < 0 || n > tc_dataset_size(d)) return tc_error(TC_ERR_ARG, "dataset_truncate: bad size %lld", (long long)n);
    tc_tensor *x = rows(d->x, 0, n), *y = d->y ? rows(d->y, 0, n) : NULL;
    if (!x || (d->y && !y)) {
        tc_tensor_free(x);
        tc_tensor_free(y);
        return tc_last_status();
    }
    tc_tensor_free(d->x);
    tc_tensor_free(d->y);
    d->x = x;
    d->y = y;
    return TC_OK;
}

tc_status tc_normalizer_fit_scope(tc_normalizer *nz, const tc_dataset *train, tc_norm_scope scope)
{
    if (!nz || !train || !train->x || tc_dataset_size(train) < 1) return tc_error(TC_ERR_ARG, "normalizer_fit: empty data set");
    if (scope != TC_NORM_PER_FEATURE && scope != TC_NORM_GLOBAL && scope != TC_NORM_PER_CHANNEL)
        return tc_error(TC_ERR_ARG, "normalizer_fit: unknown scope %d", (int)scope);
    int64_t n = tc_dataset_size(train), per = tc_numel(train->x) / n;
    int64_t shape[TC_MAX_DIMS] = {1}, ndim = 1;
    if (scope == TC_NORM_PER_CHANNEL) shape[0] = train->x->ndim > 1 ? train->x->shape[train->x->ndim - 1] : 1;
    if (scope == TC_NORM_PER_FEATURE) {
        ndim = train->x->ndim - 1;
        memcpy(shape, train->x->shape + 1, sizeof(int64_t) * (size_t)ndim);
        if (ndim == 0) ndim = 1, shape[0] = 1;
    }
    tc_normalizer_free(nz);
    nz->scope = scope;
    nz->mean = tc_tensor_new((int)ndim, shape);
    nz->std = tc_tensor_new((int)ndim, shape);
    int64_t k = nz->mean ? tc_numel(nz->mean) : 1;
    double *s = calloc((size_t)k, sizeof(double)), *s2 = calloc((size_t)k, sizeof(double));
    if (!nz->mean || !nz->std || !s || !s2) {
        free(s);
        free(s2);
        tc_normalizer_free(nz);
        return tc_error(TC_ERR_MEMORY, "normalizer_fit: out of memory");
    }
    /* value j of an example belongs to statistic j % k (k = 1, C or per);
     * sums in double, in a fixed order */
    const double count = (double)(n * (per / k));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < per; j++) s[j % k] += train->x->data[i * per + j];
    for (int64_t j = 0; j < k; j++) s[j] /= count;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < per; j++) {
            double dv = train->x->data[i * per + j] - s[j % k];
            s2[j % k] += dv * dv;
        }
    for (int64_t j = 0; j < k; j++) {
        nz->mean->data[j] = (tc_scalar)s[j];
        nz->std->data[j] = (tc_scalar)sqrt(s2[j] / count);
    }
    free(s);
    free(s2);
    return TC_OK;
}

tc_status tc_normalizer_fit(tc_normalizer *nz, const tc_dataset *train)
{
    return tc_normalizer_fit_scope(nz, train, TC_NORM_PER_FEATURE);
}

tc_status tc_normalizer_apply(const tc_normalizer *nz, tc_dataset *d)
{
    if (!nz || !nz->mean || !d || !d->x) return tc_error(TC_ERR_ARG, "normalizer_apply: not fitted or no data");
    int64_t k = tc_numel(nz->mean), n = tc_dataset_size(d), per = n ? tc_numel(d->x) / n : 0;
    bool fits = nz->scope == TC_NORM_GLOBAL || (nz->scope == TC_NORM_PER_FEATURE && per == k) ||
                (nz->scope == TC_NORM_PER_CHANNEL && d->x->ndim > 1 && d->x->shape[d->x->ndim - 1] == k);
    if (n && !fits)
        return tc_error(TC_ERR_SHAPE, "normalizer_apply: examples %s do not match the fitted %s", TC_SHP(d->x), TC_SHP(nz->mean));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < per; j++) {
            tc_scalar sd = nz->std->data[j % k];
            tc_scalar *v = &d->x->data[i * per + j];
            *v = (*v - nz->mean->data[j % k]) / (sd > 1e-7f ? sd : 1); /* constant features only centred */
        }
    return TC_OK;
}

void tc_normalizer_free(tc_normalizer *nz)
{
    if (!nz) return;
    tc_tensor_free(nz->mean);
    tc_tensor_free(nz->std);
    nz->mean = nz->std = NULL;
}
