/* int8 weights for row-vector products (layout and arithmetic: gemv_int8.h):
 * packing with per-column scales, the per-product quantisation of x, the
 * portable kernels, the dispatch and the dequantising epilogue.
 *
 * Why int8 at all: a batch-1 product reads each weight once, so its speed is
 * the rate at which the weights stream from the cache; int8 is a quarter of
 * float32's bytes. The dot way (x quantised too, vpdpbusd) does one
 * instruction per 64 weights; the weight-only way converts every weight to
 * float in registers (a shift pair, a conversion and an FMA per 16 weights)
 * and is exact in x. */
#include "internal.h"
#include "gemv_int8.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PANEL TC_GEMV_INT8_PANEL

struct tc_gemv_int8 {
    int64_t k, k4, panels; /* k4: K rounded up to a multiple of 4 */
    int8_t *w;             /* panels x [k4 / 4][PANEL][4] */
    tc_scalar *scale;      /* [panels * PANEL]: s_j */
    int32_t *zero_fix;     /* [panels * PANEL]: 128 * sum_k q_kj, the zero point's share */
    uint8_t *xu;           /* [k4]: the loaded input, xq + 128 (padding rows: 128) */
    tc_scalar xscale;      /* t of the loaded input */
};

/* ---- CPU features and the kernel choice --------------------------------- */
#if !defined(TC_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define TC_INT8_SIMD 1
static unsigned cpuid_reg(unsigned leaf, unsigned sub, int reg)
{
    unsigned r[4] = {leaf, 0, sub, 0};
    __asm__ volatile("cpuid" : "+a"(r[0]), "=b"(r[1]), "+c"(r[2]), "=d"(r[3]));
    return r[reg];
}
#endif

/* asked once each (CPUID traps to the hypervisor in a VM) */
static int has_512vnni = -1, has_avxvnni = -1;

bool tc_cpu_has_avx512vnni(void)
{
    int v = __atomic_load_n(&has_512vnni, __ATOMIC_RELAXED);
    if (v < 0) {
#ifdef TC_INT8_SIMD
        v = tc_isa_best() == TC_ISA_AVX512 && (cpuid_reg(7, 0, 2) >> 11 & 1); /* leaf 7.0 ECX bit 11 */
#else
        v = 0;
#endif
        __atomic_store_n(&has_512vnni, v, __ATOMIC_RELAXED);
    }
    return v;
}

bool tc_cpu_has_avxvnni(void)
{
    int v = __atomic_load_n(&has_avxvnni, __ATOMIC_RELAXED);
    if (v < 0) {
#ifdef TC_INT8_SIMD
        v = tc_isa_best() >= TC_ISA_AVX2 && (cpuid_reg(7, 1, 0) >> 4 & 1); /* leaf 7.1 EAX bit 4 */
#else
        v = 0;
#endif
        __atomic_store_n(&has_avxvnni, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* -1: not read yet; TENSORCOOK_INT8_DOT=0 picks the weight-only way,
 * TENSORCOOK_INT8_VNNI=0 keeps the dot way off the VNNI instructions
 * (tests and the comparison script run every combination) */
static int use_dot = -1, use_vnni = -1;

static bool env_on(int *flag, const char *name)
{
    int v = __atomic_load_n(flag, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *s = getenv(name);
        v = !(s && s[0] == '0');
        __atomic_store_n(flag, v, __ATOMIC_RELAXED);
    }
    return v;
}

void tc_gemv_set_int8_dot(bool use) { __atomic_store_n(&use_dot, use ? 1 : 0, __ATOMIC_RELAXED); }
void tc_gemv_set_int8_vnni(bool use) { __atomic_store_n(&use_vnni, use ? 1 : 0, __ATOMIC_RELAXED); }
bool tc_gemv_int8_dot(void) { return env_on(&use_dot, "TENSORCOOK_INT8_DOT"); }
bool tc_gemv_int8_vnni(void) { return env_on(&use_vnni, "TENSORCOOK_INT8_VNNI"); }

const char *tc_gemv_int8_kernel(void)
{
    tc_isa_level isa = tc_isa();
    if (!env_on(&use_dot, "TENSORCOOK_INT8_DOT"))
        return isa == TC_ISA_AVX512 ? "weight-only avx512" : isa == TC_ISA_AVX2 ? "weight-only avx2" : "weight-only generic";
    bool vnni = env_on(&use_vnni, "TENSORCOOK_INT8_VNNI");
    if (isa == TC_ISA_AVX512 && vnni && tc_cpu_has_avx512vnni()) return "dot avx512-vnni";
    if (isa >= TC_ISA_AVX2 && vnni && tc_cpu_has_avxvnni()) return "dot avx-vnni";
    if (isa >= TC_ISA_AVX2) return "dot avx2";
    return "dot generic";
}

/* ---- packing ---------------------------------------------------------------------- */
/* 2 MB aligned (and on huge pages where granted) when large, as gemv.c does */
static void *alloc_stream(size_t bytes)
{
    size_t align = bytes >= (2u << 20) ? (2u << 20) : 64;
    void *mem = NULL;
    if (posix_memalign(&mem, align, bytes ? bytes : 64)) return NULL;
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(mem, bytes, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    return mem;
}

void tc_gemv_int8_free(tc_gemv_int8 *q)
{
    if (!q) return;
    free(q->w), free(q->scale), free(q->zero_fix), free(q->xu);
    free(q);
}

tc_gemv_int8 *tc_gemv_int8_new(int64_t k, const tc_scalar *w, int64_t ldw, const int64_t *src_cols, int64_t panels)
{
    if (k > TC_GEMV_INT8_MAX_K)
        return tc_error(TC_ERR_ARG, "gemv_plan: int8 weights need K <= %d (int32 sums), got %lld", TC_GEMV_INT8_MAX_K,
                        (long long)k),
               NULL;
    int64_t width = panels * PANEL;
    for (int64_t j = 0; j < width; j++)
        for (int64_t r = 0; src_cols[j] >= 0 && r < k; r++)
            if (!isfinite((double)w[r * ldw + src_cols[j]]))
                return tc_error(TC_ERR_ARG, "gemv_plan: int8 weights must be finite (W[%lld][%lld] is %g)", (long long)r,
                                (long long)src_cols[j], (double)w[r * ldw + src_cols[j]]),
                       NULL;
    tc_gemv_int8 *q = calloc(1, sizeof *q);
    if (!q) return tc_error(TC_ERR_MEMORY, "gemv_plan: out of memory"), NULL;
    q->k = k, q->k4 = (k + 3) / 4 * 4, q->panels = panels;
    q->w = alloc_stream((size_t)(panels * q->k4 * PANEL));
    q->scale = malloc(sizeof(tc_scalar) * (size_t)width);
    q->zero_fix = malloc(sizeof(int32_t) * (size_t)width);
    q->xu = alloc_stream((size_t)q->k4);
    if (!q->w || !q->scale || !q->zero_fix || !q->xu) {
        tc_gemv_int8_free(q);
        return tc_error(TC_ERR_MEMORY, "gemv_plan: cannot allocate int8 weights for %lld x %lld", (long long)k,
                        (long long)width),
               NULL;
    }
    memset(q->xu, 128, (size_t)q->k4);
    for (int64_t j = 0; j < width; j++) {
        int64_t c = src_cols[j], p = j / PANEL, jj = j % PANEL;
        double amax = 0;
        for (int64_t r = 0; c >= 0 && r < k; r++) amax = fmax(amax, fabs((double)w[r * ldw + c]));
        /* symmetric: q = round(w * 127 / max|w|), nearest even; s = max|w| / 127 */
        double inv = amax > 0 ? 127.0 / amax : 0;
        int32_t sum = 0;
        int8_t *dst = q->w + p * q->k4 * PANEL;
        for (int64_t r = 0; r < q->k4; r++) {
            double v = c >= 0 && r < k ? nearbyint((double)w[r * ldw + c] * inv) : 0;
            int8_t b = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            dst[r / 4 * 4 * PANEL + jj * 4 + r % 4] = b;
            sum += b;
        }
        q->scale[j] = (tc_scalar)(amax / 127.0);
        q->zero_fix[j] = 128 * sum;
    }
    return q;
}

int64_t tc_gemv_int8_panel_bytes(const tc_gemv_int8 *q) { return q->k4 * PANEL; }

/* ---- the input ------------------------------------------------------------------------ */
/* round to nearest even for |v| < 2^22 (2^51 in double) without a libm call
 * (the baseline x86-64 build has no SSE4.1 round); exact since the build never
 * uses -ffast-math (CMakeLists.txt) */
#ifdef TC_DOUBLE
#define ROUND_MAGIC 0x1.8p52
#define TC_SCALAR_MAX DBL_MAX
#else
#define ROUND_MAGIC 0x1.8p23f
#define TC_SCALAR_MAX FLT_MAX
#endif

/* fp-contract off: x * inv + MAGIC must be two roundings (the product, then
 * the rounding to an integer), not one FMA, whatever -march the build has */
__attribute__((optimize("fp-contract=off"))) void tc_gemv_int8_load(tc_gemv_int8 *q, const tc_scalar *x)
{
    const int64_t k = q->k;
    uint8_t *restrict xu = q->xu;
    tc_scalar amax = 0;
    int bad = 0;
    for (int64_t r = 0; r < k; r++) {
        tc_scalar a = x[r] < 0 ? -x[r] : x[r];
        amax = a > amax ? a : amax;
        bad |= !(a <= (tc_scalar)TC_SCALAR_MAX); /* NaN or infinite */
    }
    if (bad || amax == 0) { /* non-finite: NaN outputs; all zero: zero outputs */
        memset(xu, 128, (size_t)q->k4);
        q->xscale = bad ? (tc_scalar)NAN : 0;
        return;
    }
    tc_scalar inv = (tc_scalar)127 / amax;
    for (int64_t r = 0; r < k; r++) {
        tc_scalar v = x[r] * inv; /* |v| <= 127 (+ an ulp) */
        v = (v + ROUND_MAGIC) - ROUND_MAGIC;
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        xu[r] = (uint8_t)((int32_t)v + 128);
    }
    q->xscale = amax / (tc_scalar)127;
}

/* ---- portable kernels --------------------------------------------------------------- */
static void i8dot_generic(const int8_t *restrict w, const uint8_t *restrict xu, int64_t k4, int32_t *restrict acc)
{
    int32_t a[PANEL] = {0};
    for (int64_t r = 0; r < k4; r += 4, w += 4 * PANEL)
        for (int j = 0; j < PANEL; j++)
            a[j] += xu[r] * w[4 * j] + xu[r + 1] * w[4 * j + 1] + xu[r + 2] * w[4 * j + 2] + xu[r + 3] * w[4 * j + 3];
    memcpy(acc, a, sizeof a);
}

static void i8w_generic(const int8_t *restrict w, const tc_scalar *restrict x, int64_t k, tc_scalar *restrict acc)
{
    tc_scalar a[2][PANEL] = {{0}};
    for (int64_t r = 0; r < k; r++) {
        tc_scalar xv = x[r];
        tc_scalar *s = a[r / 4 % 2];
        const int8_t *row = w + r / 4 * 4 * PANEL + r % 4;
        for (int j = 0; j < PANEL; j++) s[j] += xv * (tc_scalar)row[4 * j];
    }
    for (int j = 0; j < PANEL; j++) acc[j] = a[0][j] + a[1][j];
}

/* ---- one panel ------------------------------------------------------------------------- */
void tc_gemv_int8_panel(const tc_gemv_int8 *q, const tc_scalar *x, int64_t panel, tc_scalar *y)
{
    const int8_t *w = q->w + panel * q->k4 * PANEL;
    const tc_scalar *s = q->scale + panel * PANEL;
#ifdef TC_INT8_SIMD
    tc_isa_level isa = tc_isa();
#endif
    if (!env_on(&use_dot, "TENSORCOOK_INT8_DOT")) {
        _Alignas(64) tc_scalar acc[PANEL];
#ifdef TC_INT8_SIMD
        if (isa == TC_ISA_AVX512) tc_gemv_i8w_panel_avx512(w, x, q->k, acc);
        else if (isa == TC_ISA_AVX2) tc_gemv_i8w_panel_avx2(w, x, q->k, acc);
        else
#endif
            i8w_generic(w, x, q->k, acc);
        for (int j = 0; j < PANEL; j++) y[j] = acc[j] * s[j];
        return;
    }
    _Alignas(64) int32_t acc[PANEL];
    bool symmetric = false;
#ifdef TC_INT8_SIMD
    bool vnni = env_on(&use_vnni, "TENSORCOOK_INT8_VNNI");
    if (isa == TC_ISA_AVX512 && vnni && tc_cpu_has_avx512vnni()) tc_gemv_i8dot_panel_avx512vnni(w, q->xu, q->k4, acc);
    else if (isa >= TC_ISA_AVX2 && vnni && tc_cpu_has_avxvnni()) tc_gemv_i8dot_panel_avxvnni(w, q->xu, q->k4, acc);
    else if (isa >= TC_ISA_AVX2) tc_gemv_i8dot_panel_avx2(w, q->xu, q->k4, acc), symmetric = true;
    else
#endif
        i8dot_generic(w, q->xu, q->k4, acc);
    /* exact integer sum_k xq_k q_kj (the AVX2 kernel sums xq directly, the
     * others u = xq + 128 and the zero point's share goes), then one rounding
     * for the conversion and one per product */
    const int32_t *fix = q->zero_fix + panel * PANEL;
    tc_scalar t = q->xscale;
    if (symmetric)
        for (int j = 0; j < PANEL; j++) y[j] = (tc_scalar)acc[j] * (t * s[j]);
    else
        for (int j = 0; j < PANEL; j++) y[j] = (tc_scalar)(acc[j] - fix[j]) * (t * s[j]);
}
