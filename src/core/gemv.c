/* Row-vector products on prepacked weights (batch-1 inference).
 *
 * A product of one row x [K] with W [K, N] reads every weight once and does
 * one multiply-add per weight: it is bound by how fast W streams from the
 * cache, not by arithmetic. So W is repacked once into panels of
 * TC_GEMV_PANEL columns, each a contiguous [K, PANEL] block: a panel is one
 * forward stream (which the hardware prefetcher follows) and its 64 outputs
 * stay in four AVX-512 registers over the whole K. Each output is
 * acc = fma(x[k], w[k][j], acc) for k = 0..K-1 in order, on one thread, so
 * the result does not depend on how panels are split over the pool.
 * Large plans ask for transparent huge pages.
 *
 * The AVX-512 kernel is compiled with a target attribute and chosen at run
 * time, so a build without -march=native still uses it on a CPU that has it;
 * elsewhere (and in the double-precision build) a plain C loop does the same
 * sums in the same order. bf16 panels: gemv_bf16*.c; int8 plans (their own
 * layout, scales and input quantisation): gemv_int8*.c. */
#include "internal.h"
#include "gemv_bf16.h"
#include "gemv_int8.h"

#include <stdlib.h>
#include <sys/mman.h>

#define PANEL TC_GEMV_PANEL

#if !defined(TC_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define TC_GEMV_AVX512 1
#include <immintrin.h>
#endif

struct tc_gemv_plan {
    int64_t k, panels;
    bool avx512;  /* the CPU has it: use the AVX-512 kernel */
    tc_gemv_precision prec;
    tc_scalar *w;  /* fp32: panels x [k, PANEL], 64-byte aligned */
    uint16_t *wb;  /* bf16: panels x [ceil(k/2), PANEL, 2] (gemv_bf16.h) */
    tc_gemv_int8 *q; /* int8: weights, scales, the loaded input (gemv_int8.c) */
};

/* float -> bfloat16, round to nearest even (NaN kept a NaN) */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40);
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

static float from_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float tc_bf16_round(float f) { return from_bf16(to_bf16(f)); }

tc_gemv_plan *tc_gemv_plan_new(int64_t k, int64_t n, const tc_scalar *w, int64_t ldw, const int64_t *cols, int64_t n_packed)
{
    return tc_gemv_plan_new_prec(k, n, w, ldw, cols, n_packed, TC_GEMV_FP32);
}

tc_gemv_plan *tc_gemv_plan_new_prec(int64_t k, int64_t n, const tc_scalar *w, int64_t ldw, const int64_t *cols,
                                    int64_t n_packed, tc_gemv_precision prec)
{
    if (prec != TC_GEMV_FP32 && prec != TC_GEMV_BF16 && prec != TC_GEMV_INT8)
        return tc_error(TC_ERR_ARG, "gemv_plan: unknown precision %d", (int)prec), NULL;
    if (!w || k < 1 || n < 1 || ldw < n)
        return tc_error(TC_ERR_ARG, "gemv_plan: W [%lld, %lld] with row stride %lld is empty or malformed", (long long)k,
                        (long long)n, (long long)ldw),
               NULL;
    if (!cols) n_packed = n;
    if (n_packed < 1) return tc_error(TC_ERR_ARG, "gemv_plan: %lld packed columns", (long long)n_packed), NULL;
    for (int64_t p = 0; cols && p < n_packed; p++)
        if (cols[p] < -1 || cols[p] >= n)
            return tc_error(TC_ERR_ARG, "gemv_plan: packed column %lld maps to column %lld of W [%lld, %lld]", (long long)p,
                            (long long)cols[p], (long long)k, (long long)n),
                   NULL;
    tc_gemv_plan *pl = calloc(1, sizeof *pl);
    if (!pl) return tc_error(TC_ERR_MEMORY, "gemv_plan: out of memory"), NULL;
    pl->k = k;
    pl->prec = prec;
#ifdef TC_GEMV_AVX512
    __builtin_cpu_init();
    /* TENSORCOOK_GEMV_PLAIN=1 forces the portable kernel (tests run both) */
    const char *plain = getenv("TENSORCOOK_GEMV_PLAIN");
    pl->avx512 = __builtin_cpu_supports("avx512f") && !(plain && plain[0] == '1');
#endif
    pl->panels = (n_packed + PANEL - 1) / PANEL;
    if (prec == TC_GEMV_INT8) {
        int64_t *src = malloc(sizeof(int64_t) * (size_t)(pl->panels * PANEL));
        for (int64_t pc = 0; src && pc < pl->panels * PANEL; pc++) src[pc] = pc >= n_packed ? -1 : cols ? cols[pc] : pc;
        if (!src) tc_error(TC_ERR_MEMORY, "gemv_plan: out of memory");
        pl->q = src ? tc_gemv_int8_new(k, w, ldw, src, pl->panels) : NULL;
        free(src);
        if (!pl->q) {
            free(pl);
            return NULL;
        }
        return pl;
    }
    int64_t krows = prec == TC_GEMV_BF16 ? (k + 1) / 2 * 2 : k;
    size_t bytes = (prec == TC_GEMV_BF16 ? 2 : sizeof(tc_scalar)) * (size_t)pl->panels * (size_t)krows * PANEL;
    /* Several MB of weights streamed every step: on 2 MB pages (where the
     * kernel grants them) far fewer TLB misses; 5-15% faster here. */
    size_t align = bytes >= (2u << 20) ? (2u << 20) : 64;
    void *mem = NULL;
    if (posix_memalign(&mem, align, bytes)) {
        free(pl);
        return tc_error(TC_ERR_MEMORY, "gemv_plan: cannot allocate %zu bytes for W [%lld, %lld]", bytes, (long long)k,
                        (long long)n),
               NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(mem, bytes, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    if (prec == TC_GEMV_BF16) pl->wb = mem;
    else pl->w = mem;
    for (int64_t p = 0; p < pl->panels; p++) {
        int64_t src[PANEL]; /* the column of W of each column of the panel, -1: zeros */
        for (int64_t j = 0; j < PANEL; j++) {
            int64_t pc = p * PANEL + j;
            src[j] = pc >= n_packed ? -1 : cols ? cols[pc] : pc;
        }
        if (prec == TC_GEMV_BF16) {
            uint16_t *dst = pl->wb + p * krows * PANEL;
            for (int64_t r = 0; r < krows; r++)
                for (int64_t j = 0; j < PANEL; j++)
                    dst[r / 2 * 2 * PANEL + j * 2 + r % 2] =
                        src[j] < 0 || r >= k ? 0 : to_bf16((float)w[r * ldw + src[j]]);
            continue;
        }
        tc_scalar *dst = pl->w + p * k * PANEL;
        for (int64_t r = 0; r < k; r++)
            for (int64_t j = 0; j < PANEL; j++) dst[r * PANEL + j] = src[j] < 0 ? 0 : w[r * ldw + src[j]];
    }
    return pl;
}

void tc_gemv_plan_free(tc_gemv_plan *p)
{
    if (!p) return;
    free(p->w);
    free(p->wb);
    tc_gemv_int8_free(p->q);
    free(p);
}

int64_t tc_gemv_panels(const tc_gemv_plan *p) { return p ? p->panels : 0; }
int64_t tc_gemv_rows(const tc_gemv_plan *p) { return p ? p->k : 0; }
tc_gemv_precision tc_gemv_plan_precision(const tc_gemv_plan *p) { return p ? p->prec : TC_GEMV_FP32; }

/* The portable bf16 panel: the sums of the AVX-512 kernel, in row order. */
static void panel_bf16_plain(const uint16_t *restrict w, const tc_scalar *restrict x, int64_t k, tc_scalar *restrict y)
{
    tc_scalar acc[PANEL] = {0};
    for (int64_t r = 0; r < k; r++) {
        tc_scalar xv = x[r];
        const uint16_t *row = w + r / 2 * 2 * PANEL + r % 2;
        for (int j = 0; j < PANEL; j++) acc[j] += xv * (tc_scalar)from_bf16(row[2 * j]);
    }
    memcpy(y, acc, sizeof acc);
}

static void panel_plain(const tc_scalar *restrict w, const tc_scalar *restrict x, int64_t k, tc_scalar *restrict y)
{
    tc_scalar acc[PANEL] = {0};
    for (int64_t r = 0; r < k; r++) {
        tc_scalar xv = x[r];
        for (int j = 0; j < PANEL; j++) acc[j] += xv * w[r * PANEL + j];
    }
    memcpy(y, acc, sizeof acc);
}

#ifdef TC_GEMV_AVX512
__attribute__((target("avx512f"))) static void panel_avx512(const float *restrict w, const float *restrict x, int64_t k,
                                                            float *restrict y)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t r = 0; r < k; r++, w += PANEL) {
        __m512 xv = _mm512_set1_ps(x[r]);
        a0 = _mm512_fmadd_ps(xv, _mm512_load_ps(w), a0);
        a1 = _mm512_fmadd_ps(xv, _mm512_load_ps(w + 16), a1);
        a2 = _mm512_fmadd_ps(xv, _mm512_load_ps(w + 32), a2);
        a3 = _mm512_fmadd_ps(xv, _mm512_load_ps(w + 48), a3);
    }
    _mm512_storeu_ps(y, a0);
    _mm512_storeu_ps(y + 16, a1);
    _mm512_storeu_ps(y + 32, a2);
    _mm512_storeu_ps(y + 48, a3);
}
#endif

#ifdef TC_GEMV_AVX512
/* TENSORCOOK_BF16_DOT=0: widen bf16 weights in registers even where the CPU
 * has vdpbf16ps (keeps x in float; tests and the quality comparison run both) */
static int bf16_convert = -1;
static bool getenv_bf16_convert(void)
{
    int v = __atomic_load_n(&bf16_convert, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *s = getenv("TENSORCOOK_BF16_DOT");
        v = s && s[0] == '0';
        __atomic_store_n(&bf16_convert, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void tc_gemv_set_bf16_dot(bool use)
{
#ifdef TC_GEMV_AVX512
    __atomic_store_n(&bf16_convert, use ? 0 : 1, __ATOMIC_RELAXED);
#else
    (void)use;
#endif
}

void tc_gemv_load_input(const tc_gemv_plan *p, const tc_scalar *x)
{
    if (p->prec == TC_GEMV_INT8 && tc_gemv_int8_dot()) tc_gemv_int8_load(p->q, x);
}

void tc_gemv_run_panels(const tc_gemv_plan *p, const tc_scalar *x, tc_scalar *y, int64_t p0, int64_t p1)
{
    if (p->prec == TC_GEMV_INT8) {
        for (int64_t q = p0; q < p1; q++) tc_gemv_int8_panel(p->q, x, q, y + (q - p0) * PANEL);
        return;
    }
    if (p->prec == TC_GEMV_BF16) {
        int64_t stride = (p->k + 1) / 2 * 2 * PANEL;
#ifdef TC_GEMV_AVX512
        tc_isa_level isa = tc_isa();
        bool dp = isa == TC_ISA_AVX512 && tc_cpu_has_avx512bf16() && !getenv_bf16_convert();
#endif
        for (int64_t q = p0; q < p1; q++) {
            const uint16_t *w = p->wb + q * stride;
            tc_scalar *yq = y + (q - p0) * PANEL;
#ifdef TC_GEMV_AVX512
            if (dp) {
                tc_gemv_bf16_panel_avx512bf16(w, x, p->k, yq);
                continue;
            }
            if (isa == TC_ISA_AVX512) {
                tc_gemv_bf16_panel_avx512(w, x, p->k, yq);
                continue;
            }
            if (isa == TC_ISA_AVX2) {
                tc_gemv_bf16_panel_avx2(w, x, p->k, yq);
                continue;
            }
#endif
            panel_bf16_plain(w, x, p->k, yq);
        }
        return;
    }
    for (int64_t q = p0; q < p1; q++) {
        const tc_scalar *w = p->w + q * p->k * PANEL;
#ifdef TC_GEMV_AVX512
        if (p->avx512) {
            panel_avx512(w, x, p->k, y + (q - p0) * PANEL);
            continue;
        }
#endif
        panel_plain(w, x, p->k, y + (q - p0) * PANEL);
    }
}

typedef struct {
    const tc_gemv_plan *p;
    const tc_scalar *x;
    tc_scalar *y;
} gemv_job;

static void gemv_range(void *ctx, int64_t begin, int64_t end)
{
    gemv_job *j = ctx;
    tc_gemv_run_panels(j->p, j->x, j->y + begin * PANEL, begin, end);
}

/* The smallest share of weights worth handing to another thread: below it
 * the wake-up costs more than the streaming it saves. */
#define MIN_CHUNK_BYTES (64 * 1024)

int64_t tc_gemv_grain(const tc_gemv_plan *p)
{
    int64_t panel_bytes = p->prec == TC_GEMV_INT8 ? tc_gemv_int8_panel_bytes(p->q)
                          : p->k * PANEL * (p->prec == TC_GEMV_BF16 ? 2 : (int64_t)sizeof(tc_scalar));
    return (MIN_CHUNK_BYTES + panel_bytes - 1) / panel_bytes;
}

void tc_gemv_run(const tc_gemv_plan *p, const tc_scalar *x, tc_scalar *y)
{
    gemv_job j = {p, x, y};
    tc_gemv_load_input(p, x);
    tc_parallel_for(p->panels, tc_gemv_grain(p), gemv_range, &j);
}
