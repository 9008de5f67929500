/* A convolution kernel packed once for inference (tc_conv_weights): the
 * per-group GEMM panels that tc_conv_forward_kernel would otherwise pack on
 * every call (prepare_kernel in conv_im2col.c, and the packing inside the
 * 1x1 direct path's GEMM). The panels are made by tc_gemm_prepare_b_kept
 * with the same blocking the per-call panels have (fixed by the shape), so
 * the products, and the bits, are those of the unpacked path.
 * tc_conv_weights_prepare_prec stores them in bf16 or int8 instead
 * (src/core/gemm_lowp.c, which tc_gemm_b runs for such panels): the im2col
 * tiles and the 1x1 direct path then multiply reduced-precision weights.
 * Depthwise and thin kernels keep their float loops (no panels).
 * With Winograd or auto (the default) selected, a float 3x3 kernel also
 * keeps its Winograd transform's panels (tc_conv_weights_winograd), made at
 * its first Winograd call: per call they cost as much as the products of
 * ~40 tiles save, which kept inference (batch 1, small maps) on the direct
 * path. */
#include "conv.h"
#include "conv_winograd.h"
#include <stdlib.h>

struct tc_conv_weights {
    const tc_scalar *data;         /* the kernel's values it was packed from */
    int ndim;
    int64_t shape[TC_MAX_DIMS];
    int64_t groups;
    tc_gemm_b_panel *panels;       /* per group: W [K, Fg] (ldb F), or NULL: nothing packed */
    tc_wino_kernel *wino;          /* the Winograd kernel once made (atomic: set once), or NULL */
    bool wino_failed;              /* making it ran out of memory once: not tried again */
};

tc_conv_weights *tc_conv_weights_prepare(const tc_tensor *kernel, int groups)
{
    return tc_conv_weights_prepare_prec(kernel, groups, TC_PRECISION_FP32);
}

tc_conv_weights *tc_conv_weights_prepare_prec(const tc_tensor *kernel, int groups, tc_precision prec)
{
    TC_CHECK(kernel && kernel->ndim >= 3 && kernel->ndim <= 5, TC_ERR_ARG,
             "conv weights: need a kernel [k..., C/groups, F] of rank 3 to 5");
    TC_CHECK(tc_is_contiguous(kernel), TC_ERR_ARG, "conv weights: kernel %s is not contiguous", TC_SHP(kernel));
    const int64_t g = groups > 0 ? groups : 1, F = kernel->shape[kernel->ndim - 1];
    const int64_t Cg = kernel->shape[kernel->ndim - 2];
    TC_CHECK(F % g == 0, TC_ERR_SHAPE, "conv weights: %lld groups do not divide the %lld filters of %s",
             (long long)g, (long long)F, TC_SHP(kernel));
    tc_conv_weights *w = calloc(1, sizeof *w);
    TC_CHECK(w, TC_ERR_MEMORY, "conv weights: out of memory");
    w->data = kernel->data;
    w->ndim = kernel->ndim;
    memcpy(w->shape, kernel->shape, sizeof(int64_t) * (size_t)kernel->ndim);
    w->groups = g;
    /* depthwise kernels run their own loops, thin ones (C <= 4) their own
     * small GEMMs: no panels to keep */
    if (g > 1 && Cg == 1) return w;
    if (g == 1 && Cg <= 4) return w;
    const int64_t K = tc_numel(kernel) / F, Fg = F / g;
    w->panels = calloc((size_t)g, sizeof *w->panels);
    if (!w->panels) {
        free(w);
        return tc_error(TC_ERR_MEMORY, "conv weights: out of memory"), NULL;
    }
    for (int64_t i = 0; i < g; i++)
        if (!tc_gemm_prepare_b_kept_prec(&w->panels[i], false, K, Fg, kernel->data + i * Fg, F, prec)) {
            tc_conv_weights_free(w);
            return NULL;
        }
    return w;
}

void tc_conv_weights_free(tc_conv_weights *w)
{
    if (!w) return;
    tc_conv_winograd_kernel_free(w->wino);
    if (w->panels)
        for (int64_t i = 0; i < w->groups; i++) tc_gemm_b_panel_release(&w->panels[i]);
    free(w->panels);
    free(w);
}

const tc_gemm_b_panel *tc_conv_weights_panels(const tc_conv_weights *w, const tc_tensor *kernel, int64_t groups)
{
    if (!w || !w->panels || !kernel || kernel->data != w->data || kernel->ndim != w->ndim || groups != w->groups ||
        (kernel->flags & TC_REQUIRES_GRAD) || !tc_is_contiguous(kernel))
        return NULL;
    for (int i = 0; i < w->ndim; i++)
        if (kernel->shape[i] != w->shape[i]) return NULL;
    return w->panels;
}

const tc_wino_kernel *tc_conv_weights_winograd(const tc_conv_weights *cw, const conv_plan *p)
{
    /* p->wpk is cw's panels only when cw was made from this very kernel and
     * no gradient is required (tc_conv_weights_panels) */
    if (!cw || !p->wpk || p->wpk != cw->panels || !tc_conv_winograd_shape_ok(p) || p->groups != 1) return NULL;
    /* auto leaves bf16 / int8 kernels to their reduced-precision panels
     * (asked for); an explicit winograd replaces them with float Winograd */
    if (cw->panels[0].lowp && tc_conv_get_algorithm() == TC_CONV_AUTO) return NULL;
    /* not for a call that would stay direct even with it (nothing kept for nothing) */
    if (!tc_conv_winograd_enough(p, true)) return NULL;
    tc_conv_weights *w = (tc_conv_weights *)cw; /* a cache: the object's meaning does not change */
    tc_wino_kernel *k = __atomic_load_n(&w->wino, __ATOMIC_ACQUIRE);
    if (k || __atomic_load_n(&w->wino_failed, __ATOMIC_RELAXED)) return k;
    tc_status before = tc_last_status();
    k = tc_conv_winograd_kernel_new(w->data, p->C, p->F);
    if (!k) { /* the per-call transform still runs (it asks the arena) */
        __atomic_store_n(&w->wino_failed, true, __ATOMIC_RELAXED);
        if (before == TC_OK) tc_clear_error();
        return NULL;
    }
    tc_wino_kernel *none = NULL;
    if (!__atomic_compare_exchange_n(&w->wino, &none, k, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        tc_conv_winograd_kernel_free(k); /* another thread made it first: the same values */
        return none;
    }
    return k;
}
