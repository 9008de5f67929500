/* Packed SGEMM driver: B is packed in KC x NC blocks of NR-wide strips, A in
 * MC x KC blocks of MR-high strips (zero padded), and a register-blocked
 * micro-kernel computes each MR x NR tile. Block sizes come from constants
 * and the kernel only, so every element of C is computed by the same
 * sequence of operations however the blocks are later shared out. */
#include "gemm_pack.h"

#include <stdlib.h>
#include <string.h>

#define GEMM_KC 256
#define GEMM_MC_TILES 24  /* MC = 24 * MR rows of A per block */
#define GEMM_NC 2048

/* aligned_alloc wants a multiple of the alignment */
static size_t round64(size_t bytes) { return (bytes + 127) / 64 * 64; }

static void pack_b(bool tb, const float *b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr,
                   float *dst)
{
    for (int64_t js = 0; js < nc; js += nr) {
        int64_t w = nc - js < nr ? nc - js : nr;
        for (int64_t p = 0; p < kc; p++) {
            float *d = dst + (js / nr) * kc * nr + p * nr;
            /* the two layouts in separate loops: the untransposed row is one
             * contiguous copy (the ternary inside one loop kept it scalar) */
            if (tb)
                for (int64_t j = 0; j < w; j++) d[j] = b[(j0 + js + j) * ldb + p0 + p];
            else
                memcpy(d, b + (p0 + p) * ldb + j0 + js, sizeof(float) * (size_t)w);
            for (int64_t j = w; j < nr; j++) d[j] = 0;
        }
    }
}

static void pack_a(bool ta, const float *a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr,
                   float *dst)
{
    for (int64_t is = 0; is < mc; is += mr) {
        int64_t h = mc - is < mr ? mc - is : mr;
        for (int64_t p = 0; p < kc; p++) {
            float *d = dst + (is / mr) * kc * mr + p * mr;
            if (ta)
                memcpy(d, a + (p0 + p) * lda + i0 + is, sizeof(float) * (size_t)h);
            else
                for (int64_t i = 0; i < h; i++) d[i] = a[(i0 + is + i) * lda + p0 + p];
            for (int64_t i = h; i < mr; i++) d[i] = 0;
        }
    }
}

void tc_sgemm_packed(const tc_sgemm_kernel_info *kern, bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    const int mr = kern->mr, nr = kern->nr;
    const int64_t mc_max = (int64_t)GEMM_MC_TILES * mr;
    const int64_t nc_max = (GEMM_NC / nr) * nr;
    /* buffers sized by the call (the blocking itself does not change) */
    const int64_t kc_use = k < GEMM_KC ? k : GEMM_KC;
    const int64_t nc_use = ((n < nc_max ? n : nc_max) + nr - 1) / nr * nr;
    const int64_t mc_use = ((m < mc_max ? m : mc_max) + mr - 1) / mr * mr;
    float *bp = aligned_alloc(64, round64((size_t)(kc_use * nc_use) * sizeof(float)));
    float *ap = aligned_alloc(64, round64((size_t)(kc_use * mc_use) * sizeof(float)));
    if (!bp || !ap) { /* cannot fail silently: compute unpacked */
        free(bp);
        free(ap);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                float s = 0;
                for (int64_t p = 0; p < k; p++)
                    s += (trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + alpha * s;
            }
        return;
    }
    float tile[64 * 64];
    for (int64_t j0 = 0; j0 < n; j0 += nc_max) {
        int64_t nc = n - j0 < nc_max ? n - j0 : nc_max;
        for (int64_t p0 = 0; p0 < k; p0 += GEMM_KC) {
            int64_t kc = k - p0 < GEMM_KC ? k - p0 : GEMM_KC;
            bool first = p0 == 0;
            pack_b(trans_b, b, ldb, p0, kc, j0, nc, nr, bp);
            for (int64_t i0 = 0; i0 < m; i0 += mc_max) {
                int64_t mc = m - i0 < mc_max ? m - i0 : mc_max;
                pack_a(trans_a, a, lda, i0, mc, p0, kc, mr, ap);
                for (int64_t js = 0; js < nc; js += nr) {
                    int64_t w = nc - js < nr ? nc - js : nr;
                    for (int64_t is = 0; is < mc; is += mr) {
                        int64_t h = mc - is < mr ? mc - is : mr;
                        const float *at = ap + (is / mr) * kc * mr, *bt = bp + (js / nr) * kc * nr;
                        float *ct = c + (i0 + is) * ldc + j0 + js;
                        if (h == mr && w == nr) {
                            kern->kernel(kc, at, bt, ct, ldc, alpha, beta, first);
                        } else {
                            /* edge tile: the same kernel on a full tile copy, so edge
                             * elements get the same operations as inner ones */
                            for (int64_t i = 0; i < h; i++)
                                for (int64_t j = 0; j < w; j++) tile[i * nr + j] = ct[i * ldc + j];
                            kern->kernel(kc, at, bt, tile, nr, alpha, beta, first);
                            for (int64_t i = 0; i < h; i++)
                                for (int64_t j = 0; j < w; j++) ct[i * ldc + j] = tile[i * nr + j];
                        }
                    }
                }
            }
        }
    }
    free(bp);
    free(ap);
}

void tc_sgemm_kernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             float alpha, float beta, bool first)
{
    enum { MR = TC_SGEMM_GENERIC_MR, NR = TC_SGEMM_GENERIC_NR };
    float acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < kc; p++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[p * MR + i] * b[p * NR + j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            float old = first ? (beta == 0 ? 0 : beta * c[i * ldc + j]) : c[i * ldc + j];
            c[i * ldc + j] = old + alpha * acc[i][j];
        }
}
