/* Reduced-precision GEMM driver (layouts and arithmetic in gemm_lowp.h):
 * B packed once as bf16 or int8 strips, A converted while it is packed, one
 * kernel call per MR x 32 (or MR x 16) tile over the whole K, the epilogue
 * here in C. The ISA kernels live in gemm_bf16_*.c and gemm_int8_*.c; this
 * file holds the portable kernels every machine can run.
 *
 * Threading: the output is cut into blocks of rows (MC rows, A packed once
 * per block) times groups of column strips, tasks shared out over the pool.
 * Each element is one kernel lane's sum over K in k order plus the same
 * epilogue, so neither the block sizes nor the thread count change a bit. */
#include "gemm_int8_pack.h"
#include "gemm_lowp.h"
#include "gemv_int8.h" /* the VNNI checks */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef TC_DOUBLE

#define LOWP_A_BYTES (192 * 1024) /* packed A block per task: stays in L2 next to a B strip */
#define LOWP_MAX_MC_STRIPS 16
#define LOWP_PARALLEL_OPS 4e6     /* below this many multiply-adds a product stays on one thread */
#define LOWP_INT8_MAX_K 66000     /* 255 * 127 * K must fit in int32 */

/* ---- conversions ------------------------------------------------------- */
uint16_t tc_lowp_bf16_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40);
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

/* no FMA contraction of x * inv + 0.5 (a -march=native build could fuse
 * it): the AVX-512 packing rounds the product first, as here */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void tc_lowp_quantize_row(const float *x, int64_t k, int64_t step, uint8_t *u, float *sa, int32_t *zp)
{
    float lo = 0, hi = 0;
    for (int64_t p = 0; p < k; p++) {
        const float v = x[p * step];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    float s, inv;
    int32_t z;
    const bool ok = tc_lowp_row_scale(lo, hi, &s, &z, &inv);
    *sa = s, *zp = z;
    if (!ok) {
        for (int64_t p = 0; p < k; p++) u[p] = 0;
        return;
    }
    for (int64_t p = 0; p < k; p++) {
        int32_t q = tc_lowp_round_half_away(x[p * step] * inv) + z;
        u[p] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
}

/* ---- B panels ------------------------------------------------------------ */
void tc_lowp_panel_free(tc_lowp_panel *p)
{
    if (!p) return;
    free(p->bf);
    free(p->q);
    free(p->scale);
    free(p->colsum);
    free(p);
}

static inline float b_at(bool tb, const float *b, int64_t ldb, int64_t k, int64_t j)
{
    return tb ? b[j * ldb + k] : b[k * ldb + j];
}

tc_lowp_panel *tc_lowp_panel_new(int prec, bool trans_b, int64_t k, int64_t n, const float *b, int64_t ldb)
{
    if (prec != TC_PRECISION_BF16 && prec != TC_PRECISION_INT8)
        return tc_error(TC_ERR_ARG, "gemm: unknown reduced precision %d", prec), NULL;
    if (k <= 0 || n <= 0) return tc_error(TC_ERR_ARG, "gemm: empty %lld x %lld operand", (long long)k, (long long)n), NULL;
    if (prec == TC_PRECISION_INT8 && k > LOWP_INT8_MAX_K)
        return tc_error(TC_ERR_ARG, "gemm: int8 sums over K = %lld could overflow int32 (at most %d)", (long long)k,
                        LOWP_INT8_MAX_K), NULL;
    tc_lowp_panel *p = calloc(1, sizeof *p);
    if (!p) return tc_error(TC_ERR_MEMORY, "gemm: out of memory"), NULL;
    const int64_t g = prec == TC_PRECISION_BF16 ? 2 : 4, NR = TC_LOWP_NR;
    p->prec = prec;
    p->k = k;
    p->n = n;
    p->kp = (k + g - 1) / g * g;
    p->strips = (n + NR - 1) / NR;
    const size_t elems = (size_t)(p->strips * p->kp * NR);
    if (prec == TC_PRECISION_BF16) {
        p->bf = aligned_alloc(64, (elems * 2 + 63) / 64 * 64);
        if (!p->bf) goto oom;
        for (int64_t s = 0; s < p->strips; s++) {
            uint16_t *d = p->bf + s * p->kp * NR;
            for (int64_t kk = 0; kk < p->kp; kk++)
                for (int64_t j = 0; j < NR; j++) {
                    const int64_t col = s * NR + j;
                    const float v = kk < k && col < n ? b_at(trans_b, b, ldb, kk, col) : 0;
                    d[(kk / 2) * NR * 2 + j * 2 + kk % 2] = tc_lowp_bf16_bits(v);
                }
        }
        return p;
    }
    const size_t cols = (size_t)(p->strips * NR);
    p->q = aligned_alloc(64, (elems + 63) / 64 * 64);
    p->scale = calloc(cols, sizeof *p->scale);
    p->colsum = calloc(cols, sizeof *p->colsum);
    if (!p->q || !p->scale || !p->colsum) goto oom;
    memset(p->q, 0, elems);
    for (int64_t col = 0; col < n; col++) {
        float amax = 0;
        for (int64_t kk = 0; kk < k; kk++) {
            const float v = fabsf(b_at(trans_b, b, ldb, kk, col));
            amax = v > amax ? v : amax;
        }
        /* symmetric per output channel: scale = max|w| / 127 (a zero column stays zero) */
        const float sc = amax > 0 && isfinite(amax) ? amax / 127.0f : 0, inv = sc > 0 ? 1.0f / sc : 0;
        int8_t *d = p->q + (col / NR) * p->kp * NR;
        int32_t sum = 0;
        for (int64_t kk = 0; kk < k; kk++) {
            int32_t qv = tc_lowp_round_half_away(b_at(trans_b, b, ldb, kk, col) * inv);
            qv = qv < -127 ? -127 : qv > 127 ? 127 : qv;
            d[(kk / 4) * NR * 4 + (col % NR) * 4 + kk % 4] = (int8_t)qv;
            sum += qv;
        }
        p->scale[col] = sc;
        p->colsum[col] = sum;
    }
    return p;
oom:
    tc_lowp_panel_free(p);
    return tc_error(TC_ERR_MEMORY, "gemm: out of memory packing a %lld x %lld operand", (long long)k, (long long)n), NULL;
}

/* ---- portable kernels ------------------------------------------------------ */
#define GEN_MR 4
#define GEN_NR 16

static inline float bf16_f(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* a [kp][4] floats, b a 16-column half strip ([pair][32][2]) */
static void bf16_wide_generic(int64_t pairs, const float *a, const uint16_t *b, float *t)
{
    float acc[GEN_MR][GEN_NR] = {{0}};
    for (int64_t q = 0; q < pairs; q++, a += 2 * GEN_MR, b += 2 * TC_LOWP_NR)
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < GEN_MR; i++) {
                const float x = a[h * GEN_MR + i];
                for (int j = 0; j < GEN_NR; j++) acc[i][j] += x * bf16_f(b[2 * j + h]);
            }
    memcpy(t, acc, sizeof acc);
}

/* a [kp/4][4] u8 quads, b a 16-column half strip ([quad][32][4]) */
static void int8_generic(int64_t quads, const uint32_t *a, const int8_t *b, int32_t *t)
{
    int32_t acc[GEN_MR][GEN_NR] = {{0}};
    for (int64_t q = 0; q < quads; q++, a += GEN_MR, b += 4 * TC_LOWP_NR)
        for (int i = 0; i < GEN_MR; i++) {
            const uint8_t *u = (const uint8_t *)(a + i);
            for (int j = 0; j < GEN_NR; j++)
                acc[i][j] += u[0] * b[4 * j] + u[1] * b[4 * j + 1] + u[2] * b[4 * j + 2] + u[3] * b[4 * j + 3];
        }
    memcpy(t, acc, sizeof acc);
}

/* ---- which kernel ---------------------------------------------------------- */
typedef enum { K_BF16_DOT, K_BF16_WIDE, K_INT8 } kern_kind;
typedef struct {
    kern_kind kind;
    int mr, nr; /* nr: 32 (a whole strip) or 16 (half a strip per call) */
    tc_lowp_bf16_dot_fn dot;
    tc_lowp_bf16_wide_fn wide;
    tc_lowp_int8_fn i8;
    const char *name;
    bool a_signed; /* int8: A packed as u - 128 (the kernel sums (u - 128) q; zp passed as zp - 128) */
} lowp_kern;

static const lowp_kern k_dot512 = {K_BF16_DOT, TC_LOWP_DOT_MR, 32, tc_lowp_bf16_dot_avx512bf16, NULL, NULL,
                                   "bf16-vdpbf16ps-avx512"};
static const lowp_kern k_wide512 = {K_BF16_WIDE, TC_LOWP_WIDE512_MR, 32, NULL, tc_lowp_bf16_wide_avx512, NULL,
                                    "bf16-widen-avx512"};
static const lowp_kern k_wide2 = {K_BF16_WIDE, TC_LOWP_WIDE2_MR, 16, NULL, tc_lowp_bf16_wide_avx2, NULL,
                                  "bf16-widen-avx2"};
static const lowp_kern k_widegen = {K_BF16_WIDE, GEN_MR, GEN_NR, NULL, bf16_wide_generic, NULL, "bf16-widen-generic"};
static const lowp_kern k_vnni512 = {K_INT8, TC_LOWP_VNNI512_MR, 32, NULL, NULL, tc_lowp_int8_avx512vnni,
                                    "int8-vpdpbusd-avx512"};
static const lowp_kern k_vnni2 = {K_INT8, TC_LOWP_VNNI2_MR, 16, NULL, NULL, tc_lowp_int8_avxvnni, "int8-vpdpbusd-avxvnni"};
static const lowp_kern k_int8avx2 = {K_INT8, TC_LOWP_AVX2_I8_MR, 16, NULL, NULL, tc_lowp_int8_avx2,
                                     "int8-vpmaddubsw-avx2", true};
static const lowp_kern k_int8gen = {K_INT8, GEN_MR, GEN_NR, NULL, NULL, int8_generic, "int8-generic"};

static int dot_off = -1; /* 1: never use vdpbf16ps / vpdpbusd */
static bool dot_allowed(void)
{
    int v = __atomic_load_n(&dot_off, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *s = getenv("TENSORCOOK_LOWP_DOT");
        v = s && s[0] == '0';
        __atomic_store_n(&dot_off, v, __ATOMIC_RELAXED);
    }
    return !v;
}

void tc_lowp_set_dot(bool use) { __atomic_store_n(&dot_off, use ? 0 : 1, __ATOMIC_RELAXED); }

static const lowp_kern *pick(int prec)
{
    const tc_isa_level isa = tc_isa();
    const bool dot = dot_allowed();
    if (prec == TC_PRECISION_BF16) {
        if (isa == TC_ISA_AVX512 && dot && tc_cpu_has_avx512bf16()) return &k_dot512;
        if (isa == TC_ISA_AVX512) return &k_wide512;
        if (isa == TC_ISA_AVX2) return &k_wide2;
        return &k_widegen;
    }
    const bool vnni = dot && tc_gemv_int8_vnni();
    if (isa == TC_ISA_AVX512 && vnni && tc_cpu_has_avx512vnni()) return &k_vnni512;
    if (isa >= TC_ISA_AVX2 && vnni && tc_cpu_has_avxvnni()) return &k_vnni2;
    /* no VNNI (Haswell .. Zen 3, Skylake-X, or switched off): the same sums on AVX2 */
    if (isa >= TC_ISA_AVX2) return &k_int8avx2;
    return &k_int8gen;
}

const char *tc_lowp_kernel_name(int prec) { return pick(prec)->name; }

/* ---- packing A --------------------------------------------------------------- */
/* h rows (h <= mr) of op(A) from row r0: rows at a + i * rs, elements at stride cs */
static void pack_a_strip(const lowp_kern *kn, const tc_lowp_panel *p, const float *a, int64_t rs, int64_t cs,
                         int64_t h, void *dst, float *sa, int32_t *zp, uint8_t *rowbuf)
{
    const int mr = kn->mr;
    const int64_t k = p->k, kp = p->kp;
    if (kn->kind == K_BF16_DOT) {
        uint32_t *d = dst;
        if (cs == 1 && kn == &k_dot512) {
            tc_lowp_bf16_pack_a_avx512bf16(a, rs, h, k, kp, d);
            return;
        }
        for (int64_t i = 0; i < mr; i++)
            for (int64_t q = 0; q < kp / 2; q++) {
                uint32_t lo = 0, hi = 0;
                if (i < h) {
                    if (2 * q < k) lo = tc_lowp_bf16_bits(a[i * rs + 2 * q * cs]);
                    if (2 * q + 1 < k) hi = tc_lowp_bf16_bits(a[i * rs + (2 * q + 1) * cs]);
                }
                d[q * mr + i] = lo | hi << 16;
            }
        return;
    }
    if (kn->kind == K_BF16_WIDE) {
        float *d = dst;
        for (int64_t i = 0; i < mr; i++) {
            if (i < h && cs == 1) {
                const float *src = a + i * rs;
                for (int64_t q = 0; q < k; q++) d[q * mr + i] = src[q];
            } else if (i < h) {
                for (int64_t q = 0; q < k; q++) d[q * mr + i] = a[i * rs + q * cs];
            } else {
                for (int64_t q = 0; q < k; q++) d[q * mr + i] = 0;
            }
            for (int64_t q = k; q < kp; q++) d[q * mr + i] = 0;
        }
        return;
    }
    uint8_t *d = dst; /* [kp/4][mr][4] */
    if (cs == 1 && tc_isa() == TC_ISA_AVX512) { /* the same bytes, in registers */
        tc_lowp_int8_pack_a_avx512(a, rs, h, k, kp, mr, dst, sa, zp);
    } else if (cs == 1 && tc_isa() == TC_ISA_AVX2) {
        tc_lowp_int8_pack_a_avx2(a, rs, h, k, kp, mr, dst, sa, zp);
    } else {
        for (int64_t i = 0; i < mr; i++) {
            if (i < h) tc_lowp_quantize_row(a + i * rs, k, cs, rowbuf, &sa[i], &zp[i]);
            else {
                for (int64_t q = 0; q < k; q++) rowbuf[q] = 0;
                sa[i] = 0, zp[i] = 0;
            }
            for (int64_t q = 0; q < k; q++) d[(q / 4) * mr * 4 + i * 4 + q % 4] = rowbuf[q];
            for (int64_t q = k; q < kp; q++) d[(q / 4) * mr * 4 + i * 4 + q % 4] = 0;
        }
    }
    if (kn->a_signed) { /* u - 128 as a signed byte: the top bit flipped (padding 0 becomes -128, times B's zero rows) */
        for (int64_t q = 0; q < kp * mr; q++) d[q] ^= 0x80;
        for (int64_t i = 0; i < mr; i++) zp[i] -= 128;
    }
}

/* ---- per-thread buffers (kept between calls: no malloc in steady state) --- */
typedef struct {
    unsigned char *mem;
    size_t cap;
} lowp_buf;

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static int buf_key_ok;
static _Thread_local lowp_buf *my_buf;

static void buf_free(void *q)
{
    lowp_buf *b = q;
    if (!b) return;
    free(b->mem);
    free(b);
}

static void buf_key_make(void) { buf_key_ok = pthread_key_create(&buf_key, buf_free) == 0; }

void tc_lowp_release(void)
{
    if (!my_buf) return;
    if (buf_key_ok) pthread_setspecific(buf_key, NULL);
    buf_free(my_buf);
    my_buf = NULL;
}

static unsigned char *thread_buffer(size_t bytes)
{
    pthread_once(&buf_once, buf_key_make);
    if (!buf_key_ok) return NULL;
    if (!my_buf) {
        my_buf = calloc(1, sizeof *my_buf);
        if (!my_buf) return NULL;
        if (pthread_setspecific(buf_key, my_buf) != 0) {
            free(my_buf);
            my_buf = NULL;
            return NULL;
        }
    }
    if (my_buf->cap < bytes) {
        size_t cap = (bytes + bytes / 4 + 63) / 64 * 64;
        unsigned char *mem = aligned_alloc(64, cap);
        if (!mem) return NULL;
        free(my_buf->mem);
        my_buf->mem = mem;
        my_buf->cap = cap;
    }
    return my_buf->mem;
}

/* ---- the driver ------------------------------------------------------------- */
typedef struct {
    const tc_lowp_panel *p;
    const lowp_kern *kn;
    int64_t m, rs, cs, ldc;
    float alpha, beta;
    const float *a, *bias;
    float *c;
    int64_t mc_strips, row_blocks, col_groups;
    unsigned char *buf;
    size_t slot_bytes, a_bytes;
    bool serial;
    tc_isa_level isa; /* the epilogue in AVX-512 or AVX2 registers where the ISA in use allows it */
} lowp_drv;

/* no FMA contraction (a -march=native build could fuse base + v): the
 * vector epilogues round the product first, as here, for the same bits */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void epilogue(const lowp_drv *d, const void *tile, const float *sa, const int32_t *zp, int64_t r0, int64_t h,
                     int64_t c0, int64_t w)
{
    const int nr = d->kn->nr;
    if (d->isa >= TC_ISA_AVX2) {
        const bool i8 = d->kn->kind == K_INT8;
        (d->isa == TC_ISA_AVX512 ? tc_lowp_epilogue_avx512 : tc_lowp_epilogue_avx2)(
            i8, tile, nr, h, w, sa, zp, i8 ? d->p->scale + c0 : NULL, i8 ? d->p->colsum + c0 : NULL, d->alpha,
            d->bias ? d->bias + c0 : NULL, d->beta, d->c + r0 * d->ldc + c0, d->ldc);
        return;
    }
    for (int64_t i = 0; i < h; i++) {
        float *cr = d->c + (r0 + i) * d->ldc + c0;
        for (int64_t j = 0; j < w; j++) {
            float v;
            if (d->kn->kind == K_INT8) {
                const int32_t acc = ((const int32_t *)tile)[i * nr + j] - zp[i] * d->p->colsum[c0 + j];
                v = (d->alpha * sa[i]) * d->p->scale[c0 + j] * (float)acc;
            } else {
                v = d->alpha * ((const float *)tile)[i * nr + j];
            }
            const float base = d->bias ? d->bias[c0 + j] : d->beta == 0 ? 0 : d->beta * cr[j];
            cr[j] = base + v;
        }
    }
}

static void run_tasks(void *ctx, int64_t t0, int64_t t1)
{
    const lowp_drv *d = ctx;
    const tc_lowp_panel *p = d->p;
    const lowp_kern *kn = d->kn;
    const int mr = kn->mr, nr = kn->nr;
    unsigned char *slot = d->buf + (d->serial ? 0 : (size_t)tc_thread_id() * d->slot_bytes);
    unsigned char *apk = slot;
    float *sa = (float *)(slot + d->a_bytes);
    int32_t *zp = (int32_t *)(sa + LOWP_MAX_MC_STRIPS * 12);
    uint8_t *rowbuf = (uint8_t *)(zp + LOWP_MAX_MC_STRIPS * 12);
    const size_t strip_bytes = (size_t)(p->kp * mr) * (kn->kind == K_BF16_WIDE ? 4 : kn->kind == K_BF16_DOT ? 2 : 1);
    _Alignas(64) union {
        float f[12 * 32];
        int32_t i[12 * 32];
    } tile;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t rb = t / d->col_groups, cg = t % d->col_groups;
        const int64_t i0 = rb * d->mc_strips * mr, i1 = (i0 + d->mc_strips * mr) < d->m ? i0 + d->mc_strips * mr : d->m;
        const int64_t s0 = p->strips * cg / d->col_groups, s1 = p->strips * (cg + 1) / d->col_groups;
        if (s0 >= s1 || i0 >= i1) continue;
        for (int64_t is = i0; is < i1; is += mr) {
            const int64_t h = i1 - is < mr ? i1 - is : mr, st = (is - i0) / mr;
            pack_a_strip(kn, p, d->a + is * d->rs, d->rs, d->cs, h, apk + st * strip_bytes, sa + st * mr, zp + st * mr,
                         rowbuf);
        }
        for (int64_t s = s0; s < s1; s++)
            for (int64_t half = 0; half < TC_LOWP_NR / nr; half++) {
                const int64_t c0 = s * TC_LOWP_NR + half * nr;
                if (c0 >= p->n) break;
                const int64_t w = p->n - c0 < nr ? p->n - c0 : nr;
                for (int64_t is = i0; is < i1; is += mr) {
                    const int64_t h = i1 - is < mr ? i1 - is : mr, st = (is - i0) / mr;
                    const void *at = apk + st * strip_bytes;
                    if (kn->kind == K_INT8)
                        kn->i8(p->kp / 4, at, p->q + s * p->kp * TC_LOWP_NR + half * nr * 4, tile.i);
                    else if (kn->kind == K_BF16_DOT)
                        kn->dot(p->kp / 2, at, p->bf + s * p->kp * TC_LOWP_NR + half * nr * 2, tile.f);
                    else
                        kn->wide(p->kp / 2, at, p->bf + s * p->kp * TC_LOWP_NR + half * nr * 2, tile.f);
                    epilogue(d, kn->kind == K_INT8 ? (const void *)tile.i : (const void *)tile.f, sa + st * mr, zp + st * mr, is, h, c0, w);
                }
            }
    }
}

void tc_lowp_gemm(const tc_lowp_panel *p, int threads, bool trans_a, int64_t m, float alpha, const float *a,
                  int64_t lda, const float *bias, float beta, float *c, int64_t ldc)
{
    if (m <= 0) return;
    const lowp_kern *kn = pick(p->prec);
    const int mr = kn->mr;
    const size_t elem = kn->kind == K_BF16_WIDE ? 4 : kn->kind == K_BF16_DOT ? 2 : 1;
    const int64_t mstrips = (m + mr - 1) / mr;
    int64_t mc = (int64_t)(LOWP_A_BYTES / ((size_t)(p->kp * mr) * elem));
    mc = mc < 1 ? 1 : mc > LOWP_MAX_MC_STRIPS ? LOWP_MAX_MC_STRIPS : mc;
    if (mc > mstrips) mc = mstrips;
    if (threads < 1 || (double)m * (double)p->n * (double)p->k < LOWP_PARALLEL_OPS) threads = 1;
    int64_t row_blocks = (mstrips + mc - 1) / mc, groups = 1;
    if (threads > 1 && row_blocks < 2 * threads) {
        /* too few row blocks to keep the threads busy: split the columns too */
        groups = (2 * threads + row_blocks - 1) / row_blocks;
        if (groups > p->strips) groups = p->strips;
    }
    const size_t a_bytes = (size_t)(mc * mr * p->kp) * elem;
    const size_t slot = (a_bytes + sizeof(float) * LOWP_MAX_MC_STRIPS * 12 * 2 + (size_t)p->kp + 63) / 64 * 64;
    const int slots = threads > 1 ? tc_num_threads() : 1;
    unsigned char *buf = thread_buffer(slot * (size_t)slots);
    if (!buf) { /* no memory: one thread on a small block at a time still needs a slot */
        tc_error(TC_ERR_MEMORY, "gemm: out of memory for the packed operand");
        return;
    }
    lowp_drv d = {p, kn, m, trans_a ? 1 : lda, trans_a ? lda : 1, ldc, alpha, beta, a, bias, c,
                  mc, row_blocks, groups, buf, slot, a_bytes, threads == 1, tc_isa()};
    const int64_t tasks = row_blocks * groups;
    if (threads == 1 || tasks == 1) {
        d.serial = true;
        run_tasks(&d, 0, tasks);
    } else {
        tc_parallel_for(tasks, 1, run_tasks, &d);
    }
}

#endif /* TC_DOUBLE */
